import net from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startGatewayOverEchoStubs, type EchoStub } from './stubs.js';

// Deadlines scaled down from the defaults (headers 5 s, whole request 15 s, idle 5 s) so the
// suite takes seconds; the mechanism is the same.
const HEADERS_MS = 1_000;
const REQUEST_MS = 2_000;
const KEEP_ALIVE_MS = 600;
const MAX_PER_CLIENT = 40;

let setup: Awaited<ReturnType<typeof startGatewayOverEchoStubs>>;
let users: EchoStub;
let products: EchoStub;
let gateway: Awaited<ReturnType<typeof startGatewayOverEchoStubs>>['gateway'];

beforeAll(async () => {
  setup = await startGatewayOverEchoStubs({
    clientTimeouts: { headersMs: HEADERS_MS, requestMs: REQUEST_MS, keepAliveMs: KEEP_ALIVE_MS },
    maxConnectionsPerClient: MAX_PER_CLIENT,
  });
  ({ users, products, gateway } = setup);
});

afterAll(() => setup?.close());

interface Outcome {
  /** Everything the gateway wrote before closing. */
  text: string;
  /** When the connection ended, from the start. */
  closedAfterMs: number;
}

/**
 * Opens a connection, writes `head` then `trickle` one byte every `everyMs` (until the gateway
 * closes the socket), and reports what came back and when the socket closed.
 */
function trickle(head: string, trickled: string, everyMs: number): Promise<Outcome> {
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = net.connect(gateway.port, '127.0.0.1');
    const received: Buffer[] = [];
    let sent = 0;
    let timer: NodeJS.Timeout | undefined;
    socket.on('connect', () => {
      if (head) socket.write(head);
      timer = setInterval(() => {
        if (sent < trickled.length && socket.writable) socket.write(trickled[sent++]!);
      }, everyMs);
    });
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearInterval(timer);
      resolve({ text: Buffer.concat(received).toString('latin1'), closedAfterMs: Date.now() - started });
    });
  });
}

function statusOf(text: string): number | undefined {
  const match = /^HTTP\/1\.1 (\d{3})/.exec(text);
  return match ? Number(match[1]) : undefined;
}

function envelopeCodeOf(text: string): string | undefined {
  const body = text.split('\r\n\r\n')[1];
  return body ? (JSON.parse(body) as { error: { code: string } }).error.code : undefined;
}

async function login(): Promise<{ status: number; ms: number }> {
  const started = Date.now();
  const res = await fetch(`${gateway.url}/users/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'alice', password: 'correct horse battery' }),
  });
  await res.arrayBuffer();
  return { status: res.status, ms: Date.now() - started };
}

describe('slow and idle clients at the gateway', () => {
  test('headers that trickle in: 408 in the envelope, the connection closed, within the header deadline', async () => {
    const outcome = await trickle('GET /products HTTP/1.1\r\nHost: gateway.test\r\n', 'X-Slow: ' + 'a'.repeat(50), 200);
    expect(statusOf(outcome.text)).toBe(408);
    expect(envelopeCodeOf(outcome.text)).toBe('request_timeout');
    expect(outcome.closedAfterMs).toBeLessThan(HEADERS_MS + 1_500);
    expect(products.requests.some((r) => r.url === '/products')).toBe(false);
  });

  test('a connection that never sends a byte is closed within the header deadline', async () => {
    const outcome = await trickle('', '', 1_000);
    expect(outcome.closedAfterMs).toBeLessThan(HEADERS_MS + 1_500);
  });

  test('a body that trickles in: 408 within the request deadline, and nothing reaches the service', async () => {
    const body = JSON.stringify({ username: 'slowpoke', password: 'x'.repeat(40) });
    const before = users.requests.length;
    const outcome = await trickle(
      `POST /users/login HTTP/1.1\r\nHost: gateway.test\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`,
      body,
      200,
    );
    expect(statusOf(outcome.text)).toBe(408);
    expect(envelopeCodeOf(outcome.text)).toBe('request_timeout');
    expect(outcome.closedAfterMs).toBeLessThan(REQUEST_MS + 1_500);
    expect(users.requests.length).toBe(before);
  });

  test('an idle kept-alive connection is closed after the keep-alive deadline', async () => {
    const outcome = await trickle('GET /products HTTP/1.1\r\nHost: gateway.test\r\n\r\n', '', 10_000);
    expect(statusOf(outcome.text)).toBe(200);
    expect(outcome.closedAfterMs).toBeLessThan(KEEP_ALIVE_MS + 1_500);
  });

  test('a flood of slow login bodies: other logins, products and orders answer at once', async () => {
    const body = JSON.stringify({ username: 'flood', password: 'y'.repeat(200) });
    const before = users.requests.length;
    // Thirty connections that each send a login body one byte every 100 ms.
    const flood = Array.from({ length: 30 }, () =>
      trickle(
        `POST /users/login HTTP/1.1\r\nHost: gateway.test\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`,
        body,
        100,
      ),
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    const during = await Promise.all([login(), login(), login()]);
    const others = await Promise.all([fetch(`${gateway.url}/products`), fetch(`${gateway.url}/orders`)]);
    for (const answer of during) {
      expect(answer.status).toBe(200);
      // At once, not after the flood: the slow bodies hold nothing the logins need.
      expect(answer.ms).toBeLessThan(2_000);
    }
    expect(others.map((res) => res.status)).toEqual([200, 200]);
    const outcomes = await Promise.all(flood);
    expect(outcomes.map((o) => statusOf(o.text))).toEqual(Array.from({ length: 30 }, () => 408));
    // Only the three real logins reached the user service: the slow ones never held a connection to it.
    expect(users.requests.length - before).toBe(3);
  }, 15_000);

  test(`connections over ${MAX_PER_CLIENT} from one address are closed at once; freed ones can be used again`, async () => {
    const sockets = await Promise.all(
      Array.from(
        { length: MAX_PER_CLIENT },
        () =>
          new Promise<net.Socket>((resolve) => {
            const socket = net.connect(gateway.port, '127.0.0.1', () => resolve(socket));
            socket.on('error', () => {});
          }),
      ),
    );
    try {
      // Let the gateway see every connection before the extra one arrives.
      await new Promise((resolve) => setTimeout(resolve, 100));
      const extra = await trickle('GET /products HTTP/1.1\r\nHost: gateway.test\r\n\r\n', '', 1_000);
      expect(extra.text).toBe('');
      expect(extra.closedAfterMs).toBeLessThan(500);
    } finally {
      for (const socket of sockets) socket.destroy();
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await fetch(`${gateway.url}/products`)).status).toBe(200);
  });
});
