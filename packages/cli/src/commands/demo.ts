/**
 * `ovnts demo`: a guided tour on the embedded fixtures, in three parts (each can be run alone with
 * `--part`): (1) the Geneve overlay between two OVN nodes, dissected; (2) a teaching OpenFlow
 * pipeline (VLAN access/trunk ports, a flood group, a routed hop with dec_ttl) replaying a capture
 * and explaining one packet like ofproto/trace; (3) an OVN logical network (two switches, a router,
 * an ACL, a load balancer) compiled like ovn-northd and traced like ovn-trace.
 */
import { existsSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatTrace } from '@ovnts/openflow';
import { compileNorthd, loadNbFile, ovnTrace } from '@ovnts/ovn';
import type { CommandSpec, ParsedArgs } from '../args.js';
import { CliError, UsageError } from '../errors.js';
import type { Io } from '../io.js';
import { dissectFrameDetailed, summarize } from '../dissect.js';
import { loadFlows, loadGroups, makeSwitch } from '../openflow-setup.js';
import { dissectFile } from './dissect.js';
import { replay } from './replay.js';

// The demo's fixtures belong to this package (packages/cli/fixtures, in its published files), so
// the demo works wherever the package is installed; the repository's fixtures/ links to them.
const fixture = (p: string) => fileURLToPath(new URL(`../../fixtures/${p}`, import.meta.url));

/** The fixture files the demo reads (the package's own `fixtures/`). */
export const DEMO_FILES = {
  capture: fixture('captures/geneve-two-nodes.pcapng'),
  flows: fixture('openflow/vlan-router.flows'),
  groups: fixture('openflow/vlan-router.groups'),
  in1: fixture('captures/vlan-router-in1.pcap'),
  in3: fixture('captures/vlan-router-in3.pcap'),
  nb: fixture('nb/demo.db'),
};
/** The capture of part 1. */
export const DEMO_CAPTURE = DEMO_FILES.capture;

const spec: CommandSpec = {
  name: 'demo',
  summary: 'A guided tour on the embedded fixtures: overlay, OpenFlow, OVN (no server, no root)',
  usage: 'ovnts demo [--part 1|2|3] [--capture FILE]',
  options: {
    part: { kind: 'string', metavar: 'N', help: 'run one part: 1 overlay, 2 OpenFlow, 3 OVN' },
    capture: { kind: 'string', metavar: 'FILE', help: 'dissect this capture in part 1 instead of the fixture' },
  },
  positionals: { min: 0, max: 0, names: '' },
};

/** A fixture's path as the user would type it from here (absolute when it is outside the current folder). */
const rel = (p: string) => {
  const r = relative(process.cwd(), p);
  return !r || r.startsWith('..') ? p : r;
};
const say = (io: Io, ...lines: string[]) => io.out(`${lines.join('\n')}\n`);

async function overlay(io: Io, capture: string): Promise<void> {
  say(
    io,
    '== 1. The overlay: Geneve between two OVN nodes ==',
    '',
    'Two nodes (chassis) of an OVN-Kubernetes cluster talk over a Geneve overlay (UDP 6081).',
    "Each frame carries a pod's Ethernet frame; the 24-bit VNI is the logical datapath key and",
    "OVN's Geneve option (class 0x0102, type 0x80) carries the logical ingress and egress port keys.",
    'Frame 13 goes to a Windows node over VXLAN (hybrid overlay); frame 14 was cut short by the',
    "capture's snaplen, and dissection says where it stopped.",
    '',
    `$ ovnts dissect ${rel(capture)}`,
  );
  const n = await dissectFile(capture, false, io);
  say(io, '', `${n} frames. The same as JSON: ovnts dissect --json ${rel(capture)}`, '');
}

function openflow(io: Io): void {
  say(
    io,
    '== 2. OpenFlow: a teaching pipeline ==',
    '',
    `${rel(DEMO_FILES.flows)} (OpenFlow 1.5 semantics, ovs-ofctl syntax): ports 1 and 2 are access`,
    'ports of VLAN 10, port 3 a trunk, port 4 an uplink. Table 0 tags what arrives on access ports;',
    'table 1 learns where each source MAC lives (the learn action writes flows into table 3) and',
    'delivers by destination (unknown: a flood group); table 2 routes with dec_ttl.',
    '',
    `$ ovnts replay --flows ${rel(DEMO_FILES.flows)} --groups ${rel(DEMO_FILES.groups)} --ports 1-4 \\`,
    `    --in 1=${rel(DEMO_FILES.in1)} --in 3=${rel(DEMO_FILES.in3)} --out-dir OUT`,
  );
  const res = replay({
    flowsPath: DEMO_FILES.flows,
    groupsPath: DEMO_FILES.groups,
    ports: [1, 2, 3, 4],
    inputs: [
      { port: 1, path: DEMO_FILES.in1 },
      { port: 3, path: DEMO_FILES.in3 },
    ],
  });
  say(io, `replayed ${res.frames} frames; what each port sent:`);
  for (const [port, frames] of res.out) {
    for (const f of frames) {
      const s = summarize(dissectFrameDetailed(f.data), f.data.length);
      say(io, `  port ${port}: ${s.proto.padEnd(5)} ${s.src} → ${s.dst}  ${s.info}`);
    }
  }
  say(io, '(the UDP frame with TTL 1 was not routed: dec_ttl stops it, as in Open vSwitch)', '');
  say(io, 'What the switch learned (ovs-ofctl dump-flows br0 table=3):');
  for (const line of res.switch.dumpFlows(3)) say(io, line);
  say(io, '(the same frames through real Open vSwitch give byte-identical outputs on every port)', '');
  const mf = 'in_port=1,tcp,dl_src=0a:00:00:00:00:01,dl_dst=0a:00:00:00:00:fe,nw_src=10.0.10.1,nw_dst=192.0.2.7,nw_ttl=64,tcp_dst=443';
  say(io, 'Why did the TCP SYN leave on port 4? Ask the switch, as ovs-appctl ofproto/trace would:', '', `$ ovnts of-trace --flows ... '${mf}'`);
  const sw = makeSwitch([1, 2, 3, 4]);
  loadGroups(sw, DEMO_FILES.groups);
  loadFlows(sw, DEMO_FILES.flows);
  io.out(formatTrace(sw.trace(mf)));
  say(io, '');
}

