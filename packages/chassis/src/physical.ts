/**
 * The physical flows of one chassis (ovn-controller 23.03's `physical.c`): how packets enter the
 * logical pipelines from OpenFlow ports and tunnels, and how the logical output port becomes an
 * OpenFlow port, a tunnel, a patch into a peer datapath, or a multicast fan-out.
 *
 * Design. Per port binding (`consider_port_binding`), owned by the binding's row:
 * - a patch or local l3gateway port: the common local flows (table 40 zones + resubmit to 41,
 *   the loopback drop in 41, the hairpin save in 64) and in table 65 a `clone` that clears
 *   conntrack, loads the peer's datapath, port and zones, clears the flags, outport and logical
 *   registers and resubmits to table 8: the peer router or switch runs on this chassis;
 * - a chassisredirect port active here: table 40 rewrites the outport to the distributed port;
 * - a VIF (or container, localnet, l2gateway port) bound here: table 0 in_port -> logical inport
 *   (VLAN tags matched and stripped for containers and tagged localnet), table 65 outport ->
 *   output (re-tagging), plus localport and localnet special cases in 39/41;
 * - a port bound elsewhere: through the datapath's localnet port if it has one (table 40 rewrites
 *   the outport), else through the tunnel to its chassis (table 39: Geneve VNI = datapath key,
 *   option = ingress << 16 | egress port key, output to the tunnel, then resubmit to 40), or to
 *   the active member of an HA group through an active/backup `bundle`.
 * Per multicast group (`consider_mc_group`): table 40 delivers to each local member (and restores
 * the group as outport), table 39 to each patch port and once to every remote chassis with a
 * member. The fixed flows (tunnel decapsulation in table 0, the defaults of 37/38/39/40/41/64/65)
 * are owned by the chassis itself.
 */
import { Match } from '@ovnts/openflow';
import { parseMac } from '@ovnts/packet';
import { load, move, ofField, resubmit, bits, whole } from './encode.js';
import type { DesiredFlowTable } from './flow-table.js';
import { uuidCookie } from './lflow.js';
import type { OfAction } from './of-actions.js';
import { haOrdered, natZoneKey, type LocalDatapath, type Runtime } from './runtime.js';
import { idlOrder, ssetOrder, type SbDatabase, type SbMulticastGroup, type SbPortBinding } from '@ovnts/ovn';
import { MLF_BIT, N_LOG_REGS, OFPP_NONE, OFTABLE } from './tables.js';

/** Owner of the chassis's fixed flows (ovn-controller's random `hc_uuid`). */
export const HC_OWNER = 'chassis';

interface Zones {
  ct: number;
  dnat: number;
  snat: number;
}

function zonesOf(rt: Runtime, pb: SbPortBinding): Zones {
  return {
    ct: rt.ctZones.get(pb.logicalPort) ?? 0,
    dnat: rt.ctZones.get(natZoneKey(pb.datapath, 'dnat')) ?? 0,
    snat: rt.ctZones.get(natZoneKey(pb.datapath, 'snat')) ?? 0,
  };
}

function putZones(z: Zones | undefined, out: OfAction[]): void {
  if (!z) return;
  if (z.ct) out.push(load(z.ct, 'reg13'));
  if (z.dnat) out.push(load(z.dnat, 'reg11'));
  if (z.snat) out.push(load(z.snat, 'reg12'));
}

function loadIngressMetadata(pb: SbPortBinding, z: Zones | undefined, out: OfAction[]): void {
  putZones(z, out);
  out.push(load(pb.datapath.tunnelKey, 'metadata'), load(pb.tunnelKey, 'reg14'));
}

function outportMatch(dpKey: number, portKey: number): Match {
  return new Match().set(ofField('metadata'), BigInt(dpKey)).set(ofField('reg15'), BigInt(portKey));
}

function encap(dpKey: number, outport: number): OfAction[] {
  return [
    load(dpKey, 'tun_id', 0, 24),
    // The TLV map gives tun_metadata0 OVN's 4-byte option, so a 32-bit load is the whole field.
    { type: 'set_field', field: ofField('tun_metadata0'), value: BigInt(outport) },
    move(bits('reg14', 0, 15), bits('tun_metadata0', 16, 15)),
  ];
}

