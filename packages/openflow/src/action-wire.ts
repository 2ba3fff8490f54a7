/**
 * The frame every action's wire codec is written in (the codecs themselves are the `wire` member of
 * each record of the action table, actions.ts). OpenFlow actions are TLVs: a standard action is
 * `type, len, body` (types per OpenFlow version: 1.0 numbers its actions apart from 1.1+), a
 * Nicira extension is the experimenter type 0xffff with the Nicira id and a 16-bit subtype
 * (`NXAST_*`), and every action is padded to a multiple of 8 bytes. `ActionEncoder` writes those
 * frames (length filled in and padding added when the body is done); `ActionDecoder` reads one
 * action's frame and hands its body, bounded to the action's length, to the decoder a record
 * registered for that wire identity (`wireKey`), so a malformed body can never read past its action.
 *
 * The facts (numbers, layouts, which form OVS picks per version) follow OVS 3.1's
 * lib/ofp-actions.c; decoding raises the OpenFlow errors OVS raises: an action shorter than its
 * header or not a multiple of 8 `OFPBAC_BAD_LEN`, an unknown standard type `OFPBAC_BAD_TYPE`, an
 * unknown experimenter `OFPBAC_BAD_VENDOR`, an unknown Nicira subtype `OFPBAC_BAD_VENDOR_TYPE`,
 * nonzero padding `NXBRC_MUST_BE_ZERO`.
 */
import { OpenFlowError, type OfpErrorName } from './errors.js';
import { headerByWire, headerFor, putHeader, type FieldHeader } from './field-codec.js';
import type { MatchField, Subfield } from './fields.js';
import { OfpVersion, VendorId, WireReader, WireWriter } from './wire-buf.js';

/** OpenFlow 1.1+ standard action types (`OFPAT_*`) the table uses. */
export const OFPAT = {
  OUTPUT: 0,
  SET_VLAN_VID: 1,
  SET_VLAN_PCP: 2,
  SET_DL_SRC: 3,
  SET_DL_DST: 4,
  SET_NW_SRC: 5,
  SET_NW_DST: 6,
  SET_NW_TOS: 7,
  SET_NW_ECN: 8,
  SET_TP_SRC: 9,
  SET_TP_DST: 10,
  SET_MPLS_TTL: 15,
  DEC_MPLS_TTL: 16,
  PUSH_VLAN: 17,
  POP_VLAN: 18,
  PUSH_MPLS: 19,
  POP_MPLS: 20,
  SET_QUEUE: 21,
  GROUP: 22,
  SET_NW_TTL: 23,
  DEC_NW_TTL: 24,
  SET_FIELD: 25,
  COPY_FIELD: 28,
  METER: 29,
  EXPERIMENTER: 0xffff,
} as const;

/** OpenFlow 1.0 standard action types (`OFPAT10_*`). */
export const OFPAT10 = {
  OUTPUT: 0,
  SET_VLAN_VID: 1,
  SET_VLAN_PCP: 2,
  STRIP_VLAN: 3,
  SET_DL_SRC: 4,
  SET_DL_DST: 5,
  SET_NW_SRC: 6,
  SET_NW_DST: 7,
  SET_NW_TOS: 8,
  SET_TP_SRC: 9,
  SET_TP_DST: 10,
  ENQUEUE: 11,
} as const;

/** Nicira extension action subtypes (`NXAST_*`). */
export const NXAST = {
  RESUBMIT: 1,
  SET_TUNNEL: 2,
  SET_QUEUE: 4,
  POP_QUEUE: 5,
  REG_MOVE: 6,
  REG_LOAD: 7,
  NOTE: 8,
  SET_TUNNEL64: 9,
  MULTIPATH: 10,
  BUNDLE: 12,
  BUNDLE_LOAD: 13,
  RESUBMIT_TABLE: 14,
  OUTPUT_REG: 15,
  LEARN: 16,
  EXIT: 17,
  DEC_TTL: 18,
  FIN_TIMEOUT: 19,
  CONTROLLER: 20,
  DEC_TTL_CNT_IDS: 21,
  WRITE_METADATA: 22,
  PUSH_MPLS: 23,
  POP_MPLS: 24,
  SET_MPLS_TTL: 25,
  DEC_MPLS_TTL: 26,
  STACK_PUSH: 27,
  STACK_POP: 28,
  SAMPLE: 29,
  SET_MPLS_LABEL: 30,
  SET_MPLS_TC: 31,
  OUTPUT_REG2: 32,
  REG_LOAD2: 33,
  CONJUNCTION: 34,
  CT: 35,
  NAT: 36,
  CONTROLLER2: 37,
  SAMPLE2: 38,
  OUTPUT_TRUNC: 39,
  GROUP: 40,
  SAMPLE3: 41,
  CLONE: 42,
  CT_CLEAR: 43,
  RESUBMIT_TABLE_CT: 44,
  LEARN2: 45,
  CHECK_PKT_LARGER: 49,
} as const;

