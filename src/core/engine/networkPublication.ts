// The sender side of one stream (Aeron's NetworkPublication): the publication's log, the
// application's offer/tryClaim into it, and what the sender puts on the wire from it: SETUP until a
// status message arrives, data up to the flow-control limit, heartbeats when idle, retransmissions
// of NAKed ranges, RTT-measurement replies, and end of stream plus linger after close.
//
// Hot path: offer() appends in place; pollTransmit() copies whole frames from the term into the
// caller's transmit batch. Neither allocates. Pending retransmits and RTTM replies wait in small
// preallocated rings because NAKs and RTTM requests arrive in handleDatagram, while datagrams can
// only be written into a batch the caller lends to pollTransmit.
import { checkOfferVectors } from "./offerVectors.js";
import type { StreamParams } from "../config/streamParams.js";
import type { EngineConfig } from "../config/engineConfig.js";
import {
  ADMIN_ACTION,
  BufferClaim,
  type BufferVector,
  type ReservedValueSupplier,
  ExclusiveLogAppender,
  LogBuffers,
  MAX_POSITION_EXCEEDED,
  computePosition,
  indexByTerm,
  scanAvailable,
  scanForAvailability,
  scanPadding,
} from "../logbuffer/index.js";
import { DATA_HEADER_LENGTH, DATA_TERM_ID_OFFSET } from "../protocol/dataHeader.js";
import { writeHeartbeat } from "../protocol/dataFrame.js";
import { SETUP_GROUP_FLAG, SETUP_LENGTH, writeSetup } from "../protocol/setupFrame.js";
import { RTTM_LENGTH, writeRttmHalves } from "../protocol/rttmFrame.js";
import { SM_EOS_FLAG } from "../protocol/statusMessageFrame.js";
import { NakOutcome, RetransmitHandler, bottomResendWindow, type RetransmitSender } from "../strategy/retransmitHandler.js";
import { StaticDelayGenerator } from "../strategy/feedbackDelay.js";
import type { FlowControl } from "../strategy/flowControl.js";
import { NO_DEADLINE_NS } from "../strategy/timers.js";
import { Counter, type Counters } from "./counters.js";
import { ReceiverLivenessTracker } from "./receiverLivenessTracker.js";
import { InvalidArgumentError } from "./engineErrors.js";
import type { TransmitBatch } from "../transmitBatch.js";

/** offer()/tryClaim() results below zero (Aeron's values). */
export const NOT_CONNECTED = -1;
export const BACK_PRESSURED = -2;
export { ADMIN_ACTION, MAX_POSITION_EXCEEDED };
export const CLOSED = -4;

/** Lifecycle of a publication. */
export const PublicationState = {
  /** Accepting offers and sending. */
  ACTIVE: 0,
  /** Closed by the application: sending what remains, then end of stream. */
  DRAINING: 1,
  /** Everything sent; serving retransmits and sending EOS heartbeats until the linger ends. */
  LINGERING: 2,
  /** Gone: the engine has removed it. */
  CLOSED: 3,
} as const;
export type PublicationState = (typeof PublicationState)[keyof typeof PublicationState];

/** Retransmit ranges waiting for the next pollTransmit. Bounded by the retransmit handler's actions. */
const PENDING_RESEND_CAPACITY = 64;
/** RTTM replies waiting for the next pollTransmit; beyond this, requests are dropped and counted. */
const PENDING_RTTM_CAPACITY = 16;

/** Aeron's RETRANSMIT_RECEIVER_WINDOW_MULTIPLE: 4 for max flow control, 16 for unicast, min and tagged. */
export function retransmitReceiverWindowMultiple(flowControl: string): number {
  return flowControl === "max" ? 4 : 16;
}

/**
 * The most one NAK can make the sender resend (Aeron's FlowControl.calculateRetransmissionLength):
 * the receiver window, min(initial receiver window, termLength / 2), times the flow control's
 * multiple. With 16 MiB terms and the default 128 KiB window, 2 MiB for unicast.
 */
export function maxRetransmitLengthOf(termLength: number, initialReceiverWindowBytes: number, flowControl: string): number {
  const window = initialReceiverWindowBytes < termLength / 2 ? initialReceiverWindowBytes : termLength / 2;
  return Math.min(window * retransmitReceiverWindowMultiple(flowControl), 0x7fffffff);
}

/** One address a publication's frames go to. */
export interface Destination {
  readonly ip: number;
  readonly port: number;
  /** When the destination last spoke (a status message); dynamic MDC forgets silent ones. */
  lastSeenNs: number;
}

/**
 * Where a publication sends: the local endpoint its datagrams leave from and the destinations they
 * go to. Unicast has one destination, multicast one (the group); multi-destination-cast has those
 * added by the application (manual) or learned from receivers' status messages (dynamic). The list
 * belongs to the send endpoint and is shared by every publication on it, as in Aeron.
 */
export interface PublicationDestinations {
  readonly endpointId: number;
  readonly list: Destination[];
}