/** Physical flow builder of one chassis. */
export class Physical {
  constructor(
    private readonly sb: SbDatabase,
    private readonly rt: Runtime,
    private readonly flows: DesiredFlowTable,
  ) {}

  private add(table: number, prio: number, cookie: bigint, m: Match, acts: OfAction[], owner: string): void {
    this.flows.add(table, prio, cookie, m, acts, owner);
  }

  private peerOf(pb: SbPortBinding): SbPortBinding | undefined {
    const name = pb.options.get('peer');
    if (name === undefined) return undefined;
    const peer = this.rt.portByName.get(name);
    if (!peer || peer.type !== pb.type || peer.options.get('peer') !== pb.logicalPort) return undefined;
    return peer;
  }

  /** `put_local_common_flows`. */
  private localCommon(dpKey: number, pb: SbPortBinding, parent: SbPortBinding | undefined, z: Zones): void {
    const cookie = uuidCookie(pb.uuid);
    const o = pb.uuid;
    const acts: OfAction[] = [];
    putZones(z, acts);
    acts.push(resubmit(OFTABLE.CHECK_LOOPBACK));
    this.add(OFTABLE.LOCAL_OUTPUT, 100, cookie, outportMatch(dpKey, pb.tunnelKey), acts, o);
    const lb = new Match().set(ofField('metadata'), BigInt(dpKey)).set(ofField('reg10'), 0n, 1n << BigInt(MLF_BIT.ALLOW_LOOPBACK));
    lb.set(ofField('reg14'), BigInt(pb.tunnelKey)).set(ofField('reg15'), BigInt(pb.tunnelKey));
    this.add(OFTABLE.CHECK_LOOPBACK, 100, cookie, lb, [], o);
    const hair = outportMatch(dpKey, pb.tunnelKey);
    if (!parent) hair.set(ofField('reg10'), 1n, 1n);
    const save: OfAction[] = [{ type: 'stack_push', src: whole('in_port') }, load(OFPP_NONE, 'in_port'), resubmit(OFTABLE.LOG_TO_PHY), { type: 'stack_pop', dst: whole('in_port') }];
    this.add(OFTABLE.SAVE_INPORT, 100, cookie, hair, save, o);
    if (parent) {
      const pm = outportMatch(dpKey, parent.tunnelKey).set(ofField('reg10'), 1n << BigInt(MLF_BIT.NESTED_CONTAINER), 1n << BigInt(MLF_BIT.NESTED_CONTAINER));
      this.add(OFTABLE.SAVE_INPORT, 100, 0n, pm, save, HC_OWNER);
    }
  }

  /** Tunnels to reach the chassis a port is bound on (none when it is here or unknown). */
  private remoteTunnels(pb: SbPortBinding): number[] {
    const ch = this.rt.chassisOf(pb);
    if (ch === undefined || ch === this.rt.name) return [];
    const t = this.rt.tunnels.get(ch);
    return t ? [t.ofport] : [];
  }

