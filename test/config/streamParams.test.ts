// Goal: resolveStreamParams combines the engine configuration with a channel URI as PROTOCOL.md
// says (receiver window = min(rcv-wnd or initial window, termLength / 2), term window =
// termLength / 2, NAK delays, flow-control defaults by channel kind), derives the log geometry,
// and refuses combinations that only fail together, naming the URI parameter to change.
import { describe, expect, it } from "vitest";
import { fc, test } from "@fast-check/vitest";
import { parseChannelUri } from "../../src/core/channel/channelUri.js";
import { DEFAULT_ENGINE_CONFIG, resolveEngineConfig } from "../../src/core/config/engineConfig.js";
import { resolveStreamParams, type StreamParams } from "../../src/core/config/streamParams.js";
import { ChannelUriError } from "../../src/core/errors.js";

const KIB = 1024;
const MIB = 1024 * 1024;

function params(uri: string, overrides = {}): StreamParams {
  return resolveStreamParams(resolveEngineConfig(overrides), parseChannelUri(uri));
}

function paramsError(uri: string, parameter: string, overrides = {}): ChannelUriError {
  let caught: unknown;
  try {
    params(uri, overrides);
  } catch (error) {
    caught = error;
  }
  expect(caught, uri).toBeInstanceOf(ChannelUriError);
  const error = caught as ChannelUriError;
  expect(error.parameter, error.message).toBe(parameter);
  return error;
}

