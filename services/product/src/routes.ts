import { adminOnly, authRequired, errorResponses, PUBLIC, type App, type TokenVerifier } from '@mini/shared';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { CreateProductBody, ListProductsQuery, ProductIdParams, ProductListReply, ProductReply, UpdateProductBody } from './schemas.js';
import type { ProductService } from './service.js';

const tags = ['products'];

/**
 * The catalog routes: reads are public, writes need an admin token (checked before the body is
 * read). A read without a token may be reused by shared caches for `catalogMaxAgeSeconds`: the
 * gateway answers repeated catalog reads from its cache; an order always checks live stock here.
 */
export function productRoutes({
  service,
  verifyToken,
  catalogMaxAgeSeconds,
}: {
  service: ProductService;
  verifyToken: TokenVerifier;
  catalogMaxAgeSeconds: number;
}) {
  const adminGuard = [authRequired(verifyToken), adminOnly];
  const security = [{ bearerAuth: [] }];
  const publicRead = catalogMaxAgeSeconds > 0 ? `public, max-age=${catalogMaxAgeSeconds}` : 'no-cache';
  // Set once the answer is known to be a 200: an error is never kept. A caller with a token
  // already got `no-store` (createApp).
  const shareable = (request: FastifyRequest, reply: FastifyReply) => {
    if (request.headers.authorization === undefined) reply.header('cache-control', publicRead);
  };

  return (app: App) => {
    app.get(
      '/products',
      {
        schema: {
          operationId: 'listProducts',
          tags,
          summary: 'List products',
          description:
            'Products in a stable order (created first, then id), paginated by `offset` or, for deep pages, by cursor: pass the ' +
            '`nextCursor` of one page as `after` to get the next. `q` filters by name; `ids` looks up given products in one request ' +
            '(up to 100; the default limit becomes 100 then), answering only those that exist. `total` is exact, except for a search ' +
            'with very many matches (then `totalCapped` is true and `total` a lower bound).',
          security: PUBLIC,
          querystring: ListProductsQuery,
          response: { 200: ProductListReply, ...errorResponses(400, 500, 503) },
        },
      },
      async (request, reply) => {
        const page = await service.listProducts(request.query);
        shareable(request, reply);
        return page;
      },
    );

    app.get(
      '/products/:id',
      {
        schema: {
          operationId: 'getProduct',
          tags,
          summary: 'Get a product',
          description: 'One product of the catalog, with its current price and what can still be sold.',
          security: PUBLIC,
          params: ProductIdParams,
          response: { 200: ProductReply, ...errorResponses(400, 404, 500, 503) },
        },
      },
      async (request, reply) => {
        const product = await service.getProduct(request.params.id);
        shareable(request, reply);
        return { product };
      },
    );

    app.post(
      '/products',
      {
        onRequest: adminGuard,
        schema: {
          operationId: 'createProduct',
          tags,
          summary: 'Create a product (admin)',
          description: 'Adds a product to the catalog; `Location` names it. `stock` defaults to 0.',
          security,
          body: CreateProductBody,
          response: { 201: ProductReply, ...errorResponses(400, 401, 403, 413, 415, 500, 503) },
        },
      },
      async (request, reply) => {
        const product = await service.createProduct(request.body);
        return reply.code(201).header('location', `/products/${product.id}`).send({ product });
      },
    );

    app.patch(
      '/products/:id',
      {
        onRequest: adminGuard,
        schema: {
          operationId: 'updateProduct',
          tags,
          summary: 'Change some fields of a product (admin)',
          description:
            'Only the fields given change; at least one is required. Bumps `updatedAt`. A stock change that no longer applies ' +
            '(`expectedStock` is stale, or `stockDelta` would go below 0) is a 409.',
          security,
          params: ProductIdParams,
          body: UpdateProductBody,
          response: { 200: ProductReply, ...errorResponses(400, 401, 403, 404, 409, 413, 415, 500, 503) },
        },
      },
      async (request) => ({ product: await service.updateProduct(request.params.id, request.body) }),
    );

    app.delete(
      '/products/:id',
      {
        onRequest: adminGuard,
        schema: {
          operationId: 'deleteProduct',
          tags,
          summary: 'Delete a product (admin)',
          description: 'Removes it from the catalog; orders placed already keep their snapshot of it.',
          security,
          params: ProductIdParams,
          response: { 204: Type.Null({ description: 'Deleted' }), ...errorResponses(400, 401, 403, 404, 413, 415, 500, 503) },
        },
      },
      async (request, reply) => {
        await service.deleteProduct(request.params.id);
        return reply.code(204).send(null);
      },
    );
  };
}
