// Goal: the test vectors of PROTOCOL.md section 12 decode to the documented field values and
// encode back from those values to the same bytes, byte for byte; and each vector really is a
// frame in test/fixtures (copies of the reference captures) (so the vectors themselves are checked against ground truth).
import { describe, expect, it } from "vitest";
import {
  BEGIN_FLAG,
  DataFrameFlyweight,
  DatagramWalker,
  END_FLAG,
  EOS_FLAG,
  HDR_TYPE_DATA,
  IgnoringFrameVisitor,
  NakFlyweight,
  RttmFlyweight,
  RTTM_REPLY_FLAG,
  SetupFrameFlyweight,
  SM_EOS_FLAG,
  StatusMessageFlyweight,
  UNFRAGMENTED,
  dataSessionId,
  dataTermOffset,
  i64HalvesToHex,
  isHeartbeat,
  viewOf,
  writeDataHeader,
  writeHeartbeat,
  writeNak,
  writeRttm,
  writeSetup,
  writeStatusMessage,
} from "../../src/core/protocol/index.js";
import { captureFiles, loadCapture } from "./captureSupport.js";

function hex(text: string): Uint8Array {
  return Uint8Array.from(Buffer.from(text.replace(/\s+/g, ""), "hex"));
}

function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("hex");
}

const SETUP = hex("28 00 00 00 00 00 05 00 00 00 00 00 7c 13 6b aa e9 03 00 00 ff 96 37 be ff 96 37 be 00 00 00 01 80 05 00 00 00 00 00 00");
const SM = hex("24 00 00 00 00 00 03 00 7c 13 6b aa e9 03 00 00 ff 96 37 be 00 00 00 00 00 00 02 00 57 1e 55 97 7f cb c5 9e");
const SM_EOS = hex("24 00 00 00 00 40 03 00 7d 13 6b aa ea 03 00 00 d0 3b 55 cf 80 66 06 00 00 00 02 00 57 1e 55 97 7f cb c5 9e");
const DATA = hex(
  "2e 00 00 00 00 c0 01 00 00 00 00 00 7c 13 6b aa e9 03 00 00 ff 96 37 be 00 00 00 00 00 00 00 00 48 65 6c 6c 6f 20 57 6f 72 6c 64 21 20 31",
);
const END_FRAGMENT_HEADER = hex("38 00 00 00 00 40 01 00 80 05 00 00 7d 13 6b aa ea 03 00 00 d0 3b 55 cf 00 00 00 00 00 00 00 00");
const HEARTBEAT = hex("00 00 00 00 00 c0 01 00 00 00 00 00 7c 13 6b aa e9 03 00 00 ff 96 37 be 00 00 00 00 00 00 00 00");
const EOS_HEARTBEAT = hex("00 00 00 00 00 e0 01 00 00 bd 06 00 7d 13 6b aa ea 03 00 00 d0 3b 55 cf 00 00 00 00 00 00 00 00");
const NAK = hex("1c 00 00 00 00 00 02 00 7d 13 6b aa ea 03 00 00 d0 3b 55 cf 80 22 00 00 c0 05 00 00");
const RTTM = hex("28 00 00 00 00 00 06 00 a3 46 09 80 e9 03 00 00 3d 9f 52 55 c9 01 00 00 00 00 00 00 00 00 00 00 27 a0 87 ee e3 72 48 c1");

const SESSION_A = 0xaa6b137c | 0;
const SESSION_B = 0xaa6b137d | 0;
const TERM_A = 0xbe3796ff | 0;
const TERM_B = 0xcf553bd0 | 0;
const RECEIVER_ID_LO = 0x97551e57 | 0;
const RECEIVER_ID_HI = 0x9ec5cb7f | 0;

function encode(length: number, write: (view: DataView) => void): Uint8Array {
  const out = new Uint8Array(length);
  write(viewOf(out));
  return out;
}

