/**
 * The host's network plumbing, through iproute2 (`ip`): network namespaces, veth pairs, links,
 * addresses and routes. Every call is one `ip` (or `ip netns exec`) process run synchronously
 * with a time bound; a failure is a `HostError` that quotes the command and what `ip` said.
 * Commands go through a `Runner` so tests without root can record them instead.
 */
import { execFileSync } from 'node:child_process';

/** A host operation failed: which command, and why. */
export class HostError extends Error {
  override readonly name = 'HostError';
  constructor(
    message: string,
    /** The command line that failed, if a command failed. */
    readonly command?: string,
  ) {
    super(message);
  }
}

/** Runs one command synchronously and returns its standard output; throws `HostError` on failure. */
export type Runner = (cmd: string, args: readonly string[]) => string;

/** The Debian package of each tool the host package runs. */
const PACKAGES: Record<string, string> = { ip: 'iproute2', ethtool: 'ethtool', sysctl: 'procps' };

function missingTool(tool: string, line: string): HostError {
  return new HostError(`${tool} is not installed (Debian: apt-get install -y ${PACKAGES[tool] ?? tool})`, line);
}

/** The real runner: `execFileSync` with a 20 s bound, stderr captured into the error. */
export const execRunner: Runner = (cmd, args) => {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 20_000 });
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: string; signal?: string };
    const line = `${cmd} ${args.join(' ')}`;
    if (err.code === 'ENOENT') throw missingTool(cmd, line);
    const stderr = (err.stderr ?? '').trim();
    // `ip netns exec NS tool` when the tool is missing.
    const m = /exec of "([^"]+)" failed: No such file or directory/.exec(stderr);
    if (m) throw missingTool(m[1]!, line);
    const why = stderr || (err.signal ? `killed by ${err.signal}` : err.message);
    throw new HostError(`${line}: ${why}`, line);
  }
};

/** True when this process runs as root (namespaces and veth pairs need CAP_SYS_ADMIN and CAP_NET_ADMIN). */
export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/** Throw a `HostError` naming `what` unless this process runs as root. */
export function requireRoot(what: string): void {
  if (!isRoot()) throw new HostError(`${what} needs root (network namespaces and veth pairs need CAP_SYS_ADMIN and CAP_NET_ADMIN): run it with sudo`);
}

/** Longest Linux interface name (IFNAMSIZ - 1). */
export const IFNAME_MAX = 15;

const IFNAME = /^[A-Za-z0-9_.-]{1,15}$/;
const NETNS = /^[A-Za-z0-9_.-]{1,200}$/;

/** Check an interface name (1..15 characters of `[A-Za-z0-9_.-]`); throws `HostError`. */
export function checkIfName(name: string): string {
  if (!IFNAME.test(name) || name === '.' || name === '..') throw new HostError(`${JSON.stringify(name)} is not a valid interface name (1-${IFNAME_MAX} characters of A-Z a-z 0-9 _ . -)`);
  return name;
}

/** Check a namespace name (a file name under /run/netns: `[A-Za-z0-9_.-]`, no `.`/`..`); throws `HostError`. */
export function checkNetnsName(name: string): string {
  if (!NETNS.test(name) || name === '.' || name === '..') throw new HostError(`${JSON.stringify(name)} is not a valid network namespace name (characters A-Z a-z 0-9 _ . -)`);
  return name;
}

/** The iproute2 operations the host package uses, over a `Runner`. */
export class Ip {
  constructor(readonly run: Runner = execRunner) {}

  /** Names of the existing network namespaces (`ip netns list`). */
  netnsList(): string[] {
    return this.run('ip', ['netns', 'list'])
      .split('\n')
      .map((l) => l.trim().split(/\s+/)[0] ?? '')
      .filter(Boolean);
  }

  /** Whether namespace `name` exists. */
  netnsExists(name: string): boolean {
    return this.netnsList().includes(name);
  }

  /** Whether link `name` exists (in namespace `ns`, or in this one). */
  linkExists(name: string, ns?: string): boolean {
    try {
      this.run('ip', [...(ns ? ['-n', ns] : []), 'link', 'show', 'dev', name]);
      return true;
    } catch {
      return false;
    }
  }

  /** `ip netns add name`. */
  addNetns(name: string): void {
    this.run('ip', ['netns', 'add', checkNetnsName(name)]);
  }

  /** `ip netns del name`. */
  delNetns(name: string): void {
    this.run('ip', ['netns', 'del', checkNetnsName(name)]);
  }

  /** A veth pair `a` <-> `b`, both in this namespace. */
  addVeth(a: string, b: string): void {
    this.run('ip', ['link', 'add', checkIfName(a), 'type', 'veth', 'peer', 'name', checkIfName(b)]);
  }

  /** Move link `name` into namespace `ns`. */
  moveToNetns(name: string, ns: string): void {
    this.run('ip', ['link', 'set', 'dev', name, 'netns', ns]);
  }

  /** Delete link `name` (in `ns`, or in this namespace). */
  delLink(name: string, ns?: string): void {
    this.run('ip', [...(ns ? ['-n', ns] : []), 'link', 'del', 'dev', name]);
  }

  /** `ip link set dev name ...settings` (in `ns`, or in this namespace). */
  setLink(name: string, settings: readonly string[], ns?: string): void {
    this.run('ip', [...(ns ? ['-n', ns] : []), 'link', 'set', 'dev', name, ...settings]);
  }

  /** Add address `cidr` to link `name`. */
  addAddress(name: string, cidr: string, ns?: string): void {
    this.run('ip', [...(ns ? ['-n', ns] : []), 'addr', 'add', cidr, 'dev', name]);
  }

  /** Add a default route via `gateway` (IPv4 or IPv6) on link `name`. */
  addDefaultRoute(name: string, gateway: string, ns?: string): void {
    this.run('ip', [...(ns ? ['-n', ns] : []), ...(gateway.includes(':') ? ['-6'] : []), 'route', 'add', 'default', 'via', gateway, 'dev', name]);
  }

  /** Set a sysctl inside `ns` (or here): `sysctl -qw key=value`. */
  sysctl(key: string, value: string, ns?: string): void {
    if (ns) this.run('ip', ['netns', 'exec', ns, 'sysctl', '-qw', `${key}=${value}`]);
    else this.run('sysctl', ['-qw', `${key}=${value}`]);
  }

  /** Run a command inside namespace `ns`; returns its standard output. */
  exec(ns: string, cmd: string, args: readonly string[]): string {
    return this.run('ip', ['netns', 'exec', ns, cmd, ...args]);
  }
}
