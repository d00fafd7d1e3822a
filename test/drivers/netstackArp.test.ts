// Goal: the ARP resolver is a correct, bounded state machine driven by the time it is given: a
// miss queues one request and later misses add none; retries back off exponentially up to a cap
// and stop after maxAttempts (the entry FAILS and stays quiet for the hold time); a reply (or a
// request addressed to us) makes the entry REACHABLE; an entry in use is refreshed before expiry
// without a miss; an idle one expires; requests for our address are answered; static entries never
// expire; the request queue and the table are bounded and count what they refuse; ARP frames
// round-trip through writeArpFrame/parseArp (a property test).
import { test } from "@fast-check/vitest";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  ARP_OP_REPLY, ARP_OP_REQUEST, ArpPacketInfo, ArpResolver, ArpState, ETHERNET_MIN_FRAME_LENGTH, parseArp, writeArpFrame,
} from "../../src/drivers/netstack/arp.js";
import { BROADCAST_MAC, ZERO_MAC, isMulticastIp, writeMulticastMac } from "../../src/drivers/netstack/mac.js";

const OUR_IP = 0x0a000001;
const PEER_IP = 0x0a000002;
const PEER_MAC = new Uint8Array([0x02, 0, 0, 0, 0, 0x22]);
const MS = 1_000_000;

function resolver(): ArpResolver {
  return new ArpResolver({ retryInitialNs: 10 * MS, retryMaxNs: 40 * MS, maxAttempts: 4, failedHoldNs: 100 * MS,
    reachableNs: 1000 * MS, refreshBeforeNs: 200 * MS, capacity: 4, requestQueueMax: 2 });
}

function drain(arp: ArpResolver): number[] {
  const out: number[] = [];
  for (let ip = arp.pollRequest(); ip >= 0; ip = arp.pollRequest()) out.push(ip);
  return out;
}

