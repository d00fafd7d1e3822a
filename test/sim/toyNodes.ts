// Toy SimNodes for the simulator's tests and benchmark: a sequence-numbered sender, a recorder, an
// echo server and a ping-pong client. They follow the SimNode contract exactly as the Engine will
// (handle*/poll*, deadlines on the local clock, bytes copied out of handleDatagram) and keep their
// outbox as a bounded array of pending datagrams.
import type { SimAddress } from "../../src/sim/address.js";
import { NO_DEADLINE, type SimNode, type TransmitSink } from "../../src/sim/simNode.js";

const OUTBOX_MAX = 1 << 16;

interface Pending {
  ip: number;
  port: number;
  bytes: Uint8Array;
  endpoint: number;
}

/** Shared outbox handling: queue datagrams, hand them out in pollTransmit. */
abstract class OutboxNode implements SimNode {
  protected readonly outbox: Pending[] = [];
  private outboxHead = 0;

  protected enqueue(ip: number, port: number, bytes: Uint8Array, endpoint = 0): void {
    if (this.outbox.length - this.outboxHead >= OUTBOX_MAX) throw new Error("toy node outbox full");
    this.outbox.push({ ip, port, bytes, endpoint });
  }

  pollTransmit(_nowNs: number, sink: TransmitSink): number {
    let sent = 0;
    while (this.outboxHead < this.outbox.length) {
      const pending = this.outbox[this.outboxHead] as Pending;
      const slot = sink.claim(pending.endpoint, pending.ip, pending.port);
      if (slot < 0) break;
      sink.bytes.set(pending.bytes, sink.slotOffset(slot));
      sink.commit(slot, pending.bytes.length);
      this.outboxHead++;
      sent++;
    }
    if (this.outboxHead === this.outbox.length) {
      this.outbox.length = 0;
      this.outboxHead = 0;
    }
    return sent;
  }

  abstract handleDatagram(nowNs: number, from: SimAddress, to: SimAddress, bytes: Uint8Array, offset: number, length: number): void;
  abstract handleTimeout(nowNs: number): void;
  abstract pollTimeout(): number;
}

export interface SenderOptions {
  readonly toIp: number;
  readonly toPort: number;
  /** Datagrams to send in all. */
  readonly total: number;
  /** Datagrams per tick. Default 1. */
  readonly burst?: number;
  /** Time between ticks. Default 1 ms. */
  readonly intervalNs?: number;
  /** Payload length (>= 8). Default 64. */
  readonly length?: number;
  /** Local time of the first tick. Default 0 (at once). */
  readonly startNs?: number;
}

/** Sends `total` datagrams, `burst` per tick; bytes 0..3 carry the sequence number (LE). */
export class SequenceSender extends OutboxNode {
  sent = 0;
  private nextTickNs: number;
  private readonly burst: number;
  private readonly intervalNs: number;
  private readonly length: number;
  readonly received: number[] = [];

  constructor(private readonly options: SenderOptions) {
    super();
    this.burst = options.burst ?? 1;
    this.intervalNs = options.intervalNs ?? 1_000_000;
    this.length = options.length ?? 64;
    this.nextTickNs = options.startNs ?? 0;
  }

  handleDatagram(_nowNs: number, _from: SimAddress, _to: SimAddress, bytes: Uint8Array, offset: number, length: number): void {
    if (length >= 4) this.received.push(new DataView(bytes.buffer, bytes.byteOffset + offset, length).getUint32(0, true));
  }

  handleTimeout(nowNs: number): void {
    if (nowNs - this.nextTickNs < 0) return; // spurious: harmless
    for (let i = 0; i < this.burst && this.sent < this.options.total; i++) {
      const bytes = new Uint8Array(this.length);
      const view = new DataView(bytes.buffer);
      view.setUint32(0, this.sent, true);
      view.setUint32(4, this.length, true);
      for (let b = 8; b < this.length; b++) bytes[b] = (this.sent * 31 + b) & 0xff;
      this.enqueue(this.options.toIp, this.options.toPort, bytes);
      this.sent++;
    }
    this.nextTickNs += this.intervalNs;
  }

  pollTimeout(): number {
    return this.sent < this.options.total ? this.nextTickNs : NO_DEADLINE;
  }
}

