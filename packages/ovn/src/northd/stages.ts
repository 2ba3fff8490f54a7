/**
 * The logical pipeline stage table of OVN 23.03 (`northd/northd.c`, `PIPELINE_STAGES`): every
 * stage of the logical switch and logical router, ingress and egress, with the table number
 * ovn-northd gives it. Names are stable across OVN versions; table numbers are not (23.03 has 27
 * switch ingress, 10 switch egress, 22 router ingress and 7 router egress stages), so everything
 * else refers to stages by name and asks this table for the number. Checked against
 * `ovn-sbctl lflow-list` of a real 23.03 ovn-northd (test/northd/stages.test.ts).
 */

/** Which kind of datapath a stage belongs to. */
export type DatapathKind = 'switch' | 'router';
/** Logical pipeline direction. */
export type Pipeline = 'ingress' | 'egress';

/** One stage of a logical pipeline. */
export interface Stage {
  /** OVN's stage name (`ls_in_acl`, `lr_out_snat`, ...). */
  readonly name: string;
  /** Switch or router. */
  readonly kind: DatapathKind;
  /** Ingress or egress. */
  readonly pipeline: Pipeline;
  /** Logical table number within the pipeline. */
  readonly table: number;
}

function pipeline(kind: DatapathKind, pl: Pipeline, names: readonly string[]): Stage[] {
  return names.map((name, table) => ({ name, kind, pipeline: pl, table }));
}

/** Logical switch ingress stage names in table order (OVN 23.03). */
export const LS_IN_STAGES = [
  'ls_in_check_port_sec', 'ls_in_apply_port_sec', 'ls_in_lookup_fdb', 'ls_in_put_fdb', 'ls_in_pre_acl',
  'ls_in_pre_lb', 'ls_in_pre_stateful', 'ls_in_acl_hint', 'ls_in_acl', 'ls_in_qos_mark', 'ls_in_qos_meter',
  'ls_in_lb_aff_check', 'ls_in_lb', 'ls_in_lb_aff_learn', 'ls_in_pre_hairpin', 'ls_in_nat_hairpin',
  'ls_in_hairpin', 'ls_in_acl_after_lb', 'ls_in_stateful', 'ls_in_arp_rsp', 'ls_in_dhcp_options',
  'ls_in_dhcp_response', 'ls_in_dns_lookup', 'ls_in_dns_response', 'ls_in_external_port', 'ls_in_l2_lkup',
  'ls_in_l2_unknown',
] as const;

/** Logical switch egress stage names in table order (OVN 23.03). */
export const LS_OUT_STAGES = [
  'ls_out_pre_acl', 'ls_out_pre_lb', 'ls_out_pre_stateful', 'ls_out_acl_hint', 'ls_out_acl', 'ls_out_qos_mark',
  'ls_out_qos_meter', 'ls_out_stateful', 'ls_out_check_port_sec', 'ls_out_apply_port_sec',
] as const;

/** Logical router ingress stage names in table order (OVN 23.03). */
export const LR_IN_STAGES = [
  'lr_in_admission', 'lr_in_lookup_neighbor', 'lr_in_learn_neighbor', 'lr_in_ip_input', 'lr_in_unsnat',
  'lr_in_defrag', 'lr_in_lb_aff_check', 'lr_in_dnat', 'lr_in_lb_aff_learn', 'lr_in_ecmp_stateful',
  'lr_in_nd_ra_options', 'lr_in_nd_ra_response', 'lr_in_ip_routing_pre', 'lr_in_ip_routing',
  'lr_in_ip_routing_ecmp', 'lr_in_policy', 'lr_in_policy_ecmp', 'lr_in_arp_resolve', 'lr_in_chk_pkt_len',
  'lr_in_larger_pkts', 'lr_in_gw_redirect', 'lr_in_arp_request',
] as const;

/** Logical router egress stage names in table order (OVN 23.03). */
export const LR_OUT_STAGES = [
  'lr_out_chk_dnat_local', 'lr_out_undnat', 'lr_out_post_undnat', 'lr_out_snat', 'lr_out_post_snat',
  'lr_out_egr_loop', 'lr_out_delivery',
] as const;

/** Any stage name of OVN 23.03. */
export type StageName =
  | (typeof LS_IN_STAGES)[number]
  | (typeof LS_OUT_STAGES)[number]
  | (typeof LR_IN_STAGES)[number]
  | (typeof LR_OUT_STAGES)[number];

/** Every stage, switch ingress, switch egress, router ingress, router egress. */
export const STAGES: readonly Stage[] = [
  ...pipeline('switch', 'ingress', LS_IN_STAGES),
  ...pipeline('switch', 'egress', LS_OUT_STAGES),
  ...pipeline('router', 'ingress', LR_IN_STAGES),
  ...pipeline('router', 'egress', LR_OUT_STAGES),
];

const BY_NAME = new Map<string, Stage>(STAGES.map((s) => [s.name, s]));

/** The stage called `name`, or undefined. */
export function stageByName(name: string): Stage | undefined {
  return BY_NAME.get(name);
}

/** The stage called `name` (a known stage name). */
export function stage(name: StageName): Stage {
  return BY_NAME.get(name)!;
}

/** Table number of a stage. */
export function stageTable(name: StageName): number {
  return BY_NAME.get(name)!.table;
}
