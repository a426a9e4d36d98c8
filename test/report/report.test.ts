import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser } from 'playwright-core';
import { createEvaluationPool } from '../../src/pool/pool.ts';
import { buildReport, type Report } from '../../src/report/report.ts';
import { startSearch } from '../../src/runner/search.ts';
import { openStore } from '../../src/store/db.ts';
import { skipWithout } from '../tools.ts';

const ROOT = new URL('../..', import.meta.url).pathname;
const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(ROOT, 'test-artifacts');
let dir: string;
let db: string;
let report: Report;

/** Debian's chromium (.ci/run installs it; a test never installs software). */
const skipBrowser = skipWithout('Chromium', existsSync(CHROMIUM) ? undefined : `no ${CHROMIUM} (apt-get install chromium)`);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'optsearch-report-'));
  db = join(dir, 'r.sqlite');
  const pool = createEvaluationPool({ size: 2 });
  const store = openStore(db);
  try {
    await startSearch(
      store,
      { space: 'laptop', tasks: 'quadratic', budget: 10, timeLimitSeconds: null, workers: 2, seed: 2, deterministic: true, backend: 'wasm', funnelEntrants: 2, funnelFidelities: [10] },
      'report-test',
      { pool },
    );
    report = await buildReport(store, 1);
  } finally {
    store.close();
    await pool.close();
  }
}, 600_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('HTML report', () => {
  it('is self-contained: no scripts, no external resources', () => {
    expect(report.html).not.toMatch(/<script/i);
    expect(report.html).not.toMatch(/<link /i);
    expect(report.html).not.toMatch(/(src|href)=["']?https?:/i);
    for (const c of report.charts) expect(c.points, c.id).toBeGreaterThan(0);
  });

  it.skipIf(skipBrowser)('opens in headless Chromium with no console errors and every chart drawn', async () => {
    const file = join(dir, 'report.html');
    writeFileSync(file, report.html);
    let browser: Browser | undefined;
    try {
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      });
      const page = await browser.newPage({ viewport: { width: 1100, height: 1400 } });
      const errors: string[] = [];
      const requests: string[] = [];
      page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
      page.on('pageerror', (e) => errors.push(e.message));
      page.on('request', (r) => !r.url().startsWith('file://') && requests.push(r.url()));
      await page.goto(`file://${file}`);
      expect(errors).toEqual([]);
      expect(requests).toEqual([]);
      const marks = await page.evaluate(() =>
        Array.from(document.querySelectorAll('figure')).map((f) => ({
          id: f.id,
          svg: f.querySelectorAll('svg').length,
          marks: f.querySelectorAll('svg .mark-line path, svg .mark-area path, svg .mark-symbol path, svg .mark-path path, svg .mark-text text').length,
        })),
      );
      expect(marks.map((m) => m.id).sort()).toEqual(['chart-cache', 'chart-families', 'chart-fitness', 'chart-funnel', 'chart-lineage']);
      for (const m of marks) {
        expect(m.svg, m.id).toBe(1);
        expect(m.marks, m.id).toBeGreaterThan(0);
      }
      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS, 'report.png'), fullPage: true });
    } finally {
      await browser?.close();
    }
  }, 120_000);

  it('CLI: writes the report; bad input gets one line and exit code 2', () => {
    const bin = join(ROOT, 'bin/optsearch.mjs');
    const out = join(dir, 'cli.html');
    const ok = spawnSync(process.execPath, [bin, 'report', '1', '--db', db, '-o', out], { cwd: ROOT, encoding: 'utf8' });
    expect(ok.status).toBe(0);
    expect(existsSync(out)).toBe(true);
    for (const [args, pattern] of [
      [['report', '77', '--db', db], /no run '77'/],
      [['report', '1', '--db', db, '-o', join(dir, 'missing', 'r.html')], /does not exist/],
      [['report', '1', '--db', join(dir, 'nope.sqlite')], /no such database/],
    ] as [string[], RegExp][]) {
      const r = spawnSync(process.execPath, [bin, ...args], { cwd: ROOT, encoding: 'utf8' });
      expect(r.status).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(pattern);
      expect(r.stdout).toBe('');
    }
    expect(existsSync(join(dir, 'missing'))).toBe(false);
  });
});
