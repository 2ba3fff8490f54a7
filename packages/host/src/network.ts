/**
 * Pods as Linux network namespaces, with state on disk (issue 8 item 6, for issue 11's
 * `ovnts up` / `ovnts down`).
 *
 * `HostNetwork.open(stateDir)` manages a set of pod namespaces. `addPod` creates, for pod `p` of
 * Kubernetes namespace `n`, the namespace `ovnts-<n>-<p>` and a veth pair: the pod's end, renamed
 * `eth0`, inside it with the pod's MAC, addresses and default routes; the host end (`ovh` + 8 hex
 * digits of a hash of the namespace name: interface names have at most 15 bytes) left in this
 * namespace, up, without addresses and with IPv6 off, so the host itself never transmits on it
 * (whatever appears there comes from the pod). The pod's transmit offloads (checksums, TCP
 * segmentation) are turned off with `ethtool`, so every frame leaves the pod complete. The host end is what a switch port attaches to
 * (`attachLivePort`).
 *
 * Every resource is recorded in `<stateDir>/host-state.json` before it is created (status
 * `creating`) and marked `created` after, the file written atomically (temporary file + rename).
 * So whatever happens to this process (an exception, Ctrl-C, SIGKILL, a power cut), `down` on the
 * same directory removes exactly what was created, in reverse order, and nothing else: a namespace
 * or link that exists but is not recorded is never touched, and `addPod` refuses to reuse one. A
 * failure half-way through `addPod` removes that pod's pieces before rethrowing. The file names
 * its owner's pid: a second process opening a directory whose owner still runs is refused; a
 * directory left by a process that died is taken over (so `down` can clean it).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { checkIfName, HostError, Ip, requireRoot, type Runner } from './ip.js';

/** One recorded resource. */
export interface HostResource {
  /** A network namespace, or a link in this namespace (a veth host end: deleting it deletes the pair). */
  kind: 'netns' | 'link';
  name: string;
  /** `creating` until the command that creates it succeeded. */
  status: 'creating' | 'created';
  /** The pod namespace it belongs to. */
  pod: string;
}

/** The state file's content. */
export interface HostStateFile {
  version: 1;
  owner: { pid: number; started: string };
  resources: HostResource[];
  /** The pods, by namespace name, as `addPod` was asked for them. */
  pods: Record<string, PodSpec>;
}

/** A pod to create. */
export interface PodSpec {
  /** Kubernetes namespace (a DNS-1123 label). */
  namespace: string;
  /** Pod name (a DNS-1123 label). */
  pod: string;
  /** The pod interface's MAC (`0a:58:0a:f4:00:05`). */
  mac: string;
  /** Addresses with prefix length (`10.244.0.5/24`, `fd00:10:244::5/64`). */
  addresses: string[];
  /** Default gateways (one per family at most). */
  gateways?: string[];
  /** MTU of both ends (default 1400: room for Geneve inside a 1500-byte underlay). */
  mtu?: number;
}

/** A pod's namespace as created. */
export interface PodNetwork extends Required<PodSpec> {
  /** The network namespace (`ovnts-<namespace>-<pod>`). */
  netns: string;
  /** The veth end in this namespace (attach a switch port here). */
  hostIf: string;
  /** The pod's interface inside `netns`. */
  podIf: 'eth0';
}

/** What `down` did. */
export interface DownReport {
  /** Resources deleted. */
  removed: string[];
  /** Recorded resources that were already gone. */
  missing: string[];
  /** Resources that could not be deleted (still recorded), with why. */
  failed: string[];
}

/** Options of `HostNetwork.open`. */
export interface HostNetworkOptions {
  /** How commands run (default: for real, after a root check). */
  run?: Runner;
}

const STATE = 'host-state.json';
const LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

/** The namespace name of pod `pod` of Kubernetes namespace `namespace`: `ovnts-<namespace>-<pod>`. */
export function podNetnsName(namespace: string, pod: string): string {
  for (const [what, v] of [['namespace', namespace], ['pod', pod]] as const) {
    if (!LABEL.test(v)) throw new HostError(`${what} ${JSON.stringify(v)} is not a DNS-1123 label (lower-case letters, digits and '-', at most 63)`);
  }
  return `ovnts-${namespace}-${pod}`;
}

/** The host-end interface name of a pod namespace (`ovh` + 8 hex digits). */
export function hostIfName(netns: string): string {
  return checkIfName(`ovh${createHash('sha1').update(netns).digest('hex').slice(0, 8)}`);
}

