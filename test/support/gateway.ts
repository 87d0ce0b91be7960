/** An HTTP client for the local gateway the global setup starts (end-to-end tests). */
export function gatewayUrl(): string {
  const url = process.env.LOCAL_GATEWAY_URL;
  if (!url) throw new Error('LOCAL_GATEWAY_URL is not set: the global setup starts the local runtime');
  return url;
}

export interface Reply {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: response bodies are asserted field by field
  body: any;
}

export interface CallOptions {
  /** An object is sent as JSON; a string is sent as is (still labelled JSON unless headers say otherwise). */
  body?: unknown;
  /** Sent as `Authorization: Bearer <token>`. */
  token?: string;
  headers?: Record<string, string>;
}

/** A request to the shared local gateway. */
export const gateway = (method: string, path: string, options: CallOptions = {}): Promise<Reply> =>
  call(gatewayUrl(), method, path, options);

/** A request to any local runtime's gateway (suites that start a runtime of their own). */
export async function call(
  baseUrl: string,
  method: string,
  path: string,
  options: CallOptions = {},
): Promise<Reply> {
  const { body, token, headers } = options;
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...headers,
    },
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: keep the text for the assertion message
  }
  return { status: response.status, headers: response.headers, body: parsed };
}

/** A token from the local issuer (`POST /__local/token`). */
export async function localToken(scope: string, sub = 'e2e'): Promise<string> {
  const reply = await gateway('POST', '/__local/token', { body: { scope, sub } });
  return reply.body.access_token as string;
}
