// A publication handle of the client: offer keeps Aeron's codes, close drains.
//
// Drain: close() records the position everything offered so far ends at, closes the engine's
// publication (it sends what remains, then end of stream, then lingers for retransmits) and
// resolves once every receiver heard from within the connection timeout has reported, in a status
// message, a consumption position at or beyond it: everything offered before the call was sent,
// received and read. Without a receiver, or when the timeout passes first, it resolves too, and
// the report says so (drained: false). It never rejects. In worker mode the worker tracks the
// receivers' status messages and publishes the lowest acknowledged position in the publication's
// shared control block; the drain reads it there.
import type { BufferClaim, BufferVector, ReservedValueSupplier } from "../core/logbuffer/termAppender.js";
import { CLOSED } from "../core/engine/networkPublication.js";
import type { Publication } from "../core/engine/publication.js";
import type { PublicationBackend } from "./backend.js";
import { ChannelEndpointStatus } from "./channelStatus.js";
import { WorkerModeError } from "./errors.js";
import type { Petrel } from "./petrel.js";

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
  private readonly petrel: Petrel;
  private readonly backend: PublicationBackend;
  private readonly startPosition: number;
  private closing: Promise<DrainReport> | undefined;

  /** @internal Made by Petrel.addPublication. */
  constructor(petrel: Petrel, backend: PublicationBackend) {
    this.petrel = petrel;
    this.backend = backend;
    this.startPosition = backend.position;
  }

  /** The engine's publication (for destinations, positions). In worker mode: WorkerModeError. */
  get core(): Publication {
    const core = this.backend.core;
    if (core === undefined) throw new WorkerModeError("publication.core", "the engine's publication lives in the worker thread");
    return core;
  }

  get channel(): string {
    return this.backend.channel;
  }

  get streamId(): number {
    return this.backend.streamId;
  }

  get sessionId(): number {
    return this.backend.sessionId;
  }

  /** True while a receiver is connected (offers can succeed). */
  get isConnected(): boolean {
    return this.backend.isConnected;
  }

  get isClosed(): boolean {
    return this.closing !== undefined;
  }

  /** The position the next message will be appended at. */
  get position(): number {
    return this.backend.position;
  }

  get maxMessageLength(): number {
    return this.backend.maxMessageLength;
  }

  /**
   * Appends a message. Returns the new stream position (> 0) or Aeron's negative codes:
   * NOT_CONNECTED (-1), BACK_PRESSURED (-2), ADMIN_ACTION (-3: offer again), CLOSED (-4),
   * MAX_POSITION_EXCEEDED (-5). The duty cycle sends it; on a negative code, let the loop run
   * (`await setImmediate()`) and offer again. Throws InvalidArgumentError for a bad slice or a
   * message longer than maxMessageLength.
   */
  offer(buffer: Uint8Array, offset = 0, length = buffer.length - offset, reservedValueSupplier?: ReservedValueSupplier): number {
    if (this.closing !== undefined) return CLOSED;
    const result = this.backend.offer(buffer, offset, length, reservedValueSupplier);
    if (result > 0) this.petrel.wake();
    return result;
  }

  /**
   * Appends one message made of several slices, in order (Aeron's offer(DirectBufferVector[])),
   * with an optional ReservedValueSupplier; codes as offer(). Reuse the vectors and their array.
   */
  offerv(vectors: readonly BufferVector[], reservedValueSupplier?: ReservedValueSupplier): number {
    if (this.closing !== undefined) return CLOSED;
    const result = this.backend.offerv(vectors, reservedValueSupplier);
    if (result > 0) this.petrel.wake();
    return result;
  }

  /** The position offers may reach before BACK_PRESSURED (Aeron's positionLimit). */
  get positionLimit(): number {
    return this.backend.positionLimit;
  }

  /** Bytes offers may still append before BACK_PRESSURED (Aeron's availableWindow); CLOSED once closed. */
  get availableWindow(): number {
    if (this.closing !== undefined) return CLOSED;
    return this.backend.availableWindow;
  }

  get maxPayloadLength(): number {
    return this.backend.maxPayloadLength;
  }

  /** The stream's registration id (Aeron's originalRegistrationId); its counters carry it. */
  get registrationId(): number {
    return this.backend.registrationId;
  }

  /**
   * Aeron's channelStatus: ChannelEndpointStatus.ACTIVE once the socket is open (always, for
   * aeron:ipc), ERRORED if it failed, CLOSING while the client closes, NO_ID_ALLOCATED (-1) once
   * this publication is closed.
   */
  get channelStatus(): number {
    if (this.closing !== undefined) return ChannelEndpointStatus.NO_ID_ALLOCATED;
    return this.backend.channelStatus();
  }

  /** The bound local address of the publication's socket, as "ip:port" (Aeron's localSocketAddresses); [] for aeron:ipc or once closed. */
  localSocketAddresses(): string[] {
    if (this.closing !== undefined) return [];
    return this.backend.localSocketAddresses();
  }

  /**
   * Reserves room for a message (zero copy): fill claim.bytes from claim.payloadOffset (or
   * claim.putBytes), set claim.putFlags / putHeaderType / putReservedValue if wanted, then
   * claim.commit() or abort(). Codes as offer(); see Publication.tryClaim in petrel/core.
   * In worker mode: WorkerModeError.
   */
  tryClaim(length: number, claim: BufferClaim): number {
    if (this.closing !== undefined) return CLOSED;
    const result = this.backend.tryClaim(length, claim);
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
    const backend = this.backend;
    const target = backend.position;
    const startNs = petrel.clockNs();
    const timeoutNs = (options.timeoutMs ?? petrel.closeTimeoutMs) * 1e6;
    backend.close();
    this.closing = new Promise<DrainReport>((resolve) => {
      const report = (outcome: DrainOutcome, acknowledged: number, nowNs: number): true => {
        backend.release();
        petrel.forgetPublication(this);
        resolve({
          channel: backend.channel,
          streamId: backend.streamId,
          sessionId: backend.sessionId,
          drained: outcome === "acknowledged" || outcome === "nothing-offered",
          outcome,
          position: target,
          acknowledgedPosition: Math.max(acknowledged, -1),
          elapsedMs: (nowNs - startNs) / 1e6,
        });
        return true;
      };
      petrel.addDrain({
        check: (nowNs) => {
          // -2: the worker has not taken the close yet; only the timeout ends the wait then.
          const acknowledged = backend.acknowledgedPosition(nowNs);
          if (acknowledged >= target) return report("acknowledged", acknowledged, nowNs);
          if (target === this.startPosition) return report("nothing-offered", acknowledged, nowNs);
          if (acknowledged === -1 && backend.isNetwork) return report("not-connected", acknowledged, nowNs);
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
