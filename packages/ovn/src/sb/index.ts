/**
 * The southbound model: types (model.ts), tunnel key allocation as ovn-northd does it (keys.ts),
 * our northd's production of it (from-northd.ts), lookups (lookup.ts).
 */
export * from './model.js';
export { TNL, MC_KEYS, TnlIds, assignDatapathKeys, assignPortKeys, idlOrder, idlTableOrder, requestedTnlKey, settleKeys } from './keys.js';
export type { KeyWarning, DatapathKeyInput, PortKeyInput } from './keys.js';
export { buildSouthbound, nbRowOfFlow, sbGlobalOptions, SouthboundMemo, type SouthboundInput } from './from-northd.js';
export { DHCPV4_OPTIONS, DHCPV6_OPTIONS, type DhcpOptionDef } from './dhcp.js';
export { SbIndex, sbIndex } from './lookup.js';
export { loadSb, loadSbFile, sbFromRaw, SB_SCHEMA, SB_SCHEMA_NAME } from './ovsdb-file.js';
export { SbError, type SbErrorWhere } from './errors.js';
export { parseLogicalFlow, lflowParseContext, type LflowParse, type LflowParsed, type LflowFailed, type LflowParseContext } from './lflow-parse.js';
