import { Ajv, type ErrorObject } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';
import { ValidationError, type ErrorDetail } from './errors.js';

// ajv-formats ships CommonJS with a default export.
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

function makeAjv(coerceTypes: boolean | 'array') {
  // removeAdditional stays off: an unknown field is an error, never silently dropped
  // (a `role` smuggled into a registration must fail loudly).
  const ajv = new Ajv({ removeAdditional: false, useDefaults: true, coerceTypes, allErrors: false, strict: false });
  addFormats(ajv);
  return ajv;
}

const bodyAjv = makeAjv(false);
const textAjv = makeAjv('array');

/**
 * Bodies are JSON and validated without coercion (`"2"` is not a number);
 * query strings, params and headers are text, so they are coerced.
 */
export const validatorCompiler: FastifySchemaCompiler<unknown> = ({ schema, httpPart }) =>
  (httpPart === 'body' ? bodyAjv : textAjv).compile(schema as object);

function fieldPath(context: string, error: ErrorObject): string {
  const pointer = error.instancePath.replace(/^\//, '').replace(/\//g, '.');
  const extra =
    error.keyword === 'additionalProperties'
      ? (error.params as { additionalProperty: string }).additionalProperty
      : error.keyword === 'required'
        ? (error.params as { missingProperty: string }).missingProperty
        : '';
  return [pointer, extra].filter(Boolean).join('.') || context;
}

function describe(path: string, error: ErrorObject): string {
  switch (error.keyword) {
    case 'additionalProperties':
      return `unknown field "${path}"`;
    case 'required':
      return `${path} is required`;
    default:
      return `${path} ${error.message ?? 'is invalid'}`;
  }
}

/** Turns ajv errors from one part of a request into a `ValidationError` with details. */
export function toValidationError(context: string, errors: ErrorObject[]): ValidationError {
  const details: ErrorDetail[] = errors.map((error) => {
    const path = fieldPath(context, error);
    return { path, location: context, message: describe(path, error) };
  });
  return new ValidationError(details[0]?.message ?? `invalid ${context}`, details);
}
