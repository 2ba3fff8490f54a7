export * from './env.js';
export * from './oracles.js';
export * from './netns.js';
export * from './fixtures.js';
export * from './corpus.js';
export * from './tshark.js';
export * from './ovs.js';