  /** `consider_port_binding`. */
  considerPortBinding(pb: SbPortBinding): void {
    const rt = this.rt;
    const dpKey = pb.datapath.tunnelKey;
    const portKey = pb.tunnelKey;
    const ld = rt.localDatapaths.get(dpKey);
    if (!ld) return;
    const cookie = uuidCookie(pb.uuid);
    const o = pb.uuid;
    if (pb.type === 'patch' || (pb.type === 'l3gateway' && rt.chassisOf(pb) === rt.name)) {
      const peer = this.peerOf(pb);
      if (!peer) return;
      this.localCommon(dpKey, pb, undefined, zonesOf(rt, pb));
      const inner: OfAction[] = [{ type: 'ct_clear' }, load(0, 'reg11'), load(0, 'reg12'), load(0, 'reg13')];
      loadIngressMetadata(peer, zonesOf(rt, peer), inner);
      inner.push(load(0, 'reg10'), load(0, 'reg15'));
      for (let i = 0; i < N_LOG_REGS; i++) inner.push(load(0, `reg${i}`));
      inner.push(resubmit(OFTABLE.LOG_INGRESS_PIPELINE));
      this.add(OFTABLE.LOG_TO_PHY, 100, cookie, outportMatch(dpKey, portKey), [{ type: 'clone', actions: inner }], o);
      return;
    }
    if (pb.type === 'chassisredirect' && rt.chassisOf(pb) === rt.name) {
      const acts: OfAction[] = [];
      const dist = rt.portByName.get(pb.options.get('distributed-port') ?? '');
      if (dist && dist.datapath.tunnelKey === pb.datapath.tunnelKey) {
        acts.push(load(dist.tunnelKey, 'reg15'));
        putZones(zonesOf(rt, dist), acts);
        acts.push(resubmit(OFTABLE.CHECK_LOOPBACK));
      }
      this.add(OFTABLE.LOCAL_OUTPUT, 100, cookie, outportMatch(dpKey, portKey), acts, o);
      return;
    }
    let tag = 0;
    let nested = false;
    let parent: SbPortBinding | undefined;
    let ofport: number | undefined;
    if (pb.parentPort) {
      if (pb.tag === undefined) return;
      ofport = rt.vifOfport.get(pb.parentPort);
      if (ofport !== undefined && rt.bound.has(pb.logicalPort)) {
        tag = pb.tag;
        nested = true;
        parent = rt.portByName.get(pb.parentPort);
      } else ofport = undefined;
    } else if (pb.type === 'localnet' || pb.type === 'l2gateway') {
      ofport = rt.patchOfports.get(pb.logicalPort);
      if (ofport !== undefined && pb.tag !== undefined) tag = pb.tag;
    } else {
      ofport = rt.vifOfport.get(pb.logicalPort);
      if (ofport !== undefined && pb.type !== 'localport' && rt.chassisOf(pb) !== rt.name) ofport = undefined;
    }
    const localnet = ld.localnetPort;
    const haMembers = pb.haChassisGroup?.haChassis.length ?? 0;
    let access: 'local' | 'localnet' | 'remote' | 'ha' = 'local';
    if (ofport === undefined) {
      if (localnet && !pb.additionalChassis.length) {
        ofport = rt.patchOfports.get(localnet.logicalPort);
        if (ofport === undefined) return;
        access = 'localnet';
      } else access = haMembers < 2 ? 'remote' : 'ha';
    }
    if (access === 'local') {
      this.localPort(ld, pb, ofport!, tag, nested, parent);
      return;
    }
    if (access === 'localnet') {
      this.add(OFTABLE.LOCAL_OUTPUT, 100, cookie, outportMatch(dpKey, portKey), [load(localnet!.tunnelKey, 'reg15'), resubmit(OFTABLE.LOCAL_OUTPUT)], o);
      return;
    }
    const m = outportMatch(dpKey, portKey);
    if (pb.options.get('redirect-type')?.toLowerCase() === 'bridged') {
      this.redirectBridged(pb, ld, m);
    } else if (access === 'ha') {
      const members = haOrdered(pb.haChassisGroup).map((c) => rt.tunnels.get(c.name)).filter((t) => t !== undefined);
      if (!members.length) return;
      const acts: OfAction[] = [...encap(dpKey, portKey), { type: 'bundle', fields: 'eth_src', basis: 0, algorithm: 'active_backup', members: members.map((t) => t!.ofport) }];
      this.add(OFTABLE.REMOTE_OUTPUT, 100, cookie, m, acts, o);
    } else {
      const tuns = this.remoteTunnels(pb);
      if (!tuns.length) return;
      const acts: OfAction[] = [];
      const vtep = pb.type === 'vtep';
      if (vtep) acts.push(load(OFPP_NONE, 'in_port'));
      for (const t of tuns) acts.push(...encap(dpKey, portKey), { type: 'output', port: t });
      acts.push(resubmit(OFTABLE.LOCAL_OUTPUT));
      this.add(OFTABLE.REMOTE_OUTPUT, 100, cookie, m, acts, o);
    }
  }

