/**
 * OVN's Geneve option. ovn-controller maps OVS `tun_metadata0` to the TLV class 0x0102, type
 * 0x80 (critical), 4 bytes of data (`OVN_GENEVE_CLASS/TYPE/LEN` in OVN's `lib/ovn-util.h`), and
 * `put_encapsulation()` in `controller/physical.c` loads the logical datapath key into the 24-bit
 * VNI (`tun_id`), the logical egress port key into data bits 15..0 and the logical ingress port
 * key into bits 30..16. Bit 31 is reserved (zero).
 *
 * On the hot path the option is a packed unsigned 32-bit number `(ingress << 16) | egress`,
 * read with `readOvnOption()` (no allocation) and written with `writeOvnOption()`.
 */
import { u32, setU16, setU32 } from '@ovnts/packet';
import { checkSpan, ReprError, WireErrorCode } from '@ovnts/packet';
import {
  findGeneveOption,
  GENEVE_OPTION_HEADER_LEN,
  geneveRepr,
  type GeneveOption,
  type GeneveRepr,
} from './geneve.js';

/** OVN's Geneve option class. */
export const OVN_GENEVE_CLASS = 0x0102;
/** OVN's Geneve option type (critical). */
export const OVN_GENEVE_TYPE = 0x80;
/** Bytes of OVN's option data. */
export const OVN_GENEVE_LEN = 4;
/** Bytes of OVN's whole option TLV (header and data). */
export const OVN_OPTION_TLV_LEN = GENEVE_OPTION_HEADER_LEN + OVN_GENEVE_LEN;
/** The largest logical datapath key (24 bits, carried in the VNI). */
export const OVN_MAX_DATAPATH_KEY = 0xffffff;
/** The largest logical ingress port key (15 bits). */
export const OVN_MAX_INGRESS_KEY = 0x7fff;
/** The largest logical egress port key (16 bits; keys from 32768 up name multicast groups). */
export const OVN_MAX_EGRESS_KEY = 0xffff;
/** `readOvnOption()` result: no OVN option in the options area. */
export const OVN_OPTION_ABSENT = -1;
/** `readOvnOption()` result: an OVN option is present but has the wrong length or bit 31 set. */
export const OVN_OPTION_INVALID = -2;

/** Pack the logical ingress and egress port keys into the option's 32-bit data value. */
export function packOvnKeys(ingress: number, egress: number): number {
  if (!Number.isInteger(ingress) || ingress < 0 || ingress > OVN_MAX_INGRESS_KEY) {
    throw new ReprError('ovn', `logical ingress port key ${ingress} is not a 15-bit value`);
  }
  if (!Number.isInteger(egress) || egress < 0 || egress > OVN_MAX_EGRESS_KEY) {
    throw new ReprError('ovn', `logical egress port key ${egress} is not a 16-bit value`);
  }
  return ((ingress << 16) | egress) >>> 0;
}

/** The logical ingress port key (bits 30..16) of a packed option value. */
export function ovnIngressKey(packed: number): number {
  return (packed >>> 16) & OVN_MAX_INGRESS_KEY;
}

/** The logical egress port key (bits 15..0) of a packed option value. */
export function ovnEgressKey(packed: number): number {
  return packed & 0xffff;
}

/**
 * `Ok` if the option TLV at `tlvOff` is a well-formed OVN option: 4 bytes of data
 * (`BadLength` otherwise; `Truncated` if `buf` ends first) and reserved bit 31 clear (`BadValue`).
 */
export function checkOvnOption(buf: Uint8Array, tlvOff: number): WireErrorCode {
  checkSpan('checkOvnOption', buf, tlvOff, 0);
  if (tlvOff + GENEVE_OPTION_HEADER_LEN > buf.length) return WireErrorCode.Truncated;
  if ((buf[tlvOff + 3]! & 0x1f) * 4 !== OVN_GENEVE_LEN) return WireErrorCode.BadLength;
  if (tlvOff + OVN_OPTION_TLV_LEN > buf.length) return WireErrorCode.Truncated;
  if ((buf[tlvOff + GENEVE_OPTION_HEADER_LEN]! & 0x80) !== 0) return WireErrorCode.BadValue;
  return WireErrorCode.Ok;
}

