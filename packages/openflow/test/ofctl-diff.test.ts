/**
 * Differential test of the text syntax against real Open vSwitch: `ovs-ofctl -O OpenFlow15
 * parse-flow` (no daemon needed) on a corpus and on random flows. We must accept what it accepts,
 * with the same canonical text, and refuse what it refuses, with the same OpenFlow error name
 * where it reports one.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { requireTools } from '@ovnts/testkit';
import { OpenFlowError, TextParseError, checkFlow, formatInstructions, formatMatch, hexC, parseFlow, type Flow } from '@ovnts/openflow';

const req = requireTools('ovs-ofctl differential', ['ovs-ofctl'], 'apt-get install -y openvswitch-switch');

type Verdict = { ok: true; text: string } | { ok: false; error?: string };

const execFileP = promisify(execFile);

/** Run ovs-ofctl parse-flow (asynchronously: hundreds of runs must not block vitest's worker) and reduce its answer to a verdict. */
async function ovs(flow: string): Promise<Verdict> {
  let out: string;
  try {
    out = (await execFileP('ovs-ofctl', ['-O', 'OpenFlow15', 'parse-flow', flow], { encoding: 'utf8' })).stdout;
  } catch (e) {
    const err = String((e as { stderr?: string }).stderr ?? '');
    const m = /\((OFP[A-Z_]+)\)/.exec(err);
    return m ? { ok: false, error: m[1]! } : { ok: false };
  }
  const dec = /\*\*\*decode error: (OFP[A-Z_]+)\*\*\*/.exec(out);
  if (dec) return { ok: false, error: dec[1]! };
  const line = out.split('\n').find((l) => l.startsWith('OFPT_FLOW_MOD'));
  if (!line) return { ok: false };
  return { ok: true, text: line.replace(/^OFPT_FLOW_MOD \(OF1\.5\) \(xid=0x1\): /, '') };
}

/** Our flow in the form ovs-ofctl parse-flow prints a flow_mod. */
function flowModText(f: Flow): string {
  const parts = ['ADD'];
  if (f.table) parts.push(`table:${f.table}`);
  const m = formatMatch(f.match, f.priority);
  if (m) parts.push(m);
  if (f.cookie) parts.push(`cookie:${hexC(f.cookie)}`);
  if (f.idleTimeout) parts.push(`idle:${f.idleTimeout}`);
  if (f.hardTimeout) parts.push(`hard:${f.hardTimeout}`);
  parts.push(`actions=${formatInstructions(f.instructions)}`);
  return parts.join(' ');
}

function ours(flow: string): Verdict {
  try {
    const f = parseFlow(flow);
    checkFlow(f);
    return { ok: true, text: flowModText(f) };
  } catch (e) {
    if (e instanceof OpenFlowError) return { ok: false, error: e.errorName };
    if (e instanceof TextParseError) return { ok: false };
    throw e;
  }
}

/** Compare; OVS's "no usable protocol" and plain messages carry no name, so any refusal agrees. */
async function agree(flow: string): Promise<void> {
  const o = await ovs(flow);
  const u = ours(flow);
  if (o.ok) expect(u, flow).toEqual(o);
  else {
    expect(u.ok, `${flow}: OVS refuses, we accept as ${u.ok ? u.text : ''}`).toBe(false);
    if (o.error && !u.ok && u.error !== undefined) expect(u.error, flow).toBe(o.error);
    else if (o.error) expect(u, `${flow}: OVS says ${o.error}`).toEqual(o);
  }
}

const corpus = readFileSync(new URL('./fixtures/flows-corpus.txt', import.meta.url), 'utf8')
  .split('\n')
  .filter((l) => l.trim() && !l.startsWith('#'));

