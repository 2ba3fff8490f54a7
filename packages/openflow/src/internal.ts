/**
 * `@ovnts/openflow/internal`: the public API plus the executor's building blocks, for tests,
 * benchmarks and tools that drive the pipeline directly (`Pipeline`, `RunMode`, actions compiled
 * to `Op`s). No stability promise; the public API is `@ovnts/openflow`.
 */
export * from './index.js';
export { ActionParser, compileAction, compileInstructions, ctActFor, fixVlanTpid, setFieldPrim } from './actions.js';
export type { ActionArg, ActionContext, ActionDef, ActionOp, CheckState, CtPrep, InstructionOp, InstructionType, Op, OpExec, OpRun } from './actions.js';
export { FORWARD_CACHED, FORWARD_UNCACHED, Pipeline } from './pipeline.js';
export type { RunMode, SwitchCore } from './pipeline.js';
export { ActionDecoder, ActionEncoder, NXAST, OFPAT, OFPAT10, ONFACT, ofsNbits, pullActionFrame } from './action-wire.js';
export type { ActionWire, WireKey } from './action-wire.js';
export { OpPool } from './op-pool.js';
export { Instr, OpCode } from './op-code.js';
