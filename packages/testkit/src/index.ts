export * from './env.js';
export * from './oracles.js';
