import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  OpenFlowError, TextParseError, W, checkFlow, field, fieldByName, fieldBySubfieldName, formatFlow, formatGroup, formatInstructions, formatMatch,
  parseFlow, parseFlowsFile, parseGroup, parseMatch, type Flow,
} from '@ovnts/openflow';

function roundTrip(text: string): string {
  return formatFlow(parseFlow(text));
}

function expectSame(a: Flow, b: Flow): void {
  expect(b.match.equals(a.match)).toBe(true);
  expect({ ...b, match: null }).toEqual({ ...a, match: null });
}

describe('field table', () => {
  it('knows OVS names, aliases and NXM/OXM names', () => {
    expect(fieldByName('dl_src')).toBe(field('eth_src'));
    expect(fieldByName('tp_dst')).toBe(field('tcp_dst'));
    expect(fieldBySubfieldName('NXM_OF_ETH_SRC')).toBe(field('eth_src'));
    expect(fieldBySubfieldName('OXM_OF_IPV4_SRC')).toBe(field('ip_src'));
    expect(field('ip_src').oxm).toEqual({ name: 'OXM_OF_IPV4_SRC', cls: 0x8000, code: 11 });
    expect(field('reg5').nxm).toEqual({ name: 'NXM_NX_REG5', cls: 1, code: 5 });
    expect(field('xxreg1').word).toBe(W.regs + 4);
    expect(field('eth_type').writable).toBe(false);
    expect(field('nw_proto').maskable).toBe(false);
  });
});

