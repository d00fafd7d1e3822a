// Feeds a capture of Aeron traffic (a tcpdump, or one of Petrel's pcap taps) into a fresh engine
// playing one end of one channel, and reports what that engine would have done: the status
// messages, NAKs, SETUPs and RTT measurements it sends, and the messages it delivers.
//
// - As a subscriber: the engine subscribes to the channel and stream; every captured UDP datagram
//   addressed to the channel's port (at its address or multicast group) is handed to it, at the
//   capture's time (relative to the first packet).
// - As a publisher: the engine publishes on the channel and stream with the session id and term
//   geometry of the capture's first SETUP for that stream (unless the channel names them), so that
//   the captured receiver's status messages and NAKs, which are handed to it, are for its session.
//   It has no application data: its log is empty, so it shows its SETUPs, heartbeats and how it
//   answers the receiver's feedback.
// Between packets the engine's timers run at their deadlines, as they would have live.
// Link types: those of parseLinkIpv4Udp (Ethernet, as `tcpdump -i lo` writes; Linux SLL and SLL2,
// as `-i any` does; raw IP; BSD NULL/LOOP). Any other is a PcapReplayError naming it, before any
// packet is read.
import { Counter } from "../core/engine/counters.js";
import { Engine } from "../core/engine/engine.js";
import type { EngineConfig } from "../core/config/engineConfig.js";
import type { MessageHandler, Subscription } from "../core/engine/subscription.js";
import { TransmitBatch } from "../core/transmitBatch.js";
import { formatIpv4 } from "../core/address.js";
import { PcapReader } from "../net/pcap.js";
import { PacketStatus, parseLinkIpv4Udp, SUPPORTED_LINK_TYPES, UdpPacketInfo } from "../net/ethernetIpv4Udp.js";
import { Prng } from "../sim/prng.js";

export interface PcapReplayOptions {
  readonly as: "subscriber" | "publisher";
  readonly channel: string;
  readonly streamId: number;
  /** The engine's random seed (session ids, receiver ids, NAK delays). Default 1. */
  readonly seed?: number;
  readonly config?: Partial<EngineConfig>;
  /** One line per output datagram's frame and per poll that delivered messages. */
  readonly onLine?: (line: string) => void;
  /**
   * As a subscriber: called with each delivered message, in delivery order (reassembled when it
   * came in fragments). The bytes are the engine's and valid only during the call: copy to keep.
   */
  readonly onMessage?: MessageHandler;
}

export interface PcapReplayResult {
  readonly packets: number;
  /** Datagrams handed to the engine. */
  readonly fed: number;
  readonly capturedSeconds: number;
  readonly sent: { sm: number; nak: number; setup: number; data: number; rttm: number; other: number };
  /**
   * Frames the engine took from the datagrams it was handed, by type, for any session and stream
   * (its own counters; `data`: data frames new to its image, not duplicates or heartbeats).
   */
  readonly received: { sm: number; nak: number; setup: number; data: number; rttm: number };
  /**
   * As a publisher: ranges it retransmitted for the receiver's NAKs. Its log is empty and its
   * position that of the SETUP it took, so it ignores a NAK for the capture's data: 0.
   */
  readonly retransmitsSent: number;
  readonly messages: number;
  readonly messageBytes: number;
  /** As a publisher: the SETUP whose session and geometry the engine took, if any. */
  readonly session?: { sessionId: number; initialTermId: number; activeTermId: number; termOffset: number; termLength: number; mtu: number };
}

/** A capture that cannot be read, or a channel the capture has nothing for. Names the file. */
export class PcapReplayError extends Error {
  override readonly name = "PcapReplayError";
}

const MAX_TIMER_STEPS_PER_GAP = 100_000;

