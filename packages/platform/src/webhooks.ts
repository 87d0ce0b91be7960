import { createHmac, timingSafeEqual } from 'node:crypto';
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
// The modules, not their `request` bindings: X-Ray's capture (tracing.ts) patches `http.request` on them.
import http from 'node:http';
import https from 'node:https';
import { BlockList, isIP, type LookupFunction } from 'node:net';

/**
 * Signed outbound webhooks (SPEC §0 and §5): a URL a caller gave us, checked when it is given and again
 * when it is called, and a POST signed `X-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`.
 * Any service that calls its callers back uses this module; none keeps its own copy.
 */

/** Which callback URLs a stage accepts. Deployed stages: https to public addresses only. */
export interface CallbackUrlPolicy {
  /** The local stage also accepts `http://127.0.0.1:<port>/...` (SPEC §6: a receiver on the laptop). */
  allowLocalHttp: boolean;
}

export const MAX_CALLBACK_URL_LENGTH = 2048;

/**
 * Addresses a callback must never reach: loopback, private, carrier-grade NAT, link-local (the cloud
 * metadata endpoint 169.254.169.254 among them), multicast, reserved and documentation ranges, and their
 * IPv6 counterparts (fd00:ec2::254, AWS's IPv6 metadata address, is in fc00::/7). IPv4-mapped IPv6
 * addresses are checked as the IPv4 address they carry.
 */
const FORBIDDEN = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const)
  FORBIDDEN.addSubnet(network, prefix, 'ipv4');
for (const [network, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['64:ff9b::', 96],
  ['64:ff9b:1::', 48],
  ['100::', 64],
  ['2001::', 23],
  ['2001:db8::', 32],
  ['2002::', 16],
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8],
] as const)
  FORBIDDEN.addSubnet(network, prefix, 'ipv6');

/** True for an address a callback may reach (a public unicast address). */
export function isPublicAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return false;
  return !FORBIDDEN.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/** The one loopback address the local stage accepts, and only over http or https to a given port. */
const LOCAL_HOST = '127.0.0.1';

/** Strips IPv6 brackets from a URL hostname. */
const bareHost = (hostname: string) => hostname.replace(/^\[(.*)\]$/, '$1');

/** Why a URL is refused on its face (no DNS yet), or undefined when its form is acceptable. */
export function callbackUrlFormProblem(raw: string, policy: CallbackUrlPolicy): string | undefined {
  if (raw.length > MAX_CALLBACK_URL_LENGTH) return `must be at most ${MAX_CALLBACK_URL_LENGTH} characters`;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'must be an absolute URL';
  }
  const local = policy.allowLocalHttp && url.hostname === LOCAL_HOST;
  if (url.protocol !== 'https:' && !(local && url.protocol === 'http:'))
    return policy.allowLocalHttp ? 'must use https (or http://127.0.0.1:<port> locally)' : 'must use https';
  if (url.username || url.password) return 'must not carry credentials';
  if (url.hash) return 'must not have a fragment';
  const host = bareHost(url.hostname);
  if (isIP(host) !== 0 && !local && !isPublicAddress(host))
    return 'must not point to a loopback, private, link-local or metadata address';
  return undefined;
}

export type Lookup = (hostname: string) => Promise<readonly LookupAddress[]>;

/** Every address the system resolver gives for a name (what a connection would use). */
export const systemLookup: Lookup = (hostname) =>
  new Promise((resolve, reject) => {
    dnsLookup(hostname, { all: true, verbatim: true }, (error, addresses) =>
      error ? reject(error) : resolve(addresses),
    );
  });

/** A resolver failure that says the name does not exist (as opposed to a resolver having trouble). */
const NO_SUCH_NAME = new Set(['ENOTFOUND', 'ENODATA', 'EAI_NONAME', 'EAI_NODATA']);

export type UrlCheck =
  | { ok: true }
  | { ok: false; problem: string }
  /** The resolver itself failed (timeout, SERVFAIL): nothing can be said about the URL yet. */
  | { ok: false; unavailable: true; problem: string };

/**
 * The SPEC §0 check of a callback URL: its form, then every address its host resolves to must be
 * public (a name with one private address among public ones is refused: a connection could use it).
 */
export async function checkCallbackUrl(
  raw: string,
  policy: CallbackUrlPolicy,
  lookup: Lookup = systemLookup,
): Promise<UrlCheck> {
  const problem = callbackUrlFormProblem(raw, policy);
  if (problem) return { ok: false, problem };
  const host = bareHost(new URL(raw).hostname);
  if (isIP(host) !== 0) return { ok: true };
  let addresses: readonly LookupAddress[];
  try {
    addresses = await lookup(host);
  } catch (error) {
    const code = (error as { code?: string }).code ?? '';
    if (NO_SUCH_NAME.has(code)) return { ok: false, problem: 'host does not resolve' };
    return { ok: false, unavailable: true, problem: `host could not be resolved (${code || 'error'})` };
  }
  if (addresses.length === 0) return { ok: false, problem: 'host does not resolve' };
  if (addresses.some((a) => !isPublicAddress(a.address)))
    return { ok: false, problem: 'host resolves to a loopback, private, link-local or metadata address' };
  return { ok: true };
}

/** `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`, keyed with the secret's UTF-8 bytes. */
export function webhookSignature(secret: string, rawBody: string, unixSeconds: number): string {
  const mac = createHmac('sha256', Buffer.from(secret, 'utf8'))
    .update(`${unixSeconds}.${rawBody}`)
    .digest('hex');
  return `t=${unixSeconds},v1=${mac}`;
}

