/**
 * `ovnts demo`: the guided tour. For now it dissects the fixture capture of Geneve traffic
 * between two OVN nodes (fixtures/captures/geneve-two-nodes.pcapng), explaining what to look at.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { CommandSpec, ParsedArgs } from '../args.js';
import { CliError } from '../errors.js';
import type { Io } from '../io.js';
import { dissectFile } from './dissect.js';

/** The fixture capture the demo reads (in the repository, beside packages/). */
export const DEMO_CAPTURE = fileURLToPath(new URL('../../../../fixtures/captures/geneve-two-nodes.pcapng', import.meta.url));

const spec: CommandSpec = {
  name: 'demo',
  summary: 'A guided tour on the embedded fixtures (no server, no root)',
  usage: 'ovnts demo [--capture FILE]',
  options: { capture: { kind: 'string', help: 'dissect this capture instead of the fixture', metavar: 'FILE' } },
  positionals: { min: 0, max: 0, names: '' },
};

/** The `demo` command. */
export const demoCommand = {
  spec,
  async run(args: ParsedArgs, io: Io): Promise<number> {
    const path = args.values.get('capture') ?? DEMO_CAPTURE;
    if (!existsSync(path)) throw new CliError(`demo capture not found: ${path}`);
    io.out(
      [
        '== ovn-ts demo: Geneve traffic between two OVN nodes ==',
        '',
        'Two nodes (chassis) of an OVN-Kubernetes cluster talk over a Geneve overlay (UDP 6081).',
        "Each frame carries a pod's Ethernet frame inside; the 24-bit VNI is the logical datapath key",
        "and OVN's Geneve option (class 0x0102, type 0x80) carries the logical ingress and egress",
        'port keys. Below, each frame is dissected to its innermost layer (ovnts dissect):',
        '',
        `$ ovnts dissect ${path.replace(process.cwd() + '/', '')}`,
        '',
      ].join('\n'),
    );
    const n = await dissectFile(path, false, io);
    io.out(
      [
        '',
        `${n} frames. Try: ovnts dissect --json ${path.replace(process.cwd() + '/', '')} | head -3`,
        '',
      ].join('\n'),
    );
    return 0;
  },
};
