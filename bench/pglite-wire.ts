/**
 * The embedded store (PGlite) reached over PostgreSQL's wire protocol on a loopback port, so
 * that a built bundle, which carries only `pg` as on Function Compute, can run against it.
 * PGlite has one session: clients must take turns (one connection at a time); each new
 * connection finds it reset.
 */
import { createServer, type Server } from 'node:net';
import { PGlite } from '@electric-sql/pglite';

export interface PgliteWire {
  url: string;
  close(): Promise<void>;
}

/** Splits a byte stream into whole protocol messages (the first one of a connection is the untyped startup packet). */
function splitter(onMessage: (m: Uint8Array) => void) {
  let buf: Buffer = Buffer.alloc(0);
  let started = false;
  return (chunk: Buffer) => {
    buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
    for (;;) {
      const header = started ? 5 : 4;
      if (buf.length < header) return;
      const n = started ? buf.readInt32BE(1) + 1 : buf.readInt32BE(0);
      if (buf.length < n) return;
      const m = buf.subarray(0, n);
      buf = buf.subarray(n);
      started = true;
      onMessage(new Uint8Array(m));
    }
  };
}

export async function startPgliteWire(dataDir?: string): Promise<PgliteWire> {
  const db = dataDir ? new PGlite(dataDir) : new PGlite();
  await db.waitReady;
  let queue = Promise.resolve();
  const server: Server = createServer((socket) => {
    // A new client starts from a clean session: no transaction or prepared statement of the last one.
    queue = queue.then(async () => {
      await db.exec('ROLLBACK');
      await db.exec('DISCARD ALL');
    });
    // Replies are many small writes: without this, Nagle's algorithm holds them for the client's delayed ACK.
    socket.setNoDelay(true);
    socket.on('error', () => socket.destroy());
    socket.on(
      'data',
      splitter((m) => {
        queue = queue.then(async () => {
          // Terminate ends the client's connection, not PGlite's one session.
          if (m[0] === 0x58) return void socket.end();
          const reply = await db.execProtocolRaw(m);
          if (reply.length && !socket.destroyed) socket.write(reply);
        });
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await queue;
      await db.close();
    },
  };
}
