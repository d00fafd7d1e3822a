// Hostile datagrams for issue #11 ("Hostile and broken networks"), shared by the fuzz suite
// (test/hostile/fuzz*.test.ts), the live garbage test on the sockets driver
// (test/drivers/loopback.test.ts) and the fuzz benchmark (bench/fuzz.ts).
//
// Three parts:
//  - raw frame writers: every field is written as given, with no validation (the project's own
//    writers check their arguments, and writeI64 refuses values outside +-2^53: an attacker's
//    bytes are not so polite), 64-bit fields as two 32-bit halves;
//  - builders for the attacks (1: RTTM echo timestamp outside +-2^53; 2/3: SETUP with a
//    1 GiB term and term-offset 64 B before its end, then one DATA frame; 4: NAK up to the term
//    end; 7: spoofed SM with a huge window, spoofed DATA and EOS for a live session);
//  - HostileGenerator: a seeded generator and mutator of datagrams (every frame type, edge values,
//    several frames per datagram, truncations, bit flips, field substitutions and replays of real
//    datagrams), with the rule that keeps the live reference stream provably uncorruptible: a
//    frame the live session would accept (DATA/PAD into its image, SM into its publication) is
//    only sent from a third party, and only when source pinning guards the stream.
//
// The generator writes into one scratch buffer and allocates nothing per datagram, so a fuzz run
// measures the engine, not the generator.
import { DATA_HEADER_LENGTH, DATA_SESSION_ID_OFFSET, DATA_STREAM_ID_OFFSET, EOS_FLAG, UNFRAGMENTED } from "../../src/core/protocol/dataHeader.js";
import { checkDatagram, frameExtent } from "../../src/core/protocol/datagramWalker.js";
import {
  FRAME_LENGTH_OFFSET,
  HDR_TYPE_DATA,
  HDR_TYPE_ERR,
  HDR_TYPE_NAK,
  HDR_TYPE_PAD,
  HDR_TYPE_RES,
  HDR_TYPE_RSP_SETUP,
  HDR_TYPE_RTTM,
  HDR_TYPE_SETUP,
  HDR_TYPE_SM,
  TYPE_OFFSET,
} from "../../src/core/protocol/frameHeader.js";
import { SM_SESSION_ID_OFFSET, SM_STREAM_ID_OFFSET } from "../../src/core/protocol/statusMessageFrame.js";

// ================================================================ switches the lead flips after merging

/**
 * Source pinning (issue #11, build item "Source pinning, beyond Aeron"): a channel parameter that
 * makes an image take data only from its SETUP's address and a unicast publication take SMs and
 * NAKs only from its endpoint (`source-pin`, docs/ENGINE.md). Set: the fuzz suite and the loopback
 * garbage test add it to the live channel and send spoofed live-session frames (attack 7) from
 * third-party addresses too. (Undefined would leave pinning off and defuse those spoofs.)
 */
export const SOURCE_PIN_PARAM: string | undefined = "source-pin=true";

/** True when the live stream runs with source pinning (see SOURCE_PIN_PARAM). */
export const SOURCE_PINNING = SOURCE_PIN_PARAM !== undefined;

/** The live channel with pinning added when it exists. */
export function pinnedChannel(channel: string): string {
  return SOURCE_PIN_PARAM === undefined ? channel : `${channel}|${SOURCE_PIN_PARAM}`;
}

// ================================================================ raw writers

/** Writes a frame header: frameLength, version, flags, type. */
export function writeRawHeader(view: DataView, offset: number, frameLength: number, version: number, flags: number, type: number): void {
  view.setInt32(offset, frameLength | 0, true);
  view.setUint8(offset + 4, version & 0xff);
  view.setUint8(offset + 5, flags & 0xff);
  view.setUint16(offset + 6, type & 0xffff, true);
}

/** A DATA (or PAD, or heartbeat) header; the payload after it is the caller's. */
export function writeRawData(view: DataView, offset: number, type: number, frameLength: number, flags: number, termOffset: number,
  sessionId: number, streamId: number, termId: number, reservedLo = 0, reservedHi = 0): void {
  writeRawHeader(view, offset, frameLength, 0, flags, type);
  view.setInt32(offset + 8, termOffset | 0, true);
  view.setInt32(offset + 12, sessionId | 0, true);
  view.setInt32(offset + 16, streamId | 0, true);
  view.setInt32(offset + 20, termId | 0, true);
  view.setInt32(offset + 24, reservedLo | 0, true);
  view.setInt32(offset + 28, reservedHi | 0, true);
}