export class NetworkPublication implements RetransmitSender {
  readonly sessionId: number;
  readonly streamId: number;
  readonly channel: string;
  readonly params: StreamParams;
  readonly exclusive: boolean;
  readonly log: LogBuffers;
  readonly appender: ExclusiveLogAppender;
  readonly initialTermId: number;
  readonly termLength: number;
  readonly positionBitsToShift: number;
  readonly mtu: number;
  readonly termWindowLength: number;
  readonly destinations: PublicationDestinations;

  state: PublicationState = PublicationState.ACTIVE;
  /** Application handles sharing this publication (addPublication shares; exclusive ones don't). */
  refCount = 1;

  /** Everything below this has been sent at least once. */
  senderPosition: number;
  /** The flow-control limit: the sender may send below this. */
  senderLimit: number;
  /** Times the window stopped the sender after a send (Aeron's snd-bpe counter). */
  senderBackPressureEvents = 0;
  private trackSenderLimits = false;
  /**
   * Begin position of the newest term cleaned so far (the term before the first one at the start).
   * The next term is cleaned once the sender is two
   * terms past its start: receivers are at most a window (half a term) behind the sender, so
   * nobody can NAK it any more, and the appender (at most half a term ahead of the sender) has not
   * reached the partition again.
   */
  private cleanPosition: number;
  /** Position at which the publication was closed (end of stream), or -1. */
  endOfStreamPosition = -1;
  /** External producer mode: the producer's committed position; -1 when this publication's own appender produces. */
  private externalProducerPosition = -1;

  /** Receivers heard from (Aeron's ReceiverLivenessTracker): the publication "has receivers" while one is live. */
  private readonly liveness = new ReceiverLivenessTracker();
  /** A status message has arrived at least once (Aeron's hasInitialConnection): SETUP stops, heartbeats start. */
  private hasInitialConnection = false;
  /** Unicast: the receiver sent an SM with EOS (its subscription closed): the linger ends at once (Aeron). */
  private hasReceivedUnicastEos = false;
  private readonly isUnicast: boolean;
  /** `eos` channel parameter: end-of-stream heartbeats carry the EOS flag (Aeron's signalEos). */
  private readonly signalEos: boolean;
  private connectedFlag = false;
  /** SETUP is wanted after the initial connection (Aeron's isSetupElicited): a receiver asked, or a destination was added. */
  private shouldSendSetup = false;
  private lastSetupNs = 0;
  private setupSentOnce = false;
  /** Last datagram of any kind sent (decides "run now" deadlines). */
  private lastSendNs = 0;
  /**
   * Last data frame or heartbeat sent (Aeron's timeOfLastDataOrHeartbeatNs): the heartbeat timer.
   * SETUPs, retransmits and RTTM replies do not move it (issue #12, item 1: an idle cc=cubic stream
   * answered RTTM requests often enough to starve its heartbeats, and the image timed out).
   */
  private timeOfLastDataOrHeartbeatNs = 0;
  private sentOnce = false;
  private lingerDeadlineNs = NO_DEADLINE_NS;

  private readonly retransmitHandler: RetransmitHandler;
  /** Source pinning: the only (ip, port) SMs, NAKs and RTTM requests are taken from; -1 when not pinned. */
  private readonly pinnedIp: number;
  private readonly pinnedPort: number;
  private readonly flowControl: FlowControl;
  private readonly config: EngineConfig;
  private readonly counters: Counters;

  private readonly pendingResends = new Int32Array(PENDING_RESEND_CAPACITY * 3);
  private pendingResendHead = 0;
  private pendingResendCount = 0;

  /** The requests' echo timestamps as i32 halves: echoed bit for bit, whatever their value. */
  private readonly rttmEchoLo = new Int32Array(PENDING_RTTM_CAPACITY);
  private readonly rttmEchoHi = new Int32Array(PENDING_RTTM_CAPACITY);
  private readonly rttmReceiverLo = new Int32Array(PENDING_RTTM_CAPACITY);
  private readonly rttmReceiverHi = new Int32Array(PENDING_RTTM_CAPACITY);
  private readonly rttmIps = new Uint32Array(PENDING_RTTM_CAPACITY);
  private readonly rttmPorts = new Uint16Array(PENDING_RTTM_CAPACITY);
  private rttmCount = 0;

