/**
 * Comparison of the two sides' step records. Byte-identical by default: the whole run is rendered
 * as text (step label, then `-> port: hex` per output, or the dump lines) and the texts must be
 * equal. For NAT scenarios the outputs of the steps listed in `NAT_EXPECT` may differ in the fields
 * the translation chose (OVS draws its conntrack hash basis at random per process, so its address
 * and port choices are not reproducible) and the checksums covering them: those outputs are
 * compared with the chosen fields masked, and each side's choices are checked against the
 * configured range and for collisions separately.
 */
import { fromHex } from '@ovnts/packet';
import { endpoint, natInRange, type NatExpect } from './scenarios.js';
import { render, type StepResult } from './run.js';

/** The whole run as text (for byte-identical comparison with a readable diff). */
export function transcript(rs: readonly StepResult[]): string {
  return rs.flatMap(render).join('\n');
}

/** Byte offsets a NAT choice may change in an Ethernet + 20-byte IPv4 frame. */
function natMask(kind: 'snat' | 'dnat', proto: number): number[] {
  const l4sum = proto === 6 ? [50, 51] : proto === 17 ? [40, 41] : [];
  const fields = kind === 'snat' ? [26, 27, 28, 29, 34, 35] : [30, 31, 32, 33, 36, 37];
  return [24, 25, ...fields, ...l4sum];
}

function masked(hex: string, kind: 'snat' | 'dnat'): string {
  const b = fromHex(hex);
  for (const o of natMask(kind, b[23]!)) if (o < b.length) b[o] = 0;
  return Buffer.from(b).toString('hex');
}

/**
 * The run as text with the NAT-chosen fields of the expected outputs zeroed (and the checksums covering them),
 * plus the list of property violations found on this side (out of range, collisions).
 */
export function natTranscript(rs: readonly StepResult[], expect: ReadonlyMap<string, NatExpect>): { text: string; problems: string[]; chosen: Map<string, string> } {
  const problems: string[] = [];
  const chosen = new Map<string, string>();
  const lines: string[] = [];
  for (const r of rs) {
    const e = expect.get(r.label);
    if (!e || r.t !== 'frame') {
      lines.push(...render(r));
      continue;
    }
    lines.push(`${r.label} [NAT fields masked on port ${e.port}]`);
    for (const p of Object.keys(r.out).map(Number).sort((a, b) => a - b)) {
      for (const h of r.out[p]!) {
        if (p !== e.port) {
          lines.push(`  -> ${p}: ${h}`);
          continue;
        }
        const f = fromHex(h);
        const bad = natInRange(e, f);
        if (bad) problems.push(`${r.label}: ${bad}`);
        const x = endpoint(f, e.kind === 'snat' ? 'src' : 'dst');
        chosen.set(r.label, `${x.ip}:${x.port}`);
        lines.push(`  -> ${p}: ${masked(h, e.kind)}`);
      }
    }
  }
  return { text: lines.join('\n'), problems, chosen };
}
