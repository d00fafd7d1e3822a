// The deterministic discrete-event simulator. One seed decides a whole run: the root Prng forks a
// stream per host ("host:<name>#<incarnation>") and per link ("link:<a>-><b>"), and everything else
// is ordered by the event queue's (time, sequence) order. Time jumps from event to event.
//
// Three kinds of event: a datagram copy arriving, a node's timer, and a scheduled action (a fault,
// or any callback). After every input to a node (a datagram, a timer, its binding, a wake()) the
// simulator drains the node's pollTransmit into the network and re-reads its pollTimeout to move
// the node's single timer event. Delivered bytes live in pooled buffers; every datagram and timer
// outcome a link decides is folded into the trace hash.
//
// Hot path: one event costs a heap pop, a Map lookup for the port, the node's handler, a copy into a
// pooled buffer per datagram sent, and a heap push. No closure or object is allocated per event.
import { isMulticastIpv4, parseIpv4 } from "../core/address.js";
import { TransmitBatch } from "../core/transmitBatch.js";
import { addressKey, simAddress, type SimAddress } from "./address.js";
import { assert, assertIntegerInRange } from "./assert.js";
import { BufferPool } from "./bufferPool.js";
import { EventQueue } from "./eventQueue.js";
import { Verdict } from "./faults.js";
import { HostClock } from "./hostClock.js";
import type { Link, LinkModel, LinkTap } from "./link.js";
import { Network } from "./network.js";
import { Prng } from "./prng.js";
import type { SimNode } from "./simNode.js";
import { TraceHash } from "./trace.js";

const EVENT_DELIVER = 1;
const EVENT_TIMER = 2;
const EVENT_ACTION = 3;
/** A node's first poll after it was bound (target: slot index, payload: the slot's serial). */
const EVENT_BOOT = 4;

const HOSTS_MAX = 4096;
/** Datagrams up to this length are copied into their pooled buffer byte by byte. */
const SMALL_COPY_BYTES_MAX = 128;
const NODE_PORTS_MAX = 64;
/** Ephemeral ports a host hands out for bindPort(0): the IANA dynamic range, as an OS does. */
const EPHEMERAL_PORT_FIRST = 49152;
const EPHEMERAL_PORT_LAST = 65535;

export interface SimulationOptions {
  /** The one number that decides the run (an integer in 0 .. 2^53 - 1). */
  readonly seed: number;
  /** Model for host pairs with no sim.link(); absent: datagrams between them are dropped (noRoute). */
  readonly defaultLink?: LinkModel;
  /** Pending events at once (datagrams in flight + timers + actions). Default 1,048,576. */
  readonly maxEvents?: number;
  /** Datagram copies in flight at once. Default 262,144. */
  readonly maxInFlightDatagrams?: number;
  /** Slots in the transmit batch handed to pollTransmit. Default 64. */
  readonly transmitBatchCapacity?: number;
  /** Bytes per transmit slot (the largest datagram a node can send). Default 65536. */
  readonly transmitSlotBytes?: number;
  /** pollTransmit calls per node input (each returning a full batch) before it is an error. Default 4096. */
  readonly maxTransmitPollsPerInput?: number;
  /** Timer firings of one node at one instant before it is an error (a node stuck in the past). Default 100,000. */
  readonly maxTimerFiresPerInstant?: number;
  /** Fold datagram bytes (not only time, link, verdict, length) into the trace hash. Default true. */
  readonly traceBytes?: boolean;
}

export interface HostOptions {
  /** IPv4 address (number or dotted quad). Default 10.0.<n/250>.<n%250+1> for the n-th host. */
  readonly ip?: number | string;
  /** Local clock = true time + offset + drift. Default 0. */
  readonly clockOffsetNs?: number;
  /** Clock drift in integer parts per million. Default 0. */
  readonly clockDriftPpm?: number;
}

/** What a host's setup function gets: the host's identity, randomness, clock and sockets. */
export interface HostContext {
  readonly name: string;
  readonly ip: number;
  /** 0 for the first boot, +1 per restart. */
  readonly incarnation: number;
  /** This incarnation's own stream (forked from the run's seed by host name and incarnation). */
  readonly random: Prng;
  readonly clock: HostClock;
  /** Local time now. */
  nowNs(): number;
  /**
   * Binds `node` to UDP ports of this host (none is allowed: a node that opens its sockets later
   * with BoundNode.bindPort): datagrams to any of them go to the node, and a datagram it sends
   * with endpoint id i leaves from ports[i].
   */
  bind(node: SimNode, ports: number | ReadonlyArray<number>): BoundNode;
  /** Datagrams to (groupIp, port) reach this host's node bound to `port`. */
  joinGroup(groupIp: number | string, port: number): void;
  leaveGroup(groupIp: number | string, port: number): void;
}

