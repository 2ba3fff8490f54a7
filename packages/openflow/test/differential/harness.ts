/**
 * The machinery of the differential suite: load a generated table into our `Switch` and into a
 * bridge of the OVS oracle, compare what each refuses, run frames through both and compare every
 * port's output frames byte for byte, and shrink a failing case to a small table and one frame.
 *
 * Refusals. A flow (or group) we refuse is offered to OVS on its own (`add-flows` of one line); it
 * must be refused there too, with an equivalent error (`sameRefusal`). Flows we accept are loaded
 * with one `replace-flows`; a line OVS refuses there is a mismatch, and the flow is dropped from
 * both sides so the frames can still be compared on the rest of the table.
 */
import assert from 'node:assert/strict';
import { toHex } from '@ovnts/packet';
import { flowText, groupText, type GenFlow, type GenFrame, type GenGroup, type GenTable, type OvsOracle } from '@ovnts/testkit';
import { OFPP, OpenFlowError, Switch, TextParseError, formatTrace } from '@ovnts/openflow';

/** Our verdict on a flow or group: undefined when accepted, else an error name (`TEXT_PARSE` for a text error). */
export type Verdict = string | undefined;

/** `TEXT_PARSE`, an OpenFlow error name, or a thrown non-OpenFlow error's description. */
function verdictOf(f: () => unknown): Verdict {
  try {
    f();
    return undefined;
  } catch (e) {
    if (e instanceof OpenFlowError) return e.errorName;
    if (e instanceof TextParseError) return 'TEXT_PARSE';
    return `THROWN ${(e as Error).name}: ${(e as Error).message}`;
  }
}

/**
 * Whether our refusal `ours` is the same as OVS's `theirs`. Equal names agree. ovs-ofctl refuses some
 * flows itself without an OpenFlow error name: `OFCTL_UNUSABLE_FORMAT` ("none of the usable flow
 * formats", the flow is only expressible in OpenFlow 1.0: `pop_vlan`, `dec_ttl`, `mod_nw_*` or
 * `mod_tp_*` without the match they need) corresponds to our OpenFlow 1.5 errors
 * `OFPBAC_MATCH_INCONSISTENT` and `OFPBAC_BAD_TAG`, and to our text error for `mod_tp_*` without
 * tcp/udp/sctp; `OFCTL_PARSE` (a syntax or value error) corresponds to our `TEXT_PARSE`, and to our
 * `OFPBAC_BAD_SET_ARGUMENT` for a set_field value out of range (`set_field:9->vlan_pcp`: ovs-ofctl
 * rejects the value as text, we reject it as a switch would) and to our `OFPGMFC_BAD_BUCKET` for an
 * indirect group with more than one bucket (ovs-ofctl: "Indirect groups can have at most one bucket").
 */
export function sameRefusal(ours: string, theirs: string): boolean {
  if (ours === theirs) return true;
  if (theirs === 'OFCTL_UNUSABLE_FORMAT') return ours === 'OFPBAC_MATCH_INCONSISTENT' || ours === 'OFPBAC_BAD_TAG' || ours === 'TEXT_PARSE';
  if (theirs === 'OFCTL_PARSE') return ours === 'TEXT_PARSE' || ours === 'OFPBAC_BAD_SET_ARGUMENT' || ours === 'OFPGMFC_BAD_BUCKET';
  return false;
}

/** A refusal comparison. */
export interface RefusalRecord {
  what: 'flow' | 'group';
  text: string;
  /** The generator's intent (why it expected a refusal), if any. */
  intent?: string;
  ours: Verdict;
  theirs: Verdict;
  agree: boolean;
}

/** One frame's outputs: port number to the hex of each frame it sent, in order. */
export type PortOutputs = Record<number, string[]>;

/** Build our switch with these groups and flows; returns it and our verdict on each. */
export function buildOurs(t: GenTable, groups: readonly GenGroup[], flows: readonly GenFlow[], sink: (port: number, f: Uint8Array) => void): {
  sw: Switch;
  groupVerdicts: Verdict[];
  flowVerdicts: Verdict[];
} {
  const sw = new Switch({ onOutput: sink });
  for (const p of t.ports) sw.addPort({ number: p });
  const groupVerdicts = groups.map((g) => verdictOf(() => sw.addGroup(groupText(g))));
  const flowVerdicts = flows.map((f) => verdictOf(() => sw.addFlow(flowText(f))));
  return { sw, groupVerdicts, flowVerdicts };
}

