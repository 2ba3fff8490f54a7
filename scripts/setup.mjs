#!/usr/bin/env node
// Bring a fresh clone to a runnable state with only Node.js and npm installed:
// install the workspace with the pinned pnpm (through npx), then build every package.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pm = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).packageManager; // pnpm@X.Y.Z
const run = (cmd, args) => execFileSync(cmd, args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
const npx = process.platform === 'win32' ? 'npx.cmd' : 'npx';

const frozen = process.env.CI ? ['--frozen-lockfile'] : [];
run(npx, ['--yes', pm, 'install', '--reporter=append-only', ...frozen]);
run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-b']);