export interface BoundNode {
  readonly node: SimNode;
  readonly addresses: ReadonlyArray<SimAddress>;
  /** False once the host crashed. */
  readonly alive: boolean;
  /**
   * Re-polls the node (pollTransmit, pollTimeout) now: call it after acting on the node from
   * outside (an application command in a sim.at action). Not from inside the node's own handlers.
   */
  wake(): void;
  /**
   * Binds one more port of the host to this node, also from inside its handlers (a socket opened
   * at run time); port 0 asks the host for a free ephemeral port (49152..65535, handed out in
   * order, deterministically). Returns the new port's endpoint id (its index in `addresses`;
   * the index of a port unbound earlier is reused).
   */
  bindPort(port: number): number;
  /** Closes a port bound to this node: datagrams to it are dropped (noListener) from now on. */
  unbindPort(port: number): void;
}

export type HostSetup = (host: HostContext) => void;

export interface HostInfo {
  readonly name: string;
  readonly ip: number;
  readonly index: number;
  readonly up: boolean;
  readonly incarnation: number;
  readonly clock: HostClock;
}

type HostRef = string | HostInfo;

/** Scheduled faults as data, so that a schedule can be printed, generated and shrunk. */
export type FaultAction =
  | { readonly kind: "partition"; readonly a: HostRef | ReadonlyArray<HostRef>; readonly b: HostRef | ReadonlyArray<HostRef>; readonly oneWay?: boolean }
  | { readonly kind: "heal"; readonly a: HostRef | ReadonlyArray<HostRef>; readonly b: HostRef | ReadonlyArray<HostRef>; readonly oneWay?: boolean }
  | { readonly kind: "healAll" }
  | { readonly kind: "crash"; readonly host: HostRef }
  | { readonly kind: "restart"; readonly host: HostRef }
  | { readonly kind: "setLink"; readonly from: HostRef; readonly to: HostRef; readonly model: LinkModel; readonly oneWay?: boolean };

export type ScheduledAction = FaultAction | ((sim: Simulation) => void);

export interface SimulationCounters {
  eventsProcessed: number;
  datagramsSent: number;
  datagramsDelivered: number;
  timersFired: number;
  /** Datagrams to an address no host has (or with no link and no default model). */
  noRoute: number;
}

class PortBinding {
  constructor(
    readonly slot: NodeSlot,
    readonly address: SimAddress,
  ) {}
}

class NodeSlot implements BoundNode {
  timerEventId = -1;
  lastFireNs = -1;
  /** Unique over the run; tells a reused slot index's new node from the old one. */
  serial = 0;
  firesAtInstant = 0;
  alive = true;
  /** Endpoint ids whose port was unbound, for bindPort to reuse. */
  readonly freeEndpoints: number[] = [];
  constructor(
    readonly sim: Simulation,
    readonly host: SimHost,
    readonly node: SimNode,
    readonly addresses: SimAddress[],
    readonly index: number,
  ) {}
  wake(): void {
    assert(this.alive, "wake: the node's host crashed");
    this.sim.wakeSlot(this);
  }
  bindPort(port: number): number {
    assert(this.alive, "bindPort: the node's host crashed");
    return this.sim.bindSlotPort(this, port);
  }
  unbindPort(port: number): void {
    if (!this.alive) return;
    const binding = this.host.ports.get(port);
    assert(binding !== undefined && binding.slot === this, `unbindPort: port ${port} is not bound to this node`);
    this.host.ports.delete(port);
    this.freeEndpoints.push(this.addresses.indexOf(binding.address));
  }
}

class SimHost implements HostInfo {
  up = true;
  incarnation = 0;
  /** The next ephemeral port to try; kept across restarts, as an OS's port counter is. */
  nextEphemeralPort = EPHEMERAL_PORT_FIRST;
  readonly ports = new Map<number, PortBinding>();
  slots: NodeSlot[] = [];
  constructor(
    readonly index: number,
    readonly name: string,
    readonly ip: number,
    readonly clock: HostClock,
    readonly setup: HostSetup,
  ) {}
}