/** Run frames through our switch; per frame, per port (LOCAL excluded), the hex of every output. */
export function runOurs(sw: Switch, ports: readonly number[], frames: readonly GenFrame[], cur: { out: PortOutputs }): PortOutputs[] {
  return frames.map((f) => {
    cur.out = Object.fromEntries(ports.map((p) => [p, [] as string[]]));
    sw.receive(f.port, f.bytes);
    return cur.out;
  });
}

/** A loaded case: the groups and flows both sides accept, and our switch holding them. */
export interface Loaded {
  groups: GenGroup[];
  flows: GenFlow[];
  sw: Switch;
  cur: { out: PortOutputs };
  refusals: RefusalRecord[];
}

/** Per-bridge state between cases. */
export interface BridgeSlot {
  name: string;
  /** The bridge holds groups from the previous case. */
  hasGroups: boolean;
}

function makeSwitch(t: GenTable, groups: readonly GenGroup[], flows: readonly GenFlow[]): { sw: Switch; cur: { out: PortOutputs }; gv: Verdict[]; fv: Verdict[] } {
  const cur: { out: PortOutputs } = { out: {} };
  const { sw, groupVerdicts, flowVerdicts } = buildOurs(t, groups, flows, (port, frame) => {
    if (port === OFPP.LOCAL) return;
    (cur.out[port] ??= []).push(toHex(frame));
  });
  return { sw, cur, gv: groupVerdicts, fv: flowVerdicts };
}

/**
 * Load `t` into our switch and into OVS bridge `slot`, comparing refusals. Returns the agreed
 * table (what both accept) with our switch built from it.
 */
export async function loadCase(ovs: OvsOracle, slot: BridgeSlot, t: GenTable, groups0: readonly GenGroup[] = t.groups, flows0: readonly GenFlow[] = t.flows): Promise<Loaded> {
  const refusals: RefusalRecord[] = [];
  const br = slot.name;
  const first = makeSwitch(t, groups0, flows0);
  let groups = groups0.filter((_, i) => first.gv[i] === undefined);
  let flows = flows0.filter((_, i) => first.fv[i] === undefined);
  if (slot.hasGroups) {
    // Delete the flows first: OVS 3.1 can abort in ofproto_rule_remove__() ("assertion
    // rule->state == RULE_INSERTED failed") when del-groups removes flows that use a group.
    const d = await ovs.delFlows(br);
    if (!d.ok) assert.fail(`del-flows ${br}: ${d.stderr}`);
    const r = await ovs.delGroups(br);
    if (!r.ok) assert.fail(`del-groups ${br}: ${r.stderr}`);
    slot.hasGroups = false;
  }
  // Groups we refuse: OVS must refuse each too.
  for (let i = 0; i < groups0.length; i++) {
    const ours = first.gv[i];
    if (ours === undefined) continue;
    const g = groups0[i]!;
    const r = await ovs.addGroups(br, groupText(g) + '\n');
    if (r.ok) slot.hasGroups = true;
    refusals.push({ what: 'group', text: groupText(g), ...(g.bad ? { intent: g.bad } : {}), ours, theirs: r.ok ? undefined : r.error, agree: !r.ok && sameRefusal(ours, r.error!) });
  }
  // Groups we accept: one call; a refused line is a mismatch, dropped from both sides.
  while (groups.length) {
    const r = await ovs.addGroups(br, groups.map((g) => groupText(g) + '\n').join(''));
    slot.hasGroups = true;
    if (r.ok) break;
    const bad = r.line !== undefined ? groups[r.line - 1] : undefined;
    if (!bad) {
      // A switch-side refusal names no line: find it one by one.
      await ovs.delFlows(br);
      await ovs.delGroups(br);
      const keep: GenGroup[] = [];
      for (const g of groups) {
        const r1 = await ovs.addGroups(br, groupText(g) + '\n');
        if (r1.ok) keep.push(g);
        else refusals.push({ what: 'group', text: groupText(g), ...(g.bad ? { intent: g.bad } : {}), ours: undefined, theirs: r1.error, agree: false });
      }
      groups = keep;
      break;
    }
    refusals.push({ what: 'group', text: groupText(bad), ...(bad.bad ? { intent: bad.bad } : {}), ours: undefined, theirs: r.error, agree: false });
    groups = groups.filter((g) => g !== bad);
    await ovs.delFlows(br);
    await ovs.delGroups(br);
  }
  // Flows we refuse (against the groups we accepted): OVS must refuse each too.
  for (let i = 0; i < flows0.length; i++) {
    const ours = first.fv[i];
    if (ours === undefined) continue;
    const f = flows0[i]!;
    const r = await ovs.addFlows(br, flowText(f) + '\n');
    refusals.push({ what: 'flow', text: flowText(f), ...(f.bad ? { intent: f.bad } : {}), ours, theirs: r.ok ? undefined : r.error, agree: !r.ok && sameRefusal(ours, r.error!) });
  }
  // Flows we accept: one replace-flows; a line OVS refuses is dropped from both sides.
  for (;;) {
    const r = await ovs.replaceFlows(br, flows.map((f) => flowText(f) + '\n').join(''));
    if (r.ok) break;
    let bad = r.line !== undefined ? flows[r.line - 1] : undefined;
    if (!bad) {
      for (const f of flows) {
        const r1 = await ovs.replaceFlows(br, flowText(f) + '\n');
        if (!r1.ok) {
          bad = f;
          break;
        }
      }
    }
    if (!bad) assert.fail(`replace-flows ${br} failed without a culprit: ${r.stderr}`);
    refusals.push({ what: 'flow', text: flowText(bad), ...(bad.bad ? { intent: bad.bad } : {}), ours: undefined, theirs: r.error, agree: false });
    flows = flows.filter((f) => f !== bad);
  }
  const fin = makeSwitch(t, groups, flows);
  if (fin.gv.some((v) => v !== undefined) || fin.fv.some((v) => v !== undefined)) {
    // Dropping a flow OVS refused may not change our verdict on the others; dropping a group may.
    const fv = fin.fv.map((v, i) => (v ? `${flowText(flows[i]!)}: ${v}` : '')).filter(Boolean);
    assert.fail(`our switch refuses part of the agreed table: ${fv.join('; ')}`);
  }
  return { groups, flows, sw: fin.sw, cur: fin.cur, refusals };
}

