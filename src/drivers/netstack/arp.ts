// ARP for IPv4 over Ethernet (RFC 826): the frame codec and the resolver, a state machine that is
// told the time (no clock, no timer, no I/O), so the live drivers and the simulator run the same
// code and the simulator can test loss, expiry and refresh deterministically.
//
// Resolver contract (quinn-proto's shape):
//  - lookup(nowNs, ip, out, offset): the MAC for `ip` when known (true), else false. A miss
//    starts resolution (queues a request); the caller drops the datagram and counts it: Petrel's
//    NAKs redeliver it once the address resolves, so there is no pending-datagram queue to bound.
//  - handleArp(nowNs, ...): a received request or reply; learns the sender when we already have an
//    entry for it or when it is talking to us (RFC 826's merge rule); says whether to answer.
//  - handleTimeout(nowNs): retries with exponential backoff, gives up after maxAttempts (the
//    entry then FAILS for failedHoldNs, during which misses send nothing), expires entries.
//  - pollRequest(): the next address to send a request for (-1 when none); pollTimeout(): the
//    earliest deadline. A spurious handleTimeout is a harmless no-op.
// An entry in use is refreshed before it expires (a request while the old MAC keeps being used),
// so a steady stream never sees a miss; an idle one expires and the next datagram misses again.
// Deadlines compare by subtraction (`deadline - now <= 0`). Everything is bounded: the table
// (capacity), the request queue, and the attempts per resolution.
import { copyMac, MAC_LENGTH } from "./mac.js";

export const ETHERTYPE_ARP = 0x0806;
export const ARP_OP_REQUEST = 1;
export const ARP_OP_REPLY = 2;
/** ARP payload for Ethernet/IPv4. */
export const ARP_PACKET_LENGTH = 28;
/** The shortest Ethernet frame without its FCS: ARP frames are padded to it. */
export const ETHERNET_MIN_FRAME_LENGTH = 60;

export interface ArpConfig {
  /** How long a reply keeps an entry valid. Default 30 s. */
  readonly reachableNs: number;
  /** An entry used within this long of its expiry is refreshed. Default 5 s. */
  readonly refreshBeforeNs: number;
  /** First retry delay; doubles per attempt up to retryMaxNs. Defaults 100 ms and 1.6 s. */
  readonly retryInitialNs: number;
  readonly retryMaxNs: number;
  /** Requests per resolution before the entry fails. Default 6. */
  readonly maxAttempts: number;
  /** How long a failed entry suppresses new requests. Default 1 s. */
  readonly failedHoldNs: number;
  /** Entries at most (static ones included). Default 256. */
  readonly capacity: number;
  /** Requests waiting to be sent at most (more are counted and dropped). Default 64. */
  readonly requestQueueMax: number;
}

export const ARP_DEFAULTS: ArpConfig = {
  reachableNs: 30_000_000_000,
  refreshBeforeNs: 5_000_000_000,
  retryInitialNs: 100_000_000,
  retryMaxNs: 1_600_000_000,
  maxAttempts: 6,
  failedHoldNs: 1_000_000_000,
  capacity: 256,
  requestQueueMax: 64,
};

export const ArpState = { INCOMPLETE: 1, REACHABLE: 2, FAILED: 3, STATIC: 4 } as const;
export type ArpState = (typeof ArpState)[keyof typeof ArpState];

class ArpEntry {
  state: ArpState = ArpState.INCOMPLETE;
  readonly mac = new Uint8Array(MAC_LENGTH);
  /** REACHABLE: when the MAC stops being valid. */
  expiresNs = 0;
  /** INCOMPLETE / refreshing REACHABLE: next request; FAILED: end of the hold. */
  nextActionNs = 0;
  attempts = 0;
  refreshing = false;
  constructor(readonly ip: number) {}
}

export interface ArpCounters {
  requestsQueued: number;
  /** Requests not queued because the queue was full. */
  requestQueueOverflows: number;
  repliesNeeded: number;
  learned: number;
  misses: number;
  expired: number;
  failures: number;
  refreshes: number;
  /** Misses that found the table full of live entries (nothing learned, nothing requested). */
  tableFull: number;
}

