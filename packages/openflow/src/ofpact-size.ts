/**
 * The size OVS gives each parsed action in its internal form (`struct ofpact_*`, lib/ofp-actions.h
 * of OVS 3.1 on a 64-bit host), so the text parser can refuse an action list the way ovs-ofctl does:
 * after each action, OVS refuses a list whose internal form exceeds 65,535 bytes ("input too big";
 * `ofpacts_parse__()` in lib/ofp-actions.c, and `ofpbuf_oversized()` for a nested list).
 *
 * The size follows the keyword as written, not our normalised action: OVS keeps `mod_dl_src` as
 * `OFPACT_SET_ETH_SRC` (16 bytes) where we hold a `set_field` (32 bytes in OVS), `mod_vlan_vid` as
 * one `OFPACT_SET_VLAN_VID` where we may hold push_vlan plus set_field, and `enqueue` as one
 * `OFPACT_ENQUEUE` where we hold set_queue plus output. Every record is 8-byte aligned
 * (OFPACT_ALIGNTO). The figures were read off real ovs-ofctl 3.1 (`parse-flow` with N `exit`s of
 * 8 bytes before the action, the largest N it accepts) and are checked against it by
 * test/ofpact-size.test.ts.
 */
import type { Action, ControllerAction, CtActionSpec, LearnAction } from './actions.js';
import type { MatchField } from './fields.js';

/** The most bytes one action list may take in OVS's internal form. */
export const OFPACTS_MAX_BYTES = 65535;

const align8 = (n: number): number => (n + 7) & ~7;

/** OVS's `n_bytes` of a field (`tun_metadataN` is 124 bytes there, 128 bits in our table). */
function fieldBytes(f: MatchField): number {
  return /^tun_metadata\d+$/.test(f.name) ? 124 : Math.ceil(f.bits / 8);
}

/** `struct ofpact_set_field` with the value and the mask, each padded to 8 bytes. */
function setFieldBytes(f: MatchField): number {
  return 16 + 2 * align8(fieldBytes(f));
}

/** `controller` without any non-default option is an `OFPACT_OUTPUT` to CONTROLLER, as in OVS. */
function controllerBytes(a: ControllerAction): number {
  const plain = (a.reason === undefined || a.reason === 'action') && !a.id && !a.userdata && !a.pause && a.meterId === undefined;
  return plain ? 16 : 24 + align8(a.userdata?.length ?? 0);
}

function learnBytes(a: LearnAction): number {
  let n = 48;
  for (const s of a.specs) n += 40 + (s.kind !== 'output' && 'value' in s.src ? align8(Math.ceil(s.dst.nBits / 8)) : 0);
  return n;
}

function ctBytes(a: CtActionSpec): number {
  return 32 + listBytesOf(a.exec) + (a.nat ? 48 : 0);
}

/** Sizes recorded by the parser for the lists it built (nested lists: clone, ct exec, write_actions). */
const LIST_BYTES = new WeakMap<readonly Action[], number>();

/** Record the internal size of a parsed action list. */
export function recordListBytes(list: readonly Action[], bytes: number): void {
  LIST_BYTES.set(list, bytes);
}

/** The internal size of a nested list: as recorded when it was parsed, else from its typed actions. */
export function listBytesOf(list: readonly Action[]): number {
  const known = LIST_BYTES.get(list);
  if (known !== undefined) return known;
  let n = 0;
  for (const a of list) n += typedBytes(a);
  return n;
}

/** The internal size of a typed action as if written in its canonical (dump-flows) form. */
function typedBytes(a: Action): number {
  switch (a.type) {
    case 'output':
    case 'resubmit':
    case 'meter':
    case 'conjunction':
      return 16;
    case 'output_reg':
    case 'stack_push':
    case 'stack_pop':
      return 24;
    case 'controller':
      return controllerBytes(a);
    case 'set_field':
      return setFieldBytes(a.field);
    case 'move':
    case 'multipath':
      return 40;
    case 'dec_ttl':
      return align8(8 + 2 * (a.ids?.length || 1));
    case 'note':
      return 16 + align8(a.data.length);
    case 'ct':
      return ctBytes(a);
    case 'learn':
      return learnBytes(a);
    case 'clone':
      return 8 + listBytesOf(a.actions);
    case 'check_pkt_larger':
    case 'sample':
      return 32;
    case 'bundle':
      return align8(40 + 4 * a.members.length);
    default:
      // ofpact_null, ofpact_group, ofpact_queue, ofpact_ip_ttl, ofpact_l4_port, ofpact_push_vlan,
      // ofpact_fin_timeout, ofpact_push_mpls/pop_mpls and the other set_mpls_*: 8 bytes.
      return 8;
  }
}

/** Keywords whose OVS form is not our parsed action's (see the module comment). */
const KEYWORD_BYTES: ReadonlyMap<string, number> = new Map([
  ['mod_dl_src', 16], ['mod_dl_dst', 16],
  ['mod_nw_src', 8], ['mod_nw_dst', 8], ['mod_nw_tos', 8], ['mod_nw_ecn', 8],
  ['mod_vlan_vid', 8], ['mod_vlan_pcp', 8], ['mod_tp_src', 8], ['mod_tp_dst', 8],
  ['set_tunnel', 16], ['set_tunnel64', 16],
  ['enqueue', 16],
  ['set_mpls_label', 8], ['set_mpls_tc', 8],
]);

/**
 * The internal size OVS gives what one action token parsed to: `keyword` as written (lower case,
 * empty for a bare port), `arg` its argument text, `parsed` what our parser made of it.
 */
export function tokenBytes(keyword: string, arg: string | undefined, parsed: readonly Action[]): number {
  const k = KEYWORD_BYTES.get(keyword);
  if (k !== undefined) return k;
  // OVS keeps a note's bytes as written; our parsed note is already padded for the wire.
  if (keyword === 'note') return 16 + align8((arg ?? '').replace(/\./g, '').trim().length >> 1);
  let n = 0;
  for (const a of parsed) n += typedBytes(a);
  return n;
}
