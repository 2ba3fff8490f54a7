/**
 * Kubernetes label selectors (`metav1.LabelSelector`): validation with located errors, matching,
 * and the canonical text form (`metav1.FormatLabelSelector`: requirements sorted by key, `a=b`,
 * `a in (x,y)`, `a notin (x)`, `a`, `!a`; `<none>` for nil and empty for `{}`) that OVN-Kubernetes
 * uses in the ids of its pod-selector address sets.
 */
import type { LabelSelector } from 'kubernetes-types/meta/v1.js';
import type { FieldReader } from './read.js';

/** A validated selector. */
export interface Selector {
  /** Requirements (matchLabels turned into `In` with one value), sorted by key. */
  readonly reqs: readonly { key: string; op: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values: readonly string[] }[];
}

/** Read and validate a LabelSelector; undefined when absent. */
export function readSelector(r: FieldReader, v: unknown, field: string): Selector | undefined {
  const o = r.obj(v, field);
  if (!o) return undefined;
  const sel = o as LabelSelector;
  const reqs: Selector['reqs'][number][] = [];
  for (const [k, val] of Object.entries(r.strMap(sel.matchLabels, `${field}.matchLabels`))) reqs.push({ key: k, op: 'In', values: [val] });
  r.list(sel.matchExpressions, `${field}.matchExpressions`).forEach((e, i) => {
    const f = `${field}.matchExpressions[${i}]`;
    const eo = r.obj(e, f) ?? r.fail(f, 'expected a mapping');
    const key = r.reqStr(eo.key, `${f}.key`);
    const op = r.reqStr(eo.operator, `${f}.operator`);
    if (op !== 'In' && op !== 'NotIn' && op !== 'Exists' && op !== 'DoesNotExist') r.fail(`${f}.operator`, `unsupported operator ${JSON.stringify(op)} (In, NotIn, Exists, DoesNotExist)`);
    const values = r.list(eo.values, `${f}.values`).map((x, j) => r.reqStr(x, `${f}.values[${j}]`));
    if ((op === 'In' || op === 'NotIn') && !values.length) r.fail(`${f}.values`, `must be non-empty for operator ${op}`);
    if ((op === 'Exists' || op === 'DoesNotExist') && values.length) r.fail(`${f}.values`, `must be empty for operator ${op}`);
    reqs.push({ key, op, values: [...values].sort() });
  });
  for (const k of Object.keys(o)) if (k !== 'matchLabels' && k !== 'matchExpressions') r.fail(`${field}.${k}`, 'unknown field of a label selector');
  reqs.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return { reqs };
}

/** Whether `labels` satisfy `sel` (an empty selector matches everything). */
export function matches(sel: Selector, labels: Readonly<Record<string, string>>): boolean {
  return sel.reqs.every((q) => {
    const has = Object.prototype.hasOwnProperty.call(labels, q.key);
    switch (q.op) {
      case 'In':
        return has && q.values.includes(labels[q.key]!);
      case 'NotIn':
        return !has || !q.values.includes(labels[q.key]!);
      case 'Exists':
        return has;
      case 'DoesNotExist':
        return !has;
    }
  });
}

/** The canonical text form (`metav1.FormatLabelSelector`). */
export function formatSelector(sel: Selector | undefined): string {
  if (!sel) return '<none>';
  return sel.reqs
    .map((q) => {
      switch (q.op) {
        case 'In':
          return q.values.length === 1 ? `${q.key}=${q.values[0]}` : `${q.key} in (${q.values.join(',')})`;
        case 'NotIn':
          return `${q.key} notin (${q.values.join(',')})`;
        case 'Exists':
          return q.key;
        case 'DoesNotExist':
          return `!${q.key}`;
      }
    })
    .join(',');
}