/** Datagram copies in flight, as parallel arrays indexed by a recycled packet id. */
class InFlight {
  readonly buffers: Array<Uint8Array | null> = [];
  readonly lengths: number[] = [];
  readonly from: SimAddress[] = [];
  /** The group address for a multicast copy, else null (the receiver's bound address is used). */
  readonly toGroup: Array<SimAddress | null> = [];
  readonly dstHost: number[] = [];
  readonly dstPort: number[] = [];
  readonly linkId: number[] = [];
  readonly incarnation: number[] = [];
  readonly corrupt: boolean[] = [];
  private readonly freeIds: number[] = [];

  allocate(): number {
    const id = this.freeIds.pop();
    if (id !== undefined) return id;
    this.buffers.push(null);
    this.lengths.push(0);
    this.from.push(NO_ADDRESS);
    this.toGroup.push(null);
    this.dstHost.push(0);
    this.dstPort.push(0);
    this.linkId.push(0);
    this.incarnation.push(0);
    this.corrupt.push(false);
    return this.buffers.length - 1;
  }

  release(id: number): void {
    this.buffers[id] = null;
    this.freeIds.push(id);
  }
}

const NO_ADDRESS: SimAddress = simAddress(0, 0);

export class Simulation {
  readonly seed: number;
  readonly random: Prng;
  readonly network: Network;
  readonly trace = new TraceHash();
  readonly counters: SimulationCounters = { eventsProcessed: 0, datagramsSent: 0, datagramsDelivered: 0, timersFired: 0, noRoute: 0 };

  private now = 0;
  private readonly events: EventQueue;
  private readonly pool: BufferPool;
  private readonly inFlight = new InFlight();
  private readonly sink: TransmitBatch;
  private readonly hosts: SimHost[] = [];
  private readonly hostsByName = new Map<string, SimHost>();
  private readonly hostsByIp = new Map<number, SimHost>();
  private readonly slots: Array<NodeSlot | null> = [];
  private readonly freeSlots: number[] = [];
  private readonly actions: Array<ScheduledAction | null> = [];
  private readonly freeActions: number[] = [];
  private readonly addresses = new Map<number, SimAddress>();
  private readonly maxTransmitPollsPerInput: number;
  private readonly maxTimerFiresPerInstant: number;
  private readonly traceBytes: boolean;
  private globalTap: LinkTap | null = null;
  private nextSlotSerial = 0;
  private servicing = false;

  constructor(options: SimulationOptions) {
    this.seed = options.seed;
    this.random = new Prng(options.seed);
    this.network = new Network(this.random, options.defaultLink ?? null);
    this.events = new EventQueue({ maxEvents: options.maxEvents ?? 1 << 20 });
    this.pool = new BufferPool(options.maxInFlightDatagrams ?? 1 << 18);
    this.sink = new TransmitBatch(options.transmitBatchCapacity ?? 64, options.transmitSlotBytes ?? 65536);
    this.maxTransmitPollsPerInput = options.maxTransmitPollsPerInput ?? 4096;
    this.maxTimerFiresPerInstant = options.maxTimerFiresPerInstant ?? 100_000;
    this.traceBytes = options.traceBytes ?? true;
    assertIntegerInRange(this.maxTransmitPollsPerInput, 1, 1 << 24, "maxTransmitPollsPerInput");
    assertIntegerInRange(this.maxTimerFiresPerInstant, 1, 1 << 30, "maxTimerFiresPerInstant");
  }

  /** True (simulated) time. */
  get nowNs(): number {
    return this.now;
  }

  /** Events waiting. */
  get pendingEvents(): number {
    return this.events.size;
  }

  /** Datagram copies in flight. */
  get inFlightDatagrams(): number {
    return this.pool.inUse;
  }

  get links(): ReadonlyArray<Link> {
    return this.network.links;
  }

  /** The trace hash so far, as 16 hex digits. */
  traceHash(): string {
    return this.trace.hex();
  }

  // --- Topology ----------------------------------------------------------------------------------

