// Log buffer benchmark: messages appended and read back per second on one core, for 32-byte and
// 1 KiB messages, through the real hot path: ExclusiveLogAppender.append (rotating through the
// three partitions of one log) and TermReader.read into a FragmentAssembler, in bursts of 16
// appends followed by reads until the subscriber has caught up. Prints the median of several
// runs, then the heap growth over 10^7 messages (after a forced GC when node runs with
// --expose-gc; otherwise raw process.memoryUsage deltas).
import { ADMIN_ACTION, ExclusiveLogAppender } from "../src/core/logbuffer/exclusiveLogAppender.js";
import { FragmentAssembler } from "../src/core/logbuffer/fragmentAssembler.js";
import type { FragmentHeader } from "../src/core/logbuffer/fragmentHeader.js";
import { indexByPosition } from "../src/core/logbuffer/logBufferDescriptor.js";
import { LogBuffers } from "../src/core/logbuffer/logBuffers.js";
import { readOffset, TermReader, type FragmentHandler } from "../src/core/logbuffer/termReader.js";

const TERM_LENGTH = 64 * 1024;
const MTU = 1408;
const BURST = 16;
const FRAGMENT_LIMIT = 64;

class Sink implements FragmentHandler {
  messages = 0;
  checksum = 0;
  onFragment(buffer: Uint8Array, offset: number, length: number, _header: FragmentHeader): void {
    this.messages++;
    this.checksum = (this.checksum + (buffer[offset] as number) + length) | 0;
  }
}

/** One publication log with its subscriber, driven in a tight loop. */
class LogLoop {
  readonly log: LogBuffers;
  readonly appender: ExclusiveLogAppender;
  readonly reader: TermReader;
  readonly sink = new Sink();
  readonly assembler = new FragmentAssembler(this.sink);
  readonly message: Uint8Array;
  subscriberPosition = 0;

  constructor(messageLength: number, shared: boolean) {
    this.log = LogBuffers.allocate(TERM_LENGTH, shared);
    this.appender = new ExclusiveLogAppender(this.log, { initialTermId: 0x7ffffff0, sessionId: 7, streamId: 1001, mtuLength: MTU });
    this.reader = new TermReader(0x7ffffff0, this.appender.positionBitsToShift, this.log.term(0));
    // A message inside a larger application buffer, as an encoder would leave it.
    this.message = new Uint8Array(messageLength + 64);
    for (let i = 0; i < this.message.length; i++) this.message[i] = i & 0xff;
  }

  /** Appends and reads `count` messages (a multiple of BURST); returns messages read. */
  run(count: number, length: number): number {
    const appender = this.appender;
    const message = this.message;
    const before = this.sink.messages;
    for (let done = 0; done < count; done += BURST) {
      for (let i = 0; i < BURST; i++) {
        let result = appender.append(message, 8, length);
        if (result === ADMIN_ACTION) result = appender.append(message, 8, length);
        if (result < 0) throw new Error(`append failed with ${result}`);
      }
      this.drain();
    }
    return this.sink.messages - before;
  }

  private drain(): void {
    const target = this.appender.position;
    const mask = TERM_LENGTH - 1;
    while (this.subscriberPosition < target) {
      const termOffset = this.subscriberPosition & mask;
      const term = this.log.terms[indexByPosition(this.subscriberPosition, this.appender.positionBitsToShift)]!;
      const result = this.reader.read(term, termOffset, FRAGMENT_LIMIT, this.assembler);
      this.subscriberPosition += readOffset(result) - termOffset;
    }
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function measure(length: number, messagesPerRun: number, runs: number, shared = false): void {
  const loop = new LogLoop(length, shared);
  loop.run(messagesPerRun, length); // warm-up: let the JIT settle
  const rates: number[] = [];
  for (let r = 0; r < runs; r++) {
    const start = process.hrtime.bigint();
    const read = loop.run(messagesPerRun, length);
    const elapsedNs = Number(process.hrtime.bigint() - start);
    if (read !== messagesPerRun) throw new Error(`read ${read} of ${messagesPerRun} messages`);
    rates.push((messagesPerRun * 1e9) / elapsedNs);
  }
  const format = (rate: number): string => `${(rate / 1e6).toFixed(2)} M/s`;
  console.log(
    `log append+read ${String(length).padStart(5)} B${shared ? " (SharedArrayBuffer, Atomics)" : ""}: median ${format(median(rates))} ` +
      `(${runs} runs of ${messagesPerRun / 1e6} M; min ${format(Math.min(...rates))}, max ${format(Math.max(...rates))}; ` +
      `${((median(rates) * length) / 2 ** 20).toFixed(0)} MiB/s payload)`,
  );
}

function heapGrowth(length: number, total: number): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  const loop = new LogLoop(length, false);
  loop.run(1 << 16, length);
  gc?.();
  const before = process.memoryUsage();
  const read = loop.run(total, length);
  const raw = process.memoryUsage();
  if (read !== total) throw new Error(`read ${read} of ${total} messages`);
  const kib = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KiB`;
  const deltas = (after: NodeJS.MemoryUsage): string =>
    `heapUsed ${kib(after.heapUsed - before.heapUsed)}, rss ${kib(after.rss - before.rss)}, arrayBuffers ${kib(after.arrayBuffers - before.arrayBuffers)}`;
  console.log(`log heap growth over ${total / 1e6}e6 messages of ${length} B, raw process.memoryUsage deltas: ${deltas(raw)}`);
  if (gc) {
    gc();
    console.log(`log heap growth over ${total / 1e6}e6 messages of ${length} B, after a forced GC: ${deltas(process.memoryUsage())}`);
  } else {
    console.log("log heap growth after a forced GC: not measured (run node with --expose-gc)");
  }
}

export async function runLogBench(): Promise<void> {
  console.log(`log buffers: term ${TERM_LENGTH / 1024} KiB, mtu ${MTU}, bursts of ${BURST} appends then reads (fragment limit ${FRAGMENT_LIMIT})`);
  measure(32, 4_000_000, 7);
  measure(1024, 1_000_000, 7);
  measure(32, 1_000_000, 5, true);
  heapGrowth(32, 10_000_000);
  heapGrowth(1024, 10_000_000);
}
