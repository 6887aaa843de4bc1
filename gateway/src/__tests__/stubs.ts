import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { createApp, createLogger, type App, type ReadinessCheck } from '@mini/shared';
import { buildApp, type GatewayDeps } from '../app.js';

/** What an echo stub received. */
export interface Recorded {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** False when the connection ended before the whole body arrived. */
  complete: boolean;
}

export interface EchoStub {
  name: string;
  url: string;
  port: number;
  requests: Recorded[];
  /** What `/readyz` answers. */
  readyStatus: number;
  close(): Promise<void>;
}

function listenUrl(server: Server | net.Server): string {
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/**
 * A bare node:http upstream that records every request and echoes it back as
 * JSON. Steered by request headers (which the gateway forwards):
 * `x-stub-status`, `x-stub-delay-ms`, `x-stub-response-headers` (a JSON object,
 * values may be arrays), `x-stub-body: raw` (answer with the received bytes).
 */
export async function startEchoStub(name: string): Promise<EchoStub> {
  const stub: EchoStub = { name, url: '', port: 0, requests: [], readyStatus: 200, close: async () => {} };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    const record: Recorded = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.alloc(0), complete: false };
    stub.requests.push(record);
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('close', () => {
      record.body = Buffer.concat(chunks);
    });
    req.on('end', () => {
      record.body = Buffer.concat(chunks);
      record.complete = true;
      const answer = () => {
        if (req.url === '/readyz') {
          res
            .writeHead(stub.readyStatus, { 'content-type': 'application/json' })
            .end(JSON.stringify({ status: stub.readyStatus === 200 ? 'ready' : 'down' }));
          return;
        }
        const extra = req.headers['x-stub-response-headers'];
        if (typeof extra === 'string') {
          for (const [header, value] of Object.entries(JSON.parse(extra) as Record<string, string | string[]>))
            res.setHeader(header, value);
        }
        res.statusCode = Number(req.headers['x-stub-status'] ?? 200);
        if (req.headers['x-stub-body'] === 'raw') {
          res.setHeader('content-type', 'application/octet-stream');
          res.end(record.body);
          return;
        }
        res.setHeader('content-type', 'application/json; charset=utf-8');
        res.end(
          JSON.stringify({
            upstream: name,
            method: record.method,
            url: record.url,
            headers: record.headers,
            bodyLength: record.body.length,
            bodySha256: createHash('sha256').update(record.body).digest('hex'),
          }),
        );
      };
      const delay = Number(req.headers['x-stub-delay-ms'] ?? 0);
      if (delay > 0) setTimeout(answer, delay);
      else answer();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  stub.url = listenUrl(server);
  stub.port = (server.address() as AddressInfo).port;
  stub.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return stub;
}

/** An upstream built on `createApp`, so it answers the real error envelope and serves `/openapi.json`. */
export async function startAppStub(
  name: string,
  routes: (app: App) => void | Promise<void>,
  readiness: Record<string, ReadinessCheck> = {},
  beforeListen?: (app: App) => void,
): Promise<{ app: App; url: string }> {
  const app = await createApp({
    serviceName: name,
    logger: createLogger(name, { level: 'silent' }),
    routes,
    readiness,
    openapi: { title: name, version: '1.0.0' },
  });
  beforeListen?.(app);
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, url: listenUrl(app.server) };
}

/** A raw TCP upstream that answers every connection with `behave(socket)`. */
export async function startTcpStub(
  behave: (socket: net.Socket) => void,
): Promise<{ url: string; connections: () => number; close(): Promise<void> }> {
  let count = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    count++;
    sockets.add(socket);
    socket.on('error', () => {});
    behave(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: listenUrl(server),
    connections: () => count,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A URL nothing listens on: connecting is refused at once. */
export async function deadUrl(): Promise<string> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = listenUrl(server);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return url;
}

/** The gateway listening on 127.0.0.1 (an ephemeral port), quiet. */
export async function startGateway(deps: Omit<GatewayDeps, 'logger'>): Promise<{ app: App; url: string; port: number }> {
  const app = await buildApp({ logger: createLogger('gateway', { level: 'silent' }), ...deps });
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, url: listenUrl(app.server), port: (app.server.address() as AddressInfo).port };
}

/** Three echo upstreams behind one gateway: the setup the routing and raw-protocol tests share. */
export async function startGatewayOverEchoStubs(options: Omit<GatewayDeps, 'logger' | 'upstreams'> = {}) {
  const [users, products, orders] = await Promise.all([startEchoStub('users'), startEchoStub('products'), startEchoStub('orders')]);
  const gateway = await startGateway({ ...options, upstreams: { users: [users.url], products: [products.url], orders: [orders.url] } });
  return {
    users,
    products,
    orders,
    gateway,
    /** Requests any upstream received whose URL contains `marker`. */
    seen: (marker: string) =>
      [users, products, orders].flatMap((stub) =>
        stub.requests.filter((r) => r.url.includes(marker)).map((r) => ({ stub: stub.name, ...r })),
      ),
    close: async () => {
      await gateway.app.close();
      await Promise.all([users.close(), products.close(), orders.close()]);
    },
  };
}

export interface RawResponse {
  status: number;
  headers: Record<string, string[]>;
  body: string;
  /** Everything the gateway wrote, as text. */
  text: string;
}

/**
 * Writes `parts` to a fresh TCP connection (with a pause between parts) and
 * reads until the gateway closes it, then parses the first response.
 */
export async function rawRequest(port: number, parts: (string | Buffer)[], { pauseMs = 0, timeoutMs = 5_000 } = {}): Promise<RawResponse> {
  const text = await new Promise<string>((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const received: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no complete answer within ${timeoutMs} ms: ${Buffer.concat(received).toString('latin1')}`));
    }, timeoutMs);
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    socket.on('error', () => {}); // a reset after the answer is fine: the answer is what counts
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(received).toString('latin1'));
    });
    socket.on('connect', () => {
      void (async () => {
        for (const part of parts) {
          if (socket.destroyed) return;
          socket.write(part);
          if (pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs));
        }
      })();
    });
  });
  return parseRawResponse(text);
}

/** Parses the last non-1xx response in `text` (a chunked body is de-chunked). */
export function parseRawResponse(text: string): RawResponse {
  let rest = text;
  for (;;) {
    const end = rest.indexOf('\r\n\r\n');
    if (end === -1) throw new Error(`no HTTP response in: ${JSON.stringify(text)}`);
    const [statusLine, ...lines] = rest.slice(0, end).split('\r\n');
    const status = Number(statusLine?.split(' ')[1]);
    let body = rest.slice(end + 4);
    if (status >= 100 && status < 200) {
      rest = body;
      continue;
    }
    const headers: Record<string, string[]> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      const name = line.slice(0, colon).trim().toLowerCase();
      (headers[name] ??= []).push(line.slice(colon + 1).trim());
    }
    if (headers['transfer-encoding']?.[0]?.toLowerCase() === 'chunked') body = dechunk(body);
    return { status, headers, body, text };
  }
}

function dechunk(body: string): string {
  let out = '';
  let rest = body;
  for (;;) {
    const lineEnd = rest.indexOf('\r\n');
    if (lineEnd === -1) return out;
    const size = parseInt(rest.slice(0, lineEnd), 16);
    if (!size) return out;
    out += rest.slice(lineEnd + 2, lineEnd + 2 + size);
    rest = rest.slice(lineEnd + 2 + size + 2);
  }
}

/** A fetch answer's JSON body, loosely typed: the assertions are the type check. */
export async function jsonOf(res: Response) {
  return JSON.parse(await res.text());
}
