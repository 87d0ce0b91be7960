// `pnpm bench` compares every function with its bare-SDK twin; a function added to a route table without
// one would silently drop out of the comparison, and a twin that grew a framework would stop being the limit.
import { existsSync, readFileSync } from 'node:fs';
import { REPO_ROOT } from '@svc/infra/service-function';
import { services } from '@svc/infra/services';
import { describe, expect, it } from 'vitest';
import { declaredFunctions } from '../infra/synth.js';

const kebab = (name: string) => name.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
const twinOf = (functionName: string) => `${REPO_ROOT}test/bench/minimal/${kebab(functionName)}.ts`;
const FUNCTIONS = services.flatMap((service) => declaredFunctions(service).map((f) => f.functionName));

describe('bench twins (test/bench/minimal)', () => {
  it('exist for every function of the registry', () => {
    expect(FUNCTIONS.length).toBeGreaterThan(20);
    expect(FUNCTIONS.filter((name) => !existsSync(twinOf(name)))).toEqual([]);
  });

  it('import only the bare SDK, jose, node builtins and each other', () => {
    // infra/openapi.json: data (the $default route's list of paths), not code.
    const allowed =
      /^(@aws-sdk\/[\w-]+|jose|node:[\w/]+|\.\/[\w-]+\.js|\.\.\/\.\.\/\.\.\/infra\/openapi\.json)$/;
    const offending: string[] = [];
    for (const name of FUNCTIONS.filter((n) => existsSync(twinOf(n)))) {
      const seen = new Set<string>();
      const visit = (file: string) => {
        if (seen.has(file)) return;
        seen.add(file);
        for (const [, from] of readFileSync(file, 'utf8').matchAll(/from '([^']+)'/g)) {
          if (!from || !allowed.test(from)) offending.push(`${file}: ${from}`);
          else if (from.startsWith('./') && from.endsWith('.js'))
            visit(`${REPO_ROOT}test/bench/minimal/${from.slice(2).replace(/\.js$/, '.ts')}`);
        }
      };
      visit(twinOf(name));
    }
    expect(offending).toEqual([]);
  });
});
