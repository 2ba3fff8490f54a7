/**
 * Real OVN as the oracle of the verdict engine: a zone exported as `ovnts kube nb` writes it is
 * served, as it is, to a private ovn-northd (../shared/oracles/ovn-sandbox), the MAC bindings the engine
 * assumes are added to the southbound database, and every hop the engine traced in that zone is
 * traced again by real `ovn-trace --minimal` with the hop's own microflow, `--ct` list and
 * `--lb-dst`. Hops whose outcome used state ovn-trace cannot have (learned load-balancer
 * affinity, the un-NAT of a reply) are counted apart. ovn-trace's daemon mode takes no `--ct`,
 * so each hop is one ovn-trace process; several run at once.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startOvnSandbox, type OvnSandbox } from '@ovnts/testkit';
import type { IgmpGroupRecord } from '@ovnts/ovn';
import { zoneOvsdbFile, type KubeNetwork, type OvnTraceEngine, type ProbeResult, type TraceHop } from '@ovnts/kube';

/** What comparing the hops of some probes with real ovn-trace found. */
export interface Agreement {
  /** Hops compared. */
  compared: number;
  /** Hops whose --minimal text is identical to real ovn-trace's. */
  identical: number;
  /** Hops identical once the logical port tunnel keys of the packet lines are masked. */
  sameButKeys: number;
  /** Hops where ovn-trace's --lb-dst shortcut traces another way (`TraceHop.lbShortcut`) whose outputs are the same. */
  sameOutputs: number;
  /** Hops left out because they used state ovn-trace cannot have. */
  stateful: number;
  /** The hops that differ (beyond port keys). */
  differ: { hop: TraceHop; ours: string; real: string }[];
}

/** Logical port keys in packet lines (`reg14=0x3`), which depend on ovn-northd's allocation order. */
function maskKeys(s: string): string {
  return s.replace(/\breg1[45]=0x[0-9a-f]+/g, 'reg1N=KEY').replace(/[ \t]+$/gm, '').trimEnd();
}

