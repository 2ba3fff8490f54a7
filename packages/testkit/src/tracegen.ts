/**
 * Seeded random stateful pipelines for the trace differential (`ofproto/trace` against `of-trace`):
 * connection tracking with recirculation, NAT, learning and conjunctive matches, in the shape
 * ovn-controller gives them.
 *
 * Design. A case has five tables. Table 0 classifies frames drawn from `randomPlan` (the flow
 * generator's pools, mostly IP) and sends them through `ct(...)`: with and without `commit`, a
 * zone given as a number or a register, `exec(set_field:..->ct_mark/ct_label)`, `nat` (plain, or
 * `nat(src=...)`/`nat(dst=ADDR:PORT)` where the match guarantees the protocol), `table=1` or
 * `table=2` for the recirculation; also `ct_clear`, `learn(...)` (with `idle_timeout`,
 * `hard_timeout`, `cookie`, `delete_learned`, `limit`/`result_dst`) and the clauses of a
 * conjunctive match. Table 1 dispatches on `ct_state` (`+trk+new`, `+trk+est`, `-trk`, ...),
 * `ct_zone` and `ct_mark` the way a stateful ACL does; table 2 commits and outputs; tables 3 and 4
 * are where the `learn` actions write (each with a low-priority default, and now and then a flow
 * with the mask of a learned one: `dl_dst=` in table 3, `ip,nw_dst=` in table 4). A flow that
 * learns often goes on to the table it wrote (`resubmit`, the MAC-learning idiom), where OVS's
 * classifier already holds the flow just learned, invisible to that lookup but shaping its
 * wildcards. Every flow keeps the plan its match came from, so `framesForTable` aims frames at them.
 */
import { formatIpv4, formatMac } from '@ovnts/packet';
import { Rng } from './corpus.js';
import { GEN_IP4, GEN_PORTS, randomPlan, type FramePlan, type GenFlow, type GenTable } from './flowgen.js';

const L4: Partial<Record<FramePlan['kind'], 'tcp' | 'udp' | 'sctp'>> = { tcp4: 'tcp', udp4: 'udp', sctp4: 'sctp', tcp6: 'tcp', udp6: 'udp' };

/** The match of a table-0 flow: the plan's protocol keyword and a field or two of it. */
function matchFor(r: Rng, p: FramePlan): { match: string[]; ip4: boolean; l4: 'tcp' | 'udp' | 'sctp' | undefined } {
  const kw: Partial<Record<FramePlan['kind'], string>> = {
    tcp4: 'tcp', udp4: 'udp', icmp4: 'icmp', sctp4: 'sctp', ip4proto: 'ip', frag4: 'ip', tcp6: 'tcp6', udp6: 'udp6', icmp6: 'icmp6', ns: 'icmp6', na: 'icmp6', ip6proto: 'ipv6', arp: 'arp',
  };
  const k = kw[p.kind];
  const m: string[] = [];
  if (k) m.push(k);
  const ip4 = p.kind.endsWith('4') || p.kind === 'ip4proto';
  const l4 = L4[p.kind];
  if (r.chance(0.4)) m.push(`in_port=${p.inPort}`);
  if (ip4 && r.chance(0.4)) m.push(`nw_src=${formatIpv4(p.nwSrc)}${r.chance(0.5) ? '/24' : ''}`);
  if (l4 && p.frag === 'no' && r.chance(0.4)) m.push(`tp_dst=${p.tpDst}`);
  if (!k && r.chance(0.5)) m.push(`dl_src=${formatMac(p.dlSrc)}`);
  return { match: m, ip4, l4: p.frag === 'no' ? l4 : undefined };
}

/** One `ct(...)` (or `ct_clear`) for a flow whose match guarantees `ip4`/`l4`. */
function ctAction(r: Rng, ip4: boolean, l4: string | undefined): string[] {
  const zone = r.pick([0, 1, 5, 7]);
  const args: string[] = [];
  const pre: string[] = [];
  const commit = r.chance(0.45);
  if (commit) args.push('commit');
  if (r.chance(0.2)) {
    pre.push(`set_field:${zone}->reg0`);
    args.push('zone=NXM_NX_REG0[0..15]');
  } else if (zone || r.chance(0.5)) args.push(`zone=${zone}`);
  if (r.chance(0.75)) args.push(`table=${r.chance(0.75) ? 1 : 2}`);
  const exec = commit && r.chance(0.35) ? r.pick(['exec(set_field:0x1->ct_mark)', 'exec(set_field:0x5/0xf->ct_mark)', 'exec(set_field:0x1/0x1->ct_label)', 'exec(set_field:0x3->ct_mark,set_field:0x10->ct_label)']) : undefined;
  if (r.chance(0.3)) {
    // Before exec(...): OVS keeps the NAT among ct's nested actions in the order given.
    if (commit && ip4 && r.chance(0.6)) {
      args.push(l4 && l4 !== 'sctp' && r.chance(0.5) ? `nat(dst=${formatIpv4(r.pick(GEN_IP4))}:${r.pick([80, 8080, 53])})` : `nat(src=${formatIpv4(r.pick(GEN_IP4))})`);
    } else args.push('nat');
  }
  if (exec) args.push(exec);
  if (r.chance(0.06)) return ['ct_clear'];
  return [...pre, `ct(${args.join(',')})`];
}