/** ONF experimenter action types (`ONFACT_*`). */
export const ONFACT = { COPY_FIELD: 3200 } as const;

/**
 * A wire identity of an action: `of:N` (OpenFlow 1.1+ type N), `of10:N` (OpenFlow 1.0 type N),
 * `nx:N` (Nicira subtype N), `onf:N` (ONF experimenter type N).
 */
export type WireKey = `of:${number}` | `of10:${number}` | `nx:${number}` | `onf:${number}`;

/** One action's codec: the `wire` member of an action record. */
export interface ActionWire<A, R = unknown> {
  /** Write `a` in the encoder's version (one or more wire actions, as OVS writes it). */
  readonly encode: (a: A, e: ActionEncoder) => void;
  /** Wire identities that decode to this type, each with its decoder (body reader bounded to the action). */
  readonly decode: Partial<Record<WireKey, (r: WireReader, d: ActionDecoder) => R>>;
}

/** `ofs_nbits` of NXM actions: offset in the upper 10 bits, bit count - 1 in the lower 6. */
export function ofsNbits(ofs: number, nBits: number): number {
  return (ofs << 6) | (nBits - 1);
}

/** Writes actions in one OpenFlow version. */
export class ActionEncoder {
  constructor(
    /** Where the actions go. */
    readonly w: WireWriter,
    /** OpenFlow version (`OfpVersion`). */
    readonly version: number,
    /** Encodes a nested action list (set by the action table's walker). */
    readonly list: (actions: readonly unknown[], e: ActionEncoder) => void,
  ) {}

  /** Is this OpenFlow 1.0? */
  get of10(): boolean {
    return this.version === OfpVersion.OF10;
  }

  /** A standard action of type `type`: `body` writes after the 4-byte header; padded to 8. */
  std(type: number, body: (w: WireWriter) => void = () => this.w.zeros(4)): void {
    const w = this.w;
    const start = w.len;
    w.u16(type).u16(0);
    body(w);
    w.pad8(start);
    w.setU16(start + 2, w.len - start);
  }

  /** A Nicira action of subtype `subtype`: `body` writes after the 10-byte header; padded to 8. */
  nx(subtype: number, body: (w: WireWriter) => void = () => this.w.zeros(6)): void {
    this.exp(VendorId.NX, subtype, body);
  }

  /** An experimenter action (vendor id, 16-bit subtype) with its body; padded to 8. */
  exp(vendor: number, subtype: number, body: (w: WireWriter) => void): void {
    const w = this.w;
    const start = w.len;
    w.u16(OFPAT.EXPERIMENTER).u16(0).u32(vendor).u16(subtype);
    body(w);
    w.pad8(start);
    w.setU16(start + 2, w.len - start);
  }

  /** Write a field's 32-bit (or experimenter 64-bit) header: NXM form (`version` 0) or that OpenFlow version's. */
  header(f: MatchField, version = 0): void {
    putHeader(this.w, fieldHeaderOf(f, version), false);
  }

  /** The 32-bit NXM header of a field (for fixed `dst`/`src` words); experimenter-only fields raise. */
  headerWord(f: MatchField): number {
    const h = fieldHeaderOf(f, 0);
    if (h.exp) throw new OpenFlowError('OFPBAC_BAD_ARGUMENT', `${f.name} has no 32-bit NXM header`);
    return ((h.cls << 16) | (h.code << 9) | h.bytes) >>> 0;
  }

  /** Encode a nested action list. */
  nested(actions: readonly unknown[]): void {
    this.list(actions, this);
  }

  /** Refuse an action that has no encoding in this version. */
  unencodable(what: string): never {
    throw new OpenFlowError('OFPBAC_BAD_TYPE', `${what} cannot be encoded in OpenFlow ${versionName(this.version)}`);
  }
}

/**
 * The header OVS writes `f` with in an action in `version`; a field without one raises
 * `OFPBAC_BAD_SET_TYPE`. Actions name `in_port` by its 16-bit NXM header in every version (OVS's
 * 32-bit `OXM_OF_IN_PORT` is another field, `in_port_oxm`, which only matches use).
 */
export function fieldHeaderOf(f: MatchField, version: number): FieldHeader {
  const found = headerFor(f, version);
  const h = found?.port11 ? headerFor(f, 0) : found;
  if (!h) throw new OpenFlowError('OFPBAC_BAD_SET_TYPE', `field ${f.name} has no NXM/OXM header`);
  return h;
}

/** "1.0", "1.3", ... for a version byte. */
export function versionName(v: number): string {
  return v >= 1 && v <= 6 ? `1.${v - 1}` : `0x${v.toString(16)}`;
}

/** Reads actions of one OpenFlow version. */
export class ActionDecoder {
  constructor(
    /** OpenFlow version (`OfpVersion`). */
    readonly version: number,
    /** Decodes a nested action list (set by the action table's walker). */
    readonly list: (r: WireReader, d: ActionDecoder) => unknown[],
  ) {}

