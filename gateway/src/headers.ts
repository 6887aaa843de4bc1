type Headers = Record<string, string | string[] | number | undefined>;

/**
 * Connection-specific fields (RFC 9110 section 7.6.1, plus the obsolete
 * Proxy-Connection and HTTP2-Settings): they describe one hop, so a proxy
 * never forwards them, in either direction.
 */
export const HOP_BY_HOP_HEADERS: readonly string[] = [
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'proxy-authenticate',
  'proxy-authorization',
  'http2-settings',
];

/** The field names a `Connection` header lists (lower-cased), which are hop-by-hop too. */
export function connectionListedHeaders(value: string | string[] | number | undefined): string[] {
  if (value === undefined || typeof value === 'number') return [];
  const joined = Array.isArray(value) ? value.join(',') : value;
  return joined
    .split(',')
    .map((token) => token.trim().toLowerCase())
    .filter((token) => token.length > 0);
}

/** Removes hop-by-hop fields, including every field the `Connection` header names, in place. */
export function stripHopByHop<T extends Headers>(headers: T): T {
  const listed = connectionListedHeaders(headers.connection);
  for (const name of HOP_BY_HOP_HEADERS) delete headers[name];
  for (const name of listed) delete headers[name];
  return headers;
}

/** Appends `address` to an `X-Forwarded-For` chain. */
/**
 * The X-Forwarded-For an upstream receives: the client's chain extended by the peer when the
 * peer is a trusted proxy, else the peer alone (a client could otherwise claim any address).
 */
export function forwardedFor(prior: string | string[] | number | undefined, peer: string, trustProxy: boolean): string {
  return trustProxy ? appendForwardedFor(prior, peer) : peer;
}

export function appendForwardedFor(prior: string | string[] | number | undefined, address: string): string {
  const chain = Array.isArray(prior) ? prior.join(', ') : typeof prior === 'string' ? prior.trim() : '';
  return chain ? `${chain}, ${address}` : address;
}
