import { Type, type Static } from 'typebox';

/** A UUID string (any version) in its plain 36-character form, described for OpenAPI. */
export function UuidOf(description: string) {
  // maxLength keeps out the `urn:uuid:` prefix that ajv's format accepts and PostgreSQL does not.
  return Type.String({ format: 'uuid', maxLength: 36, description });
}

/** A UUID string (any version), in its plain 36-character form. */
export const Uuid = UuidOf('A UUID');

/** `{ id }` path parameters. */
export const IdParams = Type.Object({ id: Uuid }, { additionalProperties: false });
export type IdParams = Static<typeof IdParams>;

/** The largest `offset` a list accepts (PostgreSQL's int4 range). */
export const MAX_OFFSET = 2_147_483_647;

/** `limit` (1..100, default 20) and `offset` (>= 0, default 0) query parameters. */
export const PaginationQuery = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
    // Bounded so a huge number is a 400 here, not a bigint overflow (500) in PostgreSQL.
    offset: Type.Integer({ minimum: 0, maximum: MAX_OFFSET, default: 0 }),
  },
  { additionalProperties: false },
);
export type PaginationQuery = Static<typeof PaginationQuery>;

/** The error envelope every error answers with. */
export const ErrorReply = Type.Object(
  {
    error: Type.Object({
      code: Type.String(),
      message: Type.String(),
      details: Type.Optional(Type.Array(Type.Object({}, { additionalProperties: true }))),
    }),
  },
  { description: 'Every error answers with this envelope' },
);

/** The paging fields of every list reply: spread them beside the items array. */
export const PageFields = {
  total: Type.Integer({ minimum: 0 }),
  limit: Type.Integer({ minimum: 1 }),
  offset: Type.Integer({ minimum: 0 }),
};

/** Error responses to list in a route schema, for OpenAPI. */
export function errorResponses(...statuses: number[]): Record<number, typeof ErrorReply> {
  return Object.fromEntries(statuses.map((status) => [status, ErrorReply]));
}