describe("ArpResolver", () => {
  it("a miss queues one request; more misses while INCOMPLETE queue none", () => {
    const arp = resolver();
    const mac = new Uint8Array(6);
    expect(arp.lookup(0, PEER_IP, mac, 0)).toBe(false);
    expect(arp.lookup(1, PEER_IP, mac, 0)).toBe(false);
    expect(drain(arp)).toEqual([PEER_IP]);
    expect(arp.stateOf(PEER_IP)).toBe(ArpState.INCOMPLETE);
    expect(arp.counters.misses).toBe(2);
    expect(arp.pollTimeout()).toBe(10 * MS);
  });

  it("retries with exponential backoff capped at retryMaxNs, then FAILS and holds, then tries again", () => {
    const arp = resolver();
    arp.lookup(0, PEER_IP, new Uint8Array(6), 0);
    drain(arp);
    const times: number[] = [];
    // A spurious timeout is a no-op.
    arp.handleTimeout(5 * MS);
    expect(drain(arp)).toEqual([]);
    for (let i = 0; i < 10 && arp.stateOf(PEER_IP) === ArpState.INCOMPLETE; i++) {
      const at = arp.pollTimeout();
      arp.handleTimeout(at);
      if (drain(arp).length > 0) times.push(at / MS);
    }
    // Attempt 1 at 0; retries at 10 (+10), 30 (+20), 70 (+40, the cap); at 110 the 4th attempt has gone unanswered.
    expect(times).toEqual([10, 30, 70]);
    expect(arp.stateOf(PEER_IP)).toBe(ArpState.FAILED);
    expect(arp.counters.failures).toBe(1);
    // During the hold a miss sends nothing; after it, the entry is gone and a miss asks again.
    expect(arp.lookup(150 * MS, PEER_IP, new Uint8Array(6), 0)).toBe(false);
    expect(drain(arp)).toEqual([]);
    arp.handleTimeout(arp.pollTimeout());
    expect(arp.stateOf(PEER_IP)).toBe(0);
    expect(arp.lookup(300 * MS, PEER_IP, new Uint8Array(6), 0)).toBe(false);
    expect(drain(arp)).toEqual([PEER_IP]);
  });

  it("learns from a reply, refreshes an entry in use before expiry without a miss, expires an idle one", () => {
    const arp = resolver();
    const mac = new Uint8Array(6);
    arp.lookup(0, PEER_IP, mac, 0);
    drain(arp);
    expect(arp.handleArp(1 * MS, ARP_OP_REPLY, PEER_MAC, 0, PEER_IP, OUR_IP, OUR_IP)).toBe(false);
    expect(arp.stateOf(PEER_IP)).toBe(ArpState.REACHABLE);
    expect(arp.lookup(2 * MS, PEER_IP, mac, 0)).toBe(true);
    expect(mac).toEqual(PEER_MAC);
    // Within refreshBeforeNs of expiry (1001 ms): still a hit, and one refresh request.
    expect(arp.lookup(850 * MS, PEER_IP, mac, 0)).toBe(true);
    expect(arp.lookup(851 * MS, PEER_IP, mac, 0)).toBe(true);
    expect(drain(arp)).toEqual([PEER_IP]);
    expect(arp.counters.refreshes).toBe(1);
    arp.handleArp(855 * MS, ARP_OP_REPLY, PEER_MAC, 0, PEER_IP, OUR_IP, OUR_IP);
    expect(arp.lookup(1500 * MS, PEER_IP, mac, 0)).toBe(true);
    expect(arp.counters.misses).toBe(1);
    // Idle past its lifetime (855 + 1000 ms): handleTimeout removes it.
    arp.handleTimeout(1856 * MS);
    expect(arp.stateOf(PEER_IP)).toBe(0);
    expect(arp.counters.expired).toBe(1);
  });

  it("answers requests for our address and learns the asker (RFC 826 merge); ignores requests for others", () => {
    const arp = resolver();
    expect(arp.handleArp(0, ARP_OP_REQUEST, PEER_MAC, 0, PEER_IP, OUR_IP, OUR_IP)).toBe(true);
    expect(arp.stateOf(PEER_IP)).toBe(ArpState.REACHABLE);
    expect(arp.handleArp(0, ARP_OP_REQUEST, PEER_MAC, 0, 0x0a000003, 0x0a000009, OUR_IP)).toBe(false);
    expect(arp.stateOf(0x0a000003)).toBe(0);
    expect(arp.counters.repliesNeeded).toBe(1);
  });

  it("static entries never expire and are not overwritten", () => {
    const arp = resolver();
    arp.addStatic(PEER_IP, PEER_MAC);
    arp.handleArp(0, ARP_OP_REPLY, new Uint8Array([9, 9, 9, 9, 9, 9]), 0, PEER_IP, OUR_IP, OUR_IP);
    const mac = new Uint8Array(6);
    expect(arp.lookup(1e15, PEER_IP, mac, 0)).toBe(true);
    expect(mac).toEqual(PEER_MAC);
    expect(arp.pollTimeout()).toBe(Number.POSITIVE_INFINITY);
    arp.flush();
    expect(arp.stateOf(PEER_IP)).toBe(ArpState.STATIC);
  });

  it("bounds the request queue and the table, counting what they refuse", () => {
    const arp = resolver();
    const mac = new Uint8Array(6);
    for (let i = 0; i < 6; i++) arp.lookup(0, PEER_IP + i, mac, 0);
    expect(arp.size).toBe(4);
    expect(arp.counters.tableFull).toBe(2);
    expect(arp.counters.requestQueueOverflows).toBe(2);
    expect(drain(arp)).toEqual([PEER_IP, PEER_IP + 1]);
  });

  test.prop([fc.constantFrom(ARP_OP_REQUEST, ARP_OP_REPLY), fc.uint8Array({ minLength: 6, maxLength: 6 }), fc.nat(0xffffffff),
    fc.uint8Array({ minLength: 6, maxLength: 6 }), fc.nat(0xffffffff)])("ARP frames round-trip", (op, sha, spa, tha, tpa) => {
    const frame = new Uint8Array(64);
    expect(writeArpFrame(frame, 2, op, op === ARP_OP_REQUEST ? BROADCAST_MAC : tha, 0, sha, 0, spa, op === ARP_OP_REQUEST ? ZERO_MAC : tha, 0, tpa))
      .toBe(ETHERNET_MIN_FRAME_LENGTH);
    const info = new ArpPacketInfo();
    expect(parseArp(frame, 16, 46, info)).toBe(true);
    expect(info.operation).toBe(op);
    expect(frame.subarray(info.senderMacOffset, info.senderMacOffset + 6)).toEqual(sha);
    expect(info.senderIp).toBe(spa);
    expect(info.targetIp).toBe(tpa);
    expect(parseArp(frame, 16, 27, info)).toBe(false);
  });

  test.prop([fc.nat(0xffffffff)])("multicast MAC = 01:00:5e + low 23 bits of the group", (ip) => {
    const mac = new Uint8Array(6);
    writeMulticastMac(ip, mac, 0);
    expect([mac[0], mac[1], mac[2]]).toEqual([1, 0, 0x5e]);
    expect(((mac[3]! << 16) | (mac[4]! << 8) | mac[5]!) >>> 0).toBe(ip & 0x7fffff);
    expect(isMulticastIp(ip)).toBe(ip >>> 28 === 0xe);
  });
});