  private redirectBridged(pb: SbPortBinding, ld: LocalDatapath, m: Match): void {
    if (pb.type !== 'chassisredirect') return;
    const macText = pb.mac[0]?.split(/\s+/)[0];
    if (!macText) return;
    let mac: number;
    try {
      mac = parseMac(macText);
    } catch {
      return;
    }
    const dist = pb.options.get('distributed-port');
    let lsDpKey = 0;
    for (const pp of ld.peerPorts) {
      if (pp.remote.options.get('peer') === dist) {
        lsDpKey = pp.remote.datapath.tunnelKey;
        break;
      }
    }
    if (!lsDpKey) return;
    const lsLocalnet = this.rt.localDatapaths.get(lsDpKey)?.localnetPort;
    if (!lsLocalnet) return;
    const acts: OfAction[] = [load(mac, 'eth_src'), load(lsDpKey, 'metadata'), load(lsLocalnet.tunnelKey, 'reg15'), resubmit(OFTABLE.LOG_TO_PHY)];
    this.add(OFTABLE.LOCAL_OUTPUT, 100, uuidCookie(pb.uuid), m, acts, pb.uuid);
  }

  private localPort(ld: LocalDatapath, pb: SbPortBinding, ofport: number, tag: number, nested: boolean, parent: SbPortBinding | undefined): void {
    const rt = this.rt;
    const dpKey = pb.datapath.tunnelKey;
    const portKey = pb.tunnelKey;
    const cookie = uuidCookie(pb.uuid);
    const o = pb.uuid;
    const z = zonesOf(rt, pb);
    this.localCommon(dpKey, pb, parent, z);
    const isNet = pb.type === 'localnet' || pb.type === 'l2gateway';
    const m = new Match().set(ofField('in_port'), BigInt(ofport));
    const pre: OfAction[] = [];
    if (tag || isNet) {
      if (nested) pre.push(load(1, 'reg10', MLF_BIT.NESTED_CONTAINER, 1));
      const passthru = pb.options.get('vlan-passthru') === 'true';
      if (!passthru || tag) {
        m.set(ofField('vlan_tci'), BigInt(0x1000 | tag), 0x1fffn);
        pre.push({ type: 'pop_vlan' });
      }
    }
    const meta: OfAction[] = [];
    loadIngressMetadata(pb, z, meta);
    if (pb.type === 'localport') meta.push(load(1, 'reg10', MLF_BIT.LOCALPORT, 1));
    meta.push(resubmit(OFTABLE.LOG_INGRESS_PIPELINE));
    this.add(OFTABLE.PHY_TO_LOG, tag ? 150 : 100, cookie, m, [...pre, ...meta], o);
    if (!tag && isNet) {
      const m2 = new Match().set(ofField('in_port'), BigInt(ofport)).set(ofField('vlan_tci'), 0n, 0x1000n);
      this.add(OFTABLE.PHY_TO_LOG, 100, cookie, m2, meta, o);
    }
    if (pb.type === 'localnet') this.replaceChassisMac(ld, pb, ofport, z);
    const out: OfAction[] = [];
    if (tag) out.push(...pushVlan(ld.localnetPort?.options, tag));
    out.push({ type: 'output', port: ofport });
    if (tag) out.push({ type: 'pop_vlan' });
    this.add(OFTABLE.LOG_TO_PHY, 100, cookie, outportMatch(dpKey, portKey), out, o);
    if (pb.type === 'localnet') {
      this.replaceRouterMac(ld, pb, ofport);
      const lm = outportMatch(dpKey, portKey).set(ofField('reg10'), 1n << BigInt(MLF_BIT.LOCALPORT), 1n << BigInt(MLF_BIT.LOCALPORT));
      this.add(OFTABLE.CHECK_LOOPBACK, 160, cookie, lm, [], o);
      const lo = outportMatch(dpKey, portKey).set(ofField('reg10'), 1n << BigInt(MLF_BIT.LOCAL_ONLY), 1n << BigInt(MLF_BIT.LOCAL_ONLY));
      this.add(OFTABLE.CHECK_LOOPBACK, 160, cookie, lo, [], o);
      for (const ext of ld.externalPorts) {
        if (rt.chassisOf(ext) !== rt.name) continue;
        const acts: OfAction[] = [];
        for (let i = 0; i < N_LOG_REGS; i++) acts.push(load(0, `reg${i}`));
        acts.push(resubmit(OFTABLE.LOG_EGRESS_PIPELINE));
        for (const macText of ext.mac) {
          let mac: number;
          try {
            mac = parseMac(macText.split(/\s+/)[0]!);
          } catch {
            continue;
          }
          const em = outportMatch(dpKey, portKey).set(ofField('reg10'), 1n << BigInt(MLF_BIT.LOCALPORT), 1n << BigInt(MLF_BIT.LOCALPORT));
          em.set(ofField('eth_dst'), BigInt(mac));
          this.add(OFTABLE.CHECK_LOOPBACK, 170, cookie, em, acts, o);
        }
      }
    }
    if (pb.type === 'localport') {
      const m3 = new Match().set(ofField('reg14'), BigInt(portKey)).set(ofField('metadata'), BigInt(dpKey));
      this.add(OFTABLE.REMOTE_OUTPUT, 150, cookie, m3, [resubmit(OFTABLE.LOCAL_OUTPUT)], o);
    }
  }

