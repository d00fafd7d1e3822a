// Error frames (ERR, PROTOCOL.md section 3), both ways, as Aeron 1.48 uses them (issue #12, item 12).
//
// Receiver side: the application rejects an image (Aeron's Image.reject -> DriverConductor.onRejectImage
// -> PublicationImage.reject). From then on the image takes no data (PublicationImage.insertPacket
// returns at once, so the image is not kept alive and times out after the liveness timeout), and
// where it would send a status message it sends an error frame instead, IMAGE_REJECTED with the
// application's reason, to the image's control address: once at the rejection and then once per
// status-message interval (PublicationImage.sendPendingStatusMessage,
// ReceiveChannelEndpoint.sendErrorFrame). Timer-driven, never in answer to a datagram: an error frame
// cannot be elicited, so it cannot amplify traffic.
//
// Sender side: NetworkPublication.onErrorFrame drops the receiver (and tells flow control); the
// engine surfaces the error to the application (Aeron: the client's publication error frame handler)
// once per receiver that was live, through a bounded queue the application drains with
// Engine.pollPublicationErrorFrame(). Everything here is cold: rejections are application commands,
// error frames are rare; a full queue drops and counts.
import { ERR_HAS_GROUP_TAG_FLAG, writeError } from "../protocol/errorFrame.js";
import type { TransmitBatch } from "../transmitBatch.js";
import { Counter, type Counters } from "./counters.js";
import type { PublicationImage } from "./publicationImage.js";

/** Aeron's ErrorCode.IMAGE_REJECTED. */
export const IMAGE_REJECTED_ERROR_CODE = 13;

/** Publication error frames waiting for the application; beyond this they are counted in ERRORS and dropped. */
export const PUBLICATION_ERROR_FRAME_QUEUE_CAPACITY = 64;

/** An error frame a receiver sent one of this engine's publications (Aeron's PublicationErrorFrame). */
export interface PublicationErrorFrame {
  /** The publication's channel (canonical form), session and stream. */
  readonly channel: string;
  readonly sessionId: number;
  readonly streamId: number;
  /** The receiver that sent it: its receiver id (i64) and address. */
  readonly receiverId: bigint;
  readonly sourceIp: number;
  readonly sourcePort: number;
  /** The group tag, when the frame carries one (flag HAS_GROUP_TAG). */
  readonly groupTag: bigint | undefined;
  /** Aeron's ErrorCode value (IMAGE_REJECTED = 13). */
  readonly errorCode: number;
  readonly errorMessage: string;
}

interface Rejection {
  readonly image: PublicationImage;
  readonly text: Uint8Array;
  readonly receiverIdLo: number;
  readonly receiverIdHi: number;
  readonly hasGroupTag: boolean;
  readonly groupTagLo: number;
  readonly groupTagHi: number;
  nextErrorFrameNs: number;
}

/** The images the application rejected, and the error frames they send. */
export class ImageRejections {
  private readonly list: Rejection[] = [];

  constructor(private readonly intervalNs: number, private readonly counters: Counters) {}

  get size(): number {
    return this.list.length;
  }

  reject(image: PublicationImage, text: Uint8Array, nowNs: number, receiverIdLo: number, receiverIdHi: number,
    groupTag: { lo: number; hi: number } | undefined): void {
    if (this.isRejected(image)) return;
    this.list.push({
      image, text, receiverIdLo, receiverIdHi,
      hasGroupTag: groupTag !== undefined, groupTagLo: groupTag?.lo ?? 0, groupTagHi: groupTag?.hi ?? 0,
      nextErrorFrameNs: nowNs,
    });
  }

  isRejected(image: PublicationImage): boolean {
    const list = this.list;
    for (let i = 0; i < list.length; i++) if (list[i]!.image === image) return true;
    return false;
  }

  /** The image went (liveness timeout, its subscriptions closed). */
  remove(image: PublicationImage): void {
    const i = this.list.findIndex((r) => r.image === image);
    if (i >= 0) this.list.splice(i, 1);
  }

  /** The earliest error frame due, or `none`. */
  deadlineNs(none: number): number {
    let deadline = none;
    for (const r of this.list) if (r.nextErrorFrameNs < deadline) deadline = r.nextErrorFrameNs;
    return deadline;
  }

  /** Writes the error frames due. Returns false when the batch filled up. */
  pollTransmit(nowNs: number, batch: TransmitBatch): boolean {
    const values = this.counters.values;
    for (const r of this.list) {
      if (r.nextErrorFrameNs - nowNs > 0) continue;
      const image = r.image;
      const slot = batch.claim(image.endpointId, image.controlIp, image.controlPort);
      if (slot < 0) return false;
      const length = writeError(batch.view, batch.slotOffset(slot), r.hasGroupTag ? ERR_HAS_GROUP_TAG_FLAG : 0, image.sessionId,
        image.streamId, r.receiverIdLo, r.receiverIdHi, r.groupTagLo, r.groupTagHi, IMAGE_REJECTED_ERROR_CODE, r.text, 0, r.text.length);
      batch.commit(slot, length);
      r.nextErrorFrameNs = nowNs + this.intervalNs;
      values[Counter.BYTES_SENT]! += length;
      values[Counter.DATAGRAMS_SENT]! += 1;
      values[Counter.FRAMES_SENT]! += 1;
      values[Counter.ERROR_FRAMES_SENT]! += 1;
    }
    return true;
  }
}
