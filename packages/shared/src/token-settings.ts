import { str } from 'envalid';
import { createTokenVerifier, remoteKeySet, type TokenVerifier } from './auth.js';
import { ConfigError, parseOriginList } from './config.js';

/** The settings of every service that verifies access tokens: spread them into its configSchema. */
export const tokenVerifierSettings = {
  JWT_ISSUER: str({ default: 'mini-ecommerce-user-service', desc: 'Expected `iss` of access tokens' }),
  JWT_AUDIENCE: str({ default: 'mini-ecommerce', desc: 'Expected `aud` of access tokens' }),
  USER_SERVICE_URL: str({
    default: 'http://127.0.0.1:3001',
    desc: 'Origin of the user service (a comma-separated list: each replica is asked for the keys in turn)',
  }),
  JWKS_URL: str({
    default: '',
    desc: 'Public key set of the token issuer (or a comma-separated list); empty means `${USER_SERVICE_URL}/.well-known/jwks.json` for each origin',
  }),
};

/**
 * `JWKS_URL`, or each user-service origin's key set when it is empty, comma-separated; a
 * `ConfigError` when one is not a URL.
 */
export function resolveJwksUrl({ JWKS_URL, USER_SERVICE_URL }: { JWKS_URL: string; USER_SERVICE_URL: string }): string {
  if (JWKS_URL) {
    const urls = JWKS_URL.split(',').map((url) => url.trim());
    const bad = urls.find((url) => !URL.canParse(url));
    if (bad !== undefined) throw new ConfigError(`Invalid configuration: JWKS_URL is invalid: not a URL: "${bad}"`);
    return urls.join(',');
  }
  const problems: string[] = [];
  const origins = parseOriginList('USER_SERVICE_URL', USER_SERVICE_URL.replace(/\/+(?=,|$)/g, ''), problems);
  if (problems.length > 0) throw new ConfigError(`Invalid configuration: ${problems.join('; ')}`);
  return origins.map((origin) => `${origin}/.well-known/jwks.json`).join(',');
}

/** The verifier a service builds once at start from those settings (with `JWKS_URL` resolved). */
export function tokenVerifierFrom(config: { JWKS_URL: string; JWT_ISSUER: string; JWT_AUDIENCE: string }): TokenVerifier {
  return createTokenVerifier({ keys: remoteKeySet(config.JWKS_URL), issuer: config.JWT_ISSUER, audience: config.JWT_AUDIENCE });
}
