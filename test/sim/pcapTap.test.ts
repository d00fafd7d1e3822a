// Goal: the simulator's pcap tap writes a classic pcap that a reader accepts: Ethernet II with MACs
// derived from the IPv4 addresses, IPv4 and UDP headers with correct checksums (and a UDP checksum
// that fails for a datagram the link corrupted and dropped), simulated timestamps in ns or us,
// "sent" vs "delivered" modes as documented, and bounded memory (chunked sink, maxBytes cap).
import { describe, expect, it } from "vitest";
import {
  parseEthernetIpv4Udp,
  PacketStatus,
  UdpChecksumStatus,
  UdpPacketInfo,
  verifyIpv4HeaderChecksum,
  verifyUdpChecksum,
} from "../../src/net/ethernetIpv4Udp.js";
import { PcapReader, PCAP_MAGIC_MICROSECONDS, PCAP_MAGIC_NANOSECONDS } from "../../src/net/pcap.js";
import { simAddress } from "../../src/sim/address.js";
import { Verdict } from "../../src/sim/faults.js";
import { macForIpv4, MemoryPcapSink, PcapTap, type PcapByteSink } from "../../src/sim/pcapTap.js";
import { Simulation } from "../../src/sim/simulator.js";
import { ratio } from "../../src/sim/prng.js";
import { buildScenario, findScenario } from "../../src/cli/scenarios.js";

const A = simAddress(0x0a000001, 40000);
const B = simAddress(0x0a000002, 20121);
const PAYLOAD = Uint8Array.from({ length: 45 }, (_, i) => (i * 7 + 3) & 0xff);

function readAll(bytes: Uint8Array) {
  const reader = new PcapReader(bytes);
  const records: Array<{ ns: number; seconds: number; info: UdpPacketInfo; packet: Uint8Array }> = [];
  while (reader.next()) {
    const packet = reader.packet().slice();
    const info = new UdpPacketInfo();
    expect(parseEthernetIpv4Udp(packet, 0, packet.length, info)).toBe(PacketStatus.OK);
    records.push({ ns: reader.nanoseconds, seconds: reader.seconds, info, packet });
  }
  return { header: reader.header, records };
}

