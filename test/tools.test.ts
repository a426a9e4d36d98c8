/** skipWithout: a missing tool skips its tests locally and fails the run, with the reason, under CI=true. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');
const dir = mkdtempSync(join(tmpdir(), 'optsearch-tools-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const config = join(dir, 'vitest.config.mjs');
writeFileSync(config, `export default { test: { include: [${JSON.stringify(join(ROOT, 'test/fixtures/missing-tool.ts'))}] } };\n`);

function runFixture(ci: string | undefined) {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' };
  delete env.CI;
  if (ci !== undefined) env.CI = ci;
  const r = spawnSync(process.execPath, [join(ROOT, 'node_modules/vitest/vitest.mjs'), 'run', '--config', config, '--root', ROOT], { cwd: ROOT, env, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, out: r.stdout + r.stderr };
}

describe('a test whose tool is missing', () => {
  it('is skipped with the reason printed when CI is not set', () => {
    const r = runFixture(undefined);
    expect(r.status, r.out).toBe(0);
    expect(r.out).toContain('skipping the tests that need the frobnicator: no /usr/bin/frobnicate');
    expect(r.out).toMatch(/1 skipped/);
  });

  it('fails with the reason under CI=true', () => {
    const r = runFixture('true');
    expect(r.status, r.out).toBe(1);
    expect(r.out).toContain('the frobnicator is missing: no /usr/bin/frobnicate (.ci/run installs it)');
    expect(r.out).toMatch(/1 failed/);
  });
});
