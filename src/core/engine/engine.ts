// Petrel's engine: what an Aeron media driver does, as a pure state machine. It has no networking
// code and reads no clock: the caller passes time in (`nowNs`) and moves the datagrams.
//
// Four kinds of method (STYLE.md):
//  - getters: counters, publications, images;
//  - handle*: input from the network or the clock: handleDatagram(nowNs, ...), handleTimeout(nowNs);
//  - commands from the application: addPublication, addExclusivePublication, addSubscription,
//    Publication.offer/tryClaim/close, Subscription.poll/close, close();
//  - poll*: output: pollTransmit(nowNs, batch), pollTimeout(), pollEndpointEvent().
//
// Call order (enforced where it can be): time never goes backwards across handle*/poll* calls
// (EngineUsageError otherwise). After any input or command, call pollTransmit until it returns 0
// (each call fills at most one batch), then pollTimeout() for the next instant to call
// handleTimeout. A spurious handleTimeout (early, or twice) is a harmless no-op. Commands act at
// the time of the latest handle*/poll* call. pollEndpointEvent() tells the runtime which sockets
// to open and close; datagrams carry the id of the endpoint they leave from or arrived on.
import { CountersReader } from "./countersReader.js";
import { formatChannelUri, parseChannelUri, type ChannelUri } from "../channel/channelUri.js";
import { groupTagToInt32Pair } from "../channel/groupTag.js";
import type { SocketAddress } from "../channel/address.js";
import { resolveEngineConfig, type EngineConfig } from "../config/engineConfig.js";
import { resolveStreamParams, type StreamParams } from "../config/streamParams.js";
import { ChannelUriError } from "../errors.js";
import { PARTITION_COUNT } from "../logbuffer/logBufferDescriptor.js";
import { defaultImageLogAllocator, ImageLog, type ImageLogAllocator } from "../logbuffer/imageLog.js";
import { DATA_HEADER_LENGTH, DATA_SESSION_ID_OFFSET, DATA_STREAM_ID_OFFSET, EOS_FLAG } from "../protocol/dataHeader.js";
import { DatagramWalker, type FrameVisitor } from "../protocol/datagramWalker.js";
import { FLAGS_OFFSET, FRAME_ALIGNMENT, FRAME_LENGTH_OFFSET, HDR_TYPE_DATA, HDR_TYPE_PAD, MAX_UDP_PAYLOAD_LENGTH } from "../protocol/frameHeader.js";
import { nakLength, nakSessionId, nakStreamId, nakTermId, nakTermOffset } from "../protocol/nakFrame.js";
import { rttmAsksForReply, rttmDeltaHi, rttmDeltaLo, rttmEchoHi, rttmEchoLo, rttmReceiverIdHi, rttmReceiverIdLo, rttmSessionId, rttmStreamId } from "../protocol/rttmFrame.js";
import {
  SETUP_GROUP_FLAG,
  setupActiveTermId,
  setupInitialTermId,
  setupMtu,
  setupSessionId,
  setupStreamId,
  setupTermLength,
  setupTermOffset,
} from "../protocol/setupFrame.js";
import {
  SM_SEND_SETUP_FLAG,
  SM_LENGTH,
  SM_WITH_GROUP_TAG_LENGTH,
  smConsumptionTermId,
  smConsumptionTermOffset,
  smGroupTagHi,
  smGroupTagLo,
  smHasGroupTag,
  smReceiverIdHi,
  smReceiverIdLo,
  smReceiverWindow,
  smSessionId,
  smStreamId,
  writeStatusMessage,
  writeStatusMessageWithGroupTag,
} from "../protocol/statusMessageFrame.js";
import type { RandomSource } from "../random.js";
import { createCongestionControl } from "../strategy/congestionControl.js";
import { OptimalMulticastDelayGenerator, StaticDelayGenerator } from "../strategy/feedbackDelay.js";
import { createFlowControl } from "../strategy/flowControl.js";
import { NO_DEADLINE_NS } from "../strategy/timers.js";
import type { TransmitBatch } from "../transmitBatch.js";
import { parseIpv4 } from "../address.js";
import { Counter, Counters } from "./counters.js";
import { EngineUsageError, InvalidArgumentError, UnsupportedChannelError } from "./engineErrors.js";
import { NetworkPublication, PublicationState, type Destination } from "./networkPublication.js";
import { IpcPublication } from "./ipcPublication.js";
import { Publication } from "./publication.js";
import { DRAINING_SM_EOS_MULTIPLE, ImageState, PublicationImage } from "./publicationImage.js";
import { Image, Subscription, type SubscriptionOptions } from "./subscription.js";
import { ImageRejections, PUBLICATION_ERROR_FRAME_QUEUE_CAPACITY, type PublicationErrorFrame } from "./errorFrames.js";
import { encodeErrorText, ERR_HAS_GROUP_TAG_FLAG, ERR_MAX_TEXT_LENGTH, errErrorCode, errGroupTagHi, errGroupTagLo, errReceiverIdHi, errReceiverIdLo,
  errSessionId, errStreamId, ErrorFrameFlyweight } from "../protocol/errorFrame.js";
import { i64HalvesToBigInt } from "../protocol/int64.js";
import { MAX_DESTINATIONS, ReceiveEndpoint, SendEndpoint, type EndpointEvent, type EndpointInfo, type SendMode } from "./channelEndpoints.js";
import { ImageAdmission } from "./imageAdmission.js";
import { checkStreamId, checkSupported, flowControlSpec, isValidTermLength, limitOption } from "./channelChecks.js";

export { NO_DEADLINE_NS };
export type { EndpointEvent, EndpointInfo } from "./channelEndpoints.js";

export interface EngineOptions {
  /** Overrides of Aeron's defaults (every timeout and window is here). */
  readonly config?: Partial<EngineConfig>;
  /** The engine's only source of randomness (session ids, initial term ids, receiver ids, NAK delays). */
  readonly random: RandomSource;
  /** Time at creation; later calls must not go back before it. */
  readonly nowNs?: number;
  /** Resolves a host name in a channel to an IPv4 address (u32), or returns -1. `localhost` is built in. */
  readonly resolveHost?: (name: string) => number;
  /**
   * Finds the local interface address (u32) within `subnet`/`prefixLength`, or returns -1: Aeron's
   * interface search for `interface=ip/prefix` (InterfaceSearchAddress). The engine cannot list
   * interfaces itself; Petrel.launch passes one built on os.networkInterfaces(). Without it a
   * channel with a prefix shorter than /32 is refused at the add call.
   */
  readonly resolveInterface?: (subnet: number, prefixLength: number) => number;
  /**
   * Images (sender sessions) this engine accepts at once; SETUPs beyond it are refused and counted
   * (images refused limit), after evicting an unjoined or idle image if one is old enough
   * (EngineConfig.unjoinedImageEvictionNs). Default 1024.
   */
  readonly maxImages?: number;
  /**
   * Total memory images' logs may hold, in bytes. Each image reserves 3 × its term length against
   * it when its SETUP arrives (and commits memory only as frames are written); a SETUP whose
   * reservation does not fit, even after evicting unjoined or idle images, is refused and counted
   * (images refused budget). Default DEFAULT_IMAGE_LOG_BUDGET_BYTES (2 GiB).
   */
  readonly imageLogBudgetBytes?: number;
  /** Images that SETUPs from one source IP address may hold at once (images refused source limit). Default 64. */
  readonly maxImagesPerSource?: number;
  /**
   * Allocates image log memory (zeroed); may throw, which is caught and counted (image allocation
   * failures), never thrown out of handle*. For tests that simulate allocation failure.
   */
  readonly imageLogAllocator?: ImageLogAllocator;
  /**
   * Allocate publications' and images' logs on SharedArrayBuffer (worker mode: the application
   * appends and reads from another thread; see src/drivers/worker). Default false.
   */
  readonly sharedLogs?: boolean;
}

/**
 * Checks a UDP channel's mtu against what the transport can carry, when a publication or
 * subscription is added (a runtime sets it for its driver: the driver grows its slots, or this
 * throws a typed error naming the channel, the mtu and the slot length, and nothing is added).
 * "send": a publication's mtu, the longest datagram it will send; "receive": the mtu a
 * subscription's channel names explicitly.
 */
export type TransportMtuCheck = (channel: string, mtuBytes: number, role: "send" | "receive") => void;

/**
 * Default image log budget: 2 GiB. Room for 42 images of Aeron's default 16 MiB terms (a service
 * reads a handful of streams), or one of 512 MiB terms; a 1 GiB-term image (3 GiB) needs a larger
 * budget, deliberately: one such SETUP should not be able to take a service's memory. Logs are
 * lazy, so the budget bounds what images can commit; what they do commit is what was written.
 */