  /**
   * Adds a host and boots it: `setup` runs at once (and again at every restart); the nodes it binds
   * are first polled by an event at the current time, once the caller has finished the topology.
   */
  host(name: string, setup: HostSetup, options: HostOptions = {}): HostInfo {
    assert(!this.hostsByName.has(name), `host: duplicate host name ${name}`);
    assert(this.hosts.length < HOSTS_MAX, "host: too many hosts");
    const index = this.hosts.length;
    let ip: number;
    if (options.ip === undefined) ip = ((10 << 24) | (Math.floor(index / 250) << 8) | ((index % 250) + 1)) >>> 0;
    else if (typeof options.ip === "string") ip = parseIpv4(options.ip);
    else ip = options.ip;
    assertIntegerInRange(ip, 1, 0xffffffff, `ip of host ${name}`);
    assert(!isMulticastIpv4(ip), `host: ${name} cannot have a multicast address`);
    assert(!this.hostsByIp.has(ip), `host: ${name} reuses another host's ip`);
    const clock = new HostClock(options.clockOffsetNs ?? 0, options.clockDriftPpm ?? 0);
    const host = new SimHost(index, name, ip, clock, setup);
    this.hosts.push(host);
    this.hostsByName.set(name, host);
    this.hostsByIp.set(ip, host);
    this.network.addHost(index, name);
    this.boot(host);
    return host;
  }

  /** The host named `name` (throws when there is none). */
  hostInfo(name: string): HostInfo {
    return this.resolveHost(name);
  }

  /**
   * Connects a and b with `model`: both directions (each with its own state and random stream), or
   * only a -> b with { oneWay: true }. Calling it again changes the model. Returns the a -> b link.
   */
  link(a: HostRef, b: HostRef, model: LinkModel, options: { readonly oneWay?: boolean } = {}): Link {
    const from = this.resolveHost(a);
    const to = this.resolveHost(b);
    const forward = this.network.setLink(from.index, to.index, model);
    if (options.oneWay !== true && from !== to) this.network.setLink(to.index, from.index, model);
    return forward;
  }

  /** The directed link a -> b, creating it from the default model if needed; null without a route. */
  linkBetween(a: HostRef, b: HostRef): Link | null {
    return this.network.linkFor(this.resolveHost(a).index, this.resolveHost(b).index);
  }

  /** A tap on every link (in addition to each link's own tap): the hook for a pcap writer. */
  setTap(tap: LinkTap | null): void {
    this.globalTap = tap;
  }

  /** The interned SimAddress for (ip, port). */
  address(ip: number, port: number): SimAddress {
    const key = addressKey(ip, port);
    let address = this.addresses.get(key);
    if (address === undefined) {
      address = simAddress(ip, port);
      this.addresses.set(key, address);
    }
    return address;
  }

  // --- Faults ------------------------------------------------------------------------------------

  /** Cuts every a -> b path (and b -> a unless oneWay). Datagrams already in flight still arrive. */
  partition(a: HostRef | ReadonlyArray<HostRef>, b: HostRef | ReadonlyArray<HostRef>, options: { readonly oneWay?: boolean } = {}): void {
    this.forPairs(a, b, options.oneWay === true, (src, dst) => this.network.partition(src, dst));
  }

  heal(a: HostRef | ReadonlyArray<HostRef>, b: HostRef | ReadonlyArray<HostRef>, options: { readonly oneWay?: boolean } = {}): void {
    this.forPairs(a, b, options.oneWay === true, (src, dst) => this.network.heal(src, dst));
  }

  healAll(): void {
    this.network.healAll();
  }

  /**
   * Stops a host: its nodes are dropped (never called again), their timers cancelled, its group
   * memberships forgotten. Datagrams in flight to it are dropped when they arrive (DROP_HOST_DOWN),
   * even if it has restarted by then.
   */
  crash(ref: HostRef): void {
    const host = this.resolveHost(ref);
    assert(host.up, `crash: ${host.name} is already down`);
    assert(!this.servicing, "crash: not from inside a node's handler (use sim.at)");
    for (const slot of host.slots) {
      if (slot.timerEventId >= 0) this.events.cancel(slot.timerEventId);
      slot.timerEventId = -1;
      slot.alive = false;
      this.slots[slot.index] = null;
      this.freeSlots.push(slot.index);
    }
    host.slots = [];
    host.ports.clear();
    this.network.leaveAll(host.index);
    host.up = false;
  }

