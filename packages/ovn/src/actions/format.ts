/**
 * Formatting parsed logical actions back to text exactly as OVN 23.03's `ovnacts_format` does
 * (what `ovn-trace` prints for each action): canonical spacing, `next(pipeline=..., table=N)`
 * only when needed, constants in the format they were written in, IPv6 in `inet_ntop` form.
 */
import type { ConstantSet, IntConstant } from '../expr/check.js';
import { formatIpv4, formatIpv6Ntop } from '@ovnts/packet';
import { formatToken, jsonEscape, Tok, type Token } from '../expr/lex.js';
import type { FieldRef } from '../expr/parse.js';
import type { Action, GenOption } from './ast.js';

/** OVN's `expr_field_format`: `name`, `name[n]` or `name[a..b]`. */
export function formatField(f: FieldRef): string {
  const s = f.symbol;
  if (f.ofs || f.nBits !== s.width) {
    return f.nBits !== 1 ? `${s.name}[${f.ofs}..${f.ofs + f.nBits - 1}]` : `${s.name}[${f.ofs}]`;
  }
  return s.name;
}

/** OVN's `expr_constant_format` for one integer or string constant. */
export function formatConstant(c: IntConstant | string): string {
  if (typeof c === 'string') return jsonEscape(c);
  const t: Token = c.mask !== undefined
    ? { type: Tok.MaskedInteger, s: '', value: c.value, mask: c.mask, format: c.format }
    : { type: Tok.Integer, s: '', value: c.value, mask: 0n, format: c.format };
  return formatToken(t);
}

/** OVN's `expr_constant_set_format`. */
export function formatConstantSet(cs: ConstantSet): string {
  const curlies = cs.inCurlies || cs.values.length !== 1;
  const body = cs.values.map((v) => formatConstant(v)).join(', ');
  return curlies ? `{${body}}` : body;
}

function formatOptions(opts: readonly GenOption[]): string {
  return opts.map((o) => `${o.name} = ${formatConstantSet(o.value)}`).join(', ');
}

/** `ds_put_hex`: big-endian hex without leading zero bytes (`0` for zero). */
export function putHex(v: bigint): string {
  if (v === 0n) return '0';
  let h = v.toString(16);
  if (h.length % 2) h = `0${h}`;
  // The first byte is printed without zero padding.
  return `0x${h.startsWith('0') ? h.slice(1) : h}`;
}

