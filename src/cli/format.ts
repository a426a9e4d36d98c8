/** Terminal formatting: colour only on a TTY (and never with NO_COLOR), plain text otherwise. */

export interface Style {
  bold(s: string): string;
  dim(s: string): string;
  green(s: string): string;
  red(s: string): string;
  yellow(s: string): string;
  cyan(s: string): string;
}

const wrap = (code: string) => (s: string) => `\u001b[${code}m${s}\u001b[0m`;
const plain = (s: string) => s;

export function styleFor(stream: NodeJS.WriteStream = process.stdout): Style {
  const on = Boolean(stream.isTTY) && !('NO_COLOR' in process.env);
  if (!on) return { bold: plain, dim: plain, green: plain, red: plain, yellow: plain, cyan: plain };
  return { bold: wrap('1'), dim: wrap('2'), green: wrap('32'), red: wrap('31'), yellow: wrap('33'), cyan: wrap('36') };
}

/** A fixed-width table; columns are padded to their widest cell (ANSI codes excluded from widths). */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const visible = (s: string) => s.replace(/\u001b\[[0-9;]*m/g, '').length;
  const widths = header.map((h, i) => Math.max(visible(h), ...rows.map((r) => visible(r[i] ?? ''))));
  const line = (cells: readonly string[]) =>
    cells.map((c, i) => c + ' '.repeat(Math.max(0, (widths[i] as number) - visible(c)))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

export function fmtFitness(x: number | null | undefined): string {
  if (x === null || x === undefined) return '-';
  if (!Number.isFinite(x)) return String(x);
  return x.toFixed(4);
}

export function indent(text: string, by = '  '): string {
  return text
    .trimEnd()
    .split('\n')
    .map((l) => by + l)
    .join('\n');
}
