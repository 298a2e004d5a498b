/**
 * The baseline: a bare aedes broker (same aedes version and options as the hub, plain TCP with
 * Nagle off) with no authentication, no validation and no storage. Prints "ready <port>" once
 * listening; stops on SIGTERM/SIGINT.
 */
import { Aedes } from 'aedes';
import { createServer } from 'node:net';

const { AEDES_OPTIONS } = await import(new URL('../dist/broker/aedes-options.js', import.meta.url).href);
const port = Number(process.argv[2] ?? 0);
const aedes = await Aedes.createBroker({ ...AEDES_OPTIONS });
const server = createServer({ noDelay: true }, (socket) => {
  socket.on('error', () => {});
  aedes.handle(socket);
});
server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`ready ${server.address().port}\n`);
});
const stop = () => {
  server.close();
  aedes.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 1000).unref();
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
