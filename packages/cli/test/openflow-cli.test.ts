import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BufferIo, dissectFrame, main } from '@ovnts/cli';
import { readCapture, writePcapFile } from '@ovnts/capture';
import { PacketBuilder, toHex } from '@ovnts/packet';

const tmp = mkdtempSync(join(tmpdir(), 'ovnts-ofcli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const io = new BufferIo();
  const code = await main(argv, io);
  return { code, out: io.stdout, err: io.stderr };
}

const FLOWS = `# VLAN 10 access on port 1, trunk on 3; a routed hop to 10.0.2.0/24 out of port 3
table=0,priority=100,in_port=1,actions=push_vlan:0x8100,set_field:4106->vlan_vid,goto_table:1
table=0,priority=100,in_port=3,dl_vlan=10,actions=goto_table:1
table=0,priority=0,actions=drop
table=1,priority=200,ip,nw_dst=10.0.2.0/24,actions=dec_ttl,set_field:0a:00:00:00:02:01->eth_src,set_field:0a:00:00:00:02:02->eth_dst,output:3
table=1,priority=100,dl_vlan=10,dl_dst=0a:00:00:00:00:02,actions=pop_vlan,output:2
table=1,priority=50,dl_vlan=10,actions=group:7
`;
const GROUPS = 'group_id=7,type=all,bucket=output:2,bucket=output:3\n';
const flows = join(tmp, 'flows.txt');
const groups = join(tmp, 'groups.txt');
writeFileSync(flows, FLOWS);
writeFileSync(groups, GROUPS);

const frame = (dst: string, ipDst: string, ttl = 64) =>
  new PacketBuilder()
    .ethernet({ src: '0a:00:00:00:00:01', dst })
    .ipv4({ src: '10.0.1.5', dst: ipDst, ttl })
    .udp({ srcPort: 5000, dstPort: 53 })
    .payload('hello')
    .build();

describe('ovnts replay', () => {
  it('replays captures through the switch and writes each port\'s output', async () => {
    const in1 = join(tmp, 'in1.pcap');
    const in3 = join(tmp, 'in3.pcap');
    await writePcapFile(in1, [
      { data: frame('0a:00:00:00:00:fe', '10.0.2.9', 64), timestampNs: 1_000n },
      { data: frame('0a:00:00:00:00:02', '10.0.1.7'), timestampNs: 3_000n },
      { data: frame('0a:00:00:00:00:fe', '10.0.2.9', 1), timestampNs: 5_000n }, // TTL expires: not forwarded
    ]);
    const tagged = new PacketBuilder()
      .ethernet({ src: '0a:00:00:00:00:09', dst: '0a:00:00:00:00:44' })
      .vlan({ vid: 10 })
      .ipv4({ src: '10.0.3.1', dst: '10.0.1.7' })
      .udp({ srcPort: 1, dstPort: 2 })
      .build();
    await writePcapFile(in3, [{ data: tagged, timestampNs: 2_000n }]);
    const out = join(tmp, 'out');
    const r = await run('replay', '--flows', flows, '--groups', groups, '--ports', '1-4', '--in', `1=${in1}`, '--in', `3=${in3}`, '--out-dir', out);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/replayed 4 frames through 6 flows and 1 groups on ports 1,2,3,4/);
    const read = (p: number) => [...readCapture(readFileSync(join(out, `${p}.pcap`)))];
    const p2 = read(2);
    const p3 = read(3);
    expect(read(1)).toHaveLength(0);
    expect(read(4)).toHaveLength(0);
    // port 3: the routed frame (t=1000), then the group copy of the tagged frame minus in_port (t=2000 -> port 2 only)
    expect(p3.map((f) => f.timestampNs)).toEqual([1_000n]);
    const routed = dissectFrame(p3[0]!.data).layers;
    expect(routed.slice(0, 3)).toEqual([
      { layer: 'eth', src: '0a:00:00:00:02:01', dst: '0a:00:00:00:02:02', type: 0x8100 },
      { layer: 'vlan', vid: 10, pcp: 0, tpid: 0x8100 },
      { layer: 'ipv4', src: '10.0.1.5', dst: '10.0.2.9', ttl: 63, proto: 17 },
    ]);
    // port 2: group output of the tagged frame from port 3 (t=2000; the copy to 3 is dropped as in_port),
    // then the access frame popped back to untagged (t=3000)
    expect(p2.map((f) => f.timestampNs)).toEqual([2_000n, 3_000n]);
    expect(dissectFrame(p2[1]!.data).layers[0]).toMatchObject({ layer: 'eth', type: 0x0800 });
  });

  it('names the file and line of a flow the switch refuses', async () => {
    const bad = join(tmp, 'bad.txt');
    writeFileSync(bad, 'priority=1,actions=drop\n\n# comment\npriority=2,actions=pop_vlan,output:1\n');
    const r = await run('replay', '--flows', bad, '--ports', '1', '--in', `1=${join(tmp, 'in1.pcap')}`, '--out-dir', join(tmp, 'o2'));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/bad\.txt:4: the switch refuses this flow: OFPBAC_BAD_TAG/);
    const syntax = join(tmp, 'syntax.txt');
    writeFileSync(syntax, 'priority=1,nw_dst=10.0.0.300,actions=drop\n');
    const s = await run('replay', '--flows', syntax, '--ports', '1', '--in', `1=${join(tmp, 'in1.pcap')}`, '--out-dir', join(tmp, 'o3'));
    expect(s.code).toBe(1);
    // file:line:col once (it used to say "syntax.txt:1: line 1: ... at column 19"), then the
    // line with a caret under the column.
    expect(s.err).toBe(`ovnts replay: ${syntax}:1:19: 10.0.0.300: invalid IP address\n  priority=1,nw_dst=10.0.0.300,actions=drop\n                    ^\n`);
    const indented = join(tmp, 'indented.txt');
    writeFileSync(indented, '# two flows\npriority=1,actions=drop\n\t  in_port=1,actions=resubmit(,1),output:nosuch # trailing comment\n');
    const t = await run('replay', '--flows', indented, '--ports', '1', '--in', `1=${join(tmp, 'in1.pcap')}`, '--out-dir', join(tmp, 'o3'));
    expect(t.code).toBe(1);
    // The column counts the tab and the spaces before the flow; the caret keeps the tab.
    expect(t.err.split('\n')[0]).toBe(`ovnts replay: ${indented}:3:35: nosuch: output to unknown port`);
    expect(t.err.split('\n')[2]).toBe(`  \t${' '.repeat(33)}^`);
    expect(t.err).not.toMatch(/line 3|column/);
  });

  it('rejects bad arguments', async () => {
    const base = ['--flows', flows, '--out-dir', join(tmp, 'o4')];
    expect((await run('replay', ...base, '--ports', '1,x', '--in', '1=a.pcap')).err).toMatch(/"x" is not a port number/);
    expect((await run('replay', ...base, '--ports', '1-2', '--in', '3=a.pcap')).err).toMatch(/port 3 is not in --ports/);
    expect((await run('replay', ...base, '--ports', '1', '--in', 'a.pcap')).err).toMatch(/expected PORT=PCAP/);
    expect((await run('replay', ...base, '--ports', '0-2', '--in', '1=a.pcap')).err).toMatch(/outside 1-65279/);
    const missing = await run('replay', ...base, '--ports', '1', '--in', `1=${join(tmp, 'none.pcap')}`);
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/cannot read capture .*none\.pcap: ENOENT/);
    expect((await run('replay', '--flows', flows, '--ports', '1')).code).toBe(2);
  });
});

