/**
 * The logical-flow interpreter: follows one packet through logical datapaths the way
 * `ovn-trace` (OVN 23.03, utilities/ovn-trace.c, re-implemented) does, building its trace tree.
 *
 * Design. A trace is a tree of nodes typed as ovn-trace types them: pipeline titles
 * (`ingress(dp="ls", inport="p")`), tables (`0. stage: match, priority P, uuid U`), actions
 * (each action as OVN formats it), modifications (externally visible field changes, `output("p")`),
 * transformations (conntrack, `arp { }`, `icmp4 { }`, ... where the trace forks), outputs and
 * errors. In each table the first flow whose match (with its actions' prerequisites) holds on
 * the packet is executed; tables whose matching flow is `1` / `next;` are skipped, as ovn-trace
 * skips them. `next` recurses into the next table (so the tree nests one level per table, as in
 * ovn-trace), `output` in ingress runs the egress pipeline on a copy with registers cleared, and
 * in egress either delivers (a `output("port")` modification) or crosses a patch port into the
 * peer datapath's ingress. Conntrack actions fork the packet with the next `--ct` state (default
 * `est|trk`), `ct_lb`/`ct_lb_mark` picks the `--lb-dst` backend (or the first one), and nested
 * actions trace the packet ovn-trace synthesises (ARP request, NA, ICMP error, TCP reset, ...).
 * MAC bindings and FDB entries come only from what the caller supplies (a fresh SB has none), so
 * `get_arp` finds no binding unless told, as in a sandbox without ovn-controller.
 */
import type { Action } from '../actions/ast.js';
import type { LogicalFlow } from '../northd/types.js';
import { formatIpv4 as formatIp4, formatIpv6Ntop as formatIp6 } from '@ovnts/packet';
import { formatAction, formatConstantSet, formatField, putHex } from '../actions/format.js';
import { linkLocal } from '../northd/addrs.js';
import type { Expr } from '../expr/ast.js';
import { resolveField, type ResolvedField } from '../expr/symbols.js';
import type { FieldRef } from '../expr/parse.js';
import type { IntConstant } from '../expr/check.js';
import {
  CS,
  ETH_TYPE,
  IPPROTO,
  cloneFlow,
  fieldPrereqsOk,
  flowFormat,
  formatCtState,
  formatMacBig,
  getField,
  isIpAny,
  mfFormat,
  setField,
  type TraceFlow,
} from './flow.js';
import { portKeyIn } from './match.js';
import { parseIpText, type TraceDatapath, type TraceDb, type TraceLflow, type TraceMacBinding, type TracePort } from './db.js';

/** Trace node types (ovn-trace's `enum ovntrace_node_type`). */
export type TraceNodeType = 'output' | 'modify' | 'action' | 'error' | 'pipeline' | 'table' | 'transformation';

/** One node of the trace tree. */
export interface TraceNode {
  /** Type. */
  readonly type: TraceNodeType;
  /** Text. */
  readonly name: string;
  /** Print indented even when last (multicast egress branches). */
  alwaysIndent: boolean;
  /** Children. */
  readonly subs: TraceNode[];
}

/** Options of one trace run. */
export interface TraceRunOptions {
  /** `--ct` states, consumed in order by conntrack actions. */
  ctStates?: readonly bigint[];
  /** `--lb-dst`. */
  lbDst?: { family: 4 | 6; ip: bigint; port: number };
  /** `--select-id`. */
  selectId?: number;
  /** MAC bindings (SB MAC_Binding rows). */
  macBindings?: readonly TraceMacBinding[];
  /**
   * Which candidate to take at each choice the NB does not determine, in the order the trace
   * meets them (default 0, the first, at every point): equal-priority flows that all match (ovn-trace
   * takes the first in its southbound row order), `select` without `selectId` and `ct_lb` with
   * several backends and no `lbDst` (ovn-trace picks at random). See `Tracer.choicePoints`.
   */
  choices?: readonly number[];
  /** State an embedding supplies (conntrack, learned affinity) and observers of the trace. */
  hooks?: TraceHooks;
  /**
   * Fan out multicast as ovn-controller does rather than as ovn-trace does: a chassisredirect
   * member leaves through its distributed port (`chassisDepartures` lists where this mattered).
   */
  chassisMulticast?: boolean;
}

/** Where a conntrack action runs: what a connection-tracking model needs to pick the zone. */
export interface TraceCtQuery {
  /** The datapath. */
  readonly dp: TraceDatapath;
  /** Ingress or egress. */
  readonly pipeline: Pipeline;
  /** The logical inport's name ('' when none). */
  readonly inport: string;
  /** The logical outport's name ('' when none). */
  readonly outport: string;
  /** The action (`ct_next`, `ct_lb_mark`, `ct_dnat`, `ct_snat`, `ct_commit`, ...). */
  readonly action: string;
  /** The packet (read only). */
  readonly flow: TraceFlow;
}

/** An OVN ACL `log()` action met on the way. */
export interface TraceLogEvent {
  /** The datapath. */
  readonly dp: TraceDatapath;
  /** Ingress (from-lport) or egress (to-lport). */
  readonly pipeline: Pipeline;
  /** ACL name, if any. */
  readonly name?: string;
  /** allow, drop or reject. */
  readonly verdict: string;
  /** Severity. */
  readonly severity: string;
  /** Meter, if any. */
  readonly meter?: string;
  /** The packet as logged. */
  readonly flow: TraceFlow;
}

/**
 * Hooks through which an embedding (the Kubernetes layer's verdict engine) supplies what a
 * southbound database and the chassis would hold, and observes the trace. Without hooks the
 * interpreter behaves exactly as ovn-trace.
 */