export function replayPcap(file: string, bytes: Uint8Array, options: PcapReplayOptions): PcapReplayResult {
  let reader: PcapReader;
  try {
    reader = new PcapReader(bytes);
  } catch (error) {
    throw new PcapReplayError(`${file}: not a pcap file (${error instanceof Error ? error.message : String(error)})`);
  }
  const linkType = reader.header.linkType;
  if (!SUPPORTED_LINK_TYPES.has(linkType)) {
    const supported = [...SUPPORTED_LINK_TYPES].map(([n, name]) => `${n} ${name}`).join(", ");
    throw new PcapReplayError(`${file}: link type ${linkType} is not supported (supported: ${supported})`);
  }
  const info = new UdpPacketInfo();
  let channel = options.channel;
  let session: PcapReplayResult["session"];
  if (options.as === "publisher") {
    session = firstSetup(new PcapReader(bytes), linkType, options.streamId);
    if (session === undefined) throw new PcapReplayError(`${file}: no SETUP for stream ${options.streamId} in the capture (a publisher needs its session id and term geometry)`);
    const named = (name: string): boolean => new RegExp(`[?|]${name}=`).test(channel);
    const extra = [
      named("session-id") ? "" : `session-id=${session.sessionId}`,
      named("init-term-id") || named("term-id") || named("term-offset") ? "" : `init-term-id=${session.initialTermId}|term-id=${session.activeTermId}|term-offset=${session.termOffset}`,
      named("term-length") ? "" : `term-length=${session.termLength}`,
      named("mtu") ? "" : `mtu=${session.mtu}`,
    ].filter((p) => p !== "");
    if (extra.length > 0) channel = `${channel}${channel.includes("?") ? "|" : "?"}${extra.join("|")}`;
  }

  const engine = new Engine({ random: new Prng(options.seed ?? 1), ...(options.config === undefined ? {} : { config: options.config }) });
  let subscription: Subscription | undefined;
  if (options.as === "subscriber") subscription = engine.addSubscription(channel, options.streamId);
  else engine.addPublication(channel, options.streamId);
  // The one endpoint this engine opened: where captured datagrams arrive.
  const event = engine.pollEndpointEvent();
  if (event === undefined || event.type !== "open") throw new PcapReplayError(`the channel ${channel} opened no endpoint`);
  const endpoint = event.endpoint;
  // A publication's receiver talks to it from the channel's endpoint; a subscription's sender to its port.
  const publicationTarget = options.as === "publisher" ? endpointOf(channel) : undefined;

  const batch = new TransmitBatch(64, 65536);
  const sent = { sm: 0, nak: 0, setup: 0, data: 0, rttm: 0, other: 0 };
  let messages = 0;
  let messageBytes = 0;
  let pollMessages = 0;
  let pollBytes = 0;
  let pollSession = 0;
  let pollPosition = 0;
  const line = options.onLine ?? ((): void => undefined);
  const onMessage = options.onMessage;
  const handler: MessageHandler = (buffer, offset, length, header) => {
    if (onMessage !== undefined) onMessage(buffer, offset, length, header);
    pollMessages++;
    pollBytes += length;
    pollSession = header.sessionId;
    pollPosition = header.position;
  };

  const transmit = (nowNs: number): void => {
    for (let round = 0; round < 64; round++) {
      batch.clear();
      const count = engine.pollTransmit(nowNs, batch);
      for (let i = 0; i < count; i++) {
        describeDatagram(nowNs, batch.bytes, i * batch.slotLength, batch.lengths[i]!, batch.destinationIps[i]!, batch.destinationPorts[i]!, sent, line);
      }
      if (count < batch.capacity) break;
    }
    if (subscription === undefined) return;
    for (let round = 0; round < 1024; round++) {
      pollMessages = 0;
      pollBytes = 0;
      if (subscription.poll(handler, 4096) === 0) break;
      messages += pollMessages;
      messageBytes += pollBytes;
      // A poll that read only the first fragments of a message delivered nothing yet.
      if (pollMessages > 0) line(`${seconds(nowNs)}  delivered ${pollMessages} message(s), ${pollBytes} B, session ${pollSession}, up to position ${pollPosition}`);
    }
  };
  const runTimers = (untilNs: number): void => {
    for (let step = 0; step < MAX_TIMER_STEPS_PER_GAP; step++) {
      const deadline = engine.pollTimeout();
      if (deadline > untilNs) return;
      const at = Math.max(deadline, engine.nowNs);
      engine.handleTimeout(at);
      transmit(at);
    }
  };

  let packets = 0;
  let fed = 0;
  let startNs = -1;
  let nowNs = 0;
  try {
    while (reader.next()) {
      packets++;
      const timeNs = reader.seconds * 1e9 + reader.nanoseconds;
      if (startNs < 0) startNs = timeNs;
      const t = Math.max(nowNs, timeNs - startNs);
      if (parseLinkIpv4Udp(linkType, reader.bytes, reader.packetOffset, reader.capturedLength, info) !== PacketStatus.OK) continue;
      const toEndpoint = options.as === "subscriber"
        ? info.destinationPort === endpoint.bindPort &&
          (endpoint.bindIp === 0 || info.destinationAddress === endpoint.bindIp || info.destinationAddress === endpoint.multicastGroupIp)
        : publicationTarget !== undefined && info.sourceAddress === publicationTarget.ip && info.sourcePort === publicationTarget.port;
      if (!toEndpoint) continue;
      runTimers(t);
      nowNs = t;
      engine.handleDatagram(nowNs, info.sourceAddress, info.sourcePort, endpoint.id, reader.bytes, info.payloadOffset, info.payloadLength);
      fed++;
      if (engine.pollTimeout() <= nowNs) engine.handleTimeout(nowNs);
      transmit(nowNs);
    }
  } catch (error) {
    if (error instanceof PcapReplayError) throw error;
    throw new PcapReplayError(`${file}: ${error instanceof Error ? error.message : String(error)}`);
  }
  const counters = engine.counters;
  const received = {
    sm: counters.get(Counter.STATUS_MESSAGES_RECEIVED), nak: counters.get(Counter.NAKS_RECEIVED), setup: counters.get(Counter.SETUPS_RECEIVED),
    data: counters.get(Counter.DATA_FRAMES_RECEIVED), rttm: counters.get(Counter.RTTM_RECEIVED),
  };
  const retransmitsSent = counters.get(Counter.RETRANSMITS_SENT);
  return { packets, fed, capturedSeconds: nowNs / 1e9, sent, received, retransmitsSent, messages, messageBytes, ...(session === undefined ? {} : { session }) };
}