  constructor(options: {
    sessionId: number;
    streamId: number;
    channel: string;
    params: StreamParams;
    exclusive: boolean;
    initialTermId: number;
    activeTermId: number;
    termOffset: number;
    destinations: PublicationDestinations;
    flowControl: FlowControl;
    config: EngineConfig;
    counters: Counters;
    nowNs: number;
    /** Allocate the log on a SharedArrayBuffer (worker mode: the application appends from another thread). */
    sharedLog?: boolean;
  }) {
    const params = options.params;
    this.sessionId = options.sessionId;
    this.streamId = options.streamId;
    this.channel = options.channel;
    this.params = params;
    this.exclusive = options.exclusive;
    this.config = options.config;
    this.counters = options.counters;
    this.destinations = options.destinations;
    this.flowControl = options.flowControl;
    this.termLength = params.termLengthBytes;
    this.positionBitsToShift = params.positionBitsToShift;
    this.mtu = params.mtuBytes;
    this.termWindowLength = params.publicationTermWindowBytes;
    this.initialTermId = options.initialTermId | 0;
    this.log = LogBuffers.allocate(this.termLength, options.sharedLog === true);
    this.appender = new ExclusiveLogAppender(this.log, {
      initialTermId: this.initialTermId,
      activeTermId: options.activeTermId,
      termOffset: options.termOffset,
      sessionId: this.sessionId,
      streamId: this.streamId,
      mtuLength: this.mtu,
      cleanOnRotation: false,
    });
    const startPosition = computePosition(options.activeTermId, options.termOffset, this.positionBitsToShift, this.initialTermId);
    this.senderPosition = startPosition;
    this.cleanPosition = startPosition - (startPosition & (this.termLength - 1)) - this.termLength;
    this.senderLimit = this.flowControl.initialLimit(options.nowNs, startPosition);
    this.retransmitHandler = new RetransmitHandler(this, {
      initialTermId: this.initialTermId,
      delayGenerator: new StaticDelayGenerator(this.config.retransmitUnicastDelayNs),
      lingerGenerator: new StaticDelayGenerator(this.config.retransmitUnicastLingerNs),
      maxActions: params.maxRetransmitActions,
      // Aeron's retransmit limits (issue #11, attack 4): one action for unicast, and a resend no
      // longer than a multiple of the receiver window (retransmitHandler.ts has the rules).
      groupSemantics: params.isMulticast || params.isMultiDestination,
      maxRetransmitLength: maxRetransmitLengthOf(this.termLength, this.config.initialReceiverWindowBytes, params.flowControl.strategy),
    });
    // Source pinning (`source-pin`, Petrel extension): a unicast publication takes control frames
    // only from the address it sends to. Multicast and MDC have many receivers: not pinned.
    const pinned = params.sourcePin && !params.isMulticast && !params.isMultiDestination && this.destinations.list.length === 1;
    this.pinnedIp = pinned ? this.destinations.list[0]!.ip : -1;
    this.pinnedPort = pinned ? this.destinations.list[0]!.port : -1;
    this.lastSendNs = options.nowNs;
    this.timeOfLastDataOrHeartbeatNs = options.nowNs - this.config.heartbeatIntervalNs;
    this.isUnicast = !params.isMulticast && !params.isMultiDestination;
    this.signalEos = params.eos;
  }

  // ---------------------------------------------------------------- application side

  /** True once a receiver has sent a status message and flow control has what it requires. */
  get isConnected(): boolean {
    return this.connectedFlag && this.state === PublicationState.ACTIVE;
  }

  /** The position the next message will be appended at. */
  get position(): number {
    return this.producerPosition();
  }

  /**
   * External producer mode (worker mode): another thread appends to this (shared) log with its own
   * ExclusiveLogAppender, and the engine's host reports how far it has committed with
   * setProducerPosition each duty cycle. The sender then sends up to that position instead of its
   * own appender's; this publication's offer() must not be used.
   */
  useExternalProducer(): void {
    if (this.externalProducerPosition < 0) this.externalProducerPosition = this.appender.position;
  }

  /** External producer mode: everything below `position` is committed in the log. Never goes back. */
  setProducerPosition(position: number): void {
    if (position > this.externalProducerPosition) this.externalProducerPosition = position;
  }

  get hasExternalProducer(): boolean {
    return this.externalProducerPosition >= 0;
  }

  private producerPosition(): number {
    return this.externalProducerPosition >= 0 ? this.externalProducerPosition : this.appender.position;
  }

  /** The limit offers may reach: sender position plus the term window while connected. */
  get publisherLimit(): number {
    return this.connectedFlag ? this.senderPosition + this.termWindowLength : this.senderPosition;
  }

  get maxPayloadLength(): number {
    return this.appender.maxPayloadLength;
  }

  get maxMessageLength(): number {
    return this.appender.maxMessageLength;
  }

  offer(buffer: Uint8Array, offset: number, length: number, reservedValueSupplier?: ReservedValueSupplier): number {
    checkOfferArguments(this.appender, buffer, offset, length);
    const status = this.offerStatus();
    if (status !== 0) return status;
    return this.appender.append(buffer, offset, length, reservedValueSupplier);
  }

  /** offer() of one message made of several slices (Aeron's offer(DirectBufferVector[])). */
  offerv(vectors: readonly BufferVector[], reservedValueSupplier?: ReservedValueSupplier): number {
    const length = checkOfferVectors(vectors, this.appender.maxMessageLength);
    const status = this.offerStatus();
    if (status !== 0) return status;
    return this.appender.appendv(vectors, length, reservedValueSupplier);
  }

  tryClaim(length: number, claim: BufferClaim): number {
    checkClaimLength(this.appender, length);
    const status = this.offerStatus();
    if (status !== 0) return status;
    return this.appender.tryClaim(length, claim);
  }

