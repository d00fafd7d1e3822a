// Goal: `petrel replay --schedule` reads the simulator's schedule format (src/sim/scenario.ts) as
// replay faults with the same meaning, and the filters it needs (to=, rate=) decide as documented.
// - Translation: a schedule -> the exact faults (formatted as the filter syntax): partition/heal
//   per direction, loss until the next loss (a heal does not end it), reorder on/off with the
//   simulator's probability and delay, open-ended faults, ranges of no length left out, list order
//   at one instant, the {"schedule": [...]} wrapper and Petrel's own format still read.
// - Refusals: duplicate on, crash, restart, sub other than 0, an invalid entry, neither format:
//   a ScheduleError naming the entry; duplicate off is accepted (a no-op).
// - rate=: the same fault text makes the same decisions on a second run (fixed datagrams, fixed
//   seed: cannot flake), another text makes others; over 20,000 datagrams the fraction picked is
//   within 2% of N/D (for this fixed seed the count is a constant; the bound documents the intent).
// - to=: a fault with to= picks only datagrams going to that end, and refuses to guess when the
//   caller cannot tell.
import { describe, expect, it } from "vitest";
import { formatFault, FrameFault, FrameFilterError, parseFrameFilter, type FaultSpec } from "../../src/journal/frameFilter.js";
import { faultsOfSimulatorSchedule, parseScheduleText, ScheduleError } from "../../src/journal/simSchedule.js";
import type { Schedule } from "../../src/sim/scenario.js";

const text = (faults: ReadonlyArray<FaultSpec>): string[] => faults.map((f) => `${f.kind} ${formatFault(f)}`);
const S = 1_000_000_000;
const MS = 1_000_000;

