/**
 * The OVN northbound model: typed rows, an OVSDB file reader, a builder and validation.
 * See docs/ovn-nb.md.
 */
export * from './errors.js';
export * from './schema.js';
export * from './datum.js';
export * from './data.js';
export * from './addresses.js';
export * from './model.js';
export * from './db.js';
export * from './ovsdb-file.js';
export * from './ovsdb-write.js';
export * from './builder.js';
