import { createServer, connect, type Server, type Socket } from 'node:net';
import { deferred } from '@switchboard/testkit';

/**
 * Where a connection through the proxy stops: `data` keeps the client's DATA command from the
 * server (the mailer waits for the 354 that never comes: nothing was handed over), `reply` passes
 * the whole message and keeps the server's answer to it from the client (the server has the
 * mail, the mailer does not know), `none` passes everything.
 */
export type HoldPoint = 'data' | 'reply' | 'none';

/**
 * A TCP proxy in front of a test SMTP server that holds an SMTP transaction at a chosen point, so
 * a test can kill the sending service at a known step of its delivery without timing guesses.
 */
export interface SmtpHoldProxy {
  readonly url: string;
  /** The point where the next connections stop; `held` resolves when one has stopped there. */
  holdAt(point: HoldPoint): { held: Promise<void> };
  close(): Promise<void>;
}

const DATA_COMMAND = /(^|\r\n)DATA\r\n/i;
const END_OF_DATA = '\r\n.\r\n';

export async function startSmtpHoldProxy(upstreamPort: number): Promise<SmtpHoldProxy> {
  let point: HoldPoint = 'none';
  let reached = deferred();
  const sockets = new Set<Socket>();
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  };
  const server: Server = createServer((client) => {
    const upstream = connect(upstreamPort, '127.0.0.1');
    track(client);
    track(upstream);
    const hold = point;
    let commands = '';
    let inData = false;
    let body = '';
    let replyHeld = false;
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    upstream.on('data', (bytes: Buffer) => {
      if (!replyHeld) client.write(bytes);
    });
    client.on('data', (bytes: Buffer) => {
      const text = bytes.toString('latin1');
      if (!inData) {
        commands += text;
        if (DATA_COMMAND.test(commands)) {
          inData = true;
          if (hold === 'data') {
            client.pause();
            reached.resolve();
            return;
          }
        }
        upstream.write(bytes);
        return;
      }
      upstream.write(bytes);
      body += text;
      if (hold === 'reply' && body.includes(END_OF_DATA)) {
        replyHeld = true;
        reached.resolve();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `smtp://127.0.0.1:${port}`,
    holdAt(next) {
      point = next;
      reached = deferred();
      return { held: reached.promise };
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
