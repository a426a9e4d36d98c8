/**
 * The reduction every analysis shares: program -> dataflow graph -> cross-step liveness ->
 * rewrites to a fixpoint -> canonical hashes. hash.ts, fingerprint.ts, simplify.ts and family.ts
 * all read its result, so one program is reduced once per call of `reduce`.
 */
import type { Program } from '../dsl/ast.ts';
import { buildGraph, copyReachable, liveness, liveOutputs, type BuiltGraph, type Graph, type Liveness } from './graph.ts';
import { nodeHashes, outputsHash, type NodeHashes } from './canonical.ts';
import { defaultRuleTable, Rewriter, RewriteLimitError, rulesByOp, type RewriteEvent, type RewriteOptions } from './rewrite.ts';

/** Old node id -> new node id, -1 where the node was not copied. */
export type NodeMap = readonly number[];

export interface ReduceOptions extends RewriteOptions {
  /** Collect every rule application of the first rewrite pass. */
  readonly events?: RewriteEvent[];
  /** Most rewrite passes before RewriteLimitError (default 8; one or two are the norm). */
  readonly maxPasses?: number;
}

export interface Reduced {
  /** The graph as written (hash-consed, nothing removed, no rules). */
  readonly raw: BuiltGraph;
  readonly rawLiveness: Liveness;
  /** The reduced graph: only live nodes, rules applied. */
  readonly graph: Graph;
  /** Outputs in `graph`; a dead slot returns its own input node. */
  readonly outputs: readonly number[];
  readonly liveSlots: readonly boolean[];
  /** raw node -> node of the first rewrite pass (-1: not copied). */
  readonly firstPassMap: NodeMap;
  /** The graph the first pass wrote into (the events' node ids refer to it). */
  readonly firstPassGraph: Graph;
  /** first-pass node -> node of `graph` (-1: not copied). */
  readonly finalMap: NodeMap;
  readonly hashes: NodeHashes;
  /** Structural hash of the canonical dataflow of the outputs. */
  readonly hash: string;
}

export function reduce(p: Program, opts: ReduceOptions = {}): Reduced {
  // Identical statements only need merging in the as-written graph when the trace reports them.
  const raw = buildGraph(p, undefined, undefined, opts.events !== undefined);
  const rawLiveness = liveness(raw.graph, raw.outputs);
  let outputs = liveOutputs(raw.outputs, rawLiveness.liveSlots);
  let liveSlots = rawLiveness.liveSlots;
  const table = opts.only ? rulesByOp(opts) : defaultRuleTable(opts.allowEps !== false);

  // Which statement produced each raw node, so rule applications can name their statement.
  const origin: number[] = [];
  if (opts.events) {
    for (let i = 0; i < raw.graph.size; i++) origin.push(-1);
    raw.statementNodes.forEach((n, i) => {
      if (origin[n] === -1) origin[n] = i;
    });
  }

  const maxPasses = opts.maxPasses ?? 8;
  let graph = raw.graph;
  let firstPassMap: NodeMap | undefined;
  let firstPassGraph: Graph | undefined;
  let finalMap: NodeMap | undefined;
  for (let pass = 0; ; pass++) {
    if (pass >= maxPasses) throw new RewriteLimitError(`rewriting did not reach a fixpoint in ${maxPasses} passes`);
    let rewriter: Rewriter | undefined;
    const events = pass === 0 ? opts.events : undefined;
    const copy = copyReachable(
      graph,
      outputs,
      (target) => (rewriter = new Rewriter(target, table, events)).make,
      pass === 0 && events ? (n) => ((rewriter as Rewriter).statement = origin[n] as number) : undefined,
    );
    if (pass === 0) {
      firstPassMap = copy.map;
      firstPassGraph = copy.graph;
    } else finalMap = finalMap ? compose(finalMap, copy.map) : copy.map;
    graph = copy.graph;
    outputs = copy.outputs;
    const lv = liveness(graph, outputs);
    let slotsChanged = false;
    for (let i = 0; i < lv.liveSlots.length; i++) if (lv.liveSlots[i] !== liveSlots[i]) slotsChanged = true;
    if (slotsChanged) {
      liveSlots = lv.liveSlots;
      outputs = liveOutputs(outputs, liveSlots);
    }
    if ((rewriter as Rewriter | undefined)?.fired === 0 && !slotsChanged) break;
  }
  const fp = firstPassGraph as Graph;
  const hashes = nodeHashes(graph);
  return {
    raw,
    rawLiveness,
    graph,
    outputs,
    liveSlots,
    firstPassMap: firstPassMap as NodeMap,
    firstPassGraph: fp,
    finalMap: finalMap ?? identity(fp.size),
    hashes,
    hash: outputsHash(graph, hashes, outputs),
  };
}

function compose(first: NodeMap, second: NodeMap): NodeMap {
  const out: number[] = new Array(first.length);
  for (let i = 0; i < first.length; i++) {
    const m = first[i] as number;
    out[i] = m < 0 ? -1 : (second[m] as number);
  }
  return out;
}

function identity(n: number): NodeMap {
  const out: number[] = new Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  return out;
}
