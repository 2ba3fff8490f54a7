/**
 * The documented normalisation of `ovs-ofctl --no-stats dump-flows br-int` output of an OVN
 * chassis, under which our chassis's tables and real ovn-controller's are compared
 * (docs/chassis.md, "Comparing flow tables").
 *
 * Design. Two runs of real ovn-controller on the same southbound input differ in values that the
 * run picks, not the input: the cookies and conjunction ids (derived from southbound row uuids,
 * which a fresh database draws at random), the conntrack zone numbers (allocated as ports are
 * claimed, so in arrival order), the meter ids (allocated in the order logical flows are met), the OpenFlow numbers of tunnel ports, and the order of the ports
 * in multicast flood flows (the order of the uuid set in the Multicast_Group row). The normalisation
 * removes exactly those:
 *
 * 1. statistics are absent (`--no-stats`); header lines are dropped;
 * 2. tunnel ports are named (`in_port=T`/`output:T` with T a tunnel port become `tun:<remote chassis>`),
 *    given each side's tunnel port map;
 * 3. in multicast output flows (tables 39 and 40), the per-port segments
 *    `[set_field:Z->reg13,]set_field:K->reg15,resubmit(,41)` (or their OpenFlow 1.0 `load:` forms),
 *    and the lone `set_field:Z->reg13` of a member the group skips on this chassis, are sorted;
 * 4. every line is masked (cookies, also those of `learn` actions, conjunction ids, meter ids, zone values loaded into reg11/reg12/reg13
 *    replaced by placeholders), the lines are sorted by their masked text, and then the
 *    value families are renumbered in order of first appearance in that sorted list;
 * 5. a flow whose actions are only `conjunction(...)` may be shared by several southbound rows and
 *    keeps the cookie of the row ovn-controller met first, which depends on how its IDL received
 *    the rows (update batches), not on the input: its cookie is printed `c*`.
 *
 * The result is a sorted list of lines; two dumps are equal under the normalisation when the
 * lists are equal.
 */

/** Options of `normalizeFlowDump`. */
export interface FlowNormalizeOptions {
  /** OpenFlow port number -> a stable name (e.g. the remote chassis) for every tunnel port. */
  readonly tunnelPorts?: ReadonlyMap<number, string>;
  /** Keep the values of a family instead of renumbering it (to show what a family contributes). */
  readonly keep?: ReadonlyArray<'cookie' | 'conj' | 'zone' | 'mcast' | 'meter' | 'group'>;
}

// One port of a multicast fan-out: its zone load (if it has a zone), its key into reg15 and the
// resubmit; or only the zone load, for a port with a zone that the group skips on this chassis
// (ovn-controller loads the zone before deciding).
const ZONE_RE = '(?:load:0x[0-9a-f]+->NXM_NX_REG13\\[(?:0\\.\\.15)?\\]|set_field:0x[0-9a-f]+->reg13)';
const MC_SEGMENT = new RegExp(
  `(?:${ZONE_RE},)?(?:load:0x[0-9a-f]+->NXM_NX_REG15\\[\\]|set_field:0x[0-9a-f]+->reg15),resubmit\\(,41\\)|${ZONE_RE}(?=,)`,
  'g',
);
const ZONE_LOAD = /(load:)(0x[0-9a-f]+|0)(->NXM_NX_REG1[123]\[(?:0\.\.15)?\])/g;
const ZONE_SETFIELD = /(set_field:)(0x[0-9a-f]+|0)(->reg1[123])\b/g;

/** Rename tunnel ports in one line. */
function renameTunnels(line: string, tun: ReadonlyMap<number, string>): string {
  if (!tun.size) return line;
  const name = (n: string) => {
    const t = tun.get(Number(n));
    return t === undefined ? n : `tun:${t}`;
  };
  return line
    .replace(/\bin_port=(\d+)/g, (_m, n: string) => `in_port=${name(n)}`)
    .replace(/\boutput:(\d+)/g, (_m, n: string) => `output:${name(n)}`)
    .replace(/\bbundle\(([^)]*)members:([\d,]+)\)/g, (_m, pre: string, list: string) => `bundle(${pre}members:${list.split(',').map(name).join(',')})`);
}

