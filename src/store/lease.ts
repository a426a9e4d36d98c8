/**
 * One writer per run: a lease row per run names the process that writes it (pid, host, the
 * process's start time) and is refreshed by a heartbeat. A second writer is refused with a
 * LeaseError that names the holder; a lease whose holder is gone (same host, pid not alive) or
 * whose heartbeat is older than the stale limit is taken over, and the caller learns from whom.
 *
 * A process is one holder: every lease it takes carries the same identity, so "the runs this
 * process holds" is one query.
 */
import { hostname } from 'node:os';
import type { Store } from './db.ts';

/** Who writes a run. startedAt tells a reused pid from the process that held the lease. */
export interface LeaseHolder {
  readonly pid: number;
  readonly host: string;
  /** ISO time the holder process started. */
  readonly startedAt: string;
}

export interface LeaseRecord extends LeaseHolder {
  readonly runId: number;
  /** ISO time the lease was taken. */
  readonly acquiredAt: string;
  /** Milliseconds since the epoch of the last heartbeat. */
  readonly heartbeatMs: number;
}

/** How often a holder refreshes its lease. */
export const HEARTBEAT_INTERVAL_MS = 5_000;
/** A lease not refreshed for this long is taken over (a frozen or unreachable holder on another host). */
export const STALE_AFTER_MS = 60_000;

/** A run that another live process writes, or a lease this process no longer holds. */
export class LeaseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LeaseError';
  }
}

const PROCESS_HOLDER: LeaseHolder = {
  pid: process.pid,
  host: hostname(),
  startedAt: new Date(Math.round(performance.timeOrigin)).toISOString(),
};

/** This process as a lease holder. */
export function processHolder(): LeaseHolder {
  return PROCESS_HOLDER;
}

function sameHolder(a: LeaseHolder, b: LeaseHolder): boolean {
  return a.pid === b.pid && a.host === b.host && a.startedAt === b.startedAt;
}

/** Whether a process with this pid exists on this machine (EPERM: it exists but is not ours). */
function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

interface LeaseRow {
  run_id: number;
  holder_pid: number;
  holder_host: string;
  holder_started_at: string;
  acquired_at: string;
  heartbeat_ms: number;
}

function toRecord(r: LeaseRow): LeaseRecord {
  return { runId: r.run_id, pid: r.holder_pid, host: r.holder_host, startedAt: r.holder_started_at, acquiredAt: r.acquired_at, heartbeatMs: r.heartbeat_ms };
}

export function getLease(store: Store, runId: number): LeaseRecord | undefined {
  const row = store.stmt('SELECT run_id, holder_pid, holder_host, holder_started_at, acquired_at, heartbeat_ms FROM run_leases WHERE run_id = ?').get(runId) as LeaseRow | undefined;
  return row ? toRecord(row) : undefined;
}

/** "pid 123 on host a (since 2026-01-02T03:04:05Z, heartbeat 2 s ago)" */
export function describeHolder(lease: LeaseRecord, nowMs: number = Date.now()): string {
  const age = Math.max(0, Math.round((nowMs - lease.heartbeatMs) / 1000));
  return `pid ${lease.pid} on host ${lease.host} (since ${lease.acquiredAt}, heartbeat ${age} s ago)`;
}

/** Why a lease may be taken over, or null while its holder is alive. */
export function abandonedBecause(lease: LeaseRecord, opts: { nowMs?: number; staleAfterMs?: number; self?: LeaseHolder } = {}): string | null {
  const nowMs = opts.nowMs ?? Date.now();
  const self = opts.self ?? PROCESS_HOLDER;
  if (lease.host === self.host && !sameHolder(lease, self) && (lease.pid === self.pid || !pidAlive(lease.pid))) return 'its process has exited';
  if (nowMs - lease.heartbeatMs > (opts.staleAfterMs ?? STALE_AFTER_MS)) return `its heartbeat is ${Math.round((nowMs - lease.heartbeatMs) / 1000)} s old`;
  return null;
}

export interface Acquired {
  readonly lease: LeaseRecord;
  /** The previous holder and why its lease was taken over; absent when the run had no lease. */
  readonly tookOver?: { readonly previous: LeaseRecord; readonly reason: string };
}

/**
 * Take the lease of a run for this process, in one write transaction (so two processes racing for
 * it cannot both win). Throws LeaseError naming the holder when another live process holds it.
 */