export const DEFAULT_IMAGE_LOG_BUDGET_BYTES = 2 * 1024 * 1024 * 1024;
/** Default cap on images per source address. */
export const DEFAULT_MAX_IMAGES_PER_SOURCE = 64;
/** Default cap on images. */
export const DEFAULT_MAX_IMAGES = 1024;

/** SMs with SEND_SETUP (asking an unknown sender for SETUP) waiting for pollTransmit. */
const CONTROL_QUEUE_CAPACITY = 64;
/** Unknown sessions remembered so that SETUP is asked for at most once per pendingSetupsTimeout. */
const PENDING_SETUP_CAPACITY = 256;

export class Engine implements FrameVisitor {
  readonly config: EngineConfig;
  readonly counters = new Counters();
  readonly walker = new DatagramWalker();
  readonly publications: NetworkPublication[] = [];
  readonly images: PublicationImage[] = [];
  readonly ipcPublications: IpcPublication[] = [];

  private readonly random: RandomSource;
  private readonly resolveHost: ((name: string) => number) | undefined;
  private readonly resolveInterface: ((subnet: number, prefixLength: number) => number) | undefined;
  private readonly imageLogAllocator: ImageLogAllocator;
  /** The image cap, per-source cap and log budget SETUPs are admitted against. */
  private readonly admission: ImageAdmission;
  private lastNowNs: number;
  private closed = false;
  private nextEndpointId = 1;
  private nextRegistrationId = 1;
  /**
   * Registration ids of publications' backends (network and IPC) and of images (Aeron's
   * correlation id), for the counters' labels; subscriptions carry their own.
   */
  private readonly registrationIds = new WeakMap<object, number>();
  private countersReaderValue: CountersReader | undefined;
  private readonly sendEndpoints = new Map<string, SendEndpoint>();
  private readonly receiveEndpoints = new Map<string, ReceiveEndpoint>();
  private readonly endpointsById = new Map<number, SendEndpoint | ReceiveEndpoint>();
  private readonly endpointEvents: EndpointEvent[] = [];
  private readonly subscriptions: Subscription[] = [];
  private readonly ipcSubscriptions: Subscription[] = [];
  /** Receive endpoints of dynamic MDC subscriptions, and send endpoints of dynamic MDC publications. */
  private readonly dynamicReceivers: ReceiveEndpoint[] = [];
  private readonly dynamicSenders: SendEndpoint[] = [];
  private readonly handles: Publication[] = [];
  private pollStart = 0;

  private readonly controlEndpoint = new Int32Array(CONTROL_QUEUE_CAPACITY);
  private readonly controlIp = new Uint32Array(CONTROL_QUEUE_CAPACITY);
  private readonly controlPort = new Uint16Array(CONTROL_QUEUE_CAPACITY);
  private readonly controlSession = new Int32Array(CONTROL_QUEUE_CAPACITY);
  private readonly controlStream = new Int32Array(CONTROL_QUEUE_CAPACITY);
  private controlCount = 0;
  /** sessionId -> (streamId, expiry) of SETUP requests already sent. */
  private readonly pendingSetups = new Map<number, { streamId: number; expiresNs: number }>();

  // The datagram being walked: set by handleDatagram for the visitor methods.
  private frameNowNs = 0;
  private frameFromIp = 0;
  private frameFromPort = 0;
  private frameEndpoint: SendEndpoint | ReceiveEndpoint | undefined;
  private lastImage: PublicationImage | undefined;

  private readonly sharedLogs: boolean;
  private transportCheck: TransportMtuCheck | undefined;
  /** Images the application rejected (they send error frames), and error frames for the application (errorFrames.ts). */
  private readonly rejections: ImageRejections;
  private readonly publicationErrorFrames: PublicationErrorFrame[] = [];

  constructor(options: EngineOptions) {
    this.config = resolveEngineConfig(options.config ?? {});
    this.random = options.random;
    this.resolveHost = options.resolveHost;
    this.resolveInterface = options.resolveInterface;
    this.admission = new ImageAdmission({
      maxImages: limitOption("maxImages", options.maxImages, DEFAULT_MAX_IMAGES, 1),
      imageLogBudgetBytes: limitOption("imageLogBudgetBytes", options.imageLogBudgetBytes, DEFAULT_IMAGE_LOG_BUDGET_BYTES, 0),
      maxImagesPerSource: limitOption("maxImagesPerSource", options.maxImagesPerSource, DEFAULT_MAX_IMAGES_PER_SOURCE, 1),
      unjoinedImageEvictionNs: this.config.unjoinedImageEvictionNs,
    }, this.counters, this.images, (image) => this.removeImage(image));
    this.imageLogAllocator = options.imageLogAllocator ?? defaultImageLogAllocator;
    this.sharedLogs = options.sharedLogs === true;
    this.lastNowNs = options.nowNs ?? 0;
    this.rejections = new ImageRejections(this.config.statusMessageIntervalNs, this.counters);
  }

  /** The time of the latest handle or poll call. */
  get nowNs(): number {
    return this.lastNowNs;
  }

  /** Sets (or clears) the check every later UDP publication and subscription passes at add time. */
  setTransportCheck(check: TransportMtuCheck | undefined): void {
    this.transportCheck = check;
  }

  // ================================================================ application commands

  addPublication(channel: string, streamId: number): Publication {
    return this.createPublication(channel, streamId, false);
  }

  addExclusivePublication(channel: string, streamId: number): Publication {
    return this.createPublication(channel, streamId, true);
  }

  addSubscription(channel: string, streamId: number, options: SubscriptionOptions = {}): Subscription {
    this.checkOpen();
    checkStreamId(streamId);
    const uri = parseChannelUri(channel);
    const canonical = formatChannelUri(uri);
    checkSupported(uri, canonical, streamId, "subscription");
    const params = resolveStreamParams(this.config, uri);
    if (uri.media === "ipc") return this.addIpcSubscription(canonical, streamId, params, options);
    if (uri.mtuBytes !== undefined) this.transportCheck?.(canonical, uri.mtuBytes, "receive");
    if (uri.controlMode === "manual") {
      throw new UnsupportedChannelError(canonical, "multi-destination subscriptions (control-mode=manual on a subscription) are not supported");
    }
    const multicast = uri.multicast !== undefined;
    // Aeron's dynamic MDC subscription: any unicast subscription channel with `control` registers
    // with that control address (control-mode is the publication's business), and without an
    // endpoint it binds an ephemeral port, which the publication learns from the registration.
    const explicitControl = uri.control !== undefined && !multicast;
    const interfaceIp = this.interfaceIpOf(uri, canonical);
    const address = uri.endpoint === undefined && explicitControl
      ? { host: "0.0.0.0", hostKind: "ipv4" as const, port: uri.networkInterface?.port ?? 0 }
      : this.requireEndpoint(uri, "a UDP subscription needs endpoint=<ip>:<port> to bind, or control=<ip>:<port> to register with");
    if (address.port === 0 && !explicitControl) throw new ChannelUriError("endpoint", `${address.host}:0`, "a subscription must bind a fixed port");
    const endpointIp = uri.endpoint === undefined ? interfaceIp : this.resolve(address);
    // A multicast subscription binds the port on the interface and joins the data group; its SMs
    // and NAKs go to the control group. A unicast one binds the endpoint address itself.
    const bindIp = multicast ? interfaceIp : endpointIp;
    const control = multicast ? { ip: this.resolve(uri.multicast!.control), port: uri.multicast!.control.port } : { ip: 0, port: 0 };
    const dynamicControl = explicitControl ? { ip: this.resolve(uri.control!), port: uri.control!.port } : { ip: 0, port: 0 };
    const key = `${multicast ? "m" : "u"}:${endpointIp}:${address.port}` +
      (address.port === 0 ? `:c:${dynamicControl.ip}:${dynamicControl.port}` : "");
    let endpoint = this.receiveEndpoints.get(key);
    if (endpoint === undefined) {
      const info: EndpointInfo = {
        id: this.nextEndpointId++,
        role: "receive",
        channel: canonical,
        bindIp,
        bindPort: address.port,
        socketRcvbufBytes: params.socketRcvbufBytes,
        socketSndbufBytes: params.socketSndbufBytes,
        ttl: params.ttl,
        multicastGroupIp: multicast ? endpointIp : 0,
        interfaceIp,
      };
      endpoint = new ReceiveEndpoint(info, params, this.random.nextUint32() | 0, this.random.nextUint32() | 0, control, dynamicControl, uri.group);
      if (dynamicControl.ip !== 0) this.dynamicReceivers.push(endpoint);
      this.receiveEndpoints.set(key, endpoint);
      this.endpointsById.set(info.id, endpoint);
      this.endpointEvents.push({ type: "open", endpoint: info });
    }
    const subscription = new Subscription(canonical, streamId, params.sessionId, this.nextRegistrationId++, endpoint.info.id, options,
      (s) => this.onSubscriptionClosed(s));
    endpoint.subscriptions.push(subscription);
    endpoint.closing = false;
    if (!params.rejoin) endpoint.noRejoin.add(subscription);
    this.subscriptions.push(subscription);
    this.counters.values[Counter.SUBSCRIPTIONS_ACTIVE]! += 1;
    // Existing images of this stream become visible to the new subscription at once.
    const streamImages = endpoint.images.get(streamId);
    if (streamImages !== undefined) {
      for (const image of streamImages.values()) {
        // A late subscriber joins where the slowest subscriber is (the rebuild position when there
        // is none), as Aeron's PublicationImage.joinPosition: it reads what they have yet to read.
        if (image.state === ImageState.ACTIVE && subscription.matches(streamId, image.sessionId)) subscription.addImage(image, Math.min(image.rebuildPosition, image.consumptionPosition()));
      }
    }
    return subscription;
  }

