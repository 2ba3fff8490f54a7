/**
 * ACL logging in ovn-controller's pinctrl (OVN 23.03 `lib/acl-log.c`, `controller/pinctrl.c`
 * `handle_acl_log`): what a chassis writes when a flow built from a logical `log(...)` action
 * sends a packet to the controller.
 *
 * Design. northd turns an ACL with `log=true` into `log(name=..., severity=..., verdict=...)`;
 * ovn-controller encodes it as `controller(userdata=<opcode LOG><log_pin_header><name>)`, where the
 * header is one byte of verdict (`LOG_VERDICT_*`: allow 0, drop 1, reject 2) and one of severity
 * (`LOG_SEVERITY_*`, the syslog levels: alert 1, warning 4, notice 5, info 6, debug 7), followed
 * by the ACL's name without a terminator (absent when the ACL has none). pinctrl parses the
 * packet-in's packet alone (`flow_extract`: no input port, registers or metadata) and logs, at
 * level INFO in module `acl_log`:
 *
 *   name="<name>", verdict=<verdict>, severity=<severity>, direction=<dir>: <flow_format(packet)>
 *
 * with the name JSON-escaped (`<unnamed>` without one), unknown codes as `<unknown>`, and the
 * direction `from-lport` when the flow was in the logical ingress pipeline (table below
 * OFTABLE_LOG_EGRESS_PIPELINE), else `to-lport`. A header shorter than two bytes is "log data
 * missing" (ovn-controller warns and logs nothing).
 */
import { FlowKey, extractFlowKey, formatFlowKey } from '@ovnts/openflow';
import { jsonEscape } from '@ovnts/ovn';
import { OFTABLE } from './tables.js';

const VERDICTS = ['allow', 'drop', 'reject'];
const SEVERITIES: Record<number, string> = { 1: 'alert', 4: 'warning', 5: 'notice', 6: 'info', 7: 'debug' };

/** A decoded `log` action payload (`struct log_pin_header` and the name). */
export interface AclLogSettings {
  /** `allow`, `drop`, `reject` or `<unknown>`. */
  readonly verdict: string;
  /** `alert`, `warning`, `notice`, `info`, `debug` or `<unknown>`. */
  readonly severity: string;
  /** The ACL's name (undefined: none). */
  readonly name: string | undefined;
}

/** Decode a `log` action's payload (after the opcode); undefined when the header is missing. */
export function decodeAclLog(payload: Uint8Array): AclLogSettings | undefined {
  if (payload.length < 2) return undefined;
  const name = payload.length > 2 ? new TextDecoder().decode(payload.subarray(2)) : undefined;
  return { verdict: VERDICTS[payload[0]!] ?? '<unknown>', severity: SEVERITIES[payload[1]!] ?? '<unknown>', name };
}

const key = new FlowKey();

/**
 * The line ovn-controller logs for a `log` packet-in (see the module comment): `payload` is the
 * userdata after the opcode, `frame` the packet, `tableId` the table of the flow that sent it.
 * Undefined when the log header is missing.
 */
export function aclLogLine(payload: Uint8Array, frame: Uint8Array, tableId: number): string | undefined {
  const s = decodeAclLog(payload);
  if (!s) return undefined;
  const direction = tableId < OFTABLE.LOG_EGRESS_PIPELINE ? 'from-lport' : 'to-lport';
  extractFlowKey(frame, 0, frame.length, 0, key);
  return `name=${jsonEscape(s.name ?? '<unnamed>')}, verdict=${s.verdict}, severity=${s.severity}, direction=${direction}: ${formatFlowKey(key)}`;
}
