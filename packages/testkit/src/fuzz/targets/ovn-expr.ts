/**
 * OVN match expressions: drawn from a small grammar over OVN's logical symbols (comparisons with
 * masks, prefixes, sets, address sets and port groups, `!`, `&&`, `||`, parentheses), mutated at
 * the character level; parsed, formatted, normalised and compiled to OpenFlow matches (with
 * conjunctive flows) as ovn-controller would.
 */
import { compileExpr, exprToOpenFlow, formatExpr, formatExprMatches, parseExprText } from '@ovnts/ovn';
import type { Rng } from '../../corpus.js';
import { defineTextTarget } from '../harness.js';

const ctx = {
  addressSets: { as1: ['10.0.0.1', '10.0.0.0/24'], as6: ['fd00::1', 'fe80::/10'], macs: ['00:00:00:00:00:01'] },
  portGroups: { pg1: ['lp1', 'lp2'], pg2: ['lp3'] },
};
const ports = new Map([['lp1', 1], ['lp2', 2], ['lp3', 3]]);

const PRED = ['ip4', 'ip6', 'tcp', 'udp', 'arp', 'icmp4', 'icmp6', 'eth.mcast', 'ip4.mcast', 'ip.is_frag', 'ct.est', 'ct.new', 'ct.rpl', 'ct.inv', 'flags.loopback', 'nd', 'vlan.present'];
type Field = [string, (r: Rng) => string];
const ip4 = (r: Rng): string => `${r.int(0, 255)}.${r.int(0, 255)}.${r.int(0, 3)}.${r.int(0, 255)}`;
const FIELDS: Field[] = [
  ['eth.src', () => '00:00:00:00:00:01'],
  ['eth.dst', (r) => (r.chance(0.5) ? 'ff:ff:ff:ff:ff:ff' : '01:00:00:00:00:00/01:00:00:00:00:00')],
  ['eth.type', () => '0x800'],
  ['vlan.vid', (r) => String(r.int(0, 4095))],
  ['ip4.src', (r) => (r.chance(0.5) ? ip4(r) : `${ip4(r)}/${r.int(0, 32)}`)],
  ['ip4.dst', (r) => (r.chance(0.3) ? '$as1' : ip4(r))],
  ['ip6.src', () => 'fd00::1'],
  ['ip6.dst', (r) => (r.chance(0.5) ? 'fe80::/10' : '$as6')],
  ['ip.proto', (r) => String(r.int(0, 255))],
  ['ip.ttl', (r) => String(r.int(0, 255))],
  ['tcp.dst', (r) => (r.chance(0.7) ? String(r.int(0, 65535)) : `{80, 443, ${r.int(1000, 2000)}}`)],
  ['tcp.src', (r) => `${r.int(0, 65535)}/0xfff0`],
  ['udp.dst', (r) => String(r.int(0, 65535))],
  ['icmp4.type', (r) => String(r.int(0, 255))],
  ['arp.op', (r) => String(r.int(1, 2))],
  ['arp.tpa', ip4],
  ['nd.target', () => 'fe80::1'],
  ['inport', (r) => (r.chance(0.5) ? `"lp${r.int(1, 4)}"` : '@pg1')],
  ['outport', (r) => (r.chance(0.5) ? `"lp${r.int(1, 4)}"` : '@pg2')],
  ['reg0', (r) => String(r.u32())],
  ['reg0[0..7]', (r) => String(r.int(0, 255))],
  ['reg9[2]', (r) => String(r.int(0, 1))],
  ['xxreg0', () => '0x1'],
  ['ct_mark', (r) => String(r.int(0, 3))],
  ['ct_label[0]', (r) => String(r.int(0, 1))],
  ['ct.est', (r) => String(r.int(0, 1))],
];
const RELOPS = ['==', '!=', '<', '<=', '>', '>='];

function expr(r: Rng, depth: number): string {
  const k = depth > 3 ? r.int(0, 1) : r.int(0, 5);
  if (k === 0) return r.pick(PRED);
  if (k === 1) {
    const [f, v] = r.pick(FIELDS);
    return `${f} ${r.chance(0.8) ? r.pick(RELOPS.slice(0, 2)) : r.pick(RELOPS)} ${v(r)}`;
  }
  if (k === 2) return `!${r.chance(0.5) ? r.pick(PRED) : `(${expr(r, depth + 1)})`}`;
  if (k === 3) return `(${expr(r, depth + 1)})`;
  return `${expr(r, depth + 1)} ${k === 4 ? '&&' : '||'} ${expr(r, depth + 1)}`;
}

const DICT = ['&&', '||', '!', '==', '!=', '<=', '{', '}', '$as1', '$nosuch', '@pg1', '@nosuch', 'ip4.src', 'tcp.dst', 'inport', '[0..3]', '[99]', '/', '0x', '::', '"', '1', '65536', 'ip6', 'eth.src'];

export default defineTextTarget({
  name: 'ovn-expr',
  about: 'OVN match expressions through parse, format, normalise and OpenFlow compilation',
  draw: (r) => expr(r, 0),
  dict: DICT,
  maxLen: 600,
  run(text) {
    const parsed = formatExpr(parseExprText(text, ctx));
    const compiled = compileExpr(text, ctx);
    const flows = formatExprMatches(exprToOpenFlow(compiled, { ...ctx, portKeys: (n) => ports.get(n) }));
    return { parsed, normalized: formatExpr(compiled), flows };
  },
});
