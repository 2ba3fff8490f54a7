/**
 * Network-namespace fixtures for live tests, on top of `@ovnts/host`'s iproute2 operations.
 * `createVethNs(tag)` makes a namespace and a veth pair whose host end stays in the current (root)
 * namespace and whose peer end lives in the new namespace, both up, IPv6 off. Names carry the
 * process id and a counter so parallel runs do not clash, and every created resource is
 * remembered so `cleanup()` (also run on process exit) deletes exactly what this process made, by
 * name, and nothing else. (Pods for `ovnts up`, with state on disk, are `@ovnts/host`'s
 * `HostNetwork`.)
 */
import type { ExecFileSyncOptions } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { Ip } from '@ovnts/host';

/** A namespace with a veth pair into it. */
export interface VethNs {
  /** The namespace name (`ovnts-<tag>-<pid>-<n>`). */
  ns: string;
  /** The veth end in the current namespace. */
  hostIf: string;
  /** The veth end inside `ns`. */
  nsIf: string;
  /** Run a command inside the namespace (`ip netns exec`); returns its stdout. */
  exec(cmd: string, args: string[], opts?: ExecFileSyncOptions): string;
  /** Delete the veth pair and the namespace (idempotent, never throws). */
  cleanup(): void;
}

const live = new Set<VethNs>();
let seq = 0;
let hooked = false;
const ip = new Ip();

function quiet(f: () => void): void {
  try {
    f();
  } catch {
    /* already gone */
  }
}

/** Create a fresh namespace plus veth pair (root required); see the module comment. */
export function createVethNs(tag: string): VethNs {
  const n = ++seq;
  const ns = `ovnts-${tag}-${process.pid}-${n}`;
  const base = `ov${process.pid.toString(36)}${n.toString(36)}`; // interface names are at most 15 bytes
  const hostIf = `${base}h`;
  const nsIf = `${base}n`;
  let done = false;
  const v: VethNs = {
    ns,
    hostIf,
    nsIf,
    exec(cmd, args, opts = {}) {
      return execFileSync('ip', ['netns', 'exec', ns, cmd, ...args], { encoding: 'utf8', ...opts }).toString();
    },
    cleanup() {
      if (done) return;
      done = true;
      quiet(() => ip.delLink(hostIf));
      quiet(() => ip.delNetns(ns));
      live.delete(v);
    },
  };
  if (!hooked) {
    hooked = true;
    process.once('exit', cleanupAllNetns);
  }
  live.add(v);
  try {
    ip.addNetns(ns);
    ip.addVeth(hostIf, nsIf);
    ip.moveToNetns(nsIf, ns);
    // No IPv6 on these links, so router solicitations/MLD do not add unrelated frames.
    quiet(() => ip.sysctl(`net.ipv6.conf.${hostIf}.disable_ipv6`, '1'));
    quiet(() => ip.sysctl(`net.ipv6.conf.${nsIf}.disable_ipv6`, '1', ns));
    ip.setLink(hostIf, ['up']);
    ip.setLink(nsIf, ['up'], ns);
    ip.setLink('lo', ['up'], ns);
  } catch (e) {
    v.cleanup();
    throw e;
  }
  return v;
}

/** Delete every namespace/veth this process created and has not cleaned up yet. */
export function cleanupAllNetns(): void {
  for (const b of [...bridges]) b.cleanup();
  for (const v of [...live]) v.cleanup();
}

/** Namespaces standing for hosts on one LAN: a Linux bridge in the current namespace and a veth pair into each namespace. */
export interface BridgeNet {
  /** The bridge's name. */
  readonly bridge: string;
  /** The bridge's own address (reachable from every namespace; e.g. for servers in the current namespace). */
  readonly address: string;
  /** The namespaces, each with its address on the LAN. */
  readonly hosts: readonly (VethNs & { readonly address: string })[];
  /** Delete the namespaces, their veth pairs and the bridge (idempotent, never throws). */
  cleanup(): void;
}

const bridges = new Set<BridgeNet>();

/**
 * `n` namespaces on one /24 (`10.X.Y.0`, X and Y from the process id; the bridge is `.254`,
 * host i is `.(i+1)`), bridged in the current namespace (root required). Cleaned up on process
 * exit like `createVethNs`.
 */
export function createBridgeNet(tag: string, n: number): BridgeNet {
  const subnet = `10.${200 + (process.pid % 50)}.${(process.pid >> 6) % 250}`;
  const bridge = `ovb${process.pid.toString(36)}${(++seq).toString(36)}`;
  const hosts: (VethNs & { address: string })[] = [];
  let done = false;
  const net: BridgeNet = {
    bridge,
    address: `${subnet}.254`,
    hosts,
    cleanup() {
      if (done) return;
      done = true;
      for (const h of hosts) h.cleanup();
      quiet(() => ip.delLink(bridge));
      bridges.delete(net);
    },
  };
  bridges.add(net);
  if (!hooked) {
    hooked = true;
    process.once('exit', cleanupAllNetns);
  }
  try {
    ip.run('ip', ['link', 'add', bridge, 'type', 'bridge']);
    quiet(() => ip.sysctl(`net.ipv6.conf.${bridge}.disable_ipv6`, '1'));
    ip.addAddress(bridge, `${subnet}.254/24`);
    ip.setLink(bridge, ['up']);
    for (let i = 0; i < n; i++) {
      const v = createVethNs(tag);
      const h = Object.assign(v, { address: `${subnet}.${i + 1}` });
      hosts.push(h);
      ip.setLink(v.hostIf, ['master', bridge]);
      ip.addAddress(v.nsIf, `${subnet}.${i + 1}/24`, v.ns);
    }
  } catch (e) {
    net.cleanup();
    throw e;
  }
  return net;
}
