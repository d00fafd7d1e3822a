// Goal: a simulator pcap of two Petrel engines (a publication and a subscription over a lossy
// path with a partition, so NAKs, retransmits and heartbeats happen) is read by tshark's Aeron
// dissector with zero malformed packets and zero expert warnings or errors (IPv4 and UDP checksums
// checked), and the datagrams of each Aeron type in the file equal the engines' own counters:
// in "sent" mode what the engines sent, in "delivered" mode what they received.
// Without tshark the test fails under CI (CI=true) and is skipped locally with a message.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Counter, type Engine } from "../../src/core/engine/index.js";
import { PcapFileSink } from "../../src/cli/pcapFileSink.js";
import { buildScenario, STREAM_PORT, sumCounter, type ScenarioSpec } from "../../src/cli/scenarios.js";
import { PcapTap } from "../../src/sim/pcapTap.js";
import { ratio } from "../../src/sim/prng.js";

const tsharkVersion = spawnSync("tshark", ["--version"], { encoding: "utf8" });
const haveTshark = tsharkVersion.status === 0;
const inCi = process.env["CI"] === "true";
if (!haveTshark && !inCi) console.warn("pcapTshark.test: tshark not found; skipping (install it: apt-get install tshark). Under CI=true this fails.");

const LATENCY_NS = 100_000;
const SEED = 20260611;
// No bandwidth limit, jitter, reordering or duplication: a datagram sent at t arrives at exactly
// t + LATENCY_NS, which makes "what was in flight at the cut" exact (see the run below).
const SPEC: ScenarioSpec = {
  name: "tshark",
  description: "10% loss, a 300 ms partition",
  model: { latencyNs: LATENCY_NS, loss: ratio(10, 100) },
  messageBytes: 100,
  burstMessages: 6,
  burstIntervalNs: 250_000,
  faults: [
    { atFraction: 0.4, action: { kind: "partition", a: "pub", b: "sub" } },
    { atFraction: 0.55, action: { kind: "heal", a: "pub", b: "sub" } },
  ],
};

interface Classes {
  data: number;
  heartbeat: number;
  sm: number;
  nak: number;
  setup: number;
  rttm: number;
  other: number;
}

/** Counts datagrams by the Aeron frame types tshark found in them, per direction. */
function classify(file: string): { toSub: Classes; toPub: Classes; retransmissions: number } {
  const fields = ["udp.dstport", "aeron.data.term_offset", "aeron.pad.term_offset", "aeron.heartbeat.term_offset", "aeron.sm.session_id",
    "aeron.nak.session_id", "aeron.setup.session_id", "aeron.rtt.session_id", "aeron.sequence_analysis.retransmission"];
  const out = tshark(["-r", file, "-d", `udp.port==${STREAM_PORT},aeron`, "-o", "aeron.sequence_analysis:TRUE", "-T", "fields",
    ...fields.flatMap((f) => ["-e", f])]);
  const empty = (): Classes => ({ data: 0, heartbeat: 0, sm: 0, nak: 0, setup: 0, rttm: 0, other: 0 });
  const toSub = empty();
  const toPub = empty();
  let retransmissions = 0;
  for (const line of out.split("\n")) {
    if (line === "") continue;
    const [port, data, pad, heartbeat, sm, nak, setup, rtt, retransmission] = line.split("\t");
    const c = Number(port) === STREAM_PORT ? toSub : toPub;
    if (retransmission !== undefined && retransmission.split(",").includes("1")) retransmissions++;
    if (heartbeat !== "") c.heartbeat++;
    else if (data !== "" || pad !== "") c.data++;
    else if (sm !== "") c.sm++;
    else if (nak !== "") c.nak++;
    else if (setup !== "") c.setup++;
    else if (rtt !== "") c.rttm++;
    else c.other++;
  }
  return { toSub, toPub, retransmissions };
}

