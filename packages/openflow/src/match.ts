/**
 * A match: a value key and a mask key of the same shape (`FlowKey.w`), kept normalised so that
 * `value & ~mask == 0`. Setting a field overwrites that field's bits, as OVS's `match_set_*` do.
 * `normalize()` clears fields whose protocol the match does not pin down, the way OVS's
 * `ofputil_normalize_match()` does (so `tp_dst=80` without `tcp` matches everything), and
 * `checkMatchPrereqs()` raises `OFPBMC_BAD_PREREQ` for what normalisation keeps but OVS refuses.
 */
import { OpenFlowError } from './errors.js';
import {
  ETH_TYPE_ARP, ETH_TYPE_IP, ETH_TYPE_IPV6, ETH_TYPE_RARP, FRAG_LATER, isEthTypeMpls, Prereq, VLAN_CFI, type MatchField, type Subfield,
} from './fields.js';
import { KEY_WORDS, W, fieldOnes, getFieldBig, setFieldBig, type FieldStorage } from './flowkey.js';

/** A value and a mask over the flow key. */
export class Match {
  /** Field values (zero where the mask is zero). */
  readonly value: Uint32Array;
  /** Field masks: a 1 bit must equal the packet's bit. */
  readonly mask: Uint32Array;

  constructor(value?: Uint32Array, mask?: Uint32Array) {
    if (value === undefined && mask === undefined) {
      // One buffer for both keys: a switch holds a Match per flow, and each ArrayBuffer costs a
      // heap object, its backing-store record and a malloc block on top of its bytes.
      const buf = new ArrayBuffer(KEY_WORDS * 8);
      this.value = new Uint32Array(buf, 0, KEY_WORDS);
      this.mask = new Uint32Array(buf, KEY_WORDS * 4, KEY_WORDS);
      return;
    }
    this.value = value ?? new Uint32Array(KEY_WORDS);
    this.mask = mask ?? new Uint32Array(KEY_WORDS);
  }

  /** A deep copy. */
  clone(): Match {
    const m = new Match();
    m.value.set(this.value);
    m.mask.set(this.mask);
    return m;
  }

  /** True when both matches have the same value and mask. */
  equals(o: Match): boolean {
    for (let i = 0; i < KEY_WORDS; i++) if (this.value[i] !== o.value[i] || this.mask[i] !== o.mask[i]) return false;
    return true;
  }

  /** True when nothing is matched (the catch-all). */
  isCatchAll(): boolean {
    for (let i = 0; i < KEY_WORDS; i++) if (this.mask[i] !== 0) return false;
    return true;
  }

  /**
   * Match `f` against `value` under `mask` (all ones when omitted). Bits outside the field's
   * width are dropped; the field's forced bits (the VLAN CFI for `dl_vlan`) are added.
   */
  set(f: MatchField, value: bigint, mask: bigint = fieldOnes(f)): this {
    if (f.nwords === 1) {
      const mm = mask === fieldOnes(f) ? f.vmask : Number(mask & 0xffff_ffffn) & f.vmask;
      const m = (mm << f.shift) >>> 0;
      const v = ((Number(value & 0xffff_ffffn) & f.vmask) << f.shift) >>> 0;
      const fm = (f.vmask << f.shift) >>> 0;
      const force = f.forceBits;
      this.mask[f.word] = ((this.mask[f.word]! & ~fm) | m | force) >>> 0;
      this.value[f.word] = (((this.value[f.word]! & ~fm) | (v & m) | force) & this.mask[f.word]!) >>> 0;
      return this;
    }
    setFieldBig(this.mask, f, mask);
    setFieldBig(this.value, f, value & mask);
    return this;
  }

  /** Stop matching `f` (its bits become wildcards). */
  clear(f: FieldStorage): this {
    if (f.nwords === 1) {
      const fm = (f.vmask << f.shift) >>> 0;
      this.mask[f.word] = (this.mask[f.word]! & ~fm) >>> 0;
      this.value[f.word] = (this.value[f.word]! & ~fm) >>> 0;
    } else {
      this.mask.fill(0, f.word, f.word + f.nwords);
      this.value.fill(0, f.word, f.word + f.nwords);
    }
    return this;
  }

  /** The field's matched value. */
  getValue(f: FieldStorage): bigint {
    return getFieldBig(this.value, f);
  }
  /** The field's mask. */
  getMask(f: FieldStorage): bigint {
    return getFieldBig(this.mask, f);
  }
  /** True when some bit of the field is matched. */
  has(f: FieldStorage): boolean {
    if (f.nwords === 1) return ((this.mask[f.word]! >>> f.shift) & f.vmask) !== 0;
    for (let i = 0; i < f.nwords; i++) if (this.mask[f.word + i] !== 0) return true;
    return false;
  }
  /** True when a slot of `n` words at `word` has any mask bit. */
  hasWords(word: number, n = 1): boolean {
    for (let i = 0; i < n; i++) if (this.mask[word + i] !== 0) return true;
    return false;
  }