export function writeRawSetup(view: DataView, offset: number, flags: number, termOffset: number, sessionId: number, streamId: number,
  initialTermId: number, activeTermId: number, termLength: number, mtu: number, ttl: number, frameLength = 40): void {
  writeRawHeader(view, offset, frameLength, 0, flags, HDR_TYPE_SETUP);
  view.setInt32(offset + 8, termOffset | 0, true);
  view.setInt32(offset + 12, sessionId | 0, true);
  view.setInt32(offset + 16, streamId | 0, true);
  view.setInt32(offset + 20, initialTermId | 0, true);
  view.setInt32(offset + 24, activeTermId | 0, true);
  view.setInt32(offset + 28, termLength | 0, true);
  view.setInt32(offset + 32, mtu | 0, true);
  view.setInt32(offset + 36, ttl | 0, true);
}

/** An SM; with `frameLength` 44 the group tag halves follow. */
export function writeRawSm(view: DataView, offset: number, flags: number, sessionId: number, streamId: number, termId: number,
  termOffset: number, receiverWindow: number, receiverIdLo: number, receiverIdHi: number, frameLength = 36, groupTagLo = 0,
  groupTagHi = 0): void {
  writeRawHeader(view, offset, frameLength, 0, flags, HDR_TYPE_SM);
  view.setInt32(offset + 8, sessionId | 0, true);
  view.setInt32(offset + 12, streamId | 0, true);
  view.setInt32(offset + 16, termId | 0, true);
  view.setInt32(offset + 20, termOffset | 0, true);
  view.setInt32(offset + 24, receiverWindow | 0, true);
  view.setInt32(offset + 28, receiverIdLo | 0, true);
  view.setInt32(offset + 32, receiverIdHi | 0, true);
  if (frameLength >= 44) {
    view.setInt32(offset + 36, groupTagLo | 0, true);
    view.setInt32(offset + 40, groupTagHi | 0, true);
  }
}

export function writeRawNak(view: DataView, offset: number, flags: number, sessionId: number, streamId: number, termId: number,
  termOffset: number, length: number): void {
  writeRawHeader(view, offset, 28, 0, flags, HDR_TYPE_NAK);
  view.setInt32(offset + 8, sessionId | 0, true);
  view.setInt32(offset + 12, streamId | 0, true);
  view.setInt32(offset + 16, termId | 0, true);
  view.setInt32(offset + 20, termOffset | 0, true);
  view.setInt32(offset + 24, length | 0, true);
}

/** An RTTM; flags 0x80 asks for a reply. The 64-bit fields are written as (lo, hi) halves. */
export function writeRawRttm(view: DataView, offset: number, flags: number, sessionId: number, streamId: number, echoLo: number,
  echoHi: number, deltaLo: number, deltaHi: number, receiverIdLo: number, receiverIdHi: number): void {
  writeRawHeader(view, offset, 40, 0, flags, HDR_TYPE_RTTM);
  view.setInt32(offset + 8, sessionId | 0, true);
  view.setInt32(offset + 12, streamId | 0, true);
  view.setInt32(offset + 16, echoLo | 0, true);
  view.setInt32(offset + 20, echoHi | 0, true);
  view.setInt32(offset + 24, deltaLo | 0, true);
  view.setInt32(offset + 28, deltaHi | 0, true);
  view.setInt32(offset + 32, receiverIdLo | 0, true);
  view.setInt32(offset + 36, receiverIdHi | 0, true);
}

/** An ERR frame header (40 bytes) claiming `errorLength` bytes of text (not written). */
export function writeRawErr(view: DataView, offset: number, frameLength: number, flags: number, sessionId: number, streamId: number,
  errorCode: number, errorLength: number): void {
  writeRawHeader(view, offset, frameLength, 0, flags, HDR_TYPE_ERR);
  view.setInt32(offset + 8, sessionId | 0, true);
  view.setInt32(offset + 12, streamId | 0, true);
  for (let i = 16; i < 32; i += 4) view.setInt32(offset + i, 0, true);
  view.setInt32(offset + 32, errorCode | 0, true);
  view.setInt32(offset + 36, errorLength | 0, true);
}

export function writeRawRspSetup(view: DataView, offset: number, flags: number, sessionId: number, streamId: number, responseSessionId: number): void {
  writeRawHeader(view, offset, 20, 0, flags, HDR_TYPE_RSP_SETUP);
  view.setInt32(offset + 8, sessionId | 0, true);
  view.setInt32(offset + 12, streamId | 0, true);
  view.setInt32(offset + 16, responseSessionId | 0, true);
}

// ================================================================ the attacks

/** 64-bit (lo, hi) halves outside +-2^53 that an RTTM echo timestamp may carry (attack 1). */
export const UNSAFE_I64_HALVES: ReadonlyArray<readonly [number, number]> = [
  [0xffffffff | 0, 0x7fffffff], // 2^63 - 1
  [0, 0x80000000 | 0], // -2^63
  [0, 0x00200000], // 2^53 = Number.MAX_SAFE_INTEGER + 1
  [1, 0x00200000], // 2^53 + 1
  [0, 0x00400000], // 2^54: 208 days of CLOCK_MONOTONIC
  [0xffffffff | 0, 0xffdfffff | 0], // -2^53 - 1
];

