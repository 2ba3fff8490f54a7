/**
 * `ovnts nb-server` as a process: real `ovn-nbctl` configures it, the logical flows follow each
 * transaction (--lflows), Ctrl-C (SIGINT) stops it with status 0 and removes its socket, and the
 * database file it wrote (--db) is read back by a second run and by real `ovsdb-tool`. Bad
 * arguments exit 2 (bad listener) or 1 (unusable database file) with a message naming them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { BufferIo, main } from '@ovnts/cli';
import { reapPids, repoRoot, requireTools, runCommand } from '@ovnts/testkit';

const req = requireTools('nb-server with ovn-nbctl', ['ovn-nbctl', 'ovsdb-tool'], 'apt-get install -y ovn-central openvswitch-switch');
const dir = mkdtempSync(join(tmpdir(), 'ovnts-nbserver-'));
const started: ChildProcess[] = [];

afterAll(async () => {
  for (const p of started) if (p.pid && p.exitCode === null) p.kill('SIGKILL');
  await reapPids(started.map((p) => p.pid!).filter((p) => p !== undefined));
  rmSync(dir, { recursive: true, force: true });
});

/** Start `ovnts nb-server ARGS`; resolves once it prints its listener. */
async function startServer(args: string[]): Promise<{ proc: ChildProcess; out: () => string; exited: Promise<number | null> }> {
  const proc = spawn(process.execPath, [join(repoRoot, 'packages/cli/bin/ovnts.js'), 'nb-server', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  started.push(proc);
  let out = '';
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  for (let i = 0; i < 300 && !out.includes('listening on'); i++) await new Promise((r) => setTimeout(r, 50));
  expect(out).toContain('listening on');
  return { proc, out: () => out, exited };
}

async function until(what: string, f: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !f(); i++) await new Promise((r) => setTimeout(r, 50));
  expect(f(), what).toBe(true);
}

describe.skipIf(req.skip)('ovnts nb-server', () => {
  const sock = join(dir, 'nb.sock');
  const db = join(dir, 'nb.db');
  const lflows = join(dir, 'lflows.txt');
  const env = { ...process.env, OVS_RUNDIR: dir, OVN_RUNDIR: dir };
  const nbctl = (...args: string[]) => runCommand('ovn-nbctl', [`--db=unix:${sock}`, '--timeout=20', ...args], env, 30_000);

  test('ovn-nbctl configures it, flows follow, SIGINT stops it, --db keeps the data', async () => {
    const s = await startServer(['--listen', `punix:${sock}`, '--db', db, '--lflows', lflows]);
    expect(await nbctl('ls-add', 'sw0')).toEqual({ code: 0, stdout: '', stderr: '' });
    expect((await nbctl('lsp-add', 'sw0', 'p1', '--', 'lsp-set-addresses', 'p1', '00:00:00:00:00:01 10.0.0.1')).code).toBe(0);
    await until('lflows name port p1', () => existsSync(lflows) && readFileSync(lflows, 'utf8').includes('inport == "p1"'));
    expect(readFileSync(lflows, 'utf8')).toMatch(/^Datapath: "sw0" \(/);
    expect(s.out()).toMatch(/northd: transaction \d+: 1 datapaths, \d+ logical flows \(incremental: \d+ of \d+ segments rebuilt, /);
    s.proc.kill('SIGINT');
    expect(await s.exited).toBe(0);
    expect(s.out()).toContain('nb-server: stopped');
    expect(existsSync(sock)).toBe(false);

    // Real ovsdb-tool reads the file we wrote.
    const q = await runCommand('ovsdb-tool', ['query', db, '["OVN_Northbound",{"op":"select","table":"Logical_Switch_Port","where":[],"columns":["name","addresses"]}]'], env, 10_000);
    expect(q.stdout).toBe('[{"rows":[{"addresses":"00:00:00:00:00:01 10.0.0.1","name":"p1"}]}]\n');

    // A second run starts from it.
    const s2 = await startServer(['--listen', `punix:${sock}`, '--db', db]);
    expect(s2.out()).toMatch(/northd: transaction \d+: 1 datapaths/);
    expect((await nbctl('lsp-list', 'sw0')).stdout).toMatch(/^[0-9a-f-]{36} \(p1\)\n$/);
    s2.proc.kill('SIGTERM');
    expect(await s2.exited).toBe(0);
  }, 60_000);

  test('ovn-nbctl --wait=sb and --wait=hv return once the flows reflect the change; --no-sync-cfg leaves sb_cfg alone', async () => {
    const wsock = join(dir, 'wait.sock');
    const wflows = join(dir, 'wait-lflows.txt');
    const wait = (...args: string[]) => runCommand('ovn-nbctl', [`--db=unix:${wsock}`, '--timeout=20', ...args], env, 30_000);
    const cfg = async () => (await wait('--columns=nb_cfg,sb_cfg,hv_cfg', '--bare', 'list', 'NB_Global')).stdout.split('\n').filter((l) => l !== '').map(Number);
    const s = await startServer(['--listen', `punix:${wsock}`, '--lflows', wflows]);
    expect(await wait('init')).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(await wait('--wait=sb', 'ls-add', 'w0')).toEqual({ code: 0, stdout: '', stderr: '' });
    // The recompute that answered the wait wrote the flows first.
    expect(readFileSync(wflows, 'utf8')).toMatch(/^Datapath: "w0" \(/);
    expect(await wait('--wait=hv', 'lsp-add', 'w0', 'wp1', '--', 'lsp-set-addresses', 'wp1', '00:00:00:00:00:02 10.0.0.2')).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(readFileSync(wflows, 'utf8')).toContain('inport == "wp1"');
    expect(await cfg()).toEqual([2, 2, 2]);
    s.proc.kill('SIGINT');
    expect(await s.exited).toBe(0);

    const s2 = await startServer(['--listen', `punix:${wsock}`, '--no-sync-cfg']);
    expect(await wait('init')).toEqual({ code: 0, stdout: '', stderr: '' });
    expect((await wait('--timeout=1', '--wait=sb', 'ls-add', 'w1')).code).not.toBe(0);
    expect(await cfg()).toEqual([1, 0, 0]);
    s2.proc.kill('SIGINT');
    expect(await s2.exited).toBe(0);
  }, 60_000);
});

describe('ovnts nb-server arguments', () => {
  test('a bad listener is a usage error', async () => {
    const io = new BufferIo();
    expect(await main(['nb-server', '--listen', 'tcp:1.2.3.4:5'], io)).toBe(2);
    expect(io.stderr).toContain('--listen "tcp:1.2.3.4:5": expected punix:PATH or ptcp:PORT[:IP]');
    const io2 = new BufferIo();
    expect(await main(['nb-server'], io2)).toBe(2);
    expect(io2.stderr).toContain('--listen');
  });

  test('a database file that is not one fails with its name', async () => {
    const bad = join(dir, 'bad.db');
    writeFileSync(bad, 'not an ovsdb file\n');
    const io = new BufferIo();
    expect(await main(['nb-server', '--listen', `punix:${join(dir, 'x.sock')}`, '--db', bad], io)).toBe(1);
    expect(io.stderr).toContain(bad);
    const io2 = new BufferIo();
    expect(await main(['nb-server', '--listen', `punix:${join(dir, 'x.sock')}`, '--db', join(dir, 'no/such/dir.db')], io2)).toBe(1);
    expect(io2.stderr).toContain('cannot create');
  });
});
