// The `fc` channel parameter (PROTOCOL.md section 7): `fc=<strategy>[,<arg>...]` with strategy
// max, min or tagged; `min` takes `t:<duration>` (receiver timeout) and `g:[<tag>]/<minSize>`
// (the tag ignored, as Aeron's min flow control is not tag-aware); `tagged` takes
// `g:<tag>[/<minSize>]` (or `g:/<minSize>`) and `t:<duration>`; `max` ignores its arguments, as
// Aeron's MaxMulticastFlowControl does.
// Cold path only; every error names `fc` and says which part is wrong.

import { ChannelUriError } from "../errors.js";
import { formatDurationNs, parseDurationNs } from "../config/duration.js";
import { parseGroupTag } from "./groupTag.js";

export const FC_PARAMETER = "fc";

export type FlowControlStrategy = "max" | "min" | "tagged";

export type FlowControlParam =
  | { readonly strategy: "max" }
  | { readonly strategy: "min"; readonly receiverTimeoutNs?: number; readonly groupMinSize?: number }
  | {
      readonly strategy: "tagged";
      /** Canonical decimal i64; absent means the engine's default group tag. */
      readonly groupTag?: string;
      /** Tagged receivers required before the publication counts as connected. */
      readonly groupMinSize?: number;
      readonly receiverTimeoutNs?: number;
    };

/** Largest minimum group size: it is an i32 count in Aeron. */
export const GROUP_MIN_SIZE_MAX = 0x7fff_ffff;

export function parseFlowControlParam(text: string): FlowControlParam {
  const fail = (reason: string): never => {
    throw new ChannelUriError(FC_PARAMETER, text, reason);
  };
  const [strategy, ...args] = text.split(",");
  if (strategy !== "max" && strategy !== "min" && strategy !== "tagged") {
    return fail(`unknown strategy '${strategy ?? ""}': must be max, min or tagged (e.g. fc=min,t:5s or fc=tagged,g:7/2)`);
  }
  let receiverTimeoutNs: number | undefined;
  let groupTag: string | undefined;
  let groupMinSize: number | undefined;
  let sawGroup = false;
  // Aeron's MaxMulticastFlowControl reads no arguments, so a channel copied from an Aeron config
  // may carry any; they are dropped rather than refused.
  if (strategy === "max") return Object.freeze({ strategy });
  for (const arg of args) {
    if (arg.startsWith("t:")) {
      if (receiverTimeoutNs !== undefined) fail("argument 't:' is given more than once");
      const result = parseDurationNs(arg.slice(2));
      if (!result.ok) return fail(`receiver timeout '${arg}' ${result.reason}`);
      if (result.value <= 0) fail(`receiver timeout '${arg}' must be greater than zero`);
      receiverTimeoutNs = result.value;
    } else if (arg.startsWith("g:")) {
      if (sawGroup) fail("argument 'g:' is given more than once");
      sawGroup = true;
      const body = arg.slice(2);
      const slash = body.indexOf("/");
      const tagText = slash < 0 ? body : body.slice(0, slash);
      if (tagText.length > 0) {
        const tag = parseGroupTag(tagText);
        if (!tag.ok) return fail(`group tag '${tagText}' ${tag.reason}`);
        // min is not tag-aware in Aeron: its tag is checked and ignored.
        if (strategy === "tagged") groupTag = tag.value;
      } else if (slash < 0) {
        fail("argument 'g:' needs a group tag, a minimum size or both (g:<tag>, g:<tag>/<minSize>, g:/<minSize>)");
      }
      if (strategy === "min" && slash < 0) fail("strategy 'min' takes 'g:' only with a minimum group size (g:/<minSize>)");
      if (slash >= 0) {
        const sizeText = body.slice(slash + 1);
        if (!/^[0-9]{1,10}$/.test(sizeText) || Number(sizeText) > GROUP_MIN_SIZE_MAX) {
          fail(`minimum group size '${sizeText}' must be a decimal integer between 0 and ${GROUP_MIN_SIZE_MAX}`);
        }
        groupMinSize = Number(sizeText);
      }
    } else {
      fail(`unknown argument '${arg}': arguments are t:<duration> and, for tagged, g:<tag>[/<minSize>]`);
    }
  }
  switch (strategy) {
    case "min":
      return Object.freeze({
        strategy,
        ...(receiverTimeoutNs === undefined ? {} : { receiverTimeoutNs }),
        ...(groupMinSize === undefined ? {} : { groupMinSize }),
      });
    case "tagged":
      return Object.freeze({
        strategy,
        ...(groupTag === undefined ? {} : { groupTag }),
        ...(groupMinSize === undefined ? {} : { groupMinSize }),
        ...(receiverTimeoutNs === undefined ? {} : { receiverTimeoutNs }),
      });
  }
}

export function formatFlowControlParam(fc: FlowControlParam): string {
  const parts: string[] = [fc.strategy];
  if (fc.strategy === "tagged" && (fc.groupTag !== undefined || fc.groupMinSize !== undefined)) {
    const minSize = fc.groupMinSize === undefined ? "" : `/${fc.groupMinSize}`;
    parts.push(`g:${fc.groupTag ?? ""}${minSize}`);
  }
  if (fc.strategy === "min" && fc.groupMinSize !== undefined) parts.push(`g:/${fc.groupMinSize}`);
  if (fc.strategy !== "max" && fc.receiverTimeoutNs !== undefined) {
    parts.push(`t:${formatDurationNs(fc.receiverTimeoutNs)}`);
  }
  return parts.join(",");
}