function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function checkSpec(s: PodSpec): Required<PodSpec> {
  if (!MAC.test(s.mac) || (parseInt(s.mac.slice(0, 2), 16) & 1) !== 0) throw new HostError(`pod ${s.namespace}/${s.pod}: MAC ${JSON.stringify(s.mac)} is not a unicast MAC address`);
  for (const a of s.addresses) {
    const [ip, len, extra] = a.split('/');
    const fam = isIP(ip ?? '');
    const max = fam === 6 ? 128 : 32;
    if (!fam || extra !== undefined || len === undefined || !/^\d{1,3}$/.test(len) || Number(len) > max) {
      throw new HostError(`pod ${s.namespace}/${s.pod}: address ${JSON.stringify(a)} is not an IP address with a prefix length`);
    }
  }
  const gateways = s.gateways ?? [];
  for (const g of gateways) if (!isIP(g)) throw new HostError(`pod ${s.namespace}/${s.pod}: gateway ${JSON.stringify(g)} is not an IP address`);
  if (new Set(gateways.map((g) => isIP(g))).size !== gateways.length) throw new HostError(`pod ${s.namespace}/${s.pod}: at most one gateway per address family`);
  const mtu = s.mtu ?? 1400;
  if (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535) throw new HostError(`pod ${s.namespace}/${s.pod}: MTU ${mtu} outside 68..65535`);
  return { namespace: s.namespace, pod: s.pod, mac: s.mac.toLowerCase(), addresses: [...s.addresses], gateways, mtu };
}

/** Pod namespaces and their veth pairs, recorded on disk (see the module comment). */
export class HostNetwork {
  private state: HostStateFile;
  private readonly file: string;

  private constructor(
    readonly stateDir: string,
    readonly ip: Ip,
    state: HostStateFile,
  ) {
    this.file = join(stateDir, STATE);
    this.state = state;
  }

  /**
   * Open (creating it if needed) the state in `stateDir`. Refused while another live process owns
   * it; taken over when its owner died. Needs root unless `opts.run` replaces the command runner.
   */
  static open(stateDir: string, opts: HostNetworkOptions = {}): HostNetwork {
    if (!opts.run) requireRoot('creating network namespaces');
    mkdirSync(stateDir, { recursive: true });
    const file = join(stateDir, STATE);
    let state: HostStateFile = { version: 1, owner: { pid: process.pid, started: new Date().toISOString() }, resources: [], pods: {} };
    if (existsSync(file)) {
      let old: HostStateFile;
      try {
        old = JSON.parse(readFileSync(file, 'utf8')) as HostStateFile;
      } catch (e) {
        throw new HostError(`${file}: not a state file of ovn-ts (${(e as Error).message}); remove it only if you know nothing it lists still exists`);
      }
      if (old.version !== 1 || !Array.isArray(old.resources)) throw new HostError(`${file}: unknown state file version`);
      if (old.owner.pid !== process.pid && pidAlive(old.owner.pid) && old.resources.length > 0) {
        throw new HostError(`${file} belongs to process ${old.owner.pid}, which is still running (stop it, or run down from it)`);
      }
      state = { ...old, owner: state.owner, pods: old.pods ?? {} };
    }
    const h = new HostNetwork(stateDir, new Ip(opts.run), state);
    h.save();
    return h;
  }

  /** What is recorded (a copy). */
  get resources(): HostResource[] {
    return this.state.resources.map((r) => ({ ...r }));
  }

  /** The pods created and not removed. */
  pods(): PodNetwork[] {
    return Object.entries(this.state.pods).map(([netns, spec]) => this.podOf(netns, checkSpec(spec)));
  }

  private podOf(netns: string, spec: Required<PodSpec>): PodNetwork {
    return { ...spec, netns, hostIf: hostIfName(netns), podIf: 'eth0' };
  }

  private save(): void {
    const tmp = `${this.file}.tmp-${process.pid}`;
    writeFileSync(tmp, `${JSON.stringify(this.state, null, 2)}\n`);
    renameSync(tmp, this.file);
  }

  private record(r: HostResource): HostResource {
    this.state.resources.push(r);
    this.save();
    return r;
  }

  private created(r: HostResource): void {
    r.status = 'created';
    this.save();
  }

  private forget(r: HostResource): void {
    const i = this.state.resources.indexOf(r);
    if (i >= 0) this.state.resources.splice(i, 1);
    this.save();
  }

