import { describe, expect, test } from 'vitest';
import { appendForwardedFor, connectionListedHeaders, forwardedFor, stripHopByHop } from '../headers.js';
import { originFormOf, targetPath, unsafePathReason } from '../paths.js';
import { upstreamError } from '../proxy.js';

describe('stripHopByHop', () => {
  test('removes the RFC 9110 hop-by-hop fields and every field Connection names, keeps the rest', () => {
    const headers = stripHopByHop({
      connection: 'close, X-Secret,  x-other ,',
      'x-secret': '1',
      'x-other': '2',
      'keep-alive': 'timeout=5',
      'proxy-connection': 'keep-alive',
      te: 'trailers',
      trailer: 'x-sum',
      'transfer-encoding': 'chunked',
      upgrade: 'websocket',
      'proxy-authenticate': 'Basic',
      'proxy-authorization': 'Basic abc',
      authorization: 'Bearer t',
      'content-type': 'application/json',
      'set-cookie': ['a=1', 'b=2'],
    });
    expect(headers).toEqual({ authorization: 'Bearer t', 'content-type': 'application/json', 'set-cookie': ['a=1', 'b=2'] });
  });

  test('Connection given several times (an array) names fields from every line', () => {
    expect(connectionListedHeaders(['x-a', 'X-B, x-c'])).toEqual(['x-a', 'x-b', 'x-c']);
    expect(connectionListedHeaders(undefined)).toEqual([]);
  });
});

describe('appendForwardedFor', () => {
  test('starts or extends the chain', () => {
    expect(appendForwardedFor(undefined, '10.0.0.1')).toBe('10.0.0.1');
    expect(appendForwardedFor(' 203.0.113.7 ', '10.0.0.1')).toBe('203.0.113.7, 10.0.0.1');
    expect(appendForwardedFor(['1.1.1.1', '2.2.2.2'], '10.0.0.1')).toBe('1.1.1.1, 2.2.2.2, 10.0.0.1');
  });
});

describe('forwardedFor', () => {
  test('behind a trusted proxy the chain is extended; otherwise the peer alone is believed', () => {
    expect(forwardedFor('203.0.113.7', '10.0.0.1', true)).toBe('203.0.113.7, 10.0.0.1');
    expect(forwardedFor('203.0.113.7', '10.0.0.1', false)).toBe('10.0.0.1');
  });
});

describe('request targets', () => {
  test('an absolute-form target loses its scheme and host, keeps path and query', () => {
    expect(originFormOf('http://evil.example/products?x=1')).toBe('/products?x=1');
    expect(originFormOf('HTTPS://evil.example:8443/orders/1')).toBe('/orders/1');
    expect(originFormOf('http://evil.example')).toBe('/');
    expect(originFormOf('/users/me?a=b')).toBe('/users/me?a=b');
    expect(targetPath('http://evil.example/products/1?q=../x')).toBe('/products/1');
  });

  test.each([
    '/products/../users',
    '/products/%2e%2e/users',
    '/products/.%2E/users',
    '/products/./x',
    '/products/..;x=1/users',
    '/products/a%2Fb',
    '/products/a%5cb',
    '/products/a\\b',
    '/products/%00',
    '/products/%0d%0aX-Injected:%201',
    '/products/\u0001',
    '/products/%e0%a4%a',
    'products',
  ])('%s is refused', (path) => {
    expect(unsafePathReason(path)).toEqual(expect.any(String));
  });

  test.each([
    '/products',
    '/products/',
    '/products/9b2c-1',
    '/products/a..b',
    '/products/%252e%252e',
    '/products/caf%C3%A9',
    '/products//x',
    '/users/me;v=1',
  ])('%s is forwarded', (path) => {
    expect(unsafePathReason(path)).toBeUndefined();
  });
});

describe('upstreamError', () => {
  test.each([
    [{ code: 'FST_REPLY_FROM_INTERNAL_SERVER_ERROR', cause: { code: 'ECONNREFUSED' } }, 503, 'service_unavailable'],
    [{ code: 'FST_REPLY_FROM_SERVICE_UNAVAILABLE', cause: { code: 'ENOTFOUND' } }, 503, 'service_unavailable'],
    [{ code: 'UND_ERR_CONNECT_TIMEOUT' }, 503, 'service_unavailable'],
    [{ code: 'FST_REPLY_FROM_GATEWAY_TIMEOUT', cause: { code: 'UND_ERR_HEADERS_TIMEOUT' } }, 504, 'gateway_timeout'],
    [{ code: 'UND_ERR_SOCKET', cause: { code: 'UND_ERR_SOCKET' } }, 502, 'bad_gateway'],
    [{ code: 'FST_REPLY_FROM_INTERNAL_SERVER_ERROR', cause: { code: 'HPE_INVALID_CONSTANT' } }, 502, 'bad_gateway'],
    [new Error('anything else'), 502, 'bad_gateway'],
  ])('%o -> %i %s', (error, status, code) => {
    const mapped = upstreamError('product-service', error);
    expect([mapped.status, mapped.code]).toEqual([status, code]);
    expect(mapped.message).toMatch(/^product-service /);
  });
});
