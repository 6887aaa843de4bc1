/** A problem detail attached to an error envelope (which field, what was wrong). */
export interface ErrorDetail {
  path?: string;
  message: string;
  [key: string]: unknown;
}

/** Base of every error that maps to a known HTTP status and error code. */
export class AppError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: ErrorDetail[] | undefined;
  /** Extra response headers (for example `Retry-After`). */
  readonly headers: Record<string, string>;

  constructor(
    message = 'Internal Server Error',
    options: { status?: number; code?: string; details?: ErrorDetail[]; headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = new.target.name;
    this.status = options.status ?? 500;
    this.code = options.code ?? 'internal_error';
    this.details = options.details;
    this.headers = options.headers ?? {};
  }
}

/** 400: bad body, query or path parameter. */
export class ValidationError extends AppError {
  constructor(message = 'Validation failed', details?: ErrorDetail[]) {
    super(message, { status: 400, code: 'validation_error', details });
  }
}

/** 401: missing or bad credentials or token. */
export class UnauthorizedError extends AppError {
  constructor(message = 'Unauthorized') {
    super(message, { status: 401, code: 'unauthorized', headers: { 'www-authenticate': 'Bearer' } });
  }
}

/** 403: authenticated but not allowed. */
export class ForbiddenError extends AppError {
  constructor(message = 'Forbidden') {
    super(message, { status: 403, code: 'forbidden' });
  }
}

/** 404: unknown route or resource. */
export class NotFoundError extends AppError {
  constructor(message = 'Not Found') {
    super(message, { status: 404, code: 'not_found' });
  }
}

/** 409: the request conflicts with the current state. */
export class ConflictError extends AppError {
  constructor(message = 'Conflict', details?: ErrorDetail[]) {
    super(message, { status: 409, code: 'conflict', details });
  }
}

/** 413: the body is over the limit. */
export class PayloadTooLargeError extends AppError {
  constructor(message = 'Payload Too Large') {
    super(message, { status: 413, code: 'payload_too_large' });
  }
}

/** 429: over a rate limit; `retryAfterSeconds` becomes `Retry-After`. */
export class RateLimitedError extends AppError {
  constructor(retryAfterSeconds: number, message = 'Too Many Requests') {
    super(message, { status: 429, code: 'rate_limited', headers: { 'retry-after': String(Math.max(1, Math.ceil(retryAfterSeconds))) } });
  }
}

/** 502: a dependency answered with something unusable. */
export class BadGatewayError extends AppError {
  constructor(message = 'Bad Gateway', options: { cause?: unknown } = {}) {
    super(message, { status: 502, code: 'bad_gateway', cause: options.cause });
  }
}

/** 503: a dependency is down or its breaker is open. */
export class ServiceUnavailableError extends AppError {
  constructor(message = 'Service Unavailable', options: { cause?: unknown; retryAfterSeconds?: number } = {}) {
    super(message, {
      status: 503,
      code: 'service_unavailable',
      cause: options.cause,
      headers: options.retryAfterSeconds ? { 'retry-after': String(Math.ceil(options.retryAfterSeconds)) } : {},
    });
  }
}

/** 504: a dependency did not answer in time. */
export class GatewayTimeoutError extends AppError {
  constructor(message = 'Gateway Timeout', options: { cause?: unknown } = {}) {
    super(message, { status: 504, code: 'gateway_timeout', cause: options.cause });
  }
}

/** The error code used for an HTTP status when nothing more specific is known. */
export function codeForStatus(status: number): string {
  const codes: Record<number, string> = {
    400: 'validation_error',
    401: 'unauthorized',
    403: 'forbidden',
    404: 'not_found',
    405: 'method_not_allowed',
    406: 'not_acceptable',
    408: 'request_timeout',
    409: 'conflict',
    413: 'payload_too_large',
    415: 'unsupported_media_type',
    429: 'rate_limited',
    502: 'bad_gateway',
    503: 'service_unavailable',
    504: 'gateway_timeout',
  };
  return codes[status] ?? (status >= 500 ? 'internal_error' : 'bad_request');
}

/** The JSON body every error answers with. */
export function errorEnvelope(code: string, message: string, details?: ErrorDetail[]) {
  return { error: details && details.length > 0 ? { code, message, details } : { code, message } };
}
