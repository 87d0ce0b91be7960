import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as sesModule from 'aws-ses-v2-local';

type StartSes = typeof import('aws-ses-v2-local')['default'];
// A CommonJS package with `exports.default`: Node's ESM interop and bundlers disagree on where it lands.
const imported = sesModule as unknown as { default: StartSes | { default: StartSes } };
const startSes: StartSes =
  typeof imported.default === 'function' ? imported.default : imported.default.default;

/** One email as the outbox shows it. */
export interface SentEmail {
  to: string[];
  subject: string;
  body: string;
  received_at: string;
}

export interface RunningSes {
  endpoint: string;
  /** Every email the SES stand-in accepted, oldest first. */
  sent(): Promise<SentEmail[]>;
  stop(): Promise<void>;
}

interface StoredEmail {
  destination: { to: string[] };
  subject: string;
  body: { text?: string; html?: string };
  at: number;
}

/** aws-ses-v2-local (SES v1 and v2 APIs) in this process, on a free loopback port. */
export async function startLocalSes(): Promise<RunningSes> {
  const server: Server = await startSes({ host: '127.0.0.1', port: 0 });
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    async sent() {
      const response = await fetch(`${endpoint}/store`);
      const store = (await response.json()) as { emails: StoredEmail[] };
      return store.emails
        .map((email) => ({
          to: email.destination.to,
          subject: email.subject,
          body: email.body.text ?? email.body.html ?? '',
          // The store keeps whole epoch seconds.
          received_at: new Date(email.at * 1000).toISOString(),
        }))
        .sort((a, b) => a.received_at.localeCompare(b.received_at));
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
