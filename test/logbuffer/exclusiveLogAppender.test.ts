// Goal: the publication-level appender turns term appends into stream positions, rotates through
// the three partitions on a trip (ADMIN_ACTION, next term at offset 0, the partition after it
// cleaned so no old frame reappears), counts term ids through the int32 wrap, refuses messages
// above maxMessageLength with a typed error, and stops at the largest position with
// MAX_POSITION_EXCEEDED.
import { describe, expect, it } from "vitest";
import { frameLength, frameType, HDR_TYPE_PAD } from "../../src/core/protocol/frameHeader.js";
import { DATA_TERM_ID_OFFSET } from "../../src/core/protocol/dataHeader.js";
import { LogBuffers } from "../../src/core/logbuffer/logBuffers.js";
import { LogBufferConfigError } from "../../src/core/logbuffer/logBufferDescriptor.js";
import { BufferClaim } from "../../src/core/logbuffer/termAppender.js";
import { ADMIN_ACTION, ExclusiveLogAppender, MAX_POSITION_EXCEEDED } from "../../src/core/logbuffer/exclusiveLogAppender.js";

const TERM = 64 * 1024;
const INT32_MAX = 0x7fffffff;
const INT32_MIN = -0x80000000;

function make(initialTermId = 0, extra: { activeTermId?: number; termOffset?: number } = {}, log = LogBuffers.allocate(TERM)) {
  return new ExclusiveLogAppender(log, { initialTermId, sessionId: 1, streamId: 2, mtuLength: 1408, ...extra });
}

describe("ExclusiveLogAppender", () => {
  it("returns the position after each message", () => {
    const appender = make();
    const message = new Uint8Array(100);
    expect(appender.append(message, 0, 0)).toBe(32);
    expect(appender.append(message, 0, 1)).toBe(96);
    expect(appender.append(message, 0, 100)).toBe(96 + 160);
    expect(appender.append(new Uint8Array(3000), 0, 3000)).toBe(256 + 1408 * 2 + 288);
    expect(appender.position).toBe(256 + 1408 * 2 + 288);
  });

  it("rotates through the partitions across the int32 term id wrap, cleaning ahead", () => {
    const log = LogBuffers.allocate(TERM);
    // Dirty every partition as a reused buffer would be.
    for (const term of log.terms) term.bytes.fill(0xee);
    const appender = make(INT32_MAX, {}, log);
    expect(log.term(1).bytes.every((b) => b === 0)).toBe(true);
    const message = new Uint8Array(7000);
    const positions: number[] = [];
    const termIds: number[] = [INT32_MAX];
    for (let i = 0; i < 40; i++) {
      let result = appender.append(message, 0, message.length);
      if (result === ADMIN_ACTION) {
        termIds.push(appender.activeTermId);
        expect(appender.termOffset).toBe(0);
        // The partition the log will rotate into next is clean already.
        const next = log.term((appender.activePartitionIndex + 1) % 3);
        expect(next.bytes.every((b) => b === 0)).toBe(true);
        result = appender.append(message, 0, message.length);
      }
      expect(result).toBeGreaterThan(0);
      positions.push(result);
    }
    expect(termIds.slice(0, 4)).toEqual([INT32_MAX, INT32_MIN, INT32_MIN + 1, INT32_MIN + 2]);
    // 7000 bytes are five full 1408-byte fragments and one of 152 (aligned 160): 7200 per message.
    // Nine fit in a term (64800), then 736 bytes of padding.
    expect(positions[8]).toBe(9 * 7200);
    expect(positions[9]).toBe(TERM + 7200);
    const padTerm = log.term(0);
    expect(frameType(padTerm.view, 9 * 7200)).toBe(HDR_TYPE_PAD);
    expect(frameLength(padTerm.view, 9 * 7200)).toBe(TERM - 9 * 7200);
    expect(log.term(1).view.getInt32(DATA_TERM_ID_OFFSET, true)).toBe(INT32_MIN + 3);
  });

  it("starts mid-stream at a given term and offset", () => {
    const appender = make(-5, { activeTermId: -3, termOffset: 4096 });
    expect(appender.position).toBe(2 * TERM + 4096);
    expect(appender.activePartitionIndex).toBe(2);
    expect(appender.append(new Uint8Array(1), 0, 1)).toBe(2 * TERM + 4096 + 64);
    expect(() => make(0, { termOffset: 33 })).toThrow(LogBufferConfigError);
    expect(() => make(0, { activeTermId: -1 })).toThrow(LogBufferConfigError);
  });

  it("rejects a message above maxMessageLength and a claim above maxPayloadLength", () => {
    const appender = make();
    expect(appender.maxMessageLength).toBe(8192);
    expect(() => appender.append(new Uint8Array(8193), 0, 8193)).toThrow(/message length = 8193 is invalid/);
    expect(appender.append(new Uint8Array(8192), 0, 8192)).toBeGreaterThan(0);
    expect(() => appender.tryClaim(1377, new BufferClaim())).toThrow(LogBufferConfigError);
  });

  it("claims through rotation", () => {
    const appender = make(0, { termOffset: TERM - 64 });
    const claim = new BufferClaim();
    expect(appender.tryClaim(100, claim)).toBe(ADMIN_ACTION);
    expect(claim.isOpen).toBe(false);
    expect(appender.tryClaim(100, claim)).toBe(TERM + 160);
    claim.commit();
    expect(appender.position).toBe(TERM + 160);
  });

  it("reports MAX_POSITION_EXCEEDED at the end of the last term, and keeps reporting it", () => {
    const appender = make(0, { activeTermId: INT32_MAX, termOffset: TERM - 64 });
    expect(appender.position).toBe(INT32_MAX * TERM + TERM - 64);
    expect(appender.append(new Uint8Array(10), 0, 10)).toBe((INT32_MAX + 1) * TERM);
    expect(appender.append(new Uint8Array(10), 0, 10)).toBe(MAX_POSITION_EXCEEDED);
    expect(appender.append(new Uint8Array(0), 0, 0)).toBe(MAX_POSITION_EXCEEDED);
    expect(appender.activeTermId).toBe(INT32_MAX);
    expect(appender.position).toBe(appender.maxPossiblePosition);
  });
});
