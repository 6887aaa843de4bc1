/**
 * This machine's ceiling: a bare node:http server answering a small JSON body, with nothing else
 * in the way. `npm run bench` divides by it to tell a slow machine from a slow stack.
 *
 *   node bench/reference/bare-http.ts   (PORT)
 */
import { createServer } from 'node:http';

const body = JSON.stringify({ service: 'bare-http', status: 'ok' });
createServer((_request, response) => {
  response.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  response.end(body);
}).listen(Number(process.env.PORT), '127.0.0.1');