function datagram(length: number, write: (view: DataView) => void): Uint8Array {
  const bytes = new Uint8Array(length);
  write(new DataView(bytes.buffer));
  return bytes;
}

/** Attack 1: an RTTM request (flags 0x80) whose echo timestamp is `halves` (default 2^63 - 1). */
export function attackRttmUnsafeEcho(sessionId: number, streamId: number, halves: readonly [number, number] = UNSAFE_I64_HALVES[0]!): Uint8Array {
  return datagram(40, (view) => writeRawRttm(view, 0, 0x80, sessionId, streamId, halves[0], halves[1], 0, 0, 0x1234, 0x5678));
}

/**
 * Attacks 2 and 3: a SETUP for `sessionId` on `streamId` with a `termLength` term (1 GiB by
 * default) joining 64 bytes before the term's end, then one DATA frame that fills those 64 bytes.
 * A subscriber that polls past it reaches the term end, where the image used to zero the whole
 * join term (attack 2); the SETUP alone used to allocate 3 terms at once (attack 3).
 */
export function attackBigTermSetup(sessionId: number, streamId: number, termLength = 1 << 30, initialTermId = 7): [Uint8Array, Uint8Array] {
  const termOffset = termLength - 64;
  const setup = datagram(40, (view) => writeRawSetup(view, 0, 0, termOffset, sessionId, streamId, initialTermId, initialTermId, termLength, 1408, 0));
  const data = datagram(64, (view) => {
    writeRawData(view, 0, HDR_TYPE_DATA, 64, UNFRAGMENTED, termOffset, sessionId, streamId, initialTermId);
    for (let i = 32; i < 64; i++) view.setUint8(i, 0xa5);
  });
  return [setup, data];
}

/** Attack 4: a NAK asking for everything from `termOffset` to the end of a `termLength` term. */
export function attackNakToTermEnd(sessionId: number, streamId: number, termId: number, termLength: number, termOffset = 0): Uint8Array {
  return datagram(28, (view) => writeRawNak(view, 0, 0, sessionId, streamId, termId, termOffset, termLength - termOffset));
}

/** Attack 7: a spoofed SM granting a huge receiver window from the given position. */
export function attackSpoofedSm(sessionId: number, streamId: number, termId: number, termOffset: number, receiverWindow = 0x7fffffff): Uint8Array {
  return datagram(36, (view) => writeRawSm(view, 0, 0, sessionId, streamId, termId, termOffset, receiverWindow, 0x0bad, 0xf00d));
}

/** Attack 7: a spoofed DATA frame for a live session: a forged unfragmented message of `payloadLength` bytes of 0xee. */
export function attackSpoofedData(sessionId: number, streamId: number, termId: number, termOffset: number, payloadLength = 32): Uint8Array {
  const frameLength = DATA_HEADER_LENGTH + payloadLength;
  return datagram((frameLength + 31) & ~31, (view) => {
    writeRawData(view, 0, HDR_TYPE_DATA, frameLength, UNFRAGMENTED, termOffset, sessionId, streamId, termId);
    for (let i = 32; i < frameLength; i++) view.setUint8(i, 0xee);
  });
}

/** Attack 7: a spoofed end-of-stream heartbeat for a live session at (termId, termOffset). */
export function attackSpoofedEos(sessionId: number, streamId: number, termId: number, termOffset: number): Uint8Array {
  return datagram(32, (view) => writeRawData(view, 0, HDR_TYPE_DATA, 0, UNFRAGMENTED | EOS_FLAG, termOffset, sessionId, streamId, termId));
}

// ================================================================ the live-session rule

/** Which engine a hostile datagram is addressed to. */
export const Target = {
  /** The publisher's send endpoint (it takes SM, NAK, RTTM requests). */
  PUBLISHER: 0,
  /** The subscriber's receive endpoint (it takes SETUP, DATA, PAD, RTTM replies). */
  SUBSCRIBER: 1,
} as const;
export type Target = (typeof Target)[keyof typeof Target];

/**
 * True when the datagram would be accepted whole by the walker and holds a frame the live session
 * would take as its own: DATA or PAD (incl. heartbeats and EOS) with the live session and stream,
 * sent to the subscriber; an SM with them, sent to the publisher. Only such frames can forge,
 * stall or end the live stream, so only they are spoofs; NAKs and RTTMs with the live ids can
 * cost work (attacks 1 and 4) but cannot corrupt it.
 */
export function spoofsLiveSession(view: DataView, start: number, length: number, target: Target, sessionId: number, streamId: number): boolean {
  return forEachLiveFrame(view, start, length, target, sessionId, streamId, false) > 0;
}

/**
 * Rewrites the session id of every frame `spoofsLiveSession` would find, so that it belongs to
 * another session (the rest of the datagram is untouched). Returns how many frames it changed.
 */
