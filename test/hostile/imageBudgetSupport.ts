// A lone subscriber engine and hand-made SETUP and DATA datagrams, for the image memory budget's
// regression tests (issue #11, attacks 2 and 3): test/hostile/attack2.cleaning.test.ts and
// test/hostile/attack3.setupBudget.test.ts.
import { ipv4 } from "../../src/core/address.js";
import { Engine, type EngineOptions } from "../../src/core/engine/engine.js";
import type { Subscription } from "../../src/core/engine/subscription.js";
import { writeDataHeader } from "../../src/core/protocol/dataFrame.js";
import { HDR_TYPE_DATA } from "../../src/core/protocol/frameHeader.js";
import { SETUP_LENGTH, writeSetup } from "../../src/core/protocol/setupFrame.js";
import { TransmitBatch } from "../../src/core/transmitBatch.js";
import { Prng } from "../../src/sim/prng.js";

export const STREAM = 1001;
export const GIB = 1024 * 1024 * 1024;
export const MIB = 1024 * 1024;
export const NS_PER_MS = 1_000_000;

export interface SetupFields {
  sessionId: number;
  termLength: number;
  termOffset: number;
  initialTermId?: number;
  activeTermId?: number;
  mtu?: number;
  streamId?: number;
}

/** A subscriber engine on 127.0.0.2:20121 stream 1001, fed datagrams by hand. */
export class LoneSubscriber {
  readonly engine: Engine;
  readonly subscription: Subscription;
  readonly endpointId: number;
  nowNs = 1_000 * NS_PER_MS;
  received = 0;
  private readonly datagram = new Uint8Array(2048);
  private readonly view = new DataView(this.datagram.buffer);
  private readonly batch = new TransmitBatch(64, 2048);
  private readonly handler = (): void => {
    this.received++;
  };

  constructor(options: Partial<EngineOptions> = {}) {
    this.engine = new Engine({ random: new Prng(11), ...options });
    this.subscription = this.engine.addSubscription("aeron:udp?endpoint=127.0.0.2:20121", STREAM);
    const event = this.engine.pollEndpointEvent();
    if (event?.type !== "open") throw new Error("expected the subscription's endpoint to open");
    this.endpointId = event.endpoint.id;
  }

  setup(fromIp: number, f: SetupFields): void {
    const initialTermId = f.initialTermId ?? 7;
    writeSetup(this.view, 0, 0, f.termOffset, f.sessionId, f.streamId ?? STREAM, initialTermId, f.activeTermId ?? initialTermId,
      f.termLength, f.mtu ?? 1408, 0);
    this.engine.handleDatagram(this.nowNs, fromIp, 40000, this.endpointId, this.datagram, 0, SETUP_LENGTH);
  }

  /** A DATA frame of `payload` bytes (0x5a) at (termId, termOffset). */
  data(fromIp: number, sessionId: number, termId: number, termOffset: number, payload: number): void {
    const frameLength = 32 + payload;
    writeDataHeader(this.view, 0, frameLength, 0xc0, HDR_TYPE_DATA, termOffset, sessionId, STREAM, termId, 0, 0);
    this.datagram.fill(0x5a, 32, frameLength);
    this.engine.handleDatagram(this.nowNs, fromIp, 40000, this.endpointId, this.datagram, 0, frameLength);
  }

  /** The application polls, the engine runs its timers and sends what is due (to nowhere). */
  step(advanceNs = 0): void {
    this.nowNs += advanceNs;
    const engine = this.engine;
    if (engine.pollTimeout() <= this.nowNs) engine.handleTimeout(this.nowNs);
    // Bounded: each poll reads at most 100 fragments of a finite log.
    for (let i = 0; i < 1000 && this.subscription.poll(this.handler, 100) > 0; i++) {
      /* drain */
    }
    if (engine.pollTimeout() <= this.nowNs) engine.handleTimeout(this.nowNs);
    // Bounded: the engine has finitely much due at one instant.
    for (let pass = 0; pass < 1000; pass++) {
      this.batch.clear();
      if (engine.pollTransmit(this.nowNs, this.batch) < this.batch.capacity) break;
    }
  }

  hasImage(sessionId: number): boolean {
    return this.engine.images.some((image) => image.sessionId === sessionId);
  }
}

/** 10.0.x.y: one address per hostile session. */
export function hostileIp(i: number): number {
  return ipv4(10, 0, (i >> 8) & 0xff, i & 0xff);
}

export const REAL_IP = ipv4(192, 168, 1, 50);
