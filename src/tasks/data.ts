/**
 * Small deterministic data sets for the proxy tasks: the real tables in proxy-tasks/data/ (see its
 * README for credits) and a generated text corpus. Everything is host-side Float32/Int32 arrays;
 * tasks upload what they need.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { Rng } from '../util/rng.ts';

export const PROXY_TASKS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'proxy-tasks');
export const DATA_DIR = join(PROXY_TASKS_DIR, 'data');

export interface TabularDataset {
  readonly name: string;
  /** Row-major n x features. */
  readonly x: Float32Array;
  readonly y: Int32Array;
  readonly n: number;
  readonly features: number;
  readonly classes: number;
}

export const DATASET_NAMES = ['digits', 'breast-cancer'] as const;
export type DatasetName = (typeof DATASET_NAMES)[number];

const cache = new Map<string, TabularDataset>();

function parseRows(text: string, skipHeader: boolean): number[][] {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  return (skipHeader ? lines.slice(1) : lines).map((l) => l.split(',').map(Number));
}

function fromRows(name: string, rows: number[][], scale: (x: Float32Array, n: number, d: number) => void): TabularDataset {
  const n = rows.length;
  const d = (rows[0]?.length ?? 1) - 1;
  const x = new Float32Array(n * d);
  const y = new Int32Array(n);
  rows.forEach((r, i) => {
    if (r.length !== d + 1 || r.some((v) => !Number.isFinite(v))) throw new Error(`${name}: malformed row ${i + 1}`);
    for (let j = 0; j < d; j++) x[i * d + j] = r[j] as number;
    y[i] = r[d] as number;
  });
  scale(x, n, d);
  let classes = 0;
  for (const c of y) classes = Math.max(classes, c + 1);
  return { name, x, y, n, features: d, classes };
}

/** Per-feature mean 0 and standard deviation 1 (over the whole table: the split is fixed). */
function standardise(x: Float32Array, n: number, d: number): void {
  for (let j = 0; j < d; j++) {
    let mean = 0;
    for (let i = 0; i < n; i++) mean += x[i * d + j] as number;
    mean /= n;
    let v = 0;
    for (let i = 0; i < n; i++) v += ((x[i * d + j] as number) - mean) ** 2;
    const sd = Math.sqrt(v / n) || 1;
    for (let i = 0; i < n; i++) x[i * d + j] = ((x[i * d + j] as number) - mean) / sd;
  }
}

export function loadDataset(name: DatasetName): TabularDataset {
  const hit = cache.get(name);
  if (hit) return hit;
  let ds: TabularDataset;
  if (name === 'digits') {
    const text = gunzipSync(readFileSync(join(DATA_DIR, 'digits.csv.gz'))).toString('utf8');
    // pixels 0..16 scaled to [0, 1], so images keep their shape for the convnet
    ds = fromRows('digits', parseRows(text, false), (x) => {
      for (let i = 0; i < x.length; i++) x[i] = (x[i] as number) / 16;
    });
  } else {
    ds = fromRows('breast-cancer', parseRows(readFileSync(join(DATA_DIR, 'breast_cancer.csv'), 'utf8'), true), standardise);
  }
  cache.set(name, ds);
  return ds;
}

export interface Split {
  readonly train: Int32Array;
  readonly validation: Int32Array;
}

/** A fixed train/validation split of row indices: a shuffle by splitSeed, the last fraction held out. */
export function splitIndices(n: number, validationFraction: number, splitSeed: number): Split {
  const idx = Array.from({ length: n }, (_, i) => i);
  new Rng(splitSeed).shuffle(idx);
  const nVal = Math.round(n * validationFraction);
  return { train: Int32Array.from(idx.slice(0, n - nVal)), validation: Int32Array.from(idx.slice(n - nVal)) };
}

/** Rows `rows` of a dataset gathered into a new Float32Array (and their labels). */
export function gatherRows(ds: TabularDataset, rows: ArrayLike<number>): { x: Float32Array; y: Int32Array } {
  const d = ds.features;
  const x = new Float32Array(rows.length * d);
  const y = new Int32Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i] as number;
    x.set(ds.x.subarray(r * d, (r + 1) * d), i * d);
    y[i] = ds.y[r] as number;
  }
  return { x, y };
}

// --- generated text corpus ---------------------------------------------------------------------

const NOUNS = ['cat', 'dog', 'bird', 'fox', 'child', 'farmer', 'robot', 'river', 'tree', 'house', 'ship', 'lamp'];
const ADJECTIVES = ['small', 'red', 'old', 'quiet', 'bright', 'green', 'tall', 'cold'];
const VERBS: readonly [string, string][] = [
  ['sees', 'see'],
  ['likes', 'like'],
  ['finds', 'find'],
  ['follows', 'follow'],
  ['builds', 'build'],
  ['paints', 'paint'],
];
const PLACES = ['near the hill', 'by the sea', 'in the town', 'under the bridge', 'at night', 'in spring'];

function nounPhrase(rng: Rng): { text: string; plural: boolean } {
  const plural = rng.next() < 0.35;
  const det = plural ? rng.pick(['the', 'some', 'two']) : rng.pick(['the', 'a', 'one']);
  const adj = rng.next() < 0.5 ? `${rng.pick(ADJECTIVES)} ` : '';
  const noun = rng.pick(NOUNS);
  return { text: `${det} ${adj}${plural ? `${noun}s` : noun}`, plural };
}

/**
 * A deterministic English-like corpus from a small grammar with subject-verb agreement
 * ("the cat sees", "two cats see"), so a character model has structure to learn at several ranges.
 * Generated here, not copied from any text.
 */
export function generateCorpus(chars: number, corpusSeed: number): string {
  const rng = new Rng(corpusSeed);
  const parts: string[] = [];
  let length = 0;
  while (length < chars) {
    const s = nounPhrase(rng);
    const verb = rng.pick(VERBS);
    const o = nounPhrase(rng);
    let sentence = `${s.text} ${s.plural ? verb[1] : verb[0]} ${o.text}`;
    if (rng.next() < 0.4) sentence += ` ${rng.pick(PLACES)}`;
    sentence = `${sentence}. `;
    parts.push(sentence);
    length += sentence.length;
  }
  return parts.join('').slice(0, chars);
}
