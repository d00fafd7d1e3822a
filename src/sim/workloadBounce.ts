// The simulator kernel's throughput workload: pairs of hosts bounce small datagrams back and forth
// with a window of datagrams in flight per pair, through lean nodes that allocate nothing per
// datagram. Each delivery is one event and causes one send, so events per wall second measures the
// kernel alone: heap, link admission, buffer pool, trace hash, node dispatch and polling.
//
// It only builds the Simulation: a benchmark times sim.runFor(simulatedNs) itself (src/sim reads no
// clock). Performance is measured by benchmarks, never by timed tests.
import type { SimAddress } from "./address.js";
import type { LinkModel } from "./link.js";
import { NO_DEADLINE, type SimNode, type TransmitSink } from "./simNode.js";
import { Simulation } from "./simulator.js";

const PAYLOAD_BYTES = 32;
const REPLY_QUEUE_CAPACITY = 4096;

/** Answers every datagram with one back to its sender (counter in bytes 0..2 incremented). */
export class Bouncer implements SimNode {
  private readonly replyIps = new Uint32Array(REPLY_QUEUE_CAPACITY);
  private readonly replyPorts = new Uint16Array(REPLY_QUEUE_CAPACITY);
  private readonly replyCounters = new Uint32Array(REPLY_QUEUE_CAPACITY);
  private pending = 0;
  received = 0;

  constructor(peerIp: number, peerPort: number, window: number) {
    // Prime the window: the node starts by sending `window` datagrams.
    for (let i = 0; i < window; i++) this.queue(peerIp, peerPort, i);
  }

  private queue(ip: number, port: number, counter: number): void {
    if (this.pending === REPLY_QUEUE_CAPACITY) throw new Error("Bouncer: reply queue full");
    this.replyIps[this.pending] = ip;
    this.replyPorts[this.pending] = port;
    this.replyCounters[this.pending] = counter;
    this.pending++;
  }

  handleDatagram(_nowNs: number, from: SimAddress, _to: SimAddress, bytes: Uint8Array, offset: number, _length: number): void {
    this.received++;
    const counter = (bytes[offset] as number) | ((bytes[offset + 1] as number) << 8) | ((bytes[offset + 2] as number) << 16);
    this.queue(from.ip, from.port, counter + 1);
  }

  handleTimeout(_nowNs: number): void {}

  pollTransmit(_nowNs: number, sink: TransmitSink): number {
    let sent = 0;
    while (sent < this.pending) {
      const slot = sink.claim(0, this.replyIps[sent] as number, this.replyPorts[sent] as number);
      if (slot < 0) break;
      const offset = sink.slotOffset(slot);
      const counter = this.replyCounters[sent] as number;
      const bytes = sink.bytes;
      bytes[offset] = counter & 0xff;
      bytes[offset + 1] = (counter >>> 8) & 0xff;
      bytes[offset + 2] = (counter >>> 16) & 0xff;
      bytes.fill(7, offset + 3, offset + PAYLOAD_BYTES);
      sink.commit(slot, PAYLOAD_BYTES);
      sent++;
    }
    if (sent === this.pending) this.pending = 0;
    else {
      this.replyIps.copyWithin(0, sent, this.pending);
      this.replyPorts.copyWithin(0, sent, this.pending);
      this.replyCounters.copyWithin(0, sent, this.pending);
      this.pending -= sent;
    }
    return sent;
  }

  pollTimeout(): number {
    return NO_DEADLINE;
  }
}

export interface BounceWorkloadOptions {
  readonly pairs: number;
  /** Datagrams in flight per pair. */
  readonly window: number;
  readonly model: LinkModel;
  readonly seed?: number;
  readonly traceBytes?: boolean;
}

/** Builds (does not run) the bounce workload; run it with sim.runFor(simulatedNs). */
export function buildBounceWorkload(options: BounceWorkloadOptions): Simulation {
  const sim = new Simulation({ seed: options.seed ?? 1, traceBytes: options.traceBytes ?? true });
  for (let p = 0; p < options.pairs; p++) {
    const left = `l${p}`;
    const right = `r${p}`;
    const leftIp = ((10 << 24) | (1 << 16) | (p << 1)) >>> 0;
    const rightIp = (leftIp + 1) >>> 0;
    sim.host(left, (host) => void host.bind(new Bouncer(rightIp, 7, options.window), 7), { ip: leftIp });
    sim.host(right, (host) => void host.bind(new Bouncer(leftIp, 7, 0), 7), { ip: rightIp });
    sim.link(left, right, options.model);
  }
  return sim;
}