describe('flow text', () => {
  it.each([
    ['priority=5,in_port=1,dl_src=00:11:22:33:44:55/ff:ff:ff:00:00:00,actions=mod_dl_dst:11:22:33:44:55:66,output:2',
      'priority=5,in_port=1,dl_src=00:11:22:00:00:00/ff:ff:ff:00:00:00 actions=set_field:11:22:33:44:55:66->eth_dst,output:2'],
    ['tcp,tp_dst=80,actions=output:1', 'tcp,tp_dst=80 actions=output:1'],
    ['tp_dst=80,actions=drop', 'actions=drop'],
    ['table=2,cookie=0x10,idle_timeout=5,tcp6,tcp_flags=+syn-ack actions=ct(commit,zone=3),resubmit(,3)',
      'table=2,cookie=0x10,idle_timeout=5,tcp6,tcp_flags=+syn-ack actions=ct(commit,zone=3),resubmit(,3)'],
    ['arp,arp_op=1,arp_spa=1.2.3.4,actions=load:0x1->NXM_NX_REG0[3..4],move:NXM_OF_ETH_SRC[]->NXM_OF_ETH_DST[]',
      'arp,arp_spa=1.2.3.4,arp_op=1 actions=set_field:0x8/0x18->reg0,move:NXM_OF_ETH_SRC[]->NXM_OF_ETH_DST[]'],
    ['actions=clear_actions,write_actions(output:1),write_metadata:0x1/0x1,goto_table:3',
      'actions=clear_actions,write_actions(output:1),write_metadata:0x1/0x1,goto_table:3'],
  ])('%s', (input, expected) => {
    expect(roundTrip(input)).toBe(expected);
  });

  it('parses and prints the dump-flows form', () => {
    const line = ' cookie=0x5, duration=12.034s, table=1, n_packets=3, n_bytes=180, idle_timeout=10, priority=100,ip,nw_dst=10.0.0.0/8 actions=dec_ttl,output:2';
    const f = parseFlow(line);
    expect(f.table).toBe(1);
    expect(f.cookie).toBe(5n);
    expect(f.stats).toEqual({ durationMs: 12034, nPackets: 3n, nBytes: 180n });
    expect(formatFlow(f)).toBe(line);
    expect(formatFlow(parseFlow('actions=NORMAL'), { dump: true })).toBe(' cookie=0x0, duration=0.000s, table=0, n_packets=0, n_bytes=0, actions=NORMAL');
  });

  it('reads add-flows files with comments and blank lines, naming the line of an error', () => {
    const flows = parseFlowsFile('# a comment\n\npriority=1,actions=drop\n  in_port=2 actions=output:1  # trailing\n');
    expect(flows.map((f) => f.line)).toEqual([3, 4]);
    expect(formatFlow(flows[1]!.flow)).toBe('in_port=2 actions=output:1');
    try {
      parseFlowsFile('actions=drop\nfoo=1,actions=drop\n');
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(TextParseError);
      expect((e as TextParseError).line).toBe(2);
      expect((e as TextParseError).position).toBe(0);
      expect((e as TextParseError).message).toContain('unknown keyword foo');
    }
  });

  it('reports the column and what was expected', () => {
    const cases: Array<[string, number, string]> = [
      ['ip,nw_src=1.2.3.4.5,actions=drop', 10, 'invalid IP address'],
      ['tcp,tp_dst=70000,actions=drop', 11, 'value too large for 2-byte field tcp_dst'],
      ['in_port=1', 9, 'must specify an action'],
      ['actions=output:1,bogus:3', 17, 'unknown action bogus'],
      ['actions=move:NXM_NX_REG0[0..3]->NXM_NX_REG1[4..8]', 8, 'source field is 4 bits wide but destination is 5 bits wide'],
      ['actions=output:1,drop', 17, '"drop" must not be accompanied'],
      ['actions=goto_table:1,clear_actions', 21, 'invalid instruction ordering: clear_actions must appear before goto_table'],
      ['nw_ttl=5/3,actions=drop', 7, 'does not support masking'],
    ];
    for (const [input, col, what] of cases) {
      try {
        parseFlow(input);
        expect.unreachable(input);
      } catch (e) {
        expect(e, input).toBeInstanceOf(TextParseError);
        const t = e as TextParseError;
        expect(t.input).toBe(input);
        expect(t.expected, input).toContain(what);
        expect(t.position, input).toBe(col);
      }
    }
  });

  it('checkFlow raises the OpenFlow errors OVS gives', () => {
    const err = (text: string): string | undefined => {
      try {
        checkFlow(parseFlow(text));
        return undefined;
      } catch (e) {
        expect(e).toBeInstanceOf(OpenFlowError);
        return (e as OpenFlowError).errorName;
      }
    };
    expect(err('actions=strip_vlan')).toBe('OFPBAC_BAD_TAG');
    expect(err('dl_vlan=5,actions=strip_vlan')).toBeUndefined();
    expect(err('actions=push_vlan:0x8100,pop_vlan')).toBeUndefined();
    expect(err('actions=set_field:1.2.3.4->ip_src')).toBe('OFPBAC_MATCH_INCONSISTENT');
    expect(err('actions=dec_ttl')).toBe('OFPBAC_MATCH_INCONSISTENT');
    expect(err('actions=ct(commit)')).toBe('OFPBAC_MATCH_INCONSISTENT');
    expect(err('tcp,nw_frag=later,tp_dst=80,actions=drop')).toBe('OFPBMC_BAD_PREREQ');
    expect(err('ip,ct_state=-trk,ct_nw_src=1.2.3.4,actions=drop')).toBe('OFPBMC_BAD_PREREQ');
    expect(err('table=3,actions=goto_table:2')).toBe('OFPBIC_BAD_TABLE_ID');
    // ovs-ofctl rejects the value while parsing, before it checks the match.
    expect(err('actions=set_field:64->ip_dscp')).toBe('OFPBAC_BAD_SET_ARGUMENT');
    expect(err('ip,actions=set_field:64->ip_dscp')).toBe('OFPBAC_BAD_SET_ARGUMENT');
    expect(err('tcp,actions=set_field:1->ct_mark')).toBe('OFPBAC_BAD_SET_ARGUMENT');
  });

  it('checkFlow follows OVS ofpacts_check: write_actions, VLAN depth, output ports, set_field masks', () => {
    const err = (text: string): string | undefined => {
      try {
        checkFlow(parseFlow(text));
        return undefined;
      } catch (e) {
        if (e instanceof OpenFlowError) return e.errorName;
        if (e instanceof TextParseError) return 'TEXT';
        throw e;
      }
    };
    // Inside write_actions, "OpenFlow 1.0 only" inconsistencies do not count (OVS check_WRITE_ACTIONS).
    expect(err('actions=write_actions(pop_vlan,output:1)')).toBeUndefined();
    expect(err('actions=write_actions(strip_vlan,dec_ttl,mod_nw_ttl:3,output:1)')).toBeUndefined();
    expect(err('actions=write_actions(mod_nw_src:1.2.3.4,output:1)')).toBe('OFPBAC_MATCH_INCONSISTENT');
    // write_actions is checked against the match as the apply actions left it.
    expect(err('actions=push_vlan:0x8100,write_actions(set_field:4101->vlan_vid,output:4)')).toBeUndefined();
    expect(err('dl_vlan=5,actions=pop_vlan,write_actions(set_field:4101->vlan_vid,output:1)')).toBe('OFPBAC_MATCH_INCONSISTENT');
    expect(formatInstructions(parseFlow('actions=mod_vlan_vid:5,write_actions(mod_vlan_vid:7)').instructions)).toBe(
      'push_vlan:0x8100,set_field:4101->vlan_vid,write_actions(set_field:4103->vlan_vid)',
    );
    // At most two VLAN headers; a pop brings the inner one back.
    expect(err('dl_vlan=5,actions=push_vlan:0x8100,push_vlan:0x8100,output:1')).toBe('OFPBAC_BAD_TAG');
    expect(err('actions=push_vlan:0x8100,push_vlan:0x88a8,write_actions(push_vlan:0x8100,output:1)')).toBe('OFPBAC_BAD_TAG');
    expect(err('actions=push_vlan:0x8100,push_vlan:0x88a8,pop_vlan,push_vlan:0x8100,output:1')).toBeUndefined();
    expect(err('dl_vlan=5,actions=push_vlan:0x8100,pop_vlan,pop_vlan,output:1')).toBeUndefined();
    expect(formatInstructions(parseFlow('dl_vlan=5,actions=push_vlan:0x8100,pop_vlan,mod_vlan_vid:7').instructions)).toBe(
      'push_vlan:0x8100,pop_vlan,set_field:4103->vlan_vid',
    );
    // An error OVS returns wins over one it only records as "OpenFlow 1.0 only".
    expect(err('actions=pop_vlan,set_field:4101->vlan_vid')).toBe('OFPBAC_MATCH_INCONSISTENT');
    expect(err('table=1,actions=pop_vlan,goto_table:0')).toBe('OFPBIC_BAD_TABLE_ID');
    expect(err('actions=dec_ttl,push_vlan:0x8100,push_vlan:0x8100,push_vlan:0x8100')).toBe('OFPBAC_BAD_TAG');
    // Output ports: parsed as OVS does, refused by the check.
    expect(err('actions=output:NONE')).toBe('OFPBAC_BAD_OUT_PORT');
    expect(err('actions=output:65280')).toBe('OFPBAC_BAD_OUT_PORT');
    expect(err('actions=output:4294967040')).toBe('OFPBAC_BAD_OUT_PORT');
    expect(err('actions=output:UNSET')).toBe('OFPBAC_BAD_OUT_PORT');
    expect(formatInstructions(parseFlow('actions=output:4294967290,output(2),output:CONTROLLER').instructions)).toBe('NORMAL,output:2,CONTROLLER:65535');
    expect(err('actions=output(port=2)')).toBe('TEXT');
    expect(err('actions=output(port=2,max_len=10)')).toBe('TEXT');
    expect(err('actions=output(port=CONTROLLER,max_len=100)')).toBe('TEXT');
    expect(err('actions=output(port=NXM_NX_REG0[],max_len=100)')).toBe('TEXT');
    expect(formatInstructions(parseFlow('actions=output(max_len=70000,port=LOCAL)').instructions)).toBe('output(port=LOCAL,max_len=70000)');
    expect(formatMatch(parseFlow('in_port=NONE,actions=drop').match)).toBe('in_port=ANY');
    // The switch decodes set_field: no value bits outside the mask, OFPVID_PRESENT for vlan_vid.
    expect(err('actions=set_field:0x12/0x3->reg0,output:1')).toBe('OFPBMC_BAD_WILDCARDS');
    expect(err('actions=set_field:0x10/0x30->reg0,output:1')).toBeUndefined();
    expect(err('tcp,nw_frag=later,tp_dst=80,actions=set_field:0x12/0x3->reg0')).toBe('OFPBMC_BAD_PREREQ');
    expect(err('dl_vlan=5,actions=set_field:5->vlan_vid')).toBe('OFPBAC_BAD_SET_ARGUMENT');
    // Connection tracking.
    expect(err('ip,actions=resubmit(,1,ct)')).toBe('OFPBAC_MATCH_INCONSISTENT');
    expect(err('ct_state=+trk+new,actions=resubmit(,1,ct)')).toBeUndefined();
    expect(err('ct_state=+inv+trk,ip,actions=ct(commit)')).toBe('OFPBAC_MATCH_INCONSISTENT');
  });

  it('formats matches in OVS order', () => {
    expect(formatMatch(parseMatch('in_port=1,tcp,reg0=1,metadata=1,dl_src=00:00:00:00:00:01,tun_id=1,pkt_mark=1,conj_id=1,ct_mark=1'))).toBe(
      'pkt_mark=0x1,conj_id=1,ct_mark=0x1,tcp,reg0=0x1,tun_id=0x1,metadata=0x1,in_port=1,dl_src=00:00:00:00:00:01',
    );
    expect(formatMatch(parseMatch('icmp6,icmp_type=135,nd_target=fe80::1,nd_sll=00:00:00:00:00:02'))).toBe(
      'icmp6,icmp_type=135,nd_target=fe80::1,nd_sll=00:00:00:00:00:02',
    );
  });
});

