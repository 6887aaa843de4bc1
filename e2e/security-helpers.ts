/**
 * What the security suite (e2e/__tests__/security.test.ts) attacks with: tokens signed with the
 * stack's own key and then bent one claim at a time, or forged outright; a key set proxy that
 * counts how often the services fetch the public keys; a trap a request target may name; and a
 * service started on its own that is expected to refuse its settings.
 */
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { spawn } from 'node:child_process';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Server } from 'node:net';
import { calculateJwkThumbprint, exportJWK, importPKCS8, SignJWT, type JWTPayload } from 'jose';
import { FOLDERS, ROOT, type BackendName } from '../scripts/stack.js';

export const ISSUER = 'mini-ecommerce-user-service';
export const AUDIENCE = 'mini-ecommerce';

/** Whom a token claims to be. */
export interface Claimed {
  id: string;
  username: string;
  role: 'user' | 'admin';
}

const base64url = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/**
 * The signing key the stack is started with (JWT_PRIVATE_KEY), so a test can sign a token the
 * platform would issue and then change exactly one thing about it.
 */
export async function createTokenKit() {
  const pair = generateKeyPairSync('ed25519');
  const privateKeyPem = pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const publicKeyPem = pair.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const signingKey = await importPKCS8(privateKeyPem, 'EdDSA');
  const { x } = await exportJWK(pair.publicKey);
  // The user service names its key by its RFC 7638 thumbprint.
  const kid = await calculateJwkThumbprint({ kty: 'OKP', crv: 'Ed25519', x: x! });
  const stranger = await importPKCS8(
    generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    'EdDSA',
  );

  /** The claims the user service would sign for `who` now (1 h), with `changes` applied (undefined drops a claim). */
  function claimsFor(who: Claimed, changes: Record<string, unknown> = {}): JWTPayload {
    const now = Math.floor(Date.now() / 1000);
    const claims: Record<string, unknown> = {
      sub: who.id,
      username: who.username,
      role: who.role,
      iss: ISSUER,
      aud: AUDIENCE,
      iat: now,
      exp: now + 3600,
      jti: randomUUID(),
      ...changes,
    };
    return Object.fromEntries(Object.entries(claims).filter(([, value]) => value !== undefined));
  }

  return {
    privateKeyPem,
    publicKeyPem,
    kid,
    claimsFor,
    /** Signed with the stack's key (or `key`), EdDSA, under `header.kid` (default: the stack's kid). */
    async sign(claims: JWTPayload, { key = signingKey, header = {} }: { key?: typeof signingKey; header?: Record<string, unknown> } = {}) {
      return new SignJWT(claims).setProtectedHeader({ alg: 'EdDSA', typ: 'JWT', kid, ...header }).sign(key);
    },
    /** Signed by a key the platform never issued, under the stack's kid (or `kidOverride`). */
    async signAsStranger(claims: JWTPayload, kidOverride = kid) {
      return new SignJWT(claims).setProtectedHeader({ alg: 'EdDSA', typ: 'JWT', kid: kidOverride }).sign(stranger);
    },
    /** Algorithm confusion: HS256 keyed with the public key's PEM, as a verifier that trusts `alg` would check it. */
    async signHs256WithPublicKey(claims: JWTPayload) {
      return new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT', kid }).sign(new TextEncoder().encode(publicKeyPem));
    },
    /** `alg: none`: no signature at all, or junk where it would be. */
    unsigned(claims: JWTPayload, signature = ''): string {
      return `${base64url({ alg: 'none', typ: 'JWT' })}.${base64url(claims)}.${signature}`;
    },
  };
}

/** `token` with one bit of its signature flipped. */
export function flipSignatureBit(token: string): string {
  const [header, payload, signature = ''] = token.split('.');
  const bytes = Buffer.from(signature, 'base64url');
  bytes[10] = bytes[10]! ^ 0x01;
  return `${header}.${payload}.${bytes.toString('base64url')}`;
}

/**
 * A proxy in front of the user service's key set (the services' JWKS_URL points here), counting
 * every fetch: a storm of tokens naming unknown keys must not turn into a storm of fetches.
 */
export async function startCountingKeySetProxy(userServiceUrl: () => string) {
  let fetches = 0;
  const server = createHttpServer((req, res) => {
    fetches += 1;
    void fetch(`${userServiceUrl()}${req.url ?? '/'}`, { signal: AbortSignal.timeout(2_000) })
      .then(async (answer) => {
        res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' }).end(await answer.text());
      })
      .catch(() => res.writeHead(502).end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`,
    fetches: () => fetches,
    close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}

/** A TCP listener that only counts connections: a host a request target names, which must never be contacted. */
export async function startTrap(): Promise<{ port: number; connections: () => number; close(): Promise<void> }> {
  let connections = 0;
  const server: Server = createTcpServer((socket) => {
    connections += 1;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    connections: () => connections,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Starts one service from its sources with only `env` (no developer shell settings) and waits for it to exit. */
export function runServiceUntilExit(service: BackendName, env: Record<string, string>, timeoutMs = 30_000) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', 'src/main.ts'], {
      cwd: `${ROOT}/${FOLDERS[service]}`,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    // A service that starts instead of refusing would run forever: stop it, the test then fails on its exit code.
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
