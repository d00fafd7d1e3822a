// Petrel's run reports: `petrel report` (reportCommand.ts) and its parts. An input feeds a
// ReportSeriesBuilder with samples (simInput.ts runs a scenario and samples its engines;
// pcapInput.ts reads frames from a capture through aeronFrameSamples.ts); the builder buckets them,
// bounded, and finds stalls (stallDetector.ts); reportHtml.ts writes the page with uPlot inlined.
// A new input (a journal) is another feeder of the builder: nothing else changes.
export { AeronFrameSamples, type DatagramAddress, type FrameSampleOptions } from "./aeronFrameSamples.js";
export { pcapReportSeries, readerReportSeries, type PcapReportOptions } from "./pcapInput.js";
export { ProgressMeter, type ReportProgress } from "./progress.js";
export { REPORT_USAGE, reportSeriesFromArgs, runReportCommand, type ReportCommandOutput } from "./reportCommand.js";
export { ReportInputError, type ReportInputErrorKind } from "./reportErrors.js";
export { reportHtml } from "./reportHtml.js";
export {
  COUNTS,
  GAUGES,
  REPORT_DEFAULTS,
  ReportSeriesBuilder,
  StreamSeriesBuilder,
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
