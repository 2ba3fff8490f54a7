/**
 * Kubernetes manifests: the committed example clusters (`fixtures/cluster`, `fixtures/cluster-netpol`)
 * as multi-document YAML, whole or a few objects of them, mutated at the character level with YAML
 * and Kubernetes tokens; parsed (`parseManifests`), validated into a cluster model
 * (`buildCluster`) and translated to the northbound network as OVN-Kubernetes builds it
 * (`translateCluster`).
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildCluster, parseManifests, translateCluster } from '@ovnts/kube';
import type { Rng } from '../../corpus.js';
import { repoRoot } from '../../oracles.js';
import { defineTextTarget } from '../harness.js';

const DIRS = ['fixtures/cluster', 'fixtures/cluster-netpol'];
let clusters: string[][] | undefined;

/** The YAML files of each example cluster, in name order. */
function files(): string[][] {
  clusters ??= DIRS.map((d) =>
    readdirSync(join(repoRoot, d))
      .filter((f) => /\.(ya?ml|json)$/.test(f))
      .sort()
      .map((f) => readFileSync(join(repoRoot, d, f), 'utf8')),
  );
  return clusters;
}

export default defineTextTarget({
  name: 'kube-yaml',
  about: 'Kubernetes manifests through parseManifests, buildCluster and translateCluster',
  draw(r: Rng) {
    const c = r.pick(files());
    // The whole cluster, or the first files (the network and nodes come first) and one more.
    const parts = r.chance(0.5) ? c : [...c.slice(0, r.int(1, c.length)), r.pick(c)];
    return parts.join('\n---\n');
  },
  dict: [
    '\n---\n', ': ', '- ', '  ', '{}', '[]', 'null', '~', '"', "'", '&a', '*a', '!!str ', '!!int ', '<<: *a', '#',
    'kind: Pod', 'kind: NetworkPolicy', 'apiVersion: v1', 'metadata:', 'name: ', 'namespace: ', 'labels:', 'spec:',
    'podSelector: {}', 'matchExpressions:', 'operator: In', 'values: []', 'ipBlock:', 'cidr: 10.0.0.0/33', 'except:',
    'port: 65536', 'endPort: 1', 'protocol: SCTP', 'policyTypes: [Egress]', 'nodeName: ', 'podIPs:', 'ip: fd00::1',
    'hostNetwork: true', 'sessionAffinity: ClientIP', 'timeoutSeconds: -1', 'clusterNetwork:', 'hostPrefix: 40',
    'k8s.ovn.org/node-subnets: ', '0', '-1', '1e9', '0.0.0.0/0', '::/0', 'true',
  ],
  maxLen: 1 << 16,
  run(text: string) {
    const objects = parseManifests(text, 'fuzz.yaml');
    const net = translateCluster(buildCluster(objects));
    const digest = createHash('sha1').update(JSON.stringify(net, (_k, v) => (typeof v === 'bigint' ? String(v) : v instanceof Map ? [...v] : v instanceof Set ? [...v] : v)) ?? '').digest('hex');
    return { objects: objects.length, digest };
  },
});