/** Sort the per-port segments of a multicast output flow. */
function sortMcastSegments(line: string): string {
  const m = /^(.*\btable=(?:39|40),.*\bactions=)(.*)$/.exec(line);
  if (!m) return line;
  const acts = m[2]!;
  const segs = acts.match(MC_SEGMENT);
  if (!segs || segs.length < 2) return line;
  // Replace the run of segments (they are contiguous in ovn-controller's output) by the sorted run.
  const first = acts.indexOf(segs[0]!);
  let end = first;
  for (const s of segs) {
    const at = acts.indexOf(s, end);
    if (at !== end && at !== end + 1) return line; // not one contiguous run: leave it
    end = at + s.length;
  }
  const key = (x: string) => x.replace(/load:0x[0-9a-f]+->NXM_NX_REG13/, 'load:Z->NXM_NX_REG13').replace(/set_field:0x[0-9a-f]+->reg13/, 'set_field:Z->reg13');
  const sorted = [...segs].sort((x, y) => (key(x) < key(y) ? -1 : key(x) > key(y) ? 1 : x < y ? -1 : x > y ? 1 : 0));
  const run = acts.slice(first, end);
  const rebuilt = sorted.join(',');
  if (rebuilt.length !== run.length) return line;
  return m[1]! + acts.slice(0, first) + rebuilt + acts.slice(end);
}

interface Masked {
  text: string;
  cookie: string | undefined;
  learnCookies: string[];
  conj: string[];
  zones: string[];
  meters: string[];
  groups: string[];
}

