// A Petrel Engine running on a simulated host: the adapter between the engine's sans-IO contract
// (handleDatagram / handleTimeout / pollTransmit / pollTimeout / pollEndpointEvent) and the
// simulator's SimNode. It is the simulator's runtime for an engine, as a socket driver is the live
// one:
//  - sockets: each endpoint the engine opens (pollEndpointEvent) becomes a port of this host bound
//    to the node; a receive endpoint binds its channel's port, a send endpoint gets an ephemeral
//    port from the host (deterministic: the host hands them out in order). A closed endpoint
//    unbinds its port.
//  - addresses: a SimAddress becomes (fromIp, fromPort), the port a datagram arrived on becomes the
//    engine's endpoint id, and the engine's endpoint ids in a transmit batch become the node's.
//  - randomness: the engine's RandomSource is a fork ("engine") of the host incarnation's Prng, so
//    the application may draw from host.random without moving the engine's draws.
//  - the application: onTick callbacks run after every input to the engine (a datagram, a timer,
//    the first poll, a wake()), before the engine's output is drained, so that what the
//    application does there (offer, poll, add a subscription) goes out in the same instant. An
//    application that needs time of its own (a pacing publisher) asks for a tick with wakeAt().
// A crash drops the node with its engine; a restart runs the host's setup again, which builds a new
// engine that remembers nothing.
import { Engine, NO_DEADLINE_NS, type EngineOptions } from "../core/engine/engine.js";
import type { EngineConfig } from "../core/config/engineConfig.js";
import { HDR_TYPE_NAK, HEADER_LENGTH, TYPE_OFFSET } from "../core/protocol/frameHeader.js";
import type { SimAddress } from "./address.js";
import { assert } from "./assert.js";
import { NO_DEADLINE, type SimNode, type TransmitSink } from "./simNode.js";
import type { BoundNode, HostContext } from "./simulator.js";

/** Decides whether an outbound datagram leaves the engine (true) or vanishes inside the host (false). */
export type OutboundFilter = (bytes: Uint8Array, offset: number, length: number) => boolean;

export interface EngineHostOptions {
  /** Overrides of Aeron's defaults for this engine. */
  readonly config?: Partial<EngineConfig>;
  /** Images the engine accepts at once (EngineOptions.maxImages). */
  readonly maxImages?: number;
  /** Resolves host names in channels (EngineOptions.resolveHost). */
  readonly resolveHost?: (name: string) => number;
  /**
   * Test-only fault injection inside the host, between the engine and its sockets: datagrams for
   * which it returns false are never sent. With `withoutNaks` it turns the engine into one whose
   * loss detector never NAKs, which the simulator's liveness check must catch.
   */
  readonly outboundFilter?: OutboundFilter;
}

/** Called after every input to the engine with the host's local time. */
export type TickCallback = (nowNs: number) => void;

/** Keeps every datagram except NAKs: a receiver that sees its gaps and never asks for them. */
export const withoutNaks: OutboundFilter = (bytes, offset, length) =>
  !(length >= HEADER_LENGTH && ((bytes[offset + TYPE_OFFSET] as number) | ((bytes[offset + TYPE_OFFSET + 1] as number) << 8)) === HDR_TYPE_NAK);

/**
 * What attachEngine returns: the engine, the host it runs on, and the hooks for the application.
 * Application commands (addPublication, offer, poll) act on `engine` directly.
 */
export class EngineHost implements SimNode {
  readonly engine: Engine;
  readonly host: HostContext;
  /** Multicast group each open endpoint joined. */
  private readonly groupOf = new Map<number, number>();
  readonly bound: BoundNode;
  /** Engine endpoint id -> this node's endpoint id (index into bound.addresses). */
  private readonly nodeEndpointOf = new Map<number, number>();
  /** Local port -> engine endpoint id. */
  private readonly engineEndpointOfPort = new Map<number, number>();
  /** Engine endpoint id -> local port. */
  private readonly portOf = new Map<number, number>();
  private readonly ticks: TickCallback[] = [];
  private readonly filter: OutboundFilter | null;
  private wakeAtNs = NO_DEADLINE;
  /** True while the kernel drains a full batch: the application already ran for this input. */
  private draining = false;
  /** Datagrams the outbound filter removed. */
  filteredDatagrams = 0;

  constructor(host: HostContext, options: EngineHostOptions = {}) {
    this.host = host;
    const engineOptions: EngineOptions = {
      random: host.random.fork("engine"),
      nowNs: host.nowNs(),
      ...(options.config === undefined ? {} : { config: options.config }),
      ...(options.maxImages === undefined ? {} : { maxImages: options.maxImages }),
      ...(options.resolveHost === undefined ? {} : { resolveHost: options.resolveHost }),
    };
    this.engine = new Engine(engineOptions);
    this.filter = options.outboundFilter ?? null;
    // No port yet: the engine opens its sockets through pollEndpointEvent as the application adds
    // publications and subscriptions; the first poll (an event right after setup) binds them.
    this.bound = host.bind(this, []);
  }

  /** Runs `callback` after every input to the engine (the application's duty cycle). */
  onTick(callback: TickCallback): void {
    this.ticks.push(callback);
  }

  /**
   * Asks for a tick at local time `localNs` or soon after (the earliest pending request wins; it is
   * forgotten once it fired). For an application with a schedule of its own.
   */
  wakeAt(localNs: number): void {
    assert(Number.isFinite(localNs), "wakeAt: time must be finite");
    if (localNs < this.wakeAtNs) this.wakeAtNs = localNs;
  }

