// Goal: `interface=ip/prefix` is Aeron's interface search (InterfaceSearchAddress): the local
// interface whose address is in the subnet (issue #12, item 10). The engine asks its
// resolveInterface option; without one, a prefix shorter than /32 is refused at the add call by
// name (never taken as the interface's own address); a subnet with no local address is a typed
// error naming the parameter. Petrel.launch gives the engine os.networkInterfaces()'s search, and a
// multicast stream on lo found by 127.0.0.0/8 carries messages.
import { describe, expect, it } from "vitest";
import { Petrel } from "../../src/client/petrel.js";
import { ipv4 } from "../../src/core/address.js";
import { Engine } from "../../src/core/engine/engine.js";
import { UnsupportedChannelError } from "../../src/core/engine/engineErrors.js";
import { ChannelUriError } from "../../src/core/errors.js";
import { resolveLocalInterface } from "../../src/drivers/interfaces.js";
import { Prng } from "../../src/sim/prng.js";
import { freeUdpPort } from "../drivers/streamSupport.js";

function caught(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe("interface= subnet search", () => {
  it("asks resolveInterface for the subnet and binds the multicast endpoint to what it finds", () => {
    const asked: Array<[number, number]> = [];
    const engine = new Engine({ random: new Prng(1), resolveInterface: (subnet, prefix) => (asked.push([subnet, prefix]), ipv4(10, 1, 2, 3)) });
    engine.addSubscription("aeron:udp?endpoint=224.0.1.9:40500|interface=10.1.0.0/16", 1);
    expect(asked).toEqual([[ipv4(10, 1, 0, 0), 16]]);
    const endpoint = engine.endpoints().find((e) => e.multicastGroupIp === ipv4(224, 0, 1, 9));
    expect(endpoint?.interfaceIp).toBe(ipv4(10, 1, 2, 3));
    // An address with /32 (or none) is the interface itself: no search.
    engine.addPublication("aeron:udp?endpoint=224.0.1.9:40501|interface=10.9.9.9/32", 1);
    expect(asked).toHaveLength(1);
  });

  it("refuses a prefix without resolveInterface, and a subnet with no local address, with typed errors at the call", () => {
    const bare = new Engine({ random: new Prng(1) });
    const refused = caught(() => bare.addSubscription("aeron:udp?endpoint=224.0.1.9:40500|interface=10.1.0.0/16", 1));
    expect(refused).toBeInstanceOf(UnsupportedChannelError);
    expect((refused as Error).message).toContain("interface=10.1.0.0/16");
    const none = new Engine({ random: new Prng(1), resolveInterface: () => -1 });
    const missing = caught(() => none.addPublication("aeron:udp?endpoint=224.0.1.9:40500|interface=192.0.2.0/24", 1));
    expect(missing).toBeInstanceOf(ChannelUriError);
    expect((missing as ChannelUriError).parameter).toBe("interface");
    expect(none.endpoints()).toEqual([]);
  });

  it("finds this host's loopback in 127.0.0.0/8, and nothing in 0.0.0.0/8", () => {
    expect(resolveLocalInterface(ipv4(127, 0, 0, 0), 8)).toBe(ipv4(127, 0, 0, 1));
    // 0.0.0.0/8 is "this network": never an interface address.
    expect(resolveLocalInterface(ipv4(0, 0, 0, 0), 8)).toBe(-1);
  });

  it("Petrel.launch: a multicast stream on lo named by interface=127.0.0.0/8 carries messages", async () => {
    const port = await freeUdpPort();
    const channel = `aeron:udp?endpoint=224.0.1.17:${port}|interface=127.0.0.0/8`;
    const petrel = await Petrel.launch({ stat: false });
    try {
      const subscription = await petrel.addSubscription(channel, 5);
      const publication = await petrel.addPublication(channel, 5);
      const message = new Uint8Array([1, 2, 3, 4]);
      let received = 0;
      const started = performance.now();
      // Bounded: 10 s of wall clock.
      while (received < 10 && performance.now() - started < 10_000) {
        if (publication.offer(message) > 0) {
          // offered; the reader below counts arrivals
        }
        received += subscription.poll(() => undefined, 10);
        await new Promise((r) => setTimeout(r, 5));
      }
      expect(received).toBeGreaterThanOrEqual(10);
    } finally {
      await petrel.close({ timeoutMs: 200 });
    }
  });
});
