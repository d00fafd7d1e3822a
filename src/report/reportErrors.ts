// Why `petrel report` could not read its input. Each error says what was wrong and what is allowed,
// and carries a kind that tests and callers can branch on.
export type ReportInputErrorKind = "missing-file" | "not-pcap" | "bad-journal" | "diverged" | "unknown-scenario" | "bad-option";

export class ReportInputError extends Error {
  override readonly name = "ReportInputError";
  constructor(
    readonly kind: ReportInputErrorKind,
    message: string,
  ) {
    super(message);
  }
}
