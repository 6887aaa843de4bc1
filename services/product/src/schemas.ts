import { Type, type Static } from 'typebox';
import { IdParams, PageFields, PaginationQuery, Timestamp, Uuid } from '@mini/shared';
import { SEARCH_COUNT_LIMIT } from './catalog-paging.js';
import { MAX_IDS_PER_LOOKUP, MAX_PRICE_CENTS } from './rules.js';

const Name = Type.String({
  minLength: 1,
  maxLength: 200,
  description: 'Product name, 1..200 characters, not blank; surrounding whitespace is trimmed',
  examples: ['Espresso cup'],
});

const Description = Type.String({ maxLength: 2000, description: 'Free text, 0..2000 characters', examples: ['Stoneware, 80 ml'] });

const PriceInput = Type.Unsafe<number | string>({
  type: ['number', 'string'],
  // A string this long is no price anyone means; the bound exists so the API states one.
  maxLength: 100,
  description:
    'Amount >= 0 and <= 1000000.00, as a JSON number or a numeric string (" 19.99 " is fine; exponents, hex, NaN and Infinity are not). ' +
    'Rounded half-up to cents on its decimal digits: 19.999 -> 20.00, 1.005 -> 1.01.',
  examples: [19.99, '19.99'],
});

const stock = (options: { default?: number; description?: string } = {}) =>
  Type.Integer({ minimum: 0, maximum: 1_000_000, format: 'int32', description: 'Units in stock, 0..1000000', ...options });

/** `{ id }` path parameters. */
export const ProductIdParams = IdParams;

export const ListProductsQuery = Type.Object(
  {
    limit: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 100,
        format: 'int32',
        description: 'Page size, 1..100; default 20, or 100 when `ids` is given so one request returns every listed product',
      }),
    ),
    offset: Type.Integer({
      ...PaginationQuery.properties.offset,
      description:
        'Products to skip (default 0); with `after`, counted from the cursor. A deep offset still reads every skipped row: page deep with `after`',
    }),
    after: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 200,
        description:
          'Keyset pagination: the `nextCursor` of the previous page; the page starts right after its last product. ' +
          'Costs the same on page 1 and page 5,000, and never skips or repeats a product when others are added or deleted meanwhile.',
      }),
    ),
    q: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 100,
        description: 'Names containing this text, case-insensitively; `%`, `_` and `\\` match literally',
      }),
    ),
    ids: Type.Optional(
      Type.String({
        minLength: 1,
        // Room for 100 ids in any form the list accepts (`urn:uuid:` prefixes, blanks around commas).
        maxLength: MAX_IDS_PER_LOOKUP * 64,
        description:
          `Only these products: 1..${MAX_IDS_PER_LOOKUP} comma-separated UUIDs (a malformed one is a 400). ` +
          'Ids that match no product are simply absent from the answer, so a caller looking up the lines of an order compares the ids it gets back.',
        examples: ['6f1c1f8e-6a4e-4c43-9a55-2b1f0f3f4f55,0b0d5f3e-2a7c-4b59-8f8e-3f9c1d2e4a10'],
      }),
    ),
  },
  { additionalProperties: false },
);
export type ListProductsQuery = Static<typeof ListProductsQuery>;

export const CreateProductBody = Type.Object(
  {
    name: Name,
    description: Description,
    price: PriceInput,
    stock: Type.Optional(stock({ default: 0 })),
  },
  { additionalProperties: false },
);
export type CreateProductBody = Static<typeof CreateProductBody>;

export const UpdateProductBody = Type.Object(
  {
    name: Type.Optional(Name),
    description: Type.Optional(Description),
    price: Type.Optional(PriceInput),
    stock: Type.Optional(stock({ description: 'Sets what can be sold to this value; needs `expectedStock`' })),
    expectedStock: Type.Optional(
      stock({ description: 'The stock you read: `stock` is written only if it is still this, else 409 (a reservation came between)' }),
    ),
    stockDelta: Type.Optional(
      Type.Integer({
        minimum: -1_000_000,
        maximum: 1_000_000,
        format: 'int32',
        description: 'Adds to (or, negative, takes from) what can be sold, whatever it is now; 409 if it would go below 0',
      }),
    ),
  },
  {
    additionalProperties: false,
    minProperties: 1,
    description:
      'The fields to change; at least one. Stock changes never lose a concurrent reservation: send `stockDelta`, or `stock` with `expectedStock`.',
  },
);
export type UpdateProductBody = Static<typeof UpdateProductBody>;

export const Product = Type.Object(
  {
    id: Uuid,
    name: Type.String({ minLength: 1, maxLength: 200 }),
    description: Type.String({ maxLength: 2000 }),
    price: Type.Number({ minimum: 0, maximum: MAX_PRICE_CENTS / 100, description: 'Amount with at most 2 decimals, e.g. 19.99' }),
    // What can still be sold: reservations take from it, `stockDelta` may add past 1000000 (a PostgreSQL integer).
    stock: Type.Integer({ minimum: 0, maximum: 2_147_483_647, format: 'int32' }),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  },
  { additionalProperties: false },
);
export type Product = Static<typeof Product>;

export const ProductReply = Type.Object({ product: Product });

export const ProductListReply = Type.Object({
  products: Type.Array(Product, { maxItems: 100 }),
  ...PageFields,
  total: Type.Integer({
    ...PageFields.total,
    description:
      'How many products match the filter (all of them, not only those after `after`). Exact, except for a `q` search with more ' +
      `than ${SEARCH_COUNT_LIMIT} matches: then it is ${SEARCH_COUNT_LIMIT} and \`totalCapped\` is true.`,
  }),
  totalCapped: Type.Optional(
    Type.Literal(true, {
      description: `Present when \`total\` is only a lower bound: a search matched more than ${SEARCH_COUNT_LIMIT} products`,
    }),
  ),
  nextCursor: Type.Optional(
    Type.String({
      maxLength: 200,
      pattern: '^[A-Za-z0-9_-]+$',
      description: 'Pass as `after` to get the next page; absent on the last page',
    }),
  ),
});
export type ProductListReply = Static<typeof ProductListReply>;