export function defuseLiveSession(view: DataView, start: number, length: number, target: Target, sessionId: number, streamId: number): number {
  return forEachLiveFrame(view, start, length, target, sessionId, streamId, true);
}

function forEachLiveFrame(view: DataView, start: number, length: number, target: Target, sessionId: number, streamId: number,
  rewrite: boolean): number {
  const frames = checkDatagram(view, start, length);
  if (frames <= 0) return 0;
  const end = start + length;
  let offset = start;
  let found = 0;
  for (let i = 0; i < frames; i++) {
    const frameLength = view.getInt32(offset + FRAME_LENGTH_OFFSET, true);
    const type = view.getUint16(offset + TYPE_OFFSET, true);
    let sessionOffset = -1;
    if (target === Target.SUBSCRIBER && (type === HDR_TYPE_DATA || type === HDR_TYPE_PAD)) {
      if (view.getInt32(offset + DATA_STREAM_ID_OFFSET, true) === streamId) sessionOffset = offset + DATA_SESSION_ID_OFFSET;
    } else if (target === Target.PUBLISHER && type === HDR_TYPE_SM) {
      if (view.getInt32(offset + SM_STREAM_ID_OFFSET, true) === streamId) sessionOffset = offset + SM_SESSION_ID_OFFSET;
    }
    if (sessionOffset >= 0 && view.getInt32(sessionOffset, true) === sessionId) {
      found++;
      // Any other value would do; a fixed xor keeps it deterministic and never equal.
      if (rewrite) view.setInt32(sessionOffset, sessionId ^ 0x5a5a0001, true);
    }
    offset += frameExtent(frameLength, end - offset);
  }
  return found;
}

// ================================================================ the generator

/** The generator's only source of randomness (src/sim/prng.ts's Prng fits). */
export interface HostileRandom {
  nextUint32(): number;
  intBelow(n: number): number;
}

/** What the generator knows of the live stream, refreshed by its driver as the stream moves. */
export interface LiveContext {
  sessionId: number;
  streamId: number;
  initialTermId: number;
  termLength: number;
  /** The term the publisher is sending in now. */
  activeTermId: number;
  /** Where the publisher is in that term. */
  termOffset: number;
}

/** How a datagram was made: for statistics and failure reports. */
export const HostileKind = {
  GENERATED: 0,
  ATTACK: 1,
  MUTATED: 2,
  REPLAY: 3,
  RANDOM_BYTES: 4,
} as const;
export const HOSTILE_KIND_NAMES = ["generated", "attack", "mutated", "replay", "random bytes"] as const;

/** Real datagrams captured from the live stream, in a fixed ring of slots (no allocation per capture). */
export class CaptureRing {
  readonly bytes: Uint8Array;
  readonly lengths: Int32Array;
  /** Which engine each capture was addressed to (a Target). */
  readonly targets: Uint8Array;
  count = 0;
  private next = 0;
  constructor(readonly slots = 64, readonly slotLength = 2048) {
    this.bytes = new Uint8Array(slots * slotLength);
    this.lengths = new Int32Array(slots);
    this.targets = new Uint8Array(slots);
  }

  capture(source: Uint8Array, offset: number, length: number, target: Target): void {
    if (length > this.slotLength) return;
    const slot = this.next;
    this.bytes.set(source.subarray(offset, offset + length), slot * this.slotLength);
    this.lengths[slot] = length;
    this.targets[slot] = target;
    this.next = (slot + 1) % this.slots;
    if (this.count < this.slots) this.count++;
  }
}

/** Edge values for 32-bit fields. */
const EDGE_I32 = [0, 1, -1, 0x7fffffff, -0x80000000, 0x40000000, 32, 64, 1408, 0xffff, 0x10000, -32, 0x7fffffe0, 65504, 65505];
/** Edge values for term lengths and MTUs in SETUP: valid extremes, near misses, huge. */
const EDGE_TERM_LENGTH = [65536, 1 << 30, 1 << 29, 1 << 24, 32768, 65535, (1 << 30) + 1, 0x7fffffff, -0x80000000, 0, -1, 3 << 20];
const EDGE_MTU = [1408, 64, 65504, 32, 8192, 65536, 0, -1, 0x7fffffff, 63, 65505];
/** Frame types: all Aeron defines (incl. ATS and EXT) and some it does not. */
const FRAME_TYPES = [HDR_TYPE_PAD, HDR_TYPE_DATA, HDR_TYPE_NAK, HDR_TYPE_SM, HDR_TYPE_ERR, HDR_TYPE_SETUP, HDR_TYPE_RTTM, HDR_TYPE_RES,
  0x08, 0x09, 0x0a, HDR_TYPE_RSP_SETUP, 0x0c, 0x7fff, 0x8000, 0xfffe, 0xffff];

export interface HostileStats {
  readonly byKind: Float64Array;
  /** Datagrams whose live-session frames were rewritten to keep the rule. */
  defused: number;
}