  /** Boots a crashed host again: setup runs anew with a fresh context (a new incarnation). */
  restart(ref: HostRef): void {
    const host = this.resolveHost(ref);
    assert(!host.up, `restart: ${host.name} is up`);
    host.incarnation++;
    host.up = true;
    this.boot(host);
  }

  /** Runs `action` when true time reaches `timeNs` (after events already due then). */
  at(timeNs: number, action: ScheduledAction): void {
    assert(Number.isSafeInteger(timeNs) && timeNs >= this.now, "at: time must be an integer, not in the past");
    let index = this.freeActions.pop();
    if (index === undefined) {
      index = this.actions.length;
      this.actions.push(action);
    } else {
      this.actions[index] = action;
    }
    this.events.push(timeNs, EVENT_ACTION, 0, index);
  }

  /** Applies a fault action now. */
  apply(action: FaultAction): void {
    switch (action.kind) {
      case "partition":
        this.partition(action.a, action.b, { oneWay: action.oneWay === true });
        return;
      case "heal":
        this.heal(action.a, action.b, { oneWay: action.oneWay === true });
        return;
      case "healAll":
        this.healAll();
        return;
      case "crash":
        this.crash(action.host);
        return;
      case "restart":
        this.restart(action.host);
        return;
      case "setLink":
        this.link(action.from, action.to, action.model, { oneWay: action.oneWay === true });
        return;
    }
  }

  // --- Running -----------------------------------------------------------------------------------

  /** Runs one event; false when there is none. */
  step(): boolean {
    const events = this.events;
    if (!events.pop()) return false;
    this.dispatch();
    return true;
  }

  /** Runs every event due within `durationNs`, then sets the time to now + durationNs. */
  runFor(durationNs: number): void {
    assert(Number.isSafeInteger(durationNs) && durationNs >= 0, "runFor: duration must be a non-negative integer");
    const endNs = this.now + durationNs;
    const events = this.events;
    while (events.peekTimeNs() <= endNs) {
      events.pop();
      this.dispatch();
    }
    this.now = endNs;
  }

  /**
   * Runs events until `predicate` holds (checked before the first event and after each one) or
   * `maxDurationNs` passes. Returns whether the predicate held; on timeout the time is now + max.
   */
  runUntil(predicate: (sim: Simulation) => boolean, maxDurationNs: number): boolean {
    assert(Number.isSafeInteger(maxDurationNs) && maxDurationNs >= 0, "runUntil: max duration must be a non-negative integer");
    const endNs = this.now + maxDurationNs;
    const events = this.events;
    if (predicate(this)) return true;
    while (events.peekTimeNs() <= endNs) {
      events.pop();
      this.dispatch();
      if (predicate(this)) return true;
    }
    this.now = endNs;
    return false;
  }

  // --- Internals ---------------------------------------------------------------------------------

  /** Called by BoundNode.bindPort(). */
  bindSlotPort(slot: NodeSlot, requested: number): number {
    const host = slot.host;
    let port = requested;
    if (port === 0) {
      // Bounded: one pass over the ephemeral range.
      for (let tries = 0; ; tries++) {
        assert(tries <= EPHEMERAL_PORT_LAST - EPHEMERAL_PORT_FIRST, `bindPort: ${host.name} has no free ephemeral port`);
        const candidate = host.nextEphemeralPort;
        host.nextEphemeralPort = candidate === EPHEMERAL_PORT_LAST ? EPHEMERAL_PORT_FIRST : candidate + 1;
        if (!host.ports.has(candidate)) {
          port = candidate;
          break;
        }
      }
    }
    assertIntegerInRange(port, 1, 65535, "port");
    assert(!host.ports.has(port), `bindPort: port ${port} of ${host.name} is taken`);
    const address = this.address(host.ip, port);
    let endpoint = slot.freeEndpoints.pop();
    if (endpoint === undefined) {
      assert(slot.addresses.length < NODE_PORTS_MAX, "bindPort: at most 64 ports per node");
      endpoint = slot.addresses.length;
      slot.addresses.push(address);
    } else {
      slot.addresses[endpoint] = address;
    }
    host.ports.set(port, new PortBinding(slot, address));
    return endpoint;
  }

  /** Called by BoundNode.wake(). */
  wakeSlot(slot: NodeSlot): void {
    assert(!this.servicing, "wake: not from inside a node's handler");
    this.service(slot);
  }

