// The outcome of parsing one textual value: the value, or a reason phrased to complete the
// sentence "<name> = '<text>': <reason>". Callers turn a failure into the error type that names
// what they were parsing (a URI parameter or an engine option), so the helpers stay neutral.

export type ParseResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly reason: string };

export function parsed<T>(value: T): ParseResult<T> {
  return { ok: true, value };
}

export function rejected<T>(reason: string): ParseResult<T> {
  return { ok: false, reason };
}
