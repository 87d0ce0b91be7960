import { existsSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { REPO_ROOT } from '@svc/infra/service-function';
import { services } from '@svc/infra/services';
import { describe, expect, it } from 'vitest';
import { declaredFunctions } from './synth.js';

const COMMAND =
  /^sam local invoke -t cdk\.out\/Svc-dev\.template\.json (\S+) --env-vars \.sam\/env\.dev\.json -e (\S+)$/gm;

describe('README SAM commands', () => {
  const readme = readFileSync(`${REPO_ROOT}README.md`, 'utf8');
  const listed = [...readme.matchAll(COMMAND)].map(([, id, event]) => `${id} ${event}`);

  it('list every function of the registry once, with its own sample event', () => {
    const expected = services.flatMap((service) =>
      declaredFunctions(service).map(
        (f) => `${f.functionName} events/${service.name}/${basename(f.handler, '.ts')}.json`,
      ),
    );
    expect(expected.length).toBeGreaterThan(0);
    expect([...listed].sort()).toEqual([...expected].sort());
  });

  it('name event files that exist', () => {
    for (const line of listed) expect(existsSync(`${REPO_ROOT}${line.split(' ')[1]}`), line).toBe(true);
  });
});
