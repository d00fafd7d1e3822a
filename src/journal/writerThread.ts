// The journal's writer thread (JournalWriterOptions.writerThread): takes sealed blocks from the
// recording thread through shared memory and writes them, so that the recording thread never
// waits on the file system. The recording thread fills slot i and stores its length in state[i]
// (no notify: this thread polls every WRITER_POLL_MS); this thread writes slots in order, stores 0
// and notifies back (a full ring makes the recording thread wait: back-pressure, counted). Control words: see WriterControl.
import { parentPort, workerData } from "node:worker_threads";
import { SegmentFiles } from "./segmentFiles.js";
import { WriterControl, type WriterThreadData } from "./writerControl.js";

/**
 * How long the thread sleeps when its next slot is empty: the recording thread does not notify when
 * it hands over a block (see WriterThread.submit), so this bounds how late a block is written. A
 * slot of 1 MiB fills in milliseconds at full rate, and the ring holds several.
 */
const WRITER_POLL_MS = 1;

function run(data: WriterThreadData): void {
  const state = new Int32Array(data.state);
  const control = new Int32Array(data.control);
  const files = new SegmentFiles(data);
  try {
    for (let next = 0; ;) {
      const length = Atomics.load(state, next);
      if (length === 0) {
        if (Atomics.load(control, WriterControl.CLOSE) === 1 && Atomics.load(state, next) === 0) break;
        Atomics.wait(state, next, 0, WRITER_POLL_MS);
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

if (parentPort !== null) run(workerData as WriterThreadData);
