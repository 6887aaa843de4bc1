import { describe, expect, test } from 'vitest';
import { mergeOpenApi } from '../openapi-merge.js';

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
