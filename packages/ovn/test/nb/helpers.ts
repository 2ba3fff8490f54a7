/**
 * Test helpers for the northbound tests: a real OVN sandbox driver (ovn-sandbox, ovn-nbctl,
 * ovsdb-client) and a canonical JSON view of databases for comparing ours with ovsdb-client's.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Requirement } from '@ovnts/testkit';
import { requireOracle } from '@ovnts/testkit';
import type { RawDb } from '../../src/nb/index.js';
import { datumToJson, defaultDatum } from '../../src/nb/index.js';

/** Repository root. */
export const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../../..');
/** The demo fixture. */
export const DEMO_DB = join(ROOT, 'fixtures/nb/demo.db');
let SANDBOX = '';

/** Requirement for tests that drive real OVN. */
export function requireOvn(): Requirement {
  const r = requireOracle('OVN northbound oracle', 'ovn-sandbox', ['ovn-nbctl', 'ovsdb-client', 'ovsdb-tool', 'ovn-northd'], 'apt-get install -y ovn-central');
  SANDBOX = r.script;
  return r;
}

/** A private OVN control plane. */
export class Sandbox {
  readonly dir: string;
  readonly db: string;
  private started = false;
  constructor() {
    this.dir = mkdtempSync(join(tmpdir(), 'ovnts-nb-'));
    this.db = `unix:${this.dir}/nb.sock`;
  }
  start(): this {
    execFileSync('bash', [SANDBOX, 'start', this.dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.started = true;
    return this;
  }
  stop(): void {
    if (this.started) execFileSync('bash', [SANDBOX, 'stop', this.dir], { stdio: 'ignore' });
    this.started = false;
    rmSync(this.dir, { recursive: true, force: true });
  }
  /** Run ovn-nbctl; returns stdout trimmed. */
  nbctl(...args: string[]): string {
    return execFileSync('ovn-nbctl', [`--db=${this.db}`, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  }
  /** The uuid of the row of `table` whose `name` is `name`. */
  uuidOf(table: string, name: string): string {
    return this.nbctl('--bare', '--columns=_uuid', 'find', table, `name=${name}`);
  }
  /** `ovsdb-client backup`. */
  backup(): Buffer {
    return execFileSync('ovsdb-client', ['backup', this.db, 'OVN_Northbound'], { maxBuffer: 1 << 28 });
  }
  /** `ovsdb-client dump -f json` as table -> uuid -> column -> canonical JSON. */
  dump(): Tables {
    const text = execFileSync('ovsdb-client', ['dump', '-f', 'json', this.db, 'OVN_Northbound'], { encoding: 'utf8', maxBuffer: 1 << 28 });
    const out: Tables = {};
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      const j = JSON.parse(line) as { caption: string; headings: string[]; data: unknown[][] };
      const t: Record<string, Record<string, string>> = {};
      for (const row of j.data) {
        const cols: Record<string, string> = {};
        let uuid = '';
        j.headings.forEach((h, i) => {
          if (h === '_uuid') uuid = (row[i] as [string, string])[1];
          else if (!h.startsWith('_')) cols[h] = canon(row[i]);
        });
        t[uuid] = cols;
      }
      out[j.caption.replace(/ table$/, '')] = t;
    }
    return out;
  }
  /** The server's own database file (every transaction since creation). */
  get file(): string {
    return join(this.dir, 'nb.db');
  }
}

/** table -> uuid -> column -> canonical JSON text. */
export type Tables = Record<string, Record<string, Record<string, string>>>;

/** Canonical JSON of an OVSDB value: set elements and map pairs sorted, singletons as sets. */
export function canon(v: unknown): string {
  if (Array.isArray(v) && v[0] === 'set' && Array.isArray(v[1])) {
    const els = (v[1] as unknown[]).map((x) => JSON.stringify(x)).sort();
    return els.length === 1 ? els[0]! : `["set",[${els.join(',')}]]`;
  }
  if (Array.isArray(v) && v[0] === 'map' && Array.isArray(v[1])) {
    return `["map",[${(v[1] as unknown[]).map((x) => JSON.stringify(x)).sort().join(',')}]]`;
  }
  return JSON.stringify(v);
}

/** Our raw data in the same canonical form, over every column of the data's schema. */
export function rawTables(raw: RawDb): Tables {
  const out: Tables = {};
  for (const [tname, ts] of raw.schema.tables) {
    const t: Record<string, Record<string, string>> = {};
    for (const [u, row] of raw.rows(tname)) {
      const cols: Record<string, string> = {};
      for (const [cn, cs] of ts.columns) cols[cn] = canon(datumToJson(row.get(cn) ?? defaultDatum(cs.type), cs.type));
      t[u] = cols;
    }
    out[tname] = t;
  }
  return out;
}
