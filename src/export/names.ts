/**
 * Names for generated code: program variables mapped to identifiers that are safe in the target
 * language, and the public names (class, function) derived from a user-given label.
 */

/** Python keywords and the builtins and module names the generated modules use. */
const PYTHON_RESERVED = new Set([
  // keywords and soft keywords
  'False', 'None', 'True', 'and', 'as', 'assert', 'async', 'await', 'break', 'class', 'continue', 'def',
  'del', 'elif', 'else', 'except', 'finally', 'for', 'from', 'global', 'if', 'import', 'in', 'is',
  'lambda', 'nonlocal', 'not', 'or', 'pass', 'raise', 'return', 'try', 'while', 'with', 'yield', 'match',
  'case', 'type',
  // builtins the generated code calls, and common ones a reader would not expect shadowed
  'abs', 'all', 'any', 'bool', 'callable', 'dict', 'enumerate', 'float', 'int', 'isinstance', 'len',
  'list', 'map', 'max', 'min', 'object', 'print', 'range', 'round', 'set', 'str', 'sum', 'super', 'tuple',
  'zip', 'ValueError', 'TypeError', 'RuntimeError', 'NotImplemented', 'Ellipsis',
  // modules and names of the generated modules
  'math', 'np', 'numpy', 'torch', 'jax', 'jnp', 'optax', 'typing', 'NamedTuple', 'Callable', 'Union',
  'self', 'closure', 'count', 'rule', 'step', 'init_state', 'SLOTS',
]);

/**
 * Maps each program variable to a Python identifier. Mapped names never start or end with '_', so
 * `name_` is free for per-leaf loop variables and `_name` for the generated code's internals.
 */
export function pythonNames(variables: Iterable<string>): Map<string, string> {
  const all = [...new Set(variables)];
  const ok = (n: string): boolean => !PYTHON_RESERVED.has(n) && !n.startsWith('_') && !n.endsWith('_');
  const taken = new Set(all.filter(ok));
  const out = new Map<string, string>();
  for (const n of all) {
    if (ok(n)) {
      out.set(n, n);
      continue;
    }
    const base = n.replace(/^_+|_+$/g, '') || 'var';
    let candidate = `${base}_v`;
    for (let k = 2; taken.has(candidate) || !ok(candidate); k++) candidate = `${base}_v${k}`;
    taken.add(candidate);
    out.set(n, candidate);
  }
  return out;
}

function words(label: string): string[] {
  return label
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .split(/[^A-Za-z0-9]+/)
    .filter((w) => w.length > 0);
}

/** `paper-discovered` -> `PaperDiscovered`; a leading digit gets a `P` in front. */
export function pascalName(label: string): string {
  const s = words(label)
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1).toLowerCase())
    .join('');
  let name = s.length === 0 ? 'Discovered' : s;
  if (/^[0-9]/.test(name)) name = `P${name}`;
  return PYTHON_RESERVED.has(name) ? `${name}Optimizer` : name;
}

/** `paper-discovered` -> `paper_discovered`; never a Python keyword or builtin. */
export function snakeName(label: string): string {
  const s = words(label)
    .map((w) => w.toLowerCase())
    .join('_');
  let name = s.length === 0 ? 'discovered' : s;
  if (/^[0-9]/.test(name)) name = `p${name}`;
  return PYTHON_RESERVED.has(name) ? `${name}_optimizer` : name;
}
