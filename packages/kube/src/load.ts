/**
 * Reading Kubernetes manifests: multi-document YAML or JSON files, or a directory of them
 * (`*.yaml`, `*.yml`, `*.json`, in name order), parsed with the `yaml` package. A `kind: List`
 * (what `kubectl get -o yaml` prints for several objects) is flattened into its items. Every
 * document remembers its file and position, so later errors can say where an object came from.
 * A YAML syntax error names the file, the document, the line and the column.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { KubeError } from './errors.js';

/** One Kubernetes object as read, with where it came from. */
export interface ManifestObject {
  /** The file (as given). */
  readonly file: string;
  /** 1-based document number within the file (item number for `List` items: `3.2`). */
  readonly doc: string;
  /** The object. */
  readonly obj: Record<string, unknown>;
}

/** Parse the text of one manifest file (YAML or JSON, several documents allowed). */
export function parseManifests(text: string, file: string): ManifestObject[] {
  const out: ManifestObject[] = [];
  const docs = parseAllDocuments(text, { prettyErrors: false, uniqueKeys: true });
  const list = Array.isArray(docs) ? docs : [docs];
  list.forEach((d, i) => {
    const doc = String(i + 1);
    const err = d.errors[0];
    if (err) {
      const pos = err.linePos?.[0] ?? lineCol(text, err.pos[0]);
      throw new KubeError({ file, object: `document ${doc}` }, `YAML syntax error${pos ? ` at line ${pos.line}, column ${pos.col}` : ''}: ${err.message.split('\n')[0]}`);
    }
    const v: unknown = d.toJS({ maxAliasCount: 1000 });
    if (v === null || v === undefined) return;
    if (typeof v !== 'object' || Array.isArray(v)) throw new KubeError({ file, object: `document ${doc}` }, 'a Kubernetes object must be a mapping');
    const o = v as Record<string, unknown>;
    if (o.kind === 'List' || (typeof o.kind === 'string' && o.kind.endsWith('List') && Array.isArray(o.items))) {
      if (!Array.isArray(o.items)) throw new KubeError({ file, object: `document ${doc}`, field: 'items' }, 'a List needs an items array');
      o.items.forEach((it, j) => {
        if (!it || typeof it !== 'object' || Array.isArray(it)) throw new KubeError({ file, object: `document ${doc}`, field: `items[${j}]` }, 'a Kubernetes object must be a mapping');
        out.push({ file, doc: `${doc}.${j + 1}`, obj: it as Record<string, unknown> });
      });
      return;
    }
    out.push({ file, doc, obj: o });
  });
  return out;
}

function lineCol(text: string, off: number): { line: number; col: number } {
  const before = text.slice(0, Math.max(0, off));
  const line = before.split('\n').length;
  return { line, col: off - before.lastIndexOf('\n') };
}

/** Read a manifest file, or every `*.yaml`/`*.yml`/`*.json` file of a directory (sorted by name). */
export function readManifests(path: string): ManifestObject[] {
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new KubeError({ file: path }, 'no such file or directory');
  }
  const files = st.isDirectory()
    ? readdirSync(path)
        .filter((f) => /\.(ya?ml|json)$/i.test(f))
        .sort()
        .map((f) => join(path, f))
    : [path];
  if (st.isDirectory() && files.length === 0) throw new KubeError({ file: path }, 'the directory holds no *.yaml, *.yml or *.json file');
  return files.flatMap((f) => parseManifests(readFileSync(f, 'utf8'), f));
}
