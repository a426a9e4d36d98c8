/** `optsearch lineage` text: each step's fitness, and the screen's verdict where a child was screened. */
import { expect, it } from 'vitest';
import { renderLineage } from '../../src/cli/commands/lineage.ts';
import type { LineageStep } from '../../src/store/queries.ts';

const step = (over: Partial<LineageStep>): LineageStep => ({
  runId: 1,
  birth: 0,
  programId: 1,
  parentBirth: null,
  parentId: null,
  mutation: 'warm-start',
  detail: 'programs/adamw.prog',
  fitness: 1,
  source: 'trained',
  screen: null,
  createdAt: 'then',
  raw: '',
  canonical: null,
  family: 'adamw',
  ...over,
});

it('prints the screen verdict of a child that went on and of one that stopped', () => {
  const text = renderLineage(
    [
      step({}),
      step({ birth: 4, programId: 7, parentBirth: 0, mutation: 'insert', detail: 'insert at 2: x = sign(m)', fitness: 1.25, screen: { outcome: 'passed', fitness: 1.5, threshold: 1 } }),
      step({ birth: 9, programId: 8, parentBirth: 4, mutation: 'delete', detail: 'delete statement 3', fitness: null, family: null, screen: { outcome: 'stopped', fitness: 0.5, threshold: 1.25 } }),
    ],
    'text',
  ).split('\n');
  expect(text).toEqual([
    'birth 0: program 1, adamw, fitness 1.0000  <- warm start',
    'birth 4: program 7, adamw, fitness 1.2500 (screen 1.5000 >= 1.0000)  <- insert: insert at 2: x = sign(m)',
    'birth 9: program 8, unknown, stopped at the screen (partial 0.5000 < 1.2500)  <- delete: delete statement 3',
  ]);
});
