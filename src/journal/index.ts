// Journals of live runs (docs/JOURNAL.md), the package's `petrel/journal` entry: JournalRecorder
// records what reaches an engine under EngineRuntime; replayJournal runs a fresh engine over a
// journal and checks every output; replayPcap feeds a capture to an engine playing one end.
export { JournalFormatError, JournalUsageError, RecordType, recordTypeName, segmentPath, FORMAT_VERSION } from "./format.js";
export { JournalRecorder, JournaledPublication, JournaledSubscription, type JournalRecorderOptions } from "./recorder.js";
export { JournalWriter, JournalWriteError, type JournalWriterOptions, type JournalWriterStats } from "./writer.js";
export { JournalReader, type JournalHeader } from "./reader.js";
export { replayJournal, type Divergence, type ReplayOptions, type ReplayProgress, type ReplayResult, type ReplayCounts } from "./replay.js";
export { replayPcap, PcapReplayError, type PcapReplayOptions, type PcapReplayResult } from "./pcapReplay.js";
export { pairJournals, replayJournalPair, JournalPairError, type JournalPair, type LinkRoute, type JournalSummary, type PairedSession, type PairReplayOptions, type PairReplayResult } from "./journalPair.js";
export { replayJournalPairWithFaults, replayPairWithFaults, type PairFaultOptions, type PairFaultedResult } from "./pairReplay.js";