/**
 * What a receiver does with `X-Signature`: the timestamp within `toleranceSeconds` of its clock (so a
 * captured request cannot be replayed later) and one `v1` equal to its own HMAC, compared in constant time.
 */
export function verifyWebhookSignature(
  secret: string,
  rawBody: string,
  header: string | undefined,
  options: { nowSeconds?: number; toleranceSeconds?: number } = {},
): boolean {
  if (!header || header.length > 1024) return false;
  const parts = header.split(',').map((p) => p.trim());
  const t = parts.find((p) => p.startsWith('t='))?.slice(2) ?? '';
  if (!/^\d{1,12}$/.test(t)) return false;
  const now = options.nowSeconds ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - Number(t)) > (options.toleranceSeconds ?? 300)) return false;
  const expected = Buffer.from(webhookSignature(secret, rawBody, Number(t)).split('v1=')[1] ?? '', 'hex');
  return parts
    .filter((p) => p.startsWith('v1=') && /^[0-9a-f]{64}$/.test(p.slice(3)))
    .some((p) => timingSafeEqual(Buffer.from(p.slice(3), 'hex'), expected));
}

/** One signed POST and what came of it. `refused`: the URL broke the rules at call time; nothing was sent. */
export type WebhookResult =
  | { kind: 'delivered'; status: number }
  | { kind: 'failed'; detail: string; status?: number }
  | { kind: 'refused'; detail: string };

export interface WebhookRequest {
  url: string;
  /** Serialised once: the signed bytes are exactly the bytes sent. */
  body: unknown;
  /** A stable id of the event (the same on every retry), for the receiver's deduplication. */
  eventId: string;
}

/** Port: a signed outbound webhook. */
export interface WebhookSender {
  post(request: WebhookRequest): Promise<WebhookResult>;
}

export interface WebhookSenderOptions {
  policy: CallbackUrlPolicy;
  /** The signing key, read when needed (an SSM SecureString behind a cache). */
  secret: () => Promise<string>;
  /** The whole call (connect, request, answer's status line) must finish within it. SPEC §5: 5 s. */
  timeoutMs?: number;
  lookup?: Lookup;
  userAgent?: string;
  now?: () => number;
}

/**
 * Signed POSTs over node:http(s). The URL is checked again at call time, and the connection is pinned to
 * the addresses that check approved (the socket's own lookup refuses any other), so a name cannot resolve
 * to a public address for the check and a private one for the connection. Redirects are not followed (a
 * 3xx is a failure); only the status line is read, and the connection is closed after it.
 */
export function httpWebhookSender(options: WebhookSenderOptions): WebhookSender {
  const timeoutMs = options.timeoutMs ?? 5000;
  const resolve = options.lookup ?? systemLookup;
  const now = options.now ?? Date.now;
  return {
    async post({ url, body, eventId }) {
      const formProblem = callbackUrlFormProblem(url, options.policy);
      if (formProblem) return { kind: 'refused', detail: `URL ${formProblem}` };
      const target = new URL(url);
      const raw = JSON.stringify(body);
      const signature = webhookSignature(await options.secret(), raw, Math.floor(now() / 1000));
      let refusedBy: string | undefined;
      // Called by the socket for a host name (never for an IP literal, which the form check covered).
      const pinnedLookup: LookupFunction = (hostname, lookupOptions, callback) => {
        resolve(hostname).then(
          (addresses) => {
            const usable = addresses.filter(
              (a) =>
                (!lookupOptions.family || a.family === lookupOptions.family) && isPublicAddress(a.address),
            );
            if (usable.length === 0 || usable.length !== addresses.length) {
              refusedBy = 'host resolves to a loopback, private, link-local or metadata address';
              const error = Object.assign(new Error(refusedBy), { code: 'EFORBIDDENADDRESS' });
              return callback(error, '', 4);
            }
            if (lookupOptions.all) return callback(null, usable);
            const first = usable[0] as LookupAddress;
            return callback(null, first.address, first.family);
          },
          (error: NodeJS.ErrnoException) => callback(error, '', 4),
        );
      };
      const send = target.protocol === 'https:' ? https.request : http.request;
      return new Promise<WebhookResult>((settle) => {
        let settled = false;
        const done = (result: WebhookResult) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          settle(result);
        };
        const req = send(
          target,
          {
            method: 'POST',
            agent: false,
            lookup: pinnedLookup,
            headers: {
              'content-type': 'application/json',
              'content-length': Buffer.byteLength(raw),
              'user-agent': options.userAgent ?? 'svc-webhooks/1',
              'x-event-id': eventId,
              'x-signature': signature,
            },
          },
          (res) => {
            const status = res.statusCode ?? 0;
            res.destroy();
            if (status >= 200 && status < 300) return done({ kind: 'delivered', status });
            const redirect = status >= 300 && status < 400 ? ' (redirects are not followed)' : '';
            done({ kind: 'failed', status, detail: `answered ${status}${redirect}` });
          },
        );
        const timer = setTimeout(() => {
          done({ kind: 'failed', detail: `no answer within ${timeoutMs} ms` });
          req.destroy();
        }, timeoutMs);
        req.on('error', (error: NodeJS.ErrnoException) => {
          if (refusedBy) return done({ kind: 'refused', detail: refusedBy });
          done({ kind: 'failed', detail: `network error (${error.code ?? error.message})` });
        });
        req.end(raw);
      });
    },
  };
}
