/**
 * The evaluation cache, cheapest tier first: structural hash, then behavioural fingerprint (both in
 * memory, seeded from the store on resume), then a stored evaluation of the same task configuration
 * from any run in the database. Hits and misses are counted per tier.
 */

import type { CacheTier } from '../vocabulary/index.ts';

export interface CachedScore {
  readonly fitness: number;
  /** Id of the program whose evaluation is reused. */
  readonly sourceProgramId: number;
}

export interface CacheHit extends CachedScore {
  readonly tier: CacheTier;
}

export type TierCounts = Record<CacheTier, { hits: number; lookups: number }>;

export interface StoredLookup {
  /** A stored score for a program with this hash or fingerprint under the current task configuration. */
  (hash: string, fingerprint: string): CachedScore | undefined;
}

export class EvaluationCache {
  private readonly byHash = new Map<string, CachedScore>();
  private readonly byFingerprint = new Map<string, CachedScore>();
  readonly counts: TierCounts = {
    structural: { hits: 0, lookups: 0 },
    fingerprint: { hits: 0, lookups: 0 },
    stored: { hits: 0, lookups: 0 },
  };

  constructor(private readonly stored?: StoredLookup) {}

  lookup(hash: string, fingerprint: string): CacheHit | undefined {
    this.counts.structural.lookups++;
    const h = this.byHash.get(hash);
    if (h) {
      this.counts.structural.hits++;
      return { ...h, tier: 'structural' };
    }
    this.counts.fingerprint.lookups++;
    const f = this.byFingerprint.get(fingerprint);
    if (f) {
      this.counts.fingerprint.hits++;
      this.byHash.set(hash, f);
      return { ...f, tier: 'fingerprint' };
    }
    if (this.stored) {
      this.counts.stored.lookups++;
      const s = this.stored(hash, fingerprint);
      if (s) {
        this.counts.stored.hits++;
        this.remember(hash, fingerprint, s);
        return { ...s, tier: 'stored' };
      }
    }
    return undefined;
  }

  remember(hash: string, fingerprint: string, score: CachedScore): void {
    if (!this.byHash.has(hash)) this.byHash.set(hash, score);
    if (!this.byFingerprint.has(fingerprint)) this.byFingerprint.set(fingerprint, score);
  }

  /** Share of lookups answered by any tier. */
  hitRate(): number {
    const total = this.counts.structural.lookups;
    if (total === 0) return 0;
    return (this.counts.structural.hits + this.counts.fingerprint.hits + this.counts.stored.hits) / total;
  }

  get size(): number {
    return this.byHash.size;
  }
}