  /** 0 when an offer may proceed, else the negative status to return. */
  private offerStatus(): number {
    if (this.state !== PublicationState.ACTIVE) return CLOSED;
    if (!this.connectedFlag) return NOT_CONNECTED;
    if (this.appender.position >= this.senderPosition + this.termWindowLength) return BACK_PRESSURED;
    return 0;
  }

  /** The application closed its last handle: drain, then end of stream, then linger. */
  close(): void {
    if (this.state !== PublicationState.ACTIVE) return;
    this.state = PublicationState.DRAINING;
    this.endOfStreamPosition = this.producerPosition();
  }

  // ---------------------------------------------------------------- network input

  onStatusMessage(
    nowNs: number,
    consumptionTermId: number,
    consumptionTermOffset: number,
    receiverWindow: number,
    receiverIdLo: number,
    receiverIdHi: number,
    hasGroupTag: boolean,
    groupTagLo: number,
    groupTagHi: number,
    flags: number,
    setupRequested: boolean,
  ): void {
    if (setupRequested) {
      // A receiver that does not know this session asks for SETUP; its SM carries no position
      // (term id 0, offset 0, window 0), so it must not reach flow control (as in Aeron, which
      // only triggers the SETUP frame for it). Found by the simulator's fuzz test: the bogus
      // position set a sender limit far beyond any receiver's window. As Aeron's
      // triggerSendSetupFrame: not once the end of stream is sent, and SETUP goes out at most every
      // 100 ms (setupSentOnce is left as it is), so a flood of requests is not reflected 1:1.
      if (!this.isEndOfStream) this.shouldSendSetup = true;
      return;
    }
    const values = this.counters.values;
    if ((flags & SM_EOS_FLAG) !== 0) {
      // The receiver closed (or drained the stream): it is dropped at once, and a unicast
      // publication's linger ends (Aeron's NetworkPublication.onStatusMessage). The SM's position
      // still goes to flow control, as in Aeron (min flow control removes the receiver there).
      values[Counter.STATUS_MESSAGES_EOS_RECEIVED]! += 1;
      this.liveness.onRemoteClose(receiverIdLo | 0, receiverIdHi | 0);
      if (this.isUnicast) this.hasReceivedUnicastEos = true;
    } else if (!this.liveness.onStatusMessage(receiverIdLo | 0, receiverIdHi | 0, nowNs)) {
      values[Counter.RECEIVER_LIVENESS_OVERFLOW]! += 1;
    }
    const position = computePosition(consumptionTermId, consumptionTermOffset, this.positionBitsToShift, this.initialTermId);
    const limit = this.flowControl.onStatusMessage(
      nowNs,
      receiverIdLo,
      receiverIdHi,
      position,
      receiverWindow,
      hasGroupTag,
      groupTagLo,
      groupTagHi,
      this.senderLimit,
      (flags & SM_EOS_FLAG) !== 0,
    );
    this.setSenderLimit(limit);
    this.hasInitialConnection = true;
    this.connectedFlag = this.liveness.hasReceivers() && this.flowControl.hasRequiredReceivers();
  }

  /**
   * An error frame from a receiver (it rejected this publication's image). As Aeron's
   * NetworkPublication.onError: flow control hears of it (min and tagged drop the receiver), and
   * the receiver is dropped. Returns true when the receiver was live here: only then is the error
   * surfaced to the application (so a receiver repeating its error every 200 ms surfaces once).
   */
  onErrorFrame(receiverIdLo: number, receiverIdHi: number, hasGroupTag: boolean, groupTagLo: number, groupTagHi: number): boolean {
    this.flowControl.onError(receiverIdLo | 0, receiverIdHi | 0, hasGroupTag, groupTagLo | 0, groupTagHi | 0);
    const wasLive = this.liveness.onRemoteClose(receiverIdLo | 0, receiverIdHi | 0);
    if (wasLive) this.connectedFlag = this.liveness.hasReceivers() && this.flowControl.hasRequiredReceivers();
    return wasLive;
  }

  /** Receivers live now (for tests and diagnostics). */
  get receiverCount(): number {
    return this.liveness.receiverCount;
  }

  /** The end of stream is reached: closed, and everything up to the close position sent. */
  private get isEndOfStream(): boolean {
    return this.state !== PublicationState.ACTIVE && this.senderPosition >= this.endOfStreamPosition;
  }

  /** A new destination (or a receiver asking) needs SETUP: send one on the next poll. */
  requestSetup(): void {
    this.shouldSendSetup = true;
    this.setupSentOnce = false;
  }

  /**
   * Source pinning: true when a control frame (SM, NAK, RTTM request) from (ip, port) may be taken.
   * A pinned unicast publication refuses any address but its endpoint's, and counts the refusal.
   */
  acceptsControlFrom(ip: number, port: number): boolean {
    if (this.pinnedPort < 0 || (ip === this.pinnedIp && port === this.pinnedPort)) return true;
    this.counters.values[Counter.PINNED_CONTROL_MISMATCHES]! += 1;
    return false;
  }

