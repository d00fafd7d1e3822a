// What the simulator needs from anything it hosts. The Petrel Engine implements this shape; so do
// the toy nodes in the tests. It is quinn-proto's sans-IO contract in four methods: two `handle*`
// for input (a datagram arrived, time passed) and two `poll*` for output (datagrams to send, the
// next deadline).
//
// Calling order, per node, which the simulator guarantees:
//   1. Exactly one input: handleDatagram(...) or handleTimeout(...) (or nothing, right after the
//      node is bound or after a test pokes it with BoundNode.wake()).
//   2. pollTransmit(nowNs, sink) with an emptied sink; again while the node fills the sink to
//      capacity (a full sink means there may be more), up to a bound.
//   3. pollTimeout(): the earliest deadline; the simulator (re)schedules the node's one timer event
//      for it, or cancels it when the node returns NO_DEADLINE.
// Every nowNs a node sees is its host's local clock (simulated time plus the host's offset and
// drift), and the deadline it returns is on that same clock.
import type { TransmitBatch } from "../core/transmitBatch.js";
import type { SimAddress } from "./address.js";

/**
 * The caller-owned batch a node fills in pollTransmit: the core's TransmitBatch (parallel typed
 * arrays: destination ip/port, payload length, endpoint id, and a preallocated byte slot each).
 * A node claims a slot with claim(endpointId, ip, port), writes the payload at slotOffset(slot) in
 * `bytes`, and commits it with commit(slot, length). `endpointId` is the index, in the ports the
 * node was bound with, of the local port the datagram leaves from (0 for a node bound to one port).
 * The simulator copies every committed datagram out before the next call, so the batch is reused.
 */
export type TransmitSink = TransmitBatch;

/** pollTimeout()'s answer when a node has no deadline: it sleeps until a datagram arrives. */
export const NO_DEADLINE = Number.POSITIVE_INFINITY;

export interface SimNode {
  /**
   * A datagram arrived at `to` (one of the node's bound addresses, or the multicast group address
   * it was sent to) from `from`. The bytes are valid only during the call: the simulator recycles
   * the buffer afterwards, so a node that keeps data copies it.
   */
  handleDatagram(nowNs: number, from: SimAddress, to: SimAddress, bytes: Uint8Array, offset: number, length: number): void;
  /** Time reached the node's deadline. A spurious call (before any deadline) must be a harmless no-op. */
  handleTimeout(nowNs: number): void;
  /** Pushes datagrams to send into `sink`; returns how many it committed. */
  pollTransmit(nowNs: number, sink: TransmitSink): number;
  /** The earliest local time at which the node wants handleTimeout, or NO_DEADLINE (+Infinity). */
  pollTimeout(): number;
}
