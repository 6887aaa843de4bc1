import { describe, expect, test } from 'vitest';
import { addGatewayContract, mergeOpenApi } from '../openapi-merge.js';

const info = { title: 'API', version: '1' };
const bearer = { bearerAuth: { type: 'http', scheme: 'bearer' } };

describe('mergeOpenApi', () => {
  test('keeps only the paths under each service prefix, and merges components and tags once', () => {
    const doc = mergeOpenApi(
      [
        {
          name: 'user-service',
          prefix: '/users',
          document: {
            paths: { '/users': { get: {} }, '/users/{id}': { get: {} }, '/.well-known/jwks.json': { get: {} }, '/usersx': { get: {} } },
            components: { securitySchemes: bearer, schemas: { Page: { type: 'object' } } },
            tags: [{ name: 'users', description: 'Accounts' }],
          },
        },
        {
          name: 'product-service',
          prefix: '/products',
          document: {
            paths: { '/products': { get: {} }, '/users/evil': { get: {} } },
            components: { securitySchemes: bearer, schemas: { Page: { type: 'object' } } },
            tags: [{ name: 'users', description: 'dup' }, { name: 'products' }],
          },
        },
      ],
      info,
    );
    expect(Object.keys(doc.paths)).toEqual(['/users', '/users/{id}', '/products']);
    expect(doc.components).toEqual({ securitySchemes: bearer, schemas: { Page: { type: 'object' } } });
    expect(doc.tags).toEqual([{ name: 'users', description: 'Accounts' }, { name: 'products' }]);
    expect(doc['x-missing-services']).toEqual([]);
    expect(doc.info.description).not.toContain('Incomplete');
  });

  test('two different components with one name: the later is renamed after its service and its refs follow', () => {
    const doc = mergeOpenApi(
      [
        { name: 'user-service', prefix: '/users', document: { paths: {}, components: { schemas: { Item: { type: 'string' } } } } },
        {
          name: 'order-service',
          prefix: '/orders',
          document: {
            paths: {
              '/orders': {
                get: { responses: { 200: { content: { 'application/json': { schema: { $ref: '#/components/schemas/Item' } } } } } },
              },
            },
            components: { schemas: { Item: { type: 'object' }, List: { type: 'array', items: { $ref: '#/components/schemas/Item' } } } },
          },
        },
      ],
      info,
    );
    expect(doc.components.schemas).toEqual({
      Item: { type: 'string' },
      OrderServiceItem: { type: 'object' },
      List: { type: 'array', items: { $ref: '#/components/schemas/OrderServiceItem' } },
    });
    expect(JSON.stringify(doc.paths)).toContain('#/components/schemas/OrderServiceItem');
  });

  test("a tag an operation uses but its service does not define is defined, with the service's description", () => {
    const doc = mergeOpenApi(
      [
        {
          name: 'order-service',
          prefix: '/orders',
          document: { info: { description: 'Orders and their lines' }, paths: { '/orders': { get: { tags: ['orders'] } } } },
        },
      ],
      info,
    );
    expect(doc.tags).toEqual([{ name: 'orders', description: 'Orders and their lines' }]);
  });

  test('a missing or unusable document is named in the description and in x-missing-services', () => {
    const doc = mergeOpenApi(
      [
        { name: 'user-service', prefix: '/users', problem: 'unreachable' },
        { name: 'order-service', prefix: '/orders', document: { not: 'openapi' } },
      ],
      info,
    );
    expect(doc['x-missing-services']).toEqual(['user-service (unreachable)', 'order-service']);
    expect(doc.info.description).toContain('not available right now: user-service (unreachable), order-service');
    expect(doc.paths).toEqual({});
  });
});

describe('addGatewayContract', () => {
  const service = (responses: Record<string, unknown>) =>
    mergeOpenApi([{ name: 'order-service', prefix: '/orders', document: { paths: { '/orders': { get: { responses } } } } }], info);

  test("a forwarded operation gains the gateway's 429/502/503/504 and its RateLimit-* headers on every answer", () => {
    const own503 = { description: 'database down' };
    const doc = addGatewayContract(service({ 200: { description: 'ok' }, 503: own503 }));
    const { responses } = (doc.paths['/orders'] as { get: { responses: Record<string, Record<string, unknown>> } }).get;
    expect(Object.keys(responses)).toEqual(['200', '429', '502', '503', '504']);
    expect(responses['429']).toEqual({ $ref: '#/components/responses/RateLimited' });
    expect(responses['503']).toMatchObject(own503);
    expect(Object.keys(responses['200']!.headers as object)).toEqual(['RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset']);
    // Only the components in use: the service's own 503 stays, so none for it.
    expect(Object.keys(doc.components.responses!)).toEqual(['RateLimited', 'BadGateway', 'GatewayTimeout']);
    expect(Object.keys((doc.components.responses!.RateLimited as { headers: object }).headers)).toContain('Retry-After');
  });

  test('adds the probes, exempt from rate limits: no 429 and no RateLimit-* headers', () => {
    const doc = addGatewayContract(service({}));
    const probes = ['/healthz', '/readyz'].map((path) => (doc.paths[path] as { get: Record<string, unknown> }).get);
    expect(probes.map((probe) => probe.operationId)).toEqual(['getHealth', 'getReadiness']);
    for (const probe of probes) {
      expect(Object.keys(probe.responses as object)).toEqual(['200', '400', '500', '503']);
      expect(JSON.stringify(probe)).not.toContain('RateLimit');
    }
    expect(doc.tags).toContainEqual(expect.objectContaining({ name: 'health' }));
  });
});