/**
 * Writes one hostile datagram at a time into `scratch` (64 KiB). `next()` returns its length; the
 * target it was made for is `target`. Deterministic: same random source, same datagrams.
 */
export class HostileGenerator {
  readonly scratch = new Uint8Array(65536);
  readonly view = new DataView(this.scratch.buffer);
  target: Target = Target.SUBSCRIBER;
  kind = 0;
  readonly stats: HostileStats = { byKind: new Float64Array(5), defused: 0 };
  /** Sessions the generator's own SETUPs announce, reused by its DATA frames so that hostile images fill. */
  private readonly hostileSessions = new Int32Array(8);

  constructor(private readonly random: HostileRandom, readonly live: LiveContext, readonly captures: CaptureRing) {
    for (let i = 0; i < this.hostileSessions.length; i++) this.hostileSessions[i] = random.nextUint32() | 0;
  }

  /**
   * Makes the next datagram for `target`. `fromPeer`: it will be sent from the live peer's own
   * address, and `pinned`: the live stream is source-pinned. Live-session frames survive only when
   * sent from a third party to a pinned stream; otherwise they are defused (see spoofsLiveSession).
   */
  next(target: Target, fromPeer: boolean, pinned: boolean): number {
    this.target = target;
    const r = this.random;
    const roll = r.intBelow(100);
    let length: number;
    if (roll < 40) length = this.generated();
    else if (roll < 50) length = this.attack();
    else if (roll < 80 && this.captures.count > 0) length = this.mutated();
    else if (roll < 90 && this.captures.count > 0) length = this.replay();
    else length = this.randomBytes();
    this.stats.byKind[this.kind]! += 1;
    // An exact replay from the real peer is a network duplicate, which the protocol must absorb;
    // everything else with a live-session frame is a spoof unless pinning turns it away.
    const exactReplay = this.kind === HostileKind.REPLAY && fromPeer;
    if (!exactReplay && (fromPeer || !pinned)) {
      if (defuseLiveSession(this.view, 0, length, target, this.live.sessionId, this.live.streamId) > 0) this.stats.defused++;
    }
    return length;
  }

  // ---------------------------------------------------------------- value pools

  private i32(): number {
    const r = this.random;
    const roll = r.intBelow(8);
    if (roll < 3) return EDGE_I32[r.intBelow(EDGE_I32.length)]!;
    if (roll < 4) return (r.nextUint32() | 0);
    if (roll < 6) return (r.intBelow(4096) - 2048) | 0;
    return (r.intBelow(1 << 20) << 5) | 0;
  }

  private sessionId(): number {
    const r = this.random;
    const roll = r.intBelow(10);
    if (roll < 4) return this.live.sessionId;
    if (roll < 8) return this.hostileSessions[r.intBelow(this.hostileSessions.length)]!;
    return this.i32();
  }

  private streamId(): number {
    return this.random.intBelow(4) < 3 ? this.live.streamId : this.i32();
  }

  private termId(): number {
    const r = this.random;
    const live = this.live;
    switch (r.intBelow(6)) {
      case 0:
      case 1:
        return (live.activeTermId + r.intBelow(5) - 2) | 0;
      case 2:
        return live.initialTermId;
      case 3:
        return (live.activeTermId + 0x40000000) | 0;
      case 4:
        return (live.activeTermId - 0x7fffffff) | 0;
      default:
        return this.i32();
    }
  }

  private termOffset(): number {
    const r = this.random;
    const live = this.live;
    switch (r.intBelow(6)) {
      case 0:
        return live.termOffset & ~31;
      case 1:
        return (live.termOffset + 32 * (r.intBelow(64) - 32)) & ~31;
      case 2:
        return live.termLength - 32 * (1 + r.intBelow(4));
      case 3:
        return live.termLength;
      case 4:
        return (1 << 30) - 64;
      default:
        return this.i32();
    }
  }

  private flags(): number {
    const r = this.random;
    const roll = r.intBelow(6);
    if (roll === 0) return 0x80; // RTTM request, SM SEND_SETUP, SETUP SEND_RESPONSE, DATA BEGIN
    if (roll === 1) return 0xc0 | EOS_FLAG;
    if (roll === 2) return 0xc0;
    if (roll === 3) return EOS_FLAG;
    return r.intBelow(256);
  }

  // ---------------------------------------------------------------- kinds

  /** One to four generated frames, of any type, packed as the walker lays them out (32-byte aligned). */
  private generated(): number {
    this.kind = HostileKind.GENERATED;
    const r = this.random;
    const frames = 1 + r.intBelow(4);
    let offset = 0;
    for (let f = 0; f < frames && offset < 60000; f++) offset += this.frame(offset);
    // Truncate now and then: a datagram cut anywhere, even inside a header.
    if (r.intBelow(8) === 0 && offset > 1) offset = 1 + r.intBelow(offset - 1);
    return offset;
  }