describe("PcapTap", () => {
  it("writes Ethernet/IPv4/UDP with valid checksums, derived MACs and ns timestamps", () => {
    const sink = new MemoryPcapSink(1 << 20);
    const tap = new PcapTap(sink, { epochSeconds: 1_700_000_000 });
    tap.record(1_234_567_891, A, B, PAYLOAD, 0, PAYLOAD.length, Verdict.DELIVERED);
    tap.record(2_000_000_000, B, A, PAYLOAD, 5, 20, Verdict.DROP_LOSS);
    tap.close();
    const bytes = sink.bytes();
    expect(new DataView(bytes.buffer).getUint32(0, true)).toBe(PCAP_MAGIC_NANOSECONDS);
    const { header, records } = readAll(bytes);
    expect(header.linkType).toBe(1);
    expect(records).toHaveLength(2);
    const [first, second] = records;
    expect(first!.seconds).toBe(1_700_000_001);
    expect(first!.ns).toBe(234_567_891);
    expect(second!.seconds).toBe(1_700_000_002);
    const mac = new Uint8Array(6);
    macForIpv4(A.ip, mac, 0);
    expect([...mac]).toEqual([0x02, 0x00, 10, 0, 0, 1]);
    expect([...first!.packet.subarray(6, 12)]).toEqual([...mac]);
    for (const r of records) {
      expect(verifyIpv4HeaderChecksum(r.packet, r.info.ipOffset, r.info.ipHeaderLength)).toBe(true);
      expect(verifyUdpChecksum(r.packet, r.info)).toBe(UdpChecksumStatus.VALID);
    }
    expect(first!.info.sourcePort).toBe(40000);
    expect(first!.info.destinationPort).toBe(20121);
    expect([...first!.packet.subarray(first!.info.payloadOffset)]).toEqual([...PAYLOAD]);
    expect([...second!.packet.subarray(second!.info.payloadOffset)]).toEqual([...PAYLOAD.subarray(5, 25)]);
    // IP identification counts per source.
    expect(tap.records).toBe(2);
  });

  it("gives a checksum-dropped datagram a failing UDP checksum, and multicast a 01:00:5e MAC", () => {
    const sink = new MemoryPcapSink(1 << 20);
    const tap = new PcapTap(sink, { nanosecond: false });
    tap.record(1500, A, B, PAYLOAD, 0, PAYLOAD.length, Verdict.DROP_CHECKSUM);
    tap.record(2500, A, simAddress(0xe0010203, 5000), PAYLOAD, 0, PAYLOAD.length, Verdict.DELIVERED_CORRUPT);
    tap.close();
    const bytes = sink.bytes();
    expect(new DataView(bytes.buffer).getUint32(0, true)).toBe(PCAP_MAGIC_MICROSECONDS);
    const { records } = readAll(bytes);
    expect(records[0]!.ns).toBe(1000);
    expect(verifyUdpChecksum(records[0]!.packet, records[0]!.info)).toBe(UdpChecksumStatus.INVALID);
    expect(verifyUdpChecksum(records[1]!.packet, records[1]!.info)).toBe(UdpChecksumStatus.VALID);
    expect([...records[1]!.packet.subarray(0, 6)]).toEqual([0x01, 0x00, 0x5e, 0x01, 0x02, 0x03]);
  });

  it("keeps only delivered copies in delivered mode and drops no-route unless asked", () => {
    const sink = new MemoryPcapSink(1 << 20);
    const tap = new PcapTap(sink, { mode: "delivered" });
    for (let verdict = 0; verdict <= Verdict.DROP_NO_ROUTE; verdict++) tap.record(verdict, A, B, PAYLOAD, 0, 10, verdict);
    expect(tap.records).toBe(2);
    const all = new PcapTap(new MemoryPcapSink(1 << 20));
    for (let verdict = 0; verdict <= Verdict.DROP_NO_ROUTE; verdict++) all.record(verdict, A, B, PAYLOAD, 0, 10, verdict);
    expect(all.records).toBe(Verdict.DROP_NO_ROUTE);
  });

  it("streams in chunks and stops at maxBytes, counting what it skipped", () => {
    const writes: number[] = [];
    const sink: PcapByteSink = { write: (b) => void writes.push(b.length) };
    const tap = new PcapTap(sink, { chunkBytes: 1024, maxBytes: 10_000 });
    for (let i = 0; i < 200; i++) tap.record(i * 1000, A, B, PAYLOAD, 0, PAYLOAD.length, Verdict.DELIVERED);
    tap.close();
    const total = writes.reduce((a, b) => a + b, 0);
    expect(total).toBe(tap.bytesWritten);
    expect(total).toBeLessThanOrEqual(10_000);
    expect(Math.max(...writes)).toBeLessThan(1024 + 200);
    expect(tap.records + tap.skipped).toBe(200);
    expect(tap.skipped).toBeGreaterThan(0);
  });

  it("in sent mode holds every datagram the links decided, once each, in time order", () => {
    const spec = findScenario("demo")!;
    const run = buildScenario({ ...spec, model: { latencyNs: 50_000, loss: ratio(5, 100) } }, { seed: 9, durationNs: 300_000_000 });
    const sink = new MemoryPcapSink(64 << 20);
    const tap = new PcapTap(sink).attach(run.sim);
    run.sim.runFor(300_000_000);
    tap.close();
    const sim: Simulation = run.sim;
    let sent = 0;
    for (const link of sim.links) sent += link.counters.sentPackets;
    // Every datagram offered to a link is in the file unless it is still in flight.
    expect(tap.records).toBe(sent - sim.inFlightDatagrams);
    const { records } = readAll(sink.bytes());
    for (let i = 1; i < records.length; i++) {
      const prev = records[i - 1]!;
      const cur = records[i]!;
      expect(cur.seconds * 1e9 + cur.ns).toBeGreaterThanOrEqual(prev.seconds * 1e9 + prev.ns);
    }
  });
});
