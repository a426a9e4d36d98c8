/**
 * The one canonical text form of a program. parse(print(p)) equals p (positions aside).
 * Numbers print as the shortest decimal that reads back to the same double.
 */
import { isIdentifier, type Arg, type Program, type Statement } from './ast.ts';
import { COPY_OP, getOp } from './ops.ts';

export function formatNumber(x: number): string {
  if (Object.is(x, -0)) return '-0.0';
  if (!Number.isFinite(x)) throw new RangeError(`cannot print the non-finite constant ${x}`);
  const s = String(x);
  // String(1e21) is "1e+21": the parser accepts it, keep it.
  return s;
}

/** A name as printed; one that would not read back as the same name is refused rather than printed. */
function formatName(name: string, what: string): string {
  if (!isIdentifier(name)) throw new RangeError(`cannot print ${what} ${JSON.stringify(name.slice(0, 40))}: not a valid name`);
  return name;
}

export function formatArg(a: Arg): string {
  return a.kind === 'var' ? formatName(a.name, 'the variable') : formatNumber(a.value);
}

export function formatExpression(s: Statement): string {
  if (s.op === COPY_OP && s.args.length === 1) return formatArg(s.args[0] as Arg);
  const spec = getOp(s.op);
  if (spec?.infix !== undefined && s.args.length === 2) {
    return `${formatArg(s.args[0] as Arg)} ${spec.infix} ${formatArg(s.args[1] as Arg)}`;
  }
  return `${formatName(s.op, 'the op')}(${s.args.map(formatArg).join(', ')})`;
}

export function formatStatement(s: Statement): string {
  return `${formatName(s.target, 'the variable')} = ${formatExpression(s)}`;
}

export function printProgram(p: Program): string {
  const name = (n: string): string => formatName(n, 'the name');
  const lines = [`def ${name(p.name)}(${p.inputs.map(name).join(', ')}):`];
  for (const s of p.statements) lines.push(`  ${formatStatement(s)}`);
  lines.push(`  return ${p.outputs.map(name).join(', ')}`);
  return lines.join('\n') + '\n';
}