export interface TraceHooks {
  /** The ct_state a conntrack lookup returns (undefined: use the `--ct` list, then est). */
  ctState?(q: TraceCtQuery): bigint | undefined;
  /**
   * What a backend-less `ct_lb`/`ct_lb_mark` (OVS `ct(nat)`) does to this packet: the NAT of the
   * connection it belongs to, `null` for none. Undefined: ovn-trace's behaviour (`--lb-dst`).
   */
  ctLbNat?(q: TraceCtQuery): { src?: { ip: bigint; port: number }; dst?: { ip: bigint; port: number } } | null | undefined;
  /** A connection is committed (ct_commit, ct_lb_mark of a new connection, NAT with an address). */
  ctCommit?(q: TraceCtQuery): void;
  /** A logical flow is executed. */
  flow?(dp: TraceDatapath, pipeline: Pipeline, lf: TraceLflow, f: TraceFlow): void;
  /** The packet leaves the logical network through a non-patch port (a copy of the packet). */
  delivered?(dp: TraceDatapath, port: TracePort | undefined, name: string, f: TraceFlow): void;
  /** `chk_lb_aff()`: the backend a learned affinity flow gives this packet, if any. */
  lbAffinity?(dp: TraceDatapath, f: TraceFlow): { ip: bigint; port: number } | undefined;
  /** `commit_lb_aff()`: learn an affinity flow. */
  learnLbAffinity?(dp: TraceDatapath, f: TraceFlow, a: Action & { type: 'commit_lb_aff' }): void;
  /** An ACL `log()` action. */
  log?(e: TraceLogEvent): void;
  /** `igmp;`: an IGMP or MLD packet handed to ovn-controller's snooping (a copy of the packet). */
  igmp?(dp: TraceDatapath, pipeline: Pipeline, f: TraceFlow): void;
}

type Pipeline = 'ingress' | 'egress';
const INPORT = 14;
const OUTPORT = 15;
const FLAGS = 10;
const MLF_ALLOW_LOOPBACK = 1n;

/**
 * A trace node whose text may be computed on first read: the table lines and formatted actions
 * of a trace are only needed when it is printed, and an embedding that traces many packets
 * (the Kubernetes layer's verdict engine) mostly never prints them. Only texts built from
 * immutable inputs (a logical flow, a parsed action) are deferred; texts that show packet
 * fields are formatted when the node is made, since the packet changes afterwards.
 */
class Node implements TraceNode {
  alwaysIndent = false;
  private text: string | (() => string);
  constructor(
    readonly type: TraceNodeType,
    text: string | (() => string),
    readonly subs: TraceNode[] = [],
  ) {
    this.text = text;
  }
  get name(): string {
    if (typeof this.text !== 'string') this.text = this.text();
    return this.text;
  }
}

/**
 * A node list that records nothing: a trace started with it as its parent list builds no tree
 * (nodes added to it, and to their children, are dropped), for embeddings that only need the
 * trace's effects and hooks.
 */
export const NO_TREE: TraceNode[] = Object.freeze([]) as unknown as TraceNode[];
const DROPPED = new Node('action', '', NO_TREE);

function node(list: TraceNode[], type: TraceNodeType, name: string | (() => string)): TraceNode {
  if (list === NO_TREE) return DROPPED;
  const n = new Node(type, name);
  list.push(n);
  return n;
}

const resolvedRefs = new WeakMap<FieldRef, ResolvedField>();

/** `resolveField` of a field reference of a parsed action (actions are immutable, so once each). */
function resolved(ref: FieldRef): ResolvedField {
  let r = resolvedRefs.get(ref);
  if (!r) resolvedRefs.set(ref, (r = resolveField(ref.symbol, ref.ofs, ref.nBits)));
  return r;
}

const registerFields = new Map<string, boolean>();

/** Whether OVS field `name` is a register (`reg0`, `xreg4`, `xxreg1`), whose loads a trace does not show. */
function isRegisterField(name: string): boolean {
  let r = registerFields.get(name);
  if (r === undefined) registerFields.set(name, (r = /^(x{0,2})reg\d+$/.test(name)));
  return r;
}

function isTrueExpr(e: Expr): boolean {
  return e.type === 'bool' && e.value;
}

/** The state of one trace. */
export class Tracer {
  /**
   * Tables where two flows of the same priority matched: ovn-trace's choice between them
   * depends on the order of rows in its southbound database, so the trace may differ there.
   */
  readonly ties: [LogicalFlow, LogicalFlow][] = [];
  /** Choices ovn-trace makes at random (`select` without `--select-id`, `ct_lb` without `--lb-dst`); we take the first. */
  readonly randomChoices: string[] = [];
  /** Where `chassisMulticast` made the trace differ from ovn-trace's. */
  readonly chassisDepartures: string[] = [];
  /**
   * The number of candidates at each undetermined choice the trace met, in order (ties and
   * random choices alike): together with `TraceRunOptions.choices` this enumerates every trace
   * real ovn-trace may print for the same NB.
   */
  readonly choicePoints: number[] = [];
  private ctIdx = 0;
  private lbDst: TraceRunOptions['lbDst'];
  private readonly macBindings: { dp: TraceDatapath; portKey: number; family: 4 | 6; ip: bigint; mac: bigint }[] = [];

  constructor(
    readonly db: TraceDb,
    readonly opts: TraceRunOptions = {},
  ) {
    this.lbDst = opts.lbDst;
    for (const b of [...db.macBindings, ...(opts.macBindings ?? [])]) {
      const p = db.ports.get(b.port);
      const ip = parseIpText(b.ip);
      if (!p || !ip) continue;
      const mac = BigInt(`0x${b.mac.split(':').join('')}`);
      this.macBindings.push({ dp: p.dp, portKey: p.key, family: ip.family, ip: ip.ip, mac });
    }
  }

  /** Port with tunnel key `key` in `dp`. */
  portByKey(dp: TraceDatapath, key: number): TracePort | undefined {
    return dp.ports.find((p) => p.key === key);
  }

  private portKeyName(dp: TraceDatapath, key: number): string {
    const p = this.portByKey(dp, key);
    return p ? p.name : !key ? '' : '(unnamed)';
  }

  /** ovn-trace's `ovntrace_lookup_port`: a port name to its key in `dp`. */
  lookupPort(dp: TraceDatapath, name: string): number | undefined {
    return portKeyIn(this.db.ports, dp, name);
  }