/** True when some captured frame starts with `vector` at a frame boundary. */
function inCaptures(vector: Uint8Array): boolean {
  const target = toHex(vector);
  let found = false;
  const walker = new DatagramWalker();
  const finder = new (class extends IgnoringFrameVisitor {
    private check(bytes: Uint8Array, frameOffset: number): void {
      if (!found && toHex(bytes.subarray(frameOffset, frameOffset + vector.length)) === target) found = true;
    }
    override onData(_v: DataView, bytes: Uint8Array, offset: number): void {
      this.check(bytes, offset);
    }
    override onSetup(_v: DataView, bytes: Uint8Array, offset: number): void {
      this.check(bytes, offset);
    }
    override onStatus(_v: DataView, bytes: Uint8Array, offset: number): void {
      this.check(bytes, offset);
    }
    override onNak(_v: DataView, bytes: Uint8Array, offset: number): void {
      this.check(bytes, offset);
    }
    override onRttm(_v: DataView, bytes: Uint8Array, offset: number): void {
      this.check(bytes, offset);
    }
  })();
  for (const file of captureFiles()) {
    for (const d of loadCapture(file)) {
      walker.walk(d.payload, 0, d.payload.length, finder);
      if (found) return true;
    }
  }
  return false;
}

describe("PROTOCOL.md section 12 test vectors", () => {
  it("SETUP", () => {
    const f = new SetupFrameFlyweight().wrap(SETUP, 0, SETUP.length);
    expect([f.frameLength(), f.version(), f.flags(), f.type()]).toEqual([40, 0, 0, 5]);
    expect([f.termOffset(), f.sessionId(), f.streamId()]).toEqual([0, SESSION_A, 1001]);
    expect([f.initialTermId(), f.activeTermId()]).toEqual([TERM_A, TERM_A]);
    expect([f.termLength(), f.mtu(), f.ttl()]).toEqual([16 * 1024 * 1024, 1408, 0]);
    const again = encode(40, (v) => writeSetup(v, 0, 0, 0, SESSION_A, 1001, TERM_A, TERM_A, 16 * 1024 * 1024, 1408, 0));
    expect(toHex(again)).toBe(toHex(SETUP));
    expect(inCaptures(SETUP)).toBe(true);
  });

  it("SM and SM+EOS", () => {
    const f = new StatusMessageFlyweight().wrap(SM, 0, SM.length);
    expect([f.frameLength(), f.flags(), f.type(), f.sessionId(), f.streamId()]).toEqual([36, 0, 3, SESSION_A, 1001]);
    expect([f.consumptionTermId(), f.consumptionTermOffset(), f.receiverWindow()]).toEqual([TERM_A, 0, 131072]);
    expect(i64HalvesToHex(f.receiverIdLo(), f.receiverIdHi())).toBe("9ec5cb7f97551e57");
    expect(f.receiverIdEquals(RECEIVER_ID_LO, RECEIVER_ID_HI)).toBe(true);
    expect(f.hasGroupTag()).toBe(false);
    const again = encode(36, (v) => writeStatusMessage(v, 0, 0, SESSION_A, 1001, TERM_A, 0, 131072, RECEIVER_ID_LO, RECEIVER_ID_HI));
    expect(toHex(again)).toBe(toHex(SM));

    const e = new StatusMessageFlyweight().wrap(SM_EOS, 0, SM_EOS.length);
    expect(e.flags()).toBe(SM_EOS_FLAG);
    expect([e.sessionId(), e.streamId(), e.consumptionTermId(), e.consumptionTermOffset()]).toEqual([SESSION_B, 1002, TERM_B, 0x066680]);
    const eos = encode(36, (v) => writeStatusMessage(v, 0, SM_EOS_FLAG, SESSION_B, 1002, TERM_B, 0x066680, 131072, RECEIVER_ID_LO, RECEIVER_ID_HI));
    expect(toHex(eos)).toBe(toHex(SM_EOS));
    expect(inCaptures(SM)).toBe(true);
    expect(inCaptures(SM_EOS)).toBe(true);
  });

  it("DATA 'Hello World! 1' (the next frame would start at 64)", () => {
    const f = new DataFrameFlyweight().wrap(DATA, 0, DATA.length);
    expect([f.frameLength(), f.flags(), f.type(), f.termOffset()]).toEqual([46, UNFRAGMENTED, HDR_TYPE_DATA, 0]);
    expect([f.sessionId(), f.streamId(), f.termId(), f.reservedValue()]).toEqual([SESSION_A, 1001, TERM_A, 0]);
    expect(Buffer.from(DATA.subarray(f.payloadOffset(), f.payloadOffset() + f.payloadLength())).toString()).toBe("Hello World! 1");
    const again = encode(46, (v) => writeDataHeader(v, 0, 46, 0xc0, HDR_TYPE_DATA, 0, SESSION_A, 1001, TERM_A, 0, 0));
    again.set(Buffer.from("Hello World! 1"), 32);
    expect(toHex(again)).toBe(toHex(DATA));
    expect(inCaptures(DATA)).toBe(true);
    // The walker puts the next frame at align32(46) = 64.
    const two = new Uint8Array(96);
    two.set(DATA, 0);
    two.set(HEARTBEAT, 64);
    const offsets: number[] = [];
    new DatagramWalker().walk(two, 0, 96, new (class extends IgnoringFrameVisitor {
      override onData(_v: DataView, _b: Uint8Array, offset: number): void {
        offsets.push(offset);
      }
    })());
    expect(offsets).toEqual([0, 64]);
  });

  it("END fragment", () => {
    const view = viewOf(END_FRAGMENT_HEADER);
    expect(view.getInt32(0, true)).toBe(56);
    expect(view.getUint8(5)).toBe(END_FLAG);
    expect(dataTermOffset(view, 0)).toBe(1408);
    expect(dataSessionId(view, 0)).toBe(SESSION_B);
    const again = encode(32, (v) => writeDataHeader(v, 0, 56, END_FLAG, HDR_TYPE_DATA, 1408, SESSION_B, 1002, TERM_B, 0, 0));
    expect(toHex(again)).toBe(toHex(END_FRAGMENT_HEADER));
    expect(inCaptures(END_FRAGMENT_HEADER)).toBe(true);
  });

  it("HEARTBEAT and EOS heartbeat", () => {
    const view = viewOf(HEARTBEAT);
    expect(isHeartbeat(view, 0)).toBe(true);
    expect(toHex(encode(32, (v) => writeHeartbeat(v, 0, 0, SESSION_A, 1001, TERM_A, false)))).toBe(toHex(HEARTBEAT));
    const eos = viewOf(EOS_HEARTBEAT);
    expect(isHeartbeat(eos, 0)).toBe(true);
    expect(eos.getUint8(5)).toBe(BEGIN_FLAG | END_FLAG | EOS_FLAG);
    expect(dataTermOffset(eos, 0)).toBe(441600);
    expect(toHex(encode(32, (v) => writeHeartbeat(v, 0, 441600, SESSION_B, 1002, TERM_B, true)))).toBe(toHex(EOS_HEARTBEAT));
    expect(inCaptures(HEARTBEAT)).toBe(true);
    expect(inCaptures(EOS_HEARTBEAT)).toBe(true);
  });

  it("NAK", () => {
    const f = new NakFlyweight().wrap(NAK, 0, NAK.length);
    expect([f.frameLength(), f.type(), f.sessionId(), f.streamId(), f.termId(), f.termOffset(), f.length()]).toEqual([
      28, 2, SESSION_B, 1002, TERM_B, 8832, 1472,
    ]);
    expect(toHex(encode(28, (v) => writeNak(v, 0, 0, SESSION_B, 1002, TERM_B, 8832, 1472)))).toBe(toHex(NAK));
    expect(inCaptures(NAK)).toBe(true);
  });

  it("RTTM (flags 0: in the capture this is the sender's answer, not the request)", () => {
    const f = new RttmFlyweight().wrap(RTTM, 0, RTTM.length);
    expect([f.frameLength(), f.flags(), f.type(), f.sessionId(), f.streamId()]).toEqual([40, 0, 6, 0x800946a3 | 0, 1001]);
    expect(f.echoTimestampNs()).toBe(0x1c955529f3d);
    expect(f.receptionDeltaNs()).toBe(0);
    expect(i64HalvesToHex(f.receiverIdLo(), f.receiverIdHi())).toBe("c14872e3ee87a027");
    expect(f.asksForReply()).toBe(false);
    const again = encode(40, (v) => writeRttm(v, 0, 0, 0x800946a3 | 0, 1001, 0x1c955529f3d, 0, 0xee87a027 | 0, 0xc14872e3 | 0));
    expect(toHex(again)).toBe(toHex(RTTM));
    expect(inCaptures(RTTM)).toBe(true);
    // The same bytes with 0x80 also occur: that one is the receiver's measurement, sent first.
    const flagged = RTTM.slice();
    flagged[5] = RTTM_REPLY_FLAG;
    expect(inCaptures(flagged)).toBe(true);
  });
});
