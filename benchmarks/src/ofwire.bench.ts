/**
 * Flow mods over the wire (issue 12 item 5): `ovs-ofctl -O OpenFlow13 add-flows` of the same file
 * against a real ovs-vswitchd bridge (dummy datapath, through the OVS oracle) and against `ovnts
 * switch` (its own process, listening on loopback), in interleaved rounds; the figure is flow_mods
 * per second of the whole command (connection, HELLO, table features, every FLOW_MOD, the final
 * BARRIER), and the ratio ours/OVS is taken per round and its median reported. ovs-ofctl's own
 * parsing is in both figures alike. Before timing, both sides must hold every flow (dump-aggregate).
 *
 * The flows are OVN-like: an exact IPv4/TCP 5-tuple part, a masked part and actions with
 * set_field, resubmit and ct, spread over four tables. OVS_FLOW_MODS (default 5000) sets the count.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hasTool, oracleScript, repoRoot, startOvs } from '@ovnts/testkit';
import { check, median } from './harness.js';

const N = Number(process.env.OVS_FLOW_MODS ?? 5000);
const ROUNDS = 5;

function flowsText(n: number): string {
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const a = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
    switch (i % 4) {
      case 0:
        lines.push(`table=0,priority=${100 + (i % 50)},tcp,nw_src=${a},nw_dst=192.168.0.1,tp_src=${1024 + (i % 1000)},tp_dst=80,actions=set_field:${i & 0xffff}->reg0,resubmit(,1)`);
        break;
      case 1:
        lines.push(`table=1,priority=${200 + (i % 7)},ip,nw_dst=${a}/${16 + (i % 16)},reg0=${i & 0xffff},actions=ct(commit,zone=${i % 100},table=2)`);
        break;
      case 2:
        lines.push(`table=2,priority=300,udp,dl_src=50:54:00:${((i >> 16) & 255).toString(16).padStart(2, '0')}:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')},udp_dst=${i & 0xffff},actions=set_field:00:00:00:00:00:01->eth_dst,output:2`);
        break;
      default:
        lines.push(`table=3,priority=${i % 1000},metadata=${i},ipv6,ipv6_dst=fd00::${(i & 0xffff).toString(16)},actions=dec_ttl,output:${1 + (i % 4)}`);
    }
  }
  return lines.join('\n') + '\n';
}

async function startOurs(): Promise<{ port: number; pid: number; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, [join(repoRoot, 'packages/cli/bin/ovnts.js'), 'switch', '--ports', '1-4', '--listen', 'ptcp:0:127.0.0.1'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  const port = await new Promise<number>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('ovnts switch did not start listening')), 20_000);
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const m = /listening on 127\.0\.0\.1:(\d+)/.exec(out);
      if (m) {
        clearTimeout(t);
        resolve(Number(m[1]));
      }
    });
    child.on('exit', (code) => reject(new Error(`ovnts switch exited with ${code}`)));
  });
  return {
    port,
    pid: child.pid!,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.on('exit', () => resolve());
        process.kill(child.pid!, 'SIGINT');
      }),
  };
}

const script = oracleScript('ovs-sandbox');
if (!script || !['ovs-vswitchd', 'ovs-ofctl', 'ovsdb-server', 'ovs-vsctl'].every(hasTool)) {
  console.log('Open vSwitch not installed (apt-get install -y openvswitch-switch): this benchmark compares against it, nothing to do');
} else {
  const dir = mkdtempSync(join(tmpdir(), 'ovnts-ofwire-bench-'));
  const file = join(dir, 'flows.txt');
  writeFileSync(file, flowsText(N));
  const ovs = await startOvs({ timeoutMs: 900_000 });
  let ours: Awaited<ReturnType<typeof startOurs>> | undefined;
  try {
    await ovs.bridge('br0', { ports: [1, 2, 3, 4], protocols: 'OpenFlow13', markers: false });
    ours = await startOurs();
    const targets = { ovs: 'br0', ours: `tcp:127.0.0.1:${ours.port}` };
    const run = async (t: string, ...args: string[]): Promise<string> => {
      const r = await ovs.exec('ovs-ofctl', ['-O', 'OpenFlow13', ...args.slice(0, 1), t, ...args.slice(1)]);
      check(r.code === 0, `ovs-ofctl ${args.join(' ')} ${t} failed: ${r.stderr}`);
      return r.stdout;
    };
    const install = async (t: string): Promise<number> => {
      await run(t, 'del-flows');
      const t0 = process.hrtime.bigint();
      await run(t, 'add-flows', file);
      const s = Number(process.hrtime.bigint() - t0) / 1e9;
      const n = Number(/flow_count=(\d+)/.exec(await run(t, 'dump-aggregate'))?.[1] ?? NaN);
      check(n === N, `${t} holds ${n} flows after add-flows, expected ${N}`);
      return N / s;
    };
    await install(targets.ovs);
    await install(targets.ours);
    const rOvs: number[] = [];
    const rOurs: number[] = [];
    const ratios: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      // Alternate which side goes first so drift in the machine's load hits both alike.
      const first = i % 2 === 0 ? 'ovs' : 'ours';
      const a = await install(targets[first]);
      const b = await install(targets[first === 'ovs' ? 'ours' : 'ovs']);
      const [o, u] = first === 'ovs' ? [a, b] : [b, a];
      rOvs.push(o);
      rOurs.push(u);
      ratios.push(u / o);
    }
    const ratio = median(ratios);
    console.log(`\novs-ofctl -O OpenFlow13 add-flows of ${N} flows (4 tables, OVN-like), ${ROUNDS} interleaved rounds`);
    console.log(`  ovs-vswitchd 3.1 (dummy datapath)  ${Math.round(median(rOvs)).toLocaleString('en-US').padStart(9)} flow_mods/s`);
    console.log(`  ovnts switch                      ${Math.round(median(rOurs)).toLocaleString('en-US').padStart(9)} flow_mods/s`);
    console.log(`  ratio ours/OVS per round: ${ratios.map((r) => r.toFixed(2)).join(' ')}; median ${ratio.toFixed(2)}`);
  } finally {
    await ours?.stop();
    await ovs.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
