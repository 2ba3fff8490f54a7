// Helper for live.test.ts, run inside a network namespace with `ip netns exec NS node live-helper.mjs`.
//   send IFNAME HEX...            send each hex frame on IFNAME through cap, then exit
//   recv IFNAME COUNT FILTER      print "ready", then each captured frame as a hex line; exit after COUNT
// It uses `cap` directly (plain JavaScript: the TypeScript sources are not runnable here).
import { createRequire } from 'node:module';

const require = createRequire(new URL('../package.json', import.meta.url));
const { Cap } = require('cap');
const [mode, ifname, ...rest] = process.argv.slice(2);
const c = new Cap();
const buf = Buffer.alloc(65535);
if (mode === 'send') {
  c.open(ifname, '', 1 << 20, buf);
  for (const hex of rest) {
    const f = Buffer.from(hex, 'hex');
    c.send(f, f.length);
  }
  c.close();
} else if (mode === 'recv') {
  const count = Number(rest[0]);
  let seen = 0;
  c.open(ifname, rest[1] ?? '', 1 << 20, buf);
  c.on('packet', (n) => {
    process.stdout.write(buf.subarray(0, n).toString('hex') + '\n');
    if (++seen >= count) {
      c.close();
      process.exit(0);
    }
  });
  process.stdout.write('ready\n');
  setTimeout(() => {
    process.stderr.write(`timeout after ${seen} of ${count} frames\n`);
    process.exit(2);
  }, 15000);
} else {
  process.stderr.write(`usage: live-helper.mjs send|recv IFNAME ...\n`);
  process.exit(64);
}
