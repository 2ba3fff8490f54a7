/** Where a command reads and writes: injectable so tests run commands in-process and read their output. */
export interface Io {
  /** Write to standard output. */
  out(text: string): void;
  /** Write to standard error. */
  err(text: string): void;
  /** Standard input, read only by a command told to (`dissect -`); absent means there is none. */
  readonly stdin?: AsyncIterable<Uint8Array>;
}

/** The process's own standard input, output and error. */
export const processIo: Io = {
  out: (t) => void process.stdout.write(t),
  err: (t) => void process.stderr.write(t),
  // A getter: touching process.stdin opens it, which only a command reading `-` should do.
  get stdin(): AsyncIterable<Uint8Array> {
    return process.stdin;
  },
};

/** An `Io` that collects everything written, for tests (with an optional standard input). */
export class BufferIo implements Io {
  stdout = '';
  stderr = '';
  constructor(readonly stdin?: AsyncIterable<Uint8Array>) {}
  out(t: string): void {
    this.stdout += t;
  }
  err(t: string): void {
    this.stderr += t;
  }
}

/** Resolves on the first SIGINT or SIGTERM (then listens no more): how a serving command waits to stop. */
export function untilStopSignal(): Promise<void> {
  return new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