  private ctQuery(dp: TraceDatapath, f: TraceFlow, pipeline: Pipeline, action: string): TraceCtQuery {
    return {
      dp,
      pipeline,
      inport: this.portKeyName(dp, Number(f.regs[INPORT])),
      outport: this.portKeyName(dp, Number(f.regs[OUTPORT])),
      action,
      flow: f,
    };
  }

  private commit(dp: TraceDatapath, f: TraceFlow, pipeline: Pipeline, action: string): void {
    this.opts.hooks?.ctCommit?.(this.ctQuery(dp, f, pipeline, action));
  }

  private nextCtState(q?: () => TraceCtQuery): { state: bigint; comment: string } {
    const h = this.opts.hooks?.ctState;
    if (h && q) {
      const st = h(q());
      if (st !== undefined) return { state: st, comment: '' };
    }
    const s = this.opts.ctStates;
    if (s && this.ctIdx < s.length) return { state: s[this.ctIdx++]!, comment: '' };
    return { state: CS.EST | CS.TRK, comment: ' /* default (use --ct to customize) */' };
  }

  /** Evaluates an annotated match on `f` (OVN's `expr_evaluate`). */
  evaluate(e: Expr, f: TraceFlow, dp: TraceDatapath): boolean {
    switch (e.type) {
      case 'bool':
        return e.value;
      case 'cond':
        return !e.not;
      case 'and':
        return e.terms.every((t) => this.evaluate(t, f, dp));
      case 'or':
        return e.terms.some((t) => this.evaluate(t, f, dp));
      case 'cmp': {
        const s = e.symbol;
        let c: number;
        if (s.width) {
          const v = getField(f, s.field!.name) & e.mask;
          c = v < e.value ? -1 : v > e.value ? 1 : 0;
        } else {
          const key = this.lookupPort(dp, e.string!);
          if (key === undefined) return false;
          const v = Number(getField(f, s.field!.name));
          c = v < key ? -1 : v > key ? 1 : 0;
        }
        switch (e.relop) {
          case '==':
            return c === 0;
          case '!=':
            return c !== 0;
          case '<':
            return c < 0;
          case '<=':
            return c <= 0;
          case '>':
            return c > 0;
          case '>=':
            return c >= 0;
        }
      }
    }
  }

  /** The candidate to take at the next undetermined choice among `n` (recorded in `choicePoints`). */
  private choose(n: number): number {
    const k = this.opts.choices?.[this.choicePoints.length] ?? 0;
    this.choicePoints.push(n);
    return k < n ? k : 0;
  }

  private lookupFlow(dp: TraceDatapath, f: TraceFlow, table: number, pipeline: Pipeline): TraceLflow | undefined {
    const list = dp.flows.get(`${pipeline}/${table}`);
    if (!list) return undefined;
    const holds = (lf: TraceLflow) => {
      const pre = lf.precheck;
      if (pre && !pre(f)) return false;
      return lf.test ? lf.test(f) : this.evaluate(lf.match, f, dp);
    };
    const i = list.findIndex(holds);
    if (i < 0) return undefined;
    const lf = list[i]!;
    let tied: TraceLflow[] | undefined;
    for (let j = i + 1; j < list.length && list[j]!.flow.priority === lf.flow.priority; j++) {
      if (holds(list[j]!)) (tied ??= [lf]).push(list[j]!);
    }
    if (!tied) return lf;
    this.ties.push([lf.flow, tied[1]!.flow]);
    return tied[this.choose(tied.length)]!;
  }

  private mayOmit(lf: TraceLflow | undefined, table: number): boolean {
    if (!lf || !isTrueExpr(lf.match) || lf.actions.length !== 1) return false;
    const a = lf.actions[0]!;
    return a.type === 'next' && a.pipeline === a.srcPipeline && a.table === table + 1;
  }

  /** Traces `f` from `table` of `pipeline` in `dp`, appending to `sup` (ovn-trace's `trace__`). */
  trace(dp: TraceDatapath, f: TraceFlow, table: number, pipeline: Pipeline, sup: TraceNode[]): void {
    let lf: TraceLflow | undefined;
    for (let guard = 0; guard < 256; guard++) {
      lf = this.lookupFlow(dp, f, table, pipeline);
      if (!this.mayOmit(lf, table)) break;
      table++;
    }
    const found = lf;
    const n = node(sup, 'table', () => {
      let s = `${String(table).padStart(2, ' ')}. `;
      if (found) {
        // ovn-trace prints the stage name and the source when the SB row has them.
        const { stage, source } = found.flow;
        s += stage && source ? `${stage} (${source}): ` : stage ? `${stage}: ` : source ? `(${source}): ` : '';
        s += `${found.flow.match}, priority ${found.flow.priority}, uuid ${found.uuid8}`;
      } else {
        const stage = dp.stages.get(`${pipeline}/${table}`);
        s += `${stage ? `${stage}: ` : ''}no match (implicit drop)`;
      }
      return s;
    });
    if (lf) {
      this.opts.hooks?.flow?.(dp, pipeline, lf, f);
      this.actions(lf.actions, dp, f, table, pipeline, n.subs);
    }
  }

  /** ovn-trace's `trace_actions`. */
  actions(acts: readonly Action[], dp: TraceDatapath, f: TraceFlow, table: number, pipeline: Pipeline, sup: TraceNode[]): void {
    if (!acts.length) {
      node(sup, 'action', 'drop;');
      return;
    }
    const stack: bigint[] = [];
    for (const a of acts) {
      node(sup, 'action', () => formatAction(a));
      this.execute(a, dp, f, table, pipeline, sup, stack);
    }
  }

  private readField(f: TraceFlow, ref: FieldRef): bigint {
    const r = resolved(ref);
    const v = getField(f, r.field.name) >> BigInt(r.ofs);
    return v & ((1n << BigInt(r.nBits)) - 1n);
  }

  private writeField(f: TraceFlow, ref: FieldRef, v: bigint): void {
    const r = resolved(ref);
    const m = (1n << BigInt(r.nBits)) - 1n;
    setField(f, r.field.name, (v & m) << BigInt(r.ofs), m << BigInt(r.ofs));
  }

  private isRegister(ref: FieldRef): boolean {
    return isRegisterField(resolved(ref).field.name);
  }

