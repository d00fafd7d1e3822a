// Frame-level hosts in the simulator: a Petrel Engine on Petrel's own netstack (NetstackDriver),
// whose Ethernet frames cross the simulated network, so that ARP (requests, replies, loss, cache
// expiry and refresh) is exercised by the same deterministic runs, faults and seeds as everything
// else.
//
// How frames travel: the hosts of one Ethernet segment each bind the segment's frame port
// (ETHERNET_FRAME_PORT) and join the segment's group. A frame is carried as the payload of one
// simulated datagram: a unicast frame to the host its destination MAC names (MACs are
// 02:00:a:b:c:d for host a.b.c.d, as in src/sim/pcapTap.ts), a broadcast or multicast frame to the
// segment group (every member, the sender included; the netstack drops its own echo). So link
// models and fault rules apply to frames: a rule that looks at bytes 12..13 (the EtherType 0x0806)
// drops ARP only. A frame to a MAC that names no host is dropped and counted (unknownMac).
//
// The node's duty cycle (per input, as src/drivers/runtime.ts does live): receive frames through
// the driver, run the application's ticks, open and close endpoints, run the engine's timers, then
// pollTransmit into the driver (which builds frames); the frames then leave through the sink. Its
// deadline is the earliest of the engine's, the netstack's (ARP retries, expiry) and wakeAt.
import { Engine, NO_DEADLINE_NS, type EngineOptions } from "../core/engine/engine.js";
import type { EngineConfig } from "../core/config/engineConfig.js";
import { FrameBatch, type FramePort, type FramePortStats } from "../drivers/netstack/framePort.js";
import { isGroupMac, macForSimIp } from "../drivers/netstack/mac.js";
import { NetstackDriver, type NetstackOptions } from "../drivers/netstack/netstackDriver.js";
import type { SimAddress } from "./address.js";
import { assert } from "./assert.js";
import { NO_DEADLINE, type SimNode, type TransmitSink } from "./simNode.js";
import type { BoundNode, HostContext } from "./simulator.js";

/** The simulated UDP port that carries a segment's frames between hosts. */
export const ETHERNET_FRAME_PORT = 7;
/** The group that carries broadcast and multicast frames (every host of the segment joins it). */
export const ETHERNET_SEGMENT_GROUP = 0xefff2a2a; // 239.255.42.42

/** A FramePort over the simulator: frames queue in and out of the node between its handlers. */
export class SimFramePort implements FramePort {
  readonly mac: Uint8Array;
  readonly mtu: number;
  readonly inbound: FrameBatch;
  readonly outbound: FrameBatch;
  framesSent = 0;
  framesReceived = 0;
  sendCalls = 0;
  receiveCalls = 0;
  /** Inbound frames dropped because the node's queue was full; outbound ones when its queue was. */
  inboundOverflows = 0;
  wouldBlock = 0;

  constructor(mac: Uint8Array, mtu: number, capacity: number) {
    this.mac = mac;
    this.mtu = mtu;
    const slot = Math.ceil((mtu + 18) / 32) * 32;
    this.inbound = new FrameBatch(capacity, slot);
    this.outbound = new FrameBatch(capacity, slot);
  }

  sendFrames(batch: FrameBatch, start: number): number {
    this.sendCalls++;
    const out = this.outbound;
    let i = start;
    for (; i < batch.count && out.count < out.capacity; i++) {
      const length = batch.lengths[i]!;
      const at = batch.slotOffset(i);
      out.bytes.set(batch.bytes.subarray(at, at + length), out.slotOffset(out.count));
      out.lengths[out.count] = length;
      out.count++;
      this.framesSent++;
    }
    if (i < batch.count) this.wouldBlock++;
    return i - start;
  }

  receiveFrames(batch: FrameBatch): number {
    this.receiveCalls++;
    const inbound = this.inbound;
    const n = Math.min(inbound.count, batch.capacity);
    for (let i = 0; i < n; i++) {
      const length = inbound.lengths[i]!;
      const at = inbound.slotOffset(i);
      batch.bytes.set(inbound.bytes.subarray(at, at + length), batch.slotOffset(i));
      batch.lengths[i] = length;
      batch.flags[i] = 0;
    }
    inbound.shift(n);
    batch.count = n;
    this.framesReceived += n;
    return n;
  }

  /** A frame arrived from the segment. */
  deliver(bytes: Uint8Array, offset: number, length: number): void {
    const inbound = this.inbound;
    if (inbound.count >= inbound.capacity || length > inbound.slotLength) {
      this.inboundOverflows++;
      return;
    }
    inbound.bytes.set(bytes.subarray(offset, offset + length), inbound.slotOffset(inbound.count));
    inbound.lengths[inbound.count] = length;
    inbound.count++;
  }

  stats(): FramePortStats {
    return { framesSent: this.framesSent, framesReceived: this.framesReceived, sendCalls: this.sendCalls, receiveCalls: this.receiveCalls,
      wouldBlock: this.wouldBlock, dropped: this.inboundOverflows, errors: 0 };
  }

  lastError(): undefined {
    return undefined;
  }

  dispose(): void {
    this.inbound.count = 0;
    this.outbound.count = 0;
  }
}

export interface NetstackEngineHostOptions {
  readonly config?: Partial<EngineConfig>;
  readonly maxImages?: number;
  /** Netstack settings (ARP timings, UDP checksums, static neighbours); ip and clock come from the host. */
  readonly netstack?: Partial<Omit<NetstackOptions, "ip" | "clockNs">>;
  /** Interface MTU (default 1500). */
  readonly mtu?: number;
  /** Frames queued per direction at most (default 1024). */
  readonly frameQueue?: number;
}

export type NetstackTickCallback = (nowNs: number) => void;

