// Watches the status messages (SMs) that reach the client's publications, so that a close can tell
// when everything offered before it has been acknowledged by the receivers. It sits in the
// runtime's receive filter (it sees each datagram before the engine does and never drops one) and
// reads only SM frames: the engine's own flow control keeps its state private, and the client needs
// per-receiver consumption positions, which are what an SM carries.
import { computePosition } from "../core/logbuffer/logBufferDescriptor.js";
import { HDR_TYPE_SM } from "../core/protocol/frameHeader.js";
import { SM_EOS_FLAG, SM_LENGTH, SM_SEND_SETUP_FLAG, smConsumptionTermId, smConsumptionTermOffset, smReceiverIdHi, smReceiverIdLo, smSessionId, smStreamId } from "../core/protocol/statusMessageFrame.js";
import type { DatagramFilter } from "../drivers/runtime.js";

/** Aeron aligns every frame in a datagram to 32 bytes. */
const FRAME_ALIGNMENT = 32;
/** Receivers remembered per publication at most (a multicast group larger than this is cut). */
const MAX_RECEIVERS = 1024;

interface ReceiverPosition {
  position: number;
  lastNs: number;
}

/** The receivers of one publication (session and stream) and the position each last reported. */
export class ReceiverPositions {
  private readonly receivers = new Map<string, ReceiverPosition>();

  constructor(
    readonly sessionId: number,
    readonly streamId: number,
    private readonly initialTermId: number,
    private readonly positionBitsToShift: number,
  ) {}

  onStatusMessage(nowNs: number, termId: number, termOffset: number, receiverIdLo: number, receiverIdHi: number): void {
    const position = computePosition(termId, termOffset, this.positionBitsToShift, this.initialTermId);
    const key = `${receiverIdHi}:${receiverIdLo}`;
    const entry = this.receivers.get(key);
    if (entry !== undefined) {
      if (position > entry.position) entry.position = position;
      entry.lastNs = nowNs;
      return;
    }
    if (this.receivers.size >= MAX_RECEIVERS) return;
    this.receivers.set(key, { position, lastNs: nowNs });
  }

  /**
   * The lowest position among the receivers heard from since `sinceNs`, or -1 when none was: what
   * every receiver still connected has acknowledged.
   */
  minPosition(sinceNs: number): number {
    let min = -1;
    for (const entry of this.receivers.values()) {
      if (entry.lastNs - sinceNs < 0) continue;
      if (min < 0 || entry.position < min) min = entry.position;
    }
    return min;
  }
}

export class StatusMessageObserver implements DatagramFilter {
  private readonly watched = new Map<number, ReceiverPositions[]>();
  private view: DataView | undefined;
  private viewBytes: Uint8Array | undefined;

  constructor(private readonly inner: DatagramFilter | undefined) {}

  watch(positions: ReceiverPositions): void {
    const list = this.watched.get(positions.sessionId);
    if (list === undefined) this.watched.set(positions.sessionId, [positions]);
    else list.push(positions);
  }

  unwatch(positions: ReceiverPositions): void {
    const list = this.watched.get(positions.sessionId);
    if (list === undefined) return;
    const index = list.indexOf(positions);
    if (index >= 0) list.splice(index, 1);
    if (list.length === 0) this.watched.delete(positions.sessionId);
  }

  drop(nowNs: number, fromIp: number, fromPort: number, endpointId: number, bytes: Uint8Array, offset: number, length: number): boolean {
    if (this.inner !== undefined && this.inner.drop(nowNs, fromIp, fromPort, endpointId, bytes, offset, length)) return true;
    if (this.watched.size === 0) return false;
    if (this.viewBytes !== bytes) {
      this.viewBytes = bytes;
      this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    }
    const view = this.view!;
    const end = offset + length;
    // Bounded: every frame advances by at least FRAME_ALIGNMENT bytes.
    for (let frame = offset; frame + 8 <= end;) {
      const frameLength = view.getInt32(frame, true);
      if (frameLength < 8 || frame + frameLength > end) break;
      if (view.getUint16(frame + 6, true) === HDR_TYPE_SM && frameLength >= SM_LENGTH) this.onStatusMessage(nowNs, view, frame);
      frame += (frameLength + FRAME_ALIGNMENT - 1) & ~(FRAME_ALIGNMENT - 1);
    }
    return false;
  }

  private onStatusMessage(nowNs: number, view: DataView, frame: number): void {
    const flags = view.getUint8(frame + 5);
    // A SETUP request carries no position; an EOS SM does (the receiver's final position).
    if ((flags & SM_SEND_SETUP_FLAG) !== 0 && (flags & SM_EOS_FLAG) === 0) return;
    const list = this.watched.get(smSessionId(view, frame));
    if (list === undefined) return;
    const streamId = smStreamId(view, frame);
    for (const positions of list) {
      if (positions.streamId !== streamId) continue;
      positions.onStatusMessage(nowNs, smConsumptionTermId(view, frame), smConsumptionTermOffset(view, frame),
        smReceiverIdLo(view, frame), smReceiverIdHi(view, frame));
    }
  }
}
