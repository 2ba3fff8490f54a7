import { describe, expect, it } from 'vitest';
import { toHex } from '@ovnts/packet';
import { geneveLayer, ovnGeneveRepr, vxlanLayer, vxlanRepr } from '@ovnts/geneve';

describe('builder layers', () => {
  it('emits the OVN Geneve header, taking the protocol from the next layer', () => {
    const l = geneveLayer(ovnGeneveRepr({ datapath: 5, ingress: 3, egress: 0x1234 }));
    expect([l.name, l.udpPort, l.headerLen(0)]).toEqual(['geneve', 6081, 16]);
    const b = new Uint8Array(16);
    l.emit(b, 0, 0, { etherType: 0x6558 });
    expect(toHex(b)).toBe('0240655800000500010280010003' + '1234');
    const { protocolType: _p, ...noProto } = ovnGeneveRepr({ datapath: 5, ingress: 3, egress: 0x1234 });
    geneveLayer(noProto).emit(b, 0, 0, { etherType: 0x0800 });
    expect(toHex(b, 2, 2)).toBe('0800');
    geneveLayer(noProto).emit(b, 0, 0, undefined);
    expect(toHex(b, 2, 2)).toBe('6558');
  });

  it('emits a VXLAN header from a VNI or a Repr', () => {
    const b = new Uint8Array(8);
    const l = vxlanLayer(0x7b);
    expect([l.name, l.udpPort, l.headerLen(0)]).toEqual(['vxlan', 4789, 8]);
    l.emit(b, 0, 0, undefined);
    expect(toHex(b)).toBe('0800000000007b00');
    vxlanLayer({ ...vxlanRepr(1), reserved1: 0x1234 }).emit(b, 0, 0, undefined);
    expect(toHex(b)).toBe('0800123400000100');
  });
});