  private addIpcSubscription(canonical: string, streamId: number, params: StreamParams, options: SubscriptionOptions): Subscription {
    const subscription = new Subscription(canonical, streamId, params.sessionId, this.nextRegistrationId++, -1, options,
      (s) => this.onSubscriptionClosed(s));
    this.ipcSubscriptions.push(subscription);
    this.subscriptions.push(subscription);
    this.counters.values[Counter.SUBSCRIPTIONS_ACTIVE]! += 1;
    for (const publication of this.ipcPublications) {
      if (!publication.isDraining && !publication.isClosed && subscription.matches(streamId, publication.sessionId)) {
        subscription.addImage(publication, publication.position);
      }
    }
    return subscription;
  }

  /**
   * Rejects an image (Aeron's Image.reject): it takes no more data, and instead of status messages
   * it sends its publisher an error frame (IMAGE_REJECTED, with `reason`) now and every status
   * message interval, until it times out (no data refreshes it) or its subscriptions close. The
   * publisher sees the error (Engine.pollPublicationErrorFrame on a Petrel publisher). Throws
   * InvalidArgumentError for an image that is not a live network image of this engine or a reason
   * longer than 1023 UTF-8 bytes.
   */
  rejectImage(image: Image | PublicationImage, reason: string): void {
    this.checkOpen();
    const source = image instanceof Image ? image.source : image;
    if (!(source instanceof PublicationImage) || !this.images.includes(source) || source.state === ImageState.CLOSED) {
      throw new InvalidArgumentError("image", typeof image, "must be a live network image of this engine (IPC images cannot be rejected)");
    }
    if (typeof reason !== "string") throw new InvalidArgumentError("reason", typeof reason, "must be a string");
    const text = encodeErrorText(reason);
    if (text.length > ERR_MAX_TEXT_LENGTH) {
      throw new InvalidArgumentError("reason", text.length, `must be at most ${ERR_MAX_TEXT_LENGTH} UTF-8 bytes (an error frame's limit)`);
    }
    const endpoint = this.endpointsById.get(source.endpointId);
    if (!(endpoint instanceof ReceiveEndpoint)) throw new InvalidArgumentError("image", "closed", "its endpoint is closed");
    const groupTag = endpoint.params.groupTag === undefined ? undefined : groupTagToInt32Pair(endpoint.params.groupTag);
    this.rejections.reject(source, text, this.lastNowNs, endpoint.receiverIdLo, endpoint.receiverIdHi, groupTag);
  }

  /**
   * The next error frame a receiver sent one of this engine's publications (it rejected the
   * image), or undefined. Each receiver's error surfaces once while it is live at the publication
   * (as Aeron's publication error frame handler); up to 64 wait, more are dropped and counted (errors).
   */
  pollPublicationErrorFrame(): PublicationErrorFrame | undefined {
    return this.publicationErrorFrames.shift();
  }

