/**
 * A raw client of a control socket for tests: lines written as they are
 * (malformed ones too), the answer lines read back parsed.
 */
import net from 'node:net';

/** Send raw lines; resolve with the first `count` answer lines, parsed. */
export function exchange(socketPath: string, lines: string, count: number): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const socket = net.createConnection({ path: socketPath });
    let buffer = '';
    const answers: unknown[] = [];
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(lines));
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        answers.push(JSON.parse(buffer.slice(0, nl)));
        buffer = buffer.slice(nl + 1);
      }
      if (answers.length >= count) {
        socket.destroy();
        resolve(answers);
      }
    });
    socket.on('error', reject);
  });
}
