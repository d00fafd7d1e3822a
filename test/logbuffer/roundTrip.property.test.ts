// Goal: THE end-to-end property of the log buffers. Any sequence of messages (0 bytes up to
// several MTUs), appended by the publication-level appender over several terms and rotations
// (64 KiB terms, initial term ids at and near the int32 limits, a random MTU and start position),
// cut into datagrams by the term scanner as a sender would (whole frames, up to an MTU each,
// several frames per datagram), delivered shuffled and with duplicates (fresh and stale) into a
// receiver's log of the same geometry (rebuilder, rebuild position advanced with the gap scanner,
// read with the term reader and the fragment assembler), reads back as the same messages, in
// order, byte for byte, at the same positions the publisher returned; and at the end the
// publisher, sender, rebuild, high-water-mark and subscriber positions all agree.
//
// Flow control is modelled the simple way: the publisher never runs more than one term ahead of
// the subscriber, so no partition is reused while someone still needs it. Half the runs put both
// logs over SharedArrayBuffers, so that the Atomics path of the commit word is covered too.
import { expect } from "vitest";
import { fc, test } from "@fast-check/vitest";
import { align, FRAME_ALIGNMENT, HDR_TYPE_PAD } from "../../src/core/protocol/frameHeader.js";
import { DATA_HEADER_LENGTH } from "../../src/core/protocol/dataHeader.js";
import {
  computePosition,
  computeTermBeginPosition,
  computeTermIdFromPosition,
  computeTermOffsetFromPosition,
  indexByPosition,
  indexByTerm,
  maxMessageLength,
  positionBitsToShift,
} from "../../src/core/logbuffer/logBufferDescriptor.js";
import { LogBuffers } from "../../src/core/logbuffer/logBuffers.js";
import { ADMIN_ACTION, ExclusiveLogAppender } from "../../src/core/logbuffer/exclusiveLogAppender.js";
import { scanAvailable, scanForAvailability, scanPadding } from "../../src/core/logbuffer/termScanner.js";
import { TermRebuilder } from "../../src/core/logbuffer/termRebuilder.js";
import { scanForGap, type GapHandler } from "../../src/core/logbuffer/termGapScanner.js";
import { readOffset, TermReader, type FragmentHandler } from "../../src/core/logbuffer/termReader.js";
import { FragmentAssembler } from "../../src/core/logbuffer/fragmentAssembler.js";
import type { FragmentHeader } from "../../src/core/logbuffer/fragmentHeader.js";
import { messageBytes } from "./support.js";

const TERM = 64 * 1024;
const BITS = positionBitsToShift(TERM);
const INT32_MAX = 0x7fffffff;
const INT32_MIN = -0x80000000;

/** The test's own deterministic generator (mulberry32), seeded by fast-check. */
class Prng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  }
  below(n: number): number {
    return Math.floor(this.next() * n);
  }
}

class Delivered implements FragmentHandler {
  readonly messages: Uint8Array[] = [];
  readonly positions: number[] = [];
  onFragment(buffer: Uint8Array, offset: number, length: number, header: FragmentHeader): void {
    this.messages.push(buffer.slice(offset, offset + length));
    this.positions.push(header.position);
  }
}

/** Records the gap reported by one scan, to check it against the scan's result. */
class GapCheck implements GapHandler {
  termId = 0;
  termOffset = -1;
  length = 0;
  onGap(termId: number, termOffset: number, length: number): void {
    expect(this.termOffset).toBe(-1); // one report per scan at most
    this.termId = termId;
    this.termOffset = termOffset;
    this.length = length;
  }
}

const initialTermIdArb = fc.oneof(
  fc.constantFrom(INT32_MAX, INT32_MIN, INT32_MAX - 1, INT32_MIN + 1, INT32_MAX - 3, -1, 0),
  fc.integer({ min: INT32_MIN, max: INT32_MAX }),
);
const mtuArb = fc.oneof(fc.integer({ min: 2, max: 96 }).map((k) => k * 32), fc.constantFrom(1408, 8192, 65504));

