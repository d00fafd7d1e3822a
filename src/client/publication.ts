// A publication handle of the client: offer keeps Aeron's codes, close drains.
//
// Drain: close() records the position everything offered so far ends at, closes the engine's
// publication (it sends what remains, then end of stream, then lingers for retransmits) and
// resolves once every receiver heard from within the connection timeout has reported, in a status
// message, a consumption position at or beyond it: everything offered before the call was sent,
// received and read. Without a receiver, or when the timeout passes first, it resolves too, and
// the report says so (drained: false). It never rejects.
import type { BufferClaim, BufferVector, ReservedValueSupplier } from "../core/logbuffer/termAppender.js";
import { ChannelEndpointStatus } from "./channelStatus.js";
import { IpcPublication } from "../core/engine/ipcPublication.js";
import { NetworkPublication } from "../core/engine/networkPublication.js";
import type { Publication } from "../core/engine/publication.js";
import type { Petrel } from "./petrel.js";
import { ReceiverPositions } from "./statusMessageObserver.js";

export type DrainOutcome =
  /** Every connected receiver acknowledged everything offered before the close. */
  | "acknowledged"
  /** Nothing was offered on this handle's stream: nothing to wait for. */
  | "nothing-offered"
  /** No receiver has spoken within the connection timeout: nobody can acknowledge. */
  | "not-connected"
  /** The timeout passed before every receiver acknowledged. */
  | "timeout";

export interface DrainReport {
  readonly channel: string;
  readonly streamId: number;
  readonly sessionId: number;
  /** True for "acknowledged" and "nothing-offered". */
  readonly drained: boolean;
  readonly outcome: DrainOutcome;
  /** Where everything offered before the close ends (the end-of-stream position). */
  readonly position: number;
  /** The lowest position the receivers acknowledged (-1: none heard). */
  readonly acknowledgedPosition: number;
  readonly elapsedMs: number;
}

export class PetrelPublication implements AsyncDisposable {
  /** The engine's publication (for tryClaim, destinations, positions). */
  readonly core: Publication;
  private readonly petrel: Petrel;
  private readonly receivers: ReceiverPositions | undefined;
  private readonly startPosition: number;
  private closing: Promise<DrainReport> | undefined;

  /** @internal Made by Petrel.addPublication. */
  constructor(petrel: Petrel, core: Publication) {
    this.petrel = petrel;
    this.core = core;
    this.startPosition = core.position;
    const backend = core.backend;
    if (backend instanceof NetworkPublication) {
      this.receivers = new ReceiverPositions(backend.sessionId, backend.streamId, backend.initialTermId, backend.positionBitsToShift);
      petrel.observer.watch(this.receivers);
    }
  }

  get channel(): string {
    return this.core.channel;
  }

  get streamId(): number {
    return this.core.streamId;
  }

  get sessionId(): number {
    return this.core.sessionId;
  }

  /** True while a receiver is connected (offers can succeed). */
  get isConnected(): boolean {
    return this.core.isConnected;
  }

  get isClosed(): boolean {
    return this.closing !== undefined;
  }

  /** The position the next message will be appended at. */
  get position(): number {
    return this.core.position;
  }

  get maxMessageLength(): number {
    return this.core.maxMessageLength;
  }

  /**
   * Appends a message. Returns the new stream position (> 0) or Aeron's negative codes:
   * NOT_CONNECTED (-1), BACK_PRESSURED (-2), ADMIN_ACTION (-3: offer again), CLOSED (-4),
   * MAX_POSITION_EXCEEDED (-5). The duty cycle sends it; on a negative code, let the loop run
   * (`await setImmediate()`) and offer again. Throws InvalidArgumentError for a bad slice or a
   * message longer than maxMessageLength.
   */
  offer(buffer: Uint8Array, offset = 0, length = buffer.length - offset, reservedValueSupplier?: ReservedValueSupplier): number {
    const result = this.core.offer(buffer, offset, length, reservedValueSupplier);
    if (result > 0) this.petrel.wake();
    return result;
  }

  /**
   * Appends one message made of several slices, in order (Aeron's offer(DirectBufferVector[])),
   * with an optional ReservedValueSupplier; codes as offer(). Reuse the vectors and their array.
   */
  offerv(vectors: readonly BufferVector[], reservedValueSupplier?: ReservedValueSupplier): number {
    const result = this.core.offerv(vectors, reservedValueSupplier);
    if (result > 0) this.petrel.wake();
    return result;
  }