/** One action as OVN formats it (with its trailing `;`). */
export function formatAction(a: Action): string {
  switch (a.type) {
    case 'output':
      return 'output;';
    case 'next':
      if (a.pipeline !== a.srcPipeline) return `next(pipeline=${a.pipeline}, table=${a.table});`;
      if (a.table !== a.srcTable + 1) return `next(${a.table});`;
      return 'next;';
    case 'load':
      return `${formatField(a.dst)} = ${formatConstant(a.imm)};`;
    case 'ovnfield-load':
      return `${a.dst.symbol.name} = ${a.value};`;
    case 'move':
      return `${formatField(a.lhs)} = ${formatField(a.rhs)};`;
    case 'exchange':
      return `${formatField(a.lhs)} <-> ${formatField(a.rhs)};`;
    case 'push':
      return `push(${formatField(a.field)});`;
    case 'pop':
      return `pop(${formatField(a.field)});`;
    case 'dec_ttl':
      return 'ip.ttl--;';
    case 'ct_next':
      return 'ct_next;';
    case 'ct_commit_v1': {
      let s = 'ct_commit(';
      if (a.ctMarkMask) {
        s += `ct_mark=${a.ctMark ? `0x${a.ctMark.toString(16)}` : '0'}`;
        if (a.ctMarkMask !== 0xffffffffn) s += `/0x${a.ctMarkMask.toString(16)}`;
      }
      if (a.ctLabelMask) {
        if (!s.endsWith('(')) s += ', ';
        s += `ct_label=${putHex(a.ctLabel ?? 0n)}`;
        if (a.ctLabelMask !== (1n << 128n) - 1n) s += `/${putHex(a.ctLabelMask)}`;
      }
      s = s.endsWith('(') ? s.slice(0, -1) : `${s})`;
      return `${s};`;
    }
    case 'nested':
      if (a.name === 'ct_commit' && !a.nested.length) return 'ct_commit;';
      return `${a.name} { ${formatActions(a.nested)} };`;
    case 'ct_nat': {
      let s: string = a.name;
      if (a.dst) s += `(${a.dst.family === 4 ? formatIpv4(a.dst.ip) : formatIpv6Ntop(a.dst.ip)})`;
      if (a.portRange) {
        if (s.endsWith(')')) s = s.slice(0, -1);
        s += `,${a.portRange.lo}`;
        if (a.portRange.hi) s += `-${a.portRange.hi}`;
        s += ')';
      }
      return `${s};`;
    }
    case 'ct_commit_nat':
      return 'ct_commit_nat;';
    case 'ct_lb': {
      let s = a.mark ? 'ct_lb_mark' : 'ct_lb';
      if (a.dsts.length) {
        s += '(backends=';
        s += a.dsts
          .map((d) => {
            if (d.family === 4) return `${formatIpv4(d.ip)}${d.port ? `:${d.port}` : ''}`;
            return d.port ? `[${formatIpv6Ntop(d.ip)}]:${d.port}` : formatIpv6Ntop(d.ip);
          })
          .join(',');
        if (a.hashFields !== undefined) s += `; hash_fields="${a.hashFields}"`;
        if (a.flag) s += `; ${a.flag}`;
        s += ')';
      }
      return `${s};`;
    }
    case 'select':
      return `${formatField(a.dst)} = select(${a.members.map((m) => `${m.id}=${m.weight}`).join(', ')});`;
    case 'ct_clear':
      return 'ct_clear;';
    case 'ct_snat_to_vip':
      return 'ct_snat_to_vip;';
    case 'igmp':
      return 'igmp;';
    case 'get_arp':
    case 'get_nd':
      return `${a.type}(${formatField(a.port)}, ${formatField(a.ip)});`;
    case 'put_arp':
    case 'put_nd':
      return `${a.type}(${formatField(a.port)}, ${formatField(a.ip)}, ${formatField(a.mac)});`;
    case 'lookup_arp':
    case 'lookup_nd':
      return `${formatField(a.dst)} = ${a.type}(${formatField(a.port)}, ${formatField(a.ip)}, ${formatField(a.mac)});`;
    case 'lookup_arp_ip':
    case 'lookup_nd_ip':
      return `${formatField(a.dst)} = ${a.type}(${formatField(a.port)}, ${formatField(a.ip)});`;
    case 'put_dhcp_opts':
    case 'put_dhcpv6_opts':
    case 'put_nd_ra_opts':
      return `${formatField(a.dst)} = ${a.type}(${formatOptions(a.options)});`;
    case 'result':
      return `${formatField(a.dst)} = ${a.name}();`;
    case 'check_pkt_larger':
      return `${formatField(a.dst)} = check_pkt_larger(${a.len});`;
    case 'log': {
      let s = 'log(';
      if (a.name !== undefined) s += `name="${a.name}", `;
      s += `verdict=${a.verdict}, severity=${a.severity}`;
      if (a.meter !== undefined) s += `, meter="${a.meter}"`;
      return `${s});`;
    }
    case 'set_meter':
      return a.burst ? `set_meter(${a.rate}, ${a.burst});` : `set_meter(${a.rate});`;
    case 'set_queue':
      return `set_queue(${a.queue});`;
    case 'trigger_event':
      return `trigger_event(event = "${a.event}"${a.options.map((o) => `, ${o.name} = ${formatConstantSet(o.value)}`).join('')});`;
    case 'bind_vport':
      return `bind_vport("${a.vport}", ${formatField(a.port)});`;
    case 'handle_svc_check':
      return `handle_svc_check(${formatField(a.port)});`;
    case 'fwd_group': {
      let s = 'fwd_group(';
      if (a.liveness) s += 'liveness="true", ';
      if (a.ports.length) s += `childports=${a.ports.map((p) => `"${p}"`).join(', ')}`;
      return `${s});`;
    }
    case 'handle_dhcpv6_reply':
      return 'handle_dhcpv6_reply;';
    case 'handle_bfd_msg':
      return 'handle_bfd_msg();';
    case 'put_fdb':
      return `put_fdb(${formatField(a.port)}, ${formatField(a.mac)});`;
    case 'get_fdb':
      return `${formatField(a.dst)} = get_fdb(${formatField(a.mac)});`;
    case 'lookup_fdb':
      return `${formatField(a.dst)} = lookup_fdb(${formatField(a.port)}, ${formatField(a.mac)});`;
    case 'commit_ecmp_nh':
      return `commit_ecmp_nh(ipv6 = ${a.ipv6}, proto = ${a.proto});`;
    case 'commit_lb_aff':
    case 'sample':
      return a.text;
  }
}

/** OVN's `ovnacts_format`: the actions joined by spaces, or `drop;` when there are none. */
export function formatActions(actions: readonly Action[]): string {
  return actions.length ? actions.map(formatAction).join(' ') : 'drop;';
}