describe('ovnts of-trace', () => {
  it('traces a microflow like ofproto/trace', async () => {
    const r = await run('of-trace', '--flows', flows, '--groups', groups, 'in_port=1,udp,dl_dst=0a:00:00:00:00:fe,nw_dst=10.0.2.9,nw_ttl=64');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^Flow: udp,in_port=1,/);
    expect(r.out).toMatch(/ 0\. in_port=1, priority 100\n    push_vlan:0x8100/);
    expect(r.out).toMatch(/ 1\. ip,nw_dst=10\.0\.2\.0\/24, priority 200\n    dec_ttl/);
    expect(r.out).toMatch(/Datapath actions: .*3$/m);
  });

  it('traces a frame given in hex, with JSON output carrying the bytes', async () => {
    const f = frame('0a:00:00:00:00:02', '10.0.1.7');
    const r = await run('of-trace', '--flows', flows, '--groups', groups, '--frame', toHex(f), '--in-port', '1', '--json');
    expect(r.code).toBe(0);
    const t = JSON.parse(r.out) as { tables: { tableId: number }[]; outputs: { port: number; bytes: string }[] };
    expect(t.tables.map((x) => x.tableId)).toEqual([0, 1]);
    expect(t.outputs).toHaveLength(1);
    expect(t.outputs[0]!.port).toBe(2);
    expect(t.outputs[0]!.bytes).toBe(toHex(f)); // pushed then popped: the same bytes
  });

  it('rejects bad arguments and bad microflows', async () => {
    expect((await run('of-trace', '--flows', flows)).err).toMatch(/give a MICROFLOW or --frame/);
    expect((await run('of-trace', '--flows', flows, '--frame', 'abc', '--in-port', '1')).err).toMatch(/not an even-length hex/);
    expect((await run('of-trace', '--flows', flows, '--frame', '00')).err).toMatch(/--frame needs --in-port/);
    expect((await run('of-trace', '--flows', flows, 'in_port=1', '--frame', '00', '--in-port', '1')).err).toMatch(/not both/);
    const bad = await run('of-trace', '--flows', flows, '--groups', groups, 'in_port=1,nw_dst=300.1.1.1');
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/bad microflow/);
    const noGroup = await run('of-trace', '--flows', flows, 'in_port=1');
    expect(noGroup.code).toBe(1);
    expect(noGroup.err).toMatch(/flows\.txt:7: the switch refuses this flow: OFPBAC_BAD_OUT_GROUP/);
  });
});
