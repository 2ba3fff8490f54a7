/**
 * @ovnts/ovsdb: OVSDB (RFC 7047 with Open vSwitch's extensions) in TypeScript: the JSON-RPC
 * protocol, a server that behaves like ovsdb-server 3.1 (transactions with every operation,
 * referential integrity and garbage collection, constraints and indexes, monitors of all three
 * versions, locks, the _Server database), and a client. See docs/ovsdb.md.
 */
export { OvsdbError, OvsdbRpcError, OvsdbConnectionError, OvsdbTxnError, JsonParseError, JsonRpcError, RemoteSpecError, ovsdbError, syntaxError, type OvsdbErrorJson } from './errors.js';
export { JsonStream, compareStrings, formatJson, formatReal, isJsonInteger, jsonEqual, parseJson, JSON_MAX_DEPTH, type FormatJsonOptions } from './json.js';
export {
  SymbolTable,
  addedRemoved,
  applyDatumDiff,
  atomFromJson,
  atomToString,
  compareAtoms,
  compareDatums,
  datumDiff,
  datumEquals,
  datumFromJson,
  datumSubtract,
  datumToJson,
  datumToString,
  datumToWire,
  datumUnion,
  excludesAll,
  includesAll,
  isDefaultDatum,
  isId,
  newUuid,
  typeToEnglish,
  type TxnSymbol,
} from './datum.js';
export { Schema, SERVER_SCHEMA, SERVER_SCHEMA_JSON, baseTypeToJson, typeToJson, type ColumnInfo, type TableInfo } from './schema.js';
export { OvsdbParser, OP } from './parser.js';
export { FUNCTIONS, evalClause, matchesAll, matchesAny, parseCondition, type Clause, type Condition, type ConditionFunction } from './condition.js';
export { MUTATORS, applyMutations, parseMutations, type Mutation, type Mutator } from './mutation.js';
export { Database, Table, makeRow, rowValue, type ChangeSet, type Row, type RowChange } from './db.js';
export { Txn, type MutableRow, type TxnRow } from './txn.js';
export { executeTransaction, firstError, rowFromJson, transact, type ExecContext, type ExecOutcome } from './execute.js';
export { History, Monitor, SELECT, type MonitorTable, type MonitorVersion } from './monitor.js';
export { RpcConnection, formatRemote, openSocket, parseListen, parseRemote, parseRpcMessage, type Listen, type Remote, type RpcHandlers, type RpcMessage } from './rpc.js';
export { OvsdbServer, type OvsdbServerOptions } from './server.js';
export { OvsdbClient, type NotificationHandler } from './client.js';
export { DatabaseFile } from './file.js';
export { NbServer, type NbRecompute, type NbServerOptions } from './nb-server.js';
export { OvsdbFollower, OvsdbReplica, type FollowerEvent, type FollowerOptions, type ReplicaOptions } from './replica.js';