  onNak(nowNs: number, termId: number, termOffset: number, length: number): void {
    // Aeron's resend window (bottomResendWindow): a NAK for a range that starts more than half a term
    // and a max message length behind the sender is not served, and takes no retransmit action.
    const nakPosition = ((termId - this.initialTermId) | 0) * this.termLength + termOffset;
    if (nakPosition < bottomResendWindow(this.senderPosition, this.termLength) && nakPosition < this.senderPosition) {
      this.counters.values[Counter.RETRANSMITS_OUTSIDE_WINDOW]! += 1;
      return;
    }
    const outcome = this.retransmitHandler.onNak(nowNs, termId, termOffset, length, this.termLength, this.senderPosition);
    // A NAK for nothing sent yet, or an invalid range: no retransmit action.
    if (outcome === NakOutcome.Invalid || outcome === NakOutcome.NotSent) this.counters.values[Counter.NAKS_IGNORED]! += 1;
  }

  /**
   * An RTTM request (flags 0x80): answered on the next poll with the echo timestamp's 64 bits as
   * they came (two i32 halves: any value, the ones outside +-2^53 included, goes back bit for bit).
   */
  onRttmRequest(_nowNs: number, echoLo: number, echoHi: number, receiverIdLo: number, receiverIdHi: number, fromIp: number,
    fromPort: number): void {
    if (this.rttmCount >= PENDING_RTTM_CAPACITY) {
      this.counters.values[Counter.ERRORS]! += 1;
      return;
    }
    const i = this.rttmCount++;
    this.rttmEchoLo[i] = echoLo;
    this.rttmEchoHi[i] = echoHi;
    this.rttmReceiverLo[i] = receiverIdLo;
    this.rttmReceiverHi[i] = receiverIdHi;
    this.rttmIps[i] = fromIp;
    this.rttmPorts[i] = fromPort;
  }

  /** RetransmitSender: the handler decided to resend a range; it goes out on the next poll. */
  resend(termId: number, termOffset: number, length: number): void {
    // Aeron's resend window, checked when the resend happens (a delayed one may have fallen out).
    const resendPosition = ((termId - this.initialTermId) | 0) * this.termLength + termOffset;
    if (resendPosition < bottomResendWindow(this.senderPosition, this.termLength) || resendPosition >= this.senderPosition) {
      this.counters.values[Counter.RETRANSMITS_OUTSIDE_WINDOW]! += 1;
      return;
    }
    if (this.pendingResendCount >= PENDING_RESEND_CAPACITY) {
      this.counters.values[Counter.RETRANSMIT_OVERFLOW]! += 1;
      return;
    }
    const slot = ((this.pendingResendHead + this.pendingResendCount) % PENDING_RESEND_CAPACITY) * 3;
    this.pendingResends[slot] = termId;
    this.pendingResends[slot + 1] = termOffset;
    this.pendingResends[slot + 2] = length;
    this.pendingResendCount++;
  }

  // ---------------------------------------------------------------- time

  /** Applies expired timers. Returns true when the publication is finished and can be removed. */
  onTimeout(nowNs: number): boolean {
    this.retransmitHandler.processTimeouts(nowNs);
    // Receivers silent for the connection timeout are forgotten; with none left, offers see
    // NOT_CONNECTED. As in Aeron, the sender keeps heartbeating and sends SETUP again only when a
    // receiver asks for it (an SM with SEND_SETUP): a receiver that lost the image asks on the
    // next heartbeat (issue #12, item 10).
    this.liveness.onIdle(nowNs, this.config.publicationConnectionTimeoutNs);
    const fcDeadline = this.flowControl.nextDeadlineNs();
    if (fcDeadline !== NO_DEADLINE_NS && fcDeadline - nowNs <= 0) {
      this.setSenderLimit(this.flowControl.onIdle(nowNs, this.senderLimit, this.senderPosition, this.state !== PublicationState.ACTIVE));
    }
    this.connectedFlag = this.liveness.hasReceivers() && this.flowControl.hasRequiredReceivers();
    if (this.state === PublicationState.DRAINING && (this.senderPosition >= this.endOfStreamPosition || !this.liveness.hasReceivers())) {
      // Drained, or nobody is listening (never connected, or the connection timed out): linger.
      this.state = PublicationState.LINGERING;
      this.lingerDeadlineNs = nowNs + this.params.lingerNs;
    }
    if (this.state === PublicationState.LINGERING && (this.hasReceivedUnicastEos || this.lingerDeadlineNs - nowNs <= 0)) {
      this.state = PublicationState.CLOSED;
      return true;
    }
    return false;
  }

