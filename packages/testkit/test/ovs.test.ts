import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OvsOracleError, parseOfctlStderr, pidAlive, requireTools, startOvs, type OvsFrame, type OvsOracle } from '@ovnts/testkit';

const req = requireTools('ovs', ['ovs-vswitchd', 'ovs-ofctl', 'ovs-appctl', 'ovs-vsctl', 'ovsdb-server'], 'apt-get install -y openvswitch-switch');

/** An IPv4/UDP frame (checksums zero: OVS does not verify them) with destination port `dport` and a tag. */
function udp(dport: number, tag: number, src = 1): Uint8Array {
  const b = new Uint8Array(64);
  b.set([0x02, 0, 0, 0, 0, 0x99, 0x02, 0, 0, 0, 0, src, 0x08, 0x00], 0);
  b.set([0x45, 0, 0, 50, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, src, 10, 0, 0, 2], 14);
  b[34] = 0x30;
  b[35] = 0x39; // sport 12345
  b[36] = dport >> 8;
  b[37] = dport & 0xff;
  b[38] = 0;
  b[39] = 30;
  b[42] = tag & 0xff;
  b[43] = (tag >> 8) & 0xff;
  // IPv4 header checksum (conntrack refuses frames with a bad one); UDP checksum 0 = none.
  let sum = 0;
  for (let i = 14; i < 34; i += 2) sum += (b[i]! << 8) | b[i + 1]!;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
  const c = ~sum & 0xffff;
  b[24] = c >> 8;
  b[25] = c & 0xff;
  return b;
}

