// Frame codec throughput: how many frames per second Petrel encodes and then decodes in place, for
// the three frames on the hot path (data header, status message, NAK), plus the datagram walker
// over a full 1408-byte batch of 22 data frames (the shape Aeron sends; see captures/README.md).
// Each figure is the median of several timed runs after a warm-up; buffers are preallocated, so
// the loop measures the codec, not the allocator.
import { performance } from "node:perf_hooks";
import {
  DataFrameFlyweight,
  DatagramWalker,
  HDR_TYPE_DATA,
  IgnoringFrameVisitor,
  NakFlyweight,
  StatusMessageFlyweight,
  dataTermOffset,
  viewOf,
  writeDataHeader,
  writeNak,
  writeStatusMessage,
} from "../src/core/protocol/index.js";

const RUNS = 7;
const FRAMES_PER_RUN = 2_000_000;
const SLOTS = 1024;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

/** Runs `body` (which handles `count` frames and returns a checksum) RUNS times; frames/s median. */
function measure(name: string, count: number, body: (count: number) => number): void {
  let sink = body(Math.min(count, 100_000)); // warm-up, lets the JIT settle
  const rates: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const start = performance.now();
    sink += body(count);
    const seconds = (performance.now() - start) / 1000;
    rates.push(count / seconds);
  }
  const m = median(rates);
  const spread = `${(Math.min(...rates) / 1e6).toFixed(1)}..${(Math.max(...rates) / 1e6).toFixed(1)}`;
  console.log(`${name.padEnd(44)} ${(m / 1e6).toFixed(2).padStart(8)} M frames/s  (runs ${spread} M, checksum ${sink & 0xff})`);
}

export async function runFrameCodecBench(): Promise<void> {
  console.log(`frame codec: ${RUNS} runs of ${FRAMES_PER_RUN} frames each, median; ${SLOTS} frame slots reused`);
  const buffer = new Uint8Array(SLOTS * 64);
  const view = viewOf(buffer);
  const data = new DataFrameFlyweight();
  const sm = new StatusMessageFlyweight();
  const nak = new NakFlyweight();

  measure("data header: writeDataHeader + flyweight read", FRAMES_PER_RUN, (count) => {
    let check = 0;
    for (let i = 0; i < count; i++) {
      const at = (i & (SLOTS - 1)) * 64;
      writeDataHeader(view, at, 64, 0xc0, HDR_TYPE_DATA, (i << 6) & 0xffffff, 0x1234, 1001, 7, 0, 0);
      data.wrap(buffer, at, 64);
      check += data.termOffset() + data.sessionId() + data.streamId() + data.termId() + data.frameLength();
    }
    return check;
  });

  measure("data header: free accessors only", FRAMES_PER_RUN, (count) => {
    let check = 0;
    for (let i = 0; i < count; i++) {
      const at = (i & (SLOTS - 1)) * 64;
      writeDataHeader(view, at, 64, 0xc0, HDR_TYPE_DATA, (i << 6) & 0xffffff, 0x1234, 1001, 7, 0, 0);
      check += dataTermOffset(view, at);
    }
    return check;
  });

  measure("status message: writeStatusMessage + read", FRAMES_PER_RUN, (count) => {
    let check = 0;
    for (let i = 0; i < count; i++) {
      const at = (i & (SLOTS - 1)) * 64;
      writeStatusMessage(view, at, 0, 0x1234, 1001, 7, i & 0xffff, 131072, 0x97551e57, -0x613a3481);
      sm.wrap(buffer, at, 36);
      check += sm.consumptionTermOffset() + sm.receiverWindow() + (sm.receiverIdEquals(0x97551e57, -0x613a3481) ? 1 : 0);
    }
    return check;
  });

  measure("NAK: writeNak + read", FRAMES_PER_RUN, (count) => {
    let check = 0;
    for (let i = 0; i < count; i++) {
      const at = (i & (SLOTS - 1)) * 64;
      writeNak(view, at, 0, 0x1234, 1001, 7, (i << 5) & 0xffff, 1408);
      nak.wrap(buffer, at, 28);
      check += nak.termOffset() + nak.length() + nak.termId();
    }
    return check;
  });

  // A 1408-byte datagram holding 22 x 64-byte data frames, walked (validate, then visit).
  const batch = new Uint8Array(1408);
  const batchView = viewOf(batch);
  for (let f = 0; f < 22; f++) writeDataHeader(batchView, f * 64, 64, 0xc0, HDR_TYPE_DATA, f * 64, 0x1234, 1003, 7, 0, 0);
  const walker = new DatagramWalker();
  const counter = new (class extends IgnoringFrameVisitor {
    sum = 0;
    override onData(v: DataView, _bytes: Uint8Array, frameOffset: number): void {
      this.sum += dataTermOffset(v, frameOffset);
    }
  })();
  measure("walker: 1408-byte batch of 22 data frames", FRAMES_PER_RUN, (count) => {
    const datagrams = Math.ceil(count / 22);
    for (let i = 0; i < datagrams; i++) walker.walk(batch, 0, 1408, counter);
    return counter.sum + walker.rejectedTotal();
  });
}