  private summarizeMove(src: FieldRef, dst: FieldRef, f: TraceFlow, sup: TraceNode[]): void {
    if (this.isRegister(dst)) return;
    const r = resolved(src);
    let v: string;
    if (r.ofs === 0 && r.nBits >= r.field.width) v = mfFormat(r.field, getField(f, r.field.name));
    else v = putHex(this.readField(f, src));
    node(sup, 'modify', `${formatField(dst)} = ${v}`);
  }

  private execute(a: Action, dp: TraceDatapath, f: TraceFlow, table: number, pipeline: Pipeline, sup: TraceNode[], stack: bigint[]): void {
    switch (a.type) {
      case 'output':
        return this.output(dp, f, pipeline, sup);
      case 'next':
        return this.next(a, dp, f, sup);
      case 'load':
        return this.load(a.dst, a.imm, () => formatAction(a), dp, f, sup);
      case 'ovnfield-load':
        node(sup, 'modify', `${a.dst.symbol.name} = ${a.value}`);
        return;
      case 'move':
        this.summarizeMove(a.rhs, a.lhs, f, sup);
        this.writeField(f, a.lhs, this.readField(f, a.rhs));
        return;
      case 'exchange': {
        this.summarizeMove(a.rhs, a.lhs, f, sup);
        this.summarizeMove(a.lhs, a.rhs, f, sup);
        const x = this.readField(f, a.lhs);
        const y = this.readField(f, a.rhs);
        this.writeField(f, a.lhs, y);
        this.writeField(f, a.rhs, x);
        return;
      }
      case 'push': {
        const v = this.readField(f, a.field);
        stack.push(v);
        node(sup, 'modify', `push(${formatField(a.field)}) -> ${putHex(v)}`);
        return;
      }
      case 'pop': {
        const v = stack.pop();
        if (v === undefined) node(sup, 'modify', `pop(${formatField(a.field)}) <- /* empty stack */`);
        else {
          this.writeField(f, a.field, v);
          node(sup, 'modify', `pop(${formatField(a.field)}) <- ${putHex(v)}`);
        }
        return;
      }
      case 'dec_ttl':
        if (isIpAny(f)) {
          if (f.nw_ttl) {
            f.nw_ttl--;
            node(sup, 'modify', 'ip.ttl--');
          } else node(sup, 'error', '*** TTL underflow');
        } else node(sup, 'error', '*** TTL decrement of non-IP packet');
        return;
      case 'ct_next': {
        const { state, comment } = this.nextCtState(() => this.ctQuery(dp, f, pipeline, 'ct_next'));
        const n = node(sup, 'transformation', () => `ct_next(ct_state=${formatCtState(state)}${comment})`);
        const ct = cloneFlow(f);
        ct.ct_state = state;
        this.trace(dp, ct, a.table, pipeline, n.subs);
        return;
      }
      case 'ct_commit_v1':
        this.commit(dp, f, pipeline, 'ct_commit');
        return;
      case 'ct_nat':
        return this.ctNat(a, dp, f, pipeline, sup);
      case 'ct_commit_nat': {
        const ct = cloneFlow(f);
        let s = 'ct_commit_nat /* assuming no un-nat entry, so no change */';
        if (!(ct.ct_state & CS.TRK)) {
          const { state, comment } = this.nextCtState(() => this.ctQuery(dp, f, pipeline, 'ct_commit_nat'));
          ct.ct_state |= state;
          s += comment;
        }
        const n = node(sup, 'transformation', s);
        this.trace(dp, ct, a.table, pipeline, n.subs);
        return;
      }
      case 'ct_lb':
        return this.ctLb(a, dp, f, pipeline, sup);
      case 'select': {
        const sel = cloneFlow(f);
        let m = a.members.find((x) => x.id === this.opts.selectId);
        const user = !!m;
        if (!m) {
          this.randomChoices.push(formatAction(a));
          m = a.members[a.members.length > 1 ? this.choose(a.members.length) : 0]!;
        }
        this.writeField(sel, a.dst, BigInt(m.id));
        const n = node(sup, 'transformation', `select: ${formatField(a.dst)} = ${m.id}${user ? '' : ' /* Randomly selected. Use --select-id to specify. */'}`);
        this.trace(dp, sel, a.table, pipeline, n.subs);
        return;
      }
      case 'ct_clear':
        f.ct_state = 0n;
        f.ct_mark = 0n;
        f.ct_label = 0n;
        f.ct_nw_dst = 0n;
        f.ct_ipv6_dst = 0n;
        f.ct_tp_dst = 0n;
        f.ct_nw_proto = 0n;
        return;
      case 'nested':
        return this.nested(a.name, a.nested, dp, f, table, pipeline, sup);
      case 'get_arp':
      case 'get_nd': {
        const portKey = Number(this.readField(f, a.port));
        const ip = this.readField(f, a.ip);
        const b = this.findBinding(dp, portKey, a.type === 'get_arp' ? 4 : 6, ip);
        f.dl_dst = b ? b.mac : 0n;
        node(sup, 'action', b ? `/* MAC binding to ${formatMacBig(f.dl_dst)}. */` : '/* No MAC binding. */');
        node(sup, 'modify', `eth.dst = ${formatMacBig(f.dl_dst)}`);
        return;
      }
      case 'lookup_arp':
      case 'lookup_nd': {
        const portKey = Number(this.readField(f, a.port));
        const ip = this.readField(f, a.ip);
        const mac = this.readField(f, a.mac);
        const b = this.findBinding(dp, portKey, a.type === 'lookup_arp' ? 4 : 6, ip, mac);
        node(sup, 'action', b ? `/* MAC binding to ${formatMacBig(f.dl_dst)} found. */` : '/* lookup failed - No MAC binding. */');
        this.writeField(f, a.dst, b ? 1n : 0n);
        return;
      }
      case 'lookup_arp_ip':
      case 'lookup_nd_ip': {
        const portKey = Number(this.readField(f, a.port));
        const ip = this.readField(f, a.ip);
        const b = this.findBinding(dp, portKey, a.type === 'lookup_arp_ip' ? 4 : 6, ip);
        node(sup, 'action', b ? '/* MAC binding found. */' : '/* lookup failed - No MAC binding. */');
        this.writeField(f, a.dst, b ? 1n : 0n);
        return;
      }
      case 'lookup_fdb':
        node(sup, 'action', '/* lookup mac failed in mac learning table. */');
        this.writeField(f, a.dst, 0n);
        return;
      case 'get_fdb':
        this.writeField(f, a.dst, 0n);
        return;
      case 'put_dhcp_opts':
      case 'put_dhcpv6_opts':
      case 'put_nd_ra_opts': {
        if (a.type !== 'put_nd_ra_opts') node(sup, 'error', '/* We assume that this packet is DHCPDISCOVER or DHCPREQUEST. */');
        const opts = a.options.map((o) => `${o.name} = ${formatConstantSet(o.value)}`);
        node(sup, 'modify', `${a.type}(${opts.join(', ')})`);
        if (!this.isRegister(a.dst)) node(sup, 'modify', `${formatField(a.dst)} = 1`);
        this.writeField(f, a.dst, 1n);
        return;
      }
      case 'result':
        return this.result(a.name, a.dst, dp, f, sup);
      case 'log':
        this.opts.hooks?.log?.({
          dp,
          pipeline,
          ...(a.name !== undefined ? { name: a.name } : {}),
          verdict: a.verdict,
          severity: a.severity,
          ...(a.meter !== undefined ? { meter: a.meter } : {}),
          flow: cloneFlow(f),
        });
        node(
          sup,
          'transformation',
          `LOG: ACL name=${a.name ?? '<unnamed>'}, direction=${pipeline === 'ingress' ? 'IN' : 'OUT'}, verdict=${a.verdict}, severity=${a.severity}, packet="${flowFormat(f)}"`,
        );
        return;
      case 'ct_snat_to_vip': {
        const vip = this.lbVip(f);
        if (!vip) return;
        const ok = vip.family === 4 ? vip.ip === f.ct_nw_dst : vip.ip === f.ct_ipv6_dst;
        if (ok && BigInt(vip.port) === f.ct_tp_dst) node(sup, 'action', `/* nat(src=${vip.ipS}) */`);
        return;
      }
      case 'commit_lb_aff':
        this.opts.hooks?.learnLbAffinity?.(dp, f, a);
        return;
      case 'igmp':
        this.opts.hooks?.igmp?.(dp, pipeline, cloneFlow(f));
        return;
      default:
        // ct_commit v1, put_arp, put_nd, put_fdb, igmp, set_queue, set_meter, trigger_event,
        // check_pkt_larger, bind_vport, handle_svc_check, fwd_group, handle_dhcpv6_reply,
        // handle_bfd_msg, commit_ecmp_nh, commit_lb_aff, sample: nothing to trace.
        return;
    }
  }

