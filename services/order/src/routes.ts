import type { Static } from 'typebox';
import { authRequired, callerOf, errorResponses, type App, type TokenVerifier } from '@mini/shared';
import type { OrderRecord } from './repository.js';
import { centsToAmount } from './rules.js';
import { ListOrdersQuery, OrderIdParams, OrderListReply, OrderReply, PlaceOrderBody, PlaceOrderHeaders, type Order } from './schemas.js';
import type { OrderService } from './service.js';

const tags = ['orders'];
const security = [{ bearerAuth: [] }];

/** The order as the API shows it: money from cents to amounts, times as ISO strings. */
export function toOrderView(order: OrderRecord): Order {
  return {
    id: order.id,
    userId: order.userId,
    status: order.status,
    ...(order.reason ? { reason: order.reason } : {}),
    items: order.items.map((line) => ({
      productId: line.productId,
      name: line.name,
      unitPrice: centsToAmount(line.unitPriceCents),
      quantity: line.quantity,
      lineTotal: centsToAmount(line.lineTotalCents),
    })),
    total: centsToAmount(order.totalCents),
    createdAt: order.createdAt.toISOString(),
    updatedAt: order.updatedAt.toISOString(),
  };
}

export function registerOrderRoutes(app: App, { service, verifyToken }: { service: OrderService; verifyToken: TokenVerifier }): void {
  const signedIn = authRequired(verifyToken);

  app.post(
    '/orders',
    {
      onRequest: [signedIn],
      schema: {
        operationId: 'placeOrder',
        tags,
        security,
        summary: 'Place an order',
        description:
          'Checks every product with the product service (one request), snapshots name and unit price on each line and stores the order. ' +
          'Unknown product: 400 "product not found"; more than in stock: 409; product service down: 503, slow: 504. ' +
          'The order answers `pending`; it becomes `confirmed` or `rejected` once the product service has reserved its stock. ' +
          'With an `Idempotency-Key`, a retry with the same body gets the first answer again (same order); another body under the key is a 409.',
        body: PlaceOrderBody,
        headers: PlaceOrderHeaders,
        response: { 201: OrderReply, ...errorResponses(400, 401, 403, 409, 413, 415, 500, 502, 503, 504) },
      },
    },
    async (request, reply) => {
      const answer = await service.placeOrder(callerOf(request), request.body, {
        idempotencyKey: request.headers['idempotency-key'],
        // Serialised here, once, so a replay under the same key sends the very same bytes.
        render: (order) => JSON.stringify({ order: toOrderView(order) }),
      });
      if (answer.replayed) reply.header('idempotent-replayed', 'true');
      // A string body goes out as it is (the route's serializer is for objects); the type says object.
      return reply
        .code(201)
        .header('location', `/orders/${answer.orderId}`)
        .type('application/json; charset=utf-8')
        .send(answer.body as unknown as Static<typeof OrderReply>);
    },
  );

  app.get(
    '/orders',
    {
      onRequest: [signedIn],
      schema: {
        operationId: 'listOrders',
        tags,
        security,
        summary: "List orders: the caller's own, or everyone's for an admin",
        description: 'Newest first. An admin may filter with `userId`; anyone else may pass only their own id.',
        querystring: ListOrdersQuery,
        response: { 200: OrderListReply, ...errorResponses(400, 401, 403, 500, 503) },
      },
    },
    async (request) => {
      const { limit, offset } = request.query;
      const { orders, total } = await service.listOrders(callerOf(request), request.query);
      return { orders: orders.map(toOrderView), total, limit, offset };
    },
  );

  app.get(
    '/orders/:id',
    {
      onRequest: [signedIn],
      schema: {
        operationId: 'getOrder',
        tags,
        security,
        summary: 'Get an order (owner or admin; anyone else gets 404)',
        description: "The order with its lines as they were priced; another user's order answers 404, as if it did not exist.",
        params: OrderIdParams,
        response: { 200: OrderReply, ...errorResponses(400, 401, 404, 500, 503) },
      },
    },
    async (request) => ({ order: toOrderView(await service.getOrder(callerOf(request), request.params.id)) }),
  );

  app.post(
    '/orders/:id/cancel',
    {
      onRequest: [signedIn],
      schema: {
        operationId: 'cancelOrder',
        tags,
        security,
        summary: 'Cancel an order (owner or admin)',
        description: 'Allowed while the order is pending or confirmed; otherwise 409. Takes no body.',
        params: OrderIdParams,
        response: { 200: OrderReply, ...errorResponses(400, 401, 404, 409, 413, 415, 500, 503) },
      },
    },
    async (request) => ({ order: toOrderView(await service.cancelOrder(callerOf(request), request.params.id)) }),
  );
}
