import { beforeAll, describe, expect, inject, test } from 'vitest';
import { buildServedDocument, formatFindings, lintDocument, operationIdProblems, type SpectralFinding } from '../../../scripts/lint-api.js';

// The published API against a linter nobody here wrote: Spectral's OpenAPI rules and the OWASP
// API Security ruleset, as the repo's .spectral.yaml sets them. The document is the one the
// gateway serves, merged from the real user, product and order services.
let document: Record<string, unknown>;
let findings: SpectralFinding[];

beforeAll(async () => {
  document = await buildServedDocument(inject('postgresUrl'));
  findings = await lintDocument(document);
}, 120_000);

const errorsIn = (list: SpectralFinding[]) => list.filter((finding) => finding.severity === 0);

describe('GET /docs/openapi.json, linted', () => {
  test('Spectral with .spectral.yaml (spectral:oas + OWASP API Security) finds no error', () => {
    const warnings = findings.filter((finding) => finding.severity === 1);
    if (warnings.length > 0) console.warn(`Spectral warnings:\n${formatFindings(warnings)}`);
    const errors = errorsIn(findings);
    expect(errors.length, `Spectral errors:\n${formatFindings(errors)}`).toBe(0);
  });

  test('every operation has an operationId of its own', () => {
    expect(operationIdProblems(document)).toEqual([]);
  });

  test("lists every service's routes the gateway forwards, and the gateway's own probes", () => {
    expect(document['x-missing-services']).toEqual([]);
    expect(Object.keys(document.paths as object)).toEqual(
      expect.arrayContaining(['/users/register', '/users/login', '/products', '/products/{id}', '/orders', '/healthz', '/readyz']),
    );
    expect(Object.keys(document.paths as object)).not.toContain('/.well-known/jwks.json');
  });

  test('the check can fail: an operation without operationId, or an unbounded string, is caught', async () => {
    const broken = structuredClone(document) as { paths: Record<string, Record<string, Record<string, unknown>>> };
    delete broken.paths['/orders']!.post!.operationId;
    const body = broken.paths['/users/register']!.post!.requestBody as {
      content: Record<string, { schema: { properties: Record<string, Record<string, unknown>> } }>;
    };
    delete body.content['application/json']!.schema.properties.username!.maxLength;

    expect(operationIdProblems(broken)).toEqual(['POST /orders: no operationId']);
    const errors = errorsIn(await lintDocument(broken));
    expect(errors.map((error) => `${error.code} ${error.path.join('.')}`)).toEqual([
      'owasp:api4:2023-string-limit paths./users/register.post.requestBody.content.application/json.schema.properties.username',
    ]);
  }, 60_000);
});
