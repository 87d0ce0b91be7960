// A small client typed only by the types openapi-typescript generates from infra/openapi.json (api.d.ts,
// written by `pnpm openapi`). Paths, methods, parameters, statuses and bodies all come from the document,
// so a document that drifts from the service breaks `tsc` here or the live calls in contract.test.ts.
import type { components, paths } from './api.js';

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';
type Operation<P extends keyof paths, M extends Method> = NonNullable<paths[P][M]>;
type Responses<O> = O extends { responses: infer R } ? R : never;
type JsonOf<R> = R extends { content: { 'application/json': infer B } } ? B : undefined;
type ParametersOf<O> = O extends { parameters: infer A } ? A : never;
type BodyOf<O> = O extends { requestBody?: { content: { 'application/json': infer B } } } ? B : never;

/** One documented answer: a status the document lists, its body type and the headers it sends. */
export type Answer<P extends keyof paths, M extends Method> = {
  [S in keyof Responses<Operation<P, M>>]: {
    status: S;
    body: JsonOf<Responses<Operation<P, M>>[S]>;
    headers: Headers;
  };
}[keyof Responses<Operation<P, M>>];

export type ErrorBody = components['schemas']['Error'];

export interface CallInput<P extends keyof paths, M extends Method> {
  path?: ParametersOf<Operation<P, M>> extends { path: infer A } ? A : never;
  query?: ParametersOf<Operation<P, M>> extends { query?: infer Q } ? Q : never;
  body?: BodyOf<Operation<P, M>>;
  token?: string;
  headers?: Record<string, string>;
}

export function client(baseUrl: string) {
  return async function call<P extends keyof paths, M extends Method>(
    path: P,
    method: M,
    input: CallInput<P, M> = {},
  ): Promise<Answer<P, M>> {
    const filled = String(path).replace(/\{(\w+)\}/g, (_, name: string) =>
      encodeURIComponent(String((input.path as Record<string, unknown> | undefined)?.[name] ?? '')),
    );
    const query = new URLSearchParams(
      Object.entries((input.query ?? {}) as Record<string, unknown>)
        .filter(([, value]) => value !== undefined)
        .map(([key, value]): [string, string] => [key, String(value)]),
    ).toString();
    const response = await fetch(`${baseUrl}${filled}${query ? `?${query}` : ''}`, {
      method: method.toUpperCase(),
      headers: {
        ...(input.body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(input.token ? { authorization: `Bearer ${input.token}` } : {}),
        ...input.headers,
      },
      ...(input.body !== undefined ? { body: JSON.stringify(input.body) } : {}),
    });
    const text = await response.text();
    return {
      status: response.status,
      body: text ? JSON.parse(text) : undefined,
      headers: response.headers,
    } as Answer<P, M>;
  };
}
