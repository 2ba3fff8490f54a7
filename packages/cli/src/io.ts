/** Where a command writes: injectable so tests run commands in-process and read their output. */
export interface Io {
  /** Write to standard output. */
  out(text: string): void;
  /** Write to standard error. */
  err(text: string): void;
}

/** The process's own standard output and error. */
export const processIo: Io = {
  out: (t) => void process.stdout.write(t),
  err: (t) => void process.stderr.write(t),
};

/** An `Io` that collects everything written, for tests. */
export class BufferIo implements Io {
  stdout = '';
  stderr = '';
  out(t: string): void {
    this.stdout += t;
  }
  err(t: string): void {
    this.stderr += t;
  }
}
