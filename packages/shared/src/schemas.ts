import { Type, type Static, type TSchema } from 'typebox';
import { DEFAULT_MAX_TOKEN_LIFETIME_SECONDS, TOKEN_ALGORITHM } from './auth.js';

// Every string, array and integer here is bounded (maxLength, maxItems, minimum/maximum with an
// int32/int64 format): the published API is linted against the OWASP API Security rules.

/** A UUID string (any version) in its plain 36-character form, described for OpenAPI. */
export function UuidOf(description: string) {
  // maxLength keeps out the `urn:uuid:` prefix that ajv's format accepts and PostgreSQL does not.
  return Type.String({ format: 'uuid', maxLength: 36, description });
}

/** A UUID string (any version), in its plain 36-character form. */
export const Uuid = UuidOf('A UUID');

/** An instant as the services write it (`Date#toISOString`: `2026-01-31T12:00:00.000Z`). */
export const Timestamp = Type.String({ format: 'date-time', maxLength: 30 });

/** `{ id }` path parameters. */
export const IdParams = Type.Object({ id: Uuid }, { additionalProperties: false });
export type IdParams = Static<typeof IdParams>;

/** The largest `offset` a list accepts (PostgreSQL's int4 range). */
export const MAX_OFFSET = 2_147_483_647;

/** `limit` (1..100, default 20) and `offset` (>= 0, default 0) query parameters. */
export const PaginationQuery = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: 100, format: 'int32', default: 20 }),
    // Bounded so a huge number is a 400 here, not a bigint overflow (500) in PostgreSQL.
    offset: Type.Integer({ minimum: 0, maximum: MAX_OFFSET, format: 'int32', default: 0 }),
  },
  { additionalProperties: false },
);
export type PaginationQuery = Static<typeof PaginationQuery>;

/** The paging fields of every list reply: spread them beside the items array. */
export const PageFields = {
  // A count(*): bounded only by what a JSON number holds exactly.
  total: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, format: 'int64' }),
  limit: Type.Integer({ minimum: 1, maximum: 100, format: 'int32' }),
  offset: Type.Integer({ minimum: 0, maximum: MAX_OFFSET, format: 'int32' }),
};

// A message may quote a field name from the body (`unknown field "..."`), which only the body
// limit (1 MiB) bounds: this is the truthful bound, not a promise of short messages.
const MESSAGE_MAX_LENGTH = 2 * 1024 * 1024;

const ErrorDetail = Type.Object(
  {
    path: Type.Optional(
      Type.String({ maxLength: MESSAGE_MAX_LENGTH, description: 'The field (dotted: `items.0.quantity`) or check concerned' }),
    ),
    location: Type.Optional(Type.Unsafe<string>({ type: 'string', enum: ['body', 'querystring', 'params', 'headers'] })),
    message: Type.String({ maxLength: MESSAGE_MAX_LENGTH }),
  },
  { additionalProperties: true, description: 'One problem; some carry more facts, e.g. the current `stock` on a stock conflict' },
);

function envelope(code: TSchema, description: string) {
  return Type.Object(
    {
      error: Type.Object(
        {
          code,
          message: Type.String({ maxLength: MESSAGE_MAX_LENGTH, description: 'For people: what went wrong; never leaks internals' }),
          details: Type.Optional(Type.Array(ErrorDetail, { maxItems: 100 })),
        },
        { additionalProperties: false },
      ),
    },
    { additionalProperties: false, description },
  );
}

/** The error envelope every error answers with. */
export const ErrorReply = envelope(
  Type.String({ maxLength: 32, pattern: '^[a-z_]+$', description: 'Stable, for programs: `validation_error`, `not_found`, ...' }),
  'Every error answers with this envelope',
);

// `Retry-After` in seconds, as the services and the gateway send it.
const RetryAfterHeader = Type.Integer({
  minimum: 0,
  maximum: 86_400,
  format: 'int32',
  description: 'Seconds to wait before retrying',
});

/** What each error status means here (DESIGN.md "The HTTP contract"), with the code it always carries. */
const ERRORS = {
  400: ['validation_error', 'A bad body, query or path parameter, an unknown field, or a malformed URL'],
  401: ['unauthorized', 'A missing, malformed, expired or badly signed token, or wrong credentials'],
  403: ['forbidden', 'Signed in, but not allowed to do this'],
  404: ['not_found', 'No such resource (or not yours to see)'],
  409: ['conflict', 'The request conflicts with the current state (see the operation for when)'],
  413: ['payload_too_large', 'The body is over the limit (1 MiB unless configured otherwise)'],
  415: ['unsupported_media_type', 'A body in a media type the API does not read: send `application/json`'],
  429: ['rate_limited', 'Over a rate limit: retry after `Retry-After` seconds'],
  500: ['internal_error', 'Something unexpected went wrong'],
  502: ['bad_gateway', 'A service behind this one answered with something unusable'],
  503: ['service_unavailable', 'A dependency is down or its circuit breaker is open, or the service is shutting down'],
  504: ['gateway_timeout', 'A service behind this one did not answer in time'],
} as const;