describe.skipIf(req.skip)('ovs-ofctl parse-flow differential', () => {
  it.each(corpus)('%s', async (flow) => agree(flow));

  it('agrees on random flows', async () => {
    const fieldArb = fc.oneof(
      fc.constantFrom('ip', 'ipv6', 'tcp', 'udp', 'tcp6', 'udp6', 'icmp', 'icmp6', 'arp', 'sctp', 'rarp'),
      fc.integer({ min: 0, max: 0xfeff }).map((p) => `in_port=${p}`),
      fc.integer({ min: 0, max: 65535 }).map((p) => `tp_dst=${p}`),
      fc.tuple(fc.integer({ min: 0, max: 65535 }), fc.integer({ min: 0, max: 65535 })).map(([v, m]) => `tp_src=0x${v.toString(16)}/0x${m.toString(16)}`),
      fc.tuple(fc.ipV4(), fc.integer({ min: 0, max: 32 })).map(([a, n]) => `nw_src=${a}/${n}`),
      fc.ipV4().map((a) => `nw_dst=${a}`),
      fc.ipV6().map((a) => `ipv6_dst=${a}`),
      fc.integer({ min: 0, max: 4095 }).map((v) => `dl_vlan=${v}`),
      fc.integer({ min: 0, max: 7 }).map((v) => `dl_vlan_pcp=${v}`),
      fc.tuple(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 0xffff })).map(([v, m]) => `vlan_tci=0x${v.toString(16)}/0x${m.toString(16)}`),
      fc.integer({ min: 0, max: 63 }).map((v) => `ip_dscp=${v}`),
      fc.integer({ min: 0, max: 255 }).map((v) => `nw_ttl=${v}`),
      fc.integer({ min: 0, max: 255 }).map((v) => `icmp_type=${v}`),
      fc.constantFrom('nw_frag=no', 'nw_frag=yes', 'nw_frag=first', 'nw_frag=later', 'nw_frag=not_later'),
      fc.constantFrom('tcp_flags=+syn', 'tcp_flags=-ack+fin', 'ct_state=+trk+est', 'ct_state=-trk', 'ct_state=+new-inv'),
      fc.tuple(fc.integer({ min: 0, max: 15 }), fc.nat(), fc.nat()).map(([r, v, m]) => `reg${r}=${v}/${m}`),
      fc.integer({ min: 0, max: 2 ** 32 - 1 }).map((v) => `metadata=0x${v.toString(16)}`),
      fc.integer({ min: 0, max: 2 ** 48 - 1 }).map((v) => `dl_src=${v.toString(16).padStart(12, '0').replace(/(..)(?!$)/g, '$1:')}`),
      fc.constantFrom('dl_type=0x0800', 'dl_type=0x86dd', 'dl_type=0x88cc', 'nw_proto=6', 'nw_proto=17', 'arp_op=2', 'nd_target=::1', 'icmp_code=0'),
    );
    const actArb = fc.constantFrom(
      'drop', 'output:1', 'output:2,output:3', 'LOCAL', 'in_port', 'strip_vlan', 'push_vlan:0x8100', 'mod_vlan_vid:10', 'dec_ttl',
      'mod_nw_src:10.0.0.1', 'mod_tp_dst:80', 'set_field:5->reg0', 'load:1->NXM_NX_REG0[3]', 'resubmit(,5)', 'ct(commit)',
      'mod_dl_src:00:00:00:00:00:01,output:4', 'write_actions(output:1),goto_table:9', 'set_field:3->vlan_pcp', 'move:NXM_OF_TCP_SRC[]->NXM_NX_REG1[0..15]',
      'clone(mod_nw_dst:10.0.0.9,output:2),output:3', 'push:NXM_OF_TCP_DST[],pop:NXM_NX_REG0[0..7]', 'check_pkt_larger(1500)->NXM_NX_REG0[1],output:1',
      'exit', 'enqueue:3:1', 'set_tunnel:0x11', 'multipath(symmetric_l3l4,3,hash_threshold,4,0,NXM_NX_REG4[0..1])',
      'bundle(nw_src,0,hrw,ofport,members:1,3)', 'sample(probability=9)', 'fin_timeout(idle_timeout=2)', 'output(port=2,max_len=64)',
      'write_actions(mod_tp_dst:443,output:1)', 'write_actions(set_queue:2,output:1)',
    );
    await fc.assert(
      fc.asyncProperty(fc.array(fieldArb, { maxLength: 5 }), actArb, fc.option(fc.integer({ min: 0, max: 65535 })), async (fields, acts, prio) => {
        const flow = [...(prio === null ? [] : [`priority=${prio}`]), ...fields, `actions=${acts}`].join(',');
        await agree(flow);
      }),
      { numRuns: 300 },
    );
  }, 120_000);
});