/** One `learn(...)` into table 3 or 4, and that table. */
function learnAction(r: Rng, ip4: boolean): { text: string; table: number } {
  const t = r.pick([3, 4]);
  const head = [`table=${t}`];
  if (r.chance(0.4)) head.push(`idle_timeout=${r.pick([10, 60])}`);
  if (r.chance(0.3)) head.push(`hard_timeout=${r.pick([30, 300])}`);
  if (r.chance(0.5)) head.push(`priority=${r.pick([10, 100, 1000])}`);
  if (r.chance(0.3)) head.push(`cookie=0x${r.int(1, 0xff).toString(16)}`);
  if (r.chance(0.15)) head.push('delete_learned');
  if (r.chance(0.15)) head.push('limit=1', 'result_dst=NXM_NX_REG2[0]');
  const spec = r.pick([
    ['NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[]', 'output:NXM_OF_IN_PORT[]'],
    ['NXM_OF_VLAN_TCI[0..11]', 'NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[]', 'load:NXM_OF_IN_PORT[]->NXM_NX_REG0[0..15]'],
    // A learned flow outputs to a field's port only (`output:2` is refused: "unknown field `2'").
    ['eth_type=0x800', ...(ip4 ? ['NXM_OF_IP_DST[]=NXM_OF_IP_SRC[]'] : ['NXM_OF_ETH_SRC[]']), 'load:0x1->NXM_NX_REG1[0]', 'output:NXM_OF_IN_PORT[]'],
    ['NXM_OF_ETH_SRC[]', 'load:0x5->NXM_NX_REG3[0..7]'],
  ]);
  return { text: `learn(${[...head, ...spec].join(',')})`, table: t };
}

/** Match keywords that make a flow IP-only (`ct` needs one: OFPBAC_MATCH_INCONSISTENT otherwise). */
const IP_KEYWORDS: ReadonlySet<string> = new Set(['ip', 'ipv6', 'tcp', 'udp', 'icmp', 'sctp', 'tcp6', 'udp6', 'icmp6']);
const isIpMatch = (m: readonly string[]): boolean => m.some((x) => IP_KEYWORDS.has(x));

const OUT = (r: Rng, ports: readonly number[]): string => r.pick([`output:${r.pick(ports)}`, `output:${r.pick(ports)}`, 'in_port', 'drop']);

