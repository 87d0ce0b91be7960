import fc from 'fast-check';

/**
 * Arbitraries for hostile HTTP input. Every generated string may carry MARK, which the fuzzer replaces
 * with a per-request UUID just before sending, so anything a request leaves behind can be traced back.
 */
export const MARK = '00000000-f022-4000-8000-00000000f022';

/** Unpaired UTF-16 halves: valid in JSON (`"\ud800"`), not encodable as UTF-8. */
const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c));

const awkward = fc.constantFrom(
  '',
  ' ',
  '\u0000',
  '\t\r\n',
  'null',
  'undefined',
  'NaN',
  '-1',
  '0',
  '1e999',
  '__proto__',
  'constructor',
  '$idem#x',
  '#',
  '/',
  '../..',
  '%00',
  "'; DROP TABLE svc;--",
  '<script>alert(1)</script>',
  '$\u007bjndi:ldap://x}',
  '\u202e\u200b\ufeff',
  '👩🏽‍🚀🇺🇦',
  'Ω≈ç√∫',
  'ﷺ',
  'a\u0301',
  'true',
  '{}',
  '[]',
);

/** Short strings of every flavour: ASCII, any code point, lone surrogates, known troublemakers, the marker. */
export const text: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: fc.oneof(fc.constantFrom('a', '1', '-'), loneSurrogate), maxLength: 8 }),
  awkward,
  fc.constant(MARK),
  fc.string({ maxLength: 8 }).map((s) => `${s}${MARK}`),
);

/** Strings far past any field limit (kept under the gateway's header/body comfort zone). */
export const hugeText: fc.Arbitrary<string> = fc.oneof(
  fc.integer({ min: 1_000, max: 20_000 }).map((n) => `${MARK}${'x'.repeat(n)}`),
  fc.integer({ min: 100, max: 3_000 }).map((n) => '😀'.repeat(n)),
  fc.constant(`${MARK}${'ü'.repeat(100_000)}`),
);

/** Numbers JSON can spell, including the ones that overflow or sit on limits. */
export const numberish: fc.Arbitrary<number> = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(0, -0, 1, -1, 0.5, 1e308, -1e308, Number.MAX_SAFE_INTEGER + 2, 2 ** 53, 5e-324),
);

/** Arbitrary JSON values with hostile leaves. */
export const jsonValue: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    text,
    numberish,
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.oneof(text, fc.constantFrom('__proto__', 'constructor', 'prototype')), tie('value'), {
      maxKeys: 4,
    }),
  ),
})).value;