/** A tiny deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('parseOfctlStderr', () => {
  it('names switch errors, bundle errors and ovs-ofctl refusals', () => {
    const sw = parseOfctlStderr('OFPT_ERROR (OF1.5) (xid=0x6): OFPBAC_BAD_OUT_GROUP\nOFPT_FLOW_MOD (OF1.5) (xid=0x6): ADD actions=group:1\n', false);
    expect(sw).toMatchObject({ ok: false, error: 'OFPBAC_BAD_OUT_GROUP', source: 'switch' });
    expect(sw.message).toContain('ADD actions=group:1');
    const bundle = parseOfctlStderr('Error OFPBAC_BAD_OUT_GROUP for: OFPT_FLOW_MOD (OF1.5) (xid=0x7): ADD in_port=1 actions=group:9\nError OFPBFC_MSG_FAILED for: OFPT_BUNDLE_CONTROL\n', false);
    expect(bundle.error).toBe('OFPBAC_BAD_OUT_GROUP');
    const cl = parseOfctlStderr(
      '2026-11-25T23:55:08Z|00001|ofp_actions|WARN|set_field ip_src lacks correct prerequisites\novs-ofctl: -:3: actions are invalid with specified match (OFPBAC_MATCH_INCONSISTENT)\n',
      false,
    );
    expect(cl).toMatchObject({ error: 'OFPBAC_MATCH_INCONSISTENT', source: 'ovs-ofctl', line: 3 });
    expect(cl.warnings).toEqual(['ofp_actions: set_field ip_src lacks correct prerequisites']);
    expect(parseOfctlStderr('ovs-ofctl: -:2: unknown action foo\n', false)).toMatchObject({ error: 'OFCTL_PARSE', line: 2 });
    const norm = parseOfctlStderr(
      '2026-11-25T23:54:56Z|00001|ofp_match|INFO|normalization changed ofp_match, details:\n2026-11-25T23:54:56Z|00002|ofp_match|INFO| pre: nw_src=1.2.3.4\n2026-11-25T23:54:56Z|00003|ofp_match|INFO|post: \n',
      true,
    );
    expect(norm.ok).toBe(true);
    expect(norm.warnings).toEqual(['ofp_match: normalization changed ofp_match, details: pre: nw_src=1.2.3.4 post:']);
  });
});

describe.skipIf(req.skip)('OVS oracle', () => {
  let ovs: OvsOracle;
  let nb = 0;
  /** A fresh bridge with its own port-name prefix. */
  const bridge = async (ports: number[], extra: { markers?: boolean } = {}) => {
    const n = nb++;
    const b = await ovs.bridge(`tb${n}`, { ports, portPrefix: `t${n}p`, ...extra });
    return b.name;
  };

  beforeAll(async () => {
    ovs = await startOvs();
  });
  afterAll(async () => {
    await ovs?.stop();
  });

  it('start and stop leave no process and no directory', async () => {
    const o = await startOvs();
    const { ovsdbServer, vswitchd } = o.pids;
    expect(ovsdbServer).toBeGreaterThan(0);
    expect(vswitchd).toBeGreaterThan(0);
    expect(pidAlive(ovsdbServer) && pidAlive(vswitchd)).toBe(true);
    expect(await o.appctl('version')).toMatch(/Open vSwitch/);
    await o.stop();
    expect(pidAlive(ovsdbServer)).toBe(false);
    expect(pidAlive(vswitchd)).toBe(false);
    expect(existsSync(o.dir)).toBe(false);
    await expect(o.appctl('version')).rejects.toThrow(OvsOracleError);
  });

  it('a flow that outputs to two ports gives the frame on both', async () => {
    const br = await bridge([1, 2, 3, 4]);
    expect((await ovs.addFlows(br, 'in_port=1 actions=output:2,output:3\n')).ok).toBe(true);
    const f = udp(53, 7);
    const [r] = await ovs.inject(br, 1, f);
    expect(r!.outputs[2]).toEqual([f]);
    expect(r!.outputs[3]).toEqual([f]);
    expect(r!.outputs[1]).toEqual([]);
    expect(r!.outputs[4]).toEqual([]);
    // The marker flows stay hidden.
    expect(await ovs.dumpFlows(br)).toEqual(['in_port=1 actions=output:2,output:3']);
  });

  it('attributes outputs per frame in long mixed batches (markers agree with the barrier mode)', async () => {
    // tp_dst selects the outputs: drop, one port, two ports, in_port, a VLAN push, FLOOD-like lists.
    const flows = [
      'udp,tp_dst=0 actions=drop',
      'udp,tp_dst=1 actions=output:1',
      'udp,tp_dst=2 actions=output:2,output:3',
      'udp,tp_dst=3 actions=in_port',
      'udp,tp_dst=4 actions=push_vlan:0x8100,set_field:4101->vlan_vid,output:4',
      'udp,tp_dst=5 actions=output:1,output:2,output:3,output:4',
      'udp,tp_dst=6 actions=dec_ttl,output:3',
      'udp,tp_dst=7 actions=output:4,output:4',
    ].join('\n');
    const marked = await bridge([1, 2, 3, 4]);
    const plain = await bridge([1, 2, 3, 4], { markers: false });
    for (const br of [marked, plain]) expect((await ovs.addFlows(br, flows)).ok).toBe(true);
    const rand = rng(42);
    const frames: OvsFrame[] = [];
    for (let i = 0; i < 300; i++) {
      const port = 1 + Math.floor(rand() * 4);
      // Runs of the same port and frequent switches.
      const run = 1 + Math.floor(rand() * 6);
      for (let k = 0; k < run && frames.length < 300; k++) frames.push({ port, bytes: udp(Math.floor(rand() * 8), frames.length, port) });
    }
    const a = await ovs.runFrames(marked, frames);
    const b = await ovs.runFrames(plain, frames.slice(0, 60));
    expect(a.slice(0, 60)).toEqual(b);
    a.forEach((r, i) => {
      const f = frames[i]!;
      const d = f.bytes[37]!;
      const n = (p: number) => r.outputs[p]!.length;
      const expected: Record<number, number> = { 1: 0, 2: 0, 3: 0, 4: 0 };
      if (d === 1 && f.port !== 1) expected[1] = 1;
      if (d === 2) for (const p of [2, 3]) if (p !== f.port) expected[p] = 1;
      if (d === 3) expected[f.port] = 1;
      if (d === 4 && f.port !== 4) expected[4] = 1;
      if (d === 5) for (const p of [1, 2, 3, 4]) if (p !== f.port) expected[p] = 1;
      if (d === 6 && f.port !== 3) expected[3] = 1;
      if (d === 7 && f.port !== 4) expected[4] = 2;
      expect({ i, n: [n(1), n(2), n(3), n(4)] }).toEqual({ i, n: [expected[1], expected[2], expected[3], expected[4]] });
      // Every output carries the injected frame's tag (bytes 42-43, shifted by 4 after push_vlan).
      const off = d === 4 ? 46 : 42;
      for (const p of [1, 2, 3, 4]) for (const o of r.outputs[p]!) expect(o[off] | (o[off + 1]! << 8)).toBe(i);
      if (d === 4 && f.port !== 4) expect([...r.outputs[4]![0]!.subarray(12, 16)]).toEqual([0x81, 0x00, 0x00, 0x05]);
      if (d === 6 && f.port !== 3) expect(r.outputs[3]![0]![22]).toBe(63);
    });
  });

  it('reorder gives the same results as in-order injection for a stateless table', async () => {
    const br = await bridge([1, 2, 3]);
    await ovs.addFlows(br, 'udp,tp_dst=1 actions=output:1,output:2\nudp,tp_dst=2 actions=in_port,output:3\n');
    const frames: OvsFrame[] = Array.from({ length: 50 }, (_, i) => ({ port: 1 + (i % 3), bytes: udp(1 + (i % 2), i, 1 + (i % 3)) }));
    expect(await ovs.runFrames(br, frames, { reorder: true })).toEqual(await ovs.runFrames(br, frames));
  });

  it('reports the error OVS or ovs-ofctl gives for a refused flow', async () => {
    const br = await bridge([1, 2]);
    const noGroup = await ovs.addFlows(br, 'in_port=1 actions=group:5');
    expect(noGroup).toMatchObject({ ok: false, error: 'OFPBAC_BAD_OUT_GROUP', source: 'switch' });
    const inconsistent = await ovs.addFlows(br, 'in_port=1 actions=output:2\nin_port=2 actions=set_field:10.0.0.1->ip_src');
    expect(inconsistent).toMatchObject({ ok: false, error: 'OFPBAC_MATCH_INCONSISTENT', source: 'ovs-ofctl', line: 2 });
    const popNoVlan = await ovs.addFlows(br, 'in_port=1 actions=pop_vlan,output:2');
    expect(popNoVlan).toMatchObject({ ok: false, error: 'OFCTL_UNUSABLE_FORMAT', source: 'ovs-ofctl' });
    expect(await ovs.addFlows(br, 'in_port=1 actions=frobnicate')).toMatchObject({ ok: false, error: 'OFCTL_PARSE', line: 1 });
    expect(await ovs.addFlows(br, 'in_port=1 actions=goto_table:0')).toMatchObject({ ok: false, error: 'OFPBIC_BAD_TABLE_ID', source: 'switch' });
    // A match field without its prerequisite is not refused: ovs-ofctl drops it (the flow matches more).
    const norm = await ovs.addFlows(br, 'nw_src=10.0.0.1 actions=drop');
    expect(norm.ok).toBe(true);
    expect(norm.warnings.join('\n')).toMatch(/normalization changed ofp_match.*pre: nw_src=10\.0\.0\.1/);
    expect(await ovs.dumpFlows(br)).toEqual(['actions=drop']);
    // Atomic bundles: nothing of a refused batch stays.
    await ovs.delFlows(br);
    const bundled = await ovs.addFlows(br, 'in_port=2 actions=output:1\nin_port=1 actions=group:9', { bundle: true });
    expect(bundled).toMatchObject({ ok: false, error: 'OFPBAC_BAD_OUT_GROUP' });
    expect(await ovs.dumpFlows(br)).toEqual([]);
  });

  it('replaces and deletes flows while keeping attribution working', async () => {
    const br = await bridge([1, 2]);
    await ovs.addFlows(br, 'in_port=1 actions=output:2\n');
    expect((await ovs.replaceFlows(br, 'priority=5,in_port=1 actions=in_port\n')).ok).toBe(true);
    expect(await ovs.dumpFlows(br)).toEqual(['priority=5,in_port=1 actions=IN_PORT']);
    let [r] = await ovs.inject(br, 1, udp(1, 1));
    expect([r!.outputs[1]!.length, r!.outputs[2]!.length]).toEqual([1, 0]);
    await ovs.delFlows(br);
    expect(await ovs.dumpFlows(br)).toEqual([]);
    [r] = await ovs.inject(br, 1, udp(1, 2));
    expect([r!.outputs[1]!.length, r!.outputs[2]!.length]).toEqual([0, 0]);
    await ovs.addFlows(br, 'in_port=1,udp actions=output:2\nin_port=2 actions=output:1\n');
    await ovs.delFlows(br, 'in_port=2');
    expect(await ovs.dumpFlows(br)).toEqual(['udp,in_port=1 actions=output:2']);
    const stats = await ovs.dumpFlows(br, { stats: true });
    // The frame dropped before the flow existed is not credited to it (settleStats), and
    // counters are exact right after a run (no wait for the revalidators).
    expect(stats.length).toBe(1);
    expect(stats[0]).toMatch(/n_packets=0,.*udp,in_port=1 actions=output:2$/);
    await ovs.inject(br, 1, [udp(1, 3), udp(1, 4), udp(1, 5)]);
    expect((await ovs.dumpFlows(br, { stats: true }))[0]).toMatch(/n_packets=3,/);
  });

  it('groups work (type all and indirect)', async () => {
    const br = await bridge([1, 2, 3]);
    const g = await ovs.addGroups(br, 'group_id=1,type=all,bucket=output:2,bucket=output:3\ngroup_id=2,type=indirect,bucket=actions=mod_dl_dst:02:00:00:00:00:07,output:3\n');
    expect(g.ok).toBe(true);
    expect((await ovs.addFlows(br, 'udp,tp_dst=1 actions=group:1\nudp,tp_dst=2 actions=group:2\n')).ok).toBe(true);
    const [a, b] = await ovs.inject(br, 1, [udp(1, 1), udp(2, 2)]);
    expect([a!.outputs[2]!.length, a!.outputs[3]!.length]).toEqual([1, 1]);
    expect(b!.outputs[3]!.length).toBe(1);
    expect([...b!.outputs[3]![0]!.subarray(0, 6)]).toEqual([2, 0, 0, 0, 0, 7]);
    const groups = await ovs.dumpGroups(br);
    expect(groups.some((l) => l.startsWith('group_id=1,type=all'))).toBe(true);
    expect((await ovs.delGroups(br, 'group_id=2')).ok).toBe(true);
    expect((await ovs.dumpGroups(br)).length).toBe(1);
  });

  it('trace returns ofproto/trace text for a microflow and for a frame', async () => {
    const br = await bridge([1, 2]);
    await ovs.addFlows(br, 'in_port=1,udp actions=output:2\n');
    // ofproto/trace's flow parser wants udp_dst/tcp_dst: `tp_dst` fails with "prerequisites not met".
    await expect(ovs.trace(br, 'in_port=1,udp,nw_dst=10.0.0.2,tp_dst=53')).rejects.toThrow(/prerequisites not met/);
    const t1 = await ovs.trace(br, 'in_port=1,udp,nw_dst=10.0.0.2,udp_dst=53');
    expect(t1).toContain('Datapath actions');
    expect(t1).toMatch(/output:2/);
    const t2 = await ovs.trace(br, { port: 1, bytes: udp(53, 1) });
    expect(t2).toContain('Datapath actions');
    expect(t2).toContain('udp,in_port=1');
    await expect(ovs.trace(br, 'in_port=1,bogus_field=3')).rejects.toThrow(/ofproto\/trace/);
  });

  it('rejects frames for an unknown port, too short frames and unknown bridges with a clear error', async () => {
    const br = await bridge([1, 2]);
    expect(() => ovs.inject(br, 9, udp(1, 1))).toThrow(/has no port 9 \(ports: 1, 2\)/);
    expect(() => ovs.inject(br, 1, new Uint8Array(10))).toThrow(/at least an Ethernet header/);
    expect(() => ovs.inject('nope', 1, udp(1, 1))).toThrow(OvsOracleError);
    await expect(ovs.bridge('x', { ports: [0] })).rejects.toThrow(/not in 1\.\.65279/);
  });

  it('tracks connections (ct) and flushes them', async () => {
    const br = await bridge([1, 2]);
    await ovs.addFlows(br, 'table=0,ip,actions=ct(commit,zone=7),output:2\n');
    await ovs.ctFlush();
    const [r] = await ovs.inject(br, 1, udp(53, 1));
    expect(r!.outputs[2]!.length).toBe(1);
    const ct = await ovs.dumpConntrack();
    expect(ct.length).toBe(1);
    expect(ct[0]).toMatch(/^udp,orig=\(src=10\.0\.0\.1,dst=10\.0\.0\.2,sport=12345,dport=53\).*zone=7/);
    await ovs.ctFlush(7);
    expect(await ovs.dumpConntrack()).toEqual([]);
  });

  it('virtualises conntrack timeouts with time/stop and time/warp', async () => {
    // Last in the suite's use of this daemon's clock: once stopped it stays stopped.
    const o = await startOvs();
    try {
      await o.bridge('ct', { ports: [1, 2] });
      await o.addFlows('ct', 'ip,actions=ct(commit),output:2\n');
      await o.timeStop();
      await o.inject('ct', 1, udp(53, 1));
      const before = await o.dumpConntrack();
      expect(before.length).toBe(1);
      const timeout = Number(/timeout=(\d+)/.exec((await o.appctl('dpctl/dump-conntrack', '-s')).trim())![1]);
      await o.timeWarp((timeout - 5) * 1000);
      expect(await o.dumpConntrack()).toEqual(before);
      await o.timeWarp(10_000);
      expect(await o.dumpConntrack()).toEqual([]);
    } finally {
      await o.stop();
    }
  });

  it('pushes 1000-frame batches (timing printed)', async () => {
    const br = await bridge([1, 2, 3, 4]);
    await ovs.addFlows(br, 'udp,tp_dst=1 actions=output:2,output:3\nudp,tp_dst=2 actions=drop\nudp,tp_dst=3 actions=output:4\n');
    const rand = rng(7);
    const samePort: OvsFrame[] = Array.from({ length: 1000 }, (_, i) => ({ port: 1, bytes: udp(1 + (i % 3), i) }));
    const mixed: OvsFrame[] = Array.from({ length: 1000 }, (_, i) => ({ port: 1 + Math.floor(rand() * 4), bytes: udp(1 + (i % 3), i) }));
    await ovs.runFrames(br, samePort.slice(0, 100)); // warm up (megaflows)
    const time = async (label: string, f: () => Promise<unknown>) => {
      const t = performance.now();
      await f();
      const ms = performance.now() - t;
      console.log(`[ovs oracle] 1000 frames, ${label}: ${ms.toFixed(0)} ms = ${Math.round(1e6 / ms)} frames/s`);
    };
    let res: Awaited<ReturnType<OvsOracle['runFrames']>> = [];
    await time('one ingress port', async () => (res = await ovs.runFrames(br, samePort)));
    expect(res.filter((r) => r.outputs[2]!.length === 1).length).toBe(334);
    await time('random ingress ports, in order', () => ovs.runFrames(br, mixed));
    await time('random ingress ports, reorder', () => ovs.runFrames(br, mixed, { reorder: true }));
  }, 60_000);
});
