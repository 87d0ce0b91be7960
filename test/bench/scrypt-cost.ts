/**
 * The CPU one password check costs at each scrypt cost (README Decisions, "Password hashing").
 * Run on its own: `pnpm exec tsx test/bench/scrypt-cost.ts [rounds]` (not part of `pnpm bench`).
 * Reports wall and CPU milliseconds per derivation (median of `rounds`, default 7) for r=8, p=1.
 */
import { randomBytes, scryptSync } from 'node:crypto';

const rounds = Number(process.argv[2] ?? 7);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

for (const log2N of [14, 15, 16, 17]) {
  const N = 2 ** log2N;
  const options = { N, r: 8, p: 1, maxmem: 256 * N * 8 };
  scryptSync('warm-up', randomBytes(16), 32, options);
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const salt = randomBytes(16);
    const started = performance.now();
    const before = process.cpuUsage();
    scryptSync('correct horse battery staple', salt, 32, options);
    const used = process.cpuUsage(before);
    wall.push(performance.now() - started);
    cpu.push((used.user + used.system) / 1000);
  }
  console.log(
    `N=2^${log2N} r=8 p=1  memory ${(128 * N * 8) / 2 ** 20} MiB  wall ${median(wall).toFixed(1)} ms  cpu ${median(cpu).toFixed(1)} ms`,
  );
}