/** An HTTP status the error envelope is documented for. */
export type ErrorStatus = keyof typeof ERRORS;

const RESPONSE_HEADERS: Partial<Record<ErrorStatus, Record<string, TSchema>>> = {
  401: { 'WWW-Authenticate': Type.String({ enum: ['Bearer'], description: 'The scheme to authenticate with' }) },
  429: { 'Retry-After': RetryAfterHeader },
  503: { 'Retry-After': RetryAfterHeader },
};

/** The error envelope answered with `status`, described for OpenAPI (its code, its headers). */
export function errorResponse(status: ErrorStatus) {
  const [code, description] = ERRORS[status];
  const schema = envelope(Type.Unsafe<string>({ type: 'string', enum: [code] }), `\`${code}\`: ${description}`);
  // @fastify/swagger turns a response schema's `headers` into the response's headers.
  const headers = RESPONSE_HEADERS[status];
  return headers ? { ...schema, headers } : schema;
}

/**
 * The error responses to list in a route schema: every status the route can answer besides its
 * successes (400 for a malformed URL, 500 and 503 on any route that reaches a database, ...).
 */
export function errorResponses<S extends ErrorStatus>(...statuses: S[]): Record<S, ReturnType<typeof errorResponse>> {
  return Object.fromEntries(statuses.map((status) => [status, errorResponse(status)])) as Record<S, ReturnType<typeof errorResponse>>;
}

/** A public operation, said explicitly: no credentials are needed (OpenAPI's empty requirement). */
export const PUBLIC: Record<string, string[]>[] = [{}];

/** The bearer scheme every service verifies, with the RFC 8725 practices it follows. */
export const BearerAuthScheme = {
  type: 'http' as const,
  scheme: 'bearer',
  bearerFormat: 'JWT',
  description:
    'An access token from `POST /users/register` or `POST /users/login`, sent as `Authorization: Bearer <token>`. ' +
    'Tokens follow the JSON Web Token Best Current Practices (RFC8725): they are JWS compact tokens signed by the user ' +
    `service with ${TOKEN_ALGORITHM} (Ed25519) only; every service pins \`alg\` to ${TOKEN_ALGORITHM} (so \`none\`, HMAC and ` +
    'RSA tokens are refused), verifies with the public keys of the JSON Web Key Set the user service publishes ' +
    '(`/.well-known/jwks.json`, the key picked by `kid`; no service but the user service holds a private key), and checks ' +
    '`iss`, `aud` and `exp` (allowing seconds of clock skew), requires `sub`, `iat` and `jti`, and refuses a token issued in ' +
    `the future or living longer than ${DEFAULT_MAX_TOKEN_LIFETIME_SECONDS / 3600} h. Claims are signed, not encrypted: ` +
    'they hold no secrets (`sub`, `username`, `role`).',
};

const ServiceName = Type.String({ maxLength: 64, pattern: '^[a-z][a-z0-9-]*$', description: 'Which process answered' });

// `GET /healthz`: the process is alive.
const HealthReply = Type.Object(
  {
    service: ServiceName,
    status: Type.String({ enum: ['ok'] }),
    uptime: Type.Number({ minimum: 0, description: 'Seconds since the process started' }),
  },
  { additionalProperties: false, description: 'Alive' },
);

// `GET /readyz` when every critical dependency answers.
const ReadinessReply = Type.Object(
  {
    service: ServiceName,
    status: Type.String({ enum: ['ready', 'degraded'], description: '`degraded`: a dependency it can ride out is down' }),
    checks: Type.Record(Type.String(), Type.String({ enum: ['ok', 'down'] }), {
      maxProperties: 32,
      description: 'Each dependency checked, by name',
    }),
  },
  { additionalProperties: false, description: 'Ready: every dependency it needs answers' },
);

/** The route schemas of the probes every process serves (hidden from the services' documents). */
export const ProbeSchemas = {
  health: {
    operationId: 'getHealth',
    tags: ['health'],
    summary: 'Is the process alive?',
    description: 'Answers as long as the process runs, whatever its dependencies do (a liveness probe). Not rate limited.',
    security: PUBLIC,
    response: { 200: HealthReply, ...errorResponses(400, 500, 503) },
  },
  readiness: {
    operationId: 'getReadiness',
    tags: ['health'],
    summary: 'Is the process ready for traffic?',
    description:
      'A readiness probe: 200 when every dependency the process needs answers (for the gateway: its upstream services), ' +
      'else 503 naming those that are down. Not rate limited.',
    security: PUBLIC,
    response: { 200: ReadinessReply, ...errorResponses(400, 500, 503) },
  },
};