function ovn(io: Io): void {
  const db = loadNbFile(DEMO_FILES.nb);
  const flows = compileNorthd(db).flows.length;
  say(
    io,
    '== 3. OVN: a logical network, compiled and traced ==',
    '',
    `${rel(DEMO_FILES.nb)} is an OVN northbound database (as ovsdb-client backup writes it): switches sw0`,
    '(vm1 10.0.0.11, vm2 10.0.0.12) and sw1 (vm3 10.0.1.13) joined by router lr0; an ACL on sw0 drops',
    'TCP port 22 towards its ports; load balancer lb0 maps 10.0.0.100:80 to vm1 and vm3.',
    `Compiled like ovn-northd: ${flows} logical flows (ovnts northd --nb ${rel(DEMO_FILES.nb)}). Traced like ovn-trace:`,
    '',
  );
  const cases: [string, string[], string, string][] = [
    ['vm1 -> vm3, routed by lr0 (TTL decremented, MACs rewritten)', ['--minimal'], 'sw0',
      'inport=="vm1" && eth.src==00:00:00:00:00:01 && eth.dst==00:00:00:00:ff:01 && ip4.src==10.0.0.11 && ip4.dst==10.0.1.13 && ip.ttl==64 && tcp && tcp.dst==80'],
    ['vm3 -> vm1 port 22, a new connection: the ACL drops it in sw0 (no output in the answer)', ['--minimal', '--ct=new'], 'sw1',
      'inport=="vm3" && eth.src==00:00:00:00:00:03 && eth.dst==00:00:00:00:ff:02 && ip4.src==10.0.1.13 && ip4.dst==10.0.0.11 && ip.ttl==64 && tcp && tcp.dst==22'],
    ['vm2 -> the VIP 10.0.0.100:80, load-balanced to vm1', ['--minimal', '--lb-dst=10.0.0.11:80'], 'sw0',
      'inport=="vm2" && eth.src==00:00:00:00:00:02 && eth.dst==00:00:00:00:ff:01 && ip4.src==10.0.0.12 && ip4.dst==10.0.0.100 && ip.ttl==64 && tcp && tcp.dst==80'],
  ];
  for (const [what, opts, dp, mf] of cases) {
    say(io, `-- ${what}`, `$ ovnts ovn-trace --nb ${rel(DEMO_FILES.nb)} ${opts.join(' ')} ${dp} '${mf}'`);
    const ct = opts.filter((o) => o.startsWith('--ct=')).map((o) => o.slice(5));
    const lb = opts.find((o) => o.startsWith('--lb-dst='))?.slice(9);
    io.out(ovnTrace(db, dp, mf, { format: 'minimal', ...(ct.length ? { ct } : {}), ...(lb ? { lbDst: lb } : {}) }));
    say(io, '');
  }
  say(io, 'These answers are the same as real ovn-trace 23.03 gives for the same database (see docs/ovn-trace.md).');
}

/** The `demo` command. */
export const demoCommand = {
  spec,
  async run(args: ParsedArgs, io: Io): Promise<number> {
    const part = args.values.get('part');
    if (part !== undefined && !['1', '2', '3'].includes(part)) throw new UsageError(`demo: --part must be 1, 2 or 3, not ${JSON.stringify(part)}`);
    const capture = args.values.get('capture') ?? DEMO_FILES.capture;
    for (const f of [capture, ...Object.values(DEMO_FILES)]) {
      if (!existsSync(f)) throw new CliError(`demo fixture not found: ${f} (run the demo from a clone of the ovn-ts repository)`);
    }
    if (!part || part === '1') await overlay(io, capture);
    if (!part || part === '2') openflow(io);
    if (!part || part === '3') ovn(io);
    return 0;
  },
};
