// Goal: Petrel's own netstack (NetstackDriver with ARP) carries a Petrel stream across the
// simulator's Ethernet frames, deterministically: starting from an empty ARP cache the first
// datagrams are dropped and counted while ARP resolves and the stream still arrives complete and in
// order; lost ARP requests and replies are retried with backoff; an entry in use is refreshed
// before it expires and an idle one expires; a cache flush mid-stream loses data datagrams that
// NAKs recover (the protocol's own counters show it); a long ARP outage fails the entry and the
// stream recovers once ARP heals. Every failure prints the seed.
import { describe, expect, it } from "vitest";
import { Counter } from "../../src/core/engine/counters.js";
import { ArpState, ETHERTYPE_ARP, ARP_OP_REPLY, ARP_OP_REQUEST } from "../../src/drivers/netstack/arp.js";
import { NetstackDrop } from "../../src/drivers/netstack/netstackDriver.js";
import { attachNetstackEngine, type NetstackEngineHost, type NetstackEngineHostOptions } from "../../src/sim/ethernetHost.js";
import { DropNext, DropWhere, type FaultPacket } from "../../src/sim/faults.js";
import { Simulation } from "../../src/sim/simulator.js";

const SEED = Number(process.env["PETREL_SEED"] ?? 7);
const CHANNEL = "aeron:udp?endpoint=10.0.0.2:40123|term-length=64k";
const PUB_IP = 0x0a000001;
const SUB_IP = 0x0a000002;

function arpOp(p: FaultPacket): number {
  if (p.length < 22) return 0;
  const b = p.bytes;
  const o = p.offset;
  if (((b[o + 12]! << 8) | b[o + 13]!) !== ETHERTYPE_ARP) return 0;
  return (b[o + 20]! << 8) | b[o + 21]!;
}
const isArpRequest = (p: FaultPacket): boolean => arpOp(p) === ARP_OP_REQUEST;
const isArpReply = (p: FaultPacket): boolean => arpOp(p) === ARP_OP_REPLY;
const isArp = (p: FaultPacket): boolean => arpOp(p) !== 0;

interface Run {
  readonly sim: Simulation;
  pub: NetstackEngineHost;
  sub: NetstackEngineHost;
  received: number;
  failures: string[];
  sent: number;
  closed: boolean;
}

/** A publisher paced at one message per `intervalNs` (0: as fast as it can) and a checking subscriber. */
function build(seed: number, count: number, options: NetstackEngineHostOptions = {}, intervalNs = 0): Run {
  const sim = new Simulation({ seed, defaultLink: { latencyNs: 50_000 } });
  const run = { sim, received: 0, failures: [] as string[], sent: 0, closed: false } as Run;
  const message = new Uint8Array(64);
  const view = new DataView(message.buffer);
  sim.host("pub", (host) => {
    const node = attachNetstackEngine(host, options);
    run.pub = node;
    const publication = node.engine.addPublication(CHANNEL, 10);
    let nextAtNs = 0;
    node.onTick((nowNs) => {
      if (run.closed) return;
      while (run.sent < count && nowNs >= nextAtNs) {
        view.setUint32(0, run.sent, true);
        if (publication.offer(message) <= 0) break;
        run.sent++;
        if (intervalNs > 0) nextAtNs = nowNs + intervalNs;
      }
      if (run.sent < count) node.wakeAt(Math.max(nowNs + 100_000, nextAtNs));
    });
  }, { ip: PUB_IP });
  sim.host("sub", (host) => {
    const node = attachNetstackEngine(host, options);
    run.sub = node;
    const subscription = node.engine.addSubscription(CHANNEL, 10);
    node.onTick(() => {
      if (run.closed) return;
      subscription.poll((buffer, offset) => {
        const index = new DataView(buffer.buffer, buffer.byteOffset).getUint32(offset, true);
        if (index !== run.received && run.failures.length < 5) run.failures.push(`expected message ${run.received}, got ${index}`);
        run.received++;
      }, 64);
    });
  }, { ip: SUB_IP });
  return run;
}

