import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { apiEvent } from '../support/api-event.js';

export const iso = (ms: number) => new Date(ms).toISOString();
export const uid = (prefix = 'user') => `${prefix}-${randomUUID()}`;

export interface TaskEventInput {
  event?: string;
  timestamp: string;
  userId: string;
  id: string;
  content?: string;
  isCompleted?: boolean;
}

export const taskEvent = (e: TaskEventInput) => ({
  event: e.event ?? 'created',
  timestamp: e.timestamp,
  metadata: {
    userId: e.userId,
    id: e.id,
    content: e.content ?? 'buy milk',
    isCompleted: e.isCompleted ?? false,
  },
});

export const webhookEvent = (body: unknown, headers: Record<string, string> = {}) =>
  apiEvent({ method: 'POST', route: '/webhook', body, headers });

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const close = (server: Server) => new Promise<void>((resolve) => server.close(() => resolve()));

/**
 * A JWKS-backed issuer for the read routes: sets the stage's JWT_* settings so the handlers' real
 * authenticator verifies the tokens it signs.
 */
export async function startIssuer() {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid: 'tasks-test', alg: 'ES256', use: 'sig' };
  const server = createServer((_, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ keys: [jwk] }));
  });
  const url = await listen(server);
  const issuer = 'https://issuer.tasks.test/';
  const audience = 'svc-tasks-test';
  Object.assign(process.env, {
    JWT_ISSUER: issuer,
    JWT_AUDIENCE: audience,
    JWT_JWKS_URL: `${url}/jwks.json`,
  });
  return {
    token: (scope: string, sub = 'reporter') =>
      new SignJWT({ scope })
        .setProtectedHeader({ alg: 'ES256', kid: 'tasks-test' })
        .setSubject(sub)
        .setIssuer(issuer)
        .setAudience(audience)
        .setIssuedAt()
        .setExpirationTime('5m')
        .sign(privateKey),
    stop: () => close(server),
  };
}

/** GetParameter over the SSM JSON protocol, so the webhook's real Powertools SSM read runs unchanged. */
export async function startFakeSsm(parameters: Record<string, string>) {
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk: Buffer) => {
      raw += chunk.toString();
    });
    req.on('end', () => {
      const { Name } = JSON.parse(raw || '{}') as { Name?: string };
      const value = Name === undefined ? undefined : parameters[Name];
      res.writeHead(value === undefined ? 400 : 200, { 'content-type': 'application/x-amz-json-1.1' });
      res.end(
        JSON.stringify(
          value === undefined
            ? { __type: 'ParameterNotFound', message: 'not found' }
            : { Parameter: { Name, Type: 'SecureString', Value: value, Version: 1, DataType: 'text' } },
        ),
      );
    });
  });
  const endpoint = await listen(server);
  return { endpoint, stop: () => close(server) };
}
