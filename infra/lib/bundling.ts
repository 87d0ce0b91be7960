import { fileURLToPath } from 'node:url';
import type { BundlingOptions } from 'aws-cdk-lib/aws-lambda-nodejs';
import { OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';

/**
 * Packages the deployed bundles take from elsewhere (absolute paths: esbuild resolves aliases from its working
 * directory). `jsonschema`: ElectroDB's model check, replaced by a stand-in that still tells a model from an
 * entity (infra/lib/stubs/jsonschema.cjs; README Decisions, figures in BENCHMARKS.md section 3).
 */
export const BUNDLE_ALIASES: Record<string, string> = {
  jsonschema: fileURLToPath(new URL('./stubs/jsonschema.cjs', import.meta.url)),
};

/** ESM bundles still meet CommonJS dependencies that call `require` for Node built-ins. */
export const ESM_REQUIRE_SHIM =
  "import { createRequire as __svcCreateRequire } from 'node:module'; const require = __svcCreateRequire(import.meta.url);";

/**
 * The esbuild options of every deployed function, in esbuild's own terms, written once: `ServiceFunction`
 * turns them into NodejsFunction bundling props (`nodejsBundling`) and `pnpm bench` builds its bundles (and
 * the bare-SDK twins) with them directly, so what the bench times is what deploys (test/infra/bundling.test.ts
 * compares the two byte for byte).
 */
export const DEPLOYED_ESBUILD: {
  bundle: true;
  platform: 'node';
  format: 'esm';
  target: string;
  mainFields: string[];
  banner: { js: string };
  alias: Record<string, string>;
  minifySyntax: boolean;
  keepNames: boolean;
  sourcemap: boolean;
  sourcesContent: boolean;
} = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node24',
  mainFields: ['module', 'main'],
  banner: { js: ESM_REQUIRE_SHIM },
  alias: BUNDLE_ALIASES,
  // Readable stack traces without NODE_OPTIONS=--enable-source-maps (README Decisions, figures from
  // test/bench/source-maps.ts): syntax minified, identifiers and line breaks kept, so a trace names
  // the real functions and its line sits under esbuild's `// packages/<svc>/src/<file>.ts` comment.
  // The map is still written beside the bundle, for mapping a trace offline.
  minifySyntax: true,
  keepNames: true,
  sourcemap: true,
  sourcesContent: false,
};

/** `DEPLOYED_ESBUILD` as NodejsFunction bundling props (the SDK bundled: the lockfile's version, not the runtime's). */
export function nodejsBundling(): BundlingOptions {
  const o = DEPLOYED_ESBUILD;
  return {
    format: OutputFormat.ESM,
    target: o.target,
    mainFields: [...o.mainFields],
    banner: o.banner.js,
    minify: false,
    keepNames: o.keepNames,
    esbuildArgs: {
      '--minify-syntax': o.minifySyntax,
      ...Object.fromEntries(Object.entries(o.alias).map(([from, to]) => [`--alias:${from}`, to])),
    },
    sourceMap: o.sourcemap,
    sourcesContent: o.sourcesContent,
    // Bundle the SDK: the runtime's copy changes under us; the lockfile's does not.
    bundleAwsSDK: true,
    externalModules: [],
  };
}