describe("resolveStreamParams", () => {
  it("gives Aeron's defaults for a plain unicast UDP stream", () => {
    expect(params("aeron:udp?endpoint=localhost:40123")).toEqual({
      media: "udp",
      isMulticast: false,
      isMultiDestination: false,
      mtuBytes: 1408,
      maxPayloadBytes: 1376,
      termLengthBytes: 16 * MIB,
      positionBitsToShift: 24,
      maxMessageBytes: 2 * MIB,
      receiverWindowBytes: 128 * KIB,
      publicationTermWindowBytes: 8 * MIB,
      lingerNs: 5_000_000_000,
      nakDelayNs: 100_000,
      nakRetryDelayNs: 10_000_000,
      maxRetransmitActions: 16,
      flowControl: { strategy: "unicast" },
      congestionControl: "static",
      reliable: true,
      sourcePin: false,
      sparse: false,
      tether: true,
      group: false,
      eos: true,
      rejoin: true,
      ttl: 0,
      socketSndbufBytes: 0,
      socketRcvbufBytes: 128 * KIB,
    });
  });

  it("takes pub-wnd as the publisher's term window within Aeron's bounds (mtu .. termLength / 2)", () => {
    expect(params("aeron:udp?endpoint=localhost:1|pub-wnd=256k").publicationTermWindowBytes).toBe(256 * KIB);
    expect(params("aeron:udp?endpoint=localhost:1|term-length=64k|pub-wnd=32k").publicationTermWindowBytes).toBe(32 * KIB);
    expect(params("aeron:ipc?pub-wnd=1m").publicationTermWindowBytes).toBe(MIB);
    expect(paramsError("aeron:udp?endpoint=localhost:1|pub-wnd=1k", "pub-wnd").message).toContain("less than the mtu (1408)");
    expect(paramsError("aeron:udp?endpoint=localhost:1|term-length=64k|pub-wnd=64k", "pub-wnd").message).toContain("half the term length");
    expect(params("aeron:udp?endpoint=localhost:1|rejoin=false").rejoin).toBe(false);
  });

  it("uses the IPC term length and frozen output", () => {
    const ipc = params("aeron:ipc");
    expect(ipc.termLengthBytes).toBe(64 * MIB);
    expect(ipc.positionBitsToShift).toBe(26);
    expect(ipc.maxMessageBytes).toBe(8 * MIB);
    expect(params("aeron:ipc?term-length=1g").maxMessageBytes).toBe(16 * MIB);
    expect(Object.isFrozen(ipc)).toBe(true);
  });

  it("lets the URI override mtu, term length, linger, NAK delay, max-resend, booleans and cc", () => {
    const p = params("aeron:udp?endpoint=localhost:1|mtu=8k|term-length=64k|linger=0|nak-delay=1ms|max-resend=4|reliable=false|sparse=true|tether=false|eos=false|cc=cubic|ttl=8|gtag=5|session-id=7");
    expect(p).toMatchObject({
      mtuBytes: 8192,
      maxPayloadBytes: 8160,
      termLengthBytes: 65536,
      positionBitsToShift: 16,
      maxMessageBytes: 8192,
      receiverWindowBytes: 32 * KIB,
      publicationTermWindowBytes: 32 * KIB,
      lingerNs: 0,
      nakDelayNs: 1_000_000,
      nakRetryDelayNs: 100_000_000,
      maxRetransmitActions: 4,
      reliable: false,
      sparse: true,
      tether: false,
      eos: false,
      congestionControl: "cubic",
      ttl: 8,
      groupTag: "5",
      sessionId: 7,
    });
  });

  it("receiver window is min(rcv-wnd or the initial window, termLength / 2)", () => {
    expect(params("aeron:udp?rcv-wnd=64k").receiverWindowBytes).toBe(64 * KIB);
    expect(params("aeron:udp?rcv-wnd=1m|so-rcvbuf=0").receiverWindowBytes).toBe(1 * MIB);
    expect(params("aeron:udp?rcv-wnd=1m|so-rcvbuf=0|term-length=64k").receiverWindowBytes).toBe(32 * KIB);
    expect(params("aeron:udp?term-length=128k").receiverWindowBytes).toBe(64 * KIB);
  });

  it("publication term window: termLength / 2, or the configured value capped there", () => {
    expect(params("aeron:udp", { publicationTermWindowBytes: 64 * KIB }).publicationTermWindowBytes).toBe(64 * KIB);
    expect(params("aeron:udp?term-length=64k", { publicationTermWindowBytes: 64 * KIB }).publicationTermWindowBytes).toBe(32 * KIB);
  });

  it("chooses flow control by channel kind, filling defaults", () => {
    expect(params("aeron:udp?endpoint=224.0.1.1:40456").flowControl).toEqual({ strategy: "max" });
    expect(params("aeron:udp?endpoint=224.0.1.1:40456", { multicastFlowControl: "min" }).flowControl).toEqual({ strategy: "min", groupMinSize: 0, receiverTimeoutNs: 5_000_000_000 });
    expect(params("aeron:udp?control=10.0.0.1:1|control-mode=dynamic").flowControl).toEqual({ strategy: "max" });
    expect(params("aeron:udp?control-mode=manual").flowControl).toEqual({ strategy: "max" });
    expect(params("aeron:udp?endpoint=10.0.0.1:1|fc=min,t:1s").flowControl).toEqual({ strategy: "min", groupMinSize: 0, receiverTimeoutNs: 1_000_000_000 });
    expect(params("aeron:udp?endpoint=224.0.1.1:1|fc=min,g:/2").flowControl).toEqual({ strategy: "min", groupMinSize: 2, receiverTimeoutNs: 5_000_000_000 });
    expect(params("aeron:udp?endpoint=224.0.1.1:1|fc=tagged").flowControl).toEqual({ strategy: "tagged", groupTag: "-1", groupMinSize: 0, receiverTimeoutNs: 5_000_000_000 });
    expect(params("aeron:udp?endpoint=224.0.1.1:1|fc=tagged,g:9/3,t:2s").flowControl).toEqual({ strategy: "tagged", groupTag: "9", groupMinSize: 3, receiverTimeoutNs: 2_000_000_000 });
  });

  it("multicast: group semantics by default, control address exposed", () => {
    const p = params("aeron:udp?endpoint=224.0.1.1:40456|ttl=3");
    expect(p).toMatchObject({ isMulticast: true, group: true, ttl: 3, multicastControl: { host: "224.0.1.2", hostKind: "ipv4", port: 40456 } });
    expect(params("aeron:udp?endpoint=224.0.1.1:40456|group=false").group).toBe(false);
    expect(params("aeron:udp?endpoint=10.0.0.1:40456|group=true").group).toBe(true);
  });

  it("computes the start position from init-term-id, term-id and term-offset", () => {
    const p = params("aeron:udp?term-length=64k|init-term-id=10|term-id=13|term-offset=96");
    expect(p.initialPosition).toEqual({ initTermId: 10, termId: 13, termOffset: 96 });
    expect(p.initialPositionValue).toBe(3 * 65536 + 96);
    // Wrapping term ids: from 2^31 - 1 to -2^31 is one term.
    expect(params("aeron:udp?term-length=64k|init-term-id=2147483647|term-id=-2147483648|term-offset=0").initialPositionValue).toBe(65536);
  });

  it("refuses a start position that a JS number cannot hold exactly", () => {
    // 2^31 - 1 terms of 16 MiB is past 2^53; 2^29 terms of 16 MiB is exactly 2^53 (too far by one).
    paramsError("aeron:udp?init-term-id=-2147483648|term-id=-1|term-offset=0", "term-id");
    expect(params("aeron:udp?init-term-id=0|term-id=536870911|term-offset=0").initialPositionValue).toBe((2 ** 29 - 1) * 2 ** 24);
    paramsError("aeron:udp?init-term-id=0|term-id=536870912|term-offset=0", "term-id");
  });

  it("checks term-offset against the effective term length", () => {
    expect(params("aeron:udp?init-term-id=0|term-id=0|term-offset=16777216").initialPosition?.termOffset).toBe(16 * MIB);
    paramsError("aeron:udp?init-term-id=0|term-id=0|term-offset=16777248", "term-offset");
    paramsError("aeron:udp?init-term-id=0|term-id=0|term-offset=65568", "term-offset", { termLengthBytes: 64 * KIB });
  });

  it("requires a full frame to fit in the receiver window, naming what to change", () => {
    expect(params("aeron:udp?rcv-wnd=1408").receiverWindowBytes).toBe(1408);
    expect(paramsError("aeron:udp?rcv-wnd=1407", "rcv-wnd").message).toContain("at least the mtu");
    paramsError("aeron:udp?mtu=65504", "mtu", { initialReceiverWindowBytes: 32 * KIB });
    expect(params("aeron:udp?mtu=65504|rcv-wnd=64k|so-rcvbuf=0").mtuBytes).toBe(65504);
    paramsError("aeron:udp?mtu=65504|term-length=64k", "mtu");
    paramsError("aeron:udp?term-length=64k", "term-length", { mtuBytes: 65504, termLengthBytes: 1024 * KIB, initialReceiverWindowBytes: 64 * KIB, socketRcvbufBytes: 0 });
  });

  it("checks socket buffers against the window and the mtu", () => {
    paramsError("aeron:udp?so-rcvbuf=64k", "so-rcvbuf");
    expect(params("aeron:udp?so-rcvbuf=128k").socketRcvbufBytes).toBe(128 * KIB);
    paramsError("aeron:udp?rcv-wnd=256k", "rcv-wnd");
    paramsError("aeron:udp?so-sndbuf=1k", "so-sndbuf");
    expect(params("aeron:udp?so-sndbuf=1408").socketSndbufBytes).toBe(1408);
    paramsError("aeron:udp?mtu=8k", "mtu", { socketSndbufBytes: 4096 });
  });

  test.prop([
    fc.integer({ min: 16, max: 30 }).map((shift) => 2 ** shift),
    fc.option(fc.integer({ min: 1408, max: 2 ** 31 - 1 }), { nil: undefined }),
  ])("window invariants hold for any term length and rcv-wnd", (termLengthBytes, rcvWnd) => {
    const uri = `aeron:udp?term-length=${termLengthBytes}|so-rcvbuf=0${rcvWnd === undefined ? "" : `|rcv-wnd=${rcvWnd}`}`;
    const p = resolveStreamParams(DEFAULT_ENGINE_CONFIG, parseChannelUri(uri));
    expect(p.receiverWindowBytes).toBe(Math.min(rcvWnd ?? 128 * KIB, termLengthBytes / 2));
    expect(p.receiverWindowBytes).toBeGreaterThanOrEqual(p.mtuBytes);
    expect(p.publicationTermWindowBytes).toBe(termLengthBytes / 2);
    expect(2 ** p.positionBitsToShift).toBe(termLengthBytes);
    expect(p.maxMessageBytes).toBe(Math.min(termLengthBytes / 8, 16 * MIB));
  });
});
