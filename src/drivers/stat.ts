// Live statistics of a running Petrel process, for `petrel stat` (what AeronStat is to Aeron): the
// process writes a small JSON file with its engine's counters and per-stream positions, under Aeron's
// names (the engine's CountersReader), every `intervalMs`, into a directory every Petrel process on
// the host shares (/dev/shm/petrel by default). `petrel stat` reads them all.
//
// The file is replaced atomically (written beside it, then renamed), so a reader never sees half a
// file. It is removed when the publisher stops; a process that dies leaves it behind, and readers
// skip files whose process is gone. The work happens on a timer outside the duty cycle (one JSON
// document a second by default), never on the hot path.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import type { Engine } from "../core/engine/engine.js";

/** The format's version, first in every file. */
export const STAT_FORMAT_VERSION = 1;

export interface StatCounter {
  readonly id: number;
  readonly typeId: number;
  readonly label: string;
  readonly value: number;
}

/** One client's statistics, as written to `<dir>/petrel-<pid>-<n>.json`. */
export interface StatSnapshot {
  readonly version: number;
  readonly pid: number;
  /** What the process runs (its script's name), for the reader's header. */
  readonly title: string;
  readonly startedAtMs: number;
  readonly updatedAtMs: number;
  /** Counters of type 0 (system), then the streams' position counters. */
  readonly counters: ReadonlyArray<StatCounter>;
}

export interface StatOptions {
  /** Where to write (default: $PETREL_STAT_DIR, else /dev/shm/petrel, else <tmpdir>/petrel). */
  readonly dir?: string;
  /** How often to write, in ms (default 1000). */
  readonly intervalMs?: number;
}

/** The directory Petrel processes share for their statistics. */
export function defaultStatDir(): string {
  const fromEnv = process.env["PETREL_STAT_DIR"];
  if (fromEnv !== undefined && fromEnv !== "") return fromEnv;
  return existsSync("/dev/shm") ? "/dev/shm/petrel" : join(tmpdir(), "petrel");
}

let nextPublisherId = 1;

/** Writes one engine's statistics every intervalMs until stop(). */
export class StatPublisher {
  readonly path: string;
  private readonly tmpPath: string;
  private readonly timer: NodeJS.Timeout;
  private readonly startedAtMs = Date.now();
  private stopped = false;
  /** The last write's failure (a full or read-only directory), if any: stats are best effort. */
  lastError: Error | undefined;

  constructor(private readonly engine: Engine, options: StatOptions = {}) {
    const dir = options.dir ?? defaultStatDir();
    const intervalMs = options.intervalMs ?? 1000;
    if (!Number.isFinite(intervalMs) || intervalMs < 10) throw new RangeError(`stat intervalMs must be at least 10 (got ${intervalMs})`);
    // One file per publisher: a process may run several clients.
    this.path = join(dir, `petrel-${process.pid}-${nextPublisherId++}.json`);
    this.tmpPath = `${this.path}.tmp`;
    try {
      mkdirSync(dir, { recursive: true });
    } catch (error) {
      // Best effort: a directory that cannot be made shows in lastError, and writes keep failing.
      this.lastError = error instanceof Error ? error : new Error(String(error));
    }
    this.write();
    this.timer = setInterval(() => this.write(), intervalMs);
    this.timer.unref();
  }

  /** Writes now (also called on the timer). */
  write(): void {
    if (this.stopped || this.engine.isClosed) return;
    const counters: StatCounter[] = [];
    const reader = this.engine.countersReader;
    reader.forEach((id, typeId, label, value) => counters.push({ id, typeId, label, value }));
    const snapshot: StatSnapshot = {
      version: STAT_FORMAT_VERSION,
      pid: process.pid,
      title: basename(process.argv[1] ?? process.title),
      startedAtMs: this.startedAtMs,
      updatedAtMs: Date.now(),
      counters,
    };
    try {
      writeFileSync(this.tmpPath, JSON.stringify(snapshot));
      renameSync(this.tmpPath, this.path);
      this.lastError = undefined;
    } catch (error) {
      this.lastError = error instanceof Error ? error : new Error(String(error));
    }
  }

  /** Stops writing and removes the file. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.timer);
    rmSync(this.path, { force: true });
    rmSync(this.tmpPath, { force: true });
  }
}

/** A snapshot read back, or why a file was skipped. */
export type StatRead = { readonly ok: true; readonly snapshot: StatSnapshot } | { readonly ok: false; readonly file: string; readonly reason: string };

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Reads every live process's statistics from `dir` (files of exited processes are skipped). */
export function readStatDir(dir: string): StatRead[] {
  if (!existsSync(dir)) return [];
  const reads: StatRead[] = [];
  for (const name of readdirSync(dir).sort()) {
    const match = /^petrel-(\d+)-\d+\.json$/.exec(name);
    if (match === null) continue;
    const file = join(dir, name);
    if (!alive(Number(match[1]))) {
      reads.push({ ok: false, file, reason: "its process has exited" });
      continue;
    }
    try {
      const snapshot = JSON.parse(readFileSync(file, "utf8")) as StatSnapshot;
      if (snapshot.version !== STAT_FORMAT_VERSION || !Array.isArray(snapshot.counters)) {
        reads.push({ ok: false, file, reason: `format version ${String(snapshot.version)}, expected ${STAT_FORMAT_VERSION}` });
        continue;
      }
      reads.push({ ok: true, snapshot });
    } catch (error) {
      reads.push({ ok: false, file, reason: error instanceof Error ? error.message : String(error) });
    }
  }
  return reads;
}
