/**
 * Errors of the Kubernetes layer. Every problem with the input names where it is: the file, the
 * object (`Kind namespace/name`, or `document N` when the object has no usable identity) and the
 * field path (`spec.ingress[0].from[1].ipBlock.cidr`), so a user can find it in what they pasted.
 * Cluster-level validation (the limits of OVN-Kubernetes that the OpenShift guide states) uses
 * the same class with the messages the node agent prints.
 */

/** Where a problem is. */
export interface KubeErrorWhere {
  /** The manifest file. */
  readonly file?: string;
  /** The object: `Pod x/a`, `Network cluster`, `document 3`. */
  readonly object?: string;
  /** The field path inside the object. */
  readonly field?: string;
}

/** A problem with Kubernetes input or with the cluster it describes. */
export class KubeError extends Error {
  override readonly name = 'KubeError';
  /** The file, if the problem is in one. */
  readonly file: string | undefined;
  /** The object, if the problem is in one. */
  readonly object: string | undefined;
  /** The field path, if any. */
  readonly field: string | undefined;
  /** The message without the location. */
  readonly detail: string;
  constructor(where: KubeErrorWhere, detail: string) {
    const loc = [where.file, where.object, where.field].filter((x) => x !== undefined && x !== '');
    super(loc.length ? `${loc.join(': ')}: ${detail}` : detail);
    this.file = where.file;
    this.object = where.object;
    this.field = where.field;
    this.detail = detail;
  }
}

/** A command-level problem with a `kube trace`/`kube reach` request (unknown pod, bad address). */
export class KubeQueryError extends Error {
  override readonly name = 'KubeQueryError';
}
