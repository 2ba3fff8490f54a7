import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BufferIo, DEMO_FILES, main } from '@ovnts/cli';
import { PcapngWriter, PcapWriter } from '@ovnts/capture';
import { geneveTwoNodes, repoRoot, vlanRouterTraffic } from '@ovnts/testkit';

const fixture = join(repoRoot, 'fixtures/captures/geneve-two-nodes.pcapng');
const tmp = mkdtempSync(join(tmpdir(), 'ovnts-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const io = new BufferIo();
  const code = await main(argv, io);
  return { code, out: io.stdout, err: io.stderr };
}

describe('ovnts command line', () => {
  it('prints help and lists commands', async () => {
    const r = await run('--help');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/dissect/);
    expect(r.out).toMatch(/demo/);
    expect((await run()).code).toBe(2);
    expect((await run('dissect', '--help')).out).toMatch(/usage: ovnts dissect \[--json\] FILE/);
  });

  it('rejects bad arguments with exit status 2 and names the problem', async () => {
    const unknown = await run('frobnicate');
    expect(unknown.code).toBe(2);
    expect(unknown.err).toMatch(/unknown command "frobnicate"/);
    const missing = await run('dissect');
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/dissect: missing FILE/);
    const badOpt = await run('dissect', '--jsn', fixture);
    expect(badOpt.code).toBe(2);
    expect(badOpt.err).toMatch(/unknown option --jsn/);
    const extra = await run('dissect', fixture, fixture);
    expect(extra.code).toBe(2);
    expect(extra.err).toMatch(/unexpected argument/);
    const flagValue = await run('dissect', '--json=yes', fixture);
    expect(flagValue.code).toBe(2);
    expect(flagValue.err).toMatch(/--json takes no value/);
    const shortOpt = await run('dissect', '-x', fixture);
    expect(shortOpt.code).toBe(2);
  });

  it('fails cleanly on a missing or corrupt capture, naming the offset', async () => {
    const none = await run('dissect', join(tmp, 'nope.pcap'));
    expect(none.code).toBe(1);
    expect(none.err).toMatch(/cannot read .*nope\.pcap: ENOENT/);
    const bad = join(tmp, 'bad.pcap');
    writeFileSync(bad, Buffer.from('this is not a capture file at all'));
    const r = await run('dissect', bad);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/magic/i);
    expect(r.err).toMatch(/offset 0/);
    // A capture cut in the middle of a record: frames before the cut are printed, then the error.
    const whole = readFileSync(fixture);
    const cut = join(tmp, 'cut.pcapng');
    writeFileSync(cut, whole.subarray(0, whole.length - 40));
    const c = await run('dissect', '--json', cut);
    expect(c.code).toBe(1);
    expect(c.out.trim().split('\n')).toHaveLength(13);
    expect(c.err).toMatch(/offset \d+ \(after 13 frames\)/);
  });

  it('dissects the fixture: one JSON object per frame with the OVN option decoded', async () => {
    const r = await run('dissect', '--json', fixture);
    expect(r.code).toBe(0);
    const lines = r.out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(14);
    expect(lines[0]).toEqual({
      index: 1,
      len: 111,
      layers: [
        { layer: 'eth', src: '02:42:ac:12:00:02', dst: '02:42:ac:12:00:03', type: 0x0800 },
        { layer: 'ipv4', src: '172.18.0.2', dst: '172.18.0.3', ttl: 64, proto: 17 },
        { layer: 'udp', src: expect.any(Number), dst: 6081, len: 77 },
        {
          layer: 'geneve', vni: 4, protocol: 0x6558,
          options: [{ class: 0x0102, type: 0x80, data: '00020003' }],
          ovn: { ingressPort: 2, egressPort: 3 },
        },
        { layer: 'eth', src: '0a:58:64:58:00:02', dst: '0a:58:64:58:00:03', type: 0x0800 },
        { layer: 'ipv4', src: '10.244.0.5', dst: '10.244.1.7', ttl: 63, proto: 1 },
        { layer: 'icmp', type: 8, code: 0 },
      ],
    });
    const dns = lines[9]!.layers as Record<string, unknown>[];
    expect(dns[dns.length - 1]).toEqual({ layer: 'dns', id: 0x4f1e, qr: 0, questions: ['kubernetes.default.svc.cluster.local'] });
    const v6 = lines[11]!.layers as Record<string, unknown>[];
    expect(v6.find((l) => l.layer === 'ipv6')).toMatchObject({ src: 'fd00:10:244:1::5', dst: 'fd00:10:244:2::7', hlim: 63, next: 58 });
    const vx = lines[12]!.layers as Record<string, unknown>[];
    expect(vx.map((l) => l.layer)).toEqual(['eth', 'ipv4', 'udp', 'vxlan', 'eth', 'ipv4', 'tcp']);
    const last = lines[13]!;
    expect(last.caplen).toBe(96);
    expect(last.error).toEqual({ layer: 'tcp', code: 'Truncated', offset: 92 });
  });

  it('prints a tshark-like summary line per frame', async () => {
    const r = await run('dissect', fixture);
    const lines = r.out.trim().split('\n');
    expect(lines).toHaveLength(14);
    expect(lines[2]).toMatch(/^\s+3\s+0\.002000 10\.244\.0\.5 → 10\.244\.1\.7\s+TCP\s+112 43210 → 8080 \[SYN\] Seq=1000 Win=64240 Len=0 \[Geneve VNI 4, OVN ingress 2 egress 3\]$/);
    expect(lines[13]).toMatch(/\[Malformed: tcp Truncated at offset 92\]$/);
  });

  it('reports frames of an unsupported link type instead of misreading them', async () => {
    const w = new PcapWriter({ linkType: 105 }); // IEEE 802.11
    w.write({ data: Uint8Array.from([0x45, 0, 0, 20]) });
    w.end();
    const raw = join(tmp, 'raw.pcap');
    writeFileSync(raw, w.toBuffer());
    const r = await run('dissect', '--json', raw);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ index: 1, layers: [], error: { layer: 'link', code: 'Unsupported' } });
  });

  it('northd prints the logical flows real ovn-northd computed for the same NB (uuids aside)', async () => {
    const mask = (t: string) => t.replace(/\([0-9a-f]{8}-[0-9a-f-]{27}\)/g, '(UUID)');
    const nb = join(repoRoot, 'fixtures/northd/lr-basic.nb.db');
    const r = await run('northd', '--nb', nb);
    expect(r.code).toBe(0);
    expect(mask(r.out)).toBe(mask(readFileSync(join(repoRoot, 'fixtures/northd/lr-basic.lflows.txt'), 'utf8')));
    const sw = await run('northd', '--nb', nb, '--switches-only');
    expect(sw.out).not.toMatch(/lr_in_/);
    expect(sw.out).toMatch(/ls_in_port_sec_l2|ls_in_check_port_sec/);
  });

  it('northd names the problem in a bad NB file', async () => {
    const bad = join(tmp, 'bad.db');
    writeFileSync(bad, 'OVSDB JSON 5 0000000000000000000000000000000000000000\n{}\n');
    const r = await run('northd', '--nb', bad);
    expect(r.code).toBe(1);
    // The file and the place in it; no class name of ours (it used to say "NbError: ...").
    expect(r.err).toBe(`ovnts northd: ${bad}: record 0, byte offset 0: record length 5 runs past the end of the file (3 bytes left)\n`);
    expect((await run('northd')).code).toBe(2);
  });

  it('ovn-trace refuses bad arguments and names unknown datapaths like ovn-trace', async () => {
    const nb = join(repoRoot, 'fixtures/nb/demo.db');
    const two = await run('ovn-trace', '--nb', nb, '--minimal', '--summary', 'sw0', 'inport=="vm1"');
    expect(two.code).toBe(2);
    expect(two.err).toMatch(/at most one of --minimal, --summary, --detailed/);
    expect((await run('ovn-trace', 'sw0', 'inport=="vm1"')).code).toBe(2);
    expect((await run('ovn-trace', '--nb', nb, '--select-id', 'x', 'inport=="vm1"')).err).toMatch(/--select-id: "x" is not a number/);
    const dp = await run('ovn-trace', '--nb', nb, 'sw9', 'inport=="vm1"');
    expect(dp.code).toBe(1);
    expect(dp.err).toBe('ovnts ovn-trace: unknown datapath "sw9"\n');
    const ok = await run('ovn-trace', '--nb', nb, '--minimal', 'inport=="vm1" && eth.src==00:00:00:00:00:01 && eth.dst==00:00:00:00:00:02 && ip4.src==10.0.0.11 && ip4.dst==10.0.0.12 && ip.ttl==64 && udp');
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/output\("vm2"\);/);
  });

  it('runs each part of the demo, and refuses a bad part', async () => {
    const p2 = await run('demo', '--part', '2');
    expect(p2.code).toBe(0);
    expect(p2.out).toMatch(/port 4: TCP +10\.0\.10\.1 → 192\.0\.2\.7/);
    expect(p2.out).toMatch(/Datapath actions: .*,4\n/);
    const p3 = await run('demo', '--part', '3');
    expect(p3.out).toMatch(/output\("vm3"\);/);
    expect(p3.out).toMatch(/\d+ logical flows/);
    expect((await run('demo', '--part', '4')).code).toBe(2);
  });

  it('the demo reads its fixtures from its own package, from any folder (issue 8 item 6)', () => {
    const pkg = join(repoRoot, 'packages/cli');
    for (const f of Object.values(DEMO_FILES)) {
      expect(f.startsWith(join(pkg, 'fixtures') + '/')).toBe(true);
      // The repository's fixtures/ path is a link to the same file, so README commands keep working.
      const repoPath = join(repoRoot, 'fixtures', f.slice(join(pkg, 'fixtures').length + 1));
      expect(realpathSync(repoPath)).toBe(realpathSync(f));
    }
    const files = (JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')) as { files: string[] }).files;
    expect(files).toContain('fixtures');
    const away = spawnSync(process.execPath, [join(pkg, 'dist/main.js'), 'demo', '--part', '2'], { cwd: tmp, encoding: 'utf8' });
    expect(away.status, away.stderr).toBe(0);
    expect(away.stdout).toContain(`${join(pkg, 'fixtures/openflow/vlan-router.flows')} (OpenFlow 1.5 semantics`);
  });

  it('runs the demo on the fixture', async () => {
    const r = await run('demo');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/14 frames/);
    expect(r.out).toMatch(/== 2\. OpenFlow/);
    expect(r.out).toMatch(/== 3\. OVN/);
    expect(r.out).toMatch(/Standard query 0x4f1e A kubernetes\.default\.svc\.cluster\.local/);
  });

  it('the committed fixture captures are exactly what the generators make (scripts/make-fixtures.mjs)', () => {
    const w = new PcapngWriter({ byteOrder: 'le', interfaces: [{ linkType: 1, name: 'underlay', snaplen: 262144 }] });
    for (const f of geneveTwoNodes()) w.write(f);
    w.end();
    expect(Buffer.from(w.toBuffer()).equals(readFileSync(fixture))).toBe(true);
    for (const [port, frames] of Object.entries(vlanRouterTraffic())) {
      const p = new PcapWriter({ linkType: 1, byteOrder: 'le' });
      for (const f of frames) p.write(f);
      p.end();
      expect(Buffer.from(p.toBuffer()).equals(readFileSync(join(repoRoot, `fixtures/captures/vlan-router-in${port}.pcap`))), `vlan-router-in${port}.pcap`).toBe(true);
    }
  });

  it('the built binary runs and survives a closed pipe', () => {
    const bin = join(repoRoot, 'packages/cli/bin/ovnts.js'); // the installed bin shim
    const out = execFileSync('sh', ['-c', `node "${bin}" dissect --json "${fixture}" | head -1`], { encoding: 'utf8' });
    expect(JSON.parse(out).index).toBe(1);
    const r = spawnSync(process.execPath, [bin, 'dissect'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/missing FILE/);
  });
});
