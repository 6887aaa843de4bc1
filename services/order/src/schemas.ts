import { Type, type Static } from 'typebox';
import { IdParams, PageFields, PaginationQuery, Timestamp, Uuid, UuidOf } from '@mini/shared';
import { ORDER_STATUSES, type OrderStatus } from './rules.js';

// The HTTP contract of the order service (DESIGN.md "Orders") and its OpenAPI.

/** Longest an order may be, and the most of one product per line. */
export const MAX_LINES = 50;
export const MAX_QUANTITY = 1000;

export const OrderIdParams = IdParams;

const Quantity = Type.Integer({ minimum: 1, maximum: MAX_QUANTITY, format: 'int32', description: 'How many (1..1000)' });
const OwnerId = Type.Optional(UuidOf("Whose order it is: the caller's own id unless the caller is an admin (default: the caller)"));

const OneProductBody = Type.Object(
  {
    productId: Uuid,
    quantity: Type.Optional(
      Type.Integer({ minimum: 1, maximum: MAX_QUANTITY, format: 'int32', default: 1, description: 'How many (1..1000, default 1)' }),
    ),
    userId: OwnerId,
  },
  { additionalProperties: false, title: 'One product' },
);

const OrderLineInput = Type.Object({ productId: Uuid, quantity: Quantity }, { additionalProperties: false });

const ItemsBody = Type.Object(
  {
    items: Type.Array(OrderLineInput, { minItems: 1, maxItems: MAX_LINES, description: 'Order lines (1..50), each product at most once' }),
    userId: OwnerId,
  },
  { additionalProperties: false, title: 'Several products' },
);

/**
 * `{ productId, quantity? }` or `{ items: [...] }`, never both. Written as if/then/else rather
 * than oneOf so a bad request is explained by the form it meant (oneOf would also report every
 * mismatch of the other form, e.g. "productId is required" for 51 items).
 */
export const PlaceOrderBody = Type.Unsafe<Static<typeof OneProductBody> | Static<typeof ItemsBody>>({
  type: 'object',
  description: 'Either `{ productId, quantity? }` or `{ items: [{ productId, quantity }] }`, never both',
  if: { type: 'object', required: ['items'] },
  then: ItemsBody,
  else: OneProductBody,
});
export type PlaceOrderBody = Static<typeof PlaceOrderBody>;

/** `Idempotency-Key`: any printable ASCII, 1..255 characters (a UUID is a good choice). */
export const PlaceOrderHeaders = Type.Object({
  'idempotency-key': Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 255,
      pattern: '^[\\x21-\\x7e]+$',
      description: 'Makes a retry safe: the same key and body replay the first answer for 24 hours',
    }),
  ),
});

export const ListOrdersQuery = Type.Object(
  {
    ...PaginationQuery.properties,
    userId: Type.Optional(UuidOf('Only orders of this user (admin; others may pass only their own id)')),
    status: Type.Optional(
      Type.Unsafe<OrderStatus>({ type: 'string', enum: [...ORDER_STATUSES], description: 'Only orders in this status' }),
    ),
  },
  { additionalProperties: false },
);
export type ListOrdersQuery = Static<typeof ListOrdersQuery>;

function money(description = 'An amount with at most 2 decimals') {
  return Type.Number({ minimum: 0, description, examples: [19.99] });
}

export const OrderStatusSchema = Type.Unsafe<OrderStatus>({
  type: 'string',
  enum: [...ORDER_STATUSES],
  description: 'pending -> confirmed | rejected | cancelled; confirmed -> cancelled',
});

export const OrderLine = Type.Object({
  productId: Uuid,
  name: Type.String({ maxLength: 200, description: 'Product name when the order was placed' }),
  unitPrice: money('Unit price when the order was placed'),
  quantity: Quantity,
  lineTotal: money('unitPrice x quantity'),
});

// Counts of units as the product service keeps them (PostgreSQL integers).
const Units = (minimum: number) => Type.Integer({ minimum, maximum: 2_147_483_647, format: 'int32' });
const LineShort = Type.Object({ productId: Uuid, requested: Units(1), available: Units(0) });

export const RejectionReasonSchema = Type.Union(
  [
    Type.Object({
      code: Type.Literal('out_of_stock'),
      lines: Type.Array(LineShort, { maxItems: MAX_LINES, description: 'The lines stock could not cover' }),
    }),
    Type.Object({
      code: Type.Literal('product_unavailable'),
      productIds: Type.Array(Uuid, { maxItems: MAX_LINES, description: 'Products gone from the catalog' }),
    }),
  ],
  { description: 'Why the order was rejected (only on rejected orders)' },
);

export const Order = Type.Object({
  id: Uuid,
  userId: Uuid,
  status: OrderStatusSchema,
  reason: Type.Optional(RejectionReasonSchema),
  items: Type.Array(OrderLine, { maxItems: MAX_LINES }),
  total: money('Sum of the line totals'),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type Order = Static<typeof Order>;

export const OrderReply = Type.Object({ order: Order });

export const OrderListReply = Type.Object({ orders: Type.Array(Order, { maxItems: 100 }), ...PageFields });