  /** `put_replace_chassis_mac_flows`. */
  private replaceChassisMac(ld: LocalDatapath, localnet: SbPortBinding, ofport: number, z: Zones): void {
    const tag = localnet.tag ?? 0;
    for (const pp of ld.peerPorts) {
      const r = pp.remote;
      const macText = r.mac[0]?.split(/\s+/)[0];
      if (!macText) continue;
      let mac: number;
      try {
        mac = parseMac(macText);
      } catch {
        return;
      }
      const m = new Match().set(ofField('in_port'), BigInt(ofport)).set(ofField('conj_id'), 100n);
      if (tag) m.set(ofField('vlan_tci'), BigInt(0x1000 | tag), 0x1fffn);
      else m.set(ofField('vlan_tci'), 0n, 0x1000n);
      const acts: OfAction[] = [];
      if (tag) acts.push({ type: 'pop_vlan' });
      loadIngressMetadata(localnet, z, acts);
      acts.push(load(mac, 'eth_src'), resubmit(OFTABLE.LOG_INGRESS_PIPELINE));
      this.add(OFTABLE.PHY_TO_LOG, 180, uuidCookie(r.uuid), m, acts, HC_OWNER);
      const m2 = new Match();
      if (tag) m2.set(ofField('vlan_tci'), BigInt(0x1000 | tag), 0x1fffn);
      else m2.set(ofField('vlan_tci'), 0n, 0x1000n);
      this.add(OFTABLE.PHY_TO_LOG, 180, uuidCookie(r.uuid), m2, [{ type: 'conjunction', id: 100, clause: 2, nClauses: 2 }], HC_OWNER);
    }
  }

  /** `put_replace_router_port_mac_flows`. */
  private replaceRouterMac(ld: LocalDatapath, localnet: SbPortBinding, ofport: number): void {
    const network = localnet.options.get('network_name');
    if (network === undefined) return;
    const chassisMac = this.rt.config.chassisMacs?.get(network);
    if (chassisMac === undefined) return;
    let cmac: number;
    try {
      cmac = parseMac(chassisMac);
    } catch {
      return;
    }
    const tag = localnet.tag ?? 0;
    for (const pp of ld.peerPorts) {
      const r = pp.remote;
      if (this.rt.isResident(`cr-${r.logicalPort}`)) continue;
      const macText = r.mac[0]?.split(/\s+/)[0];
      if (!macText) continue;
      let rmac: number;
      try {
        rmac = parseMac(macText);
      } catch {
        return;
      }
      const m = outportMatch(localnet.datapath.tunnelKey, localnet.tunnelKey).set(ofField('eth_src'), BigInt(rmac));
      const acts: OfAction[] = [load(cmac, 'eth_src')];
      if (tag) acts.push(...pushVlan(localnet.options, tag));
      acts.push({ type: 'output', port: ofport }, load(rmac, 'eth_src'));
      if (tag) acts.push({ type: 'pop_vlan' });
      this.add(OFTABLE.LOG_TO_PHY, 150, uuidCookie(localnet.uuid), m, acts, localnet.uuid);
    }
  }

