import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { OPS, PAPER_OPS } from '../../src/dsl/ops.ts';
import { FIDELITIES } from '../../src/vocabulary/index.ts';
import { listSearchSpaces, loadSearchSpace, SPACES_DIR, SpaceError, type SearchSpace } from '../../src/search/space.ts';

const REPO = resolve(import.meta.dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'optsearch-space-'));
mkdirSync(join(dir, 'programs'));
for (const p of ['adamw.prog', 'lion.prog', 'sgd.prog']) copyFileSync(join(REPO, 'search-spaces/programs', p), join(dir, 'programs', p));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const base = JSON.parse(readFileSync(join(REPO, 'search-spaces/laptop.json'), 'utf8')) as Record<string, unknown>;

let counter = 0;
/** Write a variant of laptop.json (edit applied to a deep copy) and return its path. */
function variant(edit: (j: Record<string, any>) => void): string {
  const j = structuredClone(base) as Record<string, any>;
  edit(j);
  const file = join(dir, `space${counter++}.json`);
  writeFileSync(file, JSON.stringify(j));
  return file;
}

function loadError(file: string): SpaceError {
  try {
    loadSearchSpace(file);
  } catch (e) {
    expect(e).toBeInstanceOf(SpaceError);
    return e as SpaceError;
  }
  throw new Error(`${file} loaded, expected an error`);
}

describe('shipped spaces', () => {
  it('every file in search-spaces/ loads, and a bare name resolves there', () => {
    const names = listSearchSpaces();
    expect(names).toEqual(expect.arrayContaining(['laptop', 'lion', 'lion-k']));
    for (const n of names) {
      const s = loadSearchSpace(n);
      expect(s.name).toBe(n);
      expect(resolve(REPO, s.file)).toBe(join(SPACES_DIR, `${n}.json`));
      expect(s.warmStart.program.statements.length).toBeGreaterThan(0);
      expect(s.population.tournament).toBeLessThanOrEqual(s.population.size);
    }
  });

  it("lion is the paper's setting: every paper op, P = 1000, T = 2, AdamW warm start", () => {
    const s = loadSearchSpace('lion');
    expect([...s.ops].sort()).toEqual([...PAPER_OPS].sort());
    expect(s.population).toEqual({ size: 1000, tournament: 2 });
    expect(s.warmStart.resolved).toBe(join(SPACES_DIR, 'programs/adamw.prog'));
    expect(s.warmStart.text).toBe(readFileSync(join(REPO, 'search-spaces/programs/adamw.prog'), 'utf8'));
    expect(s.constants.mutation.multiplyProb).toBeGreaterThan(0);
    expect(s.constants.mutation.multiplyProb).toBeLessThan(1);
    expect(s.mutation.weights.insert).toBe(s.mutation.weights.delete);
    expect(s.mutation.weights.modifyArgument + s.mutation.weights.modifyConstant).toBe(s.mutation.weights.insert);
  });

  it('lion-k adds every Lion-K direction map to the paper ops', () => {
    const s = loadSearchSpace('lion-k');
    const lionk = OPS.filter((o) => o.group === 'lionk').map((o) => o.name);
    expect(lionk.length).toBeGreaterThan(0);
    expect([...s.ops].sort()).toEqual([...PAPER_OPS, ...lionk].sort());
  });

  it("laptop is small: P in [32, 64], T in [4, 8], AdamW's and Lion's ops plus at least 10 more", () => {
    const s = loadSearchSpace('laptop');
    expect(s.population.size).toBeGreaterThanOrEqual(32);
    expect(s.population.size).toBeLessThanOrEqual(64);
    expect(s.population.tournament).toBeGreaterThanOrEqual(4);
    expect(s.population.tournament).toBeLessThanOrEqual(8);
    const adamwLion = new Set<string>();
    for (const f of ['adamw.prog', 'lion.prog']) {
      const space = loadSearchSpace(variant((j) => (j.warmStart = join(REPO, 'search-spaces/programs', f))));
      for (const st of space.warmStart.program.statements) adamwLion.add(st.op);
    }
    for (const op of adamwLion) expect(s.ops).toContain(op);
    expect(s.ops.length - adamwLion.size).toBeGreaterThanOrEqual(10);
    for (const op of s.ops) expect(PAPER_OPS).toContain(op);
  });

  it('a loaded space is frozen all the way down', () => {
    const s = loadSearchSpace('laptop') as SearchSpace & Record<string, any>;
    expect(() => {
      (s as any).population.size = 5;
    }).toThrow(TypeError);
    expect(() => {
      (s.ops as string[]).push('exp');
    }).toThrow(TypeError);
    expect(Object.isFrozen(s.warmStart.program.statements[0])).toBe(true);
  });
});

