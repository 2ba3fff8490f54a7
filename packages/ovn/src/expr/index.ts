/**
 * The OVN match expression language: lexer, parser, symbol table, type checking and annotation,
 * simplification and normalisation to flow form, direct evaluation, formatting, and conversion to
 * OpenFlow matches (with conjunctive matches).
 */
export * from './errors.js';
export * from './lex.js';
export * from './ast.js';
export * from './symbols.js';
export * from './parse.js';
export * from './check.js';
export * from './normalize.js';
export * from './eval.js';
export * from './format.js';
export * from './to-openflow.js';
