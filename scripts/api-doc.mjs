#!/usr/bin/env node
// Generate docs/api/<package>.md: every symbol a package exports, its kind, its signature and
// its one-line TSDoc, read with the TypeScript compiler API from the package's src/index.ts.
// `node scripts/api-doc.mjs --check` exits 1 when a committed page is out of date.
import { mkdirSync, readFileSync, readdirSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const check = process.argv.includes('--check');
const pkgs = readdirSync(join(root, 'packages')).filter((p) => p !== 'testkit' && existsSync(join(root, 'packages', p, 'src/index.ts')));
const entries = pkgs.map((p) => join(root, 'packages', p, 'src/index.ts'));
const program = ts.createProgram(entries, {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  strict: true,
  skipLibCheck: true,
  noEmit: true,
  paths: Object.fromEntries(pkgs.map((p) => [`@ovnts/${p}`, [join(root, 'packages', p, 'src/index.ts')]])),
});
const checker = program.getTypeChecker();
const kindOf = (d) =>
  ts.isClassDeclaration(d) ? 'class' : ts.isInterfaceDeclaration(d) ? 'interface' : ts.isTypeAliasDeclaration(d) ? 'type'
  : ts.isFunctionDeclaration(d) ? 'function' : ts.isVariableDeclaration(d) ? 'const' : ts.isEnumDeclaration(d) ? 'enum' : 'other';

let stale = 0;
mkdirSync(join(root, 'docs/api'), { recursive: true });
for (const [i, p] of pkgs.entries()) {
  const sf = program.getSourceFile(entries[i]);
  const mod = sf && checker.getSymbolAtLocation(sf);
  const lines = [`# @ovnts/${p} API`, '', `Generated from the sources by \`node scripts/api-doc.mjs\`; do not edit by hand.`, ''];
  const byFile = new Map();
  for (const sym of mod ? checker.getExportsOfModule(mod) : []) {
    const target = sym.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(sym) : sym;
    const decl = target.declarations?.[0];
    if (!decl) continue;
    const file = decl.getSourceFile().fileName.replace(join(root, 'packages', p) + '/', '');
    const doc = ts.displayPartsToString(target.getDocumentationComment(checker)).split('\n')[0] ?? '';
    let sig = '';
    const kind = kindOf(decl);
    if (kind === 'function') {
      const s = checker.getSignaturesOfType(checker.getTypeOfSymbolAtLocation(target, decl), ts.SignatureKind.Call)[0];
      sig = s ? checker.signatureToString(s) : '';
    }
    if (!byFile.has(file)) byFile.set(file, []);
    byFile.get(file).push(`- \`${sym.name}\` *${kind}*${sig ? ` \`${sig}\`` : ''}${doc ? ` — ${doc}` : ''}`);
  }
  for (const [file, items] of [...byFile].sort()) lines.push(`## ${file}`, '', ...items.sort(), '');
  const out = join(root, 'docs/api', `${p}.md`);
  const text = lines.join('\n').replaceAll('Uint8Array<ArrayBufferLike>', 'Uint8Array');
  if (check) {
    if (!existsSync(out) || readFileSync(out, 'utf8') !== text) {
      console.error(`docs/api/${p}.md is out of date: run node scripts/api-doc.mjs`);
      stale++;
    }
  } else writeFileSync(out, text);
}
process.exit(stale ? 1 : 0);
