// @ovnts/host: pod namespaces recorded on disk and removed exactly, with a simulated `ip` (no
// root needed), then for real (root: this machine and CI), including a process killed half-way
// and real traffic (a TCP exchange) between two pod namespaces through an ovn-ts switch.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { attachLivePort, downState, HostError, HostNetwork, hostIfName, podNetnsName, type PodSpec, type Runner } from '@ovnts/host';
import { liveCaptureAvailable } from '@ovnts/capture';
import { Switch, VirtualClock } from '@ovnts/openflow';
import { decide, repoRoot, requireNetns } from '@ovnts/testkit';

const dirs: string[] = [];
const tmp = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'ovnts-host-'));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A simulated iproute2: namespaces and veth pairs in memory, every command logged. */
class FakeIp {
  netns = new Set<string>();
  /** Links by `namespace/name` ('' = this namespace), with the id of their veth pair. */
  links = new Map<string, number>();
  log: string[] = [];
  failOn: RegExp | undefined;
  private pairs = 0;
  run: Runner = (cmd, args) => {
    const line = `${cmd} ${args.join(' ')}`;
    this.log.push(line);
    if (this.failOn?.test(line)) throw new HostError(`${line}: simulated failure`, line);
    const a = [...args];
    let ns = '';
    if (a[0] === '-n') {
      ns = a[1]!;
      a.splice(0, 2);
    }
    const drop = (pred: (key: string, pair: number) => boolean): void => {
      for (const [k, v] of [...this.links]) if (pred(k, v)) this.links.delete(k);
    };
    if (cmd !== 'ip') return '';
    if (a[0] === 'netns' && a[1] === 'list') return [...this.netns].map((n) => `${n} (id: 1)`).join('\n');
    if (a[0] === 'netns' && a[1] === 'add') this.netns.add(a[2]!);
    else if (a[0] === 'netns' && a[1] === 'del') {
      this.netns.delete(a[2]!);
      // A veth end inside a deleted namespace takes its pair with it.
      const gone = new Set([...this.links].filter(([k]) => k.startsWith(`${a[2]}/`)).map(([, v]) => v));
      drop((_k, v) => gone.has(v));
    } else if (a[0] === 'link' && a[1] === 'show') {
      if (!this.links.has(`${ns}/${a[3]}`)) throw new HostError('Device does not exist');
    } else if (a[0] === 'link' && a[1] === 'add') {
      const id = ++this.pairs;
      this.links.set(`/${a[2]}`, id);
      this.links.set(`/${a[6]}`, id);
    } else if (a[0] === 'link' && a[1] === 'del') {
      const id = this.links.get(`${ns}/${a[3]}`);
      drop((_k, v) => v === id);
    } else if (a[0] === 'link' && a[1] === 'set' && (a[4] === 'netns' || a[4] === 'name')) {
      const id = this.links.get(`${ns}/${a[3]}`)!;
      this.links.delete(`${ns}/${a[3]}`);
      this.links.set(a[4] === 'netns' ? `${a[5]}/${a[3]}` : `${ns}/${a[5]}`, id);
    }
    return '';
  };
}

const spec = (pod: string, i: number): PodSpec => ({
  namespace: 'demo',
  pod,
  mac: `0a:58:0a:f4:00:0${i}`,
  addresses: [`10.244.0.${i}/24`, `fd00:10:244::${i}/64`],
  gateways: ['10.244.0.1', 'fd00:10:244::1'],
});