/** The difference between two outputs, or undefined when identical. */
export function diffOutputs(ours: PortOutputs, theirs: Record<number, Uint8Array[]>, ports: readonly number[]): string | undefined {
  const lines: string[] = [];
  for (const p of ports) {
    const a = ours[p] ?? [];
    const b = (theirs[p] ?? []).map((x) => toHex(x));
    if (a.length === b.length && a.every((x, i) => x === b[i])) continue;
    lines.push(`  port ${p}:`, `    ours (${a.length}): ${a.join(' ') || '-'}`, `    OVS  (${b.length}): ${b.join(' ') || '-'}`);
  }
  return lines.length ? lines.join('\n') : undefined;
}

/** The table as add-groups and add-flows text. */
export function tableText(groups: readonly GenGroup[], flows: readonly GenFlow[]): string {
  return [...groups.map((g) => `# group: ${groupText(g)}`), ...flows.map(flowText)].join('\n');
}

/** A full mismatch report: seed, table, frame, outputs, both traces. */
export async function describeMismatch(ovs: OvsOracle, br: string, seed: number, l: Loaded, frame: GenFrame, diff: string): Promise<string> {
  let ourTrace: string;
  try {
    ourTrace = formatTrace(l.sw.trace(frame.bytes, frame.port));
  } catch (e) {
    ourTrace = `(trace failed: ${(e as Error).message})`;
  }
  let theirTrace: string;
  try {
    theirTrace = await ovs.trace(br, { port: frame.port, bytes: frame.bytes });
  } catch (e) {
    theirTrace = `(ofproto/trace failed: ${(e as Error).message})`;
  }
  return [
    `seed ${seed}`,
    'table:',
    tableText(l.groups, l.flows),
    `frame (in_port ${frame.port}, ${frame.origin}): ${toHex(frame.bytes)}`,
    diff,
    '--- our trace ---',
    ourTrace.trimEnd(),
    '--- OVS ofproto/trace ---',
    theirTrace.trimEnd(),
  ].join('\n');
}

/** Does this table (groups + flows) still show a difference for `frame`? Undefined when either side refuses something. */
async function reproduces(ovs: OvsOracle, slot: BridgeSlot, t: GenTable, groups: GenGroup[], flows: GenFlow[], frame: GenFrame): Promise<boolean> {
  let l: Loaded;
  try {
    l = await loadCase(ovs, slot, t, groups, flows);
  } catch {
    return false;
  }
  if (l.refusals.length || l.flows.length !== flows.length || l.groups.length !== groups.length) return false;
  const ours = runOurs(l.sw, t.ports, [frame], l.cur)[0]!;
  const theirs = (await ovs.runFrames(slot.name, [{ port: frame.port, bytes: frame.bytes }]))[0]!;
  return diffOutputs(ours, theirs.outputs, t.ports) !== undefined;
}

/**
 * Shrink a failing case: drop groups, flows, match pieces, actions and instructions one at a
 * time while the difference stays (every step reloads both sides). Bounded by `budgetMs`.
 */