test.prop(
  [
    initialTermIdArb,
    fc.integer({ min: 0, max: 4 }), // terms between initialTermId and the starting term
    fc.integer({ min: 0, max: TERM / 32 - 1 }).map((k) => k * 32), // starting term offset
    mtuArb,
    // Message sizes: unbiased, and arrays up to their full length, so that runs span many terms.
    fc.array(fc.tuple(fc.noBias(fc.nat({ max: 0xffff })), fc.boolean()), { minLength: 1, maxLength: 400, size: "max" }),
    fc.integer(), // seed for contents and the network
    fc.integer({ min: 0, max: 60 }), // % of deliveries that keep the datagram for a duplicate
    fc.boolean(), // logs over SharedArrayBuffers (Atomics on the commit word) or plain ArrayBuffers
  ],
  { numRuns: 200 },
)("messages survive scanner -> shuffled, duplicated datagrams -> rebuilder -> reader -> assembler", (initialTermId, startTerms, startOffset, mtu, sizes, seed, duplicatePercent, shared) => {
  const random = new Prng(seed);
  const maxLength = Math.min(maxMessageLength(TERM), 4 * mtu);
  const lengths = sizes.map(([raw, small]) => (small ? raw % 100 : raw % (maxLength + 1)));
  const messages = lengths.map((length, i) => messageBytes(seed, i, length));

  // Publisher.
  const activeTermId = (initialTermId + startTerms) | 0;
  const publisherLog = LogBuffers.allocate(TERM, shared);
  const publisher = new ExclusiveLogAppender(publisherLog, {
    initialTermId,
    activeTermId,
    termOffset: startOffset,
    sessionId: 0x1234_5678,
    streamId: 1001,
    mtuLength: mtu,
  });
  const startPosition = computePosition(activeTermId, startOffset, BITS, initialTermId);
  expect(publisher.position).toBe(startPosition);
  const publishedPositions: number[] = [];

  // Sender and network.
  let senderPosition = startPosition;
  const inFlight: Uint8Array[] = [];
  const sent: Uint8Array[] = [];

  // Receiver.
  const receiverLog = LogBuffers.allocate(TERM, shared);
  const rebuilder = new TermRebuilder();
  const gapCheck = new GapCheck();
  let rebuildPosition = startPosition;
  let hwmPosition = startPosition;
  let subscriberPosition = startPosition;
  const delivered = new Delivered();
  const assembler = new FragmentAssembler(delivered, 64);
  const reader = new TermReader(initialTermId, BITS, receiverLog.term(0));

  function sendOne(): boolean {
    if (senderPosition >= publisher.position) return false;
    const term = publisherLog.term(indexByPosition(senderPosition, BITS));
    const termOffset = computeTermOffsetFromPosition(senderPosition, BITS);
    const result = scanForAvailability(term, termOffset, mtu);
    const available = scanAvailable(result);
    const padding = scanPadding(result);
    if (available <= 0 || available > mtu) expect.fail(`scanned ${available} bytes with an MTU of ${mtu}`);
    const datagram = term.bytes.slice(termOffset, termOffset + available);
    inFlight.push(datagram);
    sent.push(datagram);
    senderPosition += available + padding;
    return true;
  }

  function advanceRebuild(): void {
    // Bounded: each pass either finishes a term (at most the terms between rebuild and HWM) or stops.
    for (let pass = 0; pass < 8 && rebuildPosition < hwmPosition; pass++) {
      const termId = computeTermIdFromPosition(rebuildPosition, BITS, initialTermId);
      const termBegin = computeTermBeginPosition(termId, BITS, initialTermId);
      const termOffset = rebuildPosition - termBegin;
      const limitOffset = Math.min(hwmPosition - termBegin, TERM);
      const term = receiverLog.term(indexByTerm(initialTermId, termId));
      gapCheck.termOffset = -1;
      const reached = scanForGap(term, termId, termOffset, limitOffset, gapCheck);
      if (reached < limitOffset) {
        // A gap: it starts where the rebuild stopped, is empty, and ends at the limit or a frame.
        expect(gapCheck.termId).toBe(termId);
        expect(gapCheck.termOffset).toBe(reached);
        expect(gapCheck.length).toBeGreaterThan(0);
        const gapEnd = reached + gapCheck.length;
        expect(gapEnd <= limitOffset).toBe(true);
        for (let slot = reached; slot < gapEnd; slot += FRAME_ALIGNMENT) {
          if (term.words[slot >> 2] !== 0) expect.fail(`gap [${reached}, ${gapEnd}) holds a frame at ${slot}`);
        }
        if (gapEnd < limitOffset) expect(term.view.getInt32(gapEnd, true)).toBeGreaterThan(0);
      } else {
        expect(gapCheck.termOffset).toBe(-1);
      }
      rebuildPosition = termBegin + reached;
      if (reached < TERM) break;
    }
  }

  function receive(datagram: Uint8Array): void {
    const view = new DataView(datagram.buffer, datagram.byteOffset, datagram.byteLength);
    let offset = 0;
    while (offset < datagram.length) {
      const frameLength = view.getInt32(offset, true);
      const isPad = view.getUint16(offset + 6, true) === HDR_TYPE_PAD;
      const termOffset = view.getInt32(offset + 8, true);
      const termId = view.getInt32(offset + 20, true);
      const position = computePosition(termId, termOffset, BITS, initialTermId);
      const carried = isPad ? DATA_HEADER_LENGTH : frameLength;
      if (position >= rebuildPosition) {
        // The window: nothing may arrive for a partition the receiver has not cleaned.
        if (position - subscriberPosition >= TERM) expect.fail(`frame at ${position} is beyond the window of ${subscriberPosition}`);
        rebuilder.insert(receiverLog.term(indexByTerm(initialTermId, termId)), termOffset, datagram, offset, carried);
        hwmPosition = Math.max(hwmPosition, position + align(frameLength, FRAME_ALIGNMENT));
      }
      offset += align(carried, FRAME_ALIGNMENT);
    }
    advanceRebuild();
  }

  function deliverOne(): boolean {
    if (inFlight.length === 0) return false;
    // Now and then a stale duplicate of anything sent so far.
    if (random.below(100) < 5) receive(sent[random.below(sent.length)]!);
    const index = random.below(inFlight.length);
    const datagram = inFlight[index]!;
    if (random.below(100) >= duplicatePercent) {
      inFlight[index] = inFlight[inFlight.length - 1]!;
      inFlight.pop();
    }
    receive(datagram);
    return true;
  }

  function readSome(): void {
    // Bounded: a term is at most TERM / 32 frames, and the subscriber never passes the rebuild position.
    for (let pass = 0; pass < 4096; pass++) {
      const termBegin = subscriberPosition - computeTermOffsetFromPosition(subscriberPosition, BITS);
      const term = receiverLog.term(indexByPosition(subscriberPosition, BITS));
      const result = reader.read(term, subscriberPosition - termBegin, 1 + random.below(8), assembler);
      const next = termBegin + readOffset(result);
      if (next === subscriberPosition) return;
      subscriberPosition = next;
      if (subscriberPosition > rebuildPosition) expect.fail(`subscriber ${subscriberPosition} passed rebuild ${rebuildPosition}`);
      if (readOffset(result) === TERM) {
        // Entered the next term: clean the partition of the term before it (the one after next).
        receiverLog.term(indexByPosition(subscriberPosition + 2 * TERM, BITS)).clean();
      }
    }
  }

  function pumpAll(): void {
    for (let guard = 0; guard < 1_000_000; guard++) {
      const progressed = sendOne() || deliverOne();
      readSome();
      if (!progressed) return;
    }
    throw new Error("pump did not converge");
  }

  for (let i = 0; i < messages.length; i++) {
    const message = messages[i]!;
    // The furthest position this append can reach: after a pad to the term end, a whole message.
    const framed = lengths[i]! <= mtu - 32 ? align(lengths[i]! + 32, 32) : Math.ceil(lengths[i]! / (mtu - 32)) * mtu;
    const termEnd = publisher.termBeginPosition + TERM;
    const end = publisher.position + framed <= termEnd ? publisher.position + framed : termEnd + framed;
    if (end > subscriberPosition + TERM) pumpAll();
    expect(end).toBeLessThanOrEqual(subscriberPosition + TERM);

    let result = publisher.append(message, 0, message.length);
    if (result === ADMIN_ACTION) result = publisher.append(message, 0, message.length);
    expect(result).toBeGreaterThan(0);
    publishedPositions.push(result);

    // Some network activity between appends, as much or as little as chance gives.
    const sends = random.below(4);
    for (let s = 0; s < sends; s++) sendOne();
    const deliveries = random.below(4);
    for (let d = 0; d < deliveries; d++) deliverOne();
    if (random.below(3) === 0) readSome();
  }
  pumpAll();

  expect(delivered.messages.length).toBe(messages.length);
  for (let i = 0; i < messages.length; i++) {
    // A byte loop: toEqual on large typed arrays is slow enough to dominate the run.
    const got = delivered.messages[i]!;
    const want = messages[i]!;
    if (got.length !== want.length) expect.fail(`message ${i}: ${got.length} bytes delivered, ${want.length} sent`);
    for (let b = 0; b < want.length; b++) {
      if (got[b] !== want[b]) expect.fail(`message ${i} differs at byte ${b}: ${got[b]} delivered, ${want[b]} sent`);
    }
  }
  expect(delivered.positions).toEqual(publishedPositions);
  expect(senderPosition).toBe(publisher.position);
  expect(rebuildPosition).toBe(publisher.position);
  expect(hwmPosition).toBe(publisher.position);
  expect(subscriberPosition).toBe(publisher.position);
});
