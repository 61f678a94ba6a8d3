/**
 * Which key verifies a token, by its `alg`: HS256 with the shared secret (MONITOR_JWT_SECRET),
 * ES256/RS256 with the JWKS's public keys (MONITOR_JWKS_URL); either or both may be configured.
 * An alg without a configured key is refused, so a token can never pick its own verification
 * (e.g. HS256 "signed" with a public key); jose then checks that the key's type fits the alg.
 */
import { errors as joseErrors, JWTVerifyGetKey } from 'jose';
import { JWKS_ALGORITHMS } from './jwks';

export interface TokenKeys {
  key: JWTVerifyGetKey;
  algorithms: string[];
}

export function tokenKeys(opts: { secret?: string; jwks?: JWTVerifyGetKey }): TokenKeys {
  const secret = opts.secret ? new TextEncoder().encode(opts.secret) : undefined;
  const jwks = opts.jwks;
  const algorithms = [...(secret ? ['HS256'] : []), ...(jwks ? JWKS_ALGORITHMS : [])];
  if (algorithms.length === 0) throw new Error('no way to verify tokens: set MONITOR_JWT_SECRET, MONITOR_JWKS_URL or both');
  return {
    algorithms,
    async key(header, token) {
      if (header.alg === 'HS256' && secret) return secret;
      if (jwks && JWKS_ALGORITHMS.includes(header.alg ?? '')) return jwks(header, token);
      throw new joseErrors.JOSEAlgNotAllowed(`"alg" (Algorithm) Header Parameter value not allowed`);
    },
  };
}
