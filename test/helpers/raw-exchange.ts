import { connect } from 'node:net';

/** Sends `text` on a fresh connection to 127.0.0.1:`port` and resolves with everything answered (latin1) once the server closes it (end the text with QUIT). */
export function exchangeUntilClose(port: number, text: string): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    let out = '';
    s.on('data', (d) => (out += d.toString('latin1')));
    s.on('close', () => resolve(out));
    s.on('error', () => {});
    s.write(text);
  });
}
