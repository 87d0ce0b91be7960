// The deployed bundles replace `jsonschema` with infra/lib/stubs/jsonschema.cjs (infra/lib/bundling.ts). ElectroDB
// asks it two things: is an entity's model valid (the real validator answers that here, in the tests, for every
// model we construct) and is what a Service is handed a model or an entity. The stand-in must give the second
// answer exactly as the real validator does, for every model and entity of ours.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';

type Validations = { model: (m: unknown) => void; testModel: (m: unknown) => [boolean, string] };
const require = createRequire(import.meta.url);
const electrodbDir = dirname(
  require.resolve('electrodb/package.json', { paths: [join(process.cwd(), 'packages/visits')] }),
);
const fromElectro = createRequire(join(electrodbDir, 'index.js'));
const validationsPath = fromElectro.resolve('./src/validations.js');
const jsonschemaPath = fromElectro.resolve('jsonschema');

// The real module (ElectroDB's own copy, the one the entities use); every model it validates is recorded.
const real = fromElectro(validationsPath) as Validations;
const models: unknown[] = [];
const validate = real.model;
real.model = (m) => {
  models.push(m);
  validate(m);
};

/** A second copy of ElectroDB's validations, loaded with the stand-in in place of jsonschema. */
function withStub(): Validations {
  const saved = { validations: require.cache[validationsPath], jsonschema: require.cache[jsonschemaPath] };
  try {
    delete require.cache[validationsPath];
    const stubPath = require.resolve('../../infra/lib/stubs/jsonschema.cjs');
    require(stubPath);
    require.cache[jsonschemaPath] = require.cache[stubPath];
    return fromElectro(validationsPath) as Validations;
  } finally {
    require.cache[validationsPath] = saved.validations;
    require.cache[jsonschemaPath] = saved.jsonschema;
  }
}

describe('the jsonschema stand-in of the deployed bundles', () => {
  it('tells our models from our entities (and from other things) exactly as the real validator does', async () => {
    const modules = await Promise.all([
      import('@svc/assistance/entities'),
      import('@svc/dispatch/entities'),
      import('@svc/stats/entities'),
      import('@svc/tasks/entities'),
      import('@svc/visits/entities'),
    ]);
    const entities = modules.flatMap((m) =>
      Object.values(m).filter((v) => (v as { _instance?: unknown })?._instance !== undefined),
    );
    expect(entities.length).toBeGreaterThan(10);
    expect(models.length).toBeGreaterThanOrEqual(entities.length);
    const stub = withStub();
    expect(stub).not.toBe(real);
    for (const value of [...models, ...entities, {}, { model: {} }, { attributes: {}, indexes: {} }, null]) {
      const [realSays] = real.testModel(value);
      const [stubSays] = stub.testModel(value);
      expect(stubSays).toBe(realSays);
    }
    // Every model of ours is valid (the real validator would have thrown at construction otherwise).
    for (const m of models) expect(real.testModel(m)[0]).toBe(true);
  });
});
