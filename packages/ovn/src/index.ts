export * from './expr/index.js';
export * from './nb/index.js';
