/**
 * @ovnts/openflow: flow keys, match fields, the classifier and ovs-ofctl text syntax for an
 * OpenFlow 1.5 switch that behaves like Open vSwitch.
 */
export * from './errors.js';
export * from './flowkey.js';
export * from './fields.js';
export * from './match.js';
export * from './extract.js';
export * from './classifier.js';
// The action table's public side; the executor's compiled forms (compileAction, Op, CtPrep...)
// are in `@ovnts/openflow/internal`.
export {
  ActionSetClass, ACTION_TYPES, actionKeywords, parseAction, parseActionList, parseInstructions,
  formatAction, formatActionList, formatInstructions, nestedActions, someAction,
  checkActionsParsed, checkActionsAgainst, checkActionsDecoded, checkActionsEnv, actionSetClass,
  reversibleActions, checkActionSet, actionSetOrder, OFPP, OFPP_UNSET, formatPort,
  isValidOutputPort, parsePort, hexC, parseUint, splitTopLevel, formatSubfield, parseSubfield,
  type NatSpec, type LearnSpec, type OutputAction, type OutputRegAction, type ControllerAction,
  type SetFieldAction, type MoveAction, type DecTtlAction, type ModNwTtlAction,
  type PushVlanAction, type PopVlanAction, type ResubmitAction, type GroupAction, type NoteAction,
  type CtActionSpec, type CtClearAction, type LearnAction, type ConjunctionAction,
  type MeterAction, type CloneAction, type StackPushAction, type StackPopAction,
  type CheckPktLargerAction, type ExitAction, type ModTpAction, type SetQueueAction,
  type PopQueueAction, type HashFields, type MultipathAction, type BundleAction, type SampleAction,
  type FinTimeoutAction, type PushMplsAction, type PopMplsAction, type SetMplsTtlAction, type DecMplsTtlAction, type ActionMap, type ActionType, type Action, type Instructions,
  type ActionEnv, type Subfield
} from './actions.js';
// The OpenFlow wire protocol (docs/openflow-wire.md): matches, actions and instructions on the wire.
export { encodeActions, decodeActions, encodeInstructions, decodeInstructions, OFPIT } from './actions.js';
export * from './wire-buf.js';
export * from './field-codec.js';
export * from './ofp-errors.js';
export * from './ofp-msgs.js';
export * from './ofp-nx.js';
export * from './ofp-stats.js';
export * from './ofp-async.js';
export * from './ofp-conn.js';
export * from './ofp-bundle.js';
export * from './ofp-packet-in.js';
export * from './ofp-monitor.js';
export * from './ofp-agent.js';
export * from './ofp-server.js';
export * from './fail-open.js';
export * from './ofctl-text.js';
export * from './commit.js';
export * from './ports.js';
// The executor (Pipeline, RunMode) is in `@ovnts/openflow/internal`.
export {
  MAX_DEPTH, MAX_RESUBMITS, MAX_RECIRC_DEPTH, MAX_TRACE_RECIRCS, OFPG_ANY, OFPP_ANY, GENEVE_PORT,
  TUN_META_PRESENT_SHIFT, readSubfield, XlateError, type EmittedFrame, type PacketIn,
  type TraceNode, type TraceRecirc, type PacketInReason, type TraceNodeType, type FlowEntry, type FlowTable,
  type GroupEntry, type BucketEntry
} from './pipeline.js';
export * from './switch.js';
export * from './trace-format.js';
export * from './clock/index.js';
export * from './conntrack/index.js';
export * from './stateful/index.js';
