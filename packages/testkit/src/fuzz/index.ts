/** Fuzzing (issue 14, item 11): the harness a target is written against, and the runner. */
export * from './harness.js';
export * from './runner.js';