  /** Earliest instant this publication needs to run (NO_DEADLINE_NS when none). */
  deadlineNs(): number {
    if (this.destinations.list.length === 0) {
      // Nothing to send to (MDC before any destination): only the linger can end.
      return this.state === PublicationState.LINGERING ? this.lingerDeadlineNs
        : this.state === PublicationState.DRAINING ? this.lastSendNs : NO_DEADLINE_NS;
    }
    let deadline = this.retransmitHandler.nextDeadlineNs();
    if (this.pendingResendCount > 0 || this.rttmCount > 0) return this.lastSendNs - 1 < deadline ? this.lastSendNs : deadline;
    if (!this.hasInitialConnection || this.shouldSendSetup) {
      const setupAt = this.setupSentOnce ? this.lastSetupNs + this.config.setupResendIntervalNs : this.lastSendNs;
      if (setupAt < deadline) deadline = setupAt;
    }
    if (this.hasInitialConnection && this.senderPosition < this.sendablePosition() && this.blockedSenderLimit !== this.senderLimit) {
      // Data is waiting and flow control allows it: run now.
      return this.lastSendNs;
    }
    if (this.hasInitialConnection) {
      const heartbeatAt = this.timeOfLastDataOrHeartbeatNs + this.config.heartbeatIntervalNs;
      if (heartbeatAt < deadline) deadline = heartbeatAt;
    }
    const timeoutAt = this.liveness.nextTimeoutNs(this.config.publicationConnectionTimeoutNs);
    if (timeoutAt < deadline) deadline = timeoutAt;
    const fc = this.flowControl.nextDeadlineNs();
    if (fc < deadline) deadline = fc;
    if (this.state === PublicationState.DRAINING && (this.senderPosition >= this.endOfStreamPosition || !this.liveness.hasReceivers())) {
      return this.lastSendNs;
    }
    if (this.state === PublicationState.LINGERING) {
      if (this.hasReceivedUnicastEos) return this.lastSendNs;
      if (this.lingerDeadlineNs < deadline) deadline = this.lingerDeadlineNs;
    }
    return deadline;
  }

  /** The highest position the sender could send up to now: committed data within the limit. */
  private sendablePosition(): number {
    const produced = this.producerPosition();
    return produced < this.senderLimit ? produced : this.senderLimit;
  }

  /**
   * Aeron's snd-bpe: the window stopped the sender after it had sent data (counted once per stop;
   * a send re-arms it), as NetworkPublication.sendData counts senderBpe.
   */
  private noteSenderBlocked(): void {
    if (!this.trackSenderLimits) return;
    this.trackSenderLimits = false;
    this.senderBackPressureEvents++;
  }

  private setSenderLimit(limit: number): void {
    if (limit !== this.senderLimit) {
      this.counters.values[Counter.SENDER_FLOW_CONTROL_LIMITS]! += 1;
      this.senderLimit = limit;
    }
  }

  // ---------------------------------------------------------------- output

  /**
   * Writes what is due into `batch`: SETUP, retransmits, RTTM replies, new data, heartbeat.
   * Returns false when the batch filled up before everything due was written.
   */
  pollTransmit(nowNs: number, batch: TransmitBatch): boolean {
    if (this.state === PublicationState.CLOSED) return true;
    // Multi-destination-cast with no destination yet: nothing to send to (and no SM can arrive).
    if (this.destinations.list.length === 0) return true;
    if ((!this.hasInitialConnection || this.shouldSendSetup) &&
        (!this.setupSentOnce || nowNs - this.lastSetupNs >= this.config.setupResendIntervalNs)) {
      if (!this.sendSetup(nowNs, batch)) return false;
    }
    if (!this.sendPendingResends(nowNs, batch)) return false;
    if (!this.sendRttmReplies(nowNs, batch)) return false;
    let sentData = false;
    if (this.hasInitialConnection) {
      // As Aeron: data goes up to the sender limit once a receiver has spoken, also after the
      // connection timed out (the limit stays where the last SM put it).
      const before = this.senderPosition;
      if (!this.sendData(nowNs, batch)) return false;
      sentData = this.senderPosition !== before;
    }
    if (!sentData && this.hasInitialConnection) {
      // Heartbeats are timed from the last data or heartbeat only (Aeron's heartbeatMessageCheck),
      // and only after the initial connection. The end of stream goes out at once when the stream
      // drains (then every 100 ms), flagged EOS unless the channel says eos=false.
      const endOfStream = this.signalEos && this.isEndOfStream;
      if (nowNs - this.timeOfLastDataOrHeartbeatNs >= this.config.heartbeatIntervalNs || (endOfStream && !this.eosSignalled)) {
        if (!this.sendHeartbeat(nowNs, batch, endOfStream)) return false;
        if (endOfStream) this.eosSignalled = true;
      }
    }
    return true;
  }

  private eosSignalled = false;
  /** The sender limit at which the next frame did not fit; -1 when not blocked. */
  private blockedSenderLimit = -1;

  private sendSetup(nowNs: number, batch: TransmitBatch): boolean {
    const slot = this.claimFirst(batch);
    if (slot < 0) return this.batchFull();
    const activeTermId = this.computeTermId(this.senderPosition);
    const termOffset = this.senderPosition & (this.termLength - 1);
    // Aeron's NetworkPublication sets GROUP for multicast and MDC (UdpChannel.hasGroupSemantics):
    // receivers then pick group (multicast) NAK delays (issue #12, item 9).
    const flags = this.params.isMulticast || this.params.isMultiDestination ? SETUP_GROUP_FLAG : 0;
    writeSetup(batch.view, batch.slotOffset(slot), flags, termOffset, this.sessionId, this.streamId, this.initialTermId,
      activeTermId, this.termLength, this.mtu, this.params.ttl);
    this.commitAll(batch, slot, SETUP_LENGTH);
    this.lastSetupNs = nowNs;
    this.setupSentOnce = true;
    // Aeron's setupMessageCheck: an elicited SETUP repeats every 100 ms until a receiver is live.
    if (this.liveness.hasReceivers()) this.shouldSendSetup = false;
    this.countSent(nowNs, SETUP_LENGTH, 1);
    this.counters.values[Counter.SETUPS_SENT]! += 1;
    return true;
  }