function mask(line: string, keep: ReadonlySet<string>): Masked {
  let text = line;
  let cookie: string | undefined;
  if (!keep.has('cookie')) {
    // A flow of conjunction actions only may be shared by several rows, and carries the cookie of
    // the row ovn-controller met first, which depends on how its IDL received the rows.
    const shared = /\sactions=(?:conjunction\(\d+,\d+\/\d+\),?)+$/.test(text);
    text = text.replace(/^(\s*)cookie=(0x[0-9a-f]+), /, (_m, sp: string, c: string) => {
      if (shared) return `${sp}cookie=c*, `;
      cookie = c;
      return `${sp}cookie=C, `;
    });
  }
  const learnCookies: string[] = [];
  if (!keep.has('cookie')) {
    text = text.replace(/(learn\([^)]*?\bcookie=)(0x[0-9a-f]+)/g, (_m, a: string, c: string) => {
      learnCookies.push(c);
      return `${a}L`;
    });
  }
  const conj: string[] = [];
  if (!keep.has('conj')) {
    text = text
      .replace(/\bconjunction\((\d+),/g, (_m, id: string) => {
        conj.push(id);
        return 'conjunction(J,';
      })
      .replace(/\bconj_id=(\d+)/g, (_m, id: string) => {
        conj.push(id);
        return 'conj_id=J';
      });
  }
  const zones: string[] = [];
  if (!keep.has('zone')) {
    text = text.replace(ZONE_LOAD, (_m, a: string, v: string, b: string) => {
      zones.push(v);
      return `${a}Z${b}`;
    }).replace(ZONE_SETFIELD, (_m, a: string, v: string, b: string) => {
      zones.push(v);
      return `${a}Z${b}`;
    });
  }
  const meters: string[] = [];
  if (!keep.has('meter')) {
    text = text.replace(/\b(meter_id=|meter:)(\d+)/g, (_m, a: string, v: string) => {
      meters.push(v);
      return `${a}M`;
    });
  }
  const groups: string[] = [];
  if (!keep.has('group')) {
    text = text.replace(/\bgroup:(\d+)/g, (_m, v: string) => {
      groups.push(v);
      return 'group:G';
    });
  }
  return { text, cookie, learnCookies, conj, zones, meters, groups };
}

/** Normalise a flow dump (see the module comment); returns the sorted normalised lines. */
export function normalizeFlowDump(lines: readonly string[], opts: FlowNormalizeOptions = {}): string[] {
  return normalizeChassisDump(lines, [], opts).flows;
}

/**
 * Normalise a chassis's flows and groups together: group ids are renumbered by first appearance
 * in the normalised flows (then, for groups no flow uses, in the order of their text), so a
 * flow's `group:gN` and the group `group_id=gN` keep naming the same group.
 */
export function normalizeChassisDump(lines: readonly string[], groupLines: readonly string[], opts: FlowNormalizeOptions = {}): { flows: string[]; groups: string[] } {
  const keep = new Set<string>(opts.keep ?? []);
  const tun = opts.tunnelPorts ?? new Map<number, string>();
  const pre = lines
    .map((l) => l.trim())
    .filter((l) => l.length > 0 && !/^(NXST|OFPST)_FLOW/.test(l))
    .map((l) => renameTunnels(l, tun))
    .map((l) => (keep.has('mcast') ? l : sortMcastSegments(l)));
  const masked = pre.map((l) => mask(l, keep));
  masked.sort((a, b) => (a.text < b.text ? -1 : a.text > b.text ? 1 : 0));
  const cookies = new Map<string, number>();
  const conjs = new Map<string, number>();
  const zones = new Map<string, number>();
  const meters = new Map<string, number>();
  const groupIds = new Map<string, number>();
  const num = (m: Map<string, number>, v: string) => {
    let n = m.get(v);
    if (n === undefined) m.set(v, (n = m.size + 1));
    return n;
  };
  const flows = masked.map((m) => {
    let t = m.text;
    if (m.cookie !== undefined) t = t.replace('cookie=C,', `cookie=c${num(cookies, m.cookie)},`);
    let li = 0;
    t = t.replace(/(learn\([^)]*?\bcookie=)L/g, (_s, a: string) => `${a}c${num(cookies, m.learnCookies[li++]!)}`);
    let ci = 0;
    t = t.replace(/conjunction\(J,|conj_id=J/g, (s) => {
      const id = num(conjs, m.conj[ci++]!);
      return s.startsWith('conj_id') ? `conj_id=j${id}` : `conjunction(j${id},`;
    });
    let gi = 0;
    t = t.replace(/\bgroup:G/g, () => `group:g${num(groupIds, m.groups[gi++]!)}`);
    let mi = 0;
    t = t.replace(/\b(meter_id=|meter:)M/g, (_s, a: string) => `${a}m${num(meters, m.meters[mi++]!)}`);
    let zi = 0;
    t = t.replace(/(load:|set_field:)Z(->)/g, (_s, a: string, b: string) => `${a}z${num(zones, m.zones[zi++]!)}${b}`);
    return t;
  });
  const groups = groupLines
    .map((l) => l.trim())
    .filter((l) => l.startsWith('group_id='))
    .map((l) => {
      const id = /^group_id=(\d+),/.exec(l)![1]!;
      return { id, rest: l.slice(l.indexOf(',') + 1) };
    })
    .sort((a, b) => {
      const ia = groupIds.get(a.id) ?? Infinity;
      const ib = groupIds.get(b.id) ?? Infinity;
      if (ia !== ib) return ia < ib ? -1 : 1;
      return a.rest < b.rest ? -1 : a.rest > b.rest ? 1 : 0;
    })
    .map((g) => `group_id=g${num(groupIds, g.id)},${g.rest}`);
  return { flows, groups };
}

/** The differences between two normalised dumps: lines only in `a` and only in `b` (multiset difference). */
export function diffFlowDumps(a: readonly string[], b: readonly string[]): { onlyA: string[]; onlyB: string[] } {
  const count = new Map<string, number>();
  for (const l of a) count.set(l, (count.get(l) ?? 0) + 1);
  const onlyB: string[] = [];
  for (const l of b) {
    const n = count.get(l) ?? 0;
    if (n > 0) count.set(l, n - 1);
    else onlyB.push(l);
  }
  const onlyA: string[] = [];
  for (const [l, n] of count) for (let i = 0; i < n; i++) onlyA.push(l);
  return { onlyA: onlyA.sort(), onlyB };
}
