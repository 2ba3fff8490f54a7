/**
 * OpenFlow 1.5 wire encoding of the actions ovn-controller nests inside controller userdata.
 *
 * Design. A logical action such as `arp { eth.dst = ff:ff:ff:ff:ff:ff; ...; output; };` becomes a
 * `controller` action whose userdata is an 8-byte header (the pinctrl opcode, then four zero
 * bytes) followed by the nested actions encoded exactly as OVS's `ofpacts_put_openflow_actions`
 * encodes them for OpenFlow 1.5; pinctrl later hands those bytes back to the switch in a
 * packet-out. `ovs-ofctl dump-flows` prints the userdata as dotted hex, so the bytes must be
 * OVS's own: `set_field` is `OFPAT_SET_FIELD` with an OXM entry (the field's OXM header when it
 * has one, its NXM header otherwise; masked when the action sets part of the field), `move` is
 * `OFPAT_COPY_FIELD`, `resubmit(,T)` is `NXAST_RESUBMIT_TABLE`, `push:`/`pop:` are
 * `NXAST_STACK_PUSH`/`POP` (NXM headers), `dec_ttl` is `NXAST_DEC_TTL_CNT_IDS`, a controller
 * action with userdata or pause is `NXAST_CONTROLLER2` with properties, and every action is
 * padded to a multiple of 8 bytes. Decoding is the inverse, for the same set; anything else is a
 * `ChassisError` naming the action and offset.
 */
import { FIELDS, type Action, type MatchField, type Subfield } from '@ovnts/openflow';
import { ChassisError } from './errors.js';
import type { OfAction } from './of-actions.js';

const NX_VENDOR = 0x00002320;
const OFPAT = { OUTPUT: 0, GROUP: 22, DEC_NW_TTL: 24, SET_FIELD: 25, COPY_FIELD: 28, EXPERIMENTER: 0xffff } as const;
const NXAST = {
  RESUBMIT: 1,
  NOTE: 8,
  RESUBMIT_TABLE: 14,
  DEC_TTL_CNT_IDS: 21,
  STACK_PUSH: 27,
  STACK_POP: 28,
  CONTROLLER2: 37,
  CLONE: 42,
  CT_CLEAR: 43,
} as const;
const NXAC2PT = { MAX_LEN: 0, CONTROLLER_ID: 1, REASON: 2, USERDATA: 3, PAUSE: 4, METER_ID: 5 } as const;
const OFPP_IN_PORT = 0xfff8;
const OFPP11_OFFSET = 0xffff_0000;
const OFPP_MAX = 0xff00;
const REASONS = ['no_match', 'action', 'invalid_ttl', 'action_set', 'group', 'packet_out'];

/** Byte length of a field's value in an OXM/NXM entry. */
export function fieldBytes(f: MatchField): number {
  return Math.ceil(f.bits / 8);
}

/** The OXM/NXM header OVS uses for `f` in OpenFlow 1.5 (the OXM when the field has one). */
export function oxmHeader(f: MatchField, masked = false): number {
  const code = f.oxm ?? f.nxm;
  if (!code) throw new ChassisError('encode', `field ${f.name} has no OXM or NXM code`);
  const len = fieldBytes(f) * (masked ? 2 : 1);
  return ((code.cls << 16) | (code.code << 9) | (masked ? 0x100 : 0) | len) >>> 0;
}

/** The NXM header of `f` (OpenFlow 1.0 form, used by the stack actions). */
function nxmHeader(f: MatchField): number {
  const code = f.nxm ?? f.oxm;
  if (!code) throw new ChassisError('encode', `field ${f.name} has no NXM code`);
  return ((code.cls << 16) | (code.code << 9) | fieldBytes(f)) >>> 0;
}

const byHeader = new Map<number, MatchField>();
for (const f of FIELDS) {
  if (f.legacy) continue;
  for (const code of [f.oxm, f.nxm]) {
    if (code) byHeader.set(((code.cls << 16) | (code.code << 9)) >>> 0, f);
  }
}

/** The field of an OXM/NXM header (mask bit and length ignored). */
export function fieldOfHeader(h: number, at: number): MatchField {
  const f = byHeader.get((h & 0xffff_fe00) >>> 0);
  if (!f) throw new ChassisError('decode', `unknown OXM/NXM header 0x${h.toString(16)} at offset ${at}`);
  return f;
}

