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
