/** Test helper: an `OfpAgent` over a fresh switch, fed bytes in memory, answering message by message. */
import { OfpAgent, Switch, encodeHello } from '@ovnts/openflow';

/** A connected agent over a switch with `ports` (after HELLO in `version`); `feed` returns what it sent back. */
export function agentSession(version: number, ports: readonly number[] = [1, 2, 3]): { feed: (b: Uint8Array) => Uint8Array[]; sw: Switch; agent: OfpAgent } {
  const sw = new Switch();
  for (const p of ports) sw.addPort({ number: p });
  const agent = new OfpAgent(sw);
  let out: Uint8Array[] = [];
  const c = agent.connect((b) => out.push(b));
  c.start();
  c.feed(encodeHello([version]));
  out = [];
  return {
    sw, agent,
    feed: (b) => {
      out = [];
      c.feed(b);
      return out;
    },
  };
}
