/**
 * Differential comparison of our logical flows with real ovn-northd's `ovn-sbctl lflow-list`:
 * both sides become sets of (datapath name, pipeline, table, stage, priority, match, actions);
 * datapath uuids and the order within a table are ignored. Flows of datapaths selected by
 * `filter` only.
 */
import { existsSync, readFileSync } from 'node:fs';
import { compileNorthd, flowKey, loadNb, parseLflowList, parseTunnelKeys } from '@ovnts/ovn';

/** The result of one comparison. */
export interface FlowDiff {
  /** Flows both have. */
  matched: number;
  /** Flows real ovn-northd has and we do not (as lflow-list lines, with datapath). */
  missing: string[];
  /** Flows we have and real ovn-northd does not. */
  extra: string[];
  /** Total expected. */
  expected: number;
}

/** Which datapaths to compare: switches, routers or all. */
export type DpFilter = 'switch' | 'router' | 'all';

/** Compare an NB file compiled by us with an lflow-list text. */
export function diffFlows(nbBytes: Uint8Array, lflowText: string, filter: DpFilter = 'all', keysText?: string): FlowDiff {
  const db = loadNb(nbBytes);
  const res = compileNorthd(db, keysText === undefined ? {} : { tunnelKeys: parseTunnelKeys(keysText) });
  const kinds = new Map(res.datapaths.map((d) => [d.name, d.kind]));
  const want = (name: string) => filter === 'all' || kinds.get(name) === filter;
  const expected = new Set(parseLflowList(lflowText).filter((f) => want(f.datapath)).map(flowKey));
  const ours = new Set(res.flows.filter((f) => want(f.datapath.name)).map(flowKey));
  const missing = [...expected].filter((k) => !ours.has(k)).sort();
  const extra = [...ours].filter((k) => !expected.has(k)).sort();
  return { matched: expected.size - missing.length, missing, extra, expected: expected.size };
}

/**
 * Compare fixture files `DIR/NAME.nb.db` and `DIR/NAME.lflows.txt`, with the tunnel keys of
 * `DIR/NAME.keys.txt` when `withKeys` and the file exists.
 */
export function diffFixture(dir: string, name: string, filter: DpFilter = 'all', withKeys = true): FlowDiff {
  const kf = `${dir}/${name}.keys.txt`;
  const keys = withKeys && existsSync(kf) ? readFileSync(kf, 'utf8') : undefined;
  return diffFlows(readFileSync(`${dir}/${name}.nb.db`), readFileSync(`${dir}/${name}.lflows.txt`, 'utf8'), filter, keys);
}

/** The outcome of comparing each flow's source location with ovn-northd's. */
export interface SourceDiff {
  /** Flows found on both sides with the same `external_ids:source`. */
  same: number;
  /**
   * Flows of a row that several northd.c lines add (for different datapaths) where ovn-northd
   * kept another of those lines than we did (it keeps the first datapath in its hash order).
   */
  shared: string[];
  /** Flows on both sides whose source differs otherwise: `flow: ours (theirs)`. */
  differ: string[];
  /** Flows found only on one side (compared by `diffFixture`, not here). */
  unpaired: number;
}

/**
 * Compare the source location (`northd.c:LINE`) of every flow with `DIR/NAME.sources.txt`
 * (datapath, pipeline, stage, priority, match, actions, source per line; written by gen.sh from
 * ovn-northd's southbound rows), compiling with ovn-northd's tunnel keys (`NAME.keys.txt`).
 */
export function diffSources(dir: string, name: string): SourceDiff {
  const kf = `${dir}/${name}.keys.txt`;
  const keys = existsSync(kf) ? parseTunnelKeys(readFileSync(kf, 'utf8')) : undefined;
  const res = compileNorthd(loadNb(readFileSync(`${dir}/${name}.nb.db`)), keys ? { tunnelKeys: keys } : {});
  const theirs = new Map<string, string>();
  for (const l of readFileSync(`${dir}/${name}.sources.txt`, 'utf8').split('\n')) {
    if (!l) continue;
    const i = l.lastIndexOf('\t');
    theirs.set(l.slice(0, i), l.slice(i + 1));
  }
  const out: SourceDiff = { same: 0, shared: [], differ: [], unpaired: 0 };
  for (const r of res.sink.rows()) {
    const pipeline = r.stage.startsWith('ls_in') || r.stage.startsWith('lr_in') ? 'ingress' : 'egress';
    for (const dp of r.datapaths) {
      const k = [dp.name, pipeline, r.stage, r.priority, r.match, r.actions].join('\t');
      const t = theirs.get(k);
      if (t === undefined) out.unpaired++;
      else if (t === r.source) out.same++;
      else if (r.otherSources?.includes(t)) out.shared.push(`${k.replace(/\t/g, ' | ')}: ours ${r.source}, ovn-northd ${t}`);
      else out.differ.push(`${k.replace(/\t/g, ' | ')}: ours ${r.source}, ovn-northd ${t}`);
    }
  }
  return out;
}

/** A readable report of a diff. */
export function formatDiff(name: string, d: FlowDiff): string {
  return [
    `${name}: ${d.matched}/${d.expected} match, ${d.missing.length} missing, ${d.extra.length} extra`,
    ...d.missing.map((l) => `- ${l}`),
    ...d.extra.map((l) => `+ ${l}`),
  ].join('\n');
}