  /** Writes one frame at `offset`; returns the bytes it occupies (32-aligned). */
  private frame(offset: number): number {
    const r = this.random;
    const view = this.view;
    const type = r.intBelow(10) === 0 ? FRAME_TYPES[r.intBelow(FRAME_TYPES.length)]! : this.typicalType();
    switch (type) {
      case HDR_TYPE_DATA:
      case HDR_TYPE_PAD: {
        const payload = r.intBelow(4) === 0 ? 0 : r.intBelow(3) === 0 ? r.intBelow(1500) : r.intBelow(96);
        let frameLength = 32 + payload;
        const lengthRoll = r.intBelow(12);
        if (lengthRoll === 0) frameLength = 0; // heartbeat
        else if (lengthRoll === 1) frameLength = this.i32();
        else if (lengthRoll === 2) frameLength = this.live.termLength;
        const sessionId = type === HDR_TYPE_DATA && r.intBelow(3) === 0 ? this.hostileSessions[r.intBelow(8)]! : this.sessionId();
        writeRawData(view, offset, type, frameLength, this.flags(), this.termOffset(), sessionId, this.streamId(), this.termId(),
          this.i32(), this.i32());
        const body = Math.min(payload, 65536 - offset - 32);
        this.randomFill(offset + 32, body);
        return (32 + body + 31) & ~31;
      }
      case HDR_TYPE_SETUP: {
        const sessionId = r.intBelow(2) === 0 ? this.hostileSessions[r.intBelow(8)]! : this.sessionId();
        const termLength = r.intBelow(3) === 0 ? this.live.termLength : EDGE_TERM_LENGTH[r.intBelow(EDGE_TERM_LENGTH.length)]!;
        const initialTermId = this.termId();
        const activeRoll = r.intBelow(4);
        const activeTermId = activeRoll === 0 ? initialTermId : activeRoll === 1 ? (initialTermId + r.intBelow(8)) | 0 : this.termId();
        const termOffsetRoll = r.intBelow(4);
        const termOffset = termOffsetRoll === 0 ? 0 : termOffsetRoll === 1 ? termLength - 64 : this.termOffset();
        writeRawSetup(view, offset, this.flags(), termOffset, sessionId, this.streamId(), initialTermId, activeTermId, termLength,
          EDGE_MTU[r.intBelow(EDGE_MTU.length)]!, this.i32());
        return 64;
      }
      case HDR_TYPE_SM: {
        const withTag = r.intBelow(4) === 0;
        writeRawSm(view, offset, this.flags(), this.sessionId(), this.streamId(), this.termId(), this.termOffset(), this.i32(),
          this.i32(), this.i32(), withTag ? 44 : 36, this.i32(), this.i32());
        return 64;
      }
      case HDR_TYPE_NAK:
        writeRawNak(view, offset, this.flags(), this.sessionId(), this.streamId(), this.termId(), this.termOffset(),
          r.intBelow(2) === 0 ? this.live.termLength - this.termOffset() : this.i32());
        return 32;
      case HDR_TYPE_RTTM: {
        const [echoLo, echoHi] = this.i64();
        const [deltaLo, deltaHi] = this.i64();
        writeRawRttm(view, offset, r.intBelow(2) === 0 ? 0x80 : this.flags(), this.sessionId(), this.streamId(), echoLo, echoHi,
          deltaLo, deltaHi, this.i32(), this.i32());
        return 64;
      }
      case HDR_TYPE_ERR: {
        const errorLength = r.intBelow(3) === 0 ? this.i32() : r.intBelow(1100);
        const frameLength = r.intBelow(3) === 0 ? this.i32() : 40 + Math.max(0, Math.min(errorLength, 1100));
        writeRawErr(view, offset, frameLength, this.flags(), this.sessionId(), this.streamId(), this.i32(), errorLength);
        const text = Math.min(Math.max(0, frameLength - 40), 1100, 65536 - offset - 40);
        for (let i = 0; i < text; i++) this.scratch[offset + 40 + i] = 0x41 + r.intBelow(26);
        return (40 + Math.max(text, 0) + 31) & ~31;
      }
      case HDR_TYPE_RES: {
        // A header and a few entries of random bytes with a plausible or hostile length.
        const body = r.intBelow(8) * 8;
        writeRawHeader(view, offset, r.intBelow(3) === 0 ? this.i32() : 8 + body, 0, this.flags(), HDR_TYPE_RES);
        for (let i = 0; i < body; i++) this.scratch[offset + 8 + i] = r.intBelow(4) === 0 ? r.intBelow(256) : r.intBelow(3);
        return (8 + body + 31) & ~31;
      }
      case HDR_TYPE_RSP_SETUP:
        writeRawRspSetup(view, offset, this.flags(), this.sessionId(), this.streamId(), this.i32());
        return 32;
      default: {
        // Types Petrel does not speak (ATS, EXT) or Aeron does not define, with a plausible length.
        const frameLength = r.intBelow(2) === 0 ? 32 : this.i32();
        writeRawHeader(view, offset, frameLength, r.intBelow(8) === 0 ? r.intBelow(256) : 0, this.flags(), type);
        for (let i = 8; i < 32; i++) this.scratch[offset + i] = r.intBelow(256);
        return 32;
      }
    }
  }

