// Reassembles fragmented messages for a controlled reader (Aeron's ControlledFragmentAssembler).
// Like FragmentAssembler, but the delegate answers each whole message with an action that the
// reader applies (ControlledAction): an unfragmented fragment is passed straight through and its
// action returned; BEGIN and middle fragments are buffered and answered CONTINUE; the END fragment
// completes the message, and the delegate's action is returned. When the delegate answers ABORT,
// the END fragment's bytes are taken back out of the buffer, so that the reader, which rolls its
// position back to the END fragment, appends it again on the next poll and delivers the message
// again (Aeron: `builder.limit(limit)`).
import { BEGIN_FLAG, END_FLAG, UNFRAGMENTED } from "../protocol/dataHeader.js";
import { FRAME_ALIGNMENT, align } from "../protocol/frameHeader.js";
import { ByteCopier } from "./byteCopy.js";
import { AssemblyBuffer, DEFAULT_ASSEMBLY_CAPACITY } from "./fragmentAssembler.js";
import type { FragmentHeader } from "./fragmentHeader.js";
import { LogBufferConfigError, MAX_MESSAGE_LENGTH_LIMIT } from "./logBufferDescriptor.js";

/**
 * What a controlled handler tells the reader after a fragment (Aeron's ControlledFragmentHandler.Action;
 * the values are Aeron C's `aeron_controlled_fragment_handler_action_t`).
 */
export const ControlledAction = {
  /** Roll this fragment back and stop: the position stays before it; it is delivered again next poll. */
  ABORT: 1,
  /** Stop after this fragment: the position moves past it. */
  BREAK: 2,
  /** Move the position past this fragment now (visible to the publisher's flow control) and go on. */
  COMMIT: 3,
  /** Go on; the position moves at the end of the poll. */
  CONTINUE: 4,
} as const;

export type ControlledAction = (typeof ControlledAction)[keyof typeof ControlledAction];

/** Receives fragments and says what to do next. Implement it on a long-lived object. */
export interface ControlledFragmentHandler {
  onFragment(buffer: Uint8Array, offset: number, length: number, header: FragmentHeader): ControlledAction;
}

export class ControlledFragmentAssembler implements ControlledFragmentHandler {
  private readonly delegate: ControlledFragmentHandler;
  private readonly initialCapacity: number;
  private readonly sessions = new Map<number, AssemblyBuffer>();
  private readonly copier = new ByteCopier();

  constructor(delegate: ControlledFragmentHandler, initialCapacity = DEFAULT_ASSEMBLY_CAPACITY) {
    if (!Number.isInteger(initialCapacity) || initialCapacity < 1 || initialCapacity > MAX_MESSAGE_LENGTH_LIMIT) {
      throw new LogBufferConfigError("initialCapacity", initialCapacity, `must be from 1 to ${MAX_MESSAGE_LENGTH_LIMIT}`);
    }
    this.delegate = delegate;
    this.initialCapacity = initialCapacity;
  }

  onFragment(buffer: Uint8Array, offset: number, length: number, header: FragmentHeader): ControlledAction {
    const flags = header.flags;
    if ((flags & UNFRAGMENTED) === UNFRAGMENTED) return this.delegate.onFragment(buffer, offset, length, header);
    const sessionId = header.sessionId;
    if ((flags & BEGIN_FLAG) !== 0) {
      let assembly = this.sessions.get(sessionId);
      if (assembly === undefined) {
        assembly = new AssemblyBuffer(this.initialCapacity);
        this.sessions.set(sessionId, assembly);
      }
      assembly.reset();
      this.append(assembly, buffer, offset, length, header);
      return ControlledAction.CONTINUE;
    }
    const assembly = this.sessions.get(sessionId);
    if (assembly === undefined || assembly.nextTermOffset < 0) return ControlledAction.CONTINUE;
    if (header.termOffset !== assembly.nextTermOffset || header.termId !== assembly.termId) {
      assembly.reset();
      return ControlledAction.CONTINUE;
    }
    const limit = assembly.limit;
    const nextTermOffset = assembly.nextTermOffset;
    this.append(assembly, buffer, offset, length, header);
    if ((flags & END_FLAG) === 0) return ControlledAction.CONTINUE;
    const action = this.delegate.onFragment(assembly.bytes, 0, assembly.limit, header);
    if (action === ControlledAction.ABORT) {
      // The reader rolls back to this END fragment and reads it again: undo its append.
      assembly.limit = limit;
      assembly.nextTermOffset = nextTermOffset;
    } else {
      assembly.reset();
    }
    return action;
  }

  private append(assembly: AssemblyBuffer, buffer: Uint8Array, offset: number, length: number, header: FragmentHeader): void {
    const limit = assembly.limit;
    assembly.ensureCapacity(limit + length);
    this.copier.copy(assembly.bytes, assembly.view, limit, buffer, offset, length);
    assembly.limit = limit + length;
    assembly.termId = header.termId;
    assembly.nextTermOffset = header.frameOffset + align(header.frameLength, FRAME_ALIGNMENT);
  }

  /** Forgets a session (its image closed), freeing its buffer. */
  freeSessionBuffer(sessionId: number): boolean {
    return this.sessions.delete(sessionId);
  }
}