  /** Does a packet key satisfy this match? */
  matches(key: Uint32Array): boolean {
    for (let i = 0; i < KEY_WORDS; i++) if (((key[i]! & this.mask[i]!) >>> 0) !== this.value[i]) return false;
    return true;
  }

  /** The matched `eth_type`, or -1 when wildcarded. */
  get dlType(): number {
    return this.mask[W.dl_type] === 0xffff ? this.value[W.dl_type]! : -1;
  }
  /** The matched `ip_proto`, or -1 when wildcarded. */
  get nwProto(): number {
    return this.mask[W.nw_proto] === 0xff ? this.value[W.nw_proto]! : -1;
  }

  /**
   * Clear what OVS's `ofputil_normalize_match()` clears: L3 fields without an L3 `eth_type`,
   * L4 fields without a known `ip_proto`, ND fields without an ND type, ARP hardware addresses
   * outside ARP/ND. Returns true when something changed (OVS logs "normalization changed").
   */
  normalize(): boolean {
    const dl = this.value[W.dl_type]!;
    const proto = this.value[W.nw_proto]!;
    let nwAddr = false, tpAddr = false, nwProto = false, ipvx = false, arpSha = false, arpTha = false, ipv6 = false, ndTarget = false;
    if (dl === ETH_TYPE_IP) {
      nwProto = ipvx = nwAddr = true;
      tpAddr = proto === 6 || proto === 17 || proto === 132 || proto === 1;
    } else if (dl === ETH_TYPE_IPV6) {
      nwProto = ipvx = ipv6 = true;
      if (proto === 6 || proto === 17 || proto === 132) tpAddr = true;
      else if (proto === 58) {
        tpAddr = true;
        const type = this.value[W.tp_src]!;
        // OVS's encoder also leaves ND fields out unless icmp_code is 0.
        if (this.value[W.tp_dst] === 0 && type === 135) ndTarget = arpSha = true;
        else if (this.value[W.tp_dst] === 0 && type === 136) ndTarget = arpTha = true;
      }
    } else if (dl === ETH_TYPE_ARP || dl === ETH_TYPE_RARP) {
      nwProto = nwAddr = arpSha = arpTha = true;
    }
    let changed = false;
    const zero = (word: number, n: number): void => {
      for (let i = 0; i < n; i++) {
        if (this.mask[word + i] !== 0) changed = true;
        this.mask[word + i] = 0;
        this.value[word + i] = 0;
      }
    };
    if (!nwAddr) zero(W.nw_src, 2);
    if (!tpAddr) {
      zero(W.tp_src, 2);
      zero(W.tcp_flags, 1);
    }
    if (!nwProto) zero(W.nw_proto, 1);
    if (!ipvx) {
      zero(W.nw_tos, 1);
      zero(W.nw_ttl, 1);
      zero(W.nw_frag, 1);
    }
    if (!arpSha) zero(W.arp_sha, 2);
    if (!arpTha) zero(W.arp_tha, 2);
    if (!ipv6) {
      zero(W.ipv6_src, 8);
      zero(W.ipv6_label, 1);
    }
    if (!ndTarget) zero(W.nd_target, 4);
    // OXM carries the MPLS fields only for an MPLS eth_type (OVS nx_put_raw()).
    if (!isEthTypeMpls(dl)) zero(W.mpls_lse, 3);
    if (proto !== 6 || !tpAddr) zero(W.tcp_flags, 1);
    // OXM carries ICMP type and code as exact 8-bit fields: a matched tp_src/tp_dst becomes exact.
    if (tpAddr && ((dl === ETH_TYPE_IP && proto === 1) || (dl === ETH_TYPE_IPV6 && proto === 58))) {
      for (const w of [W.tp_src, W.tp_dst]) {
        if (this.mask[w] !== 0) {
          if (this.mask[w] !== 0xffff || this.value[w]! > 0xff) changed = true;
          this.mask[w] = 0xffff;
          this.value[w] = this.value[w]! & 0xff;
        }
      }
    }
    return changed;
  }
}

const CS_VALID_BITS = 0x01 | 0x02 | 0x04 | 0x08 | 0x40 | 0x80; // new est rel rpl snat dnat
const CS_TRACKED = 0x20;
const CS_INVALID = 0x10;

/** True when the match pins a valid connection-tracking state (OVS `is_ct_valid` on a match). */
export function isCtValid(m: Match): boolean {
  const st = m.value[W.ct_state]!;
  return (st & CS_VALID_BITS) !== 0 || ((st & CS_TRACKED) !== 0 && (m.mask[W.ct_state]! & CS_INVALID) !== 0 && (st & CS_INVALID) === 0);
}

/** Does the match satisfy a prerequisite (OVS `mf_are_prereqs_ok` over the match's values)? */
export function prereqOk(p: Prereq, m: Match): boolean {
  // Only ct validity reads the mask (a ct_state that pins -inv); everything else reads values.
  return p === Prereq.Ct ? isCtValid(m) : prereqOkKey(p, m.value);
}

