/**
 * ovn-trace's three renderings of a trace tree: `--detailed` (indented tables with titled
 * pipelines), `--summary` (braces, tables and modifications elided) and `--minimal` (only
 * modifications, transformations and errors), each exactly as utilities/ovn-trace.c prints them.
 */
import type { TraceNode } from './trace.js';

function isTerminal(n: TraceNode): boolean {
  return n.type === 'output' || n.type === 'modify' || n.type === 'action' || n.type === 'error';
}

/** `ovntrace_node_print_details`. */
export function printDetails(nodes: readonly TraceNode[], level = 0): string {
  let out = '';
  nodes.forEach((sub, i) => {
    if (sub.type === 'modify') return;
    const more = i !== nodes.length - 1 || sub.alwaysIndent || isTerminal(sub) ? 1 : 0;
    const title = sub.type === 'pipeline' || sub.type === 'transformation';
    const indent = ' '.repeat((level + more) * 4);
    if (title) out += '\n';
    out += `${indent}${sub.name}\n`;
    if (title) out += `${indent}${'-'.repeat(sub.name.length)}\n`;
    out += printDetails(sub.subs, level + more + more);
  });
  return out;
}

function prune(nodes: readonly TraceNode[], drop: (n: TraceNode) => boolean): TraceNode[] {
  const out: TraceNode[] = [];
  for (const n of nodes) {
    const subs = prune(n.subs, drop);
    if (drop(n)) out.push(...subs);
    else out.push({ type: n.type, name: n.name, alwaysIndent: n.alwaysIndent, subs });
  }
  return out;
}

/** `ovntrace_node_print_summary`. */
export function printSummary(nodes: readonly TraceNode[], level = 0): string {
  let out = '';
  for (const sub of nodes) {
    if (sub.type === 'action' && sub.name.startsWith('next(')) continue;
    const indent = ' '.repeat(level * 4);
    out += indent + sub.name;
    if (sub.subs.length) out += ` {\n${printSummary(sub.subs, level + 1)}${indent}}`;
    if (sub.type !== 'action') out += ';';
    out += '\n';
  }
  return out;
}

/** The `--summary` text of a trace tree. */
export function summaryText(root: readonly TraceNode[]): string {
  return printSummary(prune(root, (n) => n.type === 'modify' || n.type === 'table'));
}

/** The `--minimal` text of a trace tree. */
export function minimalText(root: readonly TraceNode[]): string {
  return printSummary(prune(root, (n) => n.type === 'action' || n.type === 'pipeline' || n.type === 'table' || n.type === 'output'));
}