  /** Closes every publication and subscription at once (no linger) and releases the endpoints. */
  close(): void {
    if (this.closed) return;
    for (const s of [...this.subscriptions]) s.close();
    for (const p of this.publications) p.state = PublicationState.CLOSED;
    this.publications.length = 0;
    for (const p of this.ipcPublications) p.markClosed();
    this.ipcPublications.length = 0;
    for (const image of this.images) image.close();
    this.images.length = 0;
    this.admission.clear();
    for (const id of this.endpointsById.keys()) this.endpointEvents.push({ type: "close", endpointId: id });
    this.endpointsById.clear();
    this.sendEndpoints.clear();
    this.receiveEndpoints.clear();
    this.closed = true;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  // ================================================================ input

  /**
   * A datagram arrived from (fromIp, fromPort) on local endpoint `endpointId`. Malformed datagrams
   * and frames that do not belong to anything here are dropped and counted, never thrown on.
   */
  handleDatagram(nowNs: number, fromIp: number, fromPort: number, endpointId: number, bytes: Uint8Array, offset: number, length: number): void {
    this.advanceTime(nowNs);
    const values = this.counters.values;
    values[Counter.DATAGRAMS_RECEIVED]! += 1;
    values[Counter.BYTES_RECEIVED]! += length;
    const endpoint = this.endpointsById.get(endpointId);
    if (endpoint === undefined) {
      values[Counter.DATAGRAMS_DROPPED_NO_ENDPOINT]! += 1;
      return;
    }
    this.frameNowNs = nowNs;
    this.frameFromIp = fromIp;
    this.frameFromPort = fromPort;
    this.frameEndpoint = endpoint;
    if (!this.walker.walk(bytes, offset, length, this)) values[Counter.INVALID_PACKETS]! += 1;
    this.frameEndpoint = undefined;
  }

  /** Time advanced: apply every expired timer. Calling it early or twice does nothing harmful. */
  handleTimeout(nowNs: number): void {
    this.advanceTime(nowNs);
    const publications = this.publications;
    for (let i = 0; i < publications.length; i++) {
      const publication = publications[i]!;
      if (publication.onTimeout(nowNs)) {
        this.removePublication(publication);
        i--;
      }
    }
    const images = this.images;
    for (let i = 0; i < images.length; i++) {
      const image = images[i]!;
      const wasActive = image.state === ImageState.ACTIVE;
      if (image.onTimeout(nowNs)) {
        // An image removed without end of stream (liveness timeout) puts its session on cool-down.
        if (wasActive && image.endOfStreamPosition < 0) this.coolDownSession(nowNs, image);
        this.removeImage(image);
        i--;
      } else if (wasActive && image.state === ImageState.END_OF_STREAM) {
        this.detachSubscribers(image);
      }
    }
    // Dynamic MDC forgets a destination silent for the connection timeout (Aeron: 5 s).
    for (const sender of this.dynamicSenders) {
      const list = sender.destinations.list;
      for (let i = list.length - 1; i >= 0; i--) {
        if (nowNs - list[i]!.lastSeenNs >= this.config.publicationConnectionTimeoutNs) list.splice(i, 1);
      }
    }
    const ipc = this.ipcPublications;
    for (let i = 0; i < ipc.length; i++) {
      const publication = ipc[i]!;
      // Subscribers that read to the end of stream see the image go; a drained publication goes.
      for (const subscriber of [...publication.subscribers]) {
        if (subscriber.isEndOfStream) subscriber.subscription.removeImage(publication);
      }
      if (publication.isDrained()) {
        this.removeIpcPublication(publication);
        i--;
      }
    }
    if (this.pendingSetups.size > 0) {
      for (const [sessionId, entry] of this.pendingSetups) if (entry.expiresNs - nowNs <= 0) this.pendingSetups.delete(sessionId);
    }
  }

  // ================================================================ output

  /**
   * Fills `batch` with datagrams that are due (from its current count on). Returns how many were
   * added; call again while it returns a full batch.
   */
  pollTransmit(nowNs: number, batch: TransmitBatch): number {
    this.advanceTime(nowNs);
    const before = batch.count;
    if (!this.sendControlQueue(batch)) return batch.count - before;
    if (!this.sendRegistrations(nowNs, batch)) return batch.count - before;
    const publications = this.publications;
    const count = publications.length;
    // Rotate the starting publication so that a full batch does not starve the later ones.
    const start = count === 0 ? 0 : this.pollStart++ % count;
    for (let i = 0; i < count; i++) {
      if (!publications[(start + i) % count]!.pollTransmit(nowNs, batch)) return batch.count - before;
    }
    const images = this.images;
    const rejections = this.rejections;
    for (let i = 0; i < images.length; i++) {
      const image = images[i]!;
      // A rejected image sends error frames instead of status messages (and no NAKs or RTTMs).
      if (rejections.size > 0 && rejections.isRejected(image)) continue;
      if (!image.pollTransmit(nowNs, batch)) return batch.count - before;
    }
    if (rejections.size > 0) rejections.pollTransmit(nowNs, batch);
    return batch.count - before;
  }

  /** The earliest instant handleTimeout or pollTransmit has work; NO_DEADLINE_NS when idle. A value at or before now means "now". */
  pollTimeout(): number {
    let deadline = NO_DEADLINE_NS;
    if (this.controlCount > 0) return this.lastNowNs;
    const receivers = this.dynamicReceivers;
    for (let i = 0; i < receivers.length; i++) {
      const receiver = receivers[i]!;
      if (receiver.nextRegistrationNs < deadline && receiver.wantsRegistration()) deadline = receiver.nextRegistrationNs;
    }
    const senders = this.dynamicSenders;
    for (let i = 0; i < senders.length; i++) {
      const list = senders[i]!.destinations.list;
      for (let j = 0; j < list.length; j++) {
        const expiry = list[j]!.lastSeenNs + this.config.publicationConnectionTimeoutNs;
        if (expiry < deadline) deadline = expiry;
      }
    }
    const publications = this.publications;
    for (let i = 0; i < publications.length; i++) {
      const d = publications[i]!.deadlineNs();
      if (d < deadline) deadline = d;
    }
    const images = this.images;
    const rejections = this.rejections;
    for (let i = 0; i < images.length; i++) {
      const image = images[i]!;
      const d = rejections.size > 0 && rejections.isRejected(image)
        ? image.lastFrameNs + this.config.imageLivenessTimeoutNs
        : image.deadlineNs();
      if (d < deadline) deadline = d;
    }
    if (rejections.size > 0) deadline = rejections.deadlineNs(deadline);
    const ipc = this.ipcPublications;
    for (let i = 0; i < ipc.length; i++) {
      const publication = ipc[i]!;
      if (publication.isDraining && (publication.isDrained() || publication.subscribers.some((s) => s.isEndOfStream))) return this.lastNowNs;
    }
    return deadline;
  }

  /** The next socket to open or close, or undefined. */
  pollEndpointEvent(): EndpointEvent | undefined {
    return this.endpointEvents.shift();
  }

  /** Endpoints open now (for runtimes that attach late). */
  endpoints(): EndpointInfo[] {
    return [...this.endpointsById.values()].map((e) => e.info);
  }

  // ================================================================ FrameVisitor (called by the walker)

  onData(view: DataView, bytes: Uint8Array, frameOffset: number, frameLength: number): void {
    this.onDataOrPad(view, bytes, frameOffset, frameLength, HDR_TYPE_DATA);
  }

  onPad(view: DataView, bytes: Uint8Array, frameOffset: number, frameLength: number): void {
    this.onDataOrPad(view, bytes, frameOffset, frameLength, HDR_TYPE_PAD);
  }

  /**
   * A run of back-to-back DATA frames of one session (FrameVisitor.onDataRun): one image lookup,
   * and the image takes the run whole when it can; anything unusual goes frame by frame.
   */
  onDataRun(view: DataView, bytes: Uint8Array, frameOffset: number, frames: number, runLength: number): void {
    const endpoint = this.frameEndpoint;
    let image = this.lastImage;
    if (endpoint instanceof ReceiveEndpoint) {
      const sessionId = view.getInt32(frameOffset + DATA_SESSION_ID_OFFSET, true);
      const streamId = view.getInt32(frameOffset + DATA_STREAM_ID_OFFSET, true);
      if (image === undefined || image.sessionId !== sessionId || image.streamId !== streamId || image.endpointId !== endpoint.info.id ||
          image.state === ImageState.CLOSED) {
        image = endpoint.findImage(streamId, sessionId);
        if (image !== undefined) this.lastImage = image;
      }
    } else {
      image = undefined;
    }
    if (image !== undefined &&
        (!image.sourcePinned || (image.sourceIp === this.frameFromIp && image.sourcePort === this.frameFromPort)) &&
        (this.rejections.size === 0 || !this.rejections.isRejected(image))) {
      if (image.onDataRun(this.frameNowNs, view, bytes, frameOffset, frames, runLength)) {
        this.counters.values[Counter.FRAMES_RECEIVED]! += frames;
        return;
      }
    }
    // Frame by frame, exactly as the walker would have visited them (every frame but the last is aligned).
    let offset = frameOffset;
    for (let i = 0; i < frames; i++) {
      const frameLength = view.getInt32(offset + FRAME_LENGTH_OFFSET, true);
      this.onDataOrPad(view, bytes, offset, frameLength, HDR_TYPE_DATA);
      offset += frameLength;
    }
  }

  private onDataOrPad(view: DataView, bytes: Uint8Array, frameOffset: number, frameLength: number, type: number): void {
    const values = this.counters.values;
    values[Counter.FRAMES_RECEIVED]! += 1;
    const endpoint = this.frameEndpoint;
    if (!(endpoint instanceof ReceiveEndpoint)) {
      values[Counter.UNKNOWN_STREAM_FRAMES]! += 1;
      return;
    }
    const sessionId = view.getInt32(frameOffset + DATA_SESSION_ID_OFFSET, true);
    const streamId = view.getInt32(frameOffset + DATA_STREAM_ID_OFFSET, true);
    let image = this.lastImage;
    if (image === undefined || image.sessionId !== sessionId || image.streamId !== streamId || image.endpointId !== endpoint.info.id ||
        image.state === ImageState.CLOSED) {
      image = endpoint.findImage(streamId, sessionId);
      if (image === undefined) {
        // Aeron elicits no SETUP with an end-of-stream frame: the session is ending.
        const endOfStream = (view.getUint8(frameOffset + FLAGS_OFFSET) & EOS_FLAG) !== 0;
        this.onUnknownSession(endpoint, sessionId, streamId, endOfStream);
        return;
      }
      this.lastImage = image;
    }
    if (image.sourcePinned && (image.sourceIp !== this.frameFromIp || image.sourcePort !== this.frameFromPort)) {
      // Source pinning (`source-pin`): data, heartbeats and EOS only from where the SETUP came from.
      values[Counter.PINNED_DATA_MISMATCHES]! += 1;
      return;
    }
    // A rejected image takes nothing more (Aeron's PublicationImage.insertPacket), so it also times out.
    if (this.rejections.size > 0 && this.rejections.isRejected(image)) return;
    image.onDataFrame(this.frameNowNs, view, bytes, frameOffset, frameLength, type);
  }

  onSetup(view: DataView, _bytes: Uint8Array, frameOffset: number, _frameLength: number): void {
    const values = this.counters.values;
    values[Counter.FRAMES_RECEIVED]! += 1;
    values[Counter.SETUPS_RECEIVED]! += 1;
    const endpoint = this.frameEndpoint;
    if (!(endpoint instanceof ReceiveEndpoint)) return;
    const sessionId = setupSessionId(view, frameOffset);
    const streamId = setupStreamId(view, frameOffset);
    if (!endpoint.hasSubscriber(streamId, sessionId)) {
      values[Counter.UNKNOWN_STREAM_FRAMES]! += 1;
      return;
    }
    const existing = endpoint.findImage(streamId, sessionId);
    if (existing !== undefined) {
      // A SETUP for a session we know (our SM was lost): answer sooner.
      return;
    }
    if (endpoint.coolDowns.isCoolingDown(this.frameNowNs, streamId, sessionId)) {
      values[Counter.FRAMES_DROPPED_COOL_DOWN]! += 1;
      return;
    }
    const termLength = setupTermLength(view, frameOffset);
    const mtu = setupMtu(view, frameOffset);
    const termOffset = setupTermOffset(view, frameOffset);
    const initialTermId = setupInitialTermId(view, frameOffset);
    const activeTermId = setupActiveTermId(view, frameOffset);
    const setupFlags = view.getUint8(frameOffset + FLAGS_OFFSET);
    // Aeron's rules: term length a power of two in 64 KiB..1 GiB (LogBufferDescriptor.checkTermLength),
    // mtu above the 32-byte header, a multiple of 32, at most 65504 (Configuration.validateMtuLength);
    // and a term offset that is frame-aligned inside the term, in a term not before the initial one.
    if (!isValidTermLength(termLength) || mtu <= DATA_HEADER_LENGTH || mtu > MAX_UDP_PAYLOAD_LENGTH || mtu % FRAME_ALIGNMENT !== 0 ||
        termOffset < 0 || termOffset >= termLength || termOffset % FRAME_ALIGNMENT !== 0 || ((activeTermId - initialTermId) | 0) < 0) {
      values[Counter.SETUPS_INVALID]! += 1;
      values[Counter.INVALID_PACKETS]! += 1;
      return;
    }
    const nowNs = this.frameNowNs;
    const sourceIp = this.frameFromIp;
    const reservation = PARTITION_COUNT * termLength;
    if (!this.admission.admit(nowNs, sourceIp, reservation)) return;
    const log = ImageLog.create(termLength, this.sharedLogs, this.imageLogAllocator);
    if (log === null) {
      values[Counter.IMAGE_ALLOCATION_FAILURES]! += 1;
      return;
    }
    const params = endpoint.params;
    const groupTag = params.groupTag === undefined ? undefined : groupTagToInt32Pair(params.groupTag);
    const image = new PublicationImage({
      sessionId,
      streamId,
      endpointId: endpoint.info.id,
      controlIp: endpoint.controlIp !== 0 ? endpoint.controlIp : this.frameFromIp,
      controlPort: endpoint.controlIp !== 0 ? endpoint.controlPort : this.frameFromPort,
      sourceIp: this.frameFromIp,
      sourcePort: this.frameFromPort,
      sourcePinned: params.sourcePin,
      initialTermId,
      activeTermId,
      termOffset,
      termLength,
      mtu,
      receiverIdLo: endpoint.receiverIdLo,
      receiverIdHi: endpoint.receiverIdHi,
      hasGroupTag: groupTag !== undefined,
      groupTagLo: groupTag?.lo ?? 0,
      groupTagHi: groupTag?.hi ?? 0,
      reliable: params.reliable,
      congestionControl: createCongestionControl(params.congestionControl, nowNs, {
        mtu,
        termLength,
        initialWindowBytes: params.receiverWindowBytes,
        initialRttNs: this.config.rttInitialNs,
        tcpMode: this.config.cubicTcpMode,
      }),
      // Aeron's DriverConductor.isMulticastSemantics: `group=` on the subscription decides, else a
      // multicast channel or a SETUP with the GROUP flag (multicast and MDC senders set it) gets
      // the multicast (randomised, implosion-avoiding) NAK delay; unicast gets the static one.
      nakDelay: (endpoint.receiverGroup ?? (params.isMulticast || (setupFlags & SETUP_GROUP_FLAG) !== 0))
        ? new OptimalMulticastDelayGenerator(this.random, this.config.nakMulticastMaxBackoffNs, this.config.nakMulticastGroupSize)
        : new StaticDelayGenerator(params.nakDelayNs, params.nakRetryDelayNs),
      config: this.config,
      counters: this.counters,
      nowNs,
      log,
    });
    this.admission.record(image, nowNs, sourceIp, reservation);
    let streamImages = endpoint.images.get(streamId);
    if (streamImages === undefined) {
      streamImages = new Map();
      endpoint.images.set(streamId, streamImages);
    }
    streamImages.set(sessionId, image);
    this.images.push(image);
    this.registrationIds.set(image, this.nextRegistrationId++);
    this.pendingSetups.delete(sessionId);
    values[Counter.IMAGES_CREATED]! += 1;
    values[Counter.IMAGES_ACTIVE]! += 1;
    for (const subscription of endpoint.subscriptions) {
      if (subscription.matches(streamId, sessionId)) subscription.addImage(image, image.joinPosition);
    }
  }

  onStatus(view: DataView, _bytes: Uint8Array, frameOffset: number, _frameLength: number): void {
    const values = this.counters.values;
    values[Counter.FRAMES_RECEIVED]! += 1;
    values[Counter.STATUS_MESSAGES_RECEIVED]! += 1;
    const flags = view.getUint8(frameOffset + FLAGS_OFFSET);
    const endpoint = this.frameEndpoint;
    if (endpoint instanceof SendEndpoint && endpoint.mode === "dynamic") {
      // Dynamic multi-destination-cast: any SM registers (or refreshes) its sender as a destination,
      // and a SETUP request for a stream we publish makes every publication of it answer.
      if (!endpoint.seen(this.frameNowNs, this.frameFromIp, this.frameFromPort)) values[Counter.ERRORS]! += 1;
      const streamId = smStreamId(view, frameOffset);
      if ((flags & SM_SEND_SETUP_FLAG) !== 0 && endpoint.find(smSessionId(view, frameOffset), streamId) === undefined) {
        for (const p of endpoint.publications) if (p.streamId === streamId) p.requestSetup();
        return;
      }
    }
    const publication = this.findPublication(smSessionId(view, frameOffset), smStreamId(view, frameOffset));
    if (publication === undefined || !publication.acceptsControlFrom(this.frameFromIp, this.frameFromPort)) return;
    const hasGroupTag = smHasGroupTag(view, frameOffset);
    publication.onStatusMessage(
      this.frameNowNs,
      smConsumptionTermId(view, frameOffset),
      smConsumptionTermOffset(view, frameOffset),
      smReceiverWindow(view, frameOffset),
      smReceiverIdLo(view, frameOffset),
      smReceiverIdHi(view, frameOffset),
      hasGroupTag,
      hasGroupTag ? smGroupTagLo(view, frameOffset) : 0,
      hasGroupTag ? smGroupTagHi(view, frameOffset) : 0,
      flags,
      (flags & SM_SEND_SETUP_FLAG) !== 0,
    );
  }

  onNak(view: DataView, _bytes: Uint8Array, frameOffset: number, _frameLength: number): void {
    const values = this.counters.values;
    values[Counter.FRAMES_RECEIVED]! += 1;
    values[Counter.NAKS_RECEIVED]! += 1;
    const publication = this.findPublication(nakSessionId(view, frameOffset), nakStreamId(view, frameOffset));
    if (publication === undefined || !publication.acceptsControlFrom(this.frameFromIp, this.frameFromPort)) return;
    publication.onNak(this.frameNowNs, nakTermId(view, frameOffset), nakTermOffset(view, frameOffset), nakLength(view, frameOffset));
  }

  onRttm(view: DataView, _bytes: Uint8Array, frameOffset: number, _frameLength: number): void {
    const values = this.counters.values;
    values[Counter.FRAMES_RECEIVED]! += 1;
    values[Counter.RTTM_RECEIVED]! += 1;
    const sessionId = rttmSessionId(view, frameOffset);
    const streamId = rttmStreamId(view, frameOffset);
    if (rttmAsksForReply(view, frameOffset)) {
      const publication = this.findPublication(sessionId, streamId);
      if (publication === undefined || !publication.acceptsControlFrom(this.frameFromIp, this.frameFromPort)) return;
      publication.onRttmRequest(this.frameNowNs, rttmEchoLo(view, frameOffset), rttmEchoHi(view, frameOffset),
        rttmReceiverIdLo(view, frameOffset), rttmReceiverIdHi(view, frameOffset), this.frameFromIp, this.frameFromPort);
      return;
    }
    const endpoint = this.frameEndpoint;
    if (!(endpoint instanceof ReceiveEndpoint)) return;
    // Aeron's ReceiveChannelEndpoint.onRttMeasurement takes only RTTMs for its own receiver id (or
    // 0): on multicast every receiver hears every other receiver's reply, and taking those as its
    // own RTT fed CUBIC garbage (issue #12, item 6).
    const idLo = rttmReceiverIdLo(view, frameOffset);
    const idHi = rttmReceiverIdHi(view, frameOffset);
    if ((idLo !== endpoint.receiverIdLo || idHi !== endpoint.receiverIdHi) && (idLo !== 0 || idHi !== 0)) {
      values[Counter.RTTM_REPLIES_OTHER_RECEIVER]! += 1;
      return;
    }
    const image = endpoint.findImage(streamId, sessionId);
    if (image === undefined) return;
    if (image.sourcePinned && (image.sourceIp !== this.frameFromIp || image.sourcePort !== this.frameFromPort)) {
      values[Counter.PINNED_DATA_MISMATCHES]! += 1;
      return;
    }
    image.onRttmReply(this.frameNowNs, rttmEchoLo(view, frameOffset), rttmEchoHi(view, frameOffset), rttmDeltaLo(view, frameOffset),
      rttmDeltaHi(view, frameOffset));
  }

  /**
   * An error frame (the walker checked its lengths: text 0..1023 bytes inside the frame). For one of
   * our publications, from an address it takes control frames from, it drops that receiver and,
   * when the receiver was live, is surfaced to the application once (errorFrames.ts). Anything else
   * is dropped and counted (error frames dropped). Allocates only for a surfaced error.
   */
  onError(view: DataView, bytes: Uint8Array, frameOffset: number, frameLength: number): void {
    const values = this.counters.values;
    values[Counter.FRAMES_RECEIVED]! += 1;
    values[Counter.ERROR_FRAMES_RECEIVED]! += 1;
    const publication = this.findPublication(errSessionId(view, frameOffset), errStreamId(view, frameOffset));
    if (publication === undefined || !publication.acceptsControlFrom(this.frameFromIp, this.frameFromPort)) {
      values[Counter.ERROR_FRAMES_DROPPED]! += 1;
      return;
    }
    const hasGroupTag = (view.getUint8(frameOffset + FLAGS_OFFSET) & ERR_HAS_GROUP_TAG_FLAG) !== 0;
    const receiverIdLo = errReceiverIdLo(view, frameOffset);
    const receiverIdHi = errReceiverIdHi(view, frameOffset);
    const groupTagLo = errGroupTagLo(view, frameOffset);
    const groupTagHi = errGroupTagHi(view, frameOffset);
    if (!publication.onErrorFrame(receiverIdLo, receiverIdHi, hasGroupTag, groupTagLo, groupTagHi)) return;
    values[Counter.PUBLICATION_ERROR_FRAMES]! += 1;
    if (this.publicationErrorFrames.length >= PUBLICATION_ERROR_FRAME_QUEUE_CAPACITY) {
      values[Counter.ERRORS]! += 1;
      return;
    }
    this.errorFlyweight.wrap(bytes, frameOffset, frameLength);
    this.publicationErrorFrames.push({
      channel: publication.channel,
      sessionId: publication.sessionId,
      streamId: publication.streamId,
      receiverId: i64HalvesToBigInt(receiverIdLo, receiverIdHi),
      sourceIp: this.frameFromIp,
      sourcePort: this.frameFromPort,
      groupTag: hasGroupTag ? i64HalvesToBigInt(groupTagLo, groupTagHi) : undefined,
      errorCode: errErrorCode(view, frameOffset),
      errorMessage: this.errorFlyweight.errorText(),
    });
  }

  private readonly errorFlyweight = new ErrorFrameFlyweight();

  onResolution(_view: DataView, _bytes: Uint8Array, _frameOffset: number, _frameLength: number): void {
    // Name resolution between drivers: parsed by the walker, not used by Petrel.
    this.counters.values[Counter.FRAMES_RECEIVED]! += 1;
  }

  onResponseSetup(_view: DataView, _bytes: Uint8Array, _frameOffset: number, _frameLength: number): void {
    // Response channels are not supported; the frame is valid, so it is counted, not rejected.
    this.counters.values[Counter.FRAMES_RECEIVED]! += 1;
  }

  // ================================================================ internals

  private findPublication(sessionId: number, streamId: number): NetworkPublication | undefined {
    const endpoint = this.frameEndpoint;
    if (!(endpoint instanceof SendEndpoint)) {
      this.counters.values[Counter.UNKNOWN_SESSION_FRAMES]! += 1;
      return undefined;
    }
    const publication = endpoint.find(sessionId, streamId);
    if (publication === undefined) this.counters.values[Counter.UNKNOWN_SESSION_FRAMES]! += 1;
    return publication;
  }

  /** Data for a session we have no image of: ask its sender for SETUP (once per pending-setups timeout). */
  private onUnknownSession(endpoint: ReceiveEndpoint, sessionId: number, streamId: number, endOfStream: boolean): void {
    const values = this.counters.values;
    values[Counter.UNKNOWN_SESSION_FRAMES]! += 1;
    if (!endpoint.hasSubscriber(streamId, sessionId)) {
      values[Counter.UNKNOWN_STREAM_FRAMES]! += 1;
      return;
    }
    if (endOfStream) return;
    if (endpoint.coolDowns.isCoolingDown(this.frameNowNs, streamId, sessionId)) {
      values[Counter.FRAMES_DROPPED_COOL_DOWN]! += 1;
      return;
    }
    const pending = this.pendingSetups.get(sessionId);
    if (pending !== undefined && pending.streamId === streamId && pending.expiresNs - this.frameNowNs > 0) return;
    if (this.pendingSetups.size >= PENDING_SETUP_CAPACITY || this.controlCount >= CONTROL_QUEUE_CAPACITY) {
      values[Counter.ERRORS]! += 1;
      return;
    }
    this.pendingSetups.set(sessionId, { streamId, expiresNs: this.frameNowNs + this.config.pendingSetupsTimeoutNs });
    const i = this.controlCount++;
    this.controlEndpoint[i] = endpoint.info.id;
    // A multicast receiver asks the control group, as Aeron's DataPacketDispatcher does: the
    // sender reads its control socket, never the data group's source address.
    this.controlIp[i] = endpoint.controlIp !== 0 ? endpoint.controlIp : this.frameFromIp;
    this.controlPort[i] = endpoint.controlIp !== 0 ? endpoint.controlPort : this.frameFromPort;
    this.controlSession[i] = sessionId;
    this.controlStream[i] = streamId;
  }

  /**
   * Receivers with an explicit control address (dynamic MDC) register with it as Aeron's Receiver
   * does: a SETUP-eliciting SM for session 0, stream 0 when the endpoint opens and then every
   * pending-setups timeout (1 s) for as long as it has subscriptions. The publication adds the
   * SM's source as a destination; its data then elicits each session's SETUP from that address.
   */
  private sendRegistrations(nowNs: number, batch: TransmitBatch): boolean {
    const receivers = this.dynamicReceivers;
    for (let i = 0; i < receivers.length; i++) {
      const receiver = receivers[i]!;
      if (receiver.nextRegistrationNs - nowNs > 0 || !receiver.wantsRegistration()) continue;
      if (!this.sendSetupRequest(batch, receiver, receiver.dynamicControlIp, receiver.dynamicControlPort, 0, 0)) return false;
      receiver.nextRegistrationNs = nowNs + this.config.pendingSetupsTimeoutNs;
    }
    return true;
  }

  /**
   * Writes an SM with SEND_SETUP (no position, no window) from `receiver` to (ip, port): it asks a
   * sender for SETUP. Returns false when the batch is full.
   */
  private sendSetupRequest(batch: TransmitBatch, receiver: ReceiveEndpoint, ip: number, port: number, sessionId: number,
    streamId: number): boolean {
    const slot = batch.claim(receiver.info.id, ip, port);
    if (slot < 0) return false;
    // Aeron's sendSetupElicitingStatusMessage carries the receiver's group tag (`gtag`) as every
    // SM does, so tagged flow control can count this receiver from its first SM.
    const groupTag = receiver.groupTag;
    const length = groupTag === undefined ? SM_LENGTH : SM_WITH_GROUP_TAG_LENGTH;
    if (groupTag === undefined) {
      writeStatusMessage(batch.view, batch.slotOffset(slot), SM_SEND_SETUP_FLAG, sessionId, streamId, 0, 0, 0, receiver.receiverIdLo,
        receiver.receiverIdHi);
    } else {
      writeStatusMessageWithGroupTag(batch.view, batch.slotOffset(slot), SM_SEND_SETUP_FLAG, sessionId, streamId, 0, 0, 0,
        receiver.receiverIdLo, receiver.receiverIdHi, groupTag.lo, groupTag.hi);
    }
    batch.commit(slot, length);
    const values = this.counters.values;
    values[Counter.BYTES_SENT]! += length;
    values[Counter.DATAGRAMS_SENT]! += 1;
    values[Counter.FRAMES_SENT]! += 1;
    values[Counter.STATUS_MESSAGES_SENT]! += 1;
    values[Counter.STATUS_MESSAGES_SETUP_REQUESTED]! += 1;
    return true;
  }

  private sendControlQueue(batch: TransmitBatch): boolean {
    let i = 0;
    for (; i < this.controlCount; i++) {
      const endpoint = this.endpointsById.get(this.controlEndpoint[i]!);
      if (!(endpoint instanceof ReceiveEndpoint)) continue;
      if (!this.sendSetupRequest(batch, endpoint, this.controlIp[i]!, this.controlPort[i]!, this.controlSession[i]!, this.controlStream[i]!)) {
        break;
      }
    }
    if (i < this.controlCount) {
      const remaining = this.controlCount - i;
      this.controlEndpoint.copyWithin(0, i, this.controlCount);
      this.controlIp.copyWithin(0, i, this.controlCount);
      this.controlPort.copyWithin(0, i, this.controlCount);
      this.controlSession.copyWithin(0, i, this.controlCount);
      this.controlStream.copyWithin(0, i, this.controlCount);
      this.controlCount = remaining;
      return false;
    }
    this.controlCount = 0;
    return true;
  }

  private createPublication(channel: string, streamId: number, exclusive: boolean): Publication {
    this.checkOpen();
    checkStreamId(streamId);
    const uri = parseChannelUri(channel);
    const canonical = formatChannelUri(uri);
    checkSupported(uri, canonical, streamId, "publication");
    const params = resolveStreamParams(this.config, uri);
    if (uri.media === "ipc") return this.createIpcPublication(canonical, streamId, params, exclusive);
    this.transportCheck?.(canonical, params.mtuBytes, "send");
    if (!exclusive) {
      for (const existing of this.publications) {
        if (!existing.exclusive && existing.channel === canonical && existing.streamId === streamId && existing.state === PublicationState.ACTIVE) {
          existing.refCount++;
          return this.track(new Publication(existing, (p) => this.onPublicationHandleClosed(p)));
        }
      }
    }

    const target = this.sendTarget(uri, canonical);
    let endpoint = this.sendEndpoints.get(target.key);
    if (endpoint === undefined) {
      const info: EndpointInfo = {
        id: this.nextEndpointId++,
        role: "send",
        channel: canonical,
        bindIp: target.bindIp,
        bindPort: target.bindPort,
        socketRcvbufBytes: params.socketRcvbufBytes,
        socketSndbufBytes: params.socketSndbufBytes,
        ttl: params.ttl,
        multicastGroupIp: target.groupIp,
        interfaceIp: target.interfaceIp,
      };
      endpoint = new SendEndpoint(info, target.mode, target.destinations);
      if (target.mode === "dynamic") this.dynamicSenders.push(endpoint);
      const key = target.key;
      this.sendEndpoints.set(key, endpoint);
      this.endpointsById.set(info.id, endpoint);
      this.endpointEvents.push({ type: "open", endpoint: info });
    }
    const sessionId = params.sessionId ?? this.newSessionId(endpoint, streamId);
    if (endpoint.find(sessionId, streamId) !== undefined) {
      throw new ChannelUriError("session-id", String(sessionId), `stream ${streamId} already has a publication with this session on ${canonical}`);
    }
    const { initialTermId, activeTermId, termOffset } = this.startOf(params);
    const network = new NetworkPublication({
      sessionId,
      streamId,
      channel: canonical,
      params,
      exclusive,
      initialTermId,
      activeTermId,
      termOffset,
      destinations: endpoint.destinations,
      flowControl: createFlowControl(flowControlSpec(params), params.isMulticast),
      config: this.config,
      counters: this.counters,
      nowNs: this.lastNowNs,
      sharedLog: this.sharedLogs,
    });
    endpoint.publications.push(network);
    this.publications.push(network);
    this.registrationIds.set(network, this.nextRegistrationId++);
    this.counters.values[Counter.PUBLICATIONS_ACTIVE]! += 1;
    const sendEndpoint = endpoint;
    const destinationControl = endpoint.mode === "manual"
      ? {
          add: (channel: string) => this.addDestination(sendEndpoint, channel),
          remove: (channel: string) => this.removeDestination(sendEndpoint, channel),
        }
      : undefined;
    return this.track(new Publication(network, (p) => this.onPublicationHandleClosed(p), destinationControl));
  }

  /** Where a UDP publication's socket binds and what it sends to, by channel kind. */
  private sendTarget(uri: ChannelUri, canonical: string): {
    key: string; mode: SendMode; bindIp: number; bindPort: number; groupIp: number; interfaceIp: number; destinations: Destination[];
  } {
    const interfaceIp = this.interfaceIpOf(uri, canonical);
    if (uri.controlMode === "manual" || uri.controlMode === "dynamic") {
      if (uri.control === undefined) {
        throw new ChannelUriError("control", "", `control-mode=${uri.controlMode} needs control=<ip>:<port>, where receivers' status messages arrive`);
      }
      const controlIp = this.resolve(uri.control);
      // A receiver registers (dynamic) or is added (manual); an endpoint given as well is the first destination.
      const destinations: Destination[] = [];
      if (uri.endpoint !== undefined) destinations.push({ ip: this.resolve(uri.endpoint), port: uri.endpoint.port, lastSeenNs: this.lastNowNs });
      return { key: `d:${controlIp}:${uri.control.port}`, mode: uri.controlMode, bindIp: controlIp, bindPort: uri.control.port, groupIp: 0,
        interfaceIp, destinations };
    }
    const address = this.requireEndpoint(uri, "a UDP publication needs endpoint=<ip>:<port> to send to");
    if (address.port === 0) throw new ChannelUriError("endpoint", `${address.host}:0`, "a publication must name the receiver's port");
    const destinationIp = this.resolve(address);
    if (uri.multicast !== undefined) {
      // Data goes to the group; SMs and NAKs arrive on the control group, same port.
      return { key: `m:${destinationIp}:${address.port}`, mode: "multicast", bindIp: interfaceIp, bindPort: address.port,
        groupIp: this.resolve(uri.multicast.control), interfaceIp, destinations: [{ ip: destinationIp, port: address.port, lastSeenNs: 0 }] };
    }
    return { key: `u:${destinationIp}:${address.port}`, mode: "unicast", bindIp: 0, bindPort: 0, groupIp: 0, interfaceIp,
      destinations: [{ ip: destinationIp, port: address.port, lastSeenNs: 0 }] };
  }

  private addDestination(endpoint: SendEndpoint, channel: string): void {
    const destination = this.parseDestination(channel);
    const list = endpoint.destinations.list;
    if (list.some((d) => d.ip === destination.ip && d.port === destination.port)) return;
    if (list.length >= MAX_DESTINATIONS) {
      throw new InvalidArgumentError("destination", channel, `a publication sends to at most ${MAX_DESTINATIONS} destinations`);
    }
    list.push({ ...destination, lastSeenNs: this.lastNowNs });
    // A new destination needs SETUP to create its image.
    for (const publication of endpoint.publications) publication.requestSetup();
  }

  private removeDestination(endpoint: SendEndpoint, channel: string): void {
    const destination = this.parseDestination(channel);
    const list = endpoint.destinations.list;
    const index = list.findIndex((d) => d.ip === destination.ip && d.port === destination.port);
    if (index < 0) throw new InvalidArgumentError("destination", channel, "is not a destination of this publication");
    list.splice(index, 1);
  }

  private parseDestination(channel: string): { ip: number; port: number } {
    const uri = parseChannelUri(channel);
    if (uri.media !== "udp" || uri.endpoint === undefined || uri.endpoint.port === 0) {
      throw new ChannelUriError("endpoint", channel, "a destination is aeron:udp?endpoint=<ip>:<port>");
    }
    return { ip: this.resolve(uri.endpoint), port: uri.endpoint.port };
  }

  private createIpcPublication(canonical: string, streamId: number, params: StreamParams, exclusive: boolean): Publication {
    if (!exclusive) {
      for (const existing of this.ipcPublications) {
        if (!existing.exclusive && existing.channel === canonical && existing.streamId === streamId && !existing.isDraining) {
          existing.refCount++;
          return this.track(new Publication(existing, (p) => this.onPublicationHandleClosed(p)));
        }
      }
    }
    let sessionId = params.sessionId;
    // Bounded: a draw lands on a reserved or used session id with tiny probability.
    for (let attempt = 0; sessionId === undefined && attempt < 64; attempt++) {
      const candidate = this.random.nextUint32() | 0;
      if (candidate >= this.config.reservedSessionIdLow && candidate <= this.config.reservedSessionIdHigh) continue;
      if (!this.ipcPublications.some((p) => p.sessionId === candidate && p.streamId === streamId)) sessionId = candidate;
    }
    if (sessionId === undefined) throw new EngineUsageError("could not find a free session id in 64 draws (is the random source constant?)");
    if (this.ipcPublications.some((p) => p.sessionId === sessionId && p.streamId === streamId && !p.isClosed)) {
      throw new ChannelUriError("session-id", String(sessionId), `stream ${streamId} already has an IPC publication with this session`);
    }
    const { initialTermId, activeTermId, termOffset } = this.startOf(params);
    const publication = new IpcPublication({
      sessionId, streamId, channel: canonical, params, exclusive, initialTermId, activeTermId, termOffset, counters: this.counters,
    });
    this.ipcPublications.push(publication);
    this.registrationIds.set(publication, this.nextRegistrationId++);
    this.counters.values[Counter.PUBLICATIONS_ACTIVE]! += 1;
    for (const subscription of this.ipcSubscriptions) {
      if (subscription.matches(streamId, sessionId)) subscription.addImage(publication, publication.position);
    }
    return this.track(new Publication(publication, (p) => this.onPublicationHandleClosed(p)));
  }

  private removeIpcPublication(publication: IpcPublication): void {
    for (const subscriber of [...publication.subscribers]) subscriber.subscription.removeImage(publication);
    publication.markClosed();
    const index = this.ipcPublications.indexOf(publication);
    if (index >= 0) this.ipcPublications.splice(index, 1);
    this.counters.values[Counter.PUBLICATIONS_ACTIVE]! -= 1;
  }

  /** Where a new publication's stream starts: the URI's three values, or a random initial term. */
  private startOf(params: StreamParams): { initialTermId: number; activeTermId: number; termOffset: number } {
    if (params.initialPosition === undefined) {
      const initialTermId = this.random.nextUint32() | 0;
      return { initialTermId, activeTermId: initialTermId, termOffset: 0 };
    }
    const { initTermId, termId, termOffset } = params.initialPosition;
    // An offset at the very end of a term is the start of the next one.
    return termOffset === params.termLengthBytes
      ? { initialTermId: initTermId, activeTermId: (termId + 1) | 0, termOffset: 0 }
      : { initialTermId: initTermId, activeTermId: termId, termOffset };
  }

  /** The counters as Aeron's CountersReader lists them: system counters and per-stream positions (countersReader.ts). */
  get countersReader(): CountersReader {
    if (this.countersReaderValue === undefined) this.countersReaderValue = new CountersReader(this);
    return this.countersReaderValue;
  }

  /**
   * The registration id of a publication's backend (the first add of a shared publication, as
   * Aeron's originalRegistrationId) or of an image (its correlation id); -1 for anything else.
   */
  registrationIdOf(source: object): number {
    return this.registrationIds.get(source) ?? -1;
  }

  private track(handle: Publication): Publication {
    handle.registrationId = this.registrationIdOf(handle.backend);
    this.handles.push(handle);
    return handle;
  }

  private onPublicationHandleClosed(handle: Publication): void {
    const index = this.handles.indexOf(handle);
    if (index >= 0) this.handles.splice(index, 1);
    const backend = handle.backend;
    backend.refCount--;
    if (backend.refCount <= 0) backend.close();
  }

  private removePublication(publication: NetworkPublication): void {
    const index = this.publications.indexOf(publication);
    if (index >= 0) this.publications.splice(index, 1);
    this.counters.values[Counter.PUBLICATIONS_ACTIVE]! -= 1;
    for (const [key, endpoint] of this.sendEndpoints) {
      const i = endpoint.publications.indexOf(publication);
      if (i < 0) continue;
      endpoint.publications.splice(i, 1);
      if (endpoint.publications.length === 0) {
        const dynamicIndex = this.dynamicSenders.indexOf(endpoint);
        if (dynamicIndex >= 0) this.dynamicSenders.splice(dynamicIndex, 1);
        this.sendEndpoints.delete(key);
        this.endpointsById.delete(endpoint.info.id);
        this.endpointEvents.push({ type: "close", endpointId: endpoint.info.id });
      }
    }
  }

  private detachSubscribers(image: PublicationImage): void {
    const subscribers = [...image.subscribers];
    for (const subscriber of subscribers) subscriber.subscription.removeImage(image);
  }

  private removeImage(image: PublicationImage): void {
    this.detachSubscribers(image);
    this.rejections.remove(image);
    image.close();
    const index = this.images.indexOf(image);
    if (index >= 0) this.images.splice(index, 1);
    if (this.lastImage === image) this.lastImage = undefined;
    this.counters.values[Counter.IMAGES_ACTIVE]! -= 1;
    this.admission.release(image);
    const endpoint = this.endpointsById.get(image.endpointId);
    if (endpoint instanceof ReceiveEndpoint) {
      this.forgetImage(endpoint, image);
      if (endpoint.closing && !this.images.some((other) => other.endpointId === endpoint.info.id)) this.closeReceiveEndpoint(endpoint);
    }
  }

  private forgetImage(endpoint: ReceiveEndpoint, image: PublicationImage): void {
    const streamImages = endpoint.images.get(image.streamId);
    if (streamImages?.get(image.sessionId) === image) streamImages.delete(image.sessionId);
    if (streamImages !== undefined && streamImages.size === 0) endpoint.images.delete(image.streamId);
  }

  /**
   * After an image went without end of stream, its session is ON_COOL_DOWN (Aeron's
   * DataPacketDispatcher.removePublicationImage): its SETUPs and data are ignored until the image
   * would have drained in Aeron (5 status message intervals; DriverConductor.transitionToLinger then
   * removes the cool-down), or for as long as the stream is subscribed when a subscription linked to
   * the image has `rejoin=false`.
   */
  private coolDownSession(nowNs: number, image: PublicationImage): void {
    const endpoint = this.endpointsById.get(image.endpointId);
    if (!(endpoint instanceof ReceiveEndpoint)) return;
    let rejoin = true;
    for (const subscriber of image.subscribers) if (endpoint.noRejoin.has(subscriber.subscription)) rejoin = false;
    const expiryNs = rejoin ? nowNs + DRAINING_SM_EOS_MULTIPLE * this.config.statusMessageIntervalNs : Infinity;
    endpoint.coolDowns.add(nowNs, image.streamId, image.sessionId, expiryNs);
  }

  private closeReceiveEndpoint(endpoint: ReceiveEndpoint): void {
    endpoint.closing = false;
    const dynamicIndex = this.dynamicReceivers.indexOf(endpoint);
    if (dynamicIndex >= 0) this.dynamicReceivers.splice(dynamicIndex, 1);
    for (const [key, e] of this.receiveEndpoints) if (e === endpoint) this.receiveEndpoints.delete(key);
    this.endpointsById.delete(endpoint.info.id);
    this.endpointEvents.push({ type: "close", endpointId: endpoint.info.id });
  }

  private onSubscriptionClosed(subscription: Subscription): void {
    const index = this.subscriptions.indexOf(subscription);
    if (index >= 0) this.subscriptions.splice(index, 1);
    this.counters.values[Counter.SUBSCRIPTIONS_ACTIVE]! -= 1;
    const ipcIndex = this.ipcSubscriptions.indexOf(subscription);
    if (ipcIndex >= 0) {
      this.ipcSubscriptions.splice(ipcIndex, 1);
      return;
    }
    const endpoint = this.endpointsById.get(subscription.endpointId);
    if (!(endpoint instanceof ReceiveEndpoint)) return;
    const i = endpoint.subscriptions.indexOf(subscription);
    if (i >= 0) endpoint.subscriptions.splice(i, 1);
    endpoint.noRejoin.delete(subscription);
    if (!endpoint.subscriptions.some((s) => s.streamId === subscription.streamId)) endpoint.coolDowns.forgetStream(subscription.streamId);
    // Images nobody subscribes to any more drain: out of the dispatcher, they send status messages
    // with the EOS flag for a while (Aeron's PublicationImage.deactivate), then go.
    let draining = false;
    for (const image of this.images) {
      if (image.endpointId !== endpoint.info.id || image.isDraining || endpoint.hasSubscriber(image.streamId, image.sessionId)) continue;
      this.detachSubscribers(image);
      this.forgetImage(endpoint, image);
      if (this.lastImage === image) this.lastImage = undefined;
      image.startDraining(this.lastNowNs);
      draining = true;
    }
    if (endpoint.subscriptions.length === 0) {
      // The socket stays open while its images drain (Aeron's endpoint image reference count).
      if (draining || this.images.some((image) => image.endpointId === endpoint.info.id)) endpoint.closing = true;
      else this.closeReceiveEndpoint(endpoint);
    }
  }

  private newSessionId(endpoint: SendEndpoint, streamId: number): number {
    // Bounded: a draw lands in the reserved range or on a used session with tiny probability.
    for (let attempt = 0; attempt < 64; attempt++) {
      const candidate = this.random.nextUint32() | 0;
      if (candidate >= this.config.reservedSessionIdLow && candidate <= this.config.reservedSessionIdHigh) continue;
      if (endpoint.find(candidate, streamId) === undefined) return candidate;
    }
    throw new EngineUsageError("could not find a free session id in 64 draws (is the random source constant?)");
  }

  private requireEndpoint(uri: ChannelUri, reason: string): SocketAddress {
    if (uri.endpoint === undefined) throw new ChannelUriError("endpoint", "", reason);
    return uri.endpoint;
  }

  /**
   * The local interface a channel names (0: any): its address, or with `/prefix` (shorter than
   * /32) the local address within that subnet, found by resolveInterface as Aeron's interface search.
   */
  private interfaceIpOf(uri: ChannelUri, canonical: string): number {
    const given = uri.networkInterface;
    if (given === undefined) return 0;
    const address = parseIpv4(given.address);
    if (given.prefixLength === undefined || given.prefixLength === 32) return address;
    const text = `${given.address}/${given.prefixLength}`;
    if (this.resolveInterface === undefined) {
      throw new UnsupportedChannelError(canonical, `interface=${text} asks for a subnet search, which needs an engine given resolveInterface (Petrel.launch gives one); name the interface's own address instead`);
    }
    const found = this.resolveInterface(address, given.prefixLength);
    if (!Number.isInteger(found) || found < 0 || found > 0xffffffff) {
      throw new ChannelUriError("interface", text, "no local interface has an IPv4 address in this subnet");
    }
    return found;
  }

  private resolve(address: SocketAddress): number {
    if (address.hostKind === "ipv4") return parseIpv4(address.host);
    if (address.host === "localhost") return parseIpv4("127.0.0.1");
    const ip = this.resolveHost?.(address.host) ?? -1;
    if (ip < 0) throw new ChannelUriError("endpoint", address.host, "cannot resolve the host name (pass resolveHost to the engine, or use an IPv4 address)");
    return ip >>> 0;
  }

  private advanceTime(nowNs: number): void {
    if (!(nowNs >= this.lastNowNs)) {
      throw new EngineUsageError(`time went backwards: nowNs ${nowNs} < ${this.lastNowNs} (or is not a number)`);
    }
    this.lastNowNs = nowNs;
  }

  private checkOpen(): void {
    if (this.closed) throw new EngineUsageError("the engine is closed");
  }
}