export class ArpResolver {
  readonly config: ArpConfig;
  readonly counters: ArpCounters = {
    requestsQueued: 0, requestQueueOverflows: 0, repliesNeeded: 0, learned: 0, misses: 0, expired: 0, failures: 0, refreshes: 0, tableFull: 0,
  };
  private readonly entries = new Map<number, ArpEntry>();
  private readonly queue: Uint32Array;
  private queueHead = 0;
  private queueCount = 0;
  private deadlineNs = Number.POSITIVE_INFINITY;
  private deadlineDirty = false;

  constructor(config: Partial<ArpConfig> = {}) {
    this.config = { ...ARP_DEFAULTS, ...config };
    const c = this.config;
    if (!(c.capacity >= 1 && c.requestQueueMax >= 1 && c.maxAttempts >= 1)) throw new RangeError("ArpConfig: capacity, requestQueueMax and maxAttempts must be >= 1");
    if (!(c.retryInitialNs > 0 && c.retryMaxNs >= c.retryInitialNs && c.reachableNs > c.refreshBeforeNs && c.refreshBeforeNs >= 0)) {
      throw new RangeError("ArpConfig: need 0 < retryInitialNs <= retryMaxNs and 0 <= refreshBeforeNs < reachableNs");
    }
    this.queue = new Uint32Array(c.requestQueueMax);
  }

  get size(): number {
    return this.entries.size;
  }

  /** The entry's state for `ip`, or 0 when there is none (for tests and diagnostics). */
  stateOf(ip: number): ArpState | 0 {
    return this.entries.get(ip >>> 0)?.state ?? 0;
  }

  /** A permanent entry (a cloud's gateway, a peer configured by hand). */
  addStatic(ip: number, mac: Uint8Array, macOffset = 0): void {
    const entry = this.entryFor(ip >>> 0, Number.NaN);
    if (entry === undefined) throw new RangeError("ARP table full: no room for a static entry");
    entry.state = ArpState.STATIC;
    entry.refreshing = false;
    copyMac(mac, macOffset, entry.mac, 0);
  }

  /** Writes the MAC for `ip` at out[offset] and returns true, or starts resolving it and returns false. */
  lookup(nowNs: number, ip: number, out: Uint8Array, offset: number): boolean {
    const key = ip >>> 0;
    let entry = this.entries.get(key);
    if (entry !== undefined) {
      switch (entry.state) {
        case ArpState.STATIC:
          copyMac(entry.mac, 0, out, offset);
          return true;
        case ArpState.REACHABLE:
          if (entry.expiresNs - nowNs > 0) {
            copyMac(entry.mac, 0, out, offset);
            if (!entry.refreshing && entry.expiresNs - nowNs <= this.config.refreshBeforeNs) {
              entry.refreshing = true;
              entry.attempts = 1;
              entry.nextActionNs = nowNs + this.config.retryInitialNs;
              this.counters.refreshes++;
              this.enqueue(key);
              this.deadlineDirty = true;
            }
            return true;
          }
          this.counters.expired++;
          this.startResolving(entry, nowNs);
          break;
        case ArpState.INCOMPLETE:
          break;
        case ArpState.FAILED:
          if (entry.nextActionNs - nowNs <= 0) this.startResolving(entry, nowNs);
          break;
      }
      this.counters.misses++;
      return false;
    }
    this.counters.misses++;
    entry = this.entryFor(key, nowNs);
    if (entry === undefined) {
      this.counters.tableFull++;
      return false;
    }
    this.startResolving(entry, nowNs);
    return false;
  }

  /**
   * A received ARP packet (either operation). Returns true when it is a request for `ourIp`,
   * which the caller answers with a reply to (senderMac, senderIp).
   */
  handleArp(nowNs: number, operation: number, senderMac: Uint8Array, senderMacOffset: number, senderIp: number, targetIp: number, ourIp: number): boolean {
    const sender = senderIp >>> 0;
    const forUs = targetIp >>> 0 === ourIp >>> 0;
    if (sender !== 0 && sender !== ourIp >>> 0) {
      let entry = this.entries.get(sender);
      if (entry === undefined && forUs) entry = this.entryFor(sender, nowNs);
      if (entry !== undefined && entry.state !== ArpState.STATIC) {
        entry.state = ArpState.REACHABLE;
        copyMac(senderMac, senderMacOffset, entry.mac, 0);
        entry.expiresNs = nowNs + this.config.reachableNs;
        entry.refreshing = false;
        entry.attempts = 0;
        this.counters.learned++;
        this.deadlineDirty = true;
      }
    }
    if (operation === ARP_OP_REQUEST && forUs) {
      this.counters.repliesNeeded++;
      return true;
    }
    return false;
  }