describe('groups', () => {
  it('parses and formats groups', () => {
    const g = parseGroup('group_id=1,type=select,bucket=weight:10,actions=output:1,bucket=bucket_id:7,actions=mod_dl_src:00:00:00:00:00:01,output:2');
    expect(g.groupId).toBe(1);
    expect(g.buckets).toHaveLength(2);
    expect(g.buckets[0]!.weight).toBe(10);
    expect(formatGroup(g)).toBe('group_id=1,type=select,bucket=weight:10,actions=output:1,bucket=bucket_id:7,actions=set_field:00:00:00:00:00:01->eth_src,output:2');
    expect(formatGroup(parseGroup(formatGroup(g)))).toBe(formatGroup(g));
    expect(formatGroup(parseGroup('group_id=5,type=all,bucket=output:1,bucket=output:2'))).toBe('group_id=5,type=all,bucket=actions=output:1,bucket=actions=output:2');
    expect(() => parseGroup('group_id=5,type=indirect,bucket=output:1,bucket=output:2')).toThrow(OpenFlowError);
    expect(() => parseGroup('group_id=5,type=bogus')).toThrow(TextParseError);
    // What the switch refuses when it decodes the buckets (never checked against a match).
    const gerr = (t: string): string | undefined => {
      try {
        parseGroup(t);
        return undefined;
      } catch (e) {
        return (e as OpenFlowError).errorName;
      }
    };
    expect(gerr('group_id=5,type=all,bucket=set_field:0x12/0x3->reg0,output:1')).toBe('OFPBMC_BAD_WILDCARDS');
    expect(gerr('group_id=5,type=all,bucket=output:NONE')).toBe('OFPBAC_BAD_OUT_PORT');
    expect(gerr('group_id=5,type=all,bucket=output:65280')).toBe('OFPBAC_BAD_OUT_PORT');
    expect(gerr('group_id=5,type=all,bucket=pop_vlan,dec_ttl,output:1')).toBeUndefined();
  });
});

