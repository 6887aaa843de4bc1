import { ConflictError, NotFoundError, ValidationError, type Pool } from '@mini/shared';
import { encodeCursor, parseCursor, type CatalogPosition } from './catalog-paging.js';
import * as repository from './repository.js';
import { MAX_STOCK, type ProductChanges, type ProductRecord, type StockChange } from './repository.js';
import { centsToPrice, MAX_IDS_PER_LOOKUP, normalizeName, normalizeUuid, parseIdList, parsePrice, type Parsed } from './rules.js';
import type { CreateProductBody, ListProductsQuery, Product, ProductListReply, UpdateProductBody } from './schemas.js';

const DEFAULT_LIMIT = 20;

/** A stored product as the API shows it: the price as a decimal amount. */
export function toProduct({ priceCents, ...rest }: ProductRecord): Product {
  return { ...rest, price: centsToPrice(priceCents) };
}

/** A rule's verdict on a body field the route schema cannot fully check, reported like any other body error. */
function valueOf<T>(field: string, parsed: Parsed<T>): T {
  if (!parsed.ok) throw new ValidationError(parsed.message, [{ path: field, location: 'body', message: parsed.message }]);
  return parsed.value;
}

/**
 * How the stock changes, if at all. An absolute value could silently undo a reservation made
 * since the admin read the product, so it needs the value read; a delta is safe as it stands.
 */
function stockChange({ stock, expectedStock, stockDelta }: UpdateProductBody): Parsed<StockChange | undefined> {
  if (stock !== undefined && stockDelta !== undefined)
    return { ok: false, message: 'send stock (with expectedStock) or stockDelta, not both' };
  if (stockDelta !== undefined) return { ok: true, value: { delta: stockDelta } };
  if (stock === undefined) {
    return expectedStock === undefined ? { ok: true, value: undefined } : { ok: false, message: 'expectedStock goes with stock' };
  }
  if (expectedStock === undefined) {
    return { ok: false, message: 'stock needs expectedStock (the stock you read), or send stockDelta to add or take' };
  }
  return { ok: true, value: { set: stock, expected: expectedStock } };
}

function staleStock(input: UpdateProductBody, current: number): ConflictError {
  const { stockDelta } = input;
  const message =
    stockDelta === undefined
      ? `stock is ${current}, not the expected ${input.expectedStock}: read the product again`
      : stockDelta > 0
        ? `stock is ${current}: adding ${stockDelta} would take it over ${MAX_STOCK}`
        : `stock is ${current}: taking ${-stockDelta} would leave it below 0`;
  return new ConflictError(message, [{ path: 'stock', location: 'body', message, stock: current }]);
}

function notFound(): NotFoundError {
  return new NotFoundError('product not found');
}

/** The catalog's use cases; the route schemas have already checked shapes and bounds. */
export function createProductService(pool: Pool) {
  return {
    async listProducts({ limit, offset, q, ids: rawIds, after: rawAfter }: ListProductsQuery): Promise<ProductListReply> {
      let ids: string[] | undefined;
      if (rawIds !== undefined) {
        const parsed = parseIdList(rawIds);
        if (!parsed.ok) throw new ValidationError(parsed.message, [{ path: 'ids', location: 'querystring', message: parsed.message }]);
        ids = parsed.value;
      }
      let after: CatalogPosition | undefined;
      if (rawAfter !== undefined) {
        const parsed = parseCursor(rawAfter);
        if (!parsed.ok) throw new ValidationError(parsed.message, [{ path: 'after', location: 'querystring', message: parsed.message }]);
        after = parsed.value;
      }
      // A lookup by ids fits in one page unless the caller asks for less.
      const pageSize = limit ?? (ids ? MAX_IDS_PER_LOOKUP : DEFAULT_LIMIT);
      const page = await repository.listProducts(pool, { q, ids }, { limit: pageSize, offset, after });
      return {
        products: page.products.map(toProduct),
        total: page.total,
        ...(page.capped ? { totalCapped: true as const } : {}),
        limit: pageSize,
        offset,
        ...(page.next ? { nextCursor: encodeCursor(page.next) } : {}),
      };
    },

    async getProduct(id: string): Promise<Product> {
      const found = await repository.findProductById(pool, normalizeUuid(id));
      if (!found) throw notFound();
      return toProduct(found);
    },

    async createProduct(input: CreateProductBody): Promise<Product> {
      const created = await repository.insertProduct(pool, {
        name: valueOf('name', normalizeName(input.name)),
        description: input.description,
        priceCents: valueOf('price', parsePrice(input.price)),
        stock: input.stock ?? 0,
      });
      return toProduct(created);
    },

    async updateProduct(id: string, input: UpdateProductBody): Promise<Product> {
      const changes: ProductChanges = {
        name: input.name === undefined ? undefined : valueOf('name', normalizeName(input.name)),
        description: input.description,
        priceCents: input.price === undefined ? undefined : valueOf('price', parsePrice(input.price)),
        stock: valueOf('stock', stockChange(input)),
      };
      const productId = normalizeUuid(id);
      const updated = await repository.updateProduct(pool, productId, changes);
      if (updated) return toProduct(updated);
      // No row matched: the product is gone, or the stock condition failed.
      const current = await repository.findProductById(pool, productId);
      if (!current) throw notFound();
      throw staleStock(input, current.stock);
    },

    async deleteProduct(id: string): Promise<void> {
      if (!(await repository.deleteProduct(pool, normalizeUuid(id)))) throw notFound();
    },
  };
}

export type ProductService = ReturnType<typeof createProductService>;
