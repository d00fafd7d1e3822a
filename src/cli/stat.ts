// `petrel stat`: a live view of every running Petrel client on the host, as AeronStat gives Aeron
// users. Each client publishes its counters and stream positions (src/drivers/stat.ts); this reads
// them all and shows, per process: the non-zero system counters, the per-stream position counters
// (pub-pos, snd-pos, snd-lmt, rcv-hwm, rcv-pos, sub-pos, ...) and, from the second refresh on, rates:
// messages' bytes, NAKs, retransmits and loss (gap fills) per second.
//   petrel stat [--dir DIR] [--interval MS] [--once] [--json]
import { parseArgs } from "node:util";
import { defaultStatDir, readStatDir, type StatSnapshot } from "../drivers/stat.js";

export const STAT_USAGE = `usage: petrel stat [--dir DIR] [--interval MS] [--once] [--json]
  --dir DIR       where clients publish their statistics (default ${defaultStatDir()}; $PETREL_STAT_DIR)
  --interval MS   refresh period (default 1000)
  --once          print one view and exit (rates need two views: --interval MS --count 2)
  --count N       print N views, then exit
  --json          print each view as one JSON line (the processes' snapshots and rates)`;

/** Counters whose per-second rate the view shows, by Aeron's label. */
const RATE_LABELS: ReadonlyArray<readonly [string, string]> = [
  ["Bytes sent", "sent B/s"],
  ["Bytes received", "received B/s"],
  ["NAKs sent", "NAKs sent/s"],
  ["NAKs received", "NAKs received/s"],
  ["Retransmits sent", "retransmits/s"],
  ["Loss gap fills", "gap fills/s"],
];

interface ProcessView {
  readonly snapshot: StatSnapshot;
  readonly rates: Record<string, number>;
}

function valueOf(snapshot: StatSnapshot, label: string): number | undefined {
  return snapshot.counters.find((c) => c.typeId === 0 && c.label === label)?.value;
}

function views(dir: string, previous: Map<string, StatSnapshot>): ProcessView[] {
  const result: ProcessView[] = [];
  for (const read of readStatDir(dir)) {
    if (!read.ok) continue;
    const snapshot = read.snapshot;
    const key = `${snapshot.pid}/${snapshot.startedAtMs}/${snapshot.title}`;
    const before = previous.get(key);
    const rates: Record<string, number> = {};
    if (before !== undefined && snapshot.updatedAtMs > before.updatedAtMs) {
      const seconds = (snapshot.updatedAtMs - before.updatedAtMs) / 1000;
      for (const [label, name] of RATE_LABELS) {
        const now = valueOf(snapshot, label);
        const then = valueOf(before, label);
        if (now !== undefined && then !== undefined) rates[name] = (now - then) / seconds;
      }
    }
    previous.set(key, snapshot);
    result.push({ snapshot, rates });
  }
  return result;
}

function format(list: ReadonlyArray<ProcessView>, dir: string, nowMs: number): string {
  const lines = [`petrel stat: ${list.length} process${list.length === 1 ? "" : "es"} in ${dir}, ${new Date(nowMs).toISOString()}`];
  for (const { snapshot, rates } of list) {
    const ageMs = nowMs - snapshot.updatedAtMs;
    lines.push("", `pid ${snapshot.pid} ${snapshot.title}: up ${((nowMs - snapshot.startedAtMs) / 1000).toFixed(0)} s, updated ${ageMs} ms ago`);
    const rateText = Object.entries(rates).map(([name, value]) => `${name} ${value.toFixed(0)}`).join(", ");
    if (rateText !== "") lines.push(`  rates: ${rateText}`);
    const system = snapshot.counters.filter((c) => c.typeId === 0 && c.value !== 0);
    const width = Math.max(0, ...system.map((c) => c.label.length));
    for (const c of system) lines.push(`  ${String(c.id).padStart(3)}: ${c.label.padEnd(width)}  ${c.value}`);
    const streams = snapshot.counters.filter((c) => c.typeId !== 0);
    if (streams.length > 0) lines.push("  streams:");
    for (const c of streams) lines.push(`  ${String(c.id).padStart(3)}: ${String(c.value).padStart(14)}  ${c.label}`);
  }
  return lines.join("\n");
}

/** Runs `petrel stat`; resolves to the exit code. */
export async function runStat(argv: ReadonlyArray<string>, out: { isTTY: boolean; write(text: string): void } = process.stdout as never): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        dir: { type: "string" },
        interval: { type: "string" },
        once: { type: "boolean" },
        count: { type: "string" },
        json: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    process.stderr.write(`petrel stat: ${error instanceof Error ? error.message : String(error)}\n${STAT_USAGE}\n`);
    return 2;
  }
  if (values.help === true) {
    out.write(`${STAT_USAGE}\n`);
    return 0;
  }
  const intervalMs = values.interval === undefined ? 1000 : Number(values.interval);
  const count = values.once === true ? 1 : values.count === undefined ? Infinity : Number(values.count);
  if (!Number.isInteger(intervalMs) || intervalMs < 10) {
    process.stderr.write(`petrel stat: --interval must be an integer of at least 10 ms (got ${values.interval})\n${STAT_USAGE}\n`);
    return 2;
  }
  if (count !== Infinity && (!Number.isInteger(count) || count < 1)) {
    process.stderr.write(`petrel stat: --count must be a positive integer (got ${values.count})\n${STAT_USAGE}\n`);
    return 2;
  }
  const dir = values.dir ?? defaultStatDir();
  const previous = new Map<string, StatSnapshot>();
  // Bounded by --count (or runs until interrupted, as AeronStat does).
  for (let i = 0; i < count; i++) {
    if (i > 0) await new Promise((resolve) => setTimeout(resolve, intervalMs));
    const list = views(dir, previous);
    if (values.json === true) {
      out.write(`${JSON.stringify({ dir, processes: list })}\n`);
    } else {
      const text = format(list, dir, Date.now());
      // A terminal gets the view in place; a pipe gets one view after another.
      out.write(out.isTTY && count > 1 ? `\x1b[H\x1b[2J${text}\n` : `${text}\n${i + 1 < count ? "\n" : ""}`);
    }
  }
  return 0;
}
