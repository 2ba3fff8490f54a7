/**
 * The logical action parser and formatter: every action string real ovn-northd 23.03 wrote in
 * the northd fixtures parses, formats back to text that parses to the same thing, and the
 * canonical form matches OVN's `ovnacts_format` on hand-checked examples; errors carry OVN's
 * messages and prerequisites are OVN's.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { repoRoot } from '@ovnts/testkit';
import { ActionError, formatActions, parseActions, parseLflowList } from '@ovnts/ovn';

const northd = join(repoRoot, 'fixtures', 'northd');
const real = readdirSync(northd)
  .filter((f) => f.endsWith('.lflows.txt'))
  .flatMap((f) => parseLflowList(readFileSync(join(northd, f), 'utf8')));

describe('actions of real ovn-northd flows', () => {
  // ovn-northd copies unquoted DHCP string options into the actions; OVN's own action parser
  // (ovn-controller, ovn-trace) rejects those flows in the same way.
  const rejectedByOvn = /^Syntax error at `(myhost|ovn\.org)' expecting constant\.$/;
  test('all parse (except those OVN rejects too), and formatting is a fixed point', () => {
    expect(real.length).toBeGreaterThan(1000);
    const seen = new Set<string>();
    for (const f of real) {
      const key = `${f.pipeline}|${f.table}|${f.actions}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const ctx = { pipeline: f.pipeline, table: f.table };
      let parsed;
      try {
        parsed = parseActions(f.actions, ctx);
      } catch (e) {
        expect((e as Error).message, f.actions).toMatch(rejectedByOvn);
        continue;
      }
      const text = formatActions(parsed.actions);
      expect(formatActions(parseActions(text, ctx).actions), f.actions).toBe(text);
    }
  });
});

describe('canonical formatting (OVN ovnacts_format)', () => {
  test.each([
    ['drop;', 'drop;'],
    ['next;', 'next;'],
    ['next(5);', 'next(5);'],
    ['next(pipeline=egress, table=0);', 'next(pipeline=egress, table=0);'],
    ['next(pipeline=ingress,table=1);', 'next;'],
    ['outport="p1";output;', 'outport = "p1"; output;'],
    ['eth.dst<->eth.src;ip4.dst=ip4.src;', 'eth.dst <-> eth.src; ip4.dst = ip4.src;'],
    ['reg1 = 10.0.0.1; xreg0[0..47] = 00:00:00:00:ff:01; reg0[3] = 0x1;', 'reg1 = 10.0.0.1; xreg0[0..47] = 00:00:00:00:ff:01; reg0[3] = 0x1;'],
    ['ip.ttl--;', 'ip.ttl--;'],
    ['ct_lb_mark(backends=10.0.0.2:80,10.0.0.3:80; hash_fields="ip_src,ip_dst");', 'ct_lb_mark(backends=10.0.0.2:80,10.0.0.3:80; hash_fields="ip_src,ip_dst");'],
    ['ct_lb_mark(backends=[fd00::2]:80, fd00::3);', 'ct_lb_mark(backends=[fd00::2]:80,fd00::3);'],
    ['ct_commit { ct_mark.blocked = 0; };', 'ct_commit { ct_mark.blocked = 0; };'],
    ['ct_commit;', 'ct_commit;'],
    ['ct_dnat(10.0.0.5, 100-200);', 'ct_dnat(10.0.0.5,100-200);'],
    ['ct_snat(fd00::00:5);', 'ct_snat(fd00::5);'],
    ['arp { eth.dst = ff:ff:ff:ff:ff:ff; arp.op = 1; output; };', 'arp { eth.dst = ff:ff:ff:ff:ff:ff; arp.op = 1; output; };'],
    ['log(verdict=drop, name="a", severity=alert, meter="m");', 'log(name="a", verdict=drop, severity=alert, meter="m");'],
    ['reg0[3] = put_dhcp_opts(offerip = 10.0.0.2, router = 10.0.0.1, hostname = "h", lease_time = 3600);', 'reg0[3] = put_dhcp_opts(offerip = 10.0.0.2, router = 10.0.0.1, hostname = "h", lease_time = 3600);'],
    ['reg8[0..15] = select(1, 2=50);', 'reg8[0..15] = select(1=100, 2=50);'],
    ['reg9[2] = lookup_arp(inport, arp.spa, arp.sha);', 'reg9[2] = lookup_arp(inport, arp.spa, arp.sha);'],
    ['get_arp(outport, reg0);', 'get_arp(outport, reg0);'],
    ['icmp4.frag_mtu = 1442;', 'icmp4.frag_mtu = 1442;'],
    ['ct_commit(ct_mark=0x2/0x2);', 'ct_commit(ct_mark=0x2/0x2);'],
  ])('%s', (input, output) => {
    expect(formatActions(parseActions(input).actions)).toBe(output);
  });
});

describe('prerequisites', () => {
  test.each([
    ['ct_next;', ['ip']],
    ['ip.ttl--;', ['ip']],
    ['arp { output; };', ['ip4']],
    ['nd_na { output; };', ['nd_ns']],
    ['clone { ip4.dst = 1.2.3.4; };', ['ip4']],
    ['eth.dst = 00:00:00:00:00:01;', []],
    ['arp.tha = arp.sha;', ['arp', 'arp']],
    ['nd.tll = eth.src;', ['nd_na']],
  ])('%s', (input, prereqs) => {
    expect(parseActions(input).prereqs).toEqual(prereqs);
  });
});

describe('errors (OVN messages)', () => {
  test.each([
    ['foo;', "Syntax error at `foo' expecting action."],
    ['next', "Syntax error at end of input expecting `;'."],
    ['ip4.src = 10.0.0.1;;', "Syntax error at `;'."],
    ['reg0 = 0x100000000;', '33-bit constant is not compatible with 32-bit field reg0.'],
    ['ip4.src = "x";', 'Integer field ip4.src is not compatible with string constant.'],
    ['outport = 5;', 'String field outport is not compatible with integer constant.'],
    ['ct_mark = 1;', 'Field ct_mark is not modifiable.'],
    ['ct_state = 1;', 'Field ct_state is not modifiable.'],
    ['ip4 = 1;', 'Predicate symbol ip4 used where lvalue required.'],
    ['reg0 = eth.src;', "Can't assign 48-bit value to 32-bit destination."],
    ['outport = reg0;', "Can't assign integer field (reg0) to string field (outport)."],
    ['eth.src <-> ip4.src;', "Can't exchange 48-bit field with 32-bit field."],
    ['reg0 = check_in_port_sec();', 'Cannot use 32-bit field reg0[0..31] where 1-bit field is required.'],
    ['reg0[1] = put_dhcp_opts(router = 10.0.0.1);', 'put_dhcp_opts requires offerip to be specified.'],
    ['reg0[1] = put_dhcp_opts(offerip = 10.0.0.1, nosuch = 1);', "Syntax error at `nosuch' expecting DHCPv4 option name."],
    ['reg0[1] = put_dhcp_opts(offerip = 10.0.0.1, hostname = 1);', 'DHCPv4 option hostname requires string value.'],
    ['next(table=40);', '"next" action cannot advance beyond table 28.'],
    ['log(name="x");', "Syntax error at `;' expecting verdict."],
    ['drop; next;', "Syntax error at `next' expecting end of input."],
  ])('%s', (input, message) => {
    let err: unknown;
    try {
      parseActions(input);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ActionError);
    expect((err as ActionError).message).toBe(message);
  });
});
