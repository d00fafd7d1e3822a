// Goal: a capture of Aeron traffic replays into an engine playing one end, and what that engine
// would have done is what Aeron's own receiver and sender did with the same traffic. On the
// reference captures (test/fixtures/README.md): as a subscriber of each unicast stream it delivers
// every message the sample programs sent (2000 x 32 B on 1003, 300 x 1400 B on 1002) and sends
// status messages to the publisher's port; on the multicast capture it does the same with its SMs
// going to the control group 224.0.1.2; as the publisher of stream 1001 it takes the session of
// the capture's SETUP, sends its own SETUP and heartbeats to the channel's endpoint. The same
// capture rewritten to each other supported link type (Linux SLL and SLL2, raw IP, BSD NULL in
// either byte order, LOOP) replays to the same result; an unsupported link type, a file that is
// not a capture, and a stream the capture has no SETUP for are typed errors naming the file (and
// the link type). onMessage sees each delivered message's bytes, in order.
// (A fresh capture of a live Aeron C run: test/interop/aeronCaptureReplay.test.ts.)
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { PcapReplayError, replayPcap } from "../../src/journal/pcapReplay.js";
import { GrowableByteSink, PcapReader, PcapWriter } from "../../src/net/pcap.js";

const fixtures = join(import.meta.dirname, "..", "fixtures");
const unicast = new Uint8Array(readFileSync(join(fixtures, "aeron-unicast-loss.pcap")));
const multicast = new Uint8Array(readFileSync(join(fixtures, "aeron-multicast-loss.pcap")));
const UNICAST = "aeron:udp?endpoint=127.0.0.1:20121";