/** Records every datagram: local arrival time, sequence number, length, addresses, a copy of the bytes. */
export class Recorder extends OutboxNode {
  readonly timesNs: number[] = [];
  readonly sequences: number[] = [];
  readonly lengths: number[] = [];
  readonly froms: SimAddress[] = [];
  readonly tos: SimAddress[] = [];
  readonly payloads: Uint8Array[] = [];
  /** Echo every datagram back to its sender. */
  echo = false;
  keepPayloads = false;

  handleDatagram(nowNs: number, from: SimAddress, to: SimAddress, bytes: Uint8Array, offset: number, length: number): void {
    this.timesNs.push(nowNs);
    this.lengths.push(length);
    this.froms.push(from);
    this.tos.push(to);
    this.sequences.push(length >= 4 ? new DataView(bytes.buffer, bytes.byteOffset + offset, length).getUint32(0, true) : -1);
    if (this.keepPayloads || this.echo) {
      const copy = bytes.slice(offset, offset + length);
      if (this.keepPayloads) this.payloads.push(copy);
      if (this.echo) this.enqueue(from.ip, from.port, copy);
    }
  }

  handleTimeout(_nowNs: number): void {}

  pollTimeout(): number {
    return NO_DEADLINE;
  }
}

/**
 * Ping-pong client: sends ping n (8 bytes: seq, 0) and waits for the echo; on the echo, or when
 * the retransmit timeout passes, sends the next ping. Records round-trip times.
 */
export class PingClient extends OutboxNode {
  seq = 0;
  pongs = 0;
  timeouts = 0;
  readonly rttsNs: number[] = [];
  private sentAtNs = 0;
  private deadlineNs = NO_DEADLINE;

  constructor(
    private readonly serverIp: number,
    private readonly serverPort: number,
    private readonly total: number,
    private readonly timeoutNs: number,
  ) {
    super();
    this.deadlineNs = 0; // first ping at once
  }

  handleDatagram(nowNs: number, _from: SimAddress, _to: SimAddress, bytes: Uint8Array, offset: number, length: number): void {
    if (length < 4) return;
    const echoed = new DataView(bytes.buffer, bytes.byteOffset + offset, length).getUint32(0, true);
    if (echoed !== this.seq - 1) return; // a late or duplicated pong
    this.pongs++;
    this.rttsNs.push(nowNs - this.sentAtNs);
    this.sendPing(nowNs);
  }

  handleTimeout(nowNs: number): void {
    if (nowNs - this.deadlineNs < 0) return;
    if (this.seq > 0) this.timeouts++;
    this.sendPing(nowNs);
  }

  private sendPing(nowNs: number): void {
    if (this.seq >= this.total) {
      this.deadlineNs = NO_DEADLINE;
      return;
    }
    const bytes = new Uint8Array(8);
    new DataView(bytes.buffer).setUint32(0, this.seq, true);
    this.seq++;
    this.sentAtNs = nowNs;
    this.deadlineNs = nowNs + this.timeoutNs;
    this.enqueue(this.serverIp, this.serverPort, bytes);
  }

  pollTimeout(): number {
    return this.deadlineNs;
  }
}

export interface ScriptedSend {
  readonly atNs: number;
  readonly ip: number;
  readonly port: number;
  readonly length: number;
  /** Index of the node's bound port to send from. Default 0. */
  readonly endpoint?: number;
}

/** Sends each scripted datagram at its local time (sorted by atNs); byte 0..3 = its index. */
export class ScriptedSender extends OutboxNode {
  private next = 0;
  readonly received: number[] = [];
  constructor(private readonly script: ReadonlyArray<ScriptedSend>) {
    super();
  }
  handleDatagram(_nowNs: number, _from: SimAddress, _to: SimAddress, bytes: Uint8Array, offset: number, length: number): void {
    this.received.push(length >= 4 ? new DataView(bytes.buffer, bytes.byteOffset + offset, length).getUint32(0, true) : -1);
  }
  handleTimeout(nowNs: number): void {
    while (this.next < this.script.length) {
      const send = this.script[this.next] as ScriptedSend;
      if (send.atNs > nowNs) break;
      const bytes = new Uint8Array(send.length);
      if (send.length >= 4) new DataView(bytes.buffer).setUint32(0, this.next, true);
      for (let b = 4; b < send.length; b++) bytes[b] = (b * 7 + this.next) & 0xff;
      this.enqueue(send.ip, send.port, bytes, send.endpoint ?? 0);
      this.next++;
    }
  }
  pollTimeout(): number {
    return this.script[this.next]?.atNs ?? NO_DEADLINE;
  }
}
