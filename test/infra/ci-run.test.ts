import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '@svc/infra/service-function';
import { afterAll, describe, expect, it } from 'vitest';

const script = readFileSync(join(REPO_ROOT, '.ci/run'), 'utf8');
const javaMajor = /^java_major\(\) \{\n[\s\S]*?\n\}$/m.exec(script)?.[0];
const dirs: string[] = [];

/** `java_major` from .ci/run, run against a fake `java` that prints `versionLine` (none: no java at all). */
function majorWith(versionLine: string | undefined): string {
  const dir = mkdtempSync(join(tmpdir(), 'ci-java-'));
  dirs.push(dir);
  if (versionLine !== undefined) {
    writeFileSync(join(dir, 'java'), `#!/bin/sh\necho '${versionLine}' >&2\n`);
    chmodSync(join(dir, 'java'), 0o755);
  }
  return execFileSync('/bin/bash', ['-c', `set -euo pipefail\n${javaMajor}\njava_major`], {
    // Without a fake java the PATH is only the empty dir, so the machine's own java cannot answer.
    env: { PATH: versionLine === undefined ? dir : `${dir}:/bin:/usr/bin` },
    encoding: 'utf8',
  }).trim();
}

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('.ci/run', () => {
  it('is valid bash and installs Java when the one on PATH is older than 17', () => {
    execFileSync('/bin/bash', ['-n', join(REPO_ROOT, '.ci/run')]);
    expect(javaMajor).toBeDefined();
    expect(script).toMatch(/if \[ "\$\(java_major\)" -lt 17 \]; then/);
  });

  it.each([
    ['openjdk version "17.0.15" 2025-04-15', '17'],
    ['openjdk version "21" 2023-09-19', '21'],
    ['openjdk version "11.0.2" 2019-01-15', '11'],
    ['java version "1.8.0_301"', '8'],
    ['something unexpected', '0'],
    [undefined, '0'],
  ])('reads the Java major version from %j as %s', (line, major) => {
    expect(majorWith(line)).toBe(major);
  });
});
