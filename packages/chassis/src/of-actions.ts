/**
 * The OpenFlow actions the chassis emits: `@ovnts/openflow`'s `Action` plus the few
 * ovn-controller needs that the switch gains with the groundwork of issue 8 (the field stack,
 * `clone`, `check_pkt_larger`, `bundle`, `set_queue`, `sample`). Until those land in the one
 * action table, they are declared here with OVS's text forms.
 */
import { formatAction, formatSubfield, type Action, type Subfield } from '@ovnts/openflow';

/** `push:FIELD[..]` (OVS `stack_push`). */
export interface PushAction {
  readonly type: 'stack_push';
  readonly src: Subfield;
}
/** `pop:FIELD[..]` (OVS `stack_pop`). */
export interface PopAction {
  readonly type: 'stack_pop';
  readonly dst: Subfield;
}
/** `clone(...)`: run the actions on a copy of the packet, then continue with the original. */
export interface CloneAction {
  readonly type: 'clone';
  readonly actions: readonly OfAction[];
}
/** `check_pkt_larger(LEN)->DST`: DST = 1 when the packet is longer than LEN bytes. */
export interface CheckPktLargerAction {
  readonly type: 'check_pkt_larger';
  readonly len: number;
  readonly dst: Subfield;
}
/** `bundle(eth_src,0,active_backup,ofport,members:A,B)`: output to the first live member. */
export interface BundleAction {
  readonly type: 'bundle';
  readonly fields: 'eth_src';
  readonly basis: number;
  readonly algorithm: 'active_backup';
  readonly members: readonly number[];
}
/** `set_queue:N`. */
export interface SetQueueAction {
  readonly type: 'set_queue';
  readonly queue: number;
}
/** `sample(...)` (IPFIX sampling). */
export interface SampleAction {
  readonly type: 'sample';
  readonly probability: number;
  readonly collectorSetId: number;
  readonly obsDomainId: number;
  readonly obsPointId: number;
}

/** An OpenFlow action a chassis flow may carry. */
export type OfAction = Action | PushAction | PopAction | CloneAction | CheckPktLargerAction | BundleAction | SetQueueAction | SampleAction;

/** Format one action as `ovs-ofctl -O OpenFlow15 dump-flows` prints it. */
export function formatOfAction(a: OfAction): string {
  switch (a.type) {
    case 'stack_push':
      return `push:${formatSubfield(a.src)}`;
    case 'stack_pop':
      return `pop:${formatSubfield(a.dst)}`;
    case 'clone':
      return `clone(${a.actions.map(formatOfAction).join(',')})`;
    case 'check_pkt_larger':
      return `check_pkt_larger(${a.len})->${formatSubfield(a.dst)}`;
    case 'bundle':
      return `bundle(${a.fields},${a.basis},${a.algorithm},ofport,members:${a.members.join(',')})`;
    case 'set_queue':
      return `set_queue:${a.queue}`;
    case 'sample':
      return `sample(probability=${a.probability},collector_set_id=${a.collectorSetId},obs_domain_id=${a.obsDomainId},obs_point_id=${a.obsPointId})`;
    default:
      return formatAction(a);
  }
}

/** Format an action list (`drop` when empty). */
export function formatOfActions(list: readonly OfAction[]): string {
  return list.length ? list.map(formatOfAction).join(',') : 'drop';
}