  private typicalType(): number {
    const target = this.target;
    const r = this.random;
    // Mostly frames the target engine acts on, some it must simply ignore.
    if (target === Target.SUBSCRIBER) {
      const roll = r.intBelow(10);
      return roll < 4 ? HDR_TYPE_DATA : roll < 6 ? HDR_TYPE_SETUP : roll < 7 ? HDR_TYPE_PAD : roll < 8 ? HDR_TYPE_RTTM
        : FRAME_TYPES[r.intBelow(FRAME_TYPES.length)]!;
    }
    const roll = r.intBelow(10);
    return roll < 4 ? HDR_TYPE_SM : roll < 7 ? HDR_TYPE_NAK : roll < 9 ? HDR_TYPE_RTTM : FRAME_TYPES[r.intBelow(FRAME_TYPES.length)]!;
  }

  private readonly halves: [number, number] = [0, 0];

  /** A 64-bit value as (lo, hi): edge values (outside +-2^53 too) or random. Reuses one pair. */
  private i64(): [number, number] {
    const r = this.random;
    const out = this.halves;
    const roll = r.intBelow(4);
    if (roll === 0) {
      const edge = UNSAFE_I64_HALVES[r.intBelow(UNSAFE_I64_HALVES.length)]!;
      out[0] = edge[0];
      out[1] = edge[1];
    } else if (roll === 1) {
      out[0] = r.nextUint32() | 0;
      out[1] = r.nextUint32() | 0;
    } else {
      out[0] = this.i32();
      out[1] = r.intBelow(2) === 0 ? 0 : -1;
    }
    return out;
  }

  /** One of the attacks, with the live ids where the attack needs them. */
  private attack(): number {
    this.kind = HostileKind.ATTACK;
    const r = this.random;
    const view = this.view;
    const live = this.live;
    const scratch = this.scratch;
    if (this.target === Target.PUBLISHER) {
      switch (r.intBelow(3)) {
        case 0: {
          const edge = UNSAFE_I64_HALVES[r.intBelow(UNSAFE_I64_HALVES.length)]!;
          writeRawRttm(view, 0, 0x80, live.sessionId, live.streamId, edge[0], edge[1], 0, 0, 0x1234, 0x5678);
          return 40;
        }
        case 1: {
          const termOffset = r.intBelow(2) === 0 ? 0 : live.termOffset & ~31;
          const termId = r.intBelow(2) === 0 ? live.activeTermId : (live.activeTermId - 1) | 0;
          writeRawNak(view, 0, 0, live.sessionId, live.streamId, termId, termOffset, live.termLength - termOffset);
          return 28;
        }
        default:
          writeRawSm(view, 0, 0, live.sessionId, live.streamId, live.activeTermId, live.termOffset & ~31, 0x7fffffff, 0x0bad, 0xf00d);
          return 36;
      }
    }
    switch (r.intBelow(4)) {
      case 0: {
        // Attack 2/3 in one datagram: the SETUP, then the DATA frame that fills its last 64 bytes.
        const sessionId = this.hostileSessions[r.intBelow(8)]!;
        const termLength = r.intBelow(2) === 0 ? 1 << 30 : 1 << (16 + r.intBelow(15));
        const initialTermId = r.nextUint32() | 0;
        writeRawSetup(view, 0, 0, termLength - 64, sessionId, live.streamId, initialTermId, initialTermId, termLength, 1408, 0);
        writeRawData(view, 64, HDR_TYPE_DATA, 64, UNFRAGMENTED, termLength - 64, sessionId, live.streamId, initialTermId);
        scratch.fill(0xa5, 96, 128);
        return 128;
      }
      case 1: {
        // Attack 2's DATA frame alone (its SETUP came earlier, or comes later).
        const sessionId = this.hostileSessions[r.intBelow(8)]!;
        const termLength = 1 << 30;
        writeRawData(view, 0, HDR_TYPE_DATA, 64, UNFRAGMENTED, termLength - 64, sessionId, live.streamId, r.nextUint32() | 0);
        scratch.fill(0xa5, 32, 64);
        return 64;
      }
      case 2: {
        // Spoofed forged message for the live session, just ahead of the stream.
        writeRawData(view, 0, HDR_TYPE_DATA, 64, UNFRAGMENTED, (live.termOffset & ~31) + 32 * r.intBelow(8), live.sessionId, live.streamId,
          live.activeTermId);
        scratch.fill(0xee, 32, 64);
        return 64;
      }
      default:
        writeRawData(view, 0, HDR_TYPE_DATA, 0, UNFRAGMENTED | EOS_FLAG, live.termOffset & ~31, live.sessionId, live.streamId,
          live.activeTermId);
        return 32;
    }
  }