  private findBinding(dp: TraceDatapath, portKey: number, family: 4 | 6, ip: bigint, mac?: bigint) {
    return this.macBindings.find(
      (b) => b.dp === dp && b.portKey === portKey && b.family === family && b.ip === ip && (mac === undefined || b.mac === mac),
    );
  }

  private load(dst: FieldRef, imm: IntConstant | string, text: () => string, dp: TraceDatapath, f: TraceFlow, sup: TraceNode[]): void {
    const r = resolved(dst);
    if (!isRegisterField(r.field.name)) {
      node(sup, 'modify', () => {
        const t = text();
        return t.endsWith(';') ? t.slice(0, -1) : t;
      });
    }
    let value: bigint;
    let mask: bigint;
    if (typeof imm === 'string') {
      value = BigInt(this.lookupPort(dp, imm) ?? 0);
      mask = (1n << BigInt(r.field.width)) - 1n;
      value &= mask;
    } else {
      const m = (1n << BigInt(r.nBits)) - 1n;
      value = (imm.value & m) << BigInt(r.ofs);
      mask = (imm.mask !== undefined ? imm.mask & m : m) << BigInt(r.ofs);
    }
    if (fieldPrereqsOk(f, r.field.name)) setField(f, r.field.name, value, mask);
  }

  private lbVip(f: TraceFlow) {
    return this.db.lbVips.find((v) => (v.family === 4 ? v.ip === f.ct_nw_dst : v.ip === f.ct_ipv6_dst));
  }

  private result(name: string, dst: FieldRef, dp: TraceDatapath, f: TraceFlow, sup: TraceNode[]): void {
    switch (name) {
      case 'dns_lookup':
        this.writeField(f, dst, 0n);
        node(sup, 'error', '*** dns_lookup action not implemented');
        return;
      case 'chk_lb_hairpin':
      case 'chk_lb_hairpin_reply': {
        let res = 0n;
        const vip = this.lbVip(f);
        if (vip && isIpAny(f)) {
          if (f.ct_state & CS.DNAT) {
            if (f.dl_type === ETH_TYPE.IP) res = f.nw_src === f.nw_dst ? 1n : 0n;
            else res = f.ipv6_src === f.ipv6_dst ? 1n : 0n;
          }
          const port = name === 'chk_lb_hairpin' ? f.ct_tp_dst : f.tp_dst;
          if (BigInt(vip.port) !== port) res = 0n;
        }
        this.writeField(f, dst, res);
        node(sup, 'modify', `${formatField(dst)} = ${res}`);
        return;
      }
      case 'check_in_port_sec':
        this.writeField(f, dst, this.checkInPortSec(dp, f));
        return;
      case 'check_out_port_sec':
        this.writeField(f, dst, this.checkOutPortSec(dp, f));
        return;
      case 'chk_lb_aff': {
        // ovn-trace leaves the result untouched; an embedding holding learned affinity flows
        // (OVN's table 78) answers through the hook, which loads what the learned flow loads.
        const b = this.opts.hooks?.lbAffinity?.(dp, f);
        if (!b) return;
        if (f.dl_type === ETH_TYPE.IP) setField(f, 'reg4', b.ip, 0xffffffffn);
        else setField(f, dp.kind === 'switch' ? 'xxreg0' : 'xxreg1', b.ip, (1n << 128n) - 1n);
        setField(f, 'reg8', BigInt(b.port), 0xffffn);
        this.writeField(f, dst, 1n);
        node(sup, 'modify', `${formatField(dst)} = 1 /* learned affinity: backend ${f.dl_type === ETH_TYPE.IP ? formatIp4(b.ip) : formatIp6(b.ip)}${b.port ? `:${b.port}` : ''} */`);
        return;
      }
      default:
        // chk_ecmp_nh_mac, chk_ecmp_nh: ovn-trace leaves the result untouched.
        return;
    }
  }

