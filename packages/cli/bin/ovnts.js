#!/usr/bin/env node
// The `ovnts` command. A committed shim (pnpm links bins at install time, before the build has
// produced dist/), loading the compiled CLI.
import('../dist/main.js').then(
  (m) => m.runCli(process.argv.slice(2)),
  (e) => {
    if (e && e.code === 'ERR_MODULE_NOT_FOUND') {
      process.stderr.write('ovnts: the CLI is not built yet: run `npm run setup` in the ovn-ts repository\n');
      process.exitCode = 70;
    } else throw e;
  },
);
