/**
 * Geneve and VXLAN layers for `@ovnts/packet`'s `PacketBuilder` (tests, examples, the demo; they
 * allocate). After a `udp()` layer they make the UDP destination port default to 6081 / 4789,
 * and an `ethernet()` layer after them is announced as protocol 0x6558.
 *
 *     new PacketBuilder().ethernet(outer).ipv4(ip).udp({ srcPort: 50000 })
 *       .push(geneveLayer(ovnGeneveRepr({ datapath: 5, ingress: 1, egress: 2 })))
 *       .ethernet(inner).ipv4(innerIp).icmpv4().build();
 */
import { emitGeneve, GENEVE_UDP_PORT, geneveLen, GeneveProtocol, type GeneveRepr } from './geneve.js';
import { emitVxlan, VXLAN_HEADER_LEN, VXLAN_UDP_PORT, vxlanRepr, type VxlanRepr } from './vxlan.js';

/**
 * The part of `@ovnts/packet`'s builder `Layer` interface these layers implement (declared here
 * structurally, so a `TunnelLayer` is accepted wherever a `Layer` is).
 */
export interface TunnelLayer {
  /** Name, for errors. */
  readonly name: string;
  /** The UDP destination port that announces this layer. */
  readonly udpPort: number;
  /** Header length. */
  headerLen(payloadLen: number): number;
  /** Write the header at `off`; `next` is the following layer (if any). */
  emit(buf: Uint8Array, off: number, payloadLen: number, next: { readonly etherType?: number } | undefined): void;
}

/**
 * A Geneve header layer. `protocolType` is taken from `r` when given, else from the next
 * layer's EtherType (Ethernet announces itself as 0x6558), else Ethernet.
 */
export function geneveLayer(r: Omit<GeneveRepr, 'protocolType'> & { protocolType?: number }): TunnelLayer {
  return {
    name: 'geneve',
    udpPort: GENEVE_UDP_PORT,
    headerLen: () => geneveLen({ ...r, protocolType: 0 }),
    emit: (buf, off, _p, next) =>
      void emitGeneve(
        { ...r, protocolType: r.protocolType ?? next?.etherType ?? GeneveProtocol.TransparentEthernetBridging },
        buf,
        off,
      ),
  };
}

/** A VXLAN header layer (a bare VNI means only the I flag set). */
export function vxlanLayer(r: number | VxlanRepr): TunnelLayer {
  const repr = typeof r === 'number' ? vxlanRepr(r) : r;
  return {
    name: 'vxlan',
    udpPort: VXLAN_UDP_PORT,
    headerLen: () => VXLAN_HEADER_LEN,
    emit: (buf, off) => void emitVxlan(repr, buf, off),
  };
}