  /** Retries, failures and expiry due by `nowNs`. */
  handleTimeout(nowNs: number): void {
    if (this.pollTimeout() - nowNs > 0) return;
    const c = this.config;
    for (const entry of this.entries.values()) {
      switch (entry.state) {
        case ArpState.INCOMPLETE:
          if (entry.nextActionNs - nowNs > 0) break;
          if (entry.attempts >= c.maxAttempts) {
            entry.state = ArpState.FAILED;
            entry.nextActionNs = nowNs + c.failedHoldNs;
            this.counters.failures++;
          } else {
            this.retry(entry, nowNs);
          }
          break;
        case ArpState.REACHABLE:
          if (entry.expiresNs - nowNs <= 0) {
            this.counters.expired++;
            this.entries.delete(entry.ip);
          } else if (entry.refreshing && entry.nextActionNs - nowNs <= 0) {
            // A refresh that went unanswered keeps trying until the entry expires.
            if (entry.attempts < c.maxAttempts) this.retry(entry, nowNs);
            else entry.nextActionNs = entry.expiresNs;
          }
          break;
        case ArpState.FAILED:
          if (entry.nextActionNs - nowNs <= 0) this.entries.delete(entry.ip);
          break;
        default:
          break;
      }
    }
    this.deadlineDirty = true;
  }

  /** The earliest instant handleTimeout has work, or +Infinity. */
  pollTimeout(): number {
    if (!this.deadlineDirty) return this.deadlineNs;
    let earliest = Number.POSITIVE_INFINITY;
    for (const entry of this.entries.values()) {
      let at = Number.POSITIVE_INFINITY;
      if (entry.state === ArpState.INCOMPLETE || entry.state === ArpState.FAILED) at = entry.nextActionNs;
      else if (entry.state === ArpState.REACHABLE) at = entry.refreshing && entry.nextActionNs < entry.expiresNs ? entry.nextActionNs : entry.expiresNs;
      if (at < earliest) earliest = at;
    }
    this.deadlineNs = earliest;
    this.deadlineDirty = false;
    return earliest;
  }

  /** The next address to send a request for, or -1. */
  pollRequest(): number {
    if (this.queueCount === 0) return -1;
    const ip = this.queue[this.queueHead] as number;
    this.queueHead = (this.queueHead + 1) % this.queue.length;
    this.queueCount--;
    return ip;
  }

  /** Forgets every dynamic entry (static ones stay). */
  flush(): void {
    for (const entry of this.entries.values()) if (entry.state !== ArpState.STATIC) this.entries.delete(entry.ip);
    this.deadlineDirty = true;
  }

  private startResolving(entry: ArpEntry, nowNs: number): void {
    entry.state = ArpState.INCOMPLETE;
    entry.refreshing = false;
    entry.attempts = 1;
    entry.nextActionNs = nowNs + this.config.retryInitialNs;
    this.enqueue(entry.ip);
    this.deadlineDirty = true;
  }

  private retry(entry: ArpEntry, nowNs: number): void {
    const c = this.config;
    const delay = Math.min(c.retryInitialNs * 2 ** entry.attempts, c.retryMaxNs);
    entry.attempts++;
    entry.nextActionNs = nowNs + delay;
    this.enqueue(entry.ip);
  }

  private enqueue(ip: number): void {
    if (this.queueCount >= this.queue.length) {
      this.counters.requestQueueOverflows++;
      return;
    }
    this.queue[(this.queueHead + this.queueCount) % this.queue.length] = ip;
    this.queueCount++;
    this.counters.requestsQueued++;
  }

  /** A new entry for `ip`, evicting a failed or expired one when the table is full; undefined when nothing can go. */
  private entryFor(ip: number, nowNs: number): ArpEntry | undefined {
    const existing = this.entries.get(ip);
    if (existing !== undefined) return existing;
    if (this.entries.size >= this.config.capacity) {
      let victim: ArpEntry | undefined;
      for (const entry of this.entries.values()) {
        if (entry.state === ArpState.FAILED || (entry.state === ArpState.REACHABLE && !(entry.expiresNs - nowNs > 0))) {
          victim = entry;
          break;
        }
      }
      if (victim === undefined) return undefined;
      this.entries.delete(victim.ip);
    }
    const entry = new ArpEntry(ip);
    this.entries.set(ip, entry);
    return entry;
  }
}