describe('fidelities', () => {
  it('a space accepts exactly the fidelities the proxy layer builds', () => {
    for (const f of FIDELITIES) expect(loadSearchSpace(variant((j) => ((j.fidelity = f), (j.warmStart = 'programs/adamw.prog')))).fidelity).toBe(f);
  });
});

describe('defaults', () => {
  it('optional fields take their documented defaults', () => {
    const file = variant((j) => {
      for (const k of ['description', 'slots', 'length', 'constants', 'insert', 'mutation', 'restart', 'fidelity', 'seedsPerEvaluation', 'lrMultipliers', 'limits', '$comment']) delete j[k];
      j.warmStart = 'programs/adamw.prog';
    });
    const s = loadSearchSpace(file);
    expect(s.slots).toEqual(['m', 'v']);
    expect(s.length).toEqual({ min: 1, max: 30 });
    expect(s.constants.mutation).toEqual({ multiplyProb: 0.5, log2Std: 1, clamp: 1e10, digits: 6 });
    expect(s.constants.insert).toEqual({ kind: 'normal', mean: 0, std: 1 });
    expect(s.mutation.weights).toEqual({ insert: 1, delete: 1, modifyArgument: 0.5, modifyConstant: 0.5 });
    expect(s.mutation.maxTries).toBe(1000);
    expect(s.restart.afterWithoutImprovement).toBeNull();
    expect(s.fidelity).toBe(1);
    expect(s.seedsPerEvaluation).toBe(1);
    expect(s.lrMultipliers).toEqual([1]);
    expect(s.limits.timeoutSeconds).toBe(600);
  });

  it('lr multipliers such as [1, 1/3, 1/10] are kept in order', () => {
    const s = loadSearchSpace(variant((j) => (j.lrMultipliers = [1, 1 / 3, 0.1])));
    expect(s.lrMultipliers).toEqual([1, 1 / 3, 0.1]);
  });
});

