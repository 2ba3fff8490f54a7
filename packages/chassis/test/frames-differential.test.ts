/**
 * Frames through a cluster against a real multi-chassis OVN cluster (issue 9, item 7): the same
 * topology (fixtures/chassis/cases) runs in real ovn-controller/ovs-vswitchd daemons and in our
 * `ChassisCluster` built from the real southbound database; the same random frames
 * (`ovnTestFrames`: L2, ARP/ND, pings of the router, routed packets with TTL 64 and 1, unknown
 * and spoofed MACs, DHCP, DNS, load balancer VIPs) go into both, one at a time, in the same order;
 * every frame's deliveries per logical port must be byte-identical and its frames on the underlay
 * equal (Geneve between chassis, and localnet physical networks), and tshark must decode our
 * Geneve frames' VNI and OVN option.
 *
 * Documented normalisation (docs/chassis.md): the outer UDP source port of a Geneve frame (OVS
 * draws it from its RSS hash) and so the UDP checksum are masked; gratuitous ARPs and BFD, which
 * real ovn-controller sends on its own timers, are left out on both sides. Under CI two cases
 * run live; CHASSIS_LIVE_ALL=1 runs all; FRAMES_N (default 20) and FRAMES_SEED (default 1) choose
 * the frames.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadSb, type SbDatabase } from '@ovnts/ovn';
import { toHex, u16 } from '@ovnts/packet';
import { Rng, chassisCaseNames, applyChassisCase, ovnTestFrames, readChassisCase, requireOracle, requireTools, startOvnCluster, tsharkRecords, type OvnCluster } from '@ovnts/testkit';
import { ChassisCluster, clusterConfig } from '@ovnts/chassis';
import { caseSettings } from './helpers.js';

const req = requireOracle('chassis frames (live OVN cluster)', 'ovn-sandbox', ['ovn-controller', 'ovn-northd', 'ovs-vswitchd', 'ovsdb-server'], 'apt-get install -y ovn-central ovn-host openvswitch-switch');
const tsh = requireTools('tshark decoding our Geneve frames', ['tshark'], 'apt-get install -y tshark');
const CASES = process.env.CHASSIS_LIVE_ALL ? chassisCaseNames() : ['ls-ports', 'lr-nat'];
const N = Number(process.env.FRAMES_N ?? 20);
const SEED = Number(process.env.FRAMES_SEED ?? 1);

/** The frame a Geneve frame carries (the frame itself otherwise). */
function inner(f: Uint8Array): Uint8Array {
  if (f.length > 50 && u16(f, 12) === 0x0800 && f[23] === 17 && u16(f, 36) === 6081) return f.subarray(50 + (f[42]! & 0x3f) * 4);
  return f;
}

/** Frames real ovn-controller sends on its own timers: gratuitous ARPs, BFD. */
function timerFrame(f0: Uint8Array): boolean {
  const f = inner(f0);
  let o = 12;
  let t = u16(f, o);
  while (t === 0x8100 || t === 0x88a8) {
    o += 4;
    t = u16(f, o);
  }
  if (t === 0x0806 && f.length >= o + 30) return toHex(f.subarray(o + 16, o + 20)) === toHex(f.subarray(o + 26, o + 30));
  return f !== f0 && t === 0x0800 && f[23] === 17 && f.length > 37 && u16(f, 36) === 3784;
}

/** A Geneve frame with the outer UDP source port and checksum masked. */
function masked(f: Uint8Array): string {
  const h = toHex(f);
  if (inner(f) === f) return h;
  return `${h.slice(0, 68)}xxxx${h.slice(72, 80)}xxxx${h.slice(84)}`;
}

describe.skipIf(req.skip)('frames through a cluster vs a real OVN cluster', () => {
  console.log(`frames differential: seed ${SEED} (FRAMES_SEED), ${N} frames per case (FRAMES_N)`);
  for (const name of CASES) {
    describe(name, () => {
      const c = readChassisCase(name);
      let real: OvnCluster | undefined;
      let sb: SbDatabase;
      beforeAll(async () => {
        real = await startOvnCluster({ chassis: c.chassis });
        await applyChassisCase(real, c);
        // Claims, MAC bindings of the gateway ports and BFD settle before the first frame.
        await new Promise((r) => setTimeout(r, 1500));
        await real.discard();
        sb = loadSb(new Uint8Array(await real.sbBackup()));
      }, 120_000);
      afterAll(async () => {
        await real?.stop();
      });

      test('deliveries and underlay frames equal, frame by frame', async () => {
        const ours = new ChassisCluster(sb, clusterConfig(c.map, caseSettings(c), sb));
        const frames = ovnTestFrames(sb, new Set(c.map.bindings.keys()), new Rng(SEED), N);
        expect(frames.length).toBe(N);
        let delivered = 0;
        let tunnelled = 0;
        const geneve: Uint8Array[] = [];
        for (const f of frames) {
          const r = await real!.send(c.map.bindings.get(f.from)!, f.from, f.frame);
          const o = ours.send(f.from, f.frame);
          const rd = r.deliveries.filter((d) => !timerFrame(d.frame)).map((d) => `${d.chassis} ${d.lport} ${toHex(d.frame)}`).sort();
          const od = o.deliveries.filter((d) => !timerFrame(d.frame)).map((d) => `${d.chassis} ${d.port} ${toHex(d.frame)}`).sort();
          const ru = r.underlay.filter((u) => !timerFrame(u.frame)).map((u) => `${u.from} ${masked(u.frame)}`).sort();
          const ou = o.underlay.filter((u) => !timerFrame(u.frame)).map((u) => `${u.from} ${masked(u.frame)}`).sort();
          expect(od, `${name}: deliveries of "${f.what}"`).toEqual(rd);
          expect(ou, `${name}: underlay frames of "${f.what}"`).toEqual(ru);
          delivered += od.length;
          tunnelled += ou.length;
          for (const u of o.underlay) if (u.network === 'geneve') geneve.push(u.frame);
        }
        console.log(`${name}: ${N} frames, ${delivered} deliveries and ${tunnelled} underlay frames identical`);
        expect(delivered).toBeGreaterThan(0);
        if (geneve.length && !tsh.skip) {
          const recs = tsharkRecords(geneve, ['geneve.vni', 'geneve.option.class', 'geneve.option.type']);
          for (const [i, r] of recs.entries()) {
            const vni = Number(r['geneve.vni']);
            expect(sb.datapaths.some((d) => d.tunnelKey === vni), `Geneve frame ${i}: VNI ${vni} is a datapath key`).toBe(true);
            expect(r['geneve.option.class'], `Geneve frame ${i}: OVN option class`).toMatch(/^(0x0102|258)$/);
          }
        }
      }, 300_000);
    });
  }
});