function writeU16(bytes: Uint8Array, offset: number, value: number): void {
  bytes[offset] = (value >>> 8) & 0xff;
  bytes[offset + 1] = value & 0xff;
}

function writeU32(bytes: Uint8Array, offset: number, value: number): void {
  bytes[offset] = (value >>> 24) & 0xff;
  bytes[offset + 1] = (value >>> 16) & 0xff;
  bytes[offset + 2] = (value >>> 8) & 0xff;
  bytes[offset + 3] = value & 0xff;
}

function readU16(bytes: Uint8Array, offset: number): number {
  return ((bytes[offset] ?? 0) << 8) | (bytes[offset + 1] ?? 0);
}

function readU32(bytes: Uint8Array, offset: number): number {
  return (((bytes[offset] ?? 0) << 24) | ((bytes[offset + 1] ?? 0) << 16) | ((bytes[offset + 2] ?? 0) << 8) | (bytes[offset + 3] ?? 0)) >>> 0;
}

/**
 * Writes an Ethernet frame carrying an ARP packet at `offset`, padded with zeros to 60 bytes.
 * A request goes to the broadcast address with a zero target MAC; a reply goes to the target.
 * Returns the frame length (60).
 */
export function writeArpFrame(
  out: Uint8Array, offset: number, operation: number,
  ethernetDestination: Uint8Array, ethernetDestinationOffset: number,
  senderMac: Uint8Array, senderMacOffset: number, senderIp: number,
  targetMac: Uint8Array, targetMacOffset: number, targetIp: number,
): number {
  if (offset + ETHERNET_MIN_FRAME_LENGTH > out.length) throw new RangeError("ARP frame does not fit in the buffer");
  copyMac(ethernetDestination, ethernetDestinationOffset, out, offset);
  copyMac(senderMac, senderMacOffset, out, offset + 6);
  writeU16(out, offset + 12, ETHERTYPE_ARP);
  const a = offset + 14;
  writeU16(out, a, 1); // hardware type: Ethernet
  writeU16(out, a + 2, 0x0800); // protocol type: IPv4
  out[a + 4] = 6;
  out[a + 5] = 4;
  writeU16(out, a + 6, operation);
  copyMac(senderMac, senderMacOffset, out, a + 8);
  writeU32(out, a + 14, senderIp >>> 0);
  copyMac(targetMac, targetMacOffset, out, a + 18);
  writeU32(out, a + 24, targetIp >>> 0);
  out.fill(0, a + ARP_PACKET_LENGTH, offset + ETHERNET_MIN_FRAME_LENGTH);
  return ETHERNET_MIN_FRAME_LENGTH;
}

/** A parsed ARP packet's fields (filled in place; no allocation per frame). */
export class ArpPacketInfo {
  operation = 0;
  /** Offset of the sender MAC in the frame's buffer. */
  senderMacOffset = 0;
  senderIp = 0;
  targetMacOffset = 0;
  targetIp = 0;
}

/**
 * Parses the ARP packet at `arpOffset` (after the Ethernet header). Returns false for anything but
 * Ethernet/IPv4 ARP with operation request or reply, or a packet shorter than 28 bytes.
 */
export function parseArp(bytes: Uint8Array, arpOffset: number, available: number, out: ArpPacketInfo): boolean {
  if (available < ARP_PACKET_LENGTH || arpOffset + ARP_PACKET_LENGTH > bytes.length) return false;
  if (readU16(bytes, arpOffset) !== 1 || readU16(bytes, arpOffset + 2) !== 0x0800) return false;
  if (bytes[arpOffset + 4] !== 6 || bytes[arpOffset + 5] !== 4) return false;
  const operation = readU16(bytes, arpOffset + 6);
  if (operation !== ARP_OP_REQUEST && operation !== ARP_OP_REPLY) return false;
  out.operation = operation;
  out.senderMacOffset = arpOffset + 8;
  out.senderIp = readU32(bytes, arpOffset + 14);
  out.targetMacOffset = arpOffset + 18;
  out.targetIp = readU32(bytes, arpOffset + 24);
  return true;
}
