// Goal: a Petrel Engine runs as a simulated host through attachEngine: the runnable example in
// src/sim/index.ts delivers its messages and is deterministic; engine endpoints become host ports
// (a subscription binds its channel's port, a publication gets an ephemeral one, a closed endpoint
// frees its port); a crash and restart gives a fresh engine that remembers nothing and joins the
// stream late; the engine draws from the host's seeded Prng; the test-only outbound filter
// (withoutNaks) removes NAKs and nothing else.
import { describe, expect, it } from "vitest";
import { Counter } from "../../src/core/engine/counters.js";
import type { Subscription } from "../../src/core/engine/subscription.js";
import { attachEngine, withoutNaks, type EngineHost } from "../../src/sim/engineHost.js";
import { ratio } from "../../src/sim/prng.js";
import { Simulation } from "../../src/sim/simulator.js";

const CHANNEL = "aeron:udp?endpoint=10.0.0.2:40123|term-length=64k";

/** The example from src/sim/index.ts's header, verbatim apart from returning what it observed. */
function runExample(seed: number): { delivered: boolean; received: number; traceHash: string } {
  const sim = new Simulation({ seed, defaultLink: { latencyNs: 100_000 } });
  const channel = "aeron:udp?endpoint=10.0.0.2:40123|term-length=64k";
  let received = 0;
  sim.host("pub", (host) => {
    const node = attachEngine(host);
    const publication = node.engine.addPublication(channel, 10);
    const message = new TextEncoder().encode("hello");
    let sent = 0;
    node.onTick((nowNs) => {
      while (sent < 100 && publication.offer(message) > 0) sent++;
      if (sent < 100) node.wakeAt(nowNs + 1_000_000); // not connected yet, or back-pressured
    });
  }, { ip: "10.0.0.1" });
  sim.host("sub", (host) => {
    const node = attachEngine(host);
    const subscription = node.engine.addSubscription(channel, 10);
    node.onTick(() => void subscription.poll(() => received++, 10));
  }, { ip: "10.0.0.2" });
  const delivered = sim.runUntil(() => received === 100, 10e9);
  return { delivered, received, traceHash: sim.traceHash() };
}

