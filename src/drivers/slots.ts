// Slots follow the channel (docs/DRIVERS.md, "Slot lengths and mtu"). A transmit slot must hold a
// publication's largest datagram (its mtu); a receive slot must hold whatever a publisher's SETUP
// chose, which the subscriber's channel usually does not say. So receive slots default to Aeron's
// largest mtu (65504, Configuration.MAX_UDP_PAYLOAD_LENGTH; Aeron's own receiver reads into 64 KiB
// buffers) and never need to grow, while transmit slots start small (2048) and grow when a
// publication with a larger mtu is added, unless the driver was made with fixedSlots. Whatever
// cannot fit fails at add time with SlotTooSmallError; a datagram that still arrives too long for a
// (smaller, user-chosen) receive slot is dropped, counted (truncated) and kept in lastError().
import { TransmitBatch } from "../core/transmitBatch.js";
import type { Driver } from "./driver.js";
import type { ReceiveBatch } from "./receiveBatch.js";
import { SlotTooSmallError } from "./driverError.js";

/** Aeron's largest mtu and UDP payload (Configuration.MAX_UDP_PAYLOAD_LENGTH). */
export const MAX_UDP_PAYLOAD_BYTES = 65504;
/** Default receive slot: any Aeron frame fits (memory is committed only where datagrams land). */
export const DEFAULT_RECEIVE_SLOT_BYTES = MAX_UDP_PAYLOAD_BYTES;
/** Default transmit slot (Aeron's default mtu is 1408); grows with the channels unless fixedSlots. */
export const DEFAULT_TRANSMIT_SLOT_BYTES = 2048;

/** A copy of `batch` with slots of `slotLength` bytes, holding its filled slots [0, count) unchanged. */
export function growTransmitBatch(batch: TransmitBatch, slotLength: number): TransmitBatch {
  const grown = new TransmitBatch(batch.capacity, slotLength);
  for (let i = 0; i < batch.count; i++) {
    const from = i * batch.slotLength;
    grown.bytes.set(batch.bytes.subarray(from, from + batch.lengths[i]!), i * slotLength);
  }
  grown.lengths.set(batch.lengths);
  grown.destinationIps.set(batch.destinationIps);
  grown.destinationPorts.set(batch.destinationPorts);
  grown.endpointIds.set(batch.endpointIds);
  grown.count = batch.count;
  return grown;
}

/**
 * The add-time check for slots that cannot grow: throws SlotTooSmallError when `mtuBytes` exceeds
 * `limit` (the slot length, or less where a link MTU bounds the datagram).
 */
export function checkFits(channel: string, mtuBytes: number, role: "send" | "receive", limit: number, why: string): void {
  if (mtuBytes > limit) throw new SlotTooSmallError(channel, mtuBytes, limit, role === "send" ? "transmit" : "receive", why);
}

/**
 * fitMtu for the socket drivers (native, io_uring, node:dgram): receive slots are checked (they do
 * not grow), transmit slots grow to the mtu unless `fixed`. Returns the batch to use from now on
 * (the same one when it already fits).
 */
export function fitSocketSlots(channel: string, mtuBytes: number, role: "send" | "receive", transmit: TransmitBatch,
  receive: ReceiveBatch, fixed: boolean): TransmitBatch {
  if (role === "receive") {
    checkFits(channel, mtuBytes, role, receive.slotLength,
      `receive slots do not grow: raise receiveSlotLength (the default, ${DEFAULT_RECEIVE_SLOT_BYTES}, holds any Aeron mtu)`);
    return transmit;
  }
  if (mtuBytes <= transmit.slotLength) return transmit;
  checkFits(channel, mtuBytes, role, fixed ? transmit.slotLength : MAX_UDP_PAYLOAD_BYTES,
    fixed ? "the driver was made with fixedSlots: raise transmitSlotLength" : `no UDP datagram is longer than ${MAX_UDP_PAYLOAD_BYTES}`);
  return growTransmitBatch(transmit, Math.ceil(mtuBytes / 32) * 32);
}

/** A driver's fitMtu, or for a driver without one the check against its slot lengths (which do not grow). */
export function fitDriverMtu(driver: Driver, channel: string, mtuBytes: number, role: "send" | "receive"): void {
  if (driver.fitMtu !== undefined) {
    driver.fitMtu(channel, mtuBytes, role);
    return;
  }
  const limit = role === "send" ? driver.transmit.slotLength : driver.receive.slotLength;
  checkFits(channel, mtuBytes, role, limit, `the ${driver.kind} driver's slots do not grow`);
}