describe("netstack in the simulator: ARP and a Petrel stream over Ethernet frames", () => {
  it("starts from an empty ARP cache: first datagrams dropped and counted, the stream arrives complete and in order, deterministically", () => {
    const runOnce = (seed: number) => {
      const run = build(seed, 2000);
      const done = run.sim.runUntil(() => run.received === 2000, 5e9);
      return { run, done, hash: run.sim.traceHash() };
    };
    const { run, done, hash } = runOnce(SEED);
    expect(done, `seed ${SEED}`).toBe(true);
    expect(run.failures, `seed ${SEED}`).toEqual([]);
    const pub = run.pub.driver.netstackCounters();
    const sub = run.sub.driver.netstackCounters();
    expect(pub.drops["txArpUnresolved"]).toBeGreaterThan(0);
    expect(pub.arpRequestsSent).toBeGreaterThanOrEqual(1);
    expect(sub.arpRepliesSent).toBeGreaterThanOrEqual(1);
    // The subscriber learned the publisher from its request (RFC 826 merge): it never had to ask.
    expect(sub.arpRequestsSent).toBe(0);
    expect(run.pub.driver.arp.stateOf(SUB_IP)).toBe(ArpState.REACHABLE);
    expect(run.sub.driver.arp.stateOf(PUB_IP)).toBe(ArpState.REACHABLE);
    // Echoes of our own broadcasts are the only frames the netstack dropped on receive.
    for (const [name, value] of Object.entries(sub.drops)) if (name !== "frameOwn") expect(value, `sub drop ${name}`).toBe(0);
    expect(runOnce(SEED).hash).toBe(hash);
  });

  it("retries lost ARP requests with exponential backoff", () => {
    const retryInitialNs = 10_000_000;
    const run = build(SEED, 200, { netstack: { arp: { retryInitialNs, retryMaxNs: 80_000_000 } } });
    run.sim.link("pub", "sub", { latencyNs: 50_000, rules: [new DropNext(3, isArpRequest)] }, { oneWay: true });
    let resolvedAtNs = -1;
    const done = run.sim.runUntil((sim) => {
      if (resolvedAtNs < 0 && run.pub.driver.arp.stateOf(SUB_IP) === ArpState.REACHABLE) resolvedAtNs = sim.nowNs;
      return run.received === 200;
    }, 5e9);
    expect(done, `seed ${SEED}`).toBe(true);
    expect(run.failures).toEqual([]);
    expect(run.pub.driver.netstackCounters().arpRequestsSent).toBe(4);
    // Requests at 0, 10, 30 and 70 ms (delays 10, 20, 40): the fourth one is answered.
    expect(resolvedAtNs).toBeGreaterThanOrEqual(70_000_000);
    expect(resolvedAtNs).toBeLessThan(80_000_000);
  });

  it("retries when ARP replies are lost", () => {
    const run = build(SEED, 200, { netstack: { arp: { retryInitialNs: 5_000_000 } } });
    run.sim.link("sub", "pub", { latencyNs: 50_000, rules: [new DropNext(2, isArpReply)] }, { oneWay: true });
    expect(run.sim.runUntil(() => run.received === 200, 5e9), `seed ${SEED}`).toBe(true);
    expect(run.failures).toEqual([]);
    expect(run.pub.driver.netstackCounters().arpRequestsSent).toBe(3);
    expect(run.sub.driver.netstackCounters().arpRepliesSent).toBe(3);
  });

  it("refreshes an entry in use before it expires (no miss), and expires an idle one", () => {
    // The lifetime stays above the publisher's 100 ms setup/heartbeat period: with drop-and-count (no
    // queue of datagrams waiting for ARP) a sender quieter than the lifetime would miss every time.
    const arp = { reachableNs: 150_000_000, refreshBeforeNs: 40_000_000, retryInitialNs: 2_000_000 };
    // 3000 messages, one per 200 us: 600 ms of steady traffic, four lifetimes of the entry.
    const run = build(SEED, 3000, { netstack: { arp } }, 200_000);
    expect(run.sim.runUntil(() => run.received === 3000, 5e9), `seed ${SEED}`).toBe(true);
    expect(run.failures).toEqual([]);
    const pub = run.pub.driver;
    const missesAfterStart = pub.dropped(NetstackDrop.TX_ARP_UNRESOLVED);
    expect(pub.arp.counters.refreshes).toBeGreaterThanOrEqual(3);
    expect(pub.arp.counters.expired).toBe(0);
    // Idle: the engine still sends heartbeats and status messages, so go quiet by closing both.
    run.closed = true;
    run.pub.engine.close();
    run.sub.engine.close();
    run.pub.wake();
    run.sub.wake();
    run.sim.runFor(400_000_000);
    expect(pub.arp.counters.expired).toBeGreaterThanOrEqual(1);
    expect(pub.arp.stateOf(SUB_IP)).toBe(0);
    expect(pub.dropped(NetstackDrop.TX_ARP_UNRESOLVED)).toBe(missesAfterStart);
  });

  it("a cache flush mid-stream drops data datagrams while ARP resolves; NAKs recover them", () => {
    const run = build(SEED, 4000, { netstack: { arp: { retryInitialNs: 1_000_000 } } }, 20_000);
    // ARP answers take 3 ms on the way back after the flush, so several data frames are lost.
    let flushed = false;
    const slowReplies = new DropNext(1, isArpReply);
    run.sim.link("sub", "pub", { latencyNs: 50_000, rules: [slowReplies] }, { oneWay: true });
    slowReplies.arm(0);
    expect(run.sim.runUntil(() => {
      if (!flushed && run.received >= 1000) {
        flushed = true;
        slowReplies.arm(2);
        run.pub.driver.arp.flush();
      }
      return run.received === 4000;
    }, 5e9), `seed ${SEED}`).toBe(true);
    expect(run.failures).toEqual([]);
    const before = run.pub.driver.dropped(NetstackDrop.TX_ARP_UNRESOLVED);
    expect(before).toBeGreaterThan(3);
    expect(run.sub.engine.counters.get(Counter.NAKS_SENT)).toBeGreaterThan(0);
    expect(run.pub.engine.counters.get(Counter.NAKS_RECEIVED)).toBeGreaterThan(0);
    expect(run.pub.engine.counters.get(Counter.RETRANSMITS_SENT)).toBeGreaterThan(0);
  });

  it("a long ARP outage fails the entry (requests stop for the hold time) and the stream recovers when ARP heals", () => {
    const arp = { retryInitialNs: 10_000_000, retryMaxNs: 40_000_000, maxAttempts: 4, failedHoldNs: 100_000_000 };
    const run = build(SEED, 500, { netstack: { arp } });
    const outage = new DropWhere(isArp);
    run.sim.link("pub", "sub", { latencyNs: 50_000, rules: [outage] }, { oneWay: true });
    run.sim.runFor(150_000_000);
    expect(run.received).toBe(0);
    expect(run.pub.driver.arp.counters.failures).toBe(1);
    expect(run.pub.driver.netstackCounters().arpRequestsSent).toBe(4);
    outage.enabled = false;
    expect(run.sim.runUntil(() => run.received === 500, 5e9), `seed ${SEED}`).toBe(true);
    expect(run.failures).toEqual([]);
  });
});
