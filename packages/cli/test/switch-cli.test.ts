// `ovnts switch`: a real process listening on loopback; OpenFlow spoken over a raw socket; Ctrl-C
// (SIGINT to the pid we started) stops it cleanly; bad arguments are refused like other commands'.
import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BufferIo, main } from '@ovnts/cli';
import { encodeHello } from '@ovnts/openflow';
import { repoRoot } from '@ovnts/testkit';

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
});
