import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import type { LayersModel, Tensor, Variable } from '@tensorflow/tfjs';
import { createOptimizer, ProgramOptimizer } from '../../src/export/tfjs.ts';
import { initBackend } from '../../src/proxy/backend.ts';
import { compileProgram } from '../../src/proxy/compile.ts';
import { gatherRows, loadDataset, splitIndices } from '../../src/tasks/data.ts';
import { parseProgram } from '../../src/dsl/parse.ts';
import { exportProgram } from '../../src/export/index.ts';

const LION = readFileSync(new URL('../../search-spaces/programs/lion.prog', import.meta.url), 'utf8');
const ADAMW = readFileSync(new URL('../../search-spaces/programs/adamw.prog', import.meta.url), 'utf8');
const BATCH = 64;
const BATCHES = 12;

let xs: Tensor;
let ys: Tensor;

function buildModel(): LayersModel {
  const model = tf.sequential();
  model.add(tf.layers.dense({ inputShape: [64], units: 32, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }));
  model.add(tf.layers.dense({ units: 10, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }));
  return model;
}

async function cloneWeightsInto(from: LayersModel, to: LayersModel): Promise<void> {
  to.setWeights(from.getWeights().map((w) => w.clone()));
}

/** Per-batch losses of model.fit with the exported optimizer (no shuffling). */
async function fitLosses(model: LayersModel, from: number, to: number): Promise<number[]> {
  const losses: number[] = [];
  const x = xs.slice([from * BATCH, 0], [(to - from) * BATCH, 64]);
  const y = ys.slice([from * BATCH, 0], [(to - from) * BATCH, 10]);
  await model.fit(x, y, {
    batchSize: BATCH,
    epochs: 1,
    shuffle: false,
    verbose: 0,
    callbacks: { onBatchEnd: async (_b, logs) => void losses.push(logs?.['loss'] as number) },
  });
  x.dispose();
  y.dispose();
  return losses;
}

/** The same training through the proxy evaluator's compiled step and tf.variableGrads. */
async function compiledLosses(model: LayersModel, programText: string, batches: number): Promise<number[]> {
  const weights = model.trainableWeights.map((w) => w.read() as Variable);
  const step = compileProgram(tf, parseProgram(programText), weights);
  const losses: number[] = [];
  for (let b = 0; b < batches; b++) {
    const x = xs.slice([b * BATCH, 0], [BATCH, 64]);
    const y = ys.slice([b * BATCH, 0], [BATCH, 10]);
    const { value, grads } = tf.variableGrads(() => tf.metrics.categoricalCrossentropy(y, model.apply(x) as Tensor).mean() as tf.Scalar, weights);
    losses.push((await value.data())[0] as number);
    step.apply(weights.map((w) => grads[w.name] as Tensor), 1);
    tf.dispose([x, y, value, ...Object.values(grads)]);
  }
  step.dispose();
  return losses;
}

beforeAll(async () => {
  await initBackend('wasm');
  const ds = loadDataset('digits');
  const split = splitIndices(ds.n, 0.25, 0);
  const { x, y } = gatherRows(ds, split.train);
  xs = tf.tensor2d(x, [y.length, ds.features]);
  ys = tf.oneHot(tf.tensor1d(y, 'int32'), 10).toFloat();
});

describe('createOptimizer (tfjs export)', () => {
  for (const [name, text] of [['lion', LION], ['adamw', ADAMW]] as const) {
    it(`${name}.prog trains a layers model with the same losses as the proxy's compiled step`, async () => {
      const a = buildModel();
      const b = buildModel();
      await cloneWeightsInto(a, b);
      a.compile({ optimizer: createOptimizer(text), loss: 'categoricalCrossentropy' });
      const viaFit = await fitLosses(a, 0, BATCHES);
      const viaStep = await compiledLosses(b, text, BATCHES);
      expect(viaFit.length).toBe(BATCHES);
      for (let i = 0; i < BATCHES; i++) expect(viaFit[i]).toBeCloseTo(viaStep[i] as number, 5);
      // training did something: the loss fell
      expect(viaFit[BATCHES - 1]).toBeLessThan(viaFit[0] as number);
    });
  }

  it('save with includeOptimizer and reload continues exactly like an uninterrupted run', async () => {
    const uninterrupted = buildModel();
    const resumed = buildModel();
    await cloneWeightsInto(uninterrupted, resumed);
    uninterrupted.compile({ optimizer: createOptimizer(LION), loss: 'categoricalCrossentropy' });
    const straight = await fitLosses(uninterrupted, 0, BATCHES);

    resumed.compile({ optimizer: createOptimizer(LION), loss: 'categoricalCrossentropy' });
    const first = await fitLosses(resumed, 0, BATCHES / 2);
    let saved: tf.io.ModelArtifacts | undefined;
    await resumed.save(tf.io.withSaveHandler(async (artifacts) => {
      saved = artifacts;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }), { includeOptimizer: true });
    const reloaded = await tf.loadLayersModel(tf.io.fromMemory(saved as tf.io.ModelArtifacts));
    expect(reloaded.optimizer).toBeInstanceOf(ProgramOptimizer);
    expect((reloaded.optimizer as ProgramOptimizer).programText).toContain('sign(update)');
    expect(reloaded.optimizer.iterations).toBe(BATCHES / 2);
    const second = await fitLosses(reloaded, BATCHES / 2, BATCHES);
    const joined = [...first, ...second];
    for (let i = 0; i < BATCHES; i++) expect(joined[i]).toBeCloseTo(straight[i] as number, 6);

    // Control: a fresh optimizer (momentum lost) diverges from the uninterrupted run.
    const control = await tf.loadLayersModel(tf.io.fromMemory(saved as tf.io.ModelArtifacts));
    control.compile({ optimizer: createOptimizer(LION), loss: 'categoricalCrossentropy' });
    const lost = await fitLosses(control, BATCHES / 2, BATCHES);
    const maxDiff = Math.max(...lost.map((l, i) => Math.abs(l - (straight[BATCHES / 2 + i] as number))));
    expect(maxDiff).toBeGreaterThan(1e-5);
  });

  it('rejects a program that does not check, and config round-trips the program', () => {
    expect(() => createOptimizer('def train(w, g, lr):\n  u = sign(q)\n  return u\n')).toThrow(/unknown name 'q'/);
    const opt = createOptimizer(LION, { learningRate: 0.5 });
    const cfg = opt.getConfig();
    const again = ProgramOptimizer.fromConfig(ProgramOptimizer, cfg) as ProgramOptimizer;
    expect(again.programText).toBe(opt.programText);
    expect(again.learningRate).toBe(0.5);
  });

  it('--to tfjs writes a module that builds the same optimizer through the package entry point', async () => {
    const dir = new URL('../../test-artifacts/', import.meta.url);
    mkdirSync(dir, { recursive: true });
    const file = new URL('lion-optimizer.mjs', dir);
    writeFileSync(file, exportProgram(parseProgram(LION), 'tfjs', { name: 'lion' }));
    const mod = (await import(file.href)) as { PROGRAM: string; createLionOptimizer(o?: object): ProgramOptimizer };
    expect(mod.PROGRAM).toBe(createOptimizer(LION).programText);
    const a = buildModel();
    const b = buildModel();
    await cloneWeightsInto(a, b);
    a.compile({ optimizer: mod.createLionOptimizer(), loss: 'categoricalCrossentropy' });
    b.compile({ optimizer: createOptimizer(LION), loss: 'categoricalCrossentropy' });
    expect(await fitLosses(a, 0, 4)).toEqual(await fitLosses(b, 0, 4));
  });
});