describe('HostNetwork (simulated ip)', () => {
  it('names pods ovnts-<namespace>-<pod>, host ends within 15 bytes', () => {
    expect(podNetnsName('default', 'web-1')).toBe('ovnts-default-web-1');
    expect(hostIfName('ovnts-default-web-1')).toMatch(/^ovh[0-9a-f]{8}$/);
    for (const bad of ['Default', '-x', 'a_b', 'a'.repeat(64), '']) expect(() => podNetnsName(bad, 'p')).toThrow(HostError);
  });

  it('records every resource before creating it, and down removes exactly those, newest first', () => {
    const ip = new FakeIp();
    ip.netns.add('someone-elses');
    const dir = tmp();
    const h = HostNetwork.open(dir, { run: ip.run });
    const a = h.addPod(spec('a', 5));
    const b = h.addPod(spec('b', 6));
    expect([a.netns, b.netns]).toEqual(['ovnts-demo-a', 'ovnts-demo-b']);
    const state = JSON.parse(readFileSync(join(dir, 'host-state.json'), 'utf8')) as { resources: { kind: string; name: string; status: string }[]; owner: { pid: number } };
    expect(state.owner.pid).toBe(process.pid);
    expect(state.resources.map((r) => `${r.kind} ${r.name} ${r.status}`)).toEqual([
      'netns ovnts-demo-a created', `link ${a.hostIf} created`, 'netns ovnts-demo-b created', `link ${b.hostIf} created`,
    ]);
    expect(ip.log).toContain(`ip -n ovnts-demo-a link set dev eth0 address 0a:58:0a:f4:00:05 mtu 1400`);
    expect(ip.log).toContain(`ip -n ovnts-demo-a addr add fd00:10:244::5/64 dev eth0 nodad`);
    expect(ip.log).toContain(`ip -n ovnts-demo-a -6 route add default via fd00:10:244::1 dev eth0`);
    expect(ip.log).toContain(`sysctl -qw net.ipv6.conf.${a.hostIf}.disable_ipv6=1`);
    expect(h.pods().map((p) => p.netns)).toEqual(['ovnts-demo-a', 'ovnts-demo-b']);
    const r = h.down();
    expect(r.removed).toEqual([`link ${b.hostIf}`, 'netns ovnts-demo-b', `link ${a.hostIf}`, 'netns ovnts-demo-a']);
    expect([...ip.netns]).toEqual(['someone-elses']);
    expect(ip.links.size).toBe(0);
    expect(existsSync(join(dir, 'host-state.json'))).toBe(false);
  });

  it('refuses what it did not create, and bad pod specs', () => {
    const ip = new FakeIp();
    ip.netns.add('ovnts-demo-a');
    const h = HostNetwork.open(tmp(), { run: ip.run });
    expect(() => h.addPod(spec('a', 5))).toThrow(/exists but was not created here; not touching it/);
    expect(() => h.addPod({ ...spec('b', 6), mac: '01:00:00:00:00:01' })).toThrow(/not a unicast MAC/);
    expect(() => h.addPod({ ...spec('b', 6), addresses: ['10.0.0.1'] })).toThrow(/not an IP address with a prefix length/);
    expect(() => h.addPod({ ...spec('b', 6), addresses: ['10.0.0.1/33'] })).toThrow(/not an IP address with a prefix length/);
    expect(() => h.addPod({ ...spec('b', 6), gateways: ['10.0.0.1', '10.0.0.2'] })).toThrow(/one gateway per address family/);
    expect(() => h.addPod({ ...spec('b', 6), mtu: 40 })).toThrow(/MTU 40/);
    h.addPod(spec('b', 6));
    expect(() => h.addPod(spec('b', 6))).toThrow(/already up/);
    expect(h.down().removed).toHaveLength(2);
    expect([...ip.netns]).toEqual(['ovnts-demo-a']);
  });

  it('a failure half-way through addPod removes that pod and leaves the others', () => {
    const ip = new FakeIp();
    const dir = tmp();
    const h = HostNetwork.open(dir, { run: ip.run });
    h.addPod(spec('a', 5));
    ip.failOn = /route add/;
    expect(() => h.addPod(spec('b', 6))).toThrow(/simulated failure/);
    expect([...ip.netns]).toEqual(['ovnts-demo-a']);
    expect(h.resources.map((r) => r.name)).toEqual(['ovnts-demo-a', hostIfName('ovnts-demo-a')]);
    ip.failOn = undefined;
    expect(h.down().removed).toHaveLength(2);
  });

  it('a state directory outlives its process: reopened (the owner gone) and downed', () => {
    const ip = new FakeIp();
    const dir = tmp();
    HostNetwork.open(dir, { run: ip.run }).addPod(spec('a', 5));
    // Same process here, so the owner check lets it through; a live other owner is refused.
    const file = join(dir, 'host-state.json');
    const st = JSON.parse(readFileSync(file, 'utf8')) as { owner: { pid: number } };
    st.owner.pid = process.ppid;
    writeFileSync(file, JSON.stringify(st));
    expect(() => HostNetwork.open(dir, { run: ip.run })).toThrow(new RegExp(`belongs to process ${process.ppid}, which is still running`));
    st.owner.pid = 2 ** 22 + 12345; // no such process
    writeFileSync(file, JSON.stringify(st));
    const r = downState(dir, { run: ip.run });
    expect(r.removed).toHaveLength(2);
    expect(ip.netns.size).toBe(0);
  });

  it('refuses to run without root unless told how to run commands', () => {
    if (process.getuid?.() === 0) return;
    expect(() => HostNetwork.open(tmp())).toThrow(/needs root/);
  });
});

