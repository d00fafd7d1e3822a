// A pcap as the report's input: every UDP datagram in it (Ethernet, raw IP or Linux SLL) goes to
// AeronFrameSamples, stamped with its capture time less the first record's. Datagrams that are not
// Aeron are counted and left out. Drops, the receiver's high-water mark and the applications'
// positions are inside the hosts, so a capture has none of them: they are declared absent.
import { existsSync, readFileSync, statSync } from "node:fs";
import { basename } from "node:path";
import { PacketStatus, parseLinkIpv4Udp, UdpPacketInfo } from "../net/ethernetIpv4Udp.js";
import { PcapFormatError, PcapReader } from "../net/pcap.js";
import { AeronFrameSamples } from "./aeronFrameSamples.js";
import { ReportInputError } from "./reportErrors.js";
import { ReportSeriesBuilder, type ReportSeries, type ReportSeriesOptions } from "./reportSeries.js";
import { ProgressMeter, type ReportProgress } from "./progress.js";

export interface PcapReportOptions extends Partial<ReportSeriesOptions> {
  readonly progress?: ReportProgress | null;
}

/** Reads the pcap at `path` into report series; a missing file or one that is not a pcap fails with a ReportInputError. */
export function pcapReportSeries(path: string, options: PcapReportOptions = {}): ReportSeries {
  if (!existsSync(path)) throw new ReportInputError("missing-file", `'${path}' does not exist (give a scenario name, a .pcap file or a journal)`);
  if (!statSync(path).isFile()) throw new ReportInputError("missing-file", `'${path}' is not a file`);
  const data = readFileSync(path);
  let reader: PcapReader;
  try {
    reader = new PcapReader(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  } catch (error) {
    if (error instanceof PcapFormatError) throw new ReportInputError("not-pcap", `'${path}' is not a pcap file (nor a journal: no PETRELJ1 magic): ${error.message}`);
    throw error;
  }
  return readerReportSeries(reader, basename(path), options);
}

/** The series of a pcap already in memory (`name` labels it). */
export function readerReportSeries(reader: PcapReader, name: string, options: PcapReportOptions = {}): ReportSeries {
  const builder = new ReportSeriesBuilder(
    {
      kind: "pcap",
      name,
      details: [],
      notes: [
        "Positions, windows, NAKs and RTTs are read from the frames in the capture; the flow-control limit is the last status message's position plus its window.",
        "Retransmits are datagrams with a data frame that starts below the furthest position already seen (a resend, or a datagram reordered before the capture point).",
        "The receiver's position is its last status message's: a stall in a capture is a stretch with no status message showing progress while data was sent.",
      ],
    },
    options,
  );
  // Inside the hosts, not on the wire: declared absent (no series, no totals), not drawn as zeros.
  builder.absent("drops", "datagrams dropped on the way or by a host are not in a capture (a capture point sees what passed it)");
  builder.absent("receiverHwm", "the receiver's high-water mark is inside its host; the capture shows the data sent and the status messages");
  builder.absent("subscriberPosition", "what the receiving application read is inside its host; the capture shows the receiver's status messages");
  builder.absent("publisherPosition", "what the publishing application appended is inside its host; the capture shows the data sent");
  const samples = new AeronFrameSamples(builder);
  const info = new UdpPacketInfo();
  const meter = new ProgressMeter(options.progress ?? null, "records");
  let firstSeconds = -1;
  let firstNs = 0;
  let endNs = 0;
  let records = 0;
  let notUdp = 0;
  try {
    // Bounded by the file: each next() consumes one record or ends.
    while (reader.next()) {
      records++;
      if (firstSeconds < 0) {
        firstSeconds = reader.seconds;
        firstNs = reader.nanoseconds;
      }
      const timeNs = Math.max(0, (reader.seconds - firstSeconds) * 1e9 + (reader.nanoseconds - firstNs));
      if (timeNs > endNs) endNs = timeNs;
      const status = parseLinkIpv4Udp(reader.header.linkType, reader.bytes, reader.packetOffset, reader.capturedLength, info);
      if (status !== PacketStatus.OK) {
        notUdp++;
        continue;
      }
      samples.onDatagram(timeNs, info, reader.bytes, info.payloadOffset, info.payloadLength);
      builder.advance(timeNs);
      if ((records & 0x3fff) === 0) meter.update(reader.packetOffset / reader.bytes.length, `${records} records`);
    }
  } catch (error) {
    if (error instanceof PcapFormatError) throw new ReportInputError("not-pcap", `'${name}' is not a readable pcap: ${error.message}`);
    throw error;
  } finally {
    meter.done();
  }
  const details = [
    `${records} records over ${(endNs / 1e9).toFixed(3)} s, ${samples.datagrams} UDP datagrams (${samples.notAeron} not Aeron), ${notUdp} other packets`,
  ];
  const guessed = samples.streamsWithoutSetup();
  if (guessed.length > 0) details.push(`no SETUP seen for ${guessed.join(", ")}: positions assume the first term id is the initial one and a 16 MiB term`);
  const series = builder.finish(endNs);
  return { ...series, source: { ...series.source, details } };
}
