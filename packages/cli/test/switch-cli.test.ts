// `ovnts switch`: a real process listening on loopback; OpenFlow spoken over a raw socket; Ctrl-C
// (SIGINT to the pid we started) stops it cleanly; bad arguments are refused like other commands'.
// Captures in (`--in`) and out (`--out-dir`, read back and by tshark); a controller that is not
// there (fail-open in standalone mode, not in secure mode); and, as root, two veth pairs in two
// network namespaces the test creates, attached with `--port`, with a real UDP exchange across the switch.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, assert, describe, expect, it } from 'vitest';
import { readCapture } from '@ovnts/capture';
import { BufferIo, main } from '@ovnts/cli';
import { HostNetwork, hostIfName, podNetnsName } from '@ovnts/host';
import { encodeHello } from '@ovnts/openflow';
import { decide, freePort, repoRoot, requireNetns, requireTools } from '@ovnts/testkit';
import { liveCaptureAvailable } from '@ovnts/capture';

const dirs: string[] = [];
const tmp = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'ovnts-switch-cli-'));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const IN1 = join(repoRoot, 'fixtures/captures/vlan-router-in1.pcap');

/** Start `ovnts switch ARGS`; `waitFor(re)` resolves with the output once it matches. */
function startCli(args: string[]): { proc: ChildProcess; out: () => string; waitFor: (re: RegExp, ms?: number) => Promise<RegExpExecArray>; stop: () => Promise<number | null> } {
  const proc = spawn(process.execPath, [join(repoRoot, 'packages/cli/bin/ovnts.js'), 'switch', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  child = proc;
  let out = '';
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  return {
    proc,
    out: () => out,
    waitFor: async (re, ms = 15_000) => {
      const deadline = Date.now() + ms;
      for (;;) {
        const m = re.exec(out);
        if (m) return m;
        if (proc.exitCode !== null) assert.fail(`ovnts switch exited ${proc.exitCode} before printing ${re}:\n${out}`);
        if (Date.now() > deadline) assert.fail(`ovnts switch did not print ${re} within ${ms} ms:\n${out}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    stop: async () => {
      if (proc.exitCode === null) process.kill(proc.pid!, 'SIGINT');
      return exited;
    },
  };
}

/** Frames of a capture file. */
const frames = (path: string): string[] => [...readCapture(readFileSync(path))].map((f) => Buffer.from(f.data).toString('hex'));

let child: ChildProcess | undefined;
afterEach(() => {
  if (child && child.exitCode === null && child.pid) process.kill(child.pid, 'SIGKILL');
  child = undefined;
});

function exchange(port: number, msgs: Uint8Array[], waitMs = 300): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    sock.on('data', (d: Buffer) => chunks.push(d));
    sock.on('error', reject);
    sock.on('connect', () => {
      for (const m of msgs) sock.write(m);
      setTimeout(() => {
        sock.destroy();
        resolve(Buffer.concat(chunks));
      }, waitMs);
    });
  });
}

describe('ovnts switch', () => {
  it('listens, answers HELLO/ECHO/FEATURES, and stops on SIGINT with status 0', async () => {
    child = spawn(process.execPath, [join(repoRoot, 'packages/cli/bin/ovnts.js'), 'switch', '--ports', '1-3', '--listen', 'ptcp:0:127.0.0.1'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
    const port = await new Promise<number>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no listening line: ${out}`)), 15_000);
      child!.stdout!.on('data', () => {
        const m = /listening on 127\.0\.0\.1:(\d+)/.exec(out);
        if (m) {
          clearTimeout(t);
          resolve(Number(m[1]));
        }
      });
    });
    const got = await exchange(port, [encodeHello([4]), Uint8Array.of(4, 2, 0, 8, 0, 0, 0, 9), Uint8Array.of(4, 5, 0, 8, 0, 0, 0, 10)]);
    const types: number[] = [];
    for (let off = 0; off + 8 <= got.length; off += got.readUInt16BE(off + 2)) types.push(got[off + 1]!);
    expect(types).toEqual([0, 3, 6]); // HELLO, ECHO_REPLY, FEATURES_REPLY
    expect(got[0]).toBe(6); // our HELLO offers up to OpenFlow 1.5
    const exited = new Promise<number | null>((resolve) => child!.on('exit', (code) => resolve(code)));
    process.kill(child.pid!, 'SIGINT');
    expect(await exited).toBe(0);
    expect(out).toContain('ovnts switch: stopped');
  }, 30_000);

  it('refuses bad arguments with a usage error naming the option', async () => {
    const io = new BufferIo();
    expect(await main(['switch', '--ports', '1-2', '--listen', 'tcp:6653'], io)).toBe(2);
    expect(io.stderr).toContain('--listen "tcp:6653": expected ptcp:PORT[:IP]');
    const io2 = new BufferIo();
    expect(await main(['switch', '--ports', '1-2'], io2)).toBe(2);
    expect(io2.stderr).toContain('give --listen, --controller or both');
    const io3 = new BufferIo();
    expect(await main(['switch', '--ports', '1-2', '--controller', 'tcp:127.0.0.1:0'], io3)).toBe(2);
    expect(io3.stderr).toContain('expected tcp:HOST:PORT');
  });

  it('--in injects a capture once the switch is up; --out-dir writes what leaves each port (tshark reads it)', async () => {
    const dir = tmp();
    const flows = join(dir, 'fwd.flows');
    writeFileSync(flows, 'priority=1,in_port=1,actions=output:2\n');
    const cli = startCli(['--ports', '1-2', '--listen', 'ptcp:0:127.0.0.1', '--flows', flows, '--in', `1=${IN1}`, '--out-dir', join(dir, 'out')]);
    await cli.waitFor(/injected 5 frames/);
    expect(cli.out().indexOf('listening on')).toBeLessThan(cli.out().indexOf('injected'));
    expect(await cli.stop()).toBe(0);
    expect(cli.out()).toContain(`${join(dir, 'out', '2.pcap')}: 5 frames`);
    expect(frames(join(dir, 'out', '2.pcap'))).toEqual(frames(IN1));
    expect(frames(join(dir, 'out', '1.pcap'))).toEqual([]);
    if (!requireTools('tshark', ['tshark']).skip) {
      const t = spawnSync('tshark', ['-r', join(dir, 'out', '2.pcap')], { encoding: 'utf8' });
      expect(t.status, t.stderr).toBe(0);
      expect(t.stdout.trim().split('\n')).toHaveLength(5);
      expect(t.stdout).toContain('Echo (ping) request');
    }
    // The outputs exist now: a second run refuses them without --force (exit 1), before listening.
    const io = new BufferIo();
    expect(await main(['switch', '--ports', '1-2', '--listen', 'ptcp:0:127.0.0.1', '--out-dir', join(dir, 'out')], io)).toBe(1);
    expect(io.stderr).toContain(`${join(dir, 'out', '1.pcap')} exists; not overwriting it without --force`);
  }, 30_000);

  it('with --controller, --in waits for the controller to set the switch up', async () => {
    const dir = tmp();
    const flows = join(dir, 'fwd.flows');
    writeFileSync(flows, 'priority=1,in_port=1,actions=output:2\n');
    const port = await freePort();
    const cli = startCli(['--ports', '1-2', '--controller', `tcp:127.0.0.1:${port}`, '--fail-mode', 'secure', '--flows', flows, '--in', `1=${IN1}`, '--out-dir', join(dir, 'out')]);
    await cli.waitFor(/connecting to controller/);
    await new Promise((r) => setTimeout(r, 1500));
    expect(cli.out()).not.toContain('injected');
    // A controller that says HELLO (OpenFlow 1.3) and asks for features, then is quiet.
    let connected = 0;
    const server = createServer((sock) => {
      connected++;
      sock.write(Uint8Array.of(4, 0, 0, 8, 0, 0, 0, 1));
      sock.write(Uint8Array.of(4, 5, 0, 8, 0, 0, 0, 2));
      sock.on('error', () => sock.destroy());
      sock.on('data', () => {});
    });
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
    try {
      await cli.waitFor(/injected 5 frames/, 20_000);
      expect(connected).toBeGreaterThanOrEqual(1);
      expect(await cli.stop()).toBe(0);
      expect(frames(join(dir, 'out', '2.pcap'))).toEqual(frames(IN1));
    } finally {
      server.close();
    }
  }, 40_000);

  it('a controller that never answers: standalone fails open (probes off: after 1 s), secure does not', async () => {
    const port = await freePort(); // nothing listens there
    const a = startCli(['--ports', '1-2', '--controller', `tcp:127.0.0.1:${port}`, '--inactivity-probe', '0']);
    await a.waitFor(/could not connect to the controller for 1 seconds, failing open \(hidden flow priority=15790320,actions=NORMAL/, 15_000);
    expect(await a.stop()).toBe(0);
    const b = startCli(['--ports', '1-2', '--controller', `tcp:127.0.0.1:${port}`, '--inactivity-probe', '0', '--fail-mode', 'secure']);
    await b.waitFor(/fail mode secure/);
    await new Promise((r) => setTimeout(r, 2500));
    expect(b.out()).not.toContain('failing open');
    expect(await b.stop()).toBe(0);
  }, 40_000);

  it('refuses bad --port, --in, --fail-mode and --inactivity-probe values', async () => {
    const run = async (args: string[]): Promise<[number, string]> => {
      const io = new BufferIo();
      const code = await main(['switch', ...args], io);
      return [code, io.stderr];
    };
    expect(await run(['--port', '0=lo', '--listen', 'ptcp:0'])).toEqual([2, expect.stringContaining('--port "0=lo": port 0 is outside 1-65279')]);
    expect(await run(['--port', '70000=lo', '--listen', 'ptcp:0'])).toEqual([2, expect.stringContaining('port 70000 is outside 1-65279')]);
    expect(await run(['--port', 'lo', '--listen', 'ptcp:0'])).toEqual([2, expect.stringContaining('--port "lo": expected N=IFACE')]);
    expect(await run(['--port', '1=nosuchif9', '--listen', 'ptcp:0'])).toEqual([2, expect.stringContaining('no network interface "nosuchif9" here')]);
    expect(await run(['--port', '1=a/b', '--listen', 'ptcp:0'])).toEqual([2, expect.stringContaining('is not an interface name')]);
    expect(await run(['--port', '1=lo', '--port', '1=lo', '--listen', 'ptcp:0'])).toEqual([2, expect.stringContaining('port 1 is already attached to lo')]);
    expect(await run(['--listen', 'ptcp:0'])).toEqual([2, expect.stringContaining('give --ports, --port or both')]);
    expect(await run(['--ports', '1-2', '--in', '3=x.pcap', '--listen', 'ptcp:0'])).toEqual([2, expect.stringContaining('port 3 is not a port of the switch')]);
    expect(await run(['--ports', '1-2', '--fail-mode', 'open', '--controller', 'tcp:127.0.0.1:1'])).toEqual([2, expect.stringContaining('--fail-mode "open": expected standalone or secure')]);
    expect(await run(['--ports', '1-2', '--inactivity-probe', '-1', '--controller', 'tcp:127.0.0.1:1'])).toEqual([2, expect.stringContaining('--inactivity-probe "-1"')]);
    expect(await run(['--ports', '1-2', '--force', '--listen', 'ptcp:0'])).toEqual([2, expect.stringContaining('--force needs --out-dir')]);
    // A capture that cannot be read fails the command as in replay (exit 1), before anything runs.
    expect(await run(['--ports', '1-2', '--in', '1=/nonexistent/x.pcap', '--listen', 'ptcp:0'])).toEqual([1, expect.stringContaining('cannot read capture /nonexistent/x.pcap: ENOENT')]);
  });

  const netns = requireNetns('ovnts switch --port on veth pairs in network namespaces');
  const cap = liveCaptureAvailable();
  // Locally a missing libpcap/cap skips with the reason printed; under CI it fails instead (CI installs libpcap-dev).
  const capReq = cap.ok || netns.skip ? { skip: false } : decide('ovnts switch --port (live capture)', [cap.reason ?? 'cap unavailable']);
  it.skipIf(netns.skip || capReq.skip)('--port: a real UDP exchange between two namespaces through the switch (NORMAL); Ctrl-C closes the interfaces and the pcaps', async () => {
    const dir = tmp();
    const tag = `s${process.pid.toString(36)}`;
    const h = HostNetwork.open(join(dir, 'state'));
    const names = ['pa', 'pb'].map((p) => podNetnsName(tag, p));
    let cli: ReturnType<typeof startCli> | undefined;
    const procs: ChildProcess[] = [];
    try {
      const a = h.addPod({ namespace: tag, pod: 'pa', mac: '0a:58:0a:62:00:01', addresses: ['10.98.0.1/24'] });
      const b = h.addPod({ namespace: tag, pod: 'pb', mac: '0a:58:0a:62:00:02', addresses: ['10.98.0.2/24'] });
      const flows = join(dir, 'normal.flows');
      writeFileSync(flows, 'priority=0,actions=NORMAL\n');
      cli = startCli(['--port', `1=${a.hostIf}`, '--port', `2=${b.hostIf}`, '--listen', 'ptcp:0:127.0.0.1', '--flows', flows, '--out-dir', join(dir, 'out')]);
      await cli.waitFor(new RegExp(`listening on 127\\.0\\.0\\.1:\\d+ \\(ports 1=${a.hostIf},2=${b.hostIf}\\)`));
      // A real exchange across the switch: a UDP echo server in pod b (python3 is in CI's packages;
      // ping is not), a client in pod a that sends three datagrams and waits for each answer.
      const server = spawn('ip', ['netns', 'exec', b.netns, 'python3', '-c', [
        'import socket',
        's = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("10.98.0.2", 7009))',
        'print("ready", flush=True)',
        'for _ in range(3):',
        '    d, a = s.recvfrom(2048); s.sendto(d.upper(), a)',
      ].join('\n')], { stdio: ['ignore', 'pipe', 'pipe'] });
      procs.push(server);
      await new Promise<void>((resolve, reject) => {
        server.stdout!.on('data', (d) => String(d).includes('ready') && resolve());
        server.on('exit', (c) => reject(new Error(`server exited ${c}`)));
      });
      const client = spawnSync('ip', ['netns', 'exec', a.netns, 'python3', '-c', [
        'import socket',
        's = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(5)',
        'for i in range(3):',
        '    s.sendto(b"hello %d" % i, ("10.98.0.2", 7009)); print(s.recvfrom(2048)[0].decode(), flush=True)',
      ].join('\n')], { encoding: 'utf8', timeout: 30_000 });
      expect(client.status, `${client.stdout}${client.stderr}\n${cli.out()}`).toBe(0);
      expect(client.stdout).toBe('HELLO 0\nHELLO 1\nHELLO 2\n');
      expect(await cli.stop()).toBe(0);
      expect(cli.out()).toMatch(/2\.pcap: \d+ frames/);
      const toB = [...readCapture(readFileSync(join(dir, 'out', '2.pcap')))];
      // The datagrams went out on port 2 (they reached pod b through the switch), the answers on port 1.
      const udp = (fs: typeof toB, port: number): number => fs.filter((f) => f.data[12] === 0x08 && f.data[13] === 0x00 && f.data[23] === 17 && ((f.data[36]! << 8) | f.data[37]!) === port).length;
      expect(udp(toB, 7009)).toBe(3); // the three datagrams left on port 2, towards pod b
      const toA = [...readCapture(readFileSync(join(dir, 'out', '1.pcap')))];
      expect(toA.filter((f) => f.data[12] === 0x08 && f.data[13] === 0x00 && f.data[23] === 17 && ((f.data[34]! << 8) | f.data[35]!) === 7009).length).toBe(3); // and the answers on port 1
    } finally {
      for (const p of procs) if (p.exitCode === null && p.pid) process.kill(p.pid, 'SIGKILL');
      await cli?.stop();
      expect(h.down().failed).toEqual([]);
      for (const n of names) spawnSync('ip', ['netns', 'del', n], { stdio: 'ignore' });
      for (const n of names) spawnSync('ip', ['link', 'del', hostIfName(n)], { stdio: 'ignore' });
    }
  }, 60_000);
});
