// The journal's writer thread (JournalWriterOptions.writerThread): takes sealed blocks from the
// recording thread through shared memory and writes them, so that the recording thread never
// waits on the file system. The recording thread fills slot i, stores its length in state[i] and
// notifies; this thread writes slots in order, stores 0 and notifies back (a full ring makes the
// recording thread wait: back-pressure, counted). Control words: see WriterControl.
import { parentPort, workerData, type MessagePort } from "node:worker_threads";
import { SegmentFiles, type SegmentFilesOptions } from "./segmentFiles.js";

export const WriterControl = {
  /** Set by the recording thread: no more blocks after those pending. */
  CLOSE: 0,
  /** Set by this thread when every block is written and the file closed (1), or on failure (2). */
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

function run(data: WriterThreadData): void {
  const state = new Int32Array(data.state);
  const control = new Int32Array(data.control);
  const files = new SegmentFiles(data);
  try {
    for (let next = 0; ;) {
      const length = Atomics.load(state, next);
      if (length === 0) {
        if (Atomics.load(control, WriterControl.CLOSE) === 1 && Atomics.load(state, next) === 0) break;
        Atomics.wait(state, next, 0, 50);
        continue;
      }
      files.write(new Uint8Array(data.blocks, next * data.blockBytes, data.blockBytes), length);
      control[WriterControl.SEGMENTS] = files.segments;
      control[WriterControl.WRITE_US] = Math.round(files.writeNs / 1000);
      Atomics.store(state, next, 0);
      Atomics.notify(state, next);
      next = (next + 1) % data.slots;
    }
    files.close();
    Atomics.store(control, WriterControl.DONE, 1);
  } catch (error) {
    data.errors.postMessage({ error: error instanceof Error ? error.message : String(error) });
    Atomics.store(control, WriterControl.DONE, 2);
  }
  Atomics.notify(control, WriterControl.DONE);
}

if (parentPort !== null && workerData !== undefined && (workerData as { blocks?: unknown }).blocks !== undefined) run(workerData as WriterThreadData);
