// Journals of live runs (docs/JOURNAL.md): JournalRecorder records what reaches an engine under
// EngineRuntime; replayJournal runs a fresh engine over a journal and checks every output.
export { JournalFormatError, JournalUsageError, RecordType, recordTypeName, segmentPath, FORMAT_VERSION } from "./format.js";
export { JournalRecorder, JournaledPublication, JournaledSubscription, type JournalRecorderOptions } from "./recorder.js";
export { JournalWriter, JournalWriteError, type JournalWriterOptions, type JournalWriterStats } from "./writer.js";
export { JournalReader, type JournalHeader } from "./reader.js";
export { replayJournal, type Divergence, type ReplayOptions, type ReplayProgress, type ReplayResult, type ReplayCounts } from "./replay.js";
