/**
 * @ovnts/cli: the `ovnts` command, and its building blocks as a library (dissection).
 */
export * from './dissect.js';
export * from './errors.js';
export * from './io.js';
export { main, runCli, commands, type Command } from './main.js';
export { dissectFile } from './commands/dissect.js';
export { DEMO_FILES } from './commands/demo.js';
