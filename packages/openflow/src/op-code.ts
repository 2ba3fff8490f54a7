/**
 * Flat programs for shared action lists: the miss path's actions without the object chain.
 *
 * A pipeline miss runs the actions of about ten flows per frame. Run from `Op` objects, each table
 * loads the flow entry, its `ops` array, the array's elements, each op and its primitive: on a
 * switch of 100k flows every one of those is a cache line that a frame of a new flow finds cold,
 * and each load depends on the one before. Here every list the op pool can share (stateless
 * actions only, see op-pool.ts) is also compiled once into a program in one `Uint32Array` per
 * switch, and the classifier keeps the program's offset in the rule's slot (`Classifier.find`
 * sets `foundTag`). A miss then reads the slot it has already loaded and the program's one or two
 * lines; the flow entry is still loaded for its counters, but no action depends on it.
 *
 * A program is `[n, instr_0, ..., instr_{n-1}]`, one instruction per op of the list, in order:
 *
 * | opcode | operands | what |
 * |---|---|---|
 * | `SET1` | word, shift, vmask, v0, m0, prereq, forceBits | a `set_field` of a one-word field (not `vlan_tci`) |
 * | `SET2` | word, v0, m0, v1, m1, prereq | a `set_field` of a two-word field (not a Geneve option) |
 * | `RESUBMIT` | port, table | `resubmit`, `goto_table` |
 * | `OUTPUT` | port, maxLen | `output` (not truncating) |
 * | `DEC_TTL` | - | `dec_ttl` while the TTL stays above 0 |
 * | `SLOW` | - | anything else |
 *
 * The pipeline runs a program only when it neither traces nor records a megaflow (those need the
 * op objects: texts, marks). `SLOW`, and `DEC_TTL` at a TTL of 0 or 1, hand the rest of the list,
 * from that op on, to the interpreter (`doOpsFrom(entry.ops, i)`), as does an earlier `pop_mpls`
 * (the interpreter's recirculation check): the program is an exact shortcut of the interpreter
 * for the ops it encodes, and the interpreter itself for the rest.
 *
 * Programs are kept per distinct list (by identity; the pool makes equal lists one object). The
 * store only grows; `OpCode.stale` says when it holds more programs than twice the live flows plus
 * a margin, and the switch then empties it, compiles the live flows' lists again and retags every
 * rule (`Classifier.retag`), so flows that come and go cannot grow it without bound.
 */
import type { Op } from './actions.js';
import { W } from './flowkey.js';
import { isTunMetadata } from './key-ops.js';
import { SHAREABLE } from './op-pool.js';
import { PrimKind } from './xlate.js';

/** Instruction opcodes of a program (see the module comment). */
export const Instr = {
  Set1: 1,
  Set2: 2,
  Resubmit: 3,
  Output: 4,
  DecTtl: 5,
  Slow: 6,
} as const;

/** Programs kept on top of twice the live flows before the store is rebuilt. */
const MARGIN = 4096;

/** The compiled programs of a switch's shareable action lists. */
export class OpCode {
  /** The programs, end to end (a program's offset is its tag in the classifier). */
  code = new Uint32Array(1024);
  private used = 0;
  private readonly byList = new Map<readonly Op[], number>();
  /** The store's size at which it counts the live flows again. */
  private nextCheck = MARGIN;

  /** `liveFlows()` counts the flows installed now (called only when the store has grown past a check point). */
  constructor(private readonly liveFlows: () => number) {}

  /** The offset of `ops`'s program (compiled now if new), or -1 when the list is not shareable. */
  compile(ops: readonly Op[]): number {
    const got = this.byList.get(ops);
    if (got !== undefined) return got;
    for (const o of ops) if (!SHAREABLE.has(o.type)) return -1;
    // At most 8 words per op, plus the count.
    this.reserve(1 + 8 * ops.length);
    const c = this.code;
    const at = this.used;
    let p = at + 1;
    c[at] = ops.length;
    for (const o of ops) {
      const e = o.exec;
      if (typeof e === 'function') {
        c[p++] = o.type === 'dec_ttl' ? Instr.DecTtl : Instr.Slow;
        continue;
      }
      switch (e.kind) {
        case PrimKind.SetField: {
          const f = e.field;
          if (f.nwords === 1 && f.word !== W.vlan_tci) {
            c[p++] = Instr.Set1;
            c[p++] = f.word;
            c[p++] = f.shift;
            c[p++] = f.vmask;
            c[p++] = e.v0;
            c[p++] = e.m0;
            c[p++] = f.prereq;
            c[p++] = f.forceBits;
          } else if (f.nwords === 2 && !isTunMetadata(f)) {
            c[p++] = Instr.Set2;
            c[p++] = f.word;
            c[p++] = e.v0;
            c[p++] = e.m0;
            c[p++] = e.v1;
            c[p++] = e.m1;
            c[p++] = f.prereq;
          } else c[p++] = Instr.Slow;
          break;
        }
        case PrimKind.Output:
          if (e.trunc) c[p++] = Instr.Slow;
          else {
            c[p++] = Instr.Output;
            c[p++] = e.port;
            c[p++] = e.maxLen;
          }
          break;
        case PrimKind.Resubmit:
          c[p++] = Instr.Resubmit;
          c[p++] = e.port;
          c[p++] = e.table;
          break;
      }
    }
    this.used = p;
    this.byList.set(ops, at);
    return at;
  }

  private reserve(n: number): void {
    if (this.used + n <= this.code.length) return;
    const c = new Uint32Array(Math.max(this.code.length * 2, this.used + n));
    c.set(this.code.subarray(0, this.used));
    this.code = c;
  }

  /** Programs held. */
  get size(): number {
    return this.byList.size;
  }

  /**
   * True when the store holds more programs than twice the live flows plus a margin: the caller
   * then calls `reset` and compiles the live flows' lists again (and retags their rules).
   */
  stale(): boolean {
    if (this.byList.size < this.nextCheck) return false;
    const live = this.liveFlows();
    const stale = this.byList.size >= 2 * live + MARGIN;
    this.nextCheck = (stale ? 2 * live : Math.max(this.byList.size, 2 * live)) + MARGIN;
    return stale;
  }

  /** Forget every program (tags handed out before are invalid: retag every rule). */
  reset(): void {
    this.byList.clear();
    this.used = 0;
  }
}
