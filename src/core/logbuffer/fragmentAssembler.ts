// Reassembles fragmented messages for a subscriber (Aeron's FragmentAssembler). An unfragmented
// fragment (BEGIN|END) goes straight to the delegate, pointing into the term, with no copy. A
// BEGIN fragment starts an assembly in the session's buffer, middle fragments append, and the END
// fragment completes it: the delegate then sees the whole message in the assembly buffer, with a
// header built as Aeron's BufferBuilder.completeHeader builds it: the FIRST fragment's header
// (term id, term offset, session, stream, reserved value), its frame length set to header + whole
// message, its flags OR'd with the last fragment's (BEGIN|END), and a position after the last
// fragment. Each session has one buffer, made when its first fragmented message
// arrives and grown (to the next power of two) only when a larger message comes; a completed
// message is delivered before the buffer is reused, so the delegate must copy what it keeps.
//
// A fragment that does not continue the assembly in progress (wrong term offset, a middle or END
// without a BEGIN) abandons it: the partial message is dropped, as Aeron does.
import { BEGIN_FLAG, END_FLAG, UNFRAGMENTED } from "../protocol/dataHeader.js";
import { FRAME_ALIGNMENT, align } from "../protocol/frameHeader.js";
import { ByteCopier } from "./byteCopy.js";
import { FragmentHeader } from "./fragmentHeader.js";
import { TermBuffer } from "./logBuffers.js";
import { DATA_HEADER_LENGTH } from "../protocol/dataHeader.js";
import { FLAGS_OFFSET } from "../protocol/frameHeader.js";
import type { FragmentHandler } from "./termReader.js";
import { LogBufferConfigError, MAX_MESSAGE_LENGTH_LIMIT } from "./logBufferDescriptor.js";

/** Default first capacity of a session's assembly buffer. */
export const DEFAULT_ASSEMBLY_CAPACITY = 4096;

/** One session's message under assembly. */
export class AssemblyBuffer {
  bytes: Uint8Array;
  view: DataView;
  /** Bytes assembled so far. */
  limit = 0;
  /** Term offset the next fragment must have; -1 when no assembly is in progress. */
  nextTermOffset = -1;
  /** Term id of the fragments being assembled. */
  termId = 0;
  /** The first fragment's 32-byte header, copied at BEGIN (a one-frame term the complete header reads). */
  readonly firstHeader = new TermBuffer(new ArrayBuffer(DATA_HEADER_LENGTH), 0, DATA_HEADER_LENGTH, 0);
  /** Term offset of the first fragment. */
  firstFrameOffset = 0;
  /** The header handed to the delegate with a complete message (made at the first BEGIN). */
  completeHeader: FragmentHeader | undefined;

  constructor(initialCapacity: number) {
    this.bytes = new Uint8Array(initialCapacity);
    this.view = new DataView(this.bytes.buffer);
  }

  get capacity(): number {
    return this.bytes.length;
  }

  /** Makes room for `required` bytes, keeping what is assembled. */
  ensureCapacity(required: number): void {
    if (required <= this.bytes.length) return;
    if (required > MAX_MESSAGE_LENGTH_LIMIT) {
      throw new LogBufferConfigError("assembled message length", required, `must be at most ${MAX_MESSAGE_LENGTH_LIMIT}`);
    }
    let capacity = this.bytes.length;
    while (capacity < required) capacity *= 2;
    const grown = new Uint8Array(capacity);
    grown.set(this.bytes.subarray(0, this.limit));
    this.bytes = grown;
    this.view = new DataView(grown.buffer);
  }

  reset(): void {
    this.limit = 0;
    this.nextTermOffset = -1;
  }
}

export class FragmentAssembler implements FragmentHandler {
  private readonly delegate: FragmentHandler;
  private readonly initialCapacity: number;
  private readonly sessions = new Map<number, AssemblyBuffer>();
  private readonly copier = new ByteCopier();

  constructor(delegate: FragmentHandler, initialCapacity = DEFAULT_ASSEMBLY_CAPACITY) {
    if (!Number.isInteger(initialCapacity) || initialCapacity < 1 || initialCapacity > MAX_MESSAGE_LENGTH_LIMIT) {
      throw new LogBufferConfigError("initialCapacity", initialCapacity, `must be from 1 to ${MAX_MESSAGE_LENGTH_LIMIT}`);
    }
    this.delegate = delegate;
    this.initialCapacity = initialCapacity;
  }

  onFragment(buffer: Uint8Array, offset: number, length: number, header: FragmentHeader): void {
    const flags = header.flags;
    if ((flags & UNFRAGMENTED) === UNFRAGMENTED) {
      this.delegate.onFragment(buffer, offset, length, header);
      return;
    }
    const sessionId = header.sessionId;
    if ((flags & BEGIN_FLAG) !== 0) {
      let assembly = this.sessions.get(sessionId);
      if (assembly === undefined) {
        assembly = new AssemblyBuffer(this.initialCapacity);
        this.sessions.set(sessionId, assembly);
      }
      assembly.reset();
      assembly.completeHeader ??= new FragmentHeader(header.initialTermId, header.positionBitsToShift, assembly.firstHeader);
      assembly.firstHeader.bytes.set(header.term.bytes.subarray(header.frameOffset, header.frameOffset + DATA_HEADER_LENGTH));
      assembly.firstFrameOffset = header.frameOffset;
      this.append(assembly, buffer, offset, length, header);
      return;
    }
    const assembly = this.sessions.get(sessionId);
    if (assembly === undefined || assembly.nextTermOffset < 0) return;
    if (header.termOffset !== assembly.nextTermOffset || header.termId !== assembly.termId) {
      assembly.reset();
      return;
    }
    this.append(assembly, buffer, offset, length, header);
    if ((flags & END_FLAG) !== 0) {
      const messageLength = assembly.limit;
      const complete = assembly.completeHeader!;
      const first = assembly.firstHeader;
      first.view.setInt32(0, DATA_HEADER_LENGTH + messageLength, true);
      first.view.setUint8(FLAGS_OFFSET, first.view.getUint8(FLAGS_OFFSET) | flags);
      complete.frameOffset = 0;
      complete.fragmentedFrameLength = assembly.nextTermOffset - assembly.firstFrameOffset;
      assembly.reset();
      this.delegate.onFragment(assembly.bytes, 0, messageLength, complete);
    }
  }

  private append(assembly: AssemblyBuffer, buffer: Uint8Array, offset: number, length: number, header: FragmentHeader): void {
    const limit = assembly.limit;
    assembly.ensureCapacity(limit + length);
    this.copier.copy(assembly.bytes, assembly.view, limit, buffer, offset, length);
    assembly.limit = limit + length;
    assembly.termId = header.termId;
    assembly.nextTermOffset = header.frameOffset + align(header.frameLength, FRAME_ALIGNMENT);
  }

  /** The assembly buffer of a session, if it has had a fragmented message (for tests and stats). */
  assemblyBuffer(sessionId: number): AssemblyBuffer | undefined {
    return this.sessions.get(sessionId);
  }

  /** Forgets a session (its image closed), freeing its buffer. */
  freeSessionBuffer(sessionId: number): boolean {
    return this.sessions.delete(sessionId);
  }
}