/**
 * Find OVN's option in the (checked) options area `buf[optOff, optOff + optLen)` and return its
 * packed data `(ingress << 16) | egress`, `OVN_OPTION_ABSENT` (-1) when there is none, or
 * `OVN_OPTION_INVALID` (-2) when it has the wrong length or bit 31 set. Allocation-free.
 */
export function readOvnOption(buf: Uint8Array, optOff: number, optLen: number): number {
  checkSpan('readOvnOption', buf, optOff, optLen);
  const p = findGeneveOption(buf, optOff, optLen, OVN_GENEVE_CLASS, OVN_GENEVE_TYPE);
  if (p < 0) return OVN_OPTION_ABSENT;
  if (p + OVN_OPTION_TLV_LEN > optOff + optLen) return OVN_OPTION_INVALID;
  if (checkOvnOption(buf, p) !== WireErrorCode.Ok) return OVN_OPTION_INVALID;
  return u32(buf, p + GENEVE_OPTION_HEADER_LEN);
}

/**
 * Write OVN's 8-byte option TLV at `off` (no allocation, no range checks beyond the keys';
 * the caller reserved the room). Returns the number of bytes written.
 */
export function writeOvnOption(buf: Uint8Array, off: number, packed: number): number {
  if (packed < 0 || packed > 0x7fffffff || !Number.isInteger(packed)) {
    throw new ReprError('ovn', `packed port keys 0x${packed.toString(16)} have reserved bit 31 set or are out of range`);
  }
  setU16(buf, off, OVN_GENEVE_CLASS);
  buf[off + 2] = OVN_GENEVE_TYPE;
  buf[off + 3] = OVN_GENEVE_LEN / 4;
  setU32(buf, off + GENEVE_OPTION_HEADER_LEN, packed);
  return OVN_OPTION_TLV_LEN;
}

/** OVN's option as a `GeneveOption` (control plane; allocates). */
export function ovnGeneveOption(ingress: number, egress: number): GeneveOption {
  const data = new Uint8Array(OVN_GENEVE_LEN);
  setU32(data, 0, packOvnKeys(ingress, egress));
  return { optClass: OVN_GENEVE_CLASS, type: OVN_GENEVE_TYPE, data };
}

/** Check a logical datapath key (the VNI); returns it or throws `ReprError`. */
export function ovnDatapathVni(datapathKey: number): number {
  if (!Number.isInteger(datapathKey) || datapathKey < 0 || datapathKey > OVN_MAX_DATAPATH_KEY) {
    throw new ReprError('ovn', `logical datapath key ${datapathKey} is not a 24-bit value`);
  }
  return datapathKey;
}

/** OVN's logical keys as carried by one Geneve packet. */
export interface OvnTunnelKeys {
  /** Logical datapath key (the VNI). */
  datapath: number;
  /** Logical ingress port key (15 bits). */
  ingress: number;
  /** Logical egress port key (16 bits). */
  egress: number;
}

/**
 * The Geneve header OVN sends for `keys`: VNI = datapath key, OVN's option first, then `extra`
 * options; C bit set (OVN's option type is critical); Ethernet payload.
 */
export function ovnGeneveRepr(keys: OvnTunnelKeys, extra: GeneveOption[] = []): GeneveRepr {
  return geneveRepr(ovnDatapathVni(keys.datapath), [ovnGeneveOption(keys.ingress, keys.egress), ...extra]);
}

/** OVN's keys from a parsed header, or undefined when the option is absent or invalid. */
export function ovnKeysOf(r: GeneveRepr): OvnTunnelKeys | undefined {
  const o = r.options.find((x) => x.optClass === OVN_GENEVE_CLASS && x.type === OVN_GENEVE_TYPE);
  if (!o || o.data.length !== OVN_GENEVE_LEN || (o.data[0]! & 0x80) !== 0) return undefined;
  const packed = u32(o.data, 0);
  return { datapath: r.vni, ingress: ovnIngressKey(packed), egress: ovnEgressKey(packed) };
}

/** Text form, as `ovn-trace` names the keys: `datapath=5,inport=1,outport=2`. */
export function formatOvnKeys(k: OvnTunnelKeys): string {
  return `datapath=${k.datapath},inport=${k.ingress},outport=${k.egress}`;
}