/** Where a --minimal trace sends the packet: its `output("port")` lines in order. */
function outputs(s: string): string {
  return [...s.matchAll(/output\("([^"]+)"\)/g)].map((m) => m[1]).join(' ');
}

/** A private OVN control plane holding one zone at a time. */
export class RealOvn {
  private igmp = '[]';

  private constructor(private readonly sb: OvnSandbox) {}

  /** Replaces the southbound IGMP_Group rows with `groups` (what ovn-controllers' snooping learnt) and waits for ovn-northd. */
  setIgmpGroups(groups: readonly IgmpGroupRecord[]): void {
    const key = JSON.stringify(groups);
    if (key === this.igmp) return;
    this.igmp = key;
    this.sb.run('ovn-sbctl', ['--all', 'destroy', 'IGMP_Group']);
    const one = (table: string, cond: string) => this.sb.run('ovn-sbctl', ['--bare', '--columns=_uuid', 'find', table, cond]).trim();
    const ch = one('Chassis', 'name=oracle');
    for (const g of groups) {
      const ports = g.ports.map((p) => one('Port_Binding', `logical_port=${p}`)).join(',');
      this.sb.run('ovn-sbctl', ['create', 'IGMP_Group', `address="${g.address}"`, `datapath=${one('Datapath_Binding', `external_ids:name=${g.datapath}`)}`, `chassis=${ch}`, `ports=[${ports}]`]);
    }
    this.sb.run('ovn-nbctl', ['--timeout=120', '--wait=sb', 'sync']);
  }

  private loads = 0;

  /** The NB ovsdb-server serves `file` (`ovsdb-server/remove-db`, `add-db`): its rows keep their uuids. */
  private replaceNb(file: string): void {
    const ctl = join(this.sb.dir, 'nb.ctl');
    this.sb.run('ovs-appctl', ['-t', ctl, 'ovsdb-server/remove-db', 'OVN_Northbound']);
    this.sb.run('ovs-appctl', ['-t', ctl, 'ovsdb-server/add-db', file]);
  }

  /** Starts the sandbox (`script`: the ovn-sandbox oracle). */
  static start(script: string): RealOvn {
    return new RealOvn(startOvnSandbox(script));
  }

  /** Replaces the northbound database with `zone`'s, waits for ovn-northd, adds the engine's MAC bindings. */
  load(net: KubeNetwork, engine: OvnTraceEngine, node: string): void {
    const zone = net.zones.get(node)!;
    const n = ++this.loads;
    const file = join(this.sb.dir, `${node}-${n}.nb.db`);
    writeFileSync(file, zoneOvsdbFile(zone));
    // The file becomes the server's database as it is, row uuids kept: `ovsdb-client restore`
    // would give every row a new random uuid (ovsdb-client(1): the protocol lets no client choose
    // uuids), and ovn-northd allocates port tunnel keys in an order that follows the uuids, so
    // the keys would change from run to run. An empty database first, so that ovn-northd drops
    // the previous zone's port bindings (ports of the same name would keep their keys).
    const empty = join(this.sb.dir, `empty-${n}.nb.db`);
    this.sb.run('ovsdb-tool', ['create', empty, '/usr/share/ovn/ovn-nb.ovsschema']);
    this.replaceNb(empty);
    this.sb.run('ovn-nbctl', ['--timeout=120', '--wait=sb', 'init']);
    this.replaceNb(file);
    // The first sync may return on the state before the switch; the second waits for northd to process it.
    this.sb.run('ovn-nbctl', ['--timeout=120', '--wait=sb', 'sync']);
    this.sb.run('ovn-nbctl', ['--timeout=120', '--wait=sb', 'sync']);
    // A chassis to own IGMP_Group rows, with the features ovn-northd assumes when there is none.
    this.sb.run('ovn-sbctl', ['--may-exist', 'chassis-add', 'oracle', 'geneve', '127.0.0.1']);
    this.sb.run('ovn-sbctl', ['set', 'Chassis', 'oracle', 'other_config:ct-no-masked-label=true', 'other_config:mac-binding-timestamp=true', 'other_config:ovn-ct-lb-related=true', 'other_config:port-up-notif=true']);
    this.igmp = '[]';
    for (const b of engine.macBindings(zone)) {
      const dp = this.sb.run('ovn-sbctl', ['--bare', '--columns=datapath', 'find', 'Port_Binding', `logical_port=${b.port}`]).trim();
      // A fresh timestamp, as ovn-controller writes it: GR_<node> ages MAC bindings out (mac_binding_age_threshold=300).
      this.sb.run('ovn-sbctl', ['create', 'MAC_Binding', `logical_port=${b.port}`, `ip=${b.ip.includes(':') ? `"${b.ip}"` : b.ip}`, `mac="${b.mac}"`, `datapath=${dp}`, `timestamp=${Date.now()}`]);
    }
  }

  /** Real `ovn-trace --minimal` of one hop. */
  trace(hop: TraceHop): Promise<string> {
    const args = ['--minimal', ...hop.ct.map((c) => `--ct=${c}`), ...(hop.lbDst ? [`--lb-dst=${hop.lbDst}`] : []), hop.datapath, hop.microflow];
    return new Promise((resolve, reject) => {
      execFile('ovn-trace', args, { env: this.sb.env, maxBuffer: 1 << 24 }, (err, stdout, stderr) => {
        if (err) reject(new Error(`ovn-trace ${args.join(' ')}: ${stderr || err.message}`));
        else resolve(stdout);
      });
    });
  }

  /** Compares every hop of `results` in every zone of `net` with real ovn-trace. */
  async agree(net: KubeNetwork, engine: OvnTraceEngine, results: readonly ProbeResult[], parallel = 4): Promise<Agreement> {
    const a: Agreement = { compared: 0, identical: 0, sameButKeys: 0, sameOutputs: 0, stateful: 0, differ: [] };
    const hops = results.flatMap((r) => [...r.forward.hops, ...(r.reply?.hops ?? [])]);
    for (const node of net.zones.keys()) {
      const mine = hops.filter((h) => h.zone === node);
      if (!mine.length) continue;
      this.load(net, engine, node);
      const todo = mine.filter((h) => {
        if (h.stateful) a.stateful++;
        return !h.stateful;
      });
      // Hops traced with the same learnt groups together (each change is a northd run).
      const states = new Map<string, TraceHop[]>();
      for (const h of todo) {
        const k = JSON.stringify(h.igmpGroups ?? []);
        let l = states.get(k);
        if (!l) states.set(k, (l = []));
        l.push(h);
      }
      for (const [k, group] of states) {
        this.setIgmpGroups(JSON.parse(k) as IgmpGroupRecord[]);
        await this.traceAll(group, a, parallel);
      }
    }
    return a;
  }

  private async traceAll(todo: readonly TraceHop[], a: Agreement, parallel: number): Promise<void> {
    {
      let next = 0;
      const worker = async () => {
        while (next < todo.length) {
          const h = todo[next++]!;
          const real = await this.trace(h);
          a.compared++;
          if (real.trimEnd() === h.minimal.trimEnd()) a.identical++;
          else if (maskKeys(real) === maskKeys(h.minimal)) a.sameButKeys++;
          else if (h.lbShortcut && outputs(real) === outputs(h.minimal)) a.sameOutputs++;
          else a.differ.push({ hop: h, ours: h.minimal, real });
        }
      };
      await Promise.all(Array.from({ length: parallel }, worker));
    }
  }

  /** Stops the daemons (by pid) and removes the directory. */
  stop(): void {
    this.sb.stop();
  }
}

/** A readable account of the differing hops (the first few). */
export function formatDiffer(a: Agreement, max = 3): string {
  return a.differ
    .slice(0, max)
    .map((d) => `zone ${d.hop.zone} ${d.hop.direction} ${d.hop.datapath} ${d.hop.microflow} --ct=${d.hop.ct.join(',')}${d.hop.lbDst ? ` --lb-dst=${d.hop.lbDst}` : ''}\n--- real ovn-trace\n${d.real}\n--- ours\n${d.ours}`)
    .join('\n');
}