// Random flows for the round-trip property.
const piece = fc.oneof(
  fc.constantFrom('ip', 'ipv6', 'tcp', 'udp', 'tcp6', 'udp6', 'icmp', 'icmp6', 'arp', 'sctp', 'rarp', 'mpls'),
  fc.integer({ min: 0, max: 0xfeff }).map((p) => `in_port=${p}`),
  fc.constantFrom('in_port=LOCAL', 'in_port=CONTROLLER'),
  fc.tuple(fc.integer({ min: 0, max: 65535 }), fc.integer({ min: 0, max: 65535 })).map(([v, m]) => `tp_src=${v}/${m}`),
  fc.tuple(fc.ipV4(), fc.integer({ min: 0, max: 32 })).map(([a, n]) => `nw_src=${a}/${n}`),
  fc.tuple(fc.ipV4(), fc.ipV4()).map(([a, m]) => `nw_dst=${a}/${m}`),
  fc.tuple(fc.ipV6(), fc.integer({ min: 0, max: 128 })).map(([a, n]) => `ipv6_src=${a}/${n}`),
  fc.integer({ min: 0, max: 4095 }).map((v) => `dl_vlan=${v}`),
  fc.tuple(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 0xffff })).map(([v, m]) => `vlan_tci=${v}/${m}`),
  fc.integer({ min: 0, max: 63 }).map((v) => `ip_dscp=${v}`),
  fc.integer({ min: 0, max: 3 }).map((v) => `ip_ecn=${v}`),
  fc.integer({ min: 0, max: 255 }).map((v) => `nw_ttl=${v}`),
  fc.integer({ min: 0, max: 255 }).map((v) => `icmp_type=${v}`),
  fc.constantFrom('nw_frag=no', 'nw_frag=yes', 'nw_frag=first', 'nw_frag=later', 'nw_frag=not_later'),
  fc.tuple(fc.integer({ min: 0, max: 0xfff }), fc.integer({ min: 0, max: 0xfff })).map(([v, m]) => `tcp_flags=${v}/${m}`),
  fc.tuple(fc.integer({ min: 0, max: 0xff }), fc.integer({ min: 0, max: 0xff })).map(([v, m]) => `ct_state=${v}/${m}`),
  fc.tuple(fc.integer({ min: 0, max: 15 }), fc.nat(), fc.nat()).map(([r, v, m]) => `reg${r}=${v}/${m}`),
  fc.tuple(fc.integer({ min: 0, max: 7 }), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n })).map(([r, v]) => `xreg${r}=${v}`),
  fc.tuple(fc.integer({ min: 0, max: 7 }), fc.bigInt({ min: 0n, max: (1n << 128n) - 1n })).map(([r, v]) => `tun_metadata${r}=0x${v.toString(16)}`),
  fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }).map((v) => `ct_label=0x${v.toString(16)}`),
  fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }).map((v) => `tun_id=${v}`),
  fc.integer({ min: 0, max: 2 ** 32 - 1 }).map((v) => `metadata=0x${v.toString(16)}/0xff00ff`),
  fc.integer({ min: 0, max: 2 ** 48 - 1 }).map((v) => `dl_dst=${v.toString(16).padStart(12, '0').replace(/(..)(?!$)/g, '$1:')}`),
  fc.constantFrom('dl_type=0x0800', 'dl_type=0x88cc', 'nw_proto=6', 'nw_proto=50', 'arp_op=2', 'nd_target=::1', 'icmp_code=0', 'ct_zone=7', 'ct_mark=5/7', 'pkt_mark=9', 'conj_id=3'),
);
const actions = fc.constantFrom(
  'drop', 'output:1', 'output:2,output:3', 'LOCAL', 'in_port', 'all', 'flood', 'normal', 'controller', 'controller(reason=no_match,max_len=128)',
  'strip_vlan', 'push_vlan:0x88a8', 'mod_vlan_vid:10', 'mod_vlan_pcp:3', 'dec_ttl', 'dec_ttl(1,2)', 'mod_nw_ttl:9',
  'set_field:5->reg0', 'set_field:0x5/0xf->reg1', 'load:1->NXM_NX_REG0[3]', 'load:0x12->OXM_OF_PKT_REG1[8..15]', 'resubmit(,5)', 'resubmit:3', 'resubmit(2,4,ct)',
  'group:7', 'meter:2,output:1', 'note:01.02.03', 'ct(commit,zone=NXM_NX_REG6[0..15],table=4,exec(set_field:1->ct_mark),nat(src=10.0.0.1-10.0.0.9:1000-2000,random))',
  'ct_clear', 'conjunction(9,2/3)', 'output:NXM_NX_REG1[0..15]', 'output(port=2,max_len=64)', 'mod_dl_src:00:00:00:00:00:01,output:4',
  'learn(table=3,idle_timeout=10,priority=7,NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[],NXM_NX_REG0[0..3]=0x5,load:NXM_OF_IN_PORT[]->NXM_NX_REG1[0..15],output:NXM_NX_REG2[0..15])',
  'write_actions(output:1),goto_table:9', 'clear_actions', 'write_metadata:0x10/0xf0', 'output:3,write_actions(set_field:1->reg2,group:4)',
);

