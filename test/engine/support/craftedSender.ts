// Test support for receiver conformance tests: one real Engine with subscriptions, and a sender
// that is no engine at all, only hand-written frames (SETUP, DATA, heartbeats, RTTM replies) from
// a chosen address. The test sees every datagram the engine sends (SMs, NAKs, RTTM requests) with
// its destination and the time it left, and drives the engine's timers itself.
import { Engine, NO_DEADLINE_NS, type EngineOptions } from "../../../src/core/engine/index.js";
import type { EngineConfig } from "../../../src/core/config/engineConfig.js";
import type { Subscription } from "../../../src/core/engine/subscription.js";
import { TransmitBatch } from "../../../src/core/transmitBatch.js";
import { writeSetup } from "../../../src/core/protocol/setupFrame.js";
import { writeDataHeader, writeHeartbeat } from "../../../src/core/protocol/dataFrame.js";
import { writeRttm } from "../../../src/core/protocol/rttmFrame.js";
import { HDR_TYPE_DATA } from "../../../src/core/protocol/frameHeader.js";
import { parseIpv4 } from "../../../src/core/address.js";
import { Prng } from "../../../src/sim/prng.js";
import type { RandomSource } from "../../../src/core/random.js";

export const SENDER_IP = parseIpv4("10.0.0.9");
export const SENDER_PORT = 5555;
export const SESSION = 0x1234;
export const INITIAL_TERM_ID = 100;
export const MS = 1_000_000;

export interface Sent {
  readonly atNs: number;
  readonly ip: number;
  readonly port: number;
  readonly type: number;
  readonly flags: number;
  readonly bytes: Uint8Array;
  readonly view: DataView;
}

export class CraftedSender {
  readonly engine: Engine;
  readonly sent: Sent[] = [];
  readonly endpointIds: number[] = [];
  readonly closedEndpointIds: number[] = [];
  nowNs = 0;
  private readonly batch = new TransmitBatch(64, 2048);
  private readonly frame = new Uint8Array(65536);
  private readonly frameView = new DataView(this.frame.buffer);

  constructor(config: Partial<EngineConfig> = {}, random: RandomSource = new Prng(7), options: Partial<EngineOptions> = {}) {
    this.engine = new Engine({ config, random, ...options });
  }

  subscribe(channel: string, streamId: number): Subscription {
    const subscription = this.engine.addSubscription(channel, streamId);
    this.applyEndpointEvents();
    return subscription;
  }

  private applyEndpointEvents(): void {
    for (let event = this.engine.pollEndpointEvent(); event !== undefined; event = this.engine.pollEndpointEvent()) {
      if (event.type === "open") this.endpointIds.push(event.endpoint.id);
      else this.closedEndpointIds.push(event.endpointId);
    }
  }

  private deliver(length: number, endpointIndex: number, fromIp = SENDER_IP, fromPort = SENDER_PORT): void {
    this.engine.handleDatagram(this.nowNs, fromIp, fromPort, this.endpointIds[endpointIndex]!, this.frame, 0, length);
    this.flush();
  }

  setup(streamId: number, options: { flags?: number; termLength?: number; session?: number; endpoint?: number; mtu?: number } = {}): void {
    writeSetup(this.frameView, 0, options.flags ?? 0, 0, options.session ?? SESSION, streamId, INITIAL_TERM_ID, INITIAL_TERM_ID,
      options.termLength ?? 64 * 1024, options.mtu ?? 1408, 0);
    this.deliver(40, options.endpoint ?? 0);
  }

  /** One DATA frame of `payload` bytes (B|E) at `termOffset` of the initial term. */
  data(streamId: number, termOffset: number, payload: number, options: { session?: number; endpoint?: number; fill?: number } = {}): void {
    writeDataHeader(this.frameView, 0, 32 + payload, 0xc0, HDR_TYPE_DATA, termOffset, options.session ?? SESSION, streamId, INITIAL_TERM_ID,
      0, 0);
    this.frame.fill(options.fill ?? termOffset & 0xff, 32, 32 + payload);
    this.deliver(32 + payload, options.endpoint ?? 0);
  }

  heartbeat(streamId: number, termOffset: number, options: { session?: number; endpoint?: number; eos?: boolean } = {}): void {
    writeHeartbeat(this.frameView, 0, termOffset, options.session ?? SESSION, streamId, INITIAL_TERM_ID, options.eos === true);
    this.deliver(32, options.endpoint ?? 0);
  }

  rttmReply(streamId: number, echoNs: number, receiverIdLo: number, receiverIdHi: number, options: { endpoint?: number } = {}): void {
    writeRttm(this.frameView, 0, 0, SESSION, streamId, echoNs, 0, receiverIdLo, receiverIdHi);
    this.deliver(40, options.endpoint ?? 0);
  }

  /** Drains pollTransmit at the current time into `sent`. */
  flush(): void {
    this.applyEndpointEvents();
    for (let pass = 0; pass < 1000; pass++) {
      const batch = this.batch;
      batch.clear();
      const n = this.engine.pollTransmit(this.nowNs, batch);
      for (let i = 0; i < batch.count; i++) {
        const offset = batch.slotOffset(i);
        const bytes = batch.bytes.slice(offset, offset + batch.lengths[i]!);
        const view = new DataView(bytes.buffer);
        this.sent.push({ atNs: this.nowNs, ip: batch.destinationIps[i]!, port: batch.destinationPorts[i]!, type: view.getUint16(6, true),
          flags: bytes[5]!, bytes, view });
      }
      this.applyEndpointEvents();
      if (n < batch.capacity) return;
    }
    throw new Error("pollTransmit never drained");
  }

  /** Runs every timer up to and including `untilNs`, draining output at each; `app` runs first at each instant. */
  runUntil(untilNs: number, app: (nowNs: number) => void = () => {}): void {
    for (let pass = 0; pass < 1_000_000; pass++) {
      const deadline = this.engine.pollTimeout();
      if (deadline === NO_DEADLINE_NS || deadline > untilNs) {
        this.nowNs = Math.max(this.nowNs, untilNs);
        this.engine.handleTimeout(this.nowNs);
        app(this.nowNs);
        this.flush();
        return;
      }
      this.nowNs = Math.max(this.nowNs, deadline);
      this.engine.handleTimeout(this.nowNs);
      app(this.nowNs);
      this.flush();
    }
    throw new Error("runUntil did not reach its end");
  }

  /** Frames of `type` sent at or after `fromNs`. */
  sentOfType(type: number, fromNs = 0): Sent[] {
    return this.sent.filter((s) => s.type === type && s.atNs >= fromNs);
  }
}