  private dispatch(): void {
    const events = this.events;
    const timeNs = events.poppedTimeNs;
    assert(timeNs >= this.now, "time went backwards");
    this.now = timeNs;
    this.counters.eventsProcessed++;
    const kind = events.poppedKind;
    if (kind === EVENT_DELIVER) this.deliver(events.poppedPayload);
    else if (kind === EVENT_TIMER) this.fireTimer(events.poppedTarget);
    else if (kind === EVENT_BOOT) {
      const slot = this.slots[events.poppedTarget];
      if (slot !== undefined && slot !== null && slot.serial === events.poppedPayload) this.service(slot);
    } else {
      assert(kind === EVENT_ACTION, "unknown event kind");
      const index = events.poppedPayload;
      const action = this.actions[index];
      assert(action !== undefined && action !== null, "action slot empty");
      this.actions[index] = null;
      this.freeActions.push(index);
      if (typeof action === "function") action(this);
      else this.apply(action);
    }
  }

  private boot(host: SimHost): void {
    const random = this.random.fork(`host:${host.name}#${host.incarnation}`);
    const sim = this;
    const incarnation = host.incarnation;
    const context: HostContext = {
      name: host.name,
      ip: host.ip,
      incarnation,
      random,
      clock: host.clock,
      nowNs: () => host.clock.toLocalNs(sim.now),
      bind: (node, ports) => {
        assert(host.up && host.incarnation === incarnation, "bind: this host incarnation is gone");
        return sim.bind(host, node, typeof ports === "number" ? [ports] : ports);
      },
      joinGroup: (groupIp, port) => {
        assert(host.up && host.incarnation === incarnation, "joinGroup: this host incarnation is gone");
        sim.network.join(sim.groupIp(groupIp), port, host.index);
      },
      leaveGroup: (groupIp, port) => {
        if (host.up && host.incarnation === incarnation) sim.network.leave(sim.groupIp(groupIp), port, host.index);
      },
    };
    host.setup(context);
  }

  private bind(host: SimHost, node: SimNode, ports: ReadonlyArray<number>): BoundNode {
    assert(ports.length <= NODE_PORTS_MAX, "bind: at most 64 ports");
    const addresses: SimAddress[] = [];
    for (const port of ports) {
      assertIntegerInRange(port, 1, 65535, "port");
      assert(!host.ports.has(port), `bind: port ${port} of ${host.name} is taken`);
      addresses.push(this.address(host.ip, port));
    }
    let index = this.freeSlots.pop();
    if (index === undefined) {
      index = this.slots.length;
      this.slots.push(null);
    }
    const slot = new NodeSlot(this, host, node, addresses, index);
    slot.serial = this.nextSlotSerial++ & 0x7fffffff;
    this.slots[index] = slot;
    host.slots.push(slot);
    for (let i = 0; i < ports.length; i++) host.ports.set(ports[i] as number, new PortBinding(slot, addresses[i] as SimAddress));
    // The node's first poll is an event at the current time rather than a call now: setup runs
    // inside sim.host(), usually before the rest of the topology (other hosts, links) exists, and
    // the node's first datagrams must find it in place.
    this.events.push(this.now, EVENT_BOOT, index, slot.serial);
    return slot;
  }

  private groupIp(groupIp: number | string): number {
    const ip = typeof groupIp === "string" ? parseIpv4(groupIp) : groupIp;
    assert(isMulticastIpv4(ip), "group address must be in 224.0.0.0/4");
    return ip;
  }

  private fireTimer(slotIndex: number): void {
    const slot = this.slots[slotIndex];
    assert(slot !== undefined && slot !== null && slot.alive, "timer for a dead node");
    slot.timerEventId = -1;
    if (slot.lastFireNs === this.now) {
      if (++slot.firesAtInstant > this.maxTimerFiresPerInstant) {
        throw new Error(
          `node on ${slot.host.name} fired its timer ${slot.firesAtInstant} times at ${this.now} ns: its deadline never moves past now`,
        );
      }
    } else {
      slot.lastFireNs = this.now;
      slot.firesAtInstant = 1;
    }
    this.counters.timersFired++;
    this.servicing = true;
    try {
      slot.node.handleTimeout(slot.host.clock.toLocalNs(this.now));
    } finally {
      this.servicing = false;
    }
    this.service(slot);
  }

