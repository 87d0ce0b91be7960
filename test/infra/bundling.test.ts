import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEPLOYED_ESBUILD } from '@svc/infra/bundling';
import { createApp } from '@svc/infra/create-app';
import { REPO_ROOT } from '@svc/infra/service-function';
import type { ServiceDefinition } from '@svc/platform/routes';
import { build } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { fixtureService } from './fixtures/service.js';

const outdir = mkdtempSync(join(tmpdir(), 'svc-cdk-'));
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

/** One route is enough to prove the real esbuild path; the other tests skip bundling. */
const oneRoute: ServiceDefinition = { name: 'fixture', routes: fixtureService.routes.slice(1, 2) };

describe('bundling (the one real esbuild synth)', () => {
  it('bundles an ESM .mjs with the require shim, readable names and a source map, and leaves SAM the asset path under the function id', async () => {
    const { app } = createApp({ services: [oneRoute], context: { stage: 'dev' }, nag: true, outdir });
    const assembly = app.synth();
    const template = JSON.parse(readFileSync(join(assembly.directory, 'Svc-dev.template.json'), 'utf8'));
    const fn = template.Resources.FixtureGetItem;
    expect(fn.Type).toBe('AWS::Lambda::Function');
    expect(fn.Metadata['aws:asset:property']).toBe('Code');
    const assetDir = join(assembly.directory, fn.Metadata['aws:asset:path']);
    const bundle = readFileSync(join(assetDir, 'index.mjs'), 'utf8');
    expect(bundle.startsWith("import { createRequire as __svcCreateRequire } from 'node:module';")).toBe(
      true,
    );
    expect(bundle).toMatch(/export\s*\{[^}]*handler/);
    expect(existsSync(join(assetDir, 'index.mjs.map'))).toBe(true);
    // Readable traces without --enable-source-maps: real names, and each module's lines under its path.
    expect(bundle).toMatch(/^\/\/ test\/infra\/fixtures\/handler\.ts$/m);
    expect(bundle).toMatch(/var handler = .*"handler"\)/);
    expect(fn.Properties.Environment.Variables.NODE_OPTIONS).toBeUndefined();
    expect(existsSync(join(assetDir, 'index.js'))).toBe(false);

    // `pnpm bench` bundles with DEPLOYED_ESBUILD directly: the same bytes as the deployed asset.
    const benchOut = join(outdir, 'bench', 'index.mjs');
    await build({
      ...DEPLOYED_ESBUILD,
      entryPoints: [join(REPO_ROOT, oneRoute.routes[0]?.handler ?? '')],
      outfile: benchOut,
      absWorkingDir: REPO_ROOT,
      logLevel: 'error',
    });
    expect(readFileSync(benchOut, 'utf8')).toBe(bundle);
  }, 120_000);
});