  private checkInPortSec(dp: TraceDatapath, f: TraceFlow): bigint {
    const p = this.portByKey(dp, Number(f.regs[INPORT]));
    if (!p || !p.psAddrs.length) return 0n;
    let allow = false;
    for (const ps of p.psAddrs) {
      if (BigInt(ps.ea) !== f.dl_src) continue;
      if (f.dl_type === ETH_TYPE.IP) {
        if (!ps.ipv4.length && !ps.ipv6.length) allow = true;
        else if (ps.ipv4.some((a) => BigInt(a.addr >>> 0) === f.nw_src)) allow = true;
        else allow = f.nw_proto === IPPROTO.UDP && f.tp_src === 68n && f.tp_dst === 67n && f.nw_src === 0n && f.nw_dst === 0xffffffffn;
      } else if (f.dl_type === ETH_TYPE.ARP) {
        if (f.arp_sha !== BigInt(ps.ea)) allow = false;
        else allow = !ps.ipv4.length || ps.ipv4.some((a) => BigInt(a.addr >>> 0) === f.nw_src);
      } else if (f.dl_type === ETH_TYPE.IPV6) {
        allow = this.inPortSec6(f, ps);
      } else allow = true;
      break;
    }
    return allow ? 0n : 1n;
  }

  private inPortSec6(f: TraceFlow, ps: TracePort['psAddrs'][number]): boolean {
    if (!ps.ipv4.length && !ps.ipv6.length) return true;
    const lla = lla6(ps.ea);
    const passed = ps.ipv6.some((a) => a.addr === f.ipv6_src);
    if (!passed && f.ipv6_src !== lla) return false;
    if (f.nw_proto === IPPROTO.ICMPV6) {
      const ea = BigInt(ps.ea);
      if (f.tp_src === 135n && f.arp_sha !== 0n && f.arp_sha !== ea) return false;
      if (f.tp_src === 136n) {
        if (f.arp_tha !== 0n && f.arp_tha !== ea) return false;
        if (ps.ipv6.length && !ps.ipv6.some((a) => a.addr === f.nd_target) && f.nd_target !== lla) return false;
      }
    }
    return true;
  }

  private checkOutPortSec(dp: TraceDatapath, f: TraceFlow): bigint {
    const p = this.portByKey(dp, Number(f.regs[OUTPORT]));
    if (!p || !p.psAddrs.length) return 0n;
    let allow = false;
    for (const ps of p.psAddrs) {
      if (BigInt(ps.ea) !== f.dl_dst) continue;
      if (f.dl_type === ETH_TYPE.IP) {
        if (!ps.ipv4.length && !ps.ipv6.length) allow = true;
        else if (!ps.ipv4.length) allow = false;
        else {
          allow =
            ps.ipv4.some((a) => BigInt(a.addr >>> 0) === f.nw_dst) || f.nw_dst === 0xffffffffn || (f.nw_dst & 0xf0000000n) === 0xe0000000n;
        }
      } else if (f.dl_type === ETH_TYPE.IPV6) {
        if (!ps.ipv4.length && !ps.ipv6.length) allow = true;
        else if (!ps.ipv6.length) allow = false;
        else {
          allow = ps.ipv6.some((a) => a.addr === f.ipv6_dst) || f.ipv6_dst === lla6(ps.ea) || f.ipv6_dst >> 120n === 0xffn;
        }
      } else allow = true;
      break;
    }
    return allow ? 0n : 1n;
  }

  private next(a: Action & { type: 'next' }, dp: TraceDatapath, f: TraceFlow, sup: TraceNode[]): void {
    if (a.pipeline !== a.srcPipeline) {
      const key = Number(a.pipeline === 'ingress' ? f.regs[INPORT] : f.regs[OUTPORT]);
      const n = node(
        sup,
        'pipeline',
        `${a.pipeline}(dp="${dp.name}", ${a.pipeline === 'ingress' ? 'inport' : 'outport'}="${this.portKeyName(dp, key)}")`,
      );
      sup = n.subs;
    }
    this.trace(dp, f, a.table, a.pipeline, sup);
  }