  /** The position offers may reach before BACK_PRESSURED (Aeron's positionLimit). */
  get positionLimit(): number {
    return this.core.positionLimit;
  }

  /** Bytes offers may still append before BACK_PRESSURED (Aeron's availableWindow); CLOSED once closed. */
  get availableWindow(): number {
    return this.core.availableWindow;
  }

  get maxPayloadLength(): number {
    return this.core.maxPayloadLength;
  }

  /** The stream's registration id (Aeron's originalRegistrationId); its counters carry it. */
  get registrationId(): number {
    return this.core.registrationId;
  }

  /**
   * Aeron's channelStatus: ChannelEndpointStatus.ACTIVE once the socket is open (always, for
   * aeron:ipc), ERRORED if it failed, CLOSING while the client closes, NO_ID_ALLOCATED (-1) once
   * this publication is closed.
   */
  get channelStatus(): number {
    if (this.closing !== undefined) return ChannelEndpointStatus.NO_ID_ALLOCATED;
    return this.petrel.channelStatusOf(this.core.endpointId);
  }

  /** The bound local address of the publication's socket, as "ip:port" (Aeron's localSocketAddresses); [] for aeron:ipc or once closed. */
  localSocketAddresses(): string[] {
    if (this.closing !== undefined) return [];
    return this.petrel.localSocketAddressesOf(this.core.endpointId);
  }

  /**
   * Reserves room for a message (zero copy): fill claim.bytes from claim.payloadOffset (or
   * claim.putBytes), set claim.putFlags / putHeaderType / putReservedValue if wanted, then
   * claim.commit() or abort(). Codes as offer(); see Publication.tryClaim in petrel/core.
   */
  tryClaim(length: number, claim: BufferClaim): number {
    const result = this.core.tryClaim(length, claim);
    if (result > 0) this.petrel.wake();
    return result;
  }

  /**
   * Closes and drains: resolves once everything offered before this call has been sent and
   * acknowledged by the connected receivers' status messages, or the timeout (default: the
   * client's closeTimeoutMs) passes; the report says which. Calling it again returns the same promise.
   */
  close(options: { timeoutMs?: number } = {}): Promise<DrainReport> {
    if (this.closing !== undefined) return this.closing;
    const petrel = this.petrel;
    const core = this.core;
    const target = core.position;
    const startNs = petrel.clockNs();
    const timeoutNs = (options.timeoutMs ?? petrel.closeTimeoutMs) * 1e6;
    const connectionTimeoutNs = petrel.engine.config.publicationConnectionTimeoutNs;
    const backend = core.backend;
    core.close();
    this.closing = new Promise<DrainReport>((resolve) => {
      const report = (outcome: DrainOutcome, acknowledgedPosition: number, nowNs: number): true => {
        if (this.receivers !== undefined) petrel.observer.unwatch(this.receivers);
        petrel.forgetPublication(this);
        resolve({
          channel: core.channel,
          streamId: core.streamId,
          sessionId: core.sessionId,
          drained: outcome === "acknowledged" || outcome === "nothing-offered",
          outcome,
          position: target,
          acknowledgedPosition,
          elapsedMs: (nowNs - startNs) / 1e6,
        });
        return true;
      };
      petrel.addDrain({
        check: (nowNs) => {
          let acknowledged: number;
          if (this.receivers !== undefined) acknowledged = this.receivers.minPosition(nowNs - connectionTimeoutNs);
          else if (backend instanceof IpcPublication) acknowledged = ipcConsumed(backend);
          else acknowledged = -1;
          if (acknowledged >= target) return report("acknowledged", acknowledged, nowNs);
          if (target === this.startPosition) return report("nothing-offered", acknowledged, nowNs);
          if (acknowledged < 0 && backend instanceof NetworkPublication) return report("not-connected", acknowledged, nowNs);
          if (nowNs - startNs >= timeoutNs) return report("timeout", acknowledged, nowNs);
          return false;
        },
      });
    });
    return this.closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** The slowest local subscriber of an IPC publication (-1 with none). */
function ipcConsumed(publication: IpcPublication): number {
  const subscribers = publication.subscribers;
  if (subscribers.length === 0) return -1;
  let min = subscribers[0]!.position;
  for (const subscriber of subscribers) if (subscriber.position < min) min = subscriber.position;
  return min;
}