export async function minimise(ovs: OvsOracle, slot: BridgeSlot, t: GenTable, l: Loaded, frame: GenFrame, budgetMs = 60_000): Promise<{ groups: GenGroup[]; flows: GenFlow[] }> {
  const end = Date.now() + budgetMs;
  let groups = l.groups.map((g) => ({ ...g, buckets: g.buckets.map((b) => ({ ...b, actions: [...b.actions] })) }));
  let flows = l.flows.map((f) => ({ ...f, match: [...f.match], actions: [...f.actions], ...(f.write ? { write: [...f.write] } : {}) }));
  const tryIt = async (g: GenGroup[], f: GenFlow[]): Promise<boolean> => {
    if (Date.now() > end) return false;
    if (await reproduces(ovs, slot, t, g, f, frame)) {
      groups = g;
      flows = f;
      return true;
    }
    return false;
  };
  let progress = true;
  while (progress && Date.now() < end) {
    progress = false;
    for (let i = flows.length - 1; i >= 0; i--) if (await tryIt(groups, flows.filter((_, k) => k !== i))) progress = true;
    for (let i = groups.length - 1; i >= 0; i--) if (await tryIt(groups.filter((_, k) => k !== i), flows)) progress = true;
    for (let i = 0; i < flows.length; i++) {
      const f = flows[i]!;
      const variants: GenFlow[] = [];
      for (let k = f.match.length - 1; k >= 0; k--) variants.push({ ...f, match: f.match.filter((_, j) => j !== k) });
      for (let k = f.actions.length - 1; k >= 0; k--) variants.push({ ...f, actions: f.actions.filter((_, j) => j !== k) });
      if (f.write) {
        variants.push((({ write: _w, ...rest }) => rest)(f));
        for (let k = f.write.length - 1; k >= 0; k--) variants.push({ ...f, write: f.write.filter((_, j) => j !== k) });
      }
      if (f.clear) variants.push({ ...f, clear: false });
      if (f.writeMetadata) variants.push((({ writeMetadata: _w, ...rest }) => rest)(f));
      if (f.goto !== undefined) variants.push((({ goto: _g, ...rest }) => rest)(f));
      if (f.priority !== undefined) variants.push((({ priority: _p, ...rest }) => rest)(f));
      for (const v of variants) {
        const cur = flows[i]!;
        // Re-derive from the current flow: apply the same removal only if the piece is still there.
        if (await tryIt(groups, flows.map((x, k) => (k === i ? v : x)))) {
          progress = true;
          break;
        }
        void cur;
      }
    }
    for (let gi = 0; gi < groups.length; gi++) {
      const g = groups[gi]!;
      for (let b = 0; b < g.buckets.length; b++) {
        for (let k = g.buckets[b]!.actions.length - 1; k >= 0; k--) {
          const ng = { ...g, buckets: g.buckets.map((bb, j) => (j === b ? { ...bb, actions: bb.actions.filter((_, x) => x !== k) } : bb)) };
          if (await tryIt(groups.map((x, j) => (j === gi ? ng : x)), flows)) {
            progress = true;
            break;
          }
        }
        if (g.buckets.length > 1 && g.type !== 'indirect') {
          const ng = { ...g, buckets: g.buckets.filter((_, j) => j !== b) };
          if (await tryIt(groups.map((x, j) => (j === gi ? ng : x)), flows)) progress = true;
        }
      }
    }
  }
  return { groups, flows };
}

/**
 * True when OVS 3.1's userspace datapath is known to corrupt this frame's output (KNOWN.md, "OVS
 * bug"): after a `userspace()` action (a packet-in: `controller`, or `dec_ttl` on TTL 0/1) on a
 * packet that carries two or more VLAN headers at that point, a later IPv4 rewrite is written 4
 * bytes too early. Our trace's datapath actions say whether that happens.
 */
export function hitsOvsDoubleVlanUpcallBug(sw: Switch, frame: GenFrame): boolean {
  let tags = 0;
  for (let off = 12; off + 4 <= frame.bytes.length; off += 4) {
    const tpid = (frame.bytes[off]! << 8) | frame.bytes[off + 1]!;
    if (tpid !== 0x8100 && tpid !== 0x88a8) break;
    tags++;
  }
  let acts: string[];
  try {
    acts = sw.trace(frame.bytes, frame.port).datapathActions;
  } catch {
    return false;
  }
  for (const a of acts) {
    if (a.startsWith('push_vlan(')) tags++;
    else if (a === 'pop_vlan') tags = Math.max(0, tags - 1);
    else if (a.startsWith('userspace(') && tags >= 2) return true;
  }
  return false;
}