  /** `consider_mc_group`. */
  considerMcGroup(mc: SbMulticastGroup): void {
    const rt = this.rt;
    const dpKey = mc.datapath.tunnelKey;
    const ld = rt.localDatapaths.get(dpKey);
    if (!ld) return;
    const local: OfAction[] = [];
    const remote: OfAction[] = [];
    const remoteChassis = new Set<string>();
    for (const port of mc.ports) {
      if (port.datapath.tunnelKey !== mc.datapath.tunnelKey) continue;
      const zone = rt.ctZones.get(port.logicalPort) ?? 0;
      if (zone) local.push(load(zone, 'reg13'));
      if (port.type === 'patch') {
        remote.push(load(port.tunnelKey, 'reg15'), resubmit(OFTABLE.CHECK_LOOPBACK));
      }
      if (port.type === 'remote') {
        const ch = rt.chassisOf(port);
        if (ch !== undefined) {
          remote.push(load(port.tunnelKey, 'reg15'));
          const t = rt.tunnels.get(ch);
          if (t) remote.push(...encap(dpKey, port.tunnelKey), { type: 'output', port: t.ofport });
        }
      } else if (port.type === 'localport') {
        remote.push(load(port.tunnelKey, 'reg15'), resubmit(OFTABLE.CHECK_LOOPBACK));
      } else if (rt.chassisOf(port) === rt.name && port.type !== 'chassisredirect' && (rt.bound.has(port.parentPort ?? port.logicalPort) || port.type === 'l3gateway')) {
        // (`local_binding_get_primary_pb`: a port with an OVS interface here; a chassisredirect port has none, it takes the branch below)
        local.push(load(port.tunnelKey, 'reg15'), resubmit(OFTABLE.CHECK_LOOPBACK));
      } else if (rt.patchOfports.has(port.logicalPort)) {
        local.push(load(port.tunnelKey, 'reg15'), resubmit(OFTABLE.CHECK_LOOPBACK));
      } else if (port.type === 'chassisredirect' && rt.chassisOf(port) === rt.name) {
        const dist = rt.portByName.get(port.options.get('distributed-port') ?? '');
        if (dist && dist.datapath.tunnelKey === port.datapath.tunnelKey) local.push(load(dist.tunnelKey, 'reg15'), resubmit(OFTABLE.CHECK_LOOPBACK));
      } else if (!ld.localnetPort) {
        const ch = rt.chassisOf(port);
        if (ch !== undefined && port.type !== 'patch') remoteChassis.add(ch);
      }
    }
    const cookie = uuidCookie(mc.uuid);
    const m = outportMatch(dpKey, mc.tunnelKey);
    const hasLocal = local.length > 0;
    if (hasLocal) {
      local.push(load(mc.tunnelKey, 'reg15'));
      this.add(OFTABLE.LOCAL_OUTPUT, 100, cookie, m, local, mc.uuid);
    }
    remoteChassis.delete(rt.name);
    if (remoteChassis.size || remote.length) {
      if (remote.length) remote.push(load(mc.tunnelKey, 'reg15'));
      let first = true;
      for (const ch of sortedChassis(remoteChassis)) {
        const t = rt.tunnels.get(ch);
        if (!t) continue;
        if (first) remote.push(...encap(dpKey, mc.tunnelKey));
        first = false;
        remote.push({ type: 'output', port: t.ofport });
      }
      if (remote.length) {
        if (hasLocal) remote.push(resubmit(OFTABLE.LOCAL_OUTPUT));
        this.add(OFTABLE.REMOTE_OUTPUT, 100, cookie, m, remote, mc.uuid);
      }
    }
  }

