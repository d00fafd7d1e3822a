// Goal: a capture of Aeron traffic replays into an engine playing one end, and what that engine
// would have done is what Aeron's own receiver and sender did with the same traffic. On the
// reference captures (test/fixtures/README.md): as a subscriber of each unicast stream it delivers
// every message the sample programs sent (2000 x 32 B on 1003, 300 x 1400 B on 1002) and sends
// status messages to the publisher's port; on the multicast capture it does the same with its SMs
// going to the control group 224.0.1.2; as the publisher of stream 1001 it takes the session of
// the capture's SETUP, sends its own SETUP and heartbeats to the channel's endpoint. A file that
// is not a capture, and a stream the capture has no SETUP for, are typed errors naming the file.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { PcapReplayError, replayPcap } from "../../src/journal/pcapReplay.js";

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
});