/** A random stateful pipeline (see the module comment). */
export function randomStatefulPipeline(seed: number, ports: readonly number[] = [1, 2, 3, 4]): GenTable {
  const r = new Rng(seed);
  const flows: GenFlow[] = [];
  const prios = new Set<string>();
  const add = (f: Omit<GenFlow, 'clear'> & { clear?: boolean }): void => {
    const key = `${f.table}/${f.priority ?? 32768}/${f.match.join(',')}`;
    if (prios.has(key)) return;
    prios.add(key);
    // ovs-ofctl refuses `drop` with other actions: there it only means "no output".
    const actions = f.actions.filter((a) => a !== 'drop');
    flows.push({ clear: false, ...f, actions: actions.length ? actions : ['drop'] });
  };
  const plan = (): FramePlan => {
    let p = randomPlan(r, ports);
    // Mostly IP: conntrack is what this generator is about.
    for (let i = 0; i < 3 && (p.kind === 'arp' || p.kind === 'unknown'); i++) p = randomPlan(r, ports);
    return p;
  };
  // Table 0.
  for (let i = r.int(3, 8); i > 0; i--) {
    const p = plan();
    const { match, ip4, l4 } = matchFor(r, p);
    const acts: string[] = [];
    const k = r.weighted({ ct: 6, learn: 2, both: 1.5, out: 1 });
    let learnt: number | undefined;
    if (k === 'learn' || k === 'both') {
      const l = learnAction(r, ip4 && match.includes('ip') ? true : ip4 && match.some((m) => m === 'tcp' || m === 'udp' || m === 'icmp' || m === 'sctp'));
      acts.push(l.text);
      learnt = l.table;
    }
    if (r.chance(0.2)) acts.push(`set_field:0x${r.int(1, 9)}->reg${r.pick([1, 3])}`);
    if (k === 'ct' || k === 'both') {
      // ct needs an IP match: add one where the match has no protocol, leave ARP flows without ct.
      const ct = ctAction(r, ip4 && match.length > 0 && match[0] !== 'arp', l4);
      if (!isIpMatch(match) && match[0] !== 'arp' && ct[0] !== 'ct_clear') match.unshift('ip');
      if (isIpMatch(match) || ct[0] === 'ct_clear') acts.push(...ct);
    }
    if (k === 'out' || r.chance(0.3)) acts.push(OUT(r, ports));
    // After a learn, often a lookup in the table it wrote (see the module comment).
    if (r.chance(learnt === undefined ? 0.15 : 0.5)) acts.push(`resubmit(,${learnt ?? r.pick([3, 4])})`);
    add({ table: 0, priority: r.int(1, 1000), match, actions: acts, plan: p });
  }
  // A conjunctive match in table 0 now and then.
  if (r.chance(0.5)) {
    const id = r.int(1, 20);
    const prio = 2000 + r.int(0, 10);
    const a = plan();
    const b = plan();
    add({ table: 0, priority: prio, match: ['ip', `nw_src=${formatIpv4(a.nwSrc)}`], actions: [`conjunction(${id},1/2)`], plan: { ...a, kind: 'tcp4' } });
    add({ table: 0, priority: prio, match: ['ip', `nw_dst=${formatIpv4(b.nwDst)}`], actions: [`conjunction(${id},1/2)`], plan: { ...b, kind: 'udp4' } });
    add({ table: 0, priority: prio, match: ['tcp', `tp_dst=${r.pick(GEN_PORTS)}`], actions: [`conjunction(${id},2/2)`], plan: { ...a, kind: 'tcp4' } });
    add({ table: 0, priority: prio, match: [`conj_id=${id}`, 'ip'], actions: r.chance(0.6) ? ctAction(r, true, undefined) : [OUT(r, ports)], plan: { ...a, kind: 'tcp4' } });
  }
  if (r.chance(0.7)) add({ table: 0, priority: 0, match: [], actions: [r.chance(0.5) ? 'drop' : `output:${r.pick(ports)}`], plan: plan() });
  // Table 1: what a stateful ACL does after the first ct.
  const states = ['+trk+new', '+trk+est', '-trk', '+trk', '+new-est+trk', '+trk+rpl', '+trk+inv'];
  for (let i = r.int(2, 5); i > 0; i--) {
    const p = plan();
    const m = [`ct_state=${r.pick(states)}`];
    if (r.chance(0.3)) m.push(`ct_zone=${r.pick([0, 1, 5, 7])}`);
    if (r.chance(0.2)) m.push(`ct_mark=${r.pick(['0x1', '0x5/0xf', '0'])}`);
    if (r.chance(0.3)) m.push(r.pick(['ip', 'tcp', 'udp']));
    const { ip4, l4 } = matchFor(r, p);
    const acts: string[] = [];
    if (r.chance(0.4)) {
      const ct = ctAction(r, ip4 && m.includes('ip'), m.includes('tcp') || m.includes('udp') ? l4 : undefined).filter((x) => !x.includes('table=1'));
      if (ct.some((x) => x.startsWith('ct(')) && !isIpMatch(m)) m.push('ip');
      // OVS refuses ct(commit) on a flow matching +inv (OFPBAC_MATCH_INCONSISTENT).
      if (!(m[0]!.includes('+inv') && ct.some((x) => x.startsWith('ct(commit')))) acts.push(...ct);
    }
    const learnt = r.chance(0.25) ? learnAction(r, false) : undefined;
    if (learnt) acts.push(learnt.text);
    acts.push(OUT(r, ports));
    if (r.chance(learnt ? 0.4 : 0.2)) acts.push(`resubmit(,${learnt?.table ?? r.pick([2, 3])})`);
    add({ table: 1, priority: r.int(1, 500), match: m, actions: acts, plan: p });
  }
  add({ table: 1, priority: 0, match: [], actions: [r.chance(0.5) ? 'drop' : `output:${r.pick(ports)}`], plan: plan() });
  // Table 2: commit and forward.
  for (let i = r.int(1, 3); i > 0; i--) {
    const p = plan();
    const m = r.chance(0.5) ? [`ct_state=${r.pick(states)}`] : [];
    // OVS refuses ct(commit) on a flow matching +inv.
    const commit = r.chance(0.5) && !m.some((x) => x.includes('+inv'));
    if (commit) m.push('ip');
    add({ table: 2, priority: r.int(1, 100), match: m, actions: [...(commit ? [`ct(commit,zone=${r.pick([0, 5])})`] : []), OUT(r, ports)], plan: p });
  }
  // Tables 3 and 4: where learned flows go; sometimes a flow with a learned flow's mask (its
  // subtable then holds both, and a learned flow may raise the subtable's priority).
  add({ table: 3, priority: 0, match: [], actions: [`output:${r.pick(ports)}`], plan: plan() });
  add({ table: 4, priority: 0, match: [], actions: ['drop'], plan: plan() });
  if (r.chance(0.4)) {
    const p = plan();
    add({ table: 3, priority: r.pick([5, 50, 150, 2000]), match: [`dl_dst=${formatMac(p.dlDst)}`], actions: [OUT(r, ports)], plan: p });
  }
  if (r.chance(0.4)) {
    const p = plan();
    add({ table: 4, priority: r.pick([5, 50, 150, 2000]), match: ['ip', `nw_dst=${formatIpv4(p.nwDst)}`], actions: [OUT(r, ports)], plan: { ...p, kind: 'udp4' } });
  }
  return { seed, known: false, ports: [...ports], groups: [], flows };
}
