// Issue 14, items 7 and 9: the recipes of the adversarial pass against the command line, each
// reproduced as it was reported. Each case says what happened before.
import { spawnSync } from 'node:child_process';
import { existsSync, linkSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { BufferIo, main } from '@ovnts/cli';
import { PcapWriter } from '@ovnts/capture';
import { repoRoot } from '@ovnts/testkit';

const tmp = mkdtempSync(join(tmpdir(), 'ovnts-hostile-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const FLOWS = join(repoRoot, 'fixtures/openflow/vlan-router.flows');
const GROUPS = join(repoRoot, 'fixtures/openflow/vlan-router.groups');
const IN1 = join(repoRoot, 'fixtures/captures/vlan-router-in1.pcap');
const CLI = join(repoRoot, 'packages/cli/dist/main.js');

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const io = new BufferIo();
  const code = await main(argv, io);
  return { code, out: io.stdout, err: io.stderr };
}

const replayArgs = (inPath: string, outDir: string, ...more: string[]): string[] =>
  ['replay', '--flows', FLOWS, '--groups', GROUPS, '--ports', '1-4', '--in', `1=${inPath}`, '--out-dir', outDir, ...more];

/** No message of ours names one of our classes (`NbError: ...`, `TextParseError: ...`). */
const noClassNames = (text: string): void => expect(text).not.toMatch(/\b[A-Z][A-Za-z]*(Error|Exception)\b:/);

describe('replay never loses a file (item 7)', () => {
  it('refuses to overwrite its own input: replay --in 1=D/2.pcap --out-dir D', async () => {
    // Before: D/2.pcap was replaced by port 2's output, the capture lost.
    const d = join(tmp, 'own');
    mkdirSync(d);
    const input = join(d, '2.pcap');
    writeFileSync(input, readFileSync(IN1));
    const before = readFileSync(input);
    for (const force of [[], ['--force']]) {
      const r = await run(...replayArgs(input, d, ...force));
      expect(r.code).toBe(2);
      expect(r.err).toMatch(new RegExp(`output ${d}/2\\.pcap is the input ${d}/2\\.pcap; it would be overwritten`));
      expect(readFileSync(input).equals(before)).toBe(true);
      expect(existsSync(join(d, '1.pcap'))).toBe(false); // nothing written at all
    }
  });

  it('sees the same file through a symlink, a hard link and a relative path', async () => {
    const d = join(tmp, 'links');
    mkdirSync(d);
    const real = join(tmp, 'capture.pcap');
    writeFileSync(real, readFileSync(IN1));
    symlinkSync(real, join(d, '3.pcap'));
    linkSync(real, join(d, '4.pcap'));
    const viaSymlink = await run(...replayArgs(real, d, '--force'));
    expect(viaSymlink.code).toBe(2);
    expect(viaSymlink.err).toMatch(/is the input/);
    rmSync(join(d, '3.pcap'));
    const viaLink = await run(...replayArgs(real, d, '--force'));
    expect(viaLink.err).toMatch(new RegExp(`output ${d}/4\\.pcap is the input`));
    const cwd = process.cwd();
    process.chdir(tmp);
    try {
      const rel = await run(...replayArgs('capture.pcap', 'links', '--force'));
      expect(rel.code).toBe(2);
    } finally {
      process.chdir(cwd);
    }
    expect(readFileSync(real).equals(readFileSync(IN1))).toBe(true);
  });

  it('refuses to overwrite any existing file without --force, and does with it', async () => {
    const d = join(tmp, 'twice');
    expect((await run(...replayArgs(IN1, d))).code).toBe(0);
    const again = await run(...replayArgs(IN1, d));
    expect(again.code).toBe(1);
    expect(again.err).toBe(`ovnts replay: ${d}/1.pcap exists; not overwriting it without --force\n`);
    const forced = await run(...replayArgs(IN1, d, '--force'));
    expect(forced.code).toBe(0);
    expect(forced.out).toMatch(/replayed 5 frames/);
  });

  it('says when --out-dir names a file, or a path through one', async () => {
    // Before: "cannot create D/file: EEXIST".
    const file = join(tmp, 'a-file');
    writeFileSync(file, 'x');
    const r = await run(...replayArgs(IN1, file));
    expect(r.code).toBe(2);
    expect(r.err.split('\n')[0]).toBe(`ovnts replay: --out-dir ${file}: a file, not a directory`);
    const through = await run(...replayArgs(IN1, join(file, 'sub')));
    expect(through.code).toBe(2);
    expect(through.err).toMatch(/a path through a file, not a directory/);
    expect(readFileSync(file, 'utf8')).toBe('x');
  });

  it('/proc/... neither hangs nor crashes: as input, as flows, as --out-dir', async () => {
    // Before: `--in 1=/proc/kmsg` blocked forever; `--out-dir /proc/self` was an internal error (exit 70).
    const blocking = existsSync('/proc/kmsg') ? '/proc/kmsg' : '/proc/self/status';
    const input = await run(...replayArgs(blocking, join(tmp, 'p1')));
    expect(input.code).toBe(1);
    expect(input.err).toMatch(new RegExp(`${blocking}: capture: (empty file|bad magic|.*)`));
    const flows = await run('of-trace', '--flows', blocking, 'in_port=1');
    expect([0, 1]).toContain(flows.code);
    const out = await run(...replayArgs(IN1, '/proc/self'));
    expect(out.code).toBe(1);
    expect(out.err).toMatch(/^ovnts replay: cannot write \/proc\/self\/1\.pcap: /);
    const dev = await run(...replayArgs('/dev/zero', join(tmp, 'p2')));
    expect(dev.code).toBe(1);
    expect(dev.err).toBe('ovnts replay: cannot read capture /dev/zero: a character device, not a regular file or a pipe\n');
    const dir = await run('dissect', tmp);
    expect(dir.code).toBe(1);
    expect(dir.err).toMatch(/a directory, not a regular file/);
    noClassNames(input.err + out.err + dev.err + dir.err);
  }, 20_000);
});

describe('command-line polish (item 9)', () => {
  const nb = join(repoRoot, 'fixtures/nb/demo.db');
  const mf = 'inport=="vm1" && eth.src==00:00:00:00:00:01 && eth.dst==00:00:00:00:ff:01 && ip4.src==10.0.0.11 && ip4.dst==10.0.1.13 && ip.ttl==64 && tcp && tcp.dst==80';

  it('ovn-trace --lb-dst=notanip and --ct=bogus are bad command lines (exit 2), said once', async () => {
    // Before: exit 1 and "ovnts ovn-trace: ovn-trace: notanip: bad address".
    const lb = await run('ovn-trace', '--nb', nb, '--lb-dst=notanip', 'sw0', mf);
    expect(lb.code).toBe(2);
    expect(lb.err.split('\n')[0]).toBe('ovnts ovn-trace: --lb-dst: "notanip" is not an IP address with an optional port (10.0.0.5, 10.0.0.5:80, [fd00::5]:80)');
    const ct = await run('ovn-trace', '--nb', nb, '--ct=bogus', 'sw0', mf);
    expect(ct.code).toBe(2);
    expect(ct.err.split('\n')[0]).toBe('ovnts ovn-trace: --ct: bogus: unknown connection tracking state flag');
    for (const e of [lb.err, ct.err]) expect(e).not.toMatch(/ovn-trace: ovn-trace:/);
    // Good values still work.
    expect((await run('ovn-trace', '--nb', nb, '--minimal', '--lb-dst=10.0.1.13:80', '--ct=new', 'sw0', mf)).code).toBe(0);
  });

  it('no internal class names in messages', async () => {
    const bad = join(tmp, 'bad.db');
    writeFileSync(bad, '{');
    const r = await run('northd', '--nb', bad);
    expect(r.code).toBe(1);
    expect(r.err).toBe(`ovnts northd: ${bad}: record 0, byte offset 0: not valid JSON (Expected property name or '}' in JSON at position 1)\n`);
    const flows = join(tmp, 'bad.flows');
    writeFileSync(flows, 'in_port=1,actions=output:nosuch\n');
    const ot = await run('of-trace', '--flows', flows, 'in_port=1');
    const cap = join(tmp, 'bad.pcap');
    writeFileSync(cap, 'not a capture at all');
    const ds = await run('dissect', cap);
    for (const e of [r.err, ot.err, ds.err]) noClassNames(e);
  });

  it('ovnts --version', async () => {
    const v = await run('--version');
    expect(v.code).toBe(0);
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'packages/cli/package.json'), 'utf8')) as { version: string };
    expect(v.out).toBe(`ovnts ${pkg.version}\n`);
    expect((await run('--help')).out).toMatch(/--version/);
  });

  it('dissect - reads standard input (in-process and as a process)', async () => {
    const bytes = readFileSync(IN1);
    const fromFile = await run('dissect', '--json', IN1);
    const io = new BufferIo(Readable.from([bytes.subarray(0, 30), bytes.subarray(30)]));
    expect(await main(['dissect', '--json', '-'], io)).toBe(0);
    expect(io.stdout).toBe(fromFile.out);
    const p = spawnSync(process.execPath, [CLI, 'dissect', '-'], { input: bytes, encoding: 'utf8' });
    expect(p.status).toBe(0);
    expect(p.stdout).toBe((await run('dissect', IN1)).out);
    const empty = spawnSync(process.execPath, [CLI, 'dissect', '-'], { input: '', encoding: 'utf8' });
    expect(empty.status).toBe(1);
    expect(empty.stderr).toBe('ovnts dissect: standard input: capture: empty file (no pcap or pcapng header) at offset 0 (after 0 frames)\n');
    const none = await run('dissect', '-');
    expect(none.code).toBe(1);
  });

  it('dissects Linux cooked (113, 276) and raw IP (101) frames; reports a cut cooked header', async () => {
    // Before: "link type 113 is not Ethernet". tshark agreement: tshark-linktypes.test.ts.
    const ip = Buffer.from('4500001c0000000040010000c0a80001c0a800020800f7ff00000000', 'hex');
    const sll = Buffer.concat([Buffer.from('0004000100060a000000000100000800', 'hex'), ip]);
    const sll2 = Buffer.concat([Buffer.from('0800000000000007000104060a0000000001' + '0000', 'hex'), ip]);
    const write = (linkType: number, frames: Uint8Array[]): string => {
      const w = new PcapWriter({ linkType });
      for (const f of frames) w.write({ data: f });
      w.end();
      const f = join(tmp, `lt${linkType}.pcap`);
      writeFileSync(f, w.toBuffer());
      return f;
    };
    const lines = async (f: string) => (await run('dissect', '--json', f)).out.trimEnd().split('\n').map((l) => JSON.parse(l) as { layers: { layer: string }[]; error?: unknown });
    const a = await lines(write(113, [sll, sll.subarray(0, 10)]));
    expect(a[0]!.layers).toEqual([
      { layer: 'sll', pkttype: 4, hatype: 1, halen: 6, src: '0a:00:00:00:00:01', proto: 0x0800 },
      { layer: 'ipv4', src: '192.168.0.1', dst: '192.168.0.2', ttl: 64, proto: 1 },
      { layer: 'icmp', type: 8, code: 0 },
    ]);
    expect(a[1]).toMatchObject({ layers: [], error: { layer: 'sll', code: 'Truncated', offset: 0 } });
    const b = await lines(write(276, [sll2]));
    expect(b[0]!.layers[0]).toEqual({ layer: 'sll2', proto: 0x0800, ifindex: 7, hatype: 1, pkttype: 4, halen: 6, src: '0a:00:00:00:00:01' });
    expect(b[0]!.layers.map((l) => l.layer)).toEqual(['sll2', 'ipv4', 'icmp']);
    const c = await lines(write(101, [ip, Buffer.from('70', 'hex')]));
    expect(c[0]!.layers.map((l) => l.layer)).toEqual(['ipv4', 'icmp']);
    expect(c[1]).toMatchObject({ error: { layer: 'raw', code: 'BadVersion', offset: 0 } });
    const summary = (await run('dissect', join(tmp, 'lt113.pcap'))).out.split('\n')[0]!;
    expect(summary).toMatch(/192\.168\.0\.1 → 192\.168\.0\.2 +ICMP +44 Echo \(ping\) request/);
  });

  it('replay reports frames dropped by the recursion and resubmit limits', async () => {
    // Before: the summary said only "replayed 5 frames", with every output empty and no reason.
    const loop = join(tmp, 'loop.flows');
    writeFileSync(loop, 'table=0,actions=resubmit(,0)\n');
    const deep = await run('replay', '--flows', loop, '--ports', '1-4', '--in', `1=${IN1}`, '--out-dir', join(tmp, 'lim1'));
    expect(deep.code).toBe(0);
    expect(deep.out).toMatch(/^ {2}5 frames dropped: translation nested over 64 deep \(resubmit\/goto_table recursion; OVS drops these too\)$/m);
    const fan = join(tmp, 'fan.flows');
    const r70 = (t: number) => Array.from({ length: 70 }, () => `resubmit(,${t})`).join(',');
    writeFileSync(fan, `table=0,in_port=1,actions=${r70(1)}\ntable=1,actions=${r70(2)}\ntable=2,actions=drop\ntable=0,priority=0,actions=output:2\n`);
    const wide = await run('replay', '--flows', fan, '--ports', '1-4', '--in', `1=${IN1}`, '--in', `3=${join(repoRoot, 'fixtures/captures/vlan-router-in3.pcap')}`, '--out-dir', join(tmp, 'lim2'));
    expect(wide.out).toMatch(/^ {2}5 frames dropped: over 4096 resubmits in one translation/m);
    expect(wide.out).toMatch(/2\.pcap: 1 frame$/m); // the frame from port 3 went its way
    expect(wide.out).not.toMatch(/nested over 64/);
  });

  it('of-trace --frame refuses a frame shorter than an Ethernet header', async () => {
    // Before: a 2-byte frame was traced as an all-zero flow.
    const r = await run('of-trace', '--flows', FLOWS, '--groups', GROUPS, '--frame', '0a00', '--in-port', '1');
    expect(r.code).toBe(2);
    expect(r.err.split('\n')[0]).toBe('ovnts of-trace: --frame: 2 bytes is shorter than an Ethernet header (14 bytes)');
    const ok = await run('of-trace', '--flows', FLOWS, '--groups', GROUPS, '--frame', 'ffffffffffff0a00000000010806', '--in-port', '1');
    expect(ok.code).toBe(0);
  });
});
