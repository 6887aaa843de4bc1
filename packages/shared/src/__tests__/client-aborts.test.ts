import net, { type AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, test, vi } from 'vitest';
import { createApp, type App } from '../index.js';

// A request whose client hung up and whose handler then fails (as a proxied answer cut short
// does): the failure cannot reach anyone and is not an internal error to report.
const lines: Record<string, unknown>[] = [];
let app: App;
let port: number;

beforeAll(async () => {
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  app = await createApp({
    serviceName: 'test-service',
    logger: pino({ level: 'info' }, sink),
    routes: (scope) => {
      scope.get('/fails-late', async () => {
        await new Promise((resolve) => setTimeout(resolve, 200));
        throw new Error('the answer was cut short');
      });
    },
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  port = (app.server.address() as AddressInfo).port;
});
afterAll(async () => app.close());

test('when the client hangs up and the handler then fails, then one info line "client aborted" and no error', async () => {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => {});
  socket.write('GET /fails-late HTTP/1.1\r\nHost: x\r\nX-Request-Id: gone-early\r\n\r\n');
  await new Promise((resolve) => setTimeout(resolve, 50));
  socket.destroy();
  await new Promise((resolve) => setTimeout(resolve, 400));
  await vi.waitFor(() =>
    expect(lines.filter((line) => line.reqId === 'gone-early')).toEqual([
      expect.objectContaining({ level: 30, msg: 'client aborted', url: '/fails-late' }),
    ]),
  );
});

test('when the client stays and the handler fails, then it is still an error with its stack', async () => {
  const res = await fetch(`http://127.0.0.1:${port}/fails-late`, { headers: { 'x-request-id': 'stayed' } });
  expect(res.status).toBe(500);
  const failed = lines.filter((line) => line.reqId === 'stayed' && line.msg === 'request failed');
  expect(failed).toEqual([expect.objectContaining({ level: 50, err: expect.objectContaining({ stack: expect.any(String) }) })]);
});
