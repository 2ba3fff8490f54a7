/**
 * Test helpers: our server on a private unix socket, and the normalisation that makes two
 * servers' replies comparable (row versions are random; so are uuids of rows inserted without
 * an explicit "uuid", which are named by order of appearance).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OvsdbServer, Schema, formatJson, type Database } from '@ovnts/ovsdb';

/** The test schema (every column kind, references, indexes, maxRows, an immutable column). */
export const TEST_SCHEMA_FILE = join(dirname(fileURLToPath(import.meta.url)), 'test.ovsschema');

/** Our server on a temporary unix socket serving databases of the given schema files. */
export async function startOurs(schemaFiles: string[] = [TEST_SCHEMA_FILE]): Promise<{ server: OvsdbServer; remote: string; dbs: Database[]; stop(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'ovnts-ours-'));
  const server = new OvsdbServer();
  const dbs = schemaFiles.map((f) => server.addDatabase(Schema.fromJson(JSON.parse(readFileSync(f, 'utf8')))));
  const remote = await server.listen(`punix:${join(dir, 'db.sock')}`);
  return {
    server,
    remote,
    dbs,
    async stop() {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Names uuids not in `known` by order of first appearance; drops `_version` values. */
export class Normalizer {
  private readonly names = new Map<string, string>();
  constructor(private readonly known: ReadonlySet<string> = new Set()) {}

  private uuid(u: string): string {
    if (this.known.has(u)) return u;
    let n = this.names.get(u);
    if (!n) this.names.set(u, (n = `<uuid${this.names.size}>`));
    return n;
  }

  /** The normalised copy of a JSON value (strings containing uuids rewritten too). */
  norm(j: unknown): unknown {
    if (typeof j === 'string') {
      if (UUID.test(j)) return this.uuid(j);
      return j.replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, (u) => this.uuid(u));
    }
    if (Array.isArray(j)) return j.map((x) => this.norm(x));
    if (typeof j === 'object' && j !== null) {
      const o: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(j)) o[UUID.test(k) ? this.uuid(k) : k] = k === '_version' ? '<version>' : this.norm(v);
      return o;
    }
    return j;
  }
}

/** A result array with every "rows" list sorted (row order is the server's hash order). */
export function sortRows(results: unknown): unknown {
  if (!Array.isArray(results)) return results;
  return results.map((r) => {
    if (typeof r === 'object' && r !== null && Array.isArray((r as { rows?: unknown }).rows)) {
      const rows = [...(r as { rows: unknown[] }).rows].sort((a, b) => (formatJson(a, { sort: true }) < formatJson(b, { sort: true }) ? -1 : 1));
      return { ...r, rows };
    }
    return r;
  });
}

/** Compact JSON with sorted members (for readable, order-insensitive comparisons). */
export function canon(j: unknown): string {
  return formatJson(j, { sort: true });
}
