/**
 * Exports of a checked program to other frameworks and to documents. Every export is text generated
 * from the checked AST: nothing from a program reaches eval, and numbers are printed so that they read
 * back as the same doubles.
 */
import type { Program } from '../dsl/ast.ts';
import { assertValid } from '../dsl/check.ts';
import { printProgram } from '../dsl/print.ts';
import { exportLatex } from './latex.ts';
import { snakeName } from './names.ts';
import { exportNumpy } from './numpy.ts';
import { exportOptax } from './optax.ts';
import { exportPytorch } from './pytorch.ts';
import { exportTfjsModule } from './tfjs-module.ts';

export const EXPORT_FORMATS = ['pytorch', 'optax', 'numpy', 'tfjs', 'latex', 'text'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export function isExportFormat(s: string): s is ExportFormat {
  return (EXPORT_FORMATS as readonly string[]).includes(s);
}

export interface ExportOptions {
  /**
   * A label for the exported optimizer (for example the program file's base name): the PyTorch class
   * and the optax function are named after it. Default: "discovered".
   */
  readonly name?: string;
}

/** The program in the given format. Throws a DslError when the program does not check. */
export function exportProgram(p: Program, format: ExportFormat, options: ExportOptions = {}): string {
  assertValid(p);
  const label = options.name ?? 'discovered';
  switch (format) {
    case 'numpy':
      return exportNumpy(p, snakeName(label));
    case 'pytorch':
      return exportPytorch(p, label);
    case 'optax':
      return exportOptax(p, label);
    case 'latex':
      return exportLatex(p);
    case 'tfjs':
      return exportTfjsModule(p, label);
    case 'text':
      return printProgram(p);
  }
}