  private output(dp: TraceDatapath, f: TraceFlow, pipeline: Pipeline, sup: TraceNode[]): void {
    const key = Number(f.regs[OUTPORT]);
    if (!key) {
      node(sup, 'error', '*** output to null logical port');
      return;
    }
    let port = this.portByKey(dp, key);
    const mc = dp.mcgroups.find((m) => m.key === key);
    let outName = port ? port.name : mc ? mc.name : '(unnamed)';
    if (!port && !mc) node(sup, 'error', `*** unknown port or multicast group ${key}`);
    if (pipeline === 'egress') {
      node(sup, 'output', `/* output to "${outName}", type "${port ? port.type : ''}" */`);
      if (port && port.peer) {
        const peer = port.peer;
        const n = node(sup, 'pipeline', `ingress(dp="${peer.dp.name}", inport="${peer.name}")`);
        const nf = cloneFlow(f);
        nf.regs[INPORT] = BigInt(peer.key);
        nf.regs[OUTPORT] = 0n;
        this.trace(peer.dp, nf, 0, 'ingress', n.subs);
      } else {
        node(sup, 'modify', `output("${outName}")`);
        this.opts.hooks?.delivered?.(dp, port, outName, cloneFlow(f));
      }
      return;
    }
    const eg = cloneFlow(f);
    for (let i = 0; i < 16; i++) if (i !== INPORT && i !== OUTPORT) eg.regs[i] = 0n;
    const inKey = Number(f.regs[INPORT]);
    const inName = this.portKeyName(dp, inKey);
    const loopback = (f.regs[FLAGS]! & MLF_ALLOW_LOOPBACK) !== 0n;
    if (mc) {
      const mcn = node(sup, 'pipeline', `multicast(dp="${dp.name}", mcgroup="${mc.name}")`);
      for (const member of mc.ports) {
        // ovn-controller (physical.c consider_mc_group) sends a group's chassisredirect member
        // out its distributed port; ovn-trace runs the egress pipeline on the redirect port.
        const p = this.opts.chassisMulticast && member.type === 'chassisredirect' && member.distributed ? member.distributed : member;
        if (p !== member) this.chassisDepartures.push(`multicast group ${mc.name}: ${member.name} sent out its distributed port ${p.name}`);
        const n = node(mcn.subs, 'pipeline', `egress(dp="${dp.name}", inport="${inName}", outport="${p.name}")`);
        if (p.key !== inKey || loopback) {
          n.alwaysIndent = true;
          eg.regs[OUTPORT] = BigInt(p.key);
          this.trace(dp, eg, 0, 'egress', n.subs);
        } else node(n.subs, 'output', '/* omitting output because inport == outport && !flags.loopback */');
      }
      return;
    }
    if (port && port.type === 'chassisredirect') {
      if (port.distributed) {
        node(sup, 'output', `/* Replacing type "${port.type}" outport "${port.name}" with distributed port "${port.distributed.name}". */`);
        port = port.distributed;
        outName = port.name;
        eg.regs[OUTPORT] = BigInt(port.key);
      } else {
        node(sup, 'error', `*** output to type "${port.type}" port "${outName}" with no or invalid distributed port`);
        return;
      }
    }
    if ((port && port.key !== inKey) || loopback) {
      const n = node(sup, 'pipeline', `egress(dp="${dp.name}", inport="${inName}", outport="${outName}")`);
      this.trace(dp, eg, 0, 'egress', n.subs);
    } else node(sup, 'output', '/* omitting output because inport == outport && !flags.loopback */');
  }

  private ctNat(a: Action & { type: 'ct_nat' }, dp: TraceDatapath, f: TraceFlow, pipeline: Pipeline, sup: TraceNode[]): void {
    const isDst = a.name === 'ct_dnat' || a.name === 'ct_dnat_in_czone';
    const czone = a.name.endsWith('_in_czone');
    if (!isDst && dp.hasLocalL3gateway && !a.dst) return;
    const dir = isDst ? 'dst' : 'src';
    const ct = cloneFlow(f);
    let s = `ct_${dir[0]}nat${czone ? 'in_czone' : ''}`;
    if (a.dst) {
      if (a.dst.family === 4) {
        s += `(ip4.${dir}=${formatIp4(a.dst.ip)})`;
        if (isDst) ct.nw_dst = a.dst.ip;
        else ct.nw_src = a.dst.ip;
      } else {
        s += `(ip6.${dir}=${formatIp6(a.dst.ip)})`;
        if (isDst) ct.ipv6_dst = a.dst.ip;
        else ct.ipv6_src = a.dst.ip;
      }
      ct.ct_state |= isDst ? CS.DNAT : CS.SNAT;
    } else s += ` /* assuming no un-${dir[0]}nat entry, so no change */`;
    if (!(ct.ct_state & CS.TRK)) {
      const { state, comment } = this.nextCtState(() => this.ctQuery(dp, f, pipeline, a.name));
      ct.ct_state |= state;
      s += comment;
    }
    if (a.dst) this.commit(dp, ct, pipeline, a.name);
    const n = node(sup, 'transformation', s);
    this.trace(dp, ct, a.table, pipeline, n.subs);
  }

  private ctLb(a: Action & { type: 'ct_lb' }, dp: TraceDatapath, f: TraceFlow, pipeline: Pipeline, sup: TraceNode[]): void {
    let comment = '';
    const ct = cloneFlow(f);
    const family = ct.dl_type === ETH_TYPE.IP ? 4 : ct.dl_type === ETH_TYPE.IPV6 ? 6 : 0;
    const hookNat = family && !a.dsts.length ? this.opts.hooks?.ctLbNat?.(this.ctQuery(dp, f, pipeline, a.mark ? 'ct_lb_mark' : 'ct_lb')) : undefined;
    if (family && hookNat !== undefined) {
      if (hookNat?.dst) {
        if (family === 6) {
          ct.ct_ipv6_dst = ct.ipv6_dst;
          ct.ipv6_dst = hookNat.dst.ip;
        } else {
          ct.ct_nw_dst = ct.nw_dst;
          ct.nw_dst = hookNat.dst.ip;
        }
        ct.ct_tp_dst = ct.tp_dst;
        if (hookNat.dst.port) ct.tp_dst = BigInt(hookNat.dst.port);
        ct.ct_state |= CS.DNAT;
      }
      if (hookNat?.src) {
        if (family === 6) ct.ipv6_src = hookNat.src.ip;
        else ct.nw_src = hookNat.src.ip;
        if (hookNat.src.port) ct.tp_src = BigInt(hookNat.src.port);
        ct.ct_state |= CS.DNAT;
      }
      const st = this.nextCtState(() => this.ctQuery(dp, f, pipeline, a.mark ? 'ct_lb_mark' : 'ct_lb'));
      ct.ct_state |= st.state;
      comment = st.comment;
    } else if (family) {
      let dst: { ip: bigint; port: number } | undefined;
      if (a.dsts.length) {
        let user = false;
        for (const d of a.dsts) {
          if (d.family !== family) continue;
          if (this.lbDst && this.lbDst.family === family && this.lbDst.ip === d.ip) {
            this.lbDst = undefined;
            dst = d;
            user = true;
            break;
          }
          dst ??= d;
        }
        const same = a.dsts.filter((d) => d.family === family);
        if (!dst) node(sup, 'error', '*** no load balancing destination (use --lb-dst)');
        else if (!user && same.length > 1) {
          this.randomChoices.push(formatAction(a));
          dst = same[this.choose(same.length)]!;
        }
      } else if (this.lbDst && this.lbDst.family === family) dst = this.lbDst;
      if (dst) {
        if (family === 6) {
          ct.ct_ipv6_dst = ct.ipv6_dst;
          ct.ipv6_dst = dst.ip;
        } else {
          ct.ct_nw_dst = ct.nw_dst;
          ct.nw_dst = dst.ip;
        }
        ct.ct_tp_dst = ct.tp_dst;
        if (dst.port) ct.tp_dst = BigInt(dst.port);
        ct.ct_state |= CS.DNAT;
      }
      const st = this.nextCtState(() => this.ctQuery(dp, f, pipeline, a.mark ? 'ct_lb_mark' : 'ct_lb'));
      ct.ct_state |= st.state;
      comment = st.comment;
      if (a.dsts.length && st.state & CS.NEW) this.commit(dp, ct, pipeline, a.mark ? 'ct_lb_mark' : 'ct_lb');
    }
    const n = node(sup, 'transformation', `${a.mark ? 'ct_lb_mark' : 'ct_lb'}${comment}`);
    this.trace(dp, ct, a.table, pipeline, n.subs);
  }