/** A Petrel Engine on the netstack on a simulated host: attachNetstackEngine(host) in its setup. */
export class NetstackEngineHost implements SimNode {
  readonly engine: Engine;
  readonly host: HostContext;
  readonly driver: NetstackDriver;
  readonly port: SimFramePort;
  readonly bound: BoundNode;
  /** Frames whose destination MAC names no simulated host. */
  unknownMac = 0;
  private readonly ticks: NetstackTickCallback[] = [];
  private wakeAtNs = NO_DEADLINE;

  constructor(host: HostContext, options: NetstackEngineHostOptions = {}) {
    this.host = host;
    const engineOptions: EngineOptions = {
      random: host.random.fork("engine"),
      nowNs: host.nowNs(),
      ...(options.config === undefined ? {} : { config: options.config }),
      ...(options.maxImages === undefined ? {} : { maxImages: options.maxImages }),
    };
    this.engine = new Engine(engineOptions);
    this.port = new SimFramePort(macForSimIp(host.ip), options.mtu ?? 1500, options.frameQueue ?? 1024);
    this.driver = new NetstackDriver(this.port, { ...options.netstack, ip: host.ip, clockNs: () => host.nowNs() });
    this.bound = host.bind(this, [ETHERNET_FRAME_PORT]);
    host.joinGroup(ETHERNET_SEGMENT_GROUP, ETHERNET_FRAME_PORT);
  }

  onTick(callback: NetstackTickCallback): void {
    this.ticks.push(callback);
  }

  wakeAt(localNs: number): void {
    assert(Number.isFinite(localNs), "wakeAt: time must be finite");
    if (localNs < this.wakeAtNs) this.wakeAtNs = localNs;
  }

  wake(): void {
    this.bound.wake();
  }

  nowNs(): number {
    return this.host.nowNs();
  }

  handleDatagram(_nowNs: number, _from: SimAddress, _to: SimAddress, bytes: Uint8Array, offset: number, length: number): void {
    this.port.deliver(bytes, offset, length);
  }

  handleTimeout(nowNs: number): void {
    if (this.wakeAtNs <= nowNs) this.wakeAtNs = NO_DEADLINE;
  }

  pollTransmit(nowNs: number, sink: TransmitSink): number {
    // Frames left from a full sink go first; the duty cycle runs once the node's queue is empty.
    if (this.port.outbound.count === 0) this.dutyCycle(nowNs);
    const out = this.port.outbound;
    let taken = 0;
    for (; taken < out.count; taken++) {
      const at = out.slotOffset(taken);
      const length = out.lengths[taken]!;
      let ip: number;
      if (isGroupMac(out.bytes, at)) {
        ip = ETHERNET_SEGMENT_GROUP;
      } else if (out.bytes[at] === 0x02 && out.bytes[at + 1] === 0x00) {
        ip = ((out.bytes[at + 2]! << 24) | (out.bytes[at + 3]! << 16) | (out.bytes[at + 4]! << 8) | out.bytes[at + 5]!) >>> 0;
      } else {
        this.unknownMac++;
        continue;
      }
      const slot = sink.claim(0, ip, ETHERNET_FRAME_PORT);
      if (slot < 0) break;
      sink.bytes.set(out.bytes.subarray(at, at + length), sink.slotOffset(slot));
      sink.commit(slot, length);
    }
    out.shift(taken);
    return sink.count;
  }

  pollTimeout(): number {
    if (this.port.outbound.count > 0) return this.host.nowNs();
    const engineDeadline = this.engine.pollTimeout();
    let deadline = engineDeadline >= NO_DEADLINE_NS ? NO_DEADLINE : engineDeadline;
    const netstack = this.driver.nextDeadlineNs();
    if (netstack < deadline) deadline = netstack;
    return this.wakeAtNs < deadline ? this.wakeAtNs : deadline;
  }

  private dutyCycle(nowNs: number): void {
    const driver = this.driver;
    const engine = this.engine;
    // Bounded: the port's inbound queue is finite and each pass takes up to a batch of it.
    for (let pass = 0; pass < 64; pass++) {
      const count = driver.pollBatch(driver.receive);
      const rx = driver.receive;
      for (let i = 0; i < count; i++) {
        engine.handleDatagram(nowNs, rx.sourceIps[i]!, rx.sourcePorts[i]!, rx.endpointIds[i]!, rx.bytes, rx.slotOffset(i), rx.lengths[i]!);
      }
      if (count === 0 && this.port.inbound.count === 0) break;
    }
    for (let i = 0; i < this.ticks.length; i++) this.ticks[i]!(nowNs);
    for (let event = engine.pollEndpointEvent(); event !== undefined; event = engine.pollEndpointEvent()) {
      if (event.type === "open") driver.open(event.endpoint);
      else driver.close(event.endpointId);
    }
    if (engine.pollTimeout() <= nowNs) engine.handleTimeout(nowNs);
    const tx = driver.transmit;
    for (let round = 0; round < 256; round++) {
      tx.clear();
      const added = engine.pollTransmit(nowNs, tx);
      if (added === 0 && tx.count === 0) break;
      let sent = 0;
      // The simulated port takes everything up to its queue; what it cannot take is dropped, as a full ring would.
      for (let tries = 0; sent < tx.count && tries < 4; tries++) sent += driver.transmitBatch(tx, sent);
      if (tx.count < tx.capacity) break;
    }
    tx.clear();
  }
}

/** Runs a Petrel Engine on Petrel's netstack on `host` (call it in the host's setup). */
export function attachNetstackEngine(host: HostContext, options: NetstackEngineHostOptions = {}): NetstackEngineHost {
  return new NetstackEngineHost(host, options);
}