  /** Local time on this host. */
  nowNs(): number {
    return this.host.nowNs();
  }

  /** The local port of the engine's endpoint `engineEndpointId` (undefined when it is not open). */
  portOfEndpoint(engineEndpointId: number): number | undefined {
    return this.portOf.get(engineEndpointId);
  }

  /** Re-polls the engine after the application acted on it from outside (a sim.at action). */
  wake(): void {
    this.bound.wake();
  }

  // ------------------------------------------------------------------------------- SimNode

  handleDatagram(nowNs: number, from: SimAddress, to: SimAddress, bytes: Uint8Array, offset: number, length: number): void {
    const endpointId = this.engineEndpointOfPort.get(to.port);
    // A datagram to a port the engine closed a moment ago: the engine counts it as having no endpoint.
    this.engine.handleDatagram(nowNs, from.ip, from.port, endpointId ?? -1, bytes, offset, length);
  }

  handleTimeout(nowNs: number): void {
    if (this.wakeAtNs <= nowNs) this.wakeAtNs = NO_DEADLINE;
    this.engine.handleTimeout(nowNs);
  }

  pollTransmit(nowNs: number, sink: TransmitSink): number {
    if (!this.draining) {
      const ticks = this.ticks;
      for (let i = 0; i < ticks.length; i++) (ticks[i] as TickCallback)(nowNs);
    }
    this.applyEndpointEvents();
    const engine = this.engine;
    // Bounded: every round either adds a datagram to the sink, or filters out at least one the
    // engine produced, or stops; the engine's own output is bounded per input.
    for (;;) {
      if (sink.count >= sink.capacity) break;
      const before = sink.count;
      const added = engine.pollTransmit(nowNs, sink);
      if (added === 0) break;
      this.translate(sink, before);
    }
    this.draining = sink.count >= sink.capacity;
    return sink.count;
  }

  pollTimeout(): number {
    const deadline = this.engine.pollTimeout();
    const engineDeadline = deadline >= NO_DEADLINE_NS ? NO_DEADLINE : deadline;
    return engineDeadline < this.wakeAtNs ? engineDeadline : this.wakeAtNs;
  }

  // ------------------------------------------------------------------------------- internals

  /** Rewrites the engine's endpoint ids in slots [from, count) as the node's, dropping filtered ones. */
  private translate(sink: TransmitSink, from: number): void {
    const filter = this.filter;
    let write = from;
    for (let read = from; read < sink.count; read++) {
      const length = sink.lengths[read] as number;
      if (filter !== null && !filter(sink.bytes, sink.slotOffset(read), length)) {
        this.filteredDatagrams++;
        continue;
      }
      const engineEndpoint = sink.endpointIds[read] as number;
      const nodeEndpoint = this.nodeEndpointOf.get(engineEndpoint);
      assert(nodeEndpoint !== undefined, `engine sent from endpoint ${engineEndpoint}, which it never opened`);
      if (write !== read) {
        const source = sink.slotOffset(read);
        sink.bytes.copyWithin(sink.slotOffset(write), source, source + length);
        sink.lengths[write] = length;
        sink.destinationIps[write] = sink.destinationIps[read] as number;
        sink.destinationPorts[write] = sink.destinationPorts[read] as number;
      }
      sink.endpointIds[write] = nodeEndpoint;
      write++;
    }
    sink.count = write;
  }

  /** Opens and closes this host's ports as the engine asks. */
  private applyEndpointEvents(): void {
    const engine = this.engine;
    // Bounded by the engine's queue of endpoint events.
    for (let event = engine.pollEndpointEvent(); event !== undefined; event = engine.pollEndpointEvent()) {
      if (event.type === "open") {
        const info = event.endpoint;
        assert(info.bindIp === 0 || info.bindIp === this.host.ip,
          `${this.host.name}: endpoint ${info.channel} binds an address this host does not have`);
        // Receive endpoints bind their channel's port; so do multicast and multi-destination-cast
        // publications (their control port). A unicast publication gets an ephemeral port.
        const nodeEndpoint = this.bound.bindPort(info.bindPort);
        const port = (this.bound.addresses[nodeEndpoint] as SimAddress).port;
        if (info.multicastGroupIp !== 0) {
          this.host.joinGroup(info.multicastGroupIp, port);
          this.groupOf.set(info.id, info.multicastGroupIp);
        }
        this.nodeEndpointOf.set(info.id, nodeEndpoint);
        this.engineEndpointOfPort.set(port, info.id);
        this.portOf.set(info.id, port);
      } else {
        const port = this.portOf.get(event.endpointId);
        if (port === undefined) continue;
        this.bound.unbindPort(port);
        const group = this.groupOf.get(event.endpointId);
        if (group !== undefined) {
          this.host.leaveGroup(group, port);
          this.groupOf.delete(event.endpointId);
        }
        this.portOf.delete(event.endpointId);
        this.engineEndpointOfPort.delete(port);
        this.nodeEndpointOf.delete(event.endpointId);
      }
    }
  }
}

/**
 * Runs a new Petrel Engine on `host` (call it in the host's setup: it runs again, with a new
 * engine, at every restart). Add publications and subscriptions to `.engine`, and the
 * application's work to `.onTick`.
 */
export function attachEngine(host: HostContext, options: EngineHostOptions = {}): EngineHost {
  return new EngineHost(host, options);
}