describe("the simulator's schedule as replay faults", () => {
  it("partition and heal: drops over that time range in that direction", () => {
    const schedule: Schedule = [
      { atNs: 1 * S, action: { kind: "partition", sub: 0, direction: "toSubscriber" } },
      { atNs: 2 * S, action: { kind: "heal", sub: 0 } },
      { atNs: 3 * S, action: { kind: "partition", sub: 0, direction: "fromSubscriber" } },
      { atNs: 3500 * MS, action: { kind: "partition", sub: 0, direction: "both" } },
      { atNs: 4 * S, action: { kind: "heal", sub: 0 } },
      { atNs: 5 * S, action: { kind: "partition", sub: 0, direction: "both" } },
    ];
    expect(text(faultsOfSimulatorSchedule(schedule))).toEqual([
      "drop ANY,to=subscriber,t=1s..2s",
      "drop ANY,to=subscriber,t=3500ms..4s",
      "drop ANY,to=publisher,t=3s..4s",
      "drop ANY,to=subscriber,t=5s..",
      "drop ANY,to=publisher,t=5s..",
    ]);
  });

  it("loss: rate= drops on both directions until the next loss action (a heal does not end it)", () => {
    const schedule: Schedule = [
      { atNs: 1 * S, action: { kind: "loss", sub: 0, loss: { numerator: 1, denominator: 4 } } },
      { atNs: 2 * S, action: { kind: "heal", sub: 0 } },
      { atNs: 3 * S, action: { kind: "loss", sub: 0, loss: { numerator: 1, denominator: 2 } } },
      { atNs: 4 * S, action: { kind: "loss", sub: 0, loss: { numerator: 0, denominator: 1 } } },
      { atNs: 5 * S, action: { kind: "loss", sub: 0, loss: { numerator: 3, denominator: 100 } } },
    ];
    expect(text(faultsOfSimulatorSchedule(schedule))).toEqual([
      "drop ANY,to=subscriber,t=1s..3s,rate=1/4",
      "drop ANY,to=publisher,t=1s..3s,rate=1/4",
      "drop ANY,to=subscriber,t=3s..4s,rate=1/2",
      "drop ANY,to=publisher,t=3s..4s,rate=1/2",
      "drop ANY,to=subscriber,t=5s..,rate=3/100",
      "drop ANY,to=publisher,t=5s..,rate=3/100",
    ]);
  });

  it("reorder on/off: delays of 1 in 8 by 2 ms (SCENARIO_PATH_FAULTS.reorder), after the drops; duplicate off is a no-op", () => {
    const schedule: Schedule = [
      { atNs: 0, action: { kind: "reorder", sub: 0, on: true } },
      { atNs: 1 * S, action: { kind: "reorder", sub: 0, on: true } },
      { atNs: 2 * S, action: { kind: "reorder", sub: 0, on: false } },
      { atNs: 2 * S, action: { kind: "duplicate", sub: 0, on: false } },
      { atNs: 2 * S, action: { kind: "partition", sub: 0, direction: "toSubscriber" } },
      { atNs: 3 * S, action: { kind: "reorder", sub: 0, on: true } },
    ];
    expect(text(faultsOfSimulatorSchedule(schedule))).toEqual([
      "drop ANY,to=subscriber,t=2s..",
      "delay ANY,to=subscriber,t=0ns..2s,rate=1/8:2ms",
      "delay ANY,to=publisher,t=0ns..2s,rate=1/8:2ms",
      "delay ANY,to=subscriber,t=3s..,rate=1/8:2ms",
      "delay ANY,to=publisher,t=3s..,rate=1/8:2ms",
    ]);
  });

  it("applies actions in time order, list order at one instant; a range of no length is left out", () => {
    const schedule: Schedule = [
      { atNs: 2 * S, action: { kind: "heal", sub: 0 } },
      { atNs: 1 * S, action: { kind: "partition", sub: 0, direction: "both" } },
      { atNs: 3 * S, action: { kind: "partition", sub: 0, direction: "toSubscriber" } },
      { atNs: 3 * S, action: { kind: "heal", sub: 0 } },
      { atNs: 4 * S, action: { kind: "loss", sub: 0, loss: { numerator: 1, denominator: 8 } } },
      { atNs: 4 * S, action: { kind: "loss", sub: 0, loss: { numerator: 0, denominator: 1 } } },
    ];
    expect(text(faultsOfSimulatorSchedule(schedule))).toEqual(["drop ANY,to=subscriber,t=1s..2s", "drop ANY,to=publisher,t=1s..2s"]);
    expect(faultsOfSimulatorSchedule([])).toEqual([]);
  });

  it("reads both file formats by shape: a bare array, {\"schedule\": [...]}, and Petrel's own", () => {
    const entries = [{ atNs: 1 * S, action: { kind: "partition", sub: 0, direction: "both" } }, { atNs: 2 * S, action: { kind: "heal", sub: 0 } }];
    const expected = ["drop ANY,to=subscriber,t=1s..2s", "drop ANY,to=publisher,t=1s..2s"];
    expect(text(parseScheduleText(JSON.stringify(entries), "f.json"))).toEqual(expected);
    expect(text(parseScheduleText(JSON.stringify({ seed: 7, schedule: entries }), "f.json"))).toEqual(expected);
    expect(text(parseScheduleText(JSON.stringify({ format: "petrel-replay-faults", faults: [{ drop: "DATA,every=2" }, { delay: "SM:5ms" }] }), "f.json")))
      .toEqual(["drop DATA,every=2", "delay SM:5ms"]);
  });

  it("refuses what a replay cannot do, naming the entry", () => {
    const one = (action: unknown): () => FaultSpec[] => () => parseScheduleText(JSON.stringify([{ atNs: 0, action: { kind: "heal", sub: 0 } }, { atNs: 5, action }]), "f.json");
    expect(one({ kind: "duplicate", sub: 0, on: true })).toThrow(ScheduleError);
    expect(one({ kind: "duplicate", sub: 0, on: true })).toThrow(/f\.json: schedule\[1\] \(duplicate at 5 ns\): duplicate: not supported by replay/);
    expect(one({ kind: "crash", sub: 0 })).toThrow(/schedule\[1\] \(crash at 5 ns\): crash: not supported by replay/);
    expect(one({ kind: "restart", sub: 0 })).toThrow(/schedule\[1\] \(restart at 5 ns\): restart: not supported by replay/);
    expect(one({ kind: "heal", sub: 1 })).toThrow(/schedule\[1\] \(heal at 5 ns\): sub 1, but a replay has one subscriber \(sub 0\)/);
    expect(one({ kind: "loss", sub: 0, loss: { numerator: 3, denominator: 4 } })).toThrow(/not a valid simulator schedule: schedule\[1\]\.action\.loss must be at most 1\/2/);
    expect(one({ kind: "flood", sub: 0 })).toThrow(/not a valid simulator schedule: schedule\[1\]\.action\.kind flood is not a fault/);
    expect(() => parseScheduleText('{"faults": []}', "f.json")).toThrow(/expected \{"format":"petrel-replay-faults".*or the simulator's schedule/);
    expect(() => parseScheduleText("[{", "f.json")).toThrow(/f\.json: not JSON/);
    expect(() => parseScheduleText('{"format":"petrel-replay-faults","faults":[{"dorp":"DATA"}]}', "f.json")).toThrow(/fault 0 has neither "drop" nor "delay"/);
  });
});

/** A DATA frame header alone (32 bytes), as a datagram. */
function dataDatagram(termOffset: number): Uint8Array {
  const bytes = new Uint8Array(32);
  const view = new DataView(bytes.buffer);
  view.setInt32(0, 32, true);
  view.setUint16(6, 1, true);
  view.setInt32(8, termOffset, true);
  return bytes;
}

function decisions(filter: string, n: number, to?: "publisher" | "subscriber"): boolean[] {
  const fault = new FrameFault({ kind: "drop", filter: parseFrameFilter(filter) });
  const out: boolean[] = [];
  for (let i = 0; i < n; i++) {
    const bytes = dataDatagram(i * 32);
    out.push(fault.test("rx", i * 1000, bytes, 0, bytes.length, to));
  }
  return out;
}

describe("rate= and to= filters", () => {
  it("rate=N/D: the same fault text decides the same way every run; the fraction is near N/D", () => {
    const first = decisions("DATA,rate=1/8", 20_000);
    expect(decisions("DATA,rate=1/8", 20_000)).toEqual(first);
    // Spelled differently, formatted the same: the same generator.
    expect(decisions("data, rate=1/8", 20_000)).toEqual(first);
    expect(decisions("DATA,t=0ns..,rate=1/8", 20_000)).not.toEqual(first);
    const picked = first.filter(Boolean).length;
    expect(Math.abs(picked / 20_000 - 1 / 8)).toBeLessThan(0.02);
    const half = decisions("ANY,rate=1/2", 20_000).filter(Boolean).length;
    expect(Math.abs(half / 20_000 - 1 / 2)).toBeLessThan(0.02);
    expect(decisions("DATA,rate=0/5", 100).some(Boolean)).toBe(false);
    expect(decisions("DATA,rate=5/5", 100).every(Boolean)).toBe(true);
  });

  it("rate= draws only for datagrams the rest of the filter matched, before count", () => {
    const picks = decisions("DATA,every=2,rate=1/2,count=10", 1000);
    expect(picks.filter(Boolean)).toHaveLength(10);
    expect(picks.every((p, i) => !p || i % 2 === 1)).toBe(true);
  });

  it("to= picks only datagrams going to that end, and will not guess", () => {
    expect(decisions("DATA,to=subscriber", 5, "subscriber")).toEqual([true, true, true, true, true]);
    expect(decisions("DATA,to=subscriber", 5, "publisher")).toEqual([false, false, false, false, false]);
    expect(decisions("DATA", 2, "publisher")).toEqual([true, true]);
    expect(() => decisions("DATA,to=publisher", 1)).toThrow(FrameFilterError);
  });
});