function tshark(args: string[]): string {
  const result = spawnSync("tshark", args, { encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
  if (result.status !== 0) throw new Error(`tshark ${args.join(" ")} failed (${result.status}): ${result.stderr}`);
  return result.stdout;
}

/** Malformed packets and expert items at warning severity or above (checksums verified). */
function problems(file: string): { malformed: number; warnings: string } {
  const common = ["-r", file, "-d", `udp.port==${STREAM_PORT},aeron`, "-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE",
    "-o", "aeron.sequence_analysis:TRUE"];
  const malformed = tshark([...common, "-Y", "_ws.malformed || _ws.expert.severity >= warning"]).split("\n").filter((l) => l !== "").length;
  const expert = tshark([...common, "-q", "-z", "expert"]);
  // The expert report groups items under "Errors (n)", "Warnings (n)", "Notes (n)", "Chats (n)".
  const warnings = expert.split("\n").filter((l) => /^(Errors|Warnings) \(\d+\)/.test(l)).join("; ");
  return { malformed, warnings };
}

const dir = mkdtempSync(join(tmpdir(), "petrel-pcap-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!haveTshark && !inCi)("simulator pcap read by tshark's Aeron dissector", () => {
  it("has no malformed packets or warnings, and per-type counts equal the engines' counters", () => {
    expect(haveTshark, "tshark is required under CI (apt-get install tshark)").toBe(true);
    const durationNs = 2_000_000_000;
    const run = buildScenario(SPEC, { seed: SEED, durationNs });
    const sentFile = join(dir, "sent.pcap");
    const deliveredFile = join(dir, "delivered.pcap");
    // The cut: counters are read at cutNs; the run goes on for one latency so that every datagram
    // sent by then has arrived (and is written). Datagrams sent after the cut either arrive after
    // the end (not written) or are dropped at send time (kept out by this filter).
    let afterCut = false;
    const sent = new PcapTap(new PcapFileSink(sentFile), { mode: "sent", filter: (_f, _t, verdict) => !(afterCut && verdict >= 2) });
    const delivered = new PcapTap(new PcapFileSink(deliveredFile), { mode: "delivered", nanosecond: false });
    run.sim.setTap((...args) => {
      sent.tap(...args);
      delivered.tap(...args);
    });
    run.sim.runFor(durationNs);
    const pub = run.engines.pub;
    const sub = run.engines.sub;
    const sentCounts = snapshot(pub, sub);
    afterCut = true;
    run.sim.runFor(LATENCY_NS);
    const receivedCounts = snapshot(pub, sub);
    sent.close();
    delivered.close();

    // The run itself did what the test needs: loss, NAKs, retransmits, a partition (heartbeats).
    expect(run.log.delivered).toBeGreaterThan(1000);
    expect(sentCounts.naksSent).toBeGreaterThan(10);
    expect(sentCounts.retransmits).toBeGreaterThan(10);
    expect(sentCounts.heartbeats).toBeGreaterThan(0);

    for (const file of [sentFile, deliveredFile]) {
      const p = problems(file);
      expect(p.malformed, `${file}: malformed or warned packets`).toBe(0);
      expect(p.warnings, `${file}: expert warnings`).toBe("");
    }

    const s = classify(sentFile);
    expect(s.toSub).toEqual({
      data: sentCounts.dataFrames + sentCounts.retransmits,
      heartbeat: sentCounts.heartbeats,
      sm: 0,
      nak: 0,
      setup: sentCounts.setups,
      rttm: sentCounts.pubRttm,
      other: 0,
    });
    expect(s.toPub).toEqual({ data: 0, heartbeat: 0, sm: sentCounts.smsSent, nak: sentCounts.naksSent, setup: 0, rttm: sentCounts.subRttm, other: 0 });
    expect(s.toSub.data + s.toSub.heartbeat + s.toSub.setup + s.toSub.rttm).toBe(sentCounts.pubDatagrams);
    expect(s.toPub.sm + s.toPub.nak + s.toPub.rttm).toBe(sentCounts.subDatagrams);
    console.log(`tshark, sent mode: to sub ${JSON.stringify(s.toSub)}, to pub ${JSON.stringify(s.toPub)}; ` +
      `tshark-flagged retransmissions ${s.retransmissions} vs engine retransmits ${sentCounts.retransmits}`);

    const d = classify(deliveredFile);
    expect(d.toPub.sm).toBe(receivedCounts.smsReceived);
    expect(d.toPub.nak).toBe(receivedCounts.naksReceived);
    expect(d.toSub.setup).toBe(receivedCounts.setupsReceived);
    expect(d.toSub.data + d.toSub.heartbeat + d.toSub.setup + d.toSub.rttm).toBe(receivedCounts.subDatagramsReceived);
    expect(d.toPub.sm + d.toPub.nak + d.toPub.rttm).toBe(receivedCounts.pubDatagramsReceived);
    // Loss happened: fewer delivered than sent.
    expect(d.toSub.data).toBeLessThan(s.toSub.data);
  });
});

function snapshot(pub: Engine[], sub: Engine[]) {
  return {
    dataFrames: sumCounter(pub, Counter.DATA_FRAMES_SENT),
    retransmits: sumCounter(pub, Counter.RETRANSMITS_SENT),
    heartbeats: sumCounter(pub, Counter.HEARTBEATS_SENT),
    setups: sumCounter(pub, Counter.SETUPS_SENT),
    pubRttm: sumCounter(pub, Counter.RTTM_SENT),
    subRttm: sumCounter(sub, Counter.RTTM_SENT),
    smsSent: sumCounter(sub, Counter.STATUS_MESSAGES_SENT),
    naksSent: sumCounter(sub, Counter.NAKS_SENT),
    pubDatagrams: sumCounter(pub, Counter.DATAGRAMS_SENT),
    subDatagrams: sumCounter(sub, Counter.DATAGRAMS_SENT),
    smsReceived: sumCounter(pub, Counter.STATUS_MESSAGES_RECEIVED),
    naksReceived: sumCounter(pub, Counter.NAKS_RECEIVED),
    setupsReceived: sumCounter(sub, Counter.SETUPS_RECEIVED),
    subDatagramsReceived: sumCounter(sub, Counter.DATAGRAMS_RECEIVED),
    pubDatagramsReceived: sumCounter(pub, Counter.DATAGRAMS_RECEIVED),
  };
}
