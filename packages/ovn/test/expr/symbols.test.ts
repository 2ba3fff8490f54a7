import { describe, expect, it } from 'vitest';
import { fieldByName } from '@ovnts/openflow';
import { ExprError, OVS_FIELDS, formatSymbol, ovnSymtab, ovsField, parseFieldText, resolveField } from '@ovnts/ovn';

const dump = (prefix: RegExp) =>
  ovnSymtab()
    .all()
    .filter((s) => prefix.test(s.name))
    .map(formatSymbol)
    .sort()
    .join('\n');

describe('OVN symbol table', () => {
  // Expected text: OVN's "registers" and "conntrack fields" tests (ovstest test-ovn dump-symtab), 23.03.
  it('defines registers as subfields of the widest register', () => {
    expect(dump(/reg/)).toBe(
      [
        'reg0 = xxreg0[96..127]',
        'reg1 = xxreg0[64..95]',
        'reg2 = xxreg0[32..63]',
        'reg3 = xxreg0[0..31]',
        'reg4 = xxreg1[96..127]',
        'reg5 = xxreg1[64..95]',
        'reg6 = xxreg1[32..63]',
        'reg7 = xxreg1[0..31]',
        'reg8 = xreg4[32..63]',
        'reg9 = xreg4[0..31]',
        'xreg0 = xxreg0[64..127]',
        'xreg1 = xxreg0[0..63]',
        'xreg2 = xxreg1[64..127]',
        'xreg3 = xxreg1[0..63]',
        'xreg4 = OXM_OF_PKT_REG4',
        'xxreg0 = NXM_NX_XXREG0',
        'xxreg1 = NXM_NX_XXREG1',
      ].join('\n'),
    );
  });

  it('defines the conntrack fields', () => {
    expect(dump(/^ct/)).toBe(
      [
        'ct.dnat = ct_state[7]',
        'ct.est = ct_state[1]',
        'ct.inv = ct_state[4]',
        'ct.new = ct_state[0]',
        'ct.rel = ct_state[2]',
        'ct.rpl = ct_state[3]',
        'ct.snat = ct_state[6]',
        'ct.trk = ct_state[5]',
        'ct_label = NXM_NX_CT_LABEL',
        'ct_label.blocked = ct_label[0]',
        'ct_label.ecmp_reply_eth = ct_label[32..79]',
        'ct_label.ecmp_reply_port = ct_label[80..95]',
        'ct_label.force_snat = ct_label[3]',
        'ct_label.label = ct_label[96..127]',
        'ct_label.natted = ct_label[1]',
        'ct_label.skip_snat = ct_label[2]',
        'ct_mark = NXM_NX_CT_MARK',
        'ct_mark.blocked = ct_mark[0]',
        'ct_mark.ecmp_reply_port = ct_mark[16..31]',
        'ct_mark.force_snat = ct_mark[3]',
        'ct_mark.natted = ct_mark[1]',
        'ct_mark.skip_snat = ct_mark[2]',
        'ct_state = NXM_NX_CT_STATE',
      ].join('\n'),
    );
    expect(ovnSymtab().get('ct.est')!.prereqs).toBe('ct.trk');
    expect(ovnSymtab().get('ct.trk')!.prereqs).toBeUndefined();
  });

  it('maps logical fields to OpenFlow fields', () => {
    const t = ovnSymtab();
    expect(resolveField(t.get('inport')!)).toEqual({ field: OVS_FIELDS.reg14, ofs: 0, nBits: 32 });
    expect(resolveField(t.get('outport')!).field.nxm).toBe('NXM_NX_REG15');
    expect(resolveField(t.get('reg0')!)).toEqual({ field: OVS_FIELDS.xxreg0, ofs: 96, nBits: 32 });
    expect(resolveField(t.get('reg9')!)).toEqual({ field: OVS_FIELDS.xreg4, ofs: 0, nBits: 32 });
    expect(resolveField(t.get('flags.loopback')!)).toEqual({ field: OVS_FIELDS.reg10, ofs: 0, nBits: 1 });
    expect(resolveField(t.get('vlan.vid')!)).toEqual({ field: OVS_FIELDS.vlan_tci, ofs: 0, nBits: 12 });
    const f = parseFieldText('reg1[4..7]', t);
    expect(resolveField(f.symbol, f.ofs, f.nBits)).toEqual({ field: OVS_FIELDS.xxreg0, ofs: 68, nBits: 4 });
    expect(resolveField(t.get('rarp.sha')!).field).toBe(OVS_FIELDS.arp_sha);
  });

  it('has the widths, levels and prerequisites of logical-fields.c', () => {
    const t = ovnSymtab();
    const row = (n: string) => {
      const s = t.get(n)!;
      return [s.kind, s.width, s.level, s.prereqs ?? '', s.mustCrossproduct];
    };
    expect(row('eth.type')).toEqual(['field', 16, 'nominal', '', true]);
    expect(row('eth.src')).toEqual(['field', 48, 'ordinal', '', false]);
    expect(row('ip.proto')).toEqual(['field', 8, 'nominal', 'ip', true]);
    expect(row('ip.dscp')).toEqual(['field', 6, 'nominal', 'ip', false]);
    expect(row('ip.frag')).toEqual(['field', 2, 'ordinal', 'ip', false]);
    expect(row('tcp.dst')).toEqual(['field', 16, 'ordinal', 'tcp', false]);
    expect(row('tcp.flags')).toEqual(['field', 12, 'ordinal', 'tcp', false]);
    expect(row('icmp6.type')).toEqual(['field', 8, 'nominal', 'icmp6', true]);
    expect(row('nd.sll')).toEqual(['field', 48, 'ordinal', 'nd_ns', false]);
    expect(row('ip6.label')).toEqual(['field', 20, 'ordinal', 'ip6', false]);
    expect(row('vlan.vid')).toEqual(['subfield', 12, 'ordinal', 'vlan.present', false]);
    expect(row('inport')).toEqual(['string', 0, 'nominal', '', false]);
    // Predicates: nominal when their expansion mentions a nominal field.
    expect(row('ip4')).toEqual(['predicate', 1, 'nominal', '', false]);
    expect(row('tcp')).toEqual(['predicate', 1, 'nominal', '', false]);
    expect(row('vlan.present')).toEqual(['predicate', 1, 'boolean', '', false]);
    expect(row('eth.bcast')).toEqual(['predicate', 1, 'boolean', '', false]);
    expect(row('ip.first_frag')).toEqual(['predicate', 1, 'boolean', '', false]);
    expect(row('ip4.mcast')).toEqual(['predicate', 1, 'boolean', '', false]);
    expect(row('nd')).toEqual(['predicate', 1, 'nominal', '', false]);
    expect(t.get('reg10')).toBeUndefined();
    expect(t.get('mldv2')!.predicate).toBe('ip6.dst == ff02::16 && icmp6.type == 143');
  });

  it('defines every symbol ovn-sb(5) lists', () => {
    const names = `reg0 reg9 xxreg0 xxreg1 inport outport flags.loopback pkt.mark eth.src eth.dst eth.type vlan.tci
      vlan.vid vlan.pcp vlan.present ip.proto ip.dscp ip.ecn ip.ttl ip.frag ip4.src ip4.dst ip6.src ip6.dst ip6.label
      arp.op arp.spa arp.tpa arp.sha arp.tha rarp.op rarp.spa rarp.tpa rarp.sha rarp.tha tcp.src tcp.dst tcp.flags
      udp.src udp.dst sctp.src sctp.dst icmp4.type icmp4.code icmp6.type icmp6.code nd.target nd.sll nd.tll ct_mark
      ct_label ct_state ct.trk ct.new ct.est ct.rel ct.rpl ct.inv ct.dnat ct.snat eth.bcast eth.mcast ip4 ip4.src_mcast
      ip4.mcast ip6 ip icmp4 icmp6 icmp ip.is_frag ip.later_frag ip.first_frag arp rarp nd nd_ns nd_na nd_rs nd_ra tcp
      udp sctp igmp mldv1 mldv2 ip6.mcast ip6.mcast_flood eth.mcastv6`.split(/\s+/);
    for (const n of names) expect(ovnSymtab().get(n), n).toBeDefined();
  });
});

