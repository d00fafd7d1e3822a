// Petrel's deterministic network simulator: public API.
//
// A run: new Simulation({ seed }); sim.host(name, setup) for each host (setup binds SimNodes to
// ports through its HostContext); sim.link(a, b, model) for each path (or a defaultLink model);
// sim.at(timeNs, action) for faults; sim.runFor / runUntil / step; sim.traceHash() at the end.
//
// Gotchas:
// - setup runs inside sim.host(), but bound nodes are first polled by an event at that time, so
//   build the whole topology before running.
// - handleDatagram's bytes are valid only during the call (the buffer goes back to the pool).
// - Nodes see their host's local clock; deadlines are on that clock (HostOptions drift/offset).
// - Partitions are checked when a datagram is sent; datagrams already in flight still arrive.
// - A crash drops datagrams in flight to the host, even those arriving after its restart.
// - fork(label) with the same label gives the same stream: labels must name what is unique.
// - Jitter is drawn per datagram and may reorder; use jitterNs: 0 plus reorder for control.
// - Events at the same instant run in the order they were scheduled (sim.at before later sends).
//
// Running Petrel engines, and your own service on them: attachEngine(host) in a host's setup runs
// an Engine there. Its sockets become the host's ports (a subscription binds its channel's port, a
// publication an ephemeral one), its randomness is the host's Prng, and the application's code goes
// in onTick, which runs after every input to the engine (datagram, timer, wake) before the
// engine's output is sent. A restart runs setup again: a new engine that remembers nothing.
//
//   const sim = new Simulation({ seed: 42, defaultLink: { latencyNs: 100_000 } });
//   const channel = "aeron:udp?endpoint=10.0.0.2:40123|term-length=64k";
//   let received = 0;
//   sim.host("pub", (host) => {
//     const node = attachEngine(host);
//     const publication = node.engine.addPublication(channel, 10);
//     const message = new TextEncoder().encode("hello");
//     let sent = 0;
//     node.onTick((nowNs) => {
//       while (sent < 100 && publication.offer(message) > 0) sent++;
//       if (sent < 100) node.wakeAt(nowNs + 1_000_000); // not connected yet, or back-pressured
//     });
//   }, { ip: "10.0.0.1" });
//   sim.host("sub", (host) => {
//     const node = attachEngine(host);
//     const subscription = node.engine.addSubscription(channel, 10);
//     node.onTick(() => void subscription.poll(() => received++, 10));
//   }, { ip: "10.0.0.2" });
//   sim.runUntil(() => received === 100, 10e9); // true; sim.traceHash() names the run
//
// More gotchas, for engines:
// - onTick runs inside the node's handler: schedule crashes, restarts and wake() with sim.at.
// - After acting on an engine from a sim.at action (offer, addSubscription), call node.wake().
// - An application with a schedule of its own asks for a tick with node.wakeAt(localNs).
//
// Scenarios: runScenario(seed, schedule, options) runs a reliable stream through a fault
// schedule (data: a list of { atNs, action }), checks every message, bounds and liveness, and
// returns { ok, violation?, traceHash, stats }; parseSchedule reads one from JSON.
export { addressKey, formatAddress, formatIpv4, ipv4, isMulticastIpv4, parseIpv4, sameAddress, simAddress, type SimAddress } from "./address.js";
export { SimAssertionError } from "./assert.js";
export { BufferPool, BufferPoolExhaustedError } from "./bufferPool.js";
export { checkDeterminism, NondeterminismError, type DeterminismReport } from "./determinism.js";
export { EventQueue, EventQueueFullError, type EventQueueOptions } from "./eventQueue.js";
export {
  BernoulliLoss,
  Corruption,
  DropNext,
  DropWhere,
  Duplication,
  FaultChain,
  FaultDecision,
  FaultPacket,
  GilbertElliottLoss,
  MAX_COPIES,
  Reordering,
  VERDICT_COUNT,
  Verdict,
  isDrop,
  verdictName,
  type DuplicationOptions,
  type FaultRule,
  type GilbertElliottOptions,
  type PacketPredicate,
  type ReorderOptions,
} from "./faults.js";
export { HostClock } from "./hostClock.js";
export { IPV4_UDP_HEADER_BYTES, Link, LinkCounters, chainForModel, type LinkModel, type LinkTap } from "./link.js";
export { LOOPBACK_MODEL, Network } from "./network.js";
export { Prng, assertRatio, ratio, type Ratio } from "./prng.js";
export { NO_DEADLINE, type SimNode, type TransmitSink } from "./simNode.js";
export {
  Simulation,
  type BoundNode,
  type FaultAction,
  type HostContext,
  type HostInfo,
  type HostOptions,
  type HostSetup,
  type ScheduledAction,
  type SimulationCounters,
  type SimulationOptions,
} from "./simulator.js";
export { TraceHash } from "./trace.js";
export { attachEngine, EngineHost, withoutNaks, type EngineHostOptions, type OutboundFilter, type TickCallback } from "./engineHost.js";
export { formatViolation, Peaks, StreamChecker, ViolationLog, type Bounds, type Violation, type ViolationKind } from "./invariants.js";
export {
  formatScenarioResult,
  parseSchedule,
  runScenario,
  SCENARIO_DEFAULTS,
  SCENARIO_PATH_FAULTS,
  validateSchedule,
  type BrokenEngine,
  type PartitionDirection,
  type ScenarioAction,
  type ScenarioOptions,
  type ScenarioResult,
  type ScenarioStats,
  type Schedule,
  type ScheduledFault,
} from "./scenario.js";
export { MESSAGE_HEADER_BYTES, StreamContent, type FixedLengthContentOptions, type StreamContentOptions } from "./workloadStream.js";
export { Bouncer, buildBounceWorkload, type BounceWorkloadOptions } from "./workloadBounce.js";
