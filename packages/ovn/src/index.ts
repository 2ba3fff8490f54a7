/**
 * @ovnts/ovn: the OVN logical layer. This entry lists the public API on purpose: the northbound
 * model and its OVSDB files, the match expression and logical action languages, the northd
 * compiler, the southbound model, and ovn-trace. Names that would mean something else in
 * @ovnts/openflow carry a `Logical`/`Nb`/`Ovn` prefix here (`LogicalAction`, `LogicalPipeline`,
 * `LogicalTraceNode`, `formatLogicalAction`, `parseOvnMicroflow`, `NbMeter`). Building blocks
 * of the compiler and the tracer (flow builders, address helpers, the traced packet) are in
 * `@ovnts/ovn/internal`, with no stability promise.
 */

// ---- Northbound model and OVSDB files (nb/) ----
export { NbDatabase } from './nb/db.js';
export { NbError, type NbErrorWhere } from './nb/errors.js';
export { loadNb, loadNbFile, readOvsdbFile, readOvsdbRecords, type OvsdbFileContents, type OvsdbRecord, type ReadOptions } from './nb/ovsdb-file.js';
export { formatOvsdbRecord, writeOvsdbFile } from './nb/ovsdb-write.js';
export {
  NbBuilder,
  RouterHandle,
  SwitchHandle,
  type AclOpts,
  type ExternalIdsOpts,
  type GatewayChassisOpts,
  type LoadBalancerOpts,
  type NatOpts,
  type PolicyOpts,
  type QosOpts,
  type RouteOpts,
  type RouterOpts,
  type RouterPortOpts,
  type RowHandle,
  type SwitchOpts,
  type SwitchPortOpts,
} from './nb/builder.js';
export { optBool, optInt } from './nb/model.js';
export type {
  Acl,
  AclAction,
  AddressSet,
  Bfd,
  Copp,
  DhcpOptions,
  Dns,
  GatewayChassis,
  HaChassis,
  HaChassisGroup,
  HasExternalIds,
  LbVip,
  LoadBalancer,
  LoadBalancerConfig,
  LoadBalancerGroup,
  LoadBalancerHealthCheck,
  LogicalRouter,
  LogicalRouterConfig,
  LogicalRouterPolicy,
  LogicalRouterPort,
  LogicalRouterStaticRoute,
  LogicalSwitch,
  LogicalSwitchConfig,
  LogicalSwitchPort,
  LspType,
  Meter as NbMeter,
  MeterBand as NbMeterBand,
  Nat,
  NatType,
  NbDirection,
  NbGlobal,
  NbRow,
  PortGroup,
  QoS,
  Severity,
  StaticMacBinding,
} from './nb/model.js';
export {
  parseIpAddr,
  parseIpPrefix,
  parseLspAddress,
  parseMacIps,
  type Ip4Range,
  type IpAddr,
  type IpPort,
  type IpPrefix,
  type LspAddress,
  type MacIps,
  type PortRange,
} from './nb/addresses.js';
export { NB_SCHEMA, NB_SCHEMA_NAME, NB_SCHEMA_UPSTREAM, parseSchema, type AtomicType, type BaseType, type ColumnSchema, type ColumnType, type DbSchema, type OvsdbAtom, type TableSchema } from './nb/schema.js';
export { NB_SCHEMA_JSON } from './nb/schema-data.js';
export { ZERO_UUID, defaultDatum, isUuid, mapDatum, scalarDatum, setDatum, type Datum } from './nb/datum.js';
export { RawDb, type RawRow } from './nb/data.js';