describe('round trip', () => {
  it('parse(format(parse(x))) equals parse(x) for random flows, in both forms', () => {
    fc.assert(
      fc.property(
        fc.array(piece, { maxLength: 6 }),
        actions,
        fc.option(fc.integer({ min: 0, max: 65535 })),
        fc.option(fc.integer({ min: 0, max: 254 })),
        fc.option(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n })),
        (pieces, acts, prio, table, cookie) => {
          const head = [
            ...(table === null ? [] : [`table=${table}`]),
            ...(cookie === null ? [] : [`cookie=${cookie}`]),
            ...(prio === null ? [] : [`priority=${prio}`]),
            ...pieces,
          ];
          let f: Flow;
          try {
            f = parseFlow([...head, `actions=${acts}`].join(','));
          } catch (e) {
            if (e instanceof TextParseError) return; // e.g. the same field twice with clashing syntax
            throw e;
          }
          // OVS prints ct_tp_* only with ct_nw_proto; the generator never sets them.
          expectSame(f, parseFlow(formatFlow(f)));
          const dumped = parseFlow(formatFlow(f, { dump: true }));
          expectSame({ ...f, stats: { durationMs: 0, nPackets: 0n, nBytes: 0n } }, dumped);
        },
      ),
      { numRuns: 1000 },
    );
  });
});