function seconds(ns: number): string {
  return `t=${(ns / 1e9).toFixed(6)}`;
}

function endpointOf(channel: string): { ip: number; port: number } | undefined {
  const match = /endpoint=(\d+)\.(\d+)\.(\d+)\.(\d+):(\d+)/.exec(channel);
  if (match === null) return undefined;
  const [a, b, c, d, port] = match.slice(1).map(Number) as [number, number, number, number, number];
  return { ip: ((a << 24) | (b << 16) | (c << 8) | d) >>> 0, port };
}

/** The first SETUP frame for `streamId` in a capture. */
function firstSetup(reader: PcapReader, linkType: number, streamId: number): PcapReplayResult["session"] {
  const info = new UdpPacketInfo();
  while (reader.next()) {
    if (parseLinkIpv4Udp(linkType, reader.bytes, reader.packetOffset, reader.capturedLength, info) !== PacketStatus.OK) continue;
    if (info.payloadLength < 40) continue;
    const view = new DataView(reader.bytes.buffer, reader.bytes.byteOffset + info.payloadOffset, info.payloadLength);
    if (view.getUint16(6, true) !== 5 || view.getInt32(16, true) !== streamId) continue;
    return {
      termOffset: view.getInt32(8, true), sessionId: view.getInt32(12, true), initialTermId: view.getInt32(20, true),
      activeTermId: view.getInt32(24, true), termLength: view.getInt32(28, true), mtu: view.getInt32(32, true),
    };
  }
  return undefined;
}

/** One line per frame of an output datagram (Aeron's layouts, little-endian). */
function describeDatagram(nowNs: number, bytes: Uint8Array, offset: number, length: number, ip: number, port: number,
  sent: PcapReplayResult["sent"], line: (text: string) => void): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, length);
  const to = `-> ${formatIpv4(ip)}:${port}`;
  let dataFrames = 0;
  let dataBytes = 0;
  for (let at = 0; at + 8 <= length;) {
    const frameLength = view.getInt32(at, true);
    const type = view.getUint16(at + 6, true);
    const size = Math.max(frameLength, 8);
    if (type === 3 && at + 28 <= length) {
      sent.sm++;
      line(`${seconds(nowNs)}  SM    session ${view.getInt32(at + 8, true)} stream ${view.getInt32(at + 12, true)} ` +
        `term ${view.getInt32(at + 16, true)} offset ${view.getInt32(at + 20, true)} window ${view.getInt32(at + 24, true)} ${to}`);
    } else if (type === 2 && at + 28 <= length) {
      sent.nak++;
      line(`${seconds(nowNs)}  NAK   session ${view.getInt32(at + 8, true)} stream ${view.getInt32(at + 12, true)} ` +
        `term ${view.getInt32(at + 16, true)} offset ${view.getInt32(at + 20, true)} length ${view.getInt32(at + 24, true)} ${to}`);
    } else if (type === 5 && at + 40 <= length) {
      sent.setup++;
      line(`${seconds(nowNs)}  SETUP session ${view.getInt32(at + 12, true)} stream ${view.getInt32(at + 16, true)} ` +
        `initial term ${view.getInt32(at + 20, true)} active term ${view.getInt32(at + 24, true)} term length ${view.getInt32(at + 28, true)} ${to}`);
    } else if (type === 6) {
      sent.rttm++;
      line(`${seconds(nowNs)}  RTTM  session ${view.getInt32(at + 8, true)} stream ${view.getInt32(at + 12, true)} ${(view.getUint8(at + 5) & 0x80) !== 0 ? "request" : "reply"} ${to}`);
    } else if (type === 1 || type === 0) {
      dataFrames++;
      dataBytes += Math.max(0, frameLength - 32);
    } else {
      sent.other++;
      line(`${seconds(nowNs)}  frame type ${type}, ${frameLength} B ${to}`);
    }
    at += (size + 31) & ~31;
  }
  if (dataFrames > 0) {
    sent.data++;
    line(dataBytes === 0 ? `${seconds(nowNs)}  HEARTBEAT ${to}` : `${seconds(nowNs)}  DATA  ${dataFrames} frame(s), ${dataBytes} B of payload ${to}`);
  }
}