  private sendHeartbeat(nowNs: number, batch: TransmitBatch, endOfStream: boolean): boolean {
    const slot = this.claimFirst(batch);
    if (slot < 0) return this.batchFull();
    writeHeartbeat(batch.view, batch.slotOffset(slot), this.senderPosition & (this.termLength - 1), this.sessionId, this.streamId,
      this.computeTermId(this.senderPosition), endOfStream);
    this.commitAll(batch, slot, DATA_HEADER_LENGTH);
    this.countSent(nowNs, DATA_HEADER_LENGTH, 1);
    this.timeOfLastDataOrHeartbeatNs = nowNs;
    this.counters.values[Counter.HEARTBEATS_SENT]! += 1;
    return true;
  }

  private sendData(nowNs: number, batch: TransmitBatch): boolean {
    // Bounded: every pass either sends at least one frame (advancing the sender position) or stops.
    for (;;) {
      const limit = this.sendablePosition();
      const remaining = limit - this.senderPosition;
      if (remaining <= 0) {
        if (this.senderLimit <= this.senderPosition) this.noteSenderBlocked();
        return true;
      }
      const termOffset = this.senderPosition & (this.termLength - 1);
      const term = this.log.term(indexByTerm(this.initialTermId, this.computeTermId(this.senderPosition)));
      const scan = scanForAvailability(term, termOffset, remaining < this.mtu ? remaining : this.mtu);
      const available = scanAvailable(scan);
      if (available === 0) {
        // The next frame is larger than the window that remains: wait until the limit moves.
        this.blockedSenderLimit = this.senderLimit;
        this.noteSenderBlocked();
        return true;
      }
      this.blockedSenderLimit = -1;
      this.trackSenderLimits = true;
      const slot = this.claimFirst(batch);
      if (slot < 0) return this.batchFull();
      batch.bytes.set(term.bytes.subarray(termOffset, termOffset + available), batch.slotOffset(slot));
      this.commitAll(batch, slot, available);
      this.senderPosition += available + scanPadding(scan);
      this.countSent(nowNs, available, 0);
      this.timeOfLastDataOrHeartbeatNs = nowNs;
      this.counters.values[Counter.DATA_FRAMES_SENT]! += 1;
      if (this.senderPosition - this.cleanPosition >= 3 * this.termLength) this.cleanBehindSender();
    }
  }

  private cleanBehindSender(): void {
    // Bounded: the sender moves at most a term between calls, so this runs once or twice.
    while (this.senderPosition - this.cleanPosition >= 3 * this.termLength) {
      this.cleanPosition += this.termLength;
      this.log.term(indexByTerm(this.initialTermId, this.computeTermId(this.cleanPosition))).clean();
    }
  }

  private sendPendingResends(nowNs: number, batch: TransmitBatch): boolean {
    while (this.pendingResendCount > 0) {
      const slot = this.pendingResendHead * 3;
      const termId = this.pendingResends[slot]!;
      let termOffset = this.pendingResends[slot + 1]!;
      const end = termOffset + this.pendingResends[slot + 2]!;
      const term = this.log.term(indexByTerm(this.initialTermId, termId));
      // Bounded: each pass sends at least 32 bytes of the range or stops.
      while (termOffset < end) {
        if (term.words[termOffset >> 2]! <= 0 || term.view.getInt32(termOffset + DATA_TERM_ID_OFFSET, true) !== termId) break;
        const scan = scanForAvailability(term, termOffset, Math.min(this.mtu, end - termOffset));
        const available = scanAvailable(scan);
        if (available === 0) break;
        const out = this.claimFirst(batch);
        if (out < 0) {
          // Keep the rest of the range for the next poll.
          this.pendingResends[slot + 1] = termOffset;
          this.pendingResends[slot + 2] = end - termOffset;
          return this.batchFull();
        }
        batch.bytes.set(term.bytes.subarray(termOffset, termOffset + available), batch.slotOffset(out));
        this.commitAll(batch, out, available);
        this.countSent(nowNs, available, 0);
        this.counters.values[Counter.RETRANSMITS_SENT]! += 1;
        this.counters.values[Counter.RETRANSMITTED_BYTES]! += available;
        termOffset += available + scanPadding(scan);
      }
      this.pendingResendHead = (this.pendingResendHead + 1) % PENDING_RESEND_CAPACITY;
      this.pendingResendCount--;
    }
    return true;
  }

