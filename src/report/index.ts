// Petrel's run reports: `petrel report` (reportCommand.ts) and its parts. An input feeds a
// ReportSeriesBuilder with samples (simInput.ts runs a scenario and samples its engines;
// journalInput.ts replays a journal and samples its engine, both through engineSampler.ts;
// pcapInput.ts reads frames from a capture through aeronFrameSamples.ts); the builder buckets them,
// bounded, and finds stalls (stallDetector.ts); reportHtml.ts writes the page with uPlot inlined.
export { AeronFrameSamples, type DatagramAddress, type FrameSampleOptions } from "./aeronFrameSamples.js";
export { CountDeltas, engineCountTotals, sampleImages, samplePublications, type EngineCountName, type StreamLabel } from "./engineSampler.js";
export { isJournalFile, journalReportSeries, type JournalReportOptions } from "./journalInput.js";
export { pcapReportSeries, readerReportSeries, type PcapReportOptions } from "./pcapInput.js";
export { ProgressMeter, type ReportProgress } from "./progress.js";
export { REPORT_USAGE, reportSeriesFromArgs, runReportCommand, type ReportCommandOutput } from "./reportCommand.js";
export { ReportInputError, type ReportInputErrorKind } from "./reportErrors.js";
export { QUANTITY_LABELS, reportHtml } from "./reportHtml.js";
export {
  COUNTS,
  GAUGES,
  REPORT_DEFAULTS,
  ReportSeriesBuilder,
  StreamSeriesBuilder,
  type AbsentQuantity,
  type CountName,
  type GaugeName,
  type InputKind,
  type ReportFault,
  type ReportSeries,
  type ReportSeriesOptions,
  type ReportSource,
  type StreamSeries,
} from "./reportSeries.js";
export { faultActionLabel, scenarioActionLabel, simReportSeries, type SimReportOptions } from "./simInput.js";
export { formatTimeNs, MAX_STALLS_PER_STREAM, StallDetector, type Stall } from "./stallDetector.js";
