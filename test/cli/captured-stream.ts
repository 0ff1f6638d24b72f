/** A writable stream for tests that keeps what is written: a terminal of 80 columns when `isTTY` (progress bars draw there). */
import { Writable } from 'node:stream';

export class CapturedStream extends Writable {
  text = '';
  readonly columns = 80;
  constructor(readonly isTTY: boolean) {
    super();
  }
  override _write(chunk: Buffer | string, _encoding: BufferEncoding, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}
