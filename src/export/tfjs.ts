/**
 * A discovered program as a TensorFlow.js optimizer that works with model.compile / model.fit and
 * survives model.save(..., { includeOptimizer: true }) and tf.loadLayersModel.
 *
 * One generic class is registered; its config holds the program text, so any number of programs can
 * be used in one process. The program runs through the same lowering as the proxy evaluator
 * (src/proxy/compile.ts): the variables of one applyGradients call are the leaves of the program's
 * Tensor, so reductions (global_norm, dot, clip, ...) span all of them, as in the search.
 */
import * as tf from '@tensorflow/tfjs';
import type { NamedTensorMap, Tensor, Variable } from '@tensorflow/tfjs';
import { stateSlots, type Program } from '../dsl/ast.ts';
import { assertValid } from '../dsl/check.ts';
import { parseProgram } from '../dsl/parse.ts';
import { printProgram } from '../dsl/print.ts';
import { lowerProgram, runLowered, type LoweredProgram } from '../proxy/compile.ts';

export interface ProgramOptimizerOptions {
  /**
   * The value the program receives as `lr`: the learning-rate schedule's value (peak 1.0 in the
   * search; the program's own constants carry the absolute scale). Change it per step with
   * setLearningRate() from a callback to follow a schedule.
   */
  learningRate?: number;
}

type ConfigDict = tf.serialization.ConfigDict;
type NamedTensor = { name: string; tensor: Tensor };

export class ProgramOptimizer extends tf.Optimizer {
  static className = 'OptsearchProgram';

  readonly programText: string;
  learningRate: number;
  private readonly lowered: LoweredProgram;
  private readonly slotNames: readonly string[];
  /** Weight variable names in the order first seen: the leaf order. */
  private readonly order: string[] = [];
  /** slots.get(variableName)[slot] */
  private readonly slots = new Map<string, Variable[]>();
  /**
   * Slots restored by setWeights, in leaf order, waiting for their variables: a reloaded model may
   * name its variables differently, so they bind by position as in tfjs's own optimizers.
   */
  private readonly pending: Variable[][] = [];

  constructor(programText: string, options: ProgramOptimizerOptions = {}) {
    super();
    const program: Program = parseProgram(programText);
    assertValid(program);
    this.programText = printProgram(program);
    this.lowered = lowerProgram(program);
    this.slotNames = stateSlots(program);
    this.learningRate = options.learningRate ?? 1;
  }

  setLearningRate(lr: number): void {
    this.learningRate = lr;
  }

  private slotsFor(name: string, like: Variable): Variable[] {
    let s = this.slots.get(name);
    if (!s) {
      s = this.pending.shift() ?? this.slotNames.map(() => tf.tidy(() => tf.variable(tf.zerosLike(like), false)));
      this.slots.set(name, s);
      this.order.push(name);
    }
    return s;
  }

  override applyGradients(variableGradients: NamedTensorMap | NamedTensor[]): void {
    const pairs: { name: string; grad: Tensor }[] = Array.isArray(variableGradients)
      ? variableGradients.map((v) => ({ name: v.name, grad: v.tensor }))
      : Object.keys(variableGradients).map((name) => ({ name, grad: variableGradients[name] as Tensor }));
    const present = pairs.filter((p) => p.grad != null);
    if (present.length === 0) return;
    const registry = tf.engine().registeredVariables;
    const vars = present.map((p) => {
      const v = registry[p.name];
      if (!v) throw new Error(`variable '${p.name}' is not registered`);
      return v;
    });
    const slotVars = present.map((p, i) => this.slotsFor(p.name, vars[i] as Variable));
    tf.tidy(() => {
      const state = this.slotNames.map((_, s) => slotVars.map((sv) => sv[s] as Variable));
      const out = runLowered(tf, this.lowered, { w: vars, g: present.map((p) => p.grad), state, lr: this.learningRate });
      const u = out.update;
      // Compute all new values before assigning: an output may alias an input variable.
      const newWeights = vars.map((w, l) =>
        tf.sub(w, typeof u === 'number' ? u : u.kind === 'scalar' ? u.t : (u.leaves[l] as Tensor)),
      );
      const newState = out.state.map((leaves, s) =>
        leaves.map((t, l) => {
          const v = (state[s] as Variable[])[l] as Variable;
          return t === v ? undefined : t.shape.length !== v.shape.length ? tf.broadcastTo(t, v.shape) : tf.clone(t);
        }),
      );
      newWeights.forEach((t, l) => (vars[l] as Variable).assign(t));
      newState.forEach((leaves, s) => leaves.forEach((t, l) => t && ((state[s] as Variable[])[l] as Variable).assign(t)));
    });
    this.incrementIterations();
  }

  override async getWeights(): Promise<NamedTensor[]> {
    const out: NamedTensor[] = [await this.saveIterations()];
    for (const name of this.order) {
      (this.slots.get(name) as Variable[]).forEach((v, s) => out.push({ name: `${name}/${this.slotNames[s]}`, tensor: v }));
    }
    return out;
  }

  override async setWeights(weightValues: NamedTensor[]): Promise<void> {
    const rest = await this.extractIterations(weightValues);
    this.disposeSlots();
    const k = this.slotNames.length;
    if (k === 0 ? rest.length !== 0 : rest.length % k !== 0) {
      throw new Error(`optimizer weights: ${rest.length} tensors do not fit ${k} state slots per variable`);
    }
    for (let i = 0; i < rest.length; i += k) {
      const group = rest.slice(i, i + k);
      this.pending.push(group.map(({ tensor }) => tf.variable(tensor, false)));
    }
  }

  private disposeSlots(): void {
    for (const vs of this.slots.values()) for (const v of vs) v.dispose();
    for (const vs of this.pending) for (const v of vs) v.dispose();
    this.slots.clear();
    this.pending.length = 0;
    this.order.length = 0;
  }

  override dispose(): void {
    this.disposeSlots();
    super.dispose();
  }

  override getConfig(): ConfigDict {
    return { program: this.programText, learningRate: this.learningRate };
  }

  static override fromConfig<T extends tf.serialization.Serializable>(
    cls: tf.serialization.SerializableConstructor<T>,
    config: ConfigDict,
  ): T {
    return new (cls as unknown as new (text: string, o: ProgramOptimizerOptions) => T)(String(config['program']), {
      learningRate: Number(config['learningRate'] ?? 1),
    });
  }
}

tf.serialization.registerClass(ProgramOptimizer);

/** A tf.Optimizer that runs the program. Throws a DslError when the text does not parse or check. */
export function createOptimizer(programText: string, options: ProgramOptimizerOptions = {}): ProgramOptimizer {
  return new ProgramOptimizer(programText, options);
}