// ---- Match expressions (expr/) ----
export { ExprError } from './expr/errors.js';
export { Lexer, Tok, expandTemplates, formatToken, jsonEscape, lexToken, tokenize, type LexFormat, type Token } from './expr/lex.js';
export type { AndExpr, AndOrExpr, BoolExpr, CmpExpr, CondExpr, Expr, OrExpr, Relop } from './expr/ast.js';
export { parseExprText, parseFieldText, type ExprContext, type FieldRef, type NameTable } from './expr/parse.js';
export { annotate, type Constant, type ConstantSet, type IntConstant } from './expr/check.js';
export {
  compileExpr,
  evaluateConditions,
  normalize,
  parseMicroflow as parseOvnMicroflow,
  simplify,
  toMatchForm,
  type ConjunctiveMatch,
  type FieldConstraint,
  type MatchForm,
  type NormalizeOptions,
} from './expr/normalize.js';
export { evaluate, matchesForm, packetOf, type EvalOptions, type Packet, type PacketValue } from './expr/eval.js';
export { formatExpr } from './expr/format.js';
export {
  CtStateBits,
  LogicalFlagBits,
  N_LOG_REGS,
  OVS_FIELDS,
  SymbolTable,
  formatSymbol,
  ovnSymtab,
  ovsField,
  resolveField,
  type ExprLevel,
  type ExprSymbol,
  type OvsField,
  type ResolvedField,
} from './expr/symbols.js';
export {
  exprToOpenFlow,
  formatExprFlow,
  formatExprMatch,
  formatExprMatches,
  matchesToOpenFlow,
  openflowField,
  type ExprFlow,
  type ExprFlows,
  type MatchesToOpenFlowOptions,
  type ToOpenFlowOptions,
} from './expr/to-openflow.js';

// ---- Logical actions (actions/) ----
export type { Action as LogicalAction, ActionPipeline, CtLbDst, GenOption, NestedName, ParsedActions, ResultName } from './actions/ast.js';
export { ActionError, LOG_PIPELINE_LEN, parseActions, type ActionContext as LogicalActionContext } from './actions/parse.js';
export { formatAction as formatLogicalAction, formatActions } from './actions/format.js';

// ---- northd (northd/) ----
export { compileNorthd, lflowList, type NorthdOptions, type NorthdResult, type NorthdWarning } from './northd/northd.js';
export { IncrementalNorthd, NB_GLOBAL_SEQUENCE_COLUMNS, type IncrementalNorthdStats, type NorthdUpdate } from './northd/incremental.js';
export { FIRST_IP_MULTICAST_KEY, type IgmpGroupRecord, type IpMulticastGroup } from './northd/mcast.js';
export { parseTunnelKeys, type ContextOptions, type NorthdContext, type NorthdGlobals, type RouterDp, type RouterPort, type SwitchDp, type SwitchPort, type TunnelKeys } from './northd/context.js';
export { FlowSink, type Datapath, type FlowRow, type LogicalFlow } from './northd/types.js';
export {
  LR_IN_STAGES,
  LR_OUT_STAGES,
  LS_IN_STAGES,
  LS_OUT_STAGES,
  STAGES,
  stage,
  stageByName,
  stageTable,
  type DatapathKind,
  type Pipeline as LogicalPipeline,
  type Stage,
  type StageName,
} from './northd/stages.js';
export { flowKey, formatFlowLine, formatLflowList, parseLflowList, sortFlows, type ListedFlow } from './northd/format.js';
export { checkNbMatches, describeNbRow, type NbRowWarning } from './northd/checks.js';
export { hmapOrder, ovsHashString, ssetOrder } from './northd/ovs-hash.js';

// ---- The southbound model (sb/) ----
export * from './sb/index.js';

// ---- ovn-trace (trace/) ----
export { TraceError, ovnTrace, parseLbDst, traceFlowTree, traceTree, type OvnTraceOptions, type TraceFormat } from './trace/api.js';
export { emptyFlow, type TraceFlow } from './trace/flow.js';
export {
  traceDb,
  type TraceDatapath,
  type TraceDb,
  type TraceDbState,
  type TraceLbVip,
  type TraceLflow,
  type TraceMacBinding,
  type TraceMcGroup,
  type TracePort,
} from './trace/db.js';
export { minimalText, printDetails, printSummary, summaryText } from './trace/print.js';
export type {
  TraceCtQuery,
  TraceHooks,
  TraceLogEvent,
  TraceNode as LogicalTraceNode,
  TraceNodeType as LogicalTraceNodeType,
  TraceRunOptions,
} from './trace/trace.js';
