/**
 * Requirements of tests that need a system tool, root or Linux network namespaces. Missing
 * requirements skip the test with a printed reason locally; under CI (`CI` set) nothing is
 * skipped, so a missing install step fails loudly instead of hiding.
 */
import { execFileSync } from 'node:child_process';

/** The outcome of a requirement check, for `describe.skipIf(req.skip)`. */
export interface Requirement {
  /** True when the tests should be skipped. */
  skip: boolean;
  /** Why, when something is missing. */
  reason?: string;
}

const cache = new Map<string, boolean>();

/** True if `name` is an executable on PATH (or an absolute path that exists). */
export function hasTool(name: string): boolean {
  let v = cache.get(name);
  if (v === undefined) {
    try {
      execFileSync('sh', ['-c', `command -v "$0" || test -x "/usr/sbin/$0"`, name], { stdio: 'ignore' });
      v = true;
    } catch {
      v = false;
    }
    cache.set(name, v);
  }
  return v;
}

/** True when running as root. */
export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/** Skip (locally) or carry on (CI) given what is missing; prints the reason either way. */
export function decide(what: string, missing: string[]): Requirement {
  if (missing.length === 0) return { skip: false };
  const reason = `${what}: missing ${missing.join(', ')}`;
  if (process.env.CI) {
    console.warn(`[testkit] CI: not skipping although ${reason}; these tests will fail`);
    return { skip: false, reason };
  }
  console.warn(`[testkit] SKIP ${reason}`);
  return { skip: true, reason };
}

/** Require system tools (with an install hint for the message). */
export function requireTools(what: string, tools: string[], hint = ''): Requirement {
  const missing = tools.filter((t) => !hasTool(t)).map((t) => (hint ? `${t} (${hint})` : t));
  return decide(what, missing);
}

/** Require root and `ip netns` (for tests that build network namespaces and veth pairs). */
export function requireNetns(what: string): Requirement {
  const missing: string[] = [];
  if (!isRoot()) missing.push('root');
  if (!hasTool('ip')) missing.push('ip (apt-get install -y iproute2)');
  return decide(what, missing);
}