export function acquireRunLease(store: Store, runId: number, opts: { staleAfterMs?: number } = {}): Acquired {
  return store.transaction(() => {
    const nowMs = Date.now();
    const existing = getLease(store, runId);
    let tookOver: Acquired['tookOver'];
    if (existing) {
      if (sameHolder(existing, PROCESS_HOLDER)) throw new LeaseError(`run ${runId} is already being written by this process`);
      const reason = abandonedBecause(existing, { nowMs, ...(opts.staleAfterMs === undefined ? {} : { staleAfterMs: opts.staleAfterMs }) });
      if (reason === null) throw new LeaseError(`run ${runId} is being written by ${describeHolder(existing, nowMs)}; wait for it to finish or stop it first`);
      tookOver = { previous: existing, reason };
    }
    const h = PROCESS_HOLDER;
    store
      .stmt(
        `INSERT INTO run_leases (run_id, holder_pid, holder_host, holder_started_at, acquired_at, heartbeat_ms) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (run_id) DO UPDATE SET holder_pid = excluded.holder_pid, holder_host = excluded.holder_host,
           holder_started_at = excluded.holder_started_at, acquired_at = excluded.acquired_at, heartbeat_ms = excluded.heartbeat_ms`,
      )
      .run(runId, h.pid, h.host, h.startedAt, new Date(nowMs).toISOString(), nowMs);
    const lease = getLease(store, runId) as LeaseRecord;
    return tookOver ? { lease, tookOver } : { lease };
  });
}

const HOLDER_MATCH = 'run_id = ? AND holder_pid = ? AND holder_host = ? AND holder_started_at = ?';

function holderArgs(runId: number): [number, number, string, string] {
  return [runId, PROCESS_HOLDER.pid, PROCESS_HOLDER.host, PROCESS_HOLDER.startedAt];
}

/** Whether this process still holds the run's lease. */
export function holdsLease(store: Store, runId: number): boolean {
  return store.stmt(`SELECT 1 FROM run_leases WHERE ${HOLDER_MATCH}`).get(...holderArgs(runId)) !== undefined;
}

/** Throws LeaseError unless this process holds the run's lease (call inside the write transaction it guards). */
export function assertLease(store: Store, runId: number): void {
  if (!holdsLease(store, runId)) {
    const now = getLease(store, runId);
    throw new LeaseError(`run ${runId} was taken over by ${now ? describeHolder(now) : 'another process'}; this process stops writing it`);
  }
}

/** Refreshes the heartbeat; false when the lease is no longer this process's. */
export function heartbeat(store: Store, runId: number): boolean {
  return store.stmt(`UPDATE run_leases SET heartbeat_ms = ? WHERE ${HOLDER_MATCH}`).run(Date.now(), ...holderArgs(runId)).changes === 1;
}

/** Gives the lease back (nothing happens when another process holds it now). */
export function releaseRunLease(store: Store, runId: number): void {
  store.stmt(`DELETE FROM run_leases WHERE ${HOLDER_MATCH}`).run(...holderArgs(runId));
}

/** Ids of the runs whose lease this process holds. */
export function heldRunIds(store: Store): number[] {
  const h = PROCESS_HOLDER;
  return store
    .stmt('SELECT run_id FROM run_leases WHERE holder_pid = ? AND holder_host = ? AND holder_started_at = ? ORDER BY run_id')
    .pluck()
    .all(h.pid, h.host, h.startedAt) as number[];
}

/**
 * A held lease kept alive: the heartbeat runs on a timer that does not keep the process alive; a
 * lost lease (taken over after this process froze past the stale limit) is reported through
 * lost() so that the caller stops.
 */
export class RunLease {
  private timer: NodeJS.Timeout | undefined;
  private lostFlag = false;

  constructor(
    private readonly store: Store,
    readonly runId: number,
    intervalMs: number = HEARTBEAT_INTERVAL_MS,
  ) {
    this.timer = setInterval(() => this.beat(), intervalMs);
    this.timer.unref();
  }

  private beat(): void {
    try {
      if (!heartbeat(this.store, this.runId)) this.lostFlag = true;
    } catch {
      // a busy database skips one beat; the stale limit is many beats long
    }
  }

  lost(): boolean {
    return this.lostFlag;
  }

  /** Stops the heartbeat and gives the lease back. */
  release(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.store.db.open) releaseRunLease(this.store, this.runId);
  }
}