  /** Picks a capture addressed to this target when there is one (so that mutations hit live state). */
  private pickCapture(): number {
    const captures = this.captures;
    const r = this.random;
    for (let tries = 0; tries < 4; tries++) {
      const slot = r.intBelow(captures.count);
      if (captures.targets[slot] === this.target) return slot;
    }
    return r.intBelow(captures.count);
  }

  private replay(): number {
    this.kind = HostileKind.REPLAY;
    const captures = this.captures;
    const slot = this.pickCapture();
    const length = captures.lengths[slot]!;
    this.scratch.set(captures.bytes.subarray(slot * captures.slotLength, slot * captures.slotLength + length), 0);
    return length;
  }

  /** A real datagram with truncations, bit flips, field substitutions or frames appended. */
  private mutated(): number {
    let length = this.replay();
    this.kind = HostileKind.MUTATED;
    const r = this.random;
    const view = this.view;
    const mutations = 1 + r.intBelow(3);
    for (let m = 0; m < mutations; m++) {
      switch (r.intBelow(6)) {
        case 0:
          if (length > 1) length = 1 + r.intBelow(length - 1);
          break;
        case 1: {
          const flips = 1 + r.intBelow(4);
          for (let i = 0; i < flips; i++) {
            const at = r.intBelow(length);
            this.scratch[at]! ^= 1 << r.intBelow(8);
          }
          break;
        }
        case 2:
        case 3: {
          // Substitute an edge value into a 32-bit field of the first frame (or of a later one).
          const frameStart = r.intBelow(2) === 0 ? 0 : 32 * r.intBelow(Math.max(1, length >> 5));
          const field = frameStart + 4 * r.intBelow(10);
          if (field + 4 <= length) view.setInt32(field, this.i32(), true);
          break;
        }
        case 4:
          // The flags byte: EOS, RTTM's 0x80, SEND_SETUP.
          if (length > 5) view.setUint8(5, this.flags());
          break;
        default: {
          // Append a generated frame, aligned, if it fits.
          const at = (length + 31) & ~31;
          if (at < 60000) {
            this.scratch.fill(0, length, at);
            length = at + this.frame(at);
          }
          break;
        }
      }
    }
    return length;
  }

  private randomBytes(): number {
    this.kind = HostileKind.RANDOM_BYTES;
    const r = this.random;
    const length = r.intBelow(8) === 0 ? r.intBelow(8) : 1 + r.intBelow(200);
    this.randomFill(0, length);
    return length;
  }

  /** Random bytes at [offset, offset + length), four per draw. */
  private randomFill(offset: number, length: number): void {
    const r = this.random;
    const scratch = this.scratch;
    for (let i = 0; i < length; i += 4) {
      const word = r.nextUint32();
      const end = Math.min(4, length - i);
      for (let k = 0; k < end; k++) scratch[offset + i + k] = (word >>> (8 * k)) & 255;
    }
  }
}

/** Hex of the first `max` bytes (for failure reports). */
export function hex(bytes: Uint8Array, offset: number, length: number, max = 256): string {
  let out = "";
  const end = offset + Math.min(length, max);
  for (let i = offset; i < end; i++) out += bytes[i]!.toString(16).padStart(2, "0");
  return length > max ? `${out}... (${length} bytes)` : out;
}

// ================================================================ known-attack signatures (diagnostics)

/**
 * The attack a datagram carries, judged on its bytes: 1 (an RTTM request whose echo
 * timestamp is outside +-2^53), 2 (a SETUP with a term over 1 MiB: the memory attacks 2 and 3, which clean or commit whole terms),
 * or 0. Only for PETREL_HOSTILE_EXCLUDE, a diagnostic switch that leaves known attacks out of a
 * fuzz run so that it can look past them on a branch where they are not fixed yet.
 */
export function knownAttackOf(view: DataView, start: number, length: number): number {
  const frames = checkDatagram(view, start, length);
  if (frames <= 0) return 0;
  const end = start + length;
  let offset = start;
  for (let i = 0; i < frames; i++) {
    const frameLength = view.getInt32(offset + FRAME_LENGTH_OFFSET, true);
    const type = view.getUint16(offset + TYPE_OFFSET, true);
    if (type === HDR_TYPE_RTTM && (view.getUint8(offset + 5) & 0x80) !== 0) {
      const hi = view.getInt32(offset + 20, true);
      // Safe integers have hi in [-2^21, 2^21): anything else is at or beyond +-2^53.
      if (hi >= 0x200000 || hi < -0x200000) return 1;
    }
    if (type === HDR_TYPE_SETUP && view.getInt32(offset + 28, true) > 1 << 20) return 2;
    offset += frameExtent(frameLength, end - offset);
  }
  return 0;
}
