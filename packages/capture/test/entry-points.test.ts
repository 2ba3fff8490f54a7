// Issue 14, item 8, for captures: the byte entry points refuse what is not a byte array or an
// integer range inside it with an ArgumentError; bad bytes stay CaptureFormatErrors.
import { describe, expect, it } from 'vitest';
import { CaptureFormatError, CaptureParser, readCapture, readCaptureStream } from '@ovnts/capture';
import { ArgumentError } from '@ovnts/packet';
import { checkEntryPoints, HOSTILE_BUFFERS } from '@ovnts/testkit';

const isFormat = (e: unknown): boolean => e instanceof CaptureFormatError;

describe('capture entry points refuse hostile arguments (issue 14, item 8)', () => {
  it('readCapture and CaptureParser.step', () => {
    const calls = checkEntryPoints(
      [
        { name: 'readCapture', shape: 'buffer', call: (b) => [...readCapture(b as Uint8Array)], mayThrow: isFormat },
        { name: 'CaptureParser.step', shape: 'range', call: (b, p, e, eof) => new CaptureParser().step(b as Uint8Array, p as number, e as number, eof === 1), mayThrow: isFormat },
      ],
      { numRuns: 300 },
    );
    expect(calls).toBe(600);
  });

  it('readCaptureStream refuses a chunk that is not bytes', async () => {
    for (const bad of HOSTILE_BUFFERS.filter((b) => !(b === null || b === undefined))) {
      await expect(async () => {
        for await (const _ of readCaptureStream([bad as Uint8Array])) void _;
      }).rejects.toThrow(ArgumentError);
    }
    for (const bad of [null, 7, 'not chunks']) {
      await expect(async () => {
        for await (const _ of readCaptureStream(bad as unknown as Uint8Array[])) void _;
      }).rejects.toThrow(/readCaptureStream: chunks must be an iterable/);
    }
    await expect(async () => {
      for await (const _ of readCaptureStream(['text' as unknown as Uint8Array])) void _;
    }).rejects.toThrow(/readCaptureStream: a chunk must be bytes \(open the stream without an encoding\), got a string/);
  });
});