  /** Create pod `spec`'s namespace and veth pair (see the module comment); returns it. */
  addPod(spec: PodSpec): PodNetwork {
    const s = checkSpec(spec);
    const netns = podNetnsName(s.namespace, s.pod);
    const hostIf = hostIfName(netns);
    const peer = `ovp${hostIf.slice(3)}`;
    if (this.state.pods[netns]) throw new HostError(`pod ${s.namespace}/${s.pod} is already up (namespace ${netns})`);
    if (this.ip.netnsExists(netns)) throw new HostError(`network namespace ${netns} exists but was not created here; not touching it`);
    for (const l of [hostIf, peer]) if (this.ip.linkExists(l)) throw new HostError(`interface ${l} exists but was not created here; not touching it`);
    const mine: HostResource[] = [];
    try {
      const ns = this.record({ kind: 'netns', name: netns, status: 'creating', pod: netns });
      mine.push(ns);
      this.ip.addNetns(netns);
      this.created(ns);
      const link = this.record({ kind: 'link', name: hostIf, status: 'creating', pod: netns });
      mine.push(link);
      this.ip.addVeth(hostIf, peer);
      this.created(link);
      this.ip.moveToNetns(peer, netns);
      this.ip.setLink(peer, ['name', 'eth0'], netns);
      this.ip.setLink('eth0', ['address', s.mac, 'mtu', String(s.mtu)], netns);
      this.ip.setLink('lo', ['up'], netns);
      // veth offloads transmit checksums and TCP segmentation to a "device" that, here, is a
      // packet socket: frames would be captured with partial checksums and as 64 KB segments.
      // The pod's kernel computes them itself instead (what OVS asks of veths it reads too).
      this.ip.exec(netns, 'ethtool', ['-K', 'eth0', 'tx', 'off']);
      // The host end carries only the pod's frames: no addresses, no IPv6 (no RS, no MLD).
      this.ip.sysctl(`net.ipv6.conf.${hostIf}.disable_ipv6`, '1');
      this.ip.setLink(hostIf, ['mtu', String(s.mtu), 'up']);
      this.ip.setLink('eth0', ['up'], netns);
      for (const a of s.addresses) {
        if (a.includes(':')) this.ip.run('ip', ['-n', netns, 'addr', 'add', a, 'dev', 'eth0', 'nodad']);
        else this.ip.addAddress('eth0', a, netns);
      }
      for (const g of s.gateways) this.ip.addDefaultRoute('eth0', g, netns);
      this.state.pods[netns] = s;
      this.save();
      return this.podOf(netns, s);
    } catch (e) {
      for (const r of mine.reverse()) this.removeResource(r, { removed: [], missing: [], failed: [] });
      throw e;
    }
  }

  /** Remove one pod (its veth pair and namespace). */
  removePod(namespace: string, pod: string): DownReport {
    const netns = podNetnsName(namespace, pod);
    const report: DownReport = { removed: [], missing: [], failed: [] };
    for (const r of this.state.resources.filter((x) => x.pod === netns).reverse()) this.removeResource(r, report);
    delete this.state.pods[netns];
    this.save();
    return report;
  }

  private removeResource(r: HostResource, report: DownReport): void {
    const label = `${r.kind} ${r.name}`;
    try {
      const exists = r.kind === 'netns' ? this.ip.netnsExists(r.name) : this.ip.linkExists(r.name);
      if (!exists) report.missing.push(label);
      else {
        if (r.kind === 'netns') this.ip.delNetns(r.name);
        else this.ip.delLink(r.name);
        report.removed.push(label);
      }
      this.forget(r);
    } catch (e) {
      report.failed.push(`${label}: ${(e as Error).message}`);
    }
  }

  /** Remove everything recorded, newest first; the state file goes when nothing is left. */
  down(): DownReport {
    const report: DownReport = { removed: [], missing: [], failed: [] };
    for (const r of [...this.state.resources].reverse()) this.removeResource(r, report);
    for (const netns of Object.keys(this.state.pods)) if (!this.state.resources.some((r) => r.pod === netns)) delete this.state.pods[netns];
    if (this.state.resources.length === 0) rmSync(this.file, { force: true });
    else this.save();
    return report;
  }

  /** Run `cmd` inside a pod's namespace; returns its standard output. */
  exec(p: PodNetwork, cmd: string, args: readonly string[]): string {
    return this.ip.exec(p.netns, cmd, args);
  }
}

/** `down` on a state directory, e.g. after the process that created it died (`ovnts down`). */
export function downState(stateDir: string, opts: HostNetworkOptions = {}): DownReport {
  if (!existsSync(join(stateDir, STATE))) return { removed: [], missing: [], failed: [] };
  return HostNetwork.open(stateDir, opts).down();
}
