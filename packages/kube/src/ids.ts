/**
 * OVN-Kubernetes's object identities (`pkg/libovsdb/ops/db_object_ids.go`): owned rows carry
 * `k8s.ovn.org/owner-controller`, `k8s.ovn.org/owner-type`, the type's keys and
 * `k8s.ovn.org/id = "<controller>:<OwnerType>:<key values in order>"`; port groups are named
 * `HashForOVN(id)` and address sets `HashForOVN(id)` of an id whose last key is the IP family.
 * `HashForOVN(s)` is `"a"` + the decimal FNV-1a 64-bit hash of `s`.
 */

/** The default network's controller name. */
export const CONTROLLER = 'default-network-controller';

const FNV_OFFSET = 0xcbf29ce484222325n;
const FNV_PRIME = 0x100000001b3n;
const M64 = (1n << 64n) - 1n;

/** FNV-1a 64-bit over the UTF-8 bytes of `s`. */
export function fnv1a64(s: string): bigint {
  let h = FNV_OFFSET;
  for (const b of Buffer.from(s, 'utf8')) {
    h ^= BigInt(b);
    h = (h * FNV_PRIME) & M64;
  }
  return h;
}

/** OVN-Kubernetes's `HashForOVN`. */
export function hashForOvn(s: string): string {
  return `a${fnv1a64(s).toString()}`;
}

/** An owned object's identity: owner type and ordered keys. */
export interface DbObjectId {
  /** OwnerType (`NetworkPolicy`, `Namespace`, ...). */
  readonly ownerType: string;
  /** [key name, value] in the type's key order. */
  readonly keys: readonly (readonly [string, string])[];
}

/** `k8s.ovn.org/id`. */
export function idString(id: DbObjectId): string {
  return [CONTROLLER, id.ownerType, ...id.keys.map(([, v]) => v)].join(':');
}

/** The external_ids OVN-Kubernetes writes for an owned row. */
export function externalIds(id: DbObjectId, extra: Readonly<Record<string, string>> = {}): Record<string, string> {
  const out: Record<string, string> = {
    'k8s.ovn.org/owner-controller': CONTROLLER,
    'k8s.ovn.org/owner-type': id.ownerType,
    'k8s.ovn.org/id': idString(id),
  };
  for (const [k, v] of id.keys) out[`k8s.ovn.org/${k}`] = v;
  return { ...out, ...extra };
}

/** A port group's name. */
export function pgName(id: DbObjectId): string {
  return hashForOvn(idString(id));
}