const netns = requireNetns('pod namespaces for real');

describe.skipIf(netns.skip)('HostNetwork (root, real namespaces)', () => {
  const tag = `t${process.pid.toString(36)}`;
  const created = new Set<string>();
  afterAll(() => {
    // Whatever a failed test left: only our own names.
    for (const ns of created) spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    for (const ns of created) spawnSync('ip', ['link', 'del', hostIfName(ns)], { stdio: 'ignore' });
  });
  const podSpec = (pod: string, i: number): PodSpec => {
    created.add(podNetnsName(tag, pod));
    return { namespace: tag, pod, mac: `0a:58:0a:63:00:0${i}`, addresses: [`10.99.0.${i}/24`, `fd00:99::${i}/64`], gateways: ['10.99.0.254'] };
  };
  const nsList = (): string[] => spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout.split('\n').map((l) => l.split(' ')[0]!);

  it('creates the pod namespace as specified and removes exactly it', () => {
    const dir = tmp();
    const h = HostNetwork.open(dir);
    try {
      const p = h.addPod(podSpec('a', 1));
      expect(nsList()).toContain(p.netns);
      const addr = h.exec(p, 'ip', ['addr', 'show', 'dev', 'eth0']);
      expect(addr).toMatch(/link\/ether 0a:58:0a:63:00:01/);
      expect(addr).toMatch(/inet 10\.99\.0\.1\/24/);
      expect(addr).toMatch(/inet6 fd00:99::1\/64/);
      expect(addr).toMatch(/mtu 1400/);
      expect(h.exec(p, 'ip', ['route', 'show', 'default'])).toMatch(/default via 10\.99\.0\.254 dev eth0/);
      expect(spawnSync('ip', ['link', 'show', 'dev', p.hostIf], { encoding: 'utf8' }).stdout).toMatch(/state (UP|LOWERLAYERDOWN)|,UP/);
    } finally {
      const r = h.down();
      expect(r.failed).toEqual([]);
    }
    expect(nsList()).not.toContain(podNetnsName(tag, 'a'));
    expect(spawnSync('ip', ['link', 'show', 'dev', hostIfName(podNetnsName(tag, 'a'))]).status).not.toBe(0);
  });

  it('a process killed (SIGKILL) with pods up: down from its state directory removes them', async () => {
    const dir = tmp();
    const names = ['k1', 'k2'].map((p) => podNetnsName(tag, p));
    for (const n of names) created.add(n);
    const script = `
      import { HostNetwork } from ${JSON.stringify(join(repoRoot, 'packages/host/dist/index.js'))};
      const h = HostNetwork.open(${JSON.stringify(dir)});
      h.addPod({ namespace: ${JSON.stringify(tag)}, pod: 'k1', mac: '0a:58:0a:63:01:01', addresses: ['10.99.1.1/24'] });
      h.addPod({ namespace: ${JSON.stringify(tag)}, pod: 'k2', mac: '0a:58:0a:63:01:02', addresses: ['10.99.1.2/24'] });
      process.stdout.write('up\\n');
      setInterval(() => {}, 1000);
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (d) => String(d).includes('up') && resolve());
      child.on('exit', (c) => reject(new Error(`child exited ${c} before its pods were up`)));
    });
    child.kill('SIGKILL');
    await new Promise((r) => child.on('exit', r));
    for (const n of names) expect(nsList()).toContain(n);
    const r = downState(dir);
    expect(r.failed).toEqual([]);
    expect(r.removed).toHaveLength(4);
    for (const n of names) expect(nsList()).not.toContain(n);
  });

  const cap = liveCaptureAvailable();
  const capReq = cap.ok ? { skip: false } : decide('live ports over cap', [cap.reason ?? 'cap unavailable']);
  it.skipIf(capReq.skip)('real TCP between two pod namespaces through an ovn-ts switch (NORMAL), counted per port', async () => {
    const dir = tmp();
    const h = HostNetwork.open(dir);
    const sw = new Switch({ clock: new VirtualClock(0) });
    const ports: ReturnType<typeof attachLivePort>[] = [];
    const procs: ReturnType<typeof spawn>[] = [];
    try {
      const a = h.addPod(podSpec('pa', 1));
      const b = h.addPod(podSpec('pb', 2));
      sw.addPort({ number: 1 });
      sw.addPort({ number: 2 });
      sw.addFlow('priority=0,actions=NORMAL');
      ports.push(attachLivePort(sw, 1, a.hostIf), attachLivePort(sw, 2, b.hostIf));
      // A TCP server in pod b (reads to the end, answers it upper-cased) and a client in pod a
      // (python3: in CI's packages), 2100 bytes each way: more than one segment at MTU 1400.
      const server = spawn('ip', ['netns', 'exec', b.netns, 'python3', '-c', [
        'import socket, sys',
        's = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("10.99.0.2", 7007)); s.listen(1)',
        'print("ready", flush=True)',
        'c, _ = s.accept(); d = b""',
        'while True:',
        '    x = c.recv(65536)',
        '    if not x: break',
        '    d += x',
        'c.sendall(d.upper()); c.close()',
      ].join('\n')], { stdio: ['ignore', 'pipe', 'pipe'] });
      procs.push(server);
      await new Promise<void>((resolve, reject) => {
        server.stdout!.on('data', (d) => String(d).includes('ready') && resolve());
        server.on('exit', (c) => reject(new Error(`server exited ${c}`)));
      });
      const client = spawn('ip', ['netns', 'exec', a.netns, 'python3', '-c', [
        'import socket',
        's = socket.create_connection(("10.99.0.2", 7007), timeout=10)',
        's.sendall(b"hello through ovn-ts " * 100); s.shutdown(socket.SHUT_WR)',
        'r = b""',
        'while True:',
        '    d = s.recv(65536)',
        '    if not d: break',
        '    r += d',
        'print(r.decode()[:40], len(r), flush=True)',
      ].join('\n')], { stdio: ['ignore', 'pipe', 'pipe'] });
      procs.push(client);
      let out = '';
      let err = '';
      client.stdout!.on('data', (d) => (out += String(d)));
      client.stderr!.on('data', (d) => (err += String(d)));
      const code = await new Promise<number | null>((r) => client.on('exit', r));
      expect(out, err).toBe('HELLO THROUGH OVN-TS HELLO THROUGH OVN-T 2100\n');
      expect(code).toBe(0);
      const [s1, s2] = ports.map((p) => p.stats());
      // ARP request and reply, the handshake, data and FINs each way.
      expect(s1!.rxFrames).toBeGreaterThanOrEqual(5);
      expect(s2!.rxFrames).toBeGreaterThanOrEqual(5);
      expect(s1!.txFrames).toBeGreaterThanOrEqual(5);
      expect(s2!.txFrames).toBeGreaterThanOrEqual(5);
      expect(s1!.txErrors + s2!.txErrors + s1!.rxDropped + s2!.rxDropped).toBe(0);
      expect(s1!.ifRxDropped).toBeTypeOf('number');
    } finally {
      for (const p of procs) p.kill('SIGKILL');
      for (const p of ports) p.close();
      expect(h.down().failed).toEqual([]);
    }
  }, 30_000);
});