  /** Length of the action being decoded (set by the walker before each decoder runs). */
  frameLen = 0;

  /** Is this OpenFlow 1.0? */
  get of10(): boolean {
    return this.version === OfpVersion.OF10;
  }

  /** Raise `OFPBAC_BAD_LEN` unless the action being decoded is exactly `n` bytes long (a fixed-size action). */
  len(n: number): void {
    if (this.frameLen !== n) throw new OpenFlowError('OFPBAC_BAD_LEN', `action of ${this.frameLen} bytes where ${n} are expected`);
  }

  /** Read a field header (32 or 64 bits) naming a field; an unknown one raises `err`. */
  field(r: WireReader, err: OfpErrorName = 'OFPBAC_BAD_ARGUMENT'): MatchField {
    const w0 = r.u32();
    const cls = w0 >>> 16;
    const exp = cls === 0xffff ? r.u32() : 0;
    const h = headerByWire(cls, (w0 >>> 9) & 0x7f, exp);
    if (!h) throw new OpenFlowError(err, `unknown field header 0x${w0.toString(16)}`);
    return h.field;
  }

  /** The field a 32-bit NXM header word names. */
  fieldOfWord(w0: number, err: OfpErrorName = 'OFPBAC_BAD_ARGUMENT'): MatchField {
    const h = headerByWire(w0 >>> 16, (w0 >>> 9) & 0x7f, 0);
    if (!h) throw new OpenFlowError(err, `unknown field header 0x${w0.toString(16)}`);
    return h.field;
  }

  /** A subfield from a header word and `ofs_nbits`, checked against the field's width (`OFPBAC_BAD_SET_ARGUMENT`). */
  subfield(f: MatchField, ofs: number, nBits: number): Subfield {
    if (nBits < 1 || ofs + nBits > f.bits) {
      throw new OpenFlowError('OFPBAC_BAD_SET_ARGUMENT', `bits ${ofs}..${ofs + nBits - 1} out of range for ${f.name} (${f.bits} bits)`);
    }
    return { field: f, ofs, nBits };
  }

  /** A subfield from an `ofs_nbits` word. */
  subfieldOfsNbits(f: MatchField, ofsNbitsWord: number): Subfield {
    return this.subfield(f, ofsNbitsWord >>> 6, (ofsNbitsWord & 0x3f) + 1);
  }

  /** Raise `NXBRC_MUST_BE_ZERO` unless the next `n` bytes are zero. */
  zeros(r: WireReader, n: number): void {
    const b = r.bytes(n);
    for (const x of b) if (x) throw new OpenFlowError('NXBRC_MUST_BE_ZERO', 'nonzero padding in action');
  }

  /** Decode a nested action list (the rest of `r`). */
  nested(r: WireReader): unknown[] {
    return this.list(r, this);
  }
}

/**
 * Read one action's frame (OVS `ofpact_pull_raw()`): its wire key and a reader over its body (after
 * `type, len` for a standard action, after `type, len, vendor, subtype` for an experimenter one).
 */
export function pullActionFrame(r: WireReader, version: number): { key: WireKey; body: WireReader; len: number } {
  if (r.remaining < 8) throw new OpenFlowError('OFPBAC_BAD_LEN', `action of ${r.remaining} bytes is shorter than an action header`);
  const type = r.peekU16();
  const len = r.peekU16(2);
  if (len < 8 || len % 8 !== 0) throw new OpenFlowError('OFPBAC_BAD_LEN', `action length ${len} is not a nonzero multiple of 8`);
  if (len > r.remaining) throw new OpenFlowError('OFPBAC_BAD_LEN', `action length ${len} exceeds the ${r.remaining} bytes left`);
  const a = r.sub(len);
  a.skip(4);
  if (type !== OFPAT.EXPERIMENTER) return { key: version === OfpVersion.OF10 ? `of10:${type}` : `of:${type}`, body: a, len };
  if (len < 16) throw new OpenFlowError('OFPBAC_BAD_LEN', `experimenter action of ${len} bytes`);
  const vendor = a.u32();
  const subtype = a.u16();
  if (vendor === VendorId.NX) return { key: `nx:${subtype}`, body: a, len };
  if (vendor === VendorId.ONF) return { key: `onf:${subtype}`, body: a, len };
  throw new OpenFlowError('OFPBAC_BAD_VENDOR', `unknown action experimenter 0x${vendor.toString(16)}`);
}

/** Write one action list in `version` with a per-action encoder; returns the bytes written. */
export function encodeWith(version: number, actions: readonly unknown[], list: ActionEncoder['list'], w = new WireWriter()): number {
  const start = w.len;
  list(actions, new ActionEncoder(w, version, list));
  return w.len - start;
}

export { WireReader, WireWriter };