describe('the OVS fields come from @ovnts/openflow\'s field table', () => {
  it('every field a symbol names is the openflow entry, with its NXM/OXM name, n_bits and maskability', () => {
    const widths: Record<string, number> = {};
    for (const [name, f] of Object.entries(OVS_FIELDS)) {
      const of = fieldByName(name)!;
      expect(f.of).toBe(of);
      expect(f.nxm).toBe(of.nxm?.name ?? of.oxm?.name);
      expect(f.width).toBe(of.nBits);
      expect(f.maskable).toBe(of.maskable);
      widths[name] = f.width;
    }
    // What OVN 23.03's `ovstest test-ovn dump-symtab` relies on (OVS's n_bits, not the wire width).
    expect(widths).toMatchObject({ ipv6_label: 20, tcp_flags: 12, ip_frag: 2, nw_ecn: 2, ip_dscp: 6, arp_op: 16, icmp_type: 8, xreg4: 64, ct_label: 128 });
    expect(OVS_FIELDS.metadata.nxm).toBe('OXM_OF_METADATA');
    expect(OVS_FIELDS.sctp_dst.nxm).toBe('OXM_OF_SCTP_DST');
    expect(OVS_FIELDS.eth_src.nxm).toBe('NXM_OF_ETH_SRC');
  });
  it('a name the table lacks is a typed error at load time, not a silent miss', () => {
    expect(() => ovsField('no_such_field')).toThrow(ExprError);
    expect(() => ovsField('dl_src')).toThrow('OVS field dl_src is not in the OpenFlow match-field table.');
    for (const s of ovnSymtab().all()) if (s.field) expect(s.field.of, s.name).toBeDefined();
  });
});
