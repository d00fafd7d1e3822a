// Goal: `petrel replay capture.pcap` (replayPcap) on a fresh capture of a live Aeron C run, not only
// on the reference captures in test/fixtures. Two Aeron C media drivers on loopback, one per side,
// the subscriber's dropping 5% of incoming data frames in Aeron's loss interceptor (so the capture
// holds real NAKs and retransmissions); the C clients (test/interop/clients) publish COUNT
// messages under the interop content rule and check them on the other side. dumpcap records the
// channel's traffic twice at once: on `lo` (link type Ethernet) and on `any` as Linux SLL2. The
// capture's start and end are fixed by marker datagrams sent to a port nobody listens on: each
// capture is live once the start marker is in its file, and has everything up to the end of the
// run once the end marker is (dumpcap writes packets in the order the kernel saw them).
// Then, for each capture:
//  - as a subscriber the engine delivers all COUNT messages, each byte-exact against the content
//    rule, exactly once and in order;
//  - as a publisher it takes the session and term geometry of Aeron's SETUP and is handed every SM
//    and NAK of Aeron's receiver, and shows it: it sends SETUPs until the first SM connects it and
//    heartbeats only after, and takes each NAK but resends nothing (its log is empty and every
//    NAK is past its position).
// Skipped with a printed reason when PETREL_AERON_BIN is unset or dumpcap is missing or cannot
// capture; with PETREL_REQUIRE_AERON=1 (CI) either is a failure instead.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import dgram from "node:dgram";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { replayPcap } from "../../src/journal/pcapReplay.js";
import { PacketStatus, parseLinkIpv4Udp, UdpPacketInfo } from "../../src/net/ethernetIpv4Udp.js";
import { PcapReader } from "../../src/net/pcap.js";
import { freeUdpPort, StreamChecker } from "../drivers/streamSupport.js";
import { buildClients, Client, interopLengths, interopSkipReason, MediaDriver } from "./aeronPeer.js";

const SEED = Number(process.env["PETREL_SEED"] ?? 20261206);
const STREAM = 1001;
const COUNT = 4000;
/** Up to 3 KiB: with Aeron's default MTU (1408) the longer messages travel as 2 or 3 fragments. */
const MAX_LENGTH = 3000;
const CLIENT_TIMEOUT_S = 90;
const LOSS = `rate=0.05|seed=${SEED}|recv-msg-mask=0x3`;

/** Why dumpcap cannot capture loopback traffic here, or undefined when it can. */
function dumpcapSkipReason(): string | undefined {
  const listed = spawnSync("dumpcap", ["-D"], { encoding: "utf8", timeout: 30_000 });
  if (listed.error !== undefined) {
    return (listed.error as NodeJS.ErrnoException).code === "ENOENT"
      ? "dumpcap is not installed (Debian: apt-get install tshark)"
      : `dumpcap -D failed: ${listed.error.message}`;
  }
  if (listed.status !== 0 || !/\blo\b/.test(listed.stdout) || !/\bany\b/.test(listed.stdout)) {
    return `dumpcap cannot capture on lo and any here (it needs root or CAP_NET_RAW): ${listed.stderr.trim() || listed.stdout.trim()}`;
  }
  return undefined;
}

const skipReason = interopSkipReason() ?? dumpcapSkipReason();
if (skipReason !== undefined) console.log(`replaying a capture of Aeron skipped: ${skipReason}`);
/** CI sets PETREL_REQUIRE_AERON=1: there a missing peer (or dumpcap) is a failure, not a skip. */
const requireAeron = process.env["PETREL_REQUIRE_AERON"] === "1";

describe.runIf(skipReason !== undefined && requireAeron)("replaying a capture of Aeron, required here", () => {
  it("has the Aeron peer and dumpcap", () => {
    throw new Error(`PETREL_REQUIRE_AERON=1 but ${skipReason}`);
  });
});