/** JSON nested far deeper than any schema: arrays or objects, thousands of levels. */
export const deepJson: fc.Arbitrary<string> = fc
  .tuple(fc.integer({ min: 500, max: 5_000 }), fc.boolean())
  .map(([depth, arrays]) =>
    arrays
      ? `${'['.repeat(depth)}"${MARK}"${']'.repeat(depth)}`
      : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`,
  );

/** A request body as bytes on the wire (undefined: none at all). */
export type RawBody = string | Uint8Array | undefined;

/** Bodies that replace a valid one wholesale. */
export const garbageBody: fc.Arbitrary<RawBody> = fc.oneof(
  fc.constant(undefined),
  fc.constantFrom(
    '',
    ' ',
    '\n',
    'null',
    'true',
    '0',
    '""',
    '[]',
    '{',
    '{"a":',
    '{"a":1,}',
    "{'a':1}",
    '\u0000{}',
  ),
  fc.uint8Array({ minLength: 1, maxLength: 200 }),
  fc.string({ unit: 'binary', maxLength: 100 }),
  jsonValue.map((v) => JSON.stringify(v) ?? 'null'),
  fc.array(jsonValue, { maxLength: 3 }).map((v) => JSON.stringify(v)),
  hugeText.map((s) => JSON.stringify({ huge: s })),
  deepJson,
  // Valid JSON followed by junk, and a BOM in front.
  jsonValue.map((v) => `${JSON.stringify(v) ?? 'null'} trailing`),
  fc.constant(`\ufeff{"a":"${MARK}"}`),
);

/** Replacement values for one field of an otherwise valid body. */
export const garbageField: fc.Arbitrary<unknown> = fc.oneof(
  jsonValue,
  hugeText,
  loneSurrogate,
  fc.constant({}),
);

/** Path segments (already percent-encoded for the wire) that are not what the route wants. */
export const garbageSegment: fc.Arbitrary<string> = fc.oneof(
  text.filter((s) => s.length > 0 && !hasLoneSurrogate(s)).map(encodeURIComponent),
  fc.constantFrom(
    '%',
    '%zz',
    '%E0%A4%A',
    '%C3%28',
    '%00',
    '%2F',
    '%252F',
    '..',
    '.',
    ';',
    '"',
    "'",
    '*',
    '~',
  ),
  fc.integer({ min: 200, max: 3_000 }).map((n) => 'a'.repeat(n)),
  fc.uuid().map((u) => u.toUpperCase()),
  fc.uuid().map((u) => `${u}x`),
  fc.uuid().map((u) => u.replace(/-/g, '')),
  fc.uuid().map((u) => `%20${u}`),
  fc.constant(MARK.replace(/0/g, 'g')),
);

/** Query values (decoded; the fuzzer encodes them). */
export const garbageQueryValue: fc.Arbitrary<string> = fc.oneof(
  text.filter((s) => !hasLoneSurrogate(s)),
  fc.constantFrom('0', '-1', '101', '1000', '1.5', '1e2', ' 5', '5 ', '0x10', '00050', ''),
  // Cursors that decode but point nowhere, or decode to something else entirely.
  text
    .filter((s) => !hasLoneSurrogate(s))
    .map((p) => Buffer.from(JSON.stringify({ p }), 'utf8').toString('base64url')),
  jsonValue.map((v) => Buffer.from(JSON.stringify(v) ?? 'null', 'utf8').toString('base64url')),
  fc.integer({ min: 1_000, max: 5_000 }).map((n) => 'A'.repeat(n)),
);

/** Header values as Node can put them on the wire: UTF-8 bytes spelled as latin1, no CR/LF/NUL. */
export const headerValue: fc.Arbitrary<string> = fc
  .oneof(
    text,
    fc.integer({ min: 200, max: 4_000 }).map((n) => `${MARK}${'h'.repeat(n)}`),
    fc.constantFrom('', ' ', '\t', ',', 'a, b', 'undefined'),
  )
  .map(wireHeader);

export function wireHeader(value: string): string {
  return Buffer.from(value.replace(/[\ud800-\udfff]/g, '?'), 'utf8')
    .toString('latin1')
    .replace(/[^\t\x20-\x7e\x80-\xff]/g, '');
}

export function hasLoneSurrogate(s: string): boolean {
  return /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s);
}

/** Content types that must not be taken for JSON (or no content type at all). */
export const badContentType: fc.Arbitrary<string | undefined> = fc.constantFrom(
  undefined,
  '',
  'text/plain',
  'text/json',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/octet-stream',
  'application/xml',
  'application/jsonx',
  'application/json-patch',
  'json',
  '*/*',
  'application/*',
  'image/png',
);

/** Content types that are JSON (SPEC §0: parameters such as charset allowed). */
export const goodContentType: fc.Arbitrary<string> = fc.constantFrom(
  'application/json',
  'application/json; charset=utf-8',
  'application/json;charset=UTF-8',
  'Application/JSON',
  'application/vnd.api+json',
  'application/merge-patch+json',
);

/** x-request-id values: sane ones must be echoed, anything else replaced. */
export const requestIdHeader: fc.Arbitrary<string> = fc.oneof(
  fc.stringMatching(/^[A-Za-z0-9._:-]{1,128}$/),
  fc.uuid(),
  headerValue,
  fc.constant('x'.repeat(129)),
  fc.constantFrom('a b', 'id\u00e9', '<x>', '../etc', ''),
);

export const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Idempotency-Key values the contract refuses (1-255 printable ASCII is the accepted form). */
export const badIdempotencyKey: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('', ' ', 'key with spaces', '\t', 'ключ', 'k\u00ff'),
  fc.constant(`${MARK}${'k'.repeat(300)}`),
  headerValue.filter((v) => !/^[\x21-\x7e]{1,255}$/.test(v)),
);

/** Authorization values that prove nothing. */
export function badAuthorization(validToken: string | undefined): fc.Arbitrary<string | undefined> {
  const token = validToken ?? 'e30.e30.';
  const parts = token.split('.');
  const none = `${b64({ alg: 'none', typ: 'JWT' })}.${parts[1] ?? b64({ sub: 'x' })}.`;
  return fc.oneof(
    fc.constantFrom(
      undefined,
      '',
      'Bearer',
      'Bearer ',
      'Basic dXNlcjpwYXNz',
      `Bearer ${none}`,
      `Bearer ${token}x`,
      `Bearer ${token} ${token}`,
      `Bearer ${parts[0]}.${parts[1]}.${'A'.repeat(parts[2]?.length ?? 10)}`,
      `Token ${token}`,
      'Bearer a.b.c',
      'Bearer ...',
    ),
    headerValue,
    headerValue.map((v) => `Bearer ${v}`),
  );
}

function b64(value: unknown): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}