  private deliver(packetId: number): void {
    const inFlight = this.inFlight;
    const buffer = inFlight.buffers[packetId] as Uint8Array;
    const length = inFlight.lengths[packetId] as number;
    const link = this.network.links[inFlight.linkId[packetId] as number] as Link;
    const host = this.hosts[inFlight.dstHost[packetId] as number] as SimHost;
    const from = inFlight.from[packetId] as SimAddress;
    const toGroup = inFlight.toGroup[packetId] ?? null;
    const port = inFlight.dstPort[packetId] as number;
    let verdict: number = Verdict.DELIVERED;
    let binding: PortBinding | undefined;
    if (!host.up || host.incarnation !== inFlight.incarnation[packetId]) verdict = Verdict.DROP_HOST_DOWN;
    else if ((binding = host.ports.get(port)) === undefined) verdict = Verdict.DROP_NO_LISTENER;
    else if (inFlight.corrupt[packetId] === true) verdict = link.deliverCorrupted ? Verdict.DELIVERED_CORRUPT : Verdict.DROP_CHECKSUM;

    this.trace.foldPacket(this.now, link.id, verdict, this.traceBytes ? buffer : null, 0, length);
    if (link.tap !== null || this.globalTap !== null) {
      const to = toGroup ?? binding?.address ?? this.address(host.ip, port);
      this.tap(link, from, to, buffer, 0, length, verdict);
    }
    if (binding === undefined || verdict > Verdict.DELIVERED_CORRUPT) {
      link.countDropped(verdict, length);
    } else {
      link.countDelivered(length);
      this.counters.datagramsDelivered++;
      const slot = binding.slot;
      this.servicing = true;
      try {
        slot.node.handleDatagram(host.clock.toLocalNs(this.now), from, toGroup ?? binding.address, buffer, 0, length);
      } finally {
        this.servicing = false;
      }
      this.pool.release(buffer);
      inFlight.release(packetId);
      this.service(slot);
      return;
    }
    this.pool.release(buffer);
    inFlight.release(packetId);
  }

  /** Drains the node's transmit queue into the network and moves its timer to its new deadline. */
  private service(slot: NodeSlot): void {
    const host = slot.host;
    const node = slot.node;
    const sink = this.sink;
    const localNs = host.clock.toLocalNs(this.now);
    this.servicing = true;
    try {
      for (let polls = 0; ; polls++) {
        if (polls >= this.maxTransmitPollsPerInput) {
          throw new Error(`node on ${host.name} filled the transmit batch ${polls} times for one input`);
        }
        sink.clear();
        const count = node.pollTransmit(localNs, sink);
        assert(count === sink.count, "pollTransmit: returned count differs from the batch's count");
        for (let i = 0; i < count; i++) {
          const endpoint = sink.endpointIds[i] as number;
          const from = slot.addresses[endpoint];
          assert(from !== undefined, "pollTransmit: endpoint id is not one of the node's ports");
          this.send(host, from, sink.destinationIps[i] as number, sink.destinationPorts[i] as number, sink.bytes, sink.slotOffset(i), sink.lengths[i] as number);
        }
        if (count < sink.capacity) break;
      }
      if (!slot.alive) return;
      const deadline = node.pollTimeout();
      assert(deadline === deadline, "pollTimeout returned NaN");
      if (deadline === Number.POSITIVE_INFINITY) {
        if (slot.timerEventId >= 0) {
          this.events.cancel(slot.timerEventId);
          slot.timerEventId = -1;
        }
        return;
      }
      let wakeNs = host.clock.toTrueNs(Math.ceil(deadline));
      if (wakeNs < this.now) wakeNs = this.now;
      if (slot.timerEventId < 0) slot.timerEventId = this.events.push(wakeNs, EVENT_TIMER, slot.index, 0);
      else if (this.events.timeOf(slot.timerEventId) !== wakeNs) this.events.reschedule(slot.timerEventId, wakeNs);
    } finally {
      this.servicing = false;
    }
  }

  private send(host: SimHost, from: SimAddress, dstIp: number, dstPort: number, bytes: Uint8Array, offset: number, length: number): void {
    this.counters.datagramsSent++;
    if (isMulticastIpv4(dstIp)) {
      const group = this.network.group(dstIp, dstPort);
      if (group === undefined) return;
      const members = group.members;
      for (let i = 0; i < members.length; i++) {
        this.transmit(host, this.hosts[members[i] as number] as SimHost, from, group.address, dstIp, dstPort, bytes, offset, length);
      }
      return;
    }
    const target = this.hostsByIp.get(dstIp);
    if (target === undefined) {
      this.dropNoRoute(from, dstIp, dstPort, bytes, offset, length);
      return;
    }
    this.transmit(host, target, from, null, dstIp, dstPort, bytes, offset, length);
  }

