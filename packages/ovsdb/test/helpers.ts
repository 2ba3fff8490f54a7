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

/**
 * Pairs the random uuids of two servers' replies to the same request: walking both in parallel
 * (outside error details, whose wording may name rows in a different order), a uuid of `ours`
 * not in `known` at the place where `theirs` has one maps to it. `translate` then rewrites ours
 * in their uuids, so the replies compare directly. `_version` values are dropped on both sides.
 */
export class UuidPairing {
  private readonly map = new Map<string, string>();
  constructor(private readonly known: ReadonlySet<string> = new Set()) {}

  /** Learn the pairs found at the same places of `theirs` and `ours`. */
  pair(theirs: unknown, ours: unknown): void {
    if (typeof theirs === 'string' && typeof ours === 'string') {
      if (UUID.test(theirs) && UUID.test(ours) && !this.known.has(ours) && !this.map.has(ours)) this.map.set(ours, theirs);
      return;
    }
    if (Array.isArray(theirs) && Array.isArray(ours)) {
      // Rows pair by their _uuid when both lists have them (row order is the server's own).
      const id = (r: unknown): string | undefined => {
        const u = typeof r === 'object' && r !== null && !Array.isArray(r) ? (r as { _uuid?: unknown })._uuid : undefined;
        return Array.isArray(u) && typeof u[1] === 'string' ? (this.map.get(u[1]) ?? u[1]) : undefined;
      };
      if (ours.length && ours.every((r) => id(r) !== undefined)) {
        const byId = new Map(theirs.map((r) => [id(r), r] as const));
        for (const r of ours) if (byId.has(id(r))) this.pair(byId.get(id(r)), r);
        return;
      }
      for (let i = 0; i < Math.min(theirs.length, ours.length); i++) this.pair(theirs[i], ours[i]);
      return;
    }
    if (typeof theirs === 'object' && theirs !== null && typeof ours === 'object' && ours !== null && !Array.isArray(ours)) {
      for (const [k, v] of Object.entries(ours)) if (k !== 'details' && k in theirs) this.pair((theirs as Record<string, unknown>)[k], v);
    }
  }

  /** `ours` with paired uuids replaced (member names and strings too) and versions dropped. */
  translate(j: unknown): unknown {
    const t = (u: string): string => this.map.get(u) ?? u;
    if (typeof j === 'string') return UUID.test(j) ? t(j) : j.replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, t);
    if (Array.isArray(j)) return j.map((x) => this.translate(x));
    if (typeof j === 'object' && j !== null) {
      const o: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(j)) o[UUID.test(k) ? t(k) : k] = k === '_version' ? '<version>' : this.translate(v);
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