describe("replaying a capture", () => {
  it("as a subscriber delivers every message of each unicast stream and sends SMs", () => {
    const lines: string[] = [];
    const small = replayPcap("unicast", unicast, { as: "subscriber", channel: UNICAST, streamId: 1003, onLine: (l) => lines.push(l) });
    expect(small.messages).toBe(2000);
    expect(small.messageBytes).toBe(2000 * 32);
    expect(small.sent.sm).toBeGreaterThan(0);
    expect(lines.some((l) => /SM {4}session -?\d+ stream 1003 .* -> 127\.0\.0\.1:\d+/.test(l))).toBe(true);
    expect(lines.some((l) => /delivered 22 message\(s\), 704 B/.test(l))).toBe(true);
    const large = replayPcap("unicast", unicast, { as: "subscriber", channel: UNICAST, streamId: 1002 });
    expect(large.messages).toBe(300);
    expect(large.messageBytes).toBe(300 * 1400);
  });

  it("as a multicast subscriber sends its SMs to the control group", () => {
    const lines: string[] = [];
    const result = replayPcap("multicast", multicast, {
      as: "subscriber", channel: "aeron:udp?endpoint=224.0.1.1:40456|interface=127.0.0.1", streamId: 1003, onLine: (l) => lines.push(l),
    });
    expect(result.messages).toBe(2000);
    expect(lines.filter((l) => l.includes(" SM ")).every((l) => l.endsWith("-> 224.0.1.2:40456"))).toBe(true);
    expect(result.sent.sm).toBeGreaterThan(0);
  });

  it("as a publisher takes the capture's session and sends SETUP and heartbeats", () => {
    const lines: string[] = [];
    const result = replayPcap("unicast", unicast, { as: "publisher", channel: UNICAST, streamId: 1001, onLine: (l) => lines.push(l) });
    expect(result.session).toBeDefined();
    expect(result.fed).toBeGreaterThan(0);
    expect(result.sent.setup).toBeGreaterThanOrEqual(1);
    expect(lines[0]).toMatch(new RegExp(`SETUP session ${result.session!.sessionId} stream 1001 .* -> 127\\.0\\.0\\.1:20121`));
    expect(lines.some((l) => l.includes("HEARTBEAT"))).toBe(true);
  });

  it("names the file when it is not a capture or has no SETUP for the stream", () => {
    expect(() => replayPcap("notes.txt", new TextEncoder().encode("not a capture at all"), { as: "subscriber", channel: UNICAST, streamId: 1 }))
      .toThrowError(PcapReplayError);
    expect(() => replayPcap("unicast.pcap", unicast, { as: "publisher", channel: UNICAST, streamId: 4242 }))
      .toThrowError(/unicast\.pcap: no SETUP for stream 4242/);
  });

  it("hands onMessage each delivered message's bytes, in order", () => {
    const texts: string[] = [];
    const result = replayPcap("unicast", unicast, {
      as: "subscriber", channel: UNICAST, streamId: 1001,
      onMessage: (buffer, offset, length) => texts.push(new TextDecoder().decode(buffer.subarray(offset, offset + length))),
    });
    expect(texts).toEqual(["Hello World! 1", "Hello World! 2", "Hello World! 3"]);
    expect(result.messages).toBe(3);
    let bytes = 0;
    replayPcap("unicast", unicast, { as: "subscriber", channel: UNICAST, streamId: 1002, onMessage: (_b, _o, length) => (bytes += length) });
    expect(bytes).toBe(300 * 1400);
  });

  // The Ethernet capture with each packet's 14-byte Ethernet header replaced by `header`.
  function relinked(linkType: number, header: Uint8Array): Uint8Array {
    const reader = new PcapReader(unicast);
    const writer = new PcapWriter(new GrowableByteSink(unicast.length + 4096), { linkType });
    while (reader.next()) {
      const ip = reader.packet().subarray(14);
      const packet = new Uint8Array(header.length + ip.length);
      packet.set(header);
      packet.set(ip, header.length);
      writer.writeRecord(reader.seconds, reader.fraction, packet);
    }
    return writer.sink.toUint8Array();
  }

  const sll = new Uint8Array(16);
  sll.set([0, 0, 0x03, 0x04, 0, 6], 0);
  sll.set([0x08, 0x00], 14);
  const sll2 = new Uint8Array(20);
  sll2.set([0x08, 0x00, 0, 0, 0, 0, 0, 1, 0x03, 0x04, 0, 6]);
  const linkTypes: ReadonlyArray<[string, number, Uint8Array]> = [
    ["Linux SLL", 113, sll],
    ["Linux SLL2", 276, sll2],
    ["raw IP", 101, new Uint8Array(0)],
    ["NULL, little-endian family", 0, Uint8Array.of(2, 0, 0, 0)],
    ["NULL, big-endian family", 0, Uint8Array.of(0, 0, 0, 2)],
    ["LOOP", 108, Uint8Array.of(0, 0, 0, 2)],
  ];
  const reference = replayPcap("unicast", unicast, { as: "subscriber", channel: UNICAST, streamId: 1003 });
  for (const [name, linkType, header] of linkTypes) {
    it(`reads the capture as link type ${linkType} (${name}) as it reads Ethernet`, () => {
      const result = replayPcap(name, relinked(linkType, header), { as: "subscriber", channel: UNICAST, streamId: 1003 });
      expect(result).toEqual(reference);
      expect(result.messages).toBe(2000);
    });
  }

  it("skips packets of another address family or protocol in a NULL or SLL2 capture", () => {
    const ipv6 = replayPcap("null6", relinked(0, Uint8Array.of(24, 0, 0, 0)), { as: "subscriber", channel: UNICAST, streamId: 1003 });
    expect([ipv6.packets, ipv6.fed, ipv6.messages]).toEqual([reference.packets, 0, 0]);
    const arp = sll2.slice();
    arp[1] = 0x06;
    const notIp = replayPcap("sll2arp", relinked(276, arp), { as: "subscriber", channel: UNICAST, streamId: 1003 });
    expect([notIp.fed, notIp.messages]).toEqual([0, 0]);
  });

  it("names the file and the link type when the link type is not supported", () => {
    const wifi = relinked(105, new Uint8Array(24));
    expect(() => replayPcap("air.pcap", wifi, { as: "subscriber", channel: UNICAST, streamId: 1003 }))
      .toThrowError(PcapReplayError);
    expect(() => replayPcap("air.pcap", wifi, { as: "publisher", channel: UNICAST, streamId: 1001 }))
      .toThrowError(/^air\.pcap: link type 105 is not supported \(supported: 0 NULL .*276 Linux SLL2\)$/);
  });
});