describe('each wrong field is named with its file', () => {
  const cases: [string, (j: Record<string, any>) => void, RegExp][] = [
    ['negative insert weight', (j) => (j.mutation.weights.insert = -1), /mutation\.weights\.insert must be a non-negative number/],
    ['string weight', (j) => (j.mutation.weights.delete = '1'), /mutation\.weights\.delete must be a non-negative number/],
    ['all weights zero', (j) => (j.mutation.weights = { insert: 0, delete: 0, modifyArgument: 0, modifyConstant: 0 }), /mutation\.weights must have at least one positive weight/],
    ['unknown weight', (j) => (j.mutation.weights.crossover = 1), /mutation\.weights\.crossover is not a known field/],
    ['unknown op', (j) => j.ops.push('softmax'), /ops\[19\] names the unknown op 'softmax'/],
    ['repeated op', (j) => j.ops.push('add'), /ops\[19\] repeats 'add'/],
    ['empty ops', (j) => (j.ops = []), /ops must not be empty/],
    ['ops not a list', (j) => (j.ops = 'add'), /ops must be a list of strings/],
    ['missing population', (j) => delete j.population, /population must be an object/],
    ['population size 0', (j) => (j.population.size = 0), /population\.size must be an integer >= 2/],
    ['fractional tournament', (j) => (j.population.tournament = 2.5), /population\.tournament must be an integer >= 1/],
    ['tournament above size', (j) => (j.population.tournament = 100), /population\.tournament must be <= population\.size \(48\)/],
    ['max below min', (j) => (j.length = { min: 5, max: 3 }), /length\.max must be >= length\.min \(5\)/],
    ['negative min', (j) => (j.length.min = -1), /length\.min must be an integer >= 0/],
    ['probability above 1', (j) => (j.constants.mutation.multiplyProb = 1.5), /constants\.mutation\.multiplyProb must be a number in \[0, 1\]/],
    ['zero log2Std', (j) => (j.constants.mutation.log2Std = 0), /constants\.mutation\.log2Std must be a positive number/],
    ['digits above 17', (j) => (j.constants.mutation.digits = 20), /constants\.mutation\.digits must be an integer <= 17/],
    ['unknown distribution', (j) => (j.constants.insert = { kind: 'cauchy' }), /constants\.insert\.kind must be one of normal, fixed, mixed \(got 'cauchy'\)/],
    ['fixed without value', (j) => (j.constants.insert = { kind: 'fixed' }), /constants\.insert\.value is required/],
    ['normal with value', (j) => (j.constants.insert = { kind: 'normal', value: 1 }), /constants\.insert\.value is not a known field/],
    ['zero std', (j) => (j.constants.insert = { kind: 'normal', std: 0 }), /constants\.insert\.std must be a positive number/],
    ['constantProb', (j) => (j.insert.constantProb = -0.1), /insert\.constantProb must be a number in \[0, 1\]/],
    ['missing tasks', (j) => delete j.tasks, /tasks is required/],
    ['empty task name', (j) => (j.tasks = ['']), /tasks\[0\] must be a non-empty string/],
    ['zero fidelity', (j) => (j.fidelity = 0), /fidelity must be a positive number/],
    ['fidelity the proxy does not build', (j) => (j.fidelity = 5), /fidelity must be one of 1, 10, 100 \(got 5\)/],
    ['seeds 0', (j) => (j.seedsPerEvaluation = 0), /seedsPerEvaluation must be an integer >= 1/],
    ['negative lr multiplier', (j) => (j.lrMultipliers = [1, -0.1]), /lrMultipliers\[1\] must be a positive number/],
    ['empty lr multipliers', (j) => (j.lrMultipliers = []), /lrMultipliers must be a non-empty list of positive numbers/],
    ['timeout', (j) => (j.limits.timeoutSeconds = 'soon'), /limits\.timeoutSeconds must be a positive number/],
    ['restart 0', (j) => (j.restart.afterWithoutImprovement = 0), /restart\.afterWithoutImprovement must be an integer >= 1/],
    ['typo at top level', (j) => (j.populaton = 3), /populaton is not a known field/],
    ['bad slot name', (j) => (j.slots = ['m', '2v']), /slots\[1\] '2v' is not a valid variable name/],
    ['slots differ from warm start', (j) => (j.slots = ['m']), /warmStart program's state slots \(m, v\) differ from slots \(m\)/],
    ['warm start missing', (j) => (j.warmStart = 'programs/nope.prog'), /warmStart names 'programs\/nope\.prog', which is not a file/],
    ['warm start not a string', (j) => (j.warmStart = 3), /warmStart must be a string/],
    ['warm start op outside ops', (j) => (j.ops = j.ops.filter((o: string) => o !== 'sqrt')), /warmStart program uses 'sqrt', which is not in ops/],
    ['warm start too long', (j) => (j.length.max = 5), /warmStart program has 9 statements, more than length\.max \(5\)/],
  ];
  for (const [what, edit, message] of cases) {
    it(what, () => {
      const file = variant((j) => {
        j.warmStart = 'programs/adamw.prog';
        edit(j);
      });
      const e = loadError(file);
      expect(e.message.startsWith(`${file}: `)).toBe(true);
      expect(e.message).toMatch(message);
      expect(e.message).not.toContain('\n');
    });
  }

  it('a warm start that does not parse or check is reported with file:line:col', () => {
    writeFileSync(join(dir, 'programs/broken.prog'), 'def train(w, g, m, v, lr):\n  u = frob(g)\n  return u, m, v\n');
    writeFileSync(join(dir, 'programs/syntax.prog'), 'def train(w, g, m, v, lr)\n  return g, m, v\n');
    const e1 = loadError(variant((j) => (j.warmStart = 'programs/broken.prog')));
    expect(e1.message).toMatch(/warmStart program is invalid: programs\/broken\.prog:2:\d+: unknown function 'frob'/);
    const e2 = loadError(variant((j) => (j.warmStart = 'programs/syntax.prog')));
    expect(e2.message).toMatch(/warmStart program does not parse: programs\/syntax\.prog:1:\d+/);
  });

  it('a file that is not JSON, not an object, or missing', () => {
    const bad = join(dir, 'notjson.json');
    writeFileSync(bad, '{ "ops": [');
    expect(loadError(bad).message).toMatch(new RegExp(`^${bad}: is not valid JSON`));
    const arr = join(dir, 'array.json');
    writeFileSync(arr, '[]');
    expect(loadError(arr).message).toBe(`${arr}: must be an object`);
    expect(loadError(join(dir, 'missing.json')).message).toBe(`${join(dir, 'missing.json')}: no such search space file`);
    const e = loadError('no-such-space');
    expect(e.message).toMatch(/search-spaces\/no-such-space\.json: no such search space file \(shipped spaces: .*laptop.*lion.*\)/);
  });
});
