/**
 * @ovnts/capture: pcap and pcapng files (read whole buffers or streams, write to a Writable or a
 * buffer) and live frame I/O on real interfaces through the optional native package `cap`.
 * Frames are handed out zero-copy; see `frame.ts` for how long a frame's bytes stay valid.
 */
export * from './errors.js';
export * from './format.js';
export * from './frame.js';
export * from './parser.js';
export * from './reader.js';
export * from './writer.js';
export * from './live.js';
