/**
 * Parsed OVN logical actions (ovn-sb(5) "actions"; OVN's `struct ovnact` family), as plain
 * objects. Field operands are `FieldRef`s of the expression language (symbol plus bit range);
 * constants keep the textual format they were written in, because OVN prints them back that way.
 */
import type { ConstantSet, IntConstant } from '../expr/check.js';
import type { FieldRef } from '../expr/parse.js';

/** Logical pipeline of an action's flow. */
export type ActionPipeline = 'ingress' | 'egress';

/** A load-balancer or NAT destination (`ct_lb_mark(backends=...)`). */
export interface CtLbDst {
  /** 4 or 6. */
  readonly family: 4 | 6;
  /** The address (IPv4 as a 32-bit value, IPv6 as 128-bit). */
  readonly ip: bigint;
  /** L4 port, 0 when absent. */
  readonly port: number;
}

/** One option of `put_dhcp_opts`/`put_dhcpv6_opts`/`put_nd_ra_opts`/`trigger_event`. */
export interface GenOption {
  /** Option name. */
  readonly name: string;
  /** Value(s) as written. */
  readonly value: ConstantSet;
}

/** Nested-action kinds (`name { ... };`). */
export type NestedName =
  | 'clone' | 'arp' | 'icmp4' | 'icmp4_error' | 'icmp6' | 'icmp6_error' | 'tcp_reset' | 'sctp_abort'
  | 'nd_na' | 'nd_na_router' | 'nd_ns' | 'reject' | 'ct_commit';

/** Actions of the form `dst = name();` (OVN's `ovnact_result`). */
export type ResultName =
  | 'dns_lookup' | 'chk_lb_hairpin' | 'chk_lb_hairpin_reply' | 'check_in_port_sec' | 'check_out_port_sec'
  | 'chk_ecmp_nh_mac' | 'chk_ecmp_nh' | 'chk_lb_aff';

/** A parsed logical action. */
export type Action =
  | { readonly type: 'output' }
  | { readonly type: 'next'; readonly pipeline: ActionPipeline; readonly table: number; readonly srcPipeline: ActionPipeline; readonly srcTable: number }
  | { readonly type: 'load'; readonly dst: FieldRef; readonly imm: IntConstant | string }
  | { readonly type: 'ovnfield-load'; readonly dst: FieldRef; readonly value: number }
  | { readonly type: 'move' | 'exchange'; readonly lhs: FieldRef; readonly rhs: FieldRef }
  | { readonly type: 'push' | 'pop'; readonly field: FieldRef }
  | { readonly type: 'dec_ttl' }
  | { readonly type: 'ct_next'; readonly table: number }
  | { readonly type: 'ct_commit_v1'; readonly ctMark?: bigint; readonly ctMarkMask?: bigint; readonly ctLabel?: bigint; readonly ctLabelMask?: bigint }
  | { readonly type: 'nested'; readonly name: NestedName; readonly nested: readonly Action[] }
  | {
      readonly type: 'ct_nat';
      readonly name: 'ct_dnat' | 'ct_snat' | 'ct_dnat_in_czone' | 'ct_snat_in_czone';
      readonly table: number;
      readonly dst?: { readonly family: 4 | 6; readonly ip: bigint };
      readonly portRange?: { readonly lo: number; readonly hi: number };
    }
  | { readonly type: 'ct_commit_nat'; readonly table: number }
  | {
      readonly type: 'ct_lb';
      readonly mark: boolean;
      readonly table: number;
      readonly dsts: readonly CtLbDst[];
      readonly hashFields?: string;
      readonly flag?: 'skip_snat' | 'force_snat';
    }
  | { readonly type: 'select'; readonly dst: FieldRef; readonly table: number; readonly members: readonly { readonly id: number; readonly weight: number }[] }
  | { readonly type: 'ct_clear' }
  | { readonly type: 'ct_snat_to_vip' }
  | { readonly type: 'igmp' }
  | { readonly type: 'get_arp' | 'get_nd'; readonly port: FieldRef; readonly ip: FieldRef }
  | { readonly type: 'put_arp' | 'put_nd'; readonly port: FieldRef; readonly ip: FieldRef; readonly mac: FieldRef }
  | { readonly type: 'lookup_arp' | 'lookup_nd'; readonly dst: FieldRef; readonly port: FieldRef; readonly ip: FieldRef; readonly mac: FieldRef }
  | { readonly type: 'lookup_arp_ip' | 'lookup_nd_ip'; readonly dst: FieldRef; readonly port: FieldRef; readonly ip: FieldRef }
  | { readonly type: 'put_dhcp_opts' | 'put_dhcpv6_opts' | 'put_nd_ra_opts'; readonly dst: FieldRef; readonly options: readonly GenOption[] }
  | { readonly type: 'result'; readonly name: ResultName; readonly dst: FieldRef }
  | { readonly type: 'check_pkt_larger'; readonly dst: FieldRef; readonly len: number }
  | { readonly type: 'log'; readonly name?: string; readonly verdict: 'allow' | 'drop' | 'reject'; readonly severity: string; readonly meter?: string }
  | { readonly type: 'set_meter'; readonly rate: bigint; readonly burst: bigint }
  | { readonly type: 'set_queue'; readonly queue: number }
  | { readonly type: 'trigger_event'; readonly event: string; readonly options: readonly GenOption[] }
  | { readonly type: 'bind_vport'; readonly vport: string; readonly port: FieldRef }
  | { readonly type: 'handle_svc_check'; readonly port: FieldRef }
  | { readonly type: 'fwd_group'; readonly liveness: boolean; readonly ports: readonly string[] }
  | { readonly type: 'handle_dhcpv6_reply' }
  | { readonly type: 'handle_bfd_msg' }
  | { readonly type: 'put_fdb'; readonly port: FieldRef; readonly mac: FieldRef }
  | { readonly type: 'get_fdb'; readonly dst: FieldRef; readonly mac: FieldRef }
  | { readonly type: 'lookup_fdb'; readonly dst: FieldRef; readonly port: FieldRef; readonly mac: FieldRef }
  | { readonly type: 'commit_ecmp_nh'; readonly ipv6: boolean; readonly proto: 'tcp' | 'udp' | 'sctp' }
  | {
      readonly type: 'commit_lb_aff';
      readonly text: string;
      /** The VIP (`ip`, `port` 0 when none). */
      readonly vip: { readonly ip: string; readonly port: number; readonly v6: boolean };
      /** The backend. */
      readonly backend: { readonly ip: string; readonly port: number; readonly v6: boolean };
      /** `tcp`, `udp`, `sctp`, or '' when the VIP has no port. */
      readonly proto: string;
      /** Idle timeout in seconds. */
      readonly timeout: number;
    }
  | { readonly type: 'sample'; readonly text: string };

/** What parsing a flow's actions gives: the actions and the prerequisites they add to the match. */
export interface ParsedActions {
  /** The actions, in order (empty for `drop;`). */
  readonly actions: readonly Action[];
  /** Prerequisite expressions (OVN text) the actions impose on the flow's match. */
  readonly prereqs: readonly string[];
}
