/**
 * A least-recently-used cache bounded by bytes: an entry larger than the budget (or than
 * maxEntryBytes) is returned but not kept; otherwise the oldest entries go until the rest fit. Map order is the recency order.
 */
export class ByteLru<T> {
  private readonly entries = new Map<string, T>();
  constructor(
    private budgetBytes: number,
    private readonly bytesOf: (value: T) => number,
    private readonly maxEntryBytes = Infinity,
  ) {}

  /** A new budget; forgets everything. */
  reset(budgetBytes: number): void {
    this.budgetBytes = budgetBytes;
    this.entries.clear();
  }

  /** The kept value for key, else make() (kept when it fits the budget). */
  get(key: string, make: () => T): T {
    const hit = this.entries.get(key);
    if (hit !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit;
    }
    const fresh = make();
    const bytes = this.bytesOf(fresh);
    if (bytes > this.budgetBytes || bytes > this.maxEntryBytes) return fresh;
    let total = bytes;
    for (const v of this.entries.values()) total += this.bytesOf(v);
    for (const [k, v] of this.entries) {
      if (total <= this.budgetBytes) break;
      this.entries.delete(k);
      total -= this.bytesOf(v);
    }
    this.entries.set(key, fresh);
    return fresh;
  }
}
