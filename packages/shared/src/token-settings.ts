import { str, url } from 'envalid';
import { createTokenVerifier, remoteKeySet, type TokenVerifier } from './auth.js';
import { ConfigError } from './config.js';

/** The settings of every service that verifies access tokens: spread them into its configSchema. */
export const tokenVerifierSettings = {
  JWT_ISSUER: str({ default: 'mini-ecommerce-user-service', desc: 'Expected `iss` of access tokens' }),
  JWT_AUDIENCE: str({ default: 'mini-ecommerce', desc: 'Expected `aud` of access tokens' }),
  USER_SERVICE_URL: url({ default: 'http://127.0.0.1:3001', desc: 'Base URL of the user service' }),
  JWKS_URL: str({ default: '', desc: 'Public key set of the token issuer; empty means `${USER_SERVICE_URL}/.well-known/jwks.json`' }),
};

/** `JWKS_URL`, or the user service's key set when it is empty; a `ConfigError` when it is not a URL. */
export function resolveJwksUrl({ JWKS_URL, USER_SERVICE_URL }: { JWKS_URL: string; USER_SERVICE_URL: string }): string {
  const jwksUrl = JWKS_URL || `${USER_SERVICE_URL.replace(/\/+$/, '')}/.well-known/jwks.json`;
  if (!URL.canParse(jwksUrl)) throw new ConfigError(`Invalid configuration: JWKS_URL is invalid: not a URL: "${jwksUrl}"`);
  return jwksUrl;
}

/** The verifier a service builds once at start from those settings (with `JWKS_URL` resolved). */
export function tokenVerifierFrom(config: { JWKS_URL: string; JWT_ISSUER: string; JWT_AUDIENCE: string }): TokenVerifier {
  return createTokenVerifier({ keys: remoteKeySet(config.JWKS_URL), issuer: config.JWT_ISSUER, audience: config.JWT_AUDIENCE });
}
