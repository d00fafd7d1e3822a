// The engine's sockets, as Aeron's driver has them: a send channel endpoint (SendChannelEndpoint:
// a publication channel's socket, its publications and, for multi-destination-cast, its
// destinations) and a receive channel endpoint (ReceiveChannelEndpoint: a subscription channel's
// bound socket, its subscriptions, its images by stream and session, and where its control frames
// go). The engine creates them from add calls; the runtime opens and closes the sockets they name
// (EndpointInfo, EndpointEvent).
import { groupTagToInt32Pair } from "../channel/groupTag.js";
import type { StreamParams } from "../config/streamParams.js";
import type { Destination, NetworkPublication, PublicationDestinations } from "./networkPublication.js";
import type { PublicationImage } from "./publicationImage.js";
import { SessionCoolDowns } from "./sessionCoolDowns.js";
import type { Subscription } from "./subscription.js";

/** A socket the runtime must open for the engine. */
export interface EndpointInfo {
  readonly id: number;
  /** 'send': a publication channel's socket (ephemeral port); 'receive': a subscription's bound socket. */
  readonly role: "send" | "receive";
  readonly channel: string;
  /** Local address to bind (0 = any) and port (0 = ephemeral). */
  readonly bindIp: number;
  readonly bindPort: number;
  readonly socketRcvbufBytes: number;
  readonly socketSndbufBytes: number;
  readonly ttl: number;
  /** A multicast group the socket joins (0: none): the data group for a subscription, the control group for a publication. */
  readonly multicastGroupIp: number;
  /** The local interface for multicast (`interface=`), 0 for the default. */
  readonly interfaceIp: number;
}

export type EndpointEvent =
  | { readonly type: "open"; readonly endpoint: EndpointInfo }
  | { readonly type: "close"; readonly endpointId: number };

export type SendMode = "unicast" | "multicast" | "manual" | "dynamic";

/** Multi-destination-cast endpoints track at most this many destinations. */
export const MAX_DESTINATIONS = 64;

export class SendEndpoint {
  readonly publications: NetworkPublication[] = [];
  readonly destinations: PublicationDestinations;
  constructor(readonly info: EndpointInfo, readonly mode: SendMode, initial: Destination[]) {
    this.destinations = { endpointId: info.id, list: initial };
  }

  /** Dynamic MDC: a receiver spoke from (ip, port); add it or refresh it. Returns false when full. */
  seen(nowNs: number, ip: number, port: number): boolean {
    const list = this.destinations.list;
    for (let i = 0; i < list.length; i++) {
      const d = list[i]!;
      if (d.ip === ip && d.port === port) {
        d.lastSeenNs = nowNs;
        return true;
      }
    }
    if (list.length >= MAX_DESTINATIONS) return false;
    list.push({ ip, port, lastSeenNs: nowNs });
    return true;
  }

  find(sessionId: number, streamId: number): NetworkPublication | undefined {
    const publications = this.publications;
    for (let i = 0; i < publications.length; i++) {
      const p = publications[i]!;
      if (p.sessionId === sessionId && p.streamId === streamId) return p;
    }
    return undefined;
  }
}

export class ReceiveEndpoint {
  readonly subscriptions: Subscription[] = [];
  /** streamId -> sessionId -> image. */
  readonly images = new Map<number, Map<number, PublicationImage>>();
  /** Subscription parameters that shape images created on this endpoint (first subscription's). */
  params: StreamParams;
  readonly receiverIdLo: number;
  readonly receiverIdHi: number;
  /** Multicast: where SMs and NAKs go (the control group); ip 0 means "to the sender's address". */
  readonly controlIp: number;
  readonly controlPort: number;
  /** Dynamic MDC: the publication's control address to register with, or ip 0. */
  readonly dynamicControlIp: number;
  readonly dynamicControlPort: number;
  nextRegistrationNs = 0;
  /**
   * `group=` on the subscription channel, or undefined to infer it (Aeron's InferableBoolean): group
   * semantics (multicast NAK delays) when the channel is multicast or the SETUP has the GROUP flag.
   */
  readonly receiverGroup: boolean | undefined;
  /** Subscriptions whose channel has `rejoin=false`. */
  readonly noRejoin = new Set<Subscription>();
  /** Sessions whose SETUPs and data are ignored for now (Aeron's ON_COOL_DOWN). */
  readonly coolDowns = new SessionCoolDowns();
  /** Its last subscription closed while images drain: closed once they are gone. */
  closing = false;
  /** The group tag its SMs carry (`gtag` of the first subscription), as two i32 halves. */
  readonly groupTag: { readonly lo: number; readonly hi: number } | undefined;
  constructor(readonly info: EndpointInfo, params: StreamParams, receiverIdLo: number, receiverIdHi: number,
    control: { ip: number; port: number }, dynamicControl: { ip: number; port: number }, receiverGroup: boolean | undefined) {
    this.params = params;
    this.receiverGroup = receiverGroup;
    this.groupTag = params.groupTag === undefined ? undefined : groupTagToInt32Pair(params.groupTag);
    this.receiverIdLo = receiverIdLo;
    this.receiverIdHi = receiverIdHi;
    this.controlIp = control.ip;
    this.controlPort = control.port;
    this.dynamicControlIp = dynamicControl.ip;
    this.dynamicControlPort = dynamicControl.port;
  }

  /** A receiver with an explicit control address keeps registering while it has subscriptions (Aeron's Receiver). */
  wantsRegistration(): boolean {
    return this.dynamicControlIp !== 0 && this.subscriptions.length > 0;
  }

  findImage(streamId: number, sessionId: number): PublicationImage | undefined {
    return this.images.get(streamId)?.get(sessionId);
  }

  hasSubscriber(streamId: number, sessionId: number): boolean {
    const subscriptions = this.subscriptions;
    for (let i = 0; i < subscriptions.length; i++) if (subscriptions[i]!.matches(streamId, sessionId)) return true;
    return false;
  }
}
