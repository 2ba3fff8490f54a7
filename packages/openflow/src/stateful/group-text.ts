/**
 * The parts of `ovs-ofctl add-group` syntax that ofctl-text.ts `parseGroup` does not read yet:
 * `selection_method=hash|dp_hash`, `selection_method_param=N` and `fields(name[=mask],...)` (also
 * `fields=name`), all OpenFlow 1.5 group properties of select groups. `parseGroupProps` strips them
 * from the text, parses the rest with `parseGroup`, and checks what OVS's `parse_ofp_group_mod_str`
 * checks (fields only with `selection_method=hash`, no all-zero masks, known fields, no duplicates).
 * Buckets of a select group without `weight` get OVS's default weight 1.
 */
import { parseUint, splitTopLevel } from '../actions.js';
import { TextParseError } from '../errors.js';
import { fieldByName, type MatchField } from '../fields.js';
import { fieldOnes } from '../flowkey.js';
import { parseFieldValue, parseGroup, type Group } from '../ofctl-text.js';
import { mffOrder } from './select.js';

/** One hash field of `selection_method=hash`: the field and the mask applied before hashing. */
export interface SelectField {
  /** The field (OVS name). */
  field: MatchField;
  /** Mask (all ones when the text gave none). */
  mask: bigint;
}

/** OpenFlow 1.5 group properties (OVS `ofputil_group_props`). */
export interface GroupProps {
  /** `''` (not given: OVS picks dp_hash or the default), `hash` or `dp_hash`. */
  selectionMethod: '' | 'hash' | 'dp_hash';
  /** `selection_method_param` (hash basis source; dp_hash: algorithm << 32 | basis). */
  selectionMethodParam: bigint;
  /** `fields(...)` for `selection_method=hash`, in the order given (OVS hashes them in field-id order). */
  fields: SelectField[];
}

/** A group with its properties. */
export interface GroupWithProps {
  /** The group as `parseGroup` reads it (select buckets get weight 1 when none was given). */
  group: Group;
  /** The select-group properties. */
  props: GroupProps;
}

/** Default (empty) group properties. */
export function defaultGroupProps(): GroupProps {
  return { selectionMethod: '', selectionMethodParam: 0n, fields: [] };
}

/** Parse `fields(...)`'s argument list. */
export function parseSelectFields(arg: string, input = arg, col = 0): SelectField[] {
  const out: SelectField[] = [];
  for (const { text, col: c } of splitTopLevel(arg, col)) {
    const t = text.trim();
    if (!t) continue;
    const i = t.indexOf('=');
    const name = i < 0 ? t : t.slice(0, i);
    const f = fieldByName(name);
    if (!f) throw new TextParseError(input, c, `${t}: unknown field ${name}`);
    if (out.some((x) => x.field === f)) throw new TextParseError(input, c, `${name}: duplicate field`);
    let mask = fieldOnes(f);
    if (i >= 0) {
      mask = parseFieldValue(f, t.slice(i + 1), input, c + i + 1).value;
      if (mask === 0n) throw new TextParseError(input, c, `${t}: values are wildcards here and must not be all-zeros`);
    }
    out.push({ field: f, mask });
  }
  return out;
}

/**
 * Parse a group with OpenFlow 1.5 select properties:
 * `group_id=1,type=select,selection_method=hash,fields(ip_src,tcp_dst),bucket=...`.
 */
export function parseGroupProps(text: string): GroupWithProps {
  const props = defaultGroupProps();
  const bi = text.search(/\bbucket=/);
  const head = bi < 0 ? text : text.slice(0, bi);
  const kept: string[] = [];
  let sawFields = false;
  for (const { text: tok, col } of splitTopLevel(head, 0, ', \t')) {
    const t = tok.trim();
    if (!t) continue;
    const m = /^(selection_method|selection_method_param|fields)\s*(?:=|(?=\())\s*([\s\S]*)$/.exec(t);
    if (!m) {
      kept.push(t);
      continue;
    }
    const v = m[2]!.trim();
    if (m[1] === 'selection_method') {
      if (v !== 'hash' && v !== 'dp_hash') throw new TextParseError(text, col, `selection method ${v} is not supported (expected hash or dp_hash)`);
      props.selectionMethod = v;
    } else if (m[1] === 'selection_method_param') {
      const p = parseUint(v);
      if (p === undefined || p > 0xffff_ffff_ffff_ffffn) throw new TextParseError(text, col, `invalid selection_method_param "${v}"`);
      props.selectionMethodParam = p;
    } else {
      const arg = v.startsWith('(') && v.endsWith(')') ? v.slice(1, -1) : v;
      props.fields = parseSelectFields(arg, text, col + t.indexOf(arg));
      sawFields = true;
    }
  }
  if (sawFields && props.selectionMethod !== 'hash') {
    throw new TextParseError(text, 0, 'fields may only be specified with "selection_method=hash"');
  }
  const rest = kept.join(',') + (bi < 0 ? '' : (kept.length ? ',' : '') + text.slice(bi));
  const group = parseGroup(rest);
  if (group.type === 'select') for (const b of group.buckets) if (b.weight === undefined) b.weight = 1;
  return { group, props };
}

/** Format the properties as `ovs-ofctl dump-groups` prints them after `type=select` (empty when none). */
export function formatGroupProps(p: GroupProps): string {
  let s = '';
  if (p.selectionMethod) s += `,selection_method=${p.selectionMethod}`;
  if (p.selectionMethodParam) s += `,selection_method_param=${p.selectionMethodParam}`;
  if (p.fields.length) {
    // OVS keeps the fields in a field array indexed by field id, so it prints them in that order.
    const sorted = [...p.fields].sort((a, b) => mffOrder(a.field) - mffOrder(b.field));
    s += `,fields(${sorted.map((f) => (f.mask === fieldOnes(f.field) ? f.field.name : `${f.field.name}=${fmtMask(f)}`)).join(',')})`;
  }
  return s;
}

function fmtMask(f: SelectField): string {
  const v = f.mask;
  if (f.field.format === 'ipv4') return [24, 16, 8, 0].map((s) => Number((v >> BigInt(s)) & 0xffn)).join('.');
  return '0x' + v.toString(16);
}
