/** `optsearch eval` on a backend named outright: simd trains on the engine, with no tfjs start. */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { expect, it } from 'vitest';

const ROOT = new URL('../..', import.meta.url).pathname;

it('eval --backend simd trains every run on the engine', () => {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/optsearch.mjs'), 'eval', 'search-spaces/programs/lion.prog', '--tasks', 'quadratic', '--lr-multipliers', '3,1', '--backend', 'simd', '--workers', '0', '--json'], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 120_000,
  });
  expect(r.status, r.stderr).toBe(0);
  const reports = JSON.parse(r.stdout) as { seeds: { perMultiplier: { backend: string }[] }[] }[];
  const backends = reports.flatMap((t) => t.seeds.flatMap((s) => s.perMultiplier.map((m) => m.backend)));
  expect(backends).toEqual(['simd', 'simd']);
});
