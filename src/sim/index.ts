// Petrel's deterministic network simulator: public API.
export { addressKey, formatAddress, formatIpv4, ipv4, isMulticastIpv4, parseIpv4, sameAddress, simAddress, type SimAddress } from "./address.js";
export { SimAssertionError } from "./assert.js";
export { BufferPool, BufferPoolExhaustedError } from "./bufferPool.js";
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