  private transmit(
    source: SimHost,
    target: SimHost,
    from: SimAddress,
    toGroup: SimAddress | null,
    dstIp: number,
    dstPort: number,
    bytes: Uint8Array,
    offset: number,
    length: number,
  ): void {
    const link = this.network.linkFor(source.index, target.index);
    if (link === null) {
      this.dropNoRoute(from, dstIp, dstPort, bytes, offset, length);
      return;
    }
    const copies = link.admit(this.now, from.ip, from.port, dstIp, dstPort, bytes, offset, length);
    if (copies === 0) {
      this.trace.foldPacket(this.now, link.id, link.dropVerdict, this.traceBytes ? bytes : null, offset, length);
      if (link.tap !== null || this.globalTap !== null) {
        this.tap(link, from, toGroup ?? this.address(dstIp, dstPort), bytes, offset, length, link.dropVerdict);
      }
      return;
    }
    const inFlight = this.inFlight;
    const corruptIndex = link.corruptIndex;
    for (let copy = 0; copy < copies; copy++) {
      const buffer = this.pool.acquire(length);
      // Small datagrams are copied by a loop: set(subarray()) allocates a view per copy.
      if (length <= SMALL_COPY_BYTES_MAX) for (let i = 0; i < length; i++) buffer[i] = bytes[offset + i] as number;
      else buffer.set(bytes.subarray(offset, offset + length));
      if (corruptIndex >= 0) buffer[corruptIndex] = (buffer[corruptIndex] as number) ^ link.corruptXor;
      const id = inFlight.allocate();
      inFlight.buffers[id] = buffer;
      inFlight.lengths[id] = length;
      inFlight.from[id] = from;
      inFlight.toGroup[id] = toGroup;
      inFlight.dstHost[id] = target.index;
      inFlight.dstPort[id] = dstPort;
      inFlight.linkId[id] = link.id;
      inFlight.incarnation[id] = target.incarnation;
      inFlight.corrupt[id] = corruptIndex >= 0;
      this.events.push(link.arrivalNs[copy] as number, EVENT_DELIVER, 0, id);
    }
  }

  private dropNoRoute(from: SimAddress, dstIp: number, dstPort: number, bytes: Uint8Array, offset: number, length: number): void {
    this.counters.noRoute++;
    this.trace.foldPacket(this.now, -1, Verdict.DROP_NO_ROUTE, this.traceBytes ? bytes : null, offset, length);
    if (this.globalTap !== null) this.globalTap(this.now, from, this.address(dstIp, dstPort), bytes, offset, length, Verdict.DROP_NO_ROUTE);
  }

  private tap(link: Link, from: SimAddress, to: SimAddress, bytes: Uint8Array, offset: number, length: number, verdict: number): void {
    if (link.tap !== null) link.tap(this.now, from, to, bytes, offset, length, verdict);
    if (this.globalTap !== null) this.globalTap(this.now, from, to, bytes, offset, length, verdict);
  }

  private resolveHost(ref: HostRef): SimHost {
    const host = typeof ref === "string" ? this.hostsByName.get(ref) : this.hosts[ref.index];
    if (host === undefined) throw new Error(`unknown host ${typeof ref === "string" ? ref : ref.name}`);
    return host;
  }

  private forPairs(
    a: HostRef | ReadonlyArray<HostRef>,
    b: HostRef | ReadonlyArray<HostRef>,
    oneWay: boolean,
    apply: (src: number, dst: number) => void,
  ): void {
    const left = isHostList(a) ? a : [a];
    const right = isHostList(b) ? b : [b];
    for (const x of left) {
      for (const y of right) {
        const src = this.resolveHost(x).index;
        const dst = this.resolveHost(y).index;
        apply(src, dst);
        if (!oneWay) apply(dst, src);
      }
    }
  }
}

function isHostList(ref: HostRef | ReadonlyArray<HostRef>): ref is ReadonlyArray<HostRef> {
  return Array.isArray(ref);
}
