// What the recording thread and the journal's writer thread (writerThread.ts) share.
import type { MessagePort } from "node:worker_threads";
import type { SegmentFilesOptions } from "./segmentFiles.js";

export const WriterControl = {
  /** Set by the recording thread: no more blocks after those pending. */
  CLOSE: 0,
  /** Set by the writer thread when every block is written and the file closed (1), or on failure (2). */
  DONE: 1,
  /** Segments written (for stats). */
  SEGMENTS: 2,
  /** Time spent writing, microseconds (for stats). */
  WRITE_US: 3,
  WORDS: 4,
} as const;

export interface WriterThreadData extends SegmentFilesOptions {
  readonly slots: number;
  readonly blockBytes: number;
  readonly blocks: SharedArrayBuffer;
  /** Int32 per slot: the pending block's length, 0 when free. */
  readonly state: SharedArrayBuffer;
  readonly control: SharedArrayBuffer;
  /** Where a failure is reported (the recording thread reads it synchronously). */
  readonly errors: MessagePort;
}
