/** Starts a server on a loopback port, tracking its sockets so that it can be closed at once. */
import type { Server } from 'node:http';
import type { Socket } from 'node:net';

export async function listenTracked(server: Server, port: number, host: string): Promise<{ close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