  private sendRttmReplies(nowNs: number, batch: TransmitBatch): boolean {
    let i = 0;
    for (; i < this.rttmCount; i++) {
      const slot = batch.claim(this.destinations.endpointId, this.rttmIps[i]!, this.rttmPorts[i]!);
      if (slot < 0) break;
      // A reply carries flags 0 (the request had 0x80) and a reception delta of 0, as Aeron's
      // sender always puts (NetworkPublication.onRttMeasurement; issue #12, item 10); the echo
      // goes back as its two halves. writeRttmHalves cannot throw (issue #11, attack 1).
      writeRttmHalves(batch.view, batch.slotOffset(slot), 0, this.sessionId, this.streamId, this.rttmEchoLo[i]!, this.rttmEchoHi[i]!,
        0, 0, this.rttmReceiverLo[i]!, this.rttmReceiverHi[i]!);
      batch.commit(slot, RTTM_LENGTH);
      this.countSent(nowNs, RTTM_LENGTH, 1);
      this.counters.values[Counter.RTTM_SENT]! += 1;
    }
    if (i < this.rttmCount) {
      this.rttmEchoLo.copyWithin(0, i, this.rttmCount);
      this.rttmEchoHi.copyWithin(0, i, this.rttmCount);
      this.rttmReceiverLo.copyWithin(0, i, this.rttmCount);
      this.rttmReceiverHi.copyWithin(0, i, this.rttmCount);
      this.rttmIps.copyWithin(0, i, this.rttmCount);
      this.rttmPorts.copyWithin(0, i, this.rttmCount);
      this.rttmCount -= i;
      return this.batchFull();
    }
    this.rttmCount = 0;
    return true;
  }

  private countSent(nowNs: number, bytes: number, controlFrames: number): void {
    const values = this.counters.values;
    values[Counter.BYTES_SENT]! += bytes;
    values[Counter.DATAGRAMS_SENT]! += 1;
    values[Counter.FRAMES_SENT]! += controlFrames === 0 ? 1 : controlFrames;
    this.lastSendNs = nowNs;
    this.sentOnce = true;
  }

  /**
   * Claims the slot for the first destination when the batch has room for a copy to every
   * destination; -1 otherwise. The caller writes the datagram there, then calls commitAll.
   */
  private claimFirst(batch: TransmitBatch): number {
    const list = this.destinations.list;
    if (batch.remaining < list.length) return -1;
    const first = list[0]!;
    return batch.claim(this.destinations.endpointId, first.ip, first.port);
  }

  /** Commits the first destination's slot and copies it to every other destination. */
  private commitAll(batch: TransmitBatch, slot: number, length: number): void {
    batch.commit(slot, length);
    const list = this.destinations.list;
    const source = batch.slotOffset(slot);
    for (let i = 1; i < list.length; i++) {
      const destination = list[i]!;
      const copy = batch.claim(this.destinations.endpointId, destination.ip, destination.port);
      batch.bytes.copyWithin(batch.slotOffset(copy), source, source + length);
      batch.commit(copy, length);
    }
    if (list.length > 1) {
      this.counters.values[Counter.DATAGRAMS_SENT]! += list.length - 1;
      this.counters.values[Counter.BYTES_SENT]! += length * (list.length - 1);
    }
  }

  private batchFull(): boolean {
    this.counters.values[Counter.TRANSMIT_BATCH_FULL]! += 1;
    return false;
  }

  private computeTermId(position: number): number {
    return (this.initialTermId + Math.floor(position / this.termLength)) | 0;
  }

  /** True once the first datagram went out (for tests and diagnostics). */
  get hasSent(): boolean {
    return this.sentOnce;
  }
}

/** Throws a typed error unless the slice is valid and the message fits the publication. */
export function checkOfferArguments(appender: ExclusiveLogAppender, buffer: Uint8Array, offset: number, length: number): void {
  checkSlice(buffer, offset, length);
  if (length > appender.maxMessageLength) {
    throw new InvalidArgumentError("length", length, `exceeds the publication's maxMessageLength ${appender.maxMessageLength}`);
  }
}

/** Throws a typed error unless `length` is a valid tryClaim length for the publication. */
export function checkClaimLength(appender: ExclusiveLogAppender, length: number): void {
  if (!Number.isInteger(length) || length < 0 || length > appender.maxPayloadLength) {
    throw new InvalidArgumentError("length", length, `tryClaim takes 0..maxPayloadLength (${appender.maxPayloadLength}) bytes`);
  }
}

/** Throws a typed error unless [offset, offset + length) lies within `buffer`. */
export function checkSlice(buffer: Uint8Array, offset: number, length: number): void {
  if (!(buffer instanceof Uint8Array)) throw new InvalidArgumentError("buffer", typeof buffer, "must be a Uint8Array");
  if (!Number.isInteger(offset) || offset < 0 || offset > buffer.length) {
    throw new InvalidArgumentError("offset", offset, `must be an integer within the buffer (0..${buffer.length})`);
  }
  if (!Number.isInteger(length) || length < 0 || offset + length > buffer.length) {
    throw new InvalidArgumentError("length", length, `must be an integer with offset + length <= buffer length ${buffer.length}`);
  }
}
