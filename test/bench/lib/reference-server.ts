/**
 * The lookup bench's reference: a Node HTTP server that does no work, answering every GET with
 * the same JSON body (the size of a lookup's answer). Loaded like the service in the same run,
 * it shows what the load generator, the socket and the shared cores cost alone.
 *
 *   node --import tsx test/bench/lib/reference-server.ts PORT    prints "listening" when ready
 */
import { createServer } from 'node:http';

const body = `${JSON.stringify({ reference: 'x'.repeat(540) })}\n`;
const port = Number(process.argv[2]);
createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(body);
}).listen(port, '127.0.0.1', () => process.stdout.write('listening\n'));
