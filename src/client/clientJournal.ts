// The client's journal (Petrel.launch({ journal })): the in-process backend builds its engine
// through a JournalRecorder, hands the recorder to its runtime and makes every command, offer and
// poll through the recorder's handles, so that `petrel replay` of the run is bit-exact
// (docs/JOURNAL.md). In worker mode the worker thread opens the recorder and records what it sees
// (engineWorker.ts); the launch waits for its answer. Here: the checks of the journal options at launch (a LaunchOptionError naming
// the option), the recorder's opening, and the refusal of the calls a journal cannot record
// (a JournalUsageError naming the call).
import { statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import type { Image } from "../core/engine/subscription.js";
import { JournalUsageError } from "../journal/format.js";
import { JournalRecorder, type JournalRecorderOptions } from "../journal/recorder.js";
import { LaunchOptionError } from "./errors.js";

/** What Petrel.launch({ journal }) takes: JournalRecorderOptions (docs/JOURNAL.md, "Options"). */
export type ClientJournalOptions = JournalRecorderOptions;

const MIN_BLOCK_BYTES = 128 * 1024;
const POSITIVE_INTEGERS = ["blockBytes", "segmentBytes", "maxBytes", "writerSlots"] as const;
const BOOLEANS = ["payloadHash", "writerThread"] as const;
const KNOWN = new Set<string>(["path", "flushIntervalNs", "writerThreadUrl", ...POSITIVE_INTEGERS, ...BOOLEANS]);

/**
 * Checks `options.journal` of a launch; throws a LaunchOptionError naming the option. `worker`:
 * the launch asked for worker mode, which records the log bytes the application appended rather
 * than its offers, so `payloadHash` (offers as length + hash) does not apply there.
 */
export function checkJournalOptions(journal: unknown, worker: boolean): asserts journal is ClientJournalOptions {
  if (typeof journal !== "object" || journal === null) throw new LaunchOptionError("journal", journal, "must be an object with at least a path ({ path: \"run.pjournal\" })");
  const given = journal as Record<string, unknown>;
  for (const key of Object.keys(given)) {
    if (!KNOWN.has(key)) throw new LaunchOptionError(`journal.${key}`, given[key], `is not a journal option (known: ${[...KNOWN].join(", ")})`);
  }
  const path = given["path"];
  if (typeof path !== "string" || path === "") throw new LaunchOptionError("journal.path", path, "must be a non-empty file name");
  const folder = dirname(resolve(path));
  let isFolder = false;
  try {
    isFolder = statSync(folder).isDirectory();
  } catch {
    // isFolder stays false: the folder does not exist (or cannot be read).
  }
  if (!isFolder) throw new LaunchOptionError("journal.path", path, `its folder ${folder} does not exist`);
  for (const key of POSITIVE_INTEGERS) {
    const value = given[key];
    if (value !== undefined && !(typeof value === "number" && Number.isSafeInteger(value) && value > 0)) {
      throw new LaunchOptionError(`journal.${key}`, value, "must be a positive integer");
    }
  }
  const blockBytes = given["blockBytes"];
  if (typeof blockBytes === "number" && blockBytes < MIN_BLOCK_BYTES) {
    throw new LaunchOptionError("journal.blockBytes", blockBytes, `must be at least ${MIN_BLOCK_BYTES} (128 KiB)`);
  }
  const flush = given["flushIntervalNs"];
  if (flush !== undefined && !(typeof flush === "number" && Number.isFinite(flush) && flush >= 0)) {
    throw new LaunchOptionError("journal.flushIntervalNs", flush, "must be a finite number of nanoseconds, 0 or more");
  }
  for (const key of BOOLEANS) {
    const value = given[key];
    if (value !== undefined && typeof value !== "boolean") throw new LaunchOptionError(`journal.${key}`, value, "must be true or false");
  }
  const url = given["writerThreadUrl"];
  if (url !== undefined && !(url instanceof URL)) throw new LaunchOptionError("journal.writerThreadUrl", url, "must be a URL");
  if (worker && given["payloadHash"] === true) {
    throw new LaunchOptionError("journal.payloadHash", true, "does not apply in worker mode (Petrel.launch({ worker })): the worker records the log " +
      "bytes the application appended, not its offers; leave it out");
  }
}

/** Opens the journal's recorder; a file that cannot be made (or a size the writer refuses) is a LaunchOptionError. */
export function openClientJournal(options: ClientJournalOptions): JournalRecorder {
  try {
    return new JournalRecorder(options);
  } catch (error) {
    throw journalOpenError(options, error instanceof Error ? error : { name: "Error", message: String(error) });
  }
}

/** The LaunchOptionError for a recorder that could not be opened (here, or in the worker thread). */
export function journalOpenError(options: ClientJournalOptions, error: { readonly name: string; readonly message: string }): LaunchOptionError {
  if (error.name === "RangeError" && /maxBytes/.test(error.message)) return new LaunchOptionError("journal.maxBytes", options.maxBytes, error.message);
  return new LaunchOptionError("journal.path", options.path, `the journal cannot be created: ${error.message}`);
}

/** The JournalUsageError for a call a journal cannot record, naming the call and what to use instead. */
export function notJournaled(call: string, instead: string): JournalUsageError {
  return new JournalUsageError(`${call} is not recorded by a journal (Petrel.launch({ journal })), so a replay could not repeat it: ${instead}`);
}

/** Image calls that read the log (and move the image's position) beside the recorder. */
const IMAGE_READS = new Set<PropertyKey>(["poll", "controlledPoll", "blockPoll", "pollFragments", "controlledPollFragments"]);

/**
 * The images of a journaled subscription as the application sees them: positions, session,
 * end of stream and the rest read through; Image.poll, controlledPoll and blockPoll throw a
 * JournalUsageError (a poll on one image is not recorded: use the subscription's poll).
 */
export class JournaledImages {
  private readonly views = new WeakMap<Image, Image>();

  view(image: Image): Image {
    let view = this.views.get(image);
    if (view === undefined) {
      view = new Proxy(image, {
        get(target, property) {
          if (IMAGE_READS.has(property)) {
            return () => {
              throw notJournaled(`Image.${String(property)}`, "use subscription.poll");
            };
          }
          const value: unknown = Reflect.get(target, property, target);
          return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
        },
      });
      this.views.set(image, view);
    }
    return view;
  }

  viewAll(images: readonly Image[]): readonly Image[] {
    return images.map((image) => this.view(image));
  }
}