/** A growable byte buffer. */
class Out {
  buf = new Uint8Array(256);
  len = 0;
  private room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const b = new Uint8Array(Math.max(this.buf.length * 2, this.len + n));
    b.set(this.buf.subarray(0, this.len));
    this.buf = b;
  }
  u8(v: number): void {
    this.room(1);
    this.buf[this.len++] = v & 0xff;
  }
  u16(v: number): void {
    this.u8(v >>> 8);
    this.u8(v);
  }
  u32(v: number): void {
    this.u16(v >>> 16);
    this.u16(v & 0xffff);
  }
  big(v: bigint, bytes: number): void {
    for (let i = bytes - 1; i >= 0; i--) this.u8(Number((v >> BigInt(8 * i)) & 0xffn));
  }
  bytes(b: Uint8Array): void {
    this.room(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }
  zeros(n: number): void {
    for (let i = 0; i < n; i++) this.u8(0);
  }
  setU16(at: number, v: number): void {
    this.buf[at] = (v >>> 8) & 0xff;
    this.buf[at + 1] = v & 0xff;
  }
  /** Pad to a multiple of 8 from `start` and write the length at `start + 2`. */
  finish(start: number): void {
    while ((this.len - start) % 8) this.u8(0);
    this.setU16(start + 2, this.len - start);
  }
  result(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

function nxHeader(o: Out, subtype: number): number {
  const start = o.len;
  o.u16(OFPAT.EXPERIMENTER);
  o.u16(0);
  o.u32(NX_VENDOR);
  o.u16(subtype);
  return start;
}

function portToOf11(p: number): number {
  return p >= OFPP_MAX ? (p + OFPP11_OFFSET) >>> 0 : p;
}

function stackOp(o: Out, subtype: number, sf: Subfield): void {
  const s = nxHeader(o, subtype);
  o.u16(sf.ofs);
  o.u32(nxmHeader(sf.field));
  o.u16(sf.nBits);
  o.finish(s);
}

function encodeOne(a: OfAction, o: Out): void {
  switch (a.type) {
    case 'stack_push':
      stackOp(o, NXAST.STACK_PUSH, a.src);
      return;
    case 'stack_pop':
      stackOp(o, NXAST.STACK_POP, a.dst);
      return;
    case 'clone': {
      const s = nxHeader(o, NXAST.CLONE);
      o.zeros(6);
      for (const x of a.actions) encodeOne(x, o);
      o.setU16(s + 2, o.len - s);
      return;
    }
    case 'output': {
      const s = o.len;
      o.u16(OFPAT.OUTPUT);
      o.u16(16);
      o.u32(portToOf11(a.port));
      o.u16(a.maxLen ?? 0);
      o.zeros(6);
      o.finish(s);
      return;
    }
    case 'group': {
      const s = o.len;
      o.u16(OFPAT.GROUP);
      o.u16(8);
      o.u32(a.groupId);
      o.finish(s);
      return;
    }
    case 'set_field': {
      const s = o.len;
      o.u16(OFPAT.SET_FIELD);
      o.u16(0);
      const n = fieldBytes(a.field);
      const full = (1n << BigInt(n * 8)) - 1n;
      const masked = a.mask !== undefined && a.mask !== full && a.mask !== (1n << BigInt(a.field.bits)) - 1n;
      o.u32(oxmHeader(a.field, masked));
      o.big(a.value, n);
      if (masked) o.big(a.mask!, n);
      o.finish(s);
      return;
    }
    case 'move': {
      const s = o.len;
      o.u16(OFPAT.COPY_FIELD);
      o.u16(0);
      o.u16(a.src.nBits);
      o.u16(a.src.ofs);
      o.u16(a.dst.ofs);
      o.zeros(2);
      o.u32(oxmHeader(a.src.field));
      o.u32(oxmHeader(a.dst.field));
      o.finish(s);
      return;
    }
    case 'resubmit': {
      const s = nxHeader(o, a.table === undefined ? NXAST.RESUBMIT : NXAST.RESUBMIT_TABLE);
      o.u16(a.port ?? OFPP_IN_PORT);
      if (a.table !== undefined) o.u8(a.table);
      o.finish(s);
      return;
    }
    case 'dec_ttl': {
      if (a.ids === undefined) {
        const s = o.len;
        o.u16(OFPAT.DEC_NW_TTL);
        o.u16(8);
        o.finish(s);
        return;
      }
      const s = nxHeader(o, NXAST.DEC_TTL_CNT_IDS);
      const ids = a.ids;
      o.u16(ids.length);
      o.zeros(4);
      for (const id of ids) o.u16(id);
      o.finish(s);
      return;
    }
    case 'note': {
      const s = nxHeader(o, NXAST.NOTE);
      o.bytes(a.data);
      o.finish(s);
      return;
    }
    case 'ct_clear': {
      const s = nxHeader(o, NXAST.CT_CLEAR);
      o.finish(s);
      return;
    }
    case 'controller': {
      const s = nxHeader(o, NXAST.CONTROLLER2);
      o.zeros(6);
      const prop = (type: number, body: (x: Out) => void) => {
        const ps = o.len;
        o.u16(type);
        o.u16(0);
        body(o);
        o.setU16(ps + 2, o.len - ps);
        while ((o.len - ps) % 8) o.u8(0);
      };
      if (a.maxLen !== 65535) prop(NXAC2PT.MAX_LEN, (x) => x.u16(a.maxLen));
      if (a.id !== undefined && a.id !== 0) prop(NXAC2PT.CONTROLLER_ID, (x) => x.u16(a.id!));
      if (a.reason !== undefined && a.reason !== 'action') prop(NXAC2PT.REASON, (x) => x.u8(REASONS.indexOf(a.reason!)));
      if (a.userdata) prop(NXAC2PT.USERDATA, (x) => x.bytes(a.userdata!));
      if (a.pause) prop(NXAC2PT.PAUSE, () => {});
      if (a.meterId !== undefined) prop(NXAC2PT.METER_ID, (x) => x.u32(a.meterId!));
      o.finish(s);
      return;
    }
    default:
      throw new ChassisError('encode', `action ${a.type} cannot be nested in controller userdata`);
  }
}

/** Encode actions as OpenFlow 1.5 does (see the module comment). */
export function encodeActions(list: readonly OfAction[]): Uint8Array {
  const o = new Out();
  for (const a of list) encodeOne(a, o);
  return o.result();
}

/** Append `list`'s OpenFlow 1.5 encoding to `prefix`. */
export function appendActions(prefix: Uint8Array, list: readonly OfAction[]): Uint8Array {
  const o = new Out();
  o.bytes(prefix);
  for (const a of list) encodeOne(a, o);
  return o.result();
}

function rd16(b: Uint8Array, i: number): number {
  return (b[i]! << 8) | b[i + 1]!;
}

function rd32(b: Uint8Array, i: number): number {
  return ((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0;
}

function rdBig(b: Uint8Array, i: number, n: number): bigint {
  let v = 0n;
  for (let k = 0; k < n; k++) v = (v << 8n) | BigInt(b[i + k]!);
  return v;
}

function subfield(field: MatchField, ofs: number, nBits: number): Subfield {
  return { field, ofs, nBits };
}

/** Decode OpenFlow 1.5 actions (the inverse of `encodeActions`); throws `ChassisError` on anything else. */
export function decodeActions(b: Uint8Array, off = 0, end = b.length): OfAction[] {
  const out: OfAction[] = [];
  let i = off;
  while (i < end) {
    if (end - i < 8) throw new ChassisError('decode', `truncated action at offset ${i}`);
    const type = rd16(b, i);
    const len = rd16(b, i + 2);
    if (len < 8 || len % 8 || i + len > end) throw new ChassisError('decode', `bad action length ${len} at offset ${i}`);
    if (type === OFPAT.OUTPUT) {
      const p = rd32(b, i + 4);
      const port = p >= (OFPP11_OFFSET | OFPP_MAX) >>> 0 ? p - OFPP11_OFFSET : p;
      const maxLen = rd16(b, i + 8);
      out.push(maxLen ? { type: 'output', port, maxLen } : { type: 'output', port });
    } else if (type === OFPAT.DEC_NW_TTL) {
      out.push({ type: 'dec_ttl' });
    } else if (type === OFPAT.GROUP) {
      out.push({ type: 'group', groupId: rd32(b, i + 4) });
    } else if (type === OFPAT.SET_FIELD) {
      const h = rd32(b, i + 4);
      const f = fieldOfHeader(h, i + 4);
      const n = fieldBytes(f);
      const value = rdBig(b, i + 8, n);
      if (h & 0x100) out.push({ type: 'set_field', field: f, value, mask: rdBig(b, i + 8 + n, n) });
      else out.push({ type: 'set_field', field: f, value });
    } else if (type === OFPAT.COPY_FIELD) {
      const nBits = rd16(b, i + 4);
      const src = fieldOfHeader(rd32(b, i + 12), i + 12);
      const dst = fieldOfHeader(rd32(b, i + 16), i + 16);
      out.push({ type: 'move', src: subfield(src, rd16(b, i + 6), nBits), dst: subfield(dst, rd16(b, i + 8), nBits) });
    } else if (type === OFPAT.EXPERIMENTER && rd32(b, i + 4) === NX_VENDOR) {
      const sub = rd16(b, i + 8);
      switch (sub) {
        case NXAST.RESUBMIT:
          out.push({ type: 'resubmit', port: rd16(b, i + 10) });
          break;
        case NXAST.RESUBMIT_TABLE: {
          const port = rd16(b, i + 10);
          out.push(port === OFPP_IN_PORT ? { type: 'resubmit', table: b[i + 12]! } : { type: 'resubmit', port, table: b[i + 12]! });
          break;
        }
        case NXAST.DEC_TTL_CNT_IDS: {
          const n = rd16(b, i + 10);
          const ids: number[] = [];
          for (let k = 0; k < n; k++) ids.push(rd16(b, i + 16 + 2 * k));
          out.push({ type: 'dec_ttl', ids });
          break;
        }
        case NXAST.NOTE:
          out.push({ type: 'note', data: b.slice(i + 10, i + len) });
          break;
        case NXAST.CT_CLEAR:
          out.push({ type: 'ct_clear' });
          break;
        case NXAST.STACK_PUSH:
        case NXAST.STACK_POP: {
          const f = fieldOfHeader(rd32(b, i + 12), i + 12);
          const sf = subfield(f, rd16(b, i + 10), rd16(b, i + 16));
          out.push(sub === NXAST.STACK_PUSH ? { type: 'stack_push', src: sf } : { type: 'stack_pop', dst: sf });
          break;
        }
        case NXAST.CLONE:
          out.push({ type: 'clone', actions: decodeActions(b, i + 16, i + len) });
          break;
        case NXAST.CONTROLLER2: {
          const a: Extract<Action, { type: 'controller' }> = { type: 'controller', maxLen: 65535 };
          let p = i + 16;
          while (p < i + len) {
            const pt = rd16(b, p);
            const pl = rd16(b, p + 2);
            if (pl < 4 || p + pl > i + len) break;
            if (pt === NXAC2PT.MAX_LEN) a.maxLen = rd16(b, p + 4);
            else if (pt === NXAC2PT.CONTROLLER_ID) a.id = rd16(b, p + 4);
            else if (pt === NXAC2PT.REASON) a.reason = REASONS[b[p + 4]!] ?? 'action';
            else if (pt === NXAC2PT.USERDATA) a.userdata = b.slice(p + 4, p + pl);
            else if (pt === NXAC2PT.PAUSE) a.pause = true;
            else if (pt === NXAC2PT.METER_ID) a.meterId = rd32(b, p + 4);
            p += (pl + 7) & ~7;
          }
          out.push(a);
          break;
        }
        default:
          throw new ChassisError('decode', `unsupported Nicira action subtype ${sub} at offset ${i}`);
      }
    } else {
      throw new ChassisError('decode', `unsupported action type ${type} at offset ${i}`);
    }
    i += len;
  }
  return out;
}

/** The 8-byte userdata header ovn-controller puts before a controller operation's payload. */
export function controllerHeader(opcode: number): Uint8Array {
  const h = new Uint8Array(8);
  h[0] = (opcode >>> 24) & 0xff;
  h[1] = (opcode >>> 16) & 0xff;
  h[2] = (opcode >>> 8) & 0xff;
  h[3] = opcode & 0xff;
  return h;
}

/** The pinctrl opcode of controller userdata (first 32 bits). */
export function controllerOpcode(userdata: Uint8Array): number {
  return userdata.length >= 4 ? rd32(userdata, 0) : -1;
}