  /** The fixed flows and the tunnel decapsulation flows (`physical_run`'s tail). */
  fixedFlows(): void {
    const o = HC_OWNER;
    this.chassisMacConj();
    for (const t of [...this.rt.tunnels.values()].sort((a, b) => a.ofport - b.ofport)) {
      const m = new Match().set(ofField('in_port'), BigInt(t.ofport));
      const acts: OfAction[] = [
        move(bits('tun_id', 0, 24), bits('metadata', 0, 24)),
        move(bits('tun_metadata0', 16, 15), bits('reg14', 0, 15)),
        move(bits('tun_metadata0', 0, 16), bits('reg15', 0, 16)),
        resubmit(OFTABLE.LOCAL_OUTPUT),
      ];
      this.add(OFTABLE.PHY_TO_LOG, 100, 0n, m, acts, o);
    }
    this.add(OFTABLE.PHY_TO_LOG, 0, 0n, new Match(), [], o);
    this.add(OFTABLE.OUTPUT_LARGE_PKT_DETECT, 0, 0n, new Match(), [resubmit(OFTABLE.REMOTE_OUTPUT)], o);
    this.add(OFTABLE.OUTPUT_LARGE_PKT_PROCESS, 10, 0n, new Match().set(ofField('reg10'), 1n, 1n), [resubmit(OFTABLE.LOCAL_OUTPUT)], o);
    this.add(OFTABLE.OUTPUT_LARGE_PKT_PROCESS, 0, 0n, new Match(), [resubmit(OFTABLE.REMOTE_OUTPUT)], o);
    const ramp = 1n << BigInt(MLF_BIT.RCV_FROM_RAMP);
    this.add(OFTABLE.REMOTE_OUTPUT, 150, 0n, new Match().set(ofField('reg10'), ramp, ramp | 1n), [resubmit(OFTABLE.LOCAL_OUTPUT)], o);
    const lo = 1n << BigInt(MLF_BIT.LOCAL_ONLY);
    this.add(OFTABLE.REMOTE_OUTPUT, 150, 0n, new Match().set(ofField('reg10'), lo, lo), [resubmit(OFTABLE.LOCAL_OUTPUT)], o);
    this.add(OFTABLE.REMOTE_OUTPUT, 0, 0n, new Match(), [resubmit(OFTABLE.LOCAL_OUTPUT)], o);
    this.add(OFTABLE.LOCAL_OUTPUT, 0, 0n, new Match(), [], o);
    const clear: OfAction[] = [];
    for (let i = 0; i < N_LOG_REGS; i++) clear.push(load(0, `reg${i}`));
    clear.push(resubmit(OFTABLE.LOG_EGRESS_PIPELINE));
    this.add(OFTABLE.CHECK_LOOPBACK, 0, 0n, new Match(), clear, o);
    this.add(OFTABLE.SAVE_INPORT, 0, 0n, new Match(), [resubmit(OFTABLE.LOG_TO_PHY)], o);
    this.add(OFTABLE.LOG_TO_PHY, 0, 0n, new Match(), [], o);
  }

  /** `put_chassis_mac_conj_id_flow`: clause 1 of the chassis-MAC conjunction for every remote chassis MAC. */
  private chassisMacConj(): void {
    for (const c of this.sb.chassis) {
      if (c.name === this.rt.name) continue;
      const mappings = c.otherConfig.get('ovn-chassis-mac-mappings') ?? c.externalIds.get('ovn-chassis-mac-mappings');
      if (!mappings) continue;
      for (const tok of mappings.split(',')) {
        const colon = tok.indexOf(':');
        if (colon < 0) continue;
        let mac: number;
        try {
          mac = parseMac(tok.slice(colon + 1));
        } catch {
          return;
        }
        this.add(OFTABLE.PHY_TO_LOG, 180, uuidCookie(c.uuid), new Match().set(ofField('eth_src'), BigInt(mac)), [{ type: 'conjunction', id: 100, clause: 1, nClauses: 2 }], HC_OWNER);
      }
    }
  }

  /** Every physical flow (`physical_run`). */
  run(): void {
    // ovn-controller walks its IDL tables in hash order; where two rows give the same flow key,
    // the first one wins, so the order is part of the result.
    for (const pb of idlOrder([this.sb.portBindings])) this.considerPortBinding(pb);
    for (const mc of idlOrder([this.sb.multicastGroups])) this.considerMcGroup(mc);
    this.fixedFlows();
  }
}

/** `ofpact_put_push_vlan`: push an 802.1Q (or 802.1ad with `ethtype=802.11ad`) tag with VID `tag`. */
function pushVlan(options: ReadonlyMap<string, string> | undefined, tag: number): OfAction[] {
  const et = options?.get('ethtype');
  const ethertype = et && et.toLowerCase() === '802.11ad' ? 0x88a8 : 0x8100;
  return [{ type: 'push_vlan', ethertype }, { type: 'set_field', field: ofField('vlan_vid'), value: BigInt(0x1000 | tag) }];
}

/** Chassis names in the order ovn-controller fans out to them (its string set's hash order). */
function sortedChassis(s: Set<string>): string[] {
  return ssetOrder([...s]);
}
