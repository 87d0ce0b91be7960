import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';

/** The stage's identity provider, locally: one ES256 key, a JWKS, and tokens on request. */
export interface LocalIssuer {
  jwks: { keys: JWK[] };
  issue(request: { sub?: string; scope?: string; expiresInSeconds?: number }): Promise<string>;
}

export async function createLocalIssuer(settings: {
  issuer: string;
  audience: string;
}): Promise<LocalIssuer> {
  const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
  const kid = randomUUID();
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' };
  return {
    jwks: { keys: [jwk] },
    issue: ({ sub, scope, expiresInSeconds }) =>
      new SignJWT({ ...(scope ? { scope } : {}) })
        .setProtectedHeader({ alg: 'ES256', kid, typ: 'JWT' })
        .setIssuer(settings.issuer)
        .setAudience(settings.audience)
        .setSubject(sub ?? 'local-user')
        .setIssuedAt()
        .setJti(randomUUID())
        .setExpirationTime(`${expiresInSeconds ?? 3600}s`)
        .sign(privateKey),
  };
}