/**
 * Raise the `OpenFlowError` OVS gives for a (normalised) match whose fields lack their
 * prerequisites: L4 fields together with `nw_frag=later`, and `ct_nw_*`/`ct_ipv6_*`/`ct_tp_*`
 * without a valid ct_state (`OFPBMC_BAD_PREREQ`) or without IP (`OFPBAC_MATCH_INCONSISTENT`,
 * which is what OVS 3.1 reports for that case).
 */
export function checkMatchPrereqs(m: Match): void {
  const dl = m.value[W.dl_type]!;
  const proto = m.value[W.nw_proto]!;
  if ((m.value[W.nw_frag]! & FRAG_LATER) !== 0 && (proto === 6 || proto === 17 || proto === 132)) {
    if (m.hasWords(W.tp_src, 2) || m.hasWords(W.tcp_flags)) {
      throw new OpenFlowError('OFPBMC_BAD_PREREQ', 'L4 ports cannot be matched in later fragments');
    }
  }
  if ((m.mask[W.vlan_tci]! & 0xe000) !== 0 && (m.value[W.vlan_tci]! & VLAN_CFI) === 0) {
    throw new OpenFlowError('OFPBMC_BAD_PREREQ', 'vlan_pcp needs a VLAN header (vlan_vid with OFPVID_PRESENT)');
  }
  const ct4 = m.hasWords(W.ct_nw_src, 2);
  const ct6 = m.hasWords(W.ct_ipv6_src, 8);
  const ctl4 = m.hasWords(W.ct_nw_proto, 3);
  if (ct4 || ct6 || ctl4) {
    if (!isCtValid(m)) throw new OpenFlowError('OFPBMC_BAD_PREREQ', 'ct_nw_*/ct_ipv6_*/ct_tp_* need a valid ct_state match');
    if ((ct4 && dl !== ETH_TYPE_IP) || (ct6 && dl !== ETH_TYPE_IPV6) || (ctl4 && dl !== ETH_TYPE_IP && dl !== ETH_TYPE_IPV6)) {
      throw new OpenFlowError('OFPBAC_MATCH_INCONSISTENT', 'original-direction ct fields need an IPv4/IPv6 match');
    }
  }
}

/** OVS `mf_are_prereqs_ok` over a packet's key. */
export function prereqOkKey(p: Prereq, w: Uint32Array): boolean {
  const dl = w[W.dl_type]!;
  const proto = w[W.nw_proto]!;
  const ipAny = dl === ETH_TYPE_IP || dl === ETH_TYPE_IPV6;
  const notLater = (w[W.nw_frag]! & FRAG_LATER) === 0;
  const icmp6 = dl === ETH_TYPE_IPV6 && proto === 58;
  const type = w[W.tp_src]!;
  const code = w[W.tp_dst]!;
  switch (p) {
    case Prereq.None:
    case Prereq.Ethernet:
      return true;
    case Prereq.VlanVid:
      return (w[W.vlan_tci]! & VLAN_CFI) !== 0;
    case Prereq.Arp:
      return dl === ETH_TYPE_ARP || dl === ETH_TYPE_RARP;
    case Prereq.Ipv4:
      return dl === ETH_TYPE_IP;
    case Prereq.Ipv6:
      return dl === ETH_TYPE_IPV6;
    case Prereq.IpAny:
      return ipAny;
    case Prereq.Mpls:
      return isEthTypeMpls(dl);
    case Prereq.Tcp:
      return ipAny && proto === 6 && notLater;
    case Prereq.Udp:
      return ipAny && proto === 17 && notLater;
    case Prereq.Sctp:
      return ipAny && proto === 132 && notLater;
    case Prereq.Icmpv4:
      return dl === ETH_TYPE_IP && proto === 1;
    case Prereq.Icmpv6:
      return icmp6;
    case Prereq.Nd:
      return icmp6 && code === 0 && (type === 135 || type === 136);
    case Prereq.NdSolicit:
      return icmp6 && code === 0 && type === 135;
    case Prereq.NdAdvert:
      return icmp6 && code === 0 && type === 136;
    case Prereq.Ct: {
      const st = w[W.ct_state]!;
      return (st & 0xcf) !== 0 || ((st & 0x20) !== 0 && (st & 0x10) === 0);
    }
  }
  return false;
}

/** Write `value` into a subfield of a match, keeping its other bits (OVS `mf_write_subfield` on a match). */
export function writeSubfieldMatch(m: Match, s: Subfield, value: bigint): void {
  const f = s.field;
  const mb = ((1n << BigInt(s.nBits)) - 1n) << BigInt(s.ofs);
  const v = (m.getValue(f) & ~mb) | ((value << BigInt(s.ofs)) & mb);
  const k = m.getMask(f) | mb;
  m.set(f, v & k, k);
}