describe("attachEngine", () => {
  it("runs the documented example: 100 messages delivered, same trace for the same seed", () => {
    const first = runExample(42);
    expect(first.delivered).toBe(true);
    expect(first.received).toBe(100);
    expect(runExample(42).traceHash).toBe(first.traceHash);
    expect(runExample(43).traceHash).not.toBe(first.traceHash);
  });

  it("binds a subscription's port, gives a publication an ephemeral port, and frees a closed endpoint's port", () => {
    const sim = new Simulation({ seed: 1, defaultLink: { latencyNs: 10_000 } });
    let pub: EngineHost | undefined;
    let sub: EngineHost | undefined;
    let subscription: Subscription | undefined;
    sim.host("pub", (host) => {
      pub = attachEngine(host);
      pub.engine.addPublication(CHANNEL, 7);
    }, { ip: "10.0.0.1" });
    sim.host("sub", (host) => {
      sub = attachEngine(host);
      subscription = sub.engine.addSubscription(CHANNEL, 7);
    }, { ip: "10.0.0.2" });
    sim.runFor(1_000_000);
    expect(pub!.bound.addresses.map((a) => a.port)).toEqual([49152]);
    expect(sub!.bound.addresses.map((a) => a.port)).toEqual([40123]);
    expect(pub!.engine.publications[0]!.isConnected).toBe(true);
    expect(sub!.engine.images.length).toBe(1);

    subscription!.close();
    sub!.wake();
    const noListenerBefore = sim.linkBetween("pub", "sub")!.counters.dropped(10);
    // The image drains first (EOS status messages for 5 SM intervals, 1 s, as Aeron's), then the
    // port is gone: the publisher's heartbeats and SETUPs find no listener.
    sim.runFor(1_500_000_000);
    expect(sim.linkBetween("pub", "sub")!.counters.dropped(10)).toBeGreaterThan(noListenerBefore);
    // A new subscription binds the port again (reusing the node's free endpoint id).
    sub!.engine.addSubscription(CHANNEL, 7);
    sub!.wake();
    sim.runFor(500_000_000);
    expect(sub!.bound.addresses.map((a) => a.port)).toEqual([40123]);
    expect(sub!.engine.images.length).toBe(1);
  });

  it("gives a restarted host a fresh engine that forgets everything and joins the stream late", () => {
    const sim = new Simulation({ seed: 5, defaultLink: { latencyNs: 50_000 } });
    const setups: number[] = [];
    const engines: EngineHost[] = [];
    const firstIndexByIncarnation = new Map<number, number>();
    let offered = 0;
    sim.host("pub", (host) => {
      const node = attachEngine(host);
      const publication = node.engine.addPublication(CHANNEL, 3);
      const message = new Uint8Array(100);
      node.onTick((nowNs) => {
        // One message per millisecond, carrying its index.
        while (offered <= nowNs / 1_000_000 && offered < 3000) {
          new DataView(message.buffer).setUint32(0, offered, true);
          if (publication.offer(message) < 0) break;
          offered++;
        }
        node.wakeAt(nowNs + 1_000_000);
      });
    }, { ip: "10.0.0.1" });
    sim.host("sub", (host) => {
      setups.push(host.incarnation);
      const node = attachEngine(host);
      engines.push(node);
      const subscription = node.engine.addSubscription(CHANNEL, 3);
      node.onTick(() => {
        subscription.poll((buffer, offset) => {
          const index = new DataView(buffer.buffer, buffer.byteOffset).getUint32(offset, true);
          if (!firstIndexByIncarnation.has(host.incarnation)) firstIndexByIncarnation.set(host.incarnation, index);
        }, 100);
      });
    }, { ip: "10.0.0.2" });
    sim.at(1_000_000_000, { kind: "crash", host: "sub" });
    sim.at(1_500_000_000, { kind: "restart", host: "sub" });
    sim.runFor(3_000_000_000);
    expect(setups).toEqual([0, 1]);
    expect(engines.length).toBe(2);
    expect(engines[1]!.engine).not.toBe(engines[0]!.engine);
    // The new engine knew nothing: one image, created after the restart, from a late join.
    expect(engines[1]!.engine.counters.get(Counter.IMAGES_CREATED)).toBe(1);
    expect(engines[1]!.engine.images[0]!.joinPosition).toBeGreaterThan(0);
    expect(firstIndexByIncarnation.get(0)).toBe(0);
    expect(firstIndexByIncarnation.get(1)).toBeGreaterThan(1000);
  });

  it("seeds the engine from the host: same seed, same session id; another seed, another", () => {
    const sessionId = (seed: number): number => {
      const sim = new Simulation({ seed });
      let id = 0;
      sim.host("pub", (host) => {
        id = attachEngine(host).engine.addPublication(CHANNEL, 1).sessionId;
      });
      return id;
    };
    expect(sessionId(9)).toBe(sessionId(9));
    expect(sessionId(10)).not.toBe(sessionId(9));
  });

  it("withoutNaks drops the receiver's NAKs and nothing else", () => {
    const run = (broken: boolean) => {
      const sim = new Simulation({ seed: 3 });
      let pub: EngineHost | undefined;
      let sub: EngineHost | undefined;
      sim.host("pub", (host) => {
        pub = attachEngine(host);
        const publication = pub.engine.addPublication(CHANNEL, 1);
        const message = new Uint8Array(200);
        let sent = 0;
        pub.onTick((nowNs) => {
          while (sent < 500 && publication.offer(message) > 0) sent++;
          if (sent < 500) pub!.wakeAt(nowNs + 1_000_000);
        });
      }, { ip: "10.0.0.1" });
      sim.host("sub", (host) => {
        sub = attachEngine(host, broken ? { outboundFilter: withoutNaks } : {});
        const subscription = sub.engine.addSubscription(CHANNEL, 1);
        sub.onTick(() => void subscription.poll(() => {}, 100));
      }, { ip: "10.0.0.2" });
      sim.link("pub", "sub", { latencyNs: 50_000, loss: ratio(1, 10) });
      sim.runFor(2_000_000_000);
      return { pub: pub!, sub: sub! };
    };
    const healthy = run(false);
    const broken = run(true);
    expect(healthy.pub.engine.counters.get(Counter.NAKS_RECEIVED)).toBeGreaterThan(0);
    expect(broken.sub.engine.counters.get(Counter.NAKS_SENT)).toBeGreaterThan(0);
    expect(broken.sub.filteredDatagrams).toBe(broken.sub.engine.counters.get(Counter.NAKS_SENT));
    expect(broken.pub.engine.counters.get(Counter.NAKS_RECEIVED)).toBe(0);
    expect(broken.pub.engine.counters.get(Counter.STATUS_MESSAGES_RECEIVED)).toBeGreaterThan(0);
  });
});
