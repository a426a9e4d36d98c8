/**
 * One self-contained HTML page for a run: charts rendered to inline SVG by Vega-Lite / Vega on the
 * server side (no scripts, no network fetches when the page opens), the best programs with their
 * simplified form, lineage and Lion-K reading.
 */
import * as vega from 'vega';
import * as vl from 'vega-lite';
import { simplify } from '../analysis/simplify.ts';
import { parseProgram } from '../dsl/parse.ts';
import { printProgram } from '../dsl/print.ts';
import { impliedProblem, kEntryForDirection } from '../lionk/kfamily.ts';
import { readLionK } from '../lionk/analyze.ts';
import type { Store } from '../store/db.ts';
import {
  funnelResults,
  getCacheCounts,
  getProgram,
  getRun,
  lineageChain,
  populationHistory,
  runIndividuals,
  topPrograms,
  type Individual,
  type ProgramRecord,
} from '../store/queries.ts';

export interface ReportChart {
  readonly id: string;
  readonly title: string;
  readonly svg: string;
  /** Data points drawn (0 means the chart has nothing to show for this run). */
  readonly points: number;
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

async function renderVegaLite(spec: Record<string, unknown>): Promise<string> {
  const compiled = vl.compile({ width: 560, height: 220, ...spec } as vl.TopLevelSpec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}

async function renderVega(spec: vega.Spec): Promise<string> {
  const view = new vega.View(vega.parse(spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/** Best and median fitness of the trained programs so far, after each trained arrival. */
function fitnessSeries(inds: readonly Individual[]): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  const seen: number[] = [];
  let best = -Infinity;
  let trained = 0;
  for (const i of inds) {
    if (i.source !== 'trained' || i.fitness === null || !Number.isFinite(i.fitness)) continue;
    trained++;
    seen.push(i.fitness);
    best = Math.max(best, i.fitness);
    out.push({ trained, series: 'best', fitness: best }, { trained, series: 'median', fitness: median(seen) });
  }
  return out;
}

/** Cumulative share of generated programs answered by each cache tier, by birth. */
function cacheSeries(inds: readonly Individual[]): Record<string, unknown>[] {
  const counts: Record<string, number> = { structural: 0, fingerprint: 0, stored: 0 };
  const out: Record<string, unknown>[] = [];
  let generated = 0;
  const every = Math.max(1, Math.floor(inds.length / 200));
  for (const i of inds) {
    if (i.birth === 0) continue;
    generated++;
    if (i.source !== null && i.source in counts) counts[i.source] = (counts[i.source] as number) + 1;
    if (generated % every === 0 || i === inds[inds.length - 1]) {
      for (const tier of Object.keys(counts)) out.push({ generated, tier, rate: (counts[tier] as number) / generated });
    }
  }
  return out;
}

/** Count of population seats per family at sampled steps. */
function familySeries(store: Store, runId: number, family: (programId: number) => string, lastStep: number): Record<string, unknown>[] {
  const seats = populationHistory(store, runId);
  const samples = Math.min(100, Math.max(1, lastStep));
  const out: Record<string, unknown>[] = [];
  for (let k = 0; k <= samples; k++) {
    const step = Math.round((k * lastStep) / samples);
    const counts = new Map<string, number>();
    for (const s of seats) {
      if (s.joinedStep <= step && (s.leftStep === null || s.leftStep > step)) {
        const f = family(s.programId);
        counts.set(f, (counts.get(f) ?? 0) + 1);
      }
    }
    for (const [f, n] of counts) out.push({ step, family: f, members: n });
  }
  return out;
}

/** A Vega tree of the lineages of the best programs (their union, rooted at the warm start). */
function lineageTreeSpec(nodes: { id: number; parent: number | null; label: string; best: boolean }[]): vega.Spec {
  return {
    $schema: 'https://vega.github.io/schema/vega/v6.json',
    width: 900,
    height: Math.max(160, nodes.length * 22),
    padding: 5,
    data: [
      {
        name: 'tree',
        values: nodes,
        transform: [
          { type: 'stratify', key: 'id', parentKey: 'parent' },
          { type: 'tree', method: 'cluster', size: [{ signal: 'height' }, { signal: 'width - 260' }], as: ['y', 'x', 'depth', 'children'] },
        ],
      },
      { name: 'links', source: 'tree', transform: [{ type: 'treelinks' }, { type: 'linkpath', orient: 'horizontal', shape: 'diagonal' }] },
    ],
    marks: [
      { type: 'path', from: { data: 'links' }, encode: { update: { path: { field: 'path' }, stroke: { value: '#999' } } } },
      {
        type: 'symbol',
        from: { data: 'tree' },
        encode: { enter: { size: { value: 60 } }, update: { x: { field: 'x' }, y: { field: 'y' }, fill: { signal: "datum.best ? '#d62728' : '#1f77b4'" } } },
      },
      {
        type: 'text',
        from: { data: 'tree' },
        encode: {
          enter: { text: { field: 'label' }, fontSize: { value: 10 }, baseline: { value: 'middle' } },
          update: { x: { field: 'x' }, y: { field: 'y' }, dx: { value: 7 } },
        },
      },
    ],
  };
}

export interface Report {
  readonly html: string;
  readonly charts: readonly ReportChart[];
}

export async function buildReport(store: Store, runId: number): Promise<Report> {
  const run = getRun(store, runId);
  if (!run) throw new Error(`no run with id ${runId}`);
  const inds = runIndividuals(store, runId);
  const programCache = new Map<number, ProgramRecord>();
  const programOf = (id: number): ProgramRecord => {
    let p = programCache.get(id);
    if (!p) {
      p = getProgram(store, id) as ProgramRecord;
      programCache.set(id, p);
    }
    return p;
  };
  const family = (id: number) => programOf(id).family ?? 'unknown';
  const lastStep = inds.length > 0 ? (inds[inds.length - 1] as Individual).birth : 0;

  const charts: ReportChart[] = [];
  const fit = fitnessSeries(inds);
  charts.push({
    id: 'fitness',
    title: 'Best and median fitness over trained programs (1 = AdamW baseline)',
    points: fit.length,
    svg: await renderVegaLite({
      data: { values: fit },
      mark: { type: 'line', point: fit.length < 60 },
      encoding: {
        x: { field: 'trained', type: 'quantitative', title: 'trained programs' },
        y: { field: 'fitness', type: 'quantitative', title: 'fitness', scale: { zero: false } },
        color: { field: 'series', type: 'nominal' },
      },
    }),
  });
  const cache = cacheSeries(inds);
  charts.push({
    id: 'cache',
    title: 'Cache hit rate per tier (cumulative share of generated programs)',
    points: cache.length,
    svg: await renderVegaLite({
      data: { values: cache },
      mark: 'line',
      encoding: {
        x: { field: 'generated', type: 'quantitative', title: 'generated programs' },
        y: { field: 'rate', type: 'quantitative', title: 'hit rate', axis: { format: '%' } },
        color: { field: 'tier', type: 'nominal' },
      },
    }),
  });
  const fam = familySeries(store, runId, family, lastStep);
  charts.push({
    id: 'families',
    title: 'Families in the population over time',
    points: fam.length,
    svg: await renderVegaLite({
      data: { values: fam },
      mark: 'area',
      encoding: {
        x: { field: 'step', type: 'quantitative', title: 'arrivals' },
        y: { field: 'members', type: 'quantitative', stack: 'zero', title: 'members' },
        color: { field: 'family', type: 'nominal' },
      },
    }),
  });
  const funnel = funnelResults(store, runId).map((r) => ({ ...r, stage: `x${r.fidelity}`, program: String(r.programId) }));
  charts.push({
    id: 'funnel',
    title: 'Search fitness against funnel fitness of the finalists (meta-overfitting shows as points below the diagonal)',
    points: funnel.length,
    svg: await renderVegaLite({
      data: { values: funnel },
      layer: [
        {
          mark: { type: 'point', filled: true, size: 80 },
          encoding: {
            x: { field: 'searchFitness', type: 'quantitative', title: 'search fitness', scale: { zero: false } },
            y: { field: 'fitness', type: 'quantitative', title: 'funnel fitness', scale: { zero: false } },
            color: { field: 'stage', type: 'nominal' },
            shape: { field: 'beatBaseline', type: 'nominal', title: 'beat baseline' },
          },
        },
        { mark: { type: 'text', dx: 12, align: 'left' }, encoding: { x: { field: 'searchFitness', type: 'quantitative' }, y: { field: 'fitness', type: 'quantitative' }, text: { field: 'program' } } },
      ],
    }),
  });

  const best = topPrograms(store, runId, 5);
  const treeNodes = new Map<number, { id: number; parent: number | null; label: string; best: boolean }>();
  for (const [rank, b] of best.entries()) {
    for (const s of lineageChain(store, b.id, runId)) {
      const label = `#${s.programId} ${s.family ?? ''} ${s.fitness === null ? '' : s.fitness.toFixed(3)}${s.mutation === 'warm-start' ? ' (warm start)' : ` <- ${s.mutation}`}`;
      const prev = treeNodes.get(s.birth);
      treeNodes.set(s.birth, { id: s.birth, parent: s.parentBirth, label, best: (prev?.best ?? false) || (rank === 0 && s.programId === b.id) });
    }
  }
  // Restart seeds point at parents outside the union; root them at the warm start.
  const nodes = [...treeNodes.values()].map((n) => (n.parent !== null && !treeNodes.has(n.parent) ? { ...n, parent: treeNodes.has(0) ? 0 : null } : n));
  charts.push({ id: 'lineage', title: 'Lineage of the best programs from the warm start (red: the best)', points: nodes.length, svg: nodes.length > 0 ? await renderVega(lineageTreeSpec(nodes)) : '<svg class="marks"></svg>' });

  const counts = getCacheCounts(store, runId);
  const programsHtml = best
    .map((b, i) => {
      const raw = parseProgram(b.raw);
      const simplified = printProgram(simplify(raw, { trace: false }).program);
      const lk = readLionK(raw);
      let lionk = `not a Lion-K program (${esc(lk.reasons.join('; '))}); nearest family: ${esc(lk.family.nearest)}`;
      const params = lk.params ?? lk.transformedGradient?.params;
      if (params) {
        const entry = kEntryForDirection(params.direction);
        lionk =
          `${esc(entry.optimizer)}: direction ${esc(entry.gradFormula)}, b1 = ${params.b1.toPrecision(4)}, b2 = ${params.b2.toPrecision(4)}, lambda = ${params.lambda.toPrecision(4)}; ` +
          `solves ${esc(impliedProblem(entry, params.lambda, params.threshold))}` +
          (lk.transformedGradient ? ` (with the gradient first transformed by ${esc(lk.transformedGradient.transform)})` : '');
      }
      return `<section class="program"><h3>${i + 1}. program ${b.id}: fitness ${b.fitness.toFixed(4)}, ${esc(b.family ?? 'unknown')}</h3>
<p class="lionk">Lion-K reading: ${lionk}</p>
<div class="pair"><div><h4>raw (${b.size} statements)</h4><pre>${esc(b.raw)}</pre></div><div><h4>simplified</h4><pre>${esc(simplified)}</pre></div></div></section>`;
    })
    .join('\n');

  const hitTotal = counts.structural.hits + counts.fingerprint.hits + counts.stored.hits;
  const html = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>optsearch run ${run.id}: ${esc(run.name)}</title>
<style>
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1000px;color:#222}
pre{background:#f6f6f6;padding:.6em;overflow-x:auto;font-size:12px}
.pair{display:flex;gap:1em}.pair>div{flex:1;min-width:0}
figure{margin:1.5em 0}figcaption{font-weight:600;margin-bottom:.3em}
table{border-collapse:collapse}td,th{padding:2px 10px;text-align:left;border-bottom:1px solid #ddd}
.empty{color:#888;font-style:italic}
</style></head><body>
<h1>optsearch run ${run.id}: ${esc(run.name)}</h1>
<table>
<tr><th>space</th><td>${esc(run.space)}</td><th>seed</th><td>${run.seed}</td><th>status</th><td>${esc(run.status)}</td></tr>
<tr><th>trained</th><td>${run.trained}</td><th>generated</th><td>${run.generated}</td><th>cache hit rate</th><td>${counts.structural.lookups ? ((100 * hitTotal) / counts.structural.lookups).toFixed(1) + '%' : '-'}</td></tr>
<tr><th>created</th><td colspan="5">${esc(run.createdAt)}</td></tr>
</table>
${charts
  .map((c) => `<figure id="chart-${c.id}" data-points="${c.points}"><figcaption>${esc(c.title)}</figcaption>${c.points === 0 ? '<p class="empty">nothing to show for this run</p>' : ''}${c.svg}</figure>`)
  .join('\n')}
<h2>Best programs</h2>
${programsHtml || '<p class="empty">no evaluated programs</p>'}
<p><small>Generated by optsearch from ${esc(store.path)}. Fitness is normalised against the AdamW baseline on the same tasks and seeds (1 = AdamW, higher is better).</small></p>
</body></html>
`;
  return { html, charts };
}