  private nested(
    name: string,
    body: readonly Action[],
    dp: TraceDatapath,
    f: TraceFlow,
    table: number,
    pipeline: Pipeline,
    sup: TraceNode[],
  ): void {
    const run = (nf: TraceFlow, label: string) => {
      const n = node(sup, 'transformation', label);
      this.actions(body, dp, nf, table, pipeline, n.subs);
    };
    switch (name) {
      case 'ct_commit':
        this.commit(dp, f, pipeline, 'ct_commit');
        return;
      case 'clone':
        return run(cloneFlow(f), 'clone');
      case 'arp': {
        const nf = cloneFlow(f);
        nf.nw_frag = 0n;
        nf.nw_tos = 0n;
        nf.nw_ttl = 0n;
        nf.tcp_flags = 0n;
        nf.dl_type = ETH_TYPE.ARP;
        nf.nw_proto = 1n;
        nf.arp_sha = nf.dl_src;
        nf.arp_tha = 0n;
        return run(nf, 'arp');
      }
      case 'nd_na':
      case 'nd_na_router': {
        const nf = cloneFlow(f);
        nf.dl_src = f.dl_dst;
        nf.dl_dst = f.dl_src;
        nf.ipv6_dst = f.ipv6_src;
        nf.ipv6_src = f.nd_target;
        nf.tp_src = 136n;
        nf.arp_sha = 0n;
        nf.arp_tha = f.dl_dst;
        return run(nf, 'nd_na');
      }
      case 'nd_ns': {
        const nf = cloneFlow(f);
        const sn = 0xff0200000000000000000001ff000000n | (f.ipv6_dst & 0xffffffn);
        nf.dl_dst = 0x333300000000n | (sn & 0xffffffffn);
        nf.tp_src = 135n;
        nf.arp_sha = 0n;
        nf.arp_tha = f.dl_dst;
        return run(nf, 'nd_ns');
      }
      case 'icmp4':
      case 'icmp4_error':
        return this.icmp(body, dp, f, table, pipeline, sup, false, 4);
      case 'icmp6':
      case 'icmp6_error':
        return this.icmp(body, dp, f, table, pipeline, sup, false, 6);
      case 'tcp_reset':
        return this.tcpReset(body, dp, f, table, pipeline, sup, false, 'tcp_reset');
      case 'sctp_abort':
        return this.tcpReset(body, dp, f, table, pipeline, sup, false, 'sctp_abort');
      case 'reject':
        if (f.nw_proto === IPPROTO.TCP) return this.tcpReset(body, dp, f, table, pipeline, sup, true, 'tcp_reset');
        if (f.nw_proto === IPPROTO.SCTP) return this.tcpReset(body, dp, f, table, pipeline, sup, true, 'sctp_abort');
        return this.icmp(body, dp, f, table, pipeline, sup, true, f.dl_type === ETH_TYPE.IP ? 4 : 6);
    }
  }

  private swapAddrs(nf: TraceFlow, f: TraceFlow, loopback: boolean, v6: boolean): void {
    if (!loopback) return;
    nf.dl_dst = f.dl_src;
    nf.dl_src = f.dl_dst;
    if (v6) {
      nf.ipv6_dst = f.ipv6_src;
      nf.ipv6_src = f.ipv6_dst;
    } else {
      nf.nw_dst = f.nw_src;
      nf.nw_src = f.nw_dst;
    }
  }

  private icmp(body: readonly Action[], dp: TraceDatapath, f: TraceFlow, table: number, pipeline: Pipeline, sup: TraceNode[], loopback: boolean, v: 4 | 6): void {
    const unreach = v === 4 ? 3n : 1n;
    if (loopback && f.tp_src === unreach) return;
    const nf = cloneFlow(f);
    this.swapAddrs(nf, f, loopback, v === 6);
    nf.nw_proto = v === 4 ? IPPROTO.ICMP : IPPROTO.ICMPV6;
    nf.nw_ttl = 255n;
    nf.tp_src = unreach;
    nf.tp_dst = 1n;
    const n = node(sup, 'transformation', v === 4 ? 'icmp4' : 'icmp6');
    this.actions(body, dp, nf, table, pipeline, n.subs);
  }

  private tcpReset(
    body: readonly Action[],
    dp: TraceDatapath,
    f: TraceFlow,
    table: number,
    pipeline: Pipeline,
    sup: TraceNode[],
    loopback: boolean,
    label: 'tcp_reset' | 'sctp_abort',
  ): void {
    if (loopback && f.tcp_flags === 0x004n) return;
    const v6 = f.dl_type !== ETH_TYPE.IP;
    const nf = cloneFlow(f);
    this.swapAddrs(nf, f, loopback, v6);
    nf.nw_proto = label === 'tcp_reset' || v6 ? IPPROTO.TCP : IPPROTO.SCTP;
    nf.nw_ttl = 255n;
    nf.tcp_flags = 0x004n;
    const n = node(sup, 'transformation', label);
    this.actions(body, dp, nf, table, pipeline, n.subs);
  }
}

function lla6(mac: number): bigint {
  return linkLocal(mac);
}