/** Polls `condition` every 50 ms until it holds; throws `what()` after `timeoutMs`. */
async function waitFor(condition: () => boolean, timeoutMs: number, what: () => string, each?: () => void): Promise<void> {
  const started = Date.now();
  for (;;) {
    each?.();
    if (condition()) return;
    if (Date.now() - started > timeoutMs) throw new Error(`${what()} (after ${timeoutMs} ms)`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** dumpcap writing a classic pcap of the UDP traffic on some ports. */
class Capture {
  private readonly child: ChildProcess;
  private stderr = "";
  private exitCode: number | null | undefined;
  private readonly exited: Promise<void>;

  constructor(readonly file: string, iface: string, linkType: string | undefined, ports: ReadonlyArray<number>) {
    // -P classic pcap, -q no packet count, -B 64 MiB kernel buffer so a busy loopback drops nothing.
    const args = ["-i", iface, ...(linkType === undefined ? [] : ["-y", linkType]), "-P", "-q", "-B", "64",
      "-f", ports.map((p) => `udp port ${p}`).join(" or "), "-w", file];
    this.child = spawn("dumpcap", args, { stdio: ["ignore", "ignore", "pipe"] });
    this.child.stderr!.on("data", (chunk: Buffer) => (this.stderr += chunk.toString()));
    this.exited = new Promise((resolve) => {
      this.child.on("exit", (code) => {
        this.exitCode = code;
        resolve();
      });
      this.child.on("error", (error) => {
        this.stderr += error.message;
        this.exitCode = -1;
        resolve();
      });
    });
  }

  /** True once the file holds `marker` (dumpcap writes each packet to the file as it reads it). */
  holds(marker: Buffer): boolean {
    if (this.exitCode !== undefined) throw new Error(`dumpcap for ${this.file} exited (${this.exitCode}): ${this.stderr}`);
    try {
      return readFileSync(this.file).includes(marker);
    } catch {
      return false;
    }
  }

  /** Stops dumpcap (SIGINT: it closes the file) and returns what it printed. */
  async stop(): Promise<string> {
    if (this.exitCode === undefined) {
      this.child.kill("SIGINT");
      const timer = setTimeout(() => this.child.kill("SIGKILL"), 10_000);
      await this.exited;
      clearTimeout(timer);
    }
    return this.stderr;
  }
}

interface CapturedFrames {
  linkType: number;
  setup: number;
  sm: number;
  nak: number;
  /** Data frames (with payload) for a term offset already seen: retransmissions. */
  retransmits: number;
  /** The session id of the first SETUP. */
  setupSessionId: number;
  /** When the first SM was captured, in seconds from the capture's first packet (as replayPcap counts). */
  firstSmSeconds: number;
}

/** Counts the Aeron frames in a capture's datagrams on `port` (to or from it), by frame type. */
function framesOnPort(bytes: Uint8Array, port: number): CapturedFrames {
  const reader = new PcapReader(bytes);
  const info = new UdpPacketInfo();
  const counts: CapturedFrames = { linkType: reader.header.linkType, setup: 0, sm: 0, nak: 0, retransmits: 0, setupSessionId: 0, firstSmSeconds: -1 };
  const seen = new Set<string>();
  let startNs = -1;
  while (reader.next()) {
    const timeNs = reader.seconds * 1e9 + reader.nanoseconds;
    if (startNs < 0) startNs = timeNs;
    if (parseLinkIpv4Udp(reader.header.linkType, reader.bytes, reader.packetOffset, reader.capturedLength, info) !== PacketStatus.OK) continue;
    if (info.destinationPort !== port && info.sourcePort !== port) continue;
    const view = new DataView(reader.bytes.buffer, reader.bytes.byteOffset + info.payloadOffset, info.payloadLength);
    for (let at = 0; at + 8 <= info.payloadLength;) {
      const length = view.getInt32(at, true);
      const type = view.getUint16(at + 6, true);
      if (type === 5 && counts.setup++ === 0) counts.setupSessionId = view.getInt32(at + 12, true);
      if (type === 3 && counts.sm++ === 0) counts.firstSmSeconds = (timeNs - startNs) / 1e9;
      if (type === 2) counts.nak++;
      if (type === 1 && length > 32) {
        const key = `${view.getInt32(at + 20, true)}:${view.getInt32(at + 8, true)}`;
        if (seen.has(key)) counts.retransmits++;
        seen.add(key);
      }
      at += (Math.max(length, 8) + 31) & ~31;
    }
  }
  return counts;
}

describe.skipIf(skipReason !== undefined)("replaying a fresh capture of a live Aeron C run", () => {
  let clients: ReturnType<typeof buildClients> | undefined;
  let dir = "";
  let port = 0;
  let failed = false;
  const captures: { name: string; file: string; linkType: number }[] = [
    { name: "lo (Ethernet)", file: "", linkType: 1 },
    { name: "any (Linux SLL2)", file: "", linkType: 276 },
  ];

  beforeAll(async () => {
    clients = buildClients();
    dir = mkdtempSync(join(tmpdir(), "petrel-capture-"));
    port = await freeUdpPort();
    const markerPort = await freeUdpPort();
    captures[0]!.file = join(dir, "lo.pcap");
    captures[1]!.file = join(dir, "any.pcap");
    const dumps = [
      new Capture(captures[0]!.file, "lo", undefined, [port, markerPort]),
      new Capture(captures[1]!.file, "any", "LINUX_SLL2", [port, markerPort]),
    ];
    const marker = dgram.createSocket("udp4");
    await new Promise<void>((resolve) => marker.bind(0, "127.0.0.1", resolve));
    const nonce = `${process.pid}-${Date.now()}`;
    const mark = async (text: string): Promise<void> => {
      const payload = Buffer.from(`petrel capture ${text} ${nonce}`);
      // Nobody listens on markerPort: the kernel answers with ICMP, which the filter leaves out.
      await waitFor(() => dumps.every((d) => d.holds(payload)), 60_000, () => `the ${text} marker never reached the captures`,
        () => marker.send(payload, markerPort, "127.0.0.1"));
    };
    const subscriberDriver = new MediaDriver({
      AERON_UDP_CHANNEL_INCOMING_INTERCEPTORS: "loss",
      AERON_UDP_CHANNEL_TRANSPORT_BINDINGS_LOSS_ARGS: LOSS,
    });
    const publisherDriver = new MediaDriver();
    failed = true;
    try {
      await subscriberDriver.ready();
      await publisherDriver.ready();
      await mark("start");
      const channel = `aeron:udp?endpoint=127.0.0.1:${port}`;
      const args = (aeronDir: string): string[] => [aeronDir, channel, String(STREAM), String(COUNT), String(MAX_LENGTH), String(CLIENT_TIMEOUT_S)];
      const subscriber = new Client(clients.sub, args(subscriberDriver.aeronDir));
      await waitFor(() => subscriber.output.includes("ready") || subscriber.exited, 60_000, () => "the C subscriber never became ready");
      if (subscriber.exited) throw new Error(`the C subscriber exited early: ${JSON.stringify(await subscriber.done)}`);
      const publisher = new Client(clients.pub, args(publisherDriver.aeronDir));
      const [sub, pub] = await Promise.all([subscriber.done, publisher.done]);
      expect(sub.stderr).toBe("");
      expect(sub.code).toBe(0);
      expect(sub.stdout).toContain(`verified ${COUNT}`);
      expect(pub.stderr).toBe("");
      expect(pub.code).toBe(0);
      await mark("end");
      failed = false;
    } finally {
      const reports = await Promise.all(dumps.map((d) => d.stop()));
      marker.close();
      await publisherDriver.close();
      await subscriberDriver.close();
      for (const report of reports) {
        // "Packets received/dropped on interface 'lo': 5230/0 (...)": a dropped packet would be a gap.
        const dropped = /received\/dropped on interface '[^']*': \d+\/(\d+)/.exec(report);
        if (dropped !== null && dropped[1] !== "0") throw new Error(`dumpcap dropped packets: ${report}`);
      }
    }
  }, 240_000);

  afterAll(() => {
    if (clients !== undefined) rmSync(clients.dir, { recursive: true, force: true });
    if (dir === "") return;
    if (failed) console.log(`the captures are kept in ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  });

  for (const [index, capture] of captures.entries()) {
    const keepOnFailure = (): void => onTestFailed(() => void (failed = true));
    it(`${capture.name}: the capture holds Aeron's SETUP, SMs, NAKs and retransmissions`, () => {
      keepOnFailure();
      const bytes = new Uint8Array(readFileSync(captures[index]!.file));
      const frames = framesOnPort(bytes, port);
      console.log(`capture on ${capture.name}: ${bytes.length} bytes, ${frames.setup} SETUPs, ${frames.sm} SMs, ${frames.nak} NAKs, ` +
        `${frames.retransmits} retransmitted data frames`);
      expect(frames.linkType).toBe(capture.linkType);
      expect(frames.setup).toBeGreaterThan(0);
      expect(frames.sm).toBeGreaterThan(0);
      // 5% of the data frames were dropped after capture: the receiver NAKed them, the sender resent.
      expect(frames.nak).toBeGreaterThan(0);
      expect(frames.retransmits).toBeGreaterThan(0);
    });

    it(`${capture.name}: as a subscriber, every message is delivered byte-exact, once, in order`, () => {
      keepOnFailure();
      const file = captures[index]!.file;
      const checker = new StreamChecker(interopLengths(COUNT, MAX_LENGTH));
      const result = replayPcap(file, new Uint8Array(readFileSync(file)), {
        as: "subscriber", channel: `aeron:udp?endpoint=127.0.0.1:${port}`, streamId: STREAM, onMessage: checker.handler,
      });
      expect(checker.failures).toEqual([]);
      expect(checker.received).toBe(COUNT);
      expect(result.messages).toBe(COUNT);
      expect(result.messageBytes).toBe(interopLengths(COUNT, MAX_LENGTH).reduce((a, b) => a + b, 0));
      expect(result.sent.sm).toBeGreaterThan(0);
      // Nothing was lost before the capture: the engine saw every datagram and asked for none again.
      expect(result.sent.nak).toBe(0);
    });

    it(`${capture.name}: as a publisher, the engine takes Aeron's SETUP, is connected by its SMs and takes its NAKs`, () => {
      keepOnFailure();
      const file = captures[index]!.file;
      const bytes = new Uint8Array(readFileSync(file));
      const frames = framesOnPort(bytes, port);
      const lines: string[] = [];
      const result = replayPcap(file, bytes, {
        as: "publisher", channel: `aeron:udp?endpoint=127.0.0.1:${port}`, streamId: STREAM, onLine: (l) => lines.push(l),
      });
      const context = lines.slice(0, 30).join("\n");
      expect(result.session?.sessionId, context).toBe(frames.setupSessionId);
      // Every SM and NAK of Aeron's receiver was handed to the engine, which took it as one.
      expect(result.received.sm).toBe(frames.sm);
      expect(result.received.nak).toBe(frames.nak);
      // Its log is empty and its position the SETUP's: each NAK is past it, and nothing is resent.
      expect(result.received.nak).toBeGreaterThan(0);
      expect(result.retransmitsSent).toBe(0);
      expect(result.sent.nak + result.sent.sm + result.sent.rttm + result.sent.other).toBe(0);
      // SETUPs (to the channel's endpoint, for the capture's session) until the first SM connects
      // it, heartbeats after: none before.
      const at = (line: string): number => Number(/^t=(\d+\.\d+)/.exec(line)![1]);
      const setups = lines.filter((l) => l.includes(" SETUP "));
      const heartbeats = lines.filter((l) => l.includes(" HEARTBEAT "));
      expect(setups.length, context).toBeGreaterThan(0);
      expect(setups[0], context).toMatch(new RegExp(`SETUP session ${frames.setupSessionId} stream ${STREAM} .* -> 127\\.0\\.0\\.1:${port}$`));
      expect(at(setups[0]!), context).toBeLessThanOrEqual(frames.firstSmSeconds);
      expect(heartbeats.length, context).toBeGreaterThan(0);
      expect(heartbeats.every((l) => at(l) >= frames.firstSmSeconds - 1e-6), context).toBe(true);
      expect(result.sent.data).toBe(heartbeats.length);
    });
  }
});
