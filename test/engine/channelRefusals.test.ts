// Goal: Aeron channel parameters that need the add call's context are checked there, with a typed
// error at that call (issue #12, item 11): `stream-id` must match the stream id given, and
// untethered subscriptions (tether=false), which Petrel does not have, are refused rather than
// silently treated as tethered. A channel carrying only cosmetic or accepted Aeron parameters adds.
import { describe, expect, it } from "vitest";
import { Engine } from "../../src/core/engine/engine.js";
import { UnsupportedChannelError } from "../../src/core/engine/engineErrors.js";
import { ChannelUriError } from "../../src/core/errors.js";
import { Prng } from "../../src/sim/prng.js";

function engine(): Engine {
  return new Engine({ random: new Prng(3) });
}

function caught(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe("channel parameters checked at the add call", () => {
  it("refuses a stream-id that differs from the stream id given, on both sides", () => {
    const e = engine();
    const onSubscription = caught(() => e.addSubscription("aeron:udp?endpoint=127.0.0.1:40555|stream-id=7", 8));
    expect(onSubscription).toBeInstanceOf(ChannelUriError);
    expect((onSubscription as ChannelUriError).parameter).toBe("stream-id");
    expect((onSubscription as Error).message).toContain("stream id 8");
    const onPublication = caught(() => e.addPublication("aeron:udp?endpoint=127.0.0.1:40555|stream-id=7", 9));
    expect(onPublication).toBeInstanceOf(ChannelUriError);
    expect((onPublication as Error).message).toContain("publication");
    expect(e.addPublication("aeron:udp?endpoint=127.0.0.1:40555|stream-id=7", 7)).toBeDefined();
  });

  it("refuses fc on a unicast publication, as Aeron does, and takes it on multicast and MDC", () => {
    const e = engine();
    const error = caught(() => e.addPublication("aeron:udp?endpoint=127.0.0.1:40557|fc=min", 1));
    expect(error).toBeInstanceOf(ChannelUriError);
    expect((error as ChannelUriError).parameter).toBe("fc");
    expect((error as Error).message).toContain("unicast");
    expect(e.addPublication("aeron:udp?endpoint=224.0.1.1:40558|fc=min,g:/2", 1)).toBeDefined();
    expect(e.addPublication("aeron:udp?control=127.0.0.1:40559|control-mode=dynamic|fc=max,t:1s", 1)).toBeDefined();
    // A subscription ignores fc, as Aeron's does.
    expect(e.addSubscription("aeron:udp?endpoint=127.0.0.1:40557|fc=min", 1)).toBeDefined();
  });

  it("refuses multi-destination subscriptions (control-mode=manual) by name", () => {
    const error = caught(() => engine().addSubscription("aeron:udp?control-mode=manual", 1));
    expect(error).toBeInstanceOf(UnsupportedChannelError);
    expect((error as Error).message).toContain("multi-destination subscriptions");
  });

  it("refuses untethered subscriptions by name and accepts tether=true", () => {
    const e = engine();
    const error = caught(() => e.addSubscription("aeron:ipc?tether=false", 1));
    expect(error).toBeInstanceOf(UnsupportedChannelError);
    expect((error as Error).message).toContain("tether=false");
    expect(e.addSubscription("aeron:ipc?tether=true", 1)).toBeDefined();
  });

  it("adds channels copied from an Aeron configuration with cosmetic parameters", () => {
    const e = engine();
    const channel = "aeron:udp?endpoint=127.0.0.1:40556|alias=md-feed|ssc=false|rejoin=true|untethered-resting-timeout=10s";
    expect(e.addSubscription(channel, 5)).toBeDefined();
    expect(e.addPublication("aeron:udp?endpoint=127.0.0.1:40556|alias=md-feed|pub-wnd=1m", 5)).toBeDefined();
  });
});
