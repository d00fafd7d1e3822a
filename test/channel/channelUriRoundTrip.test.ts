// Goal: formatting and parsing are inverses over the whole valid parameter space.
// parse(format(uri)) equals uri (plus the derived multicast addresses) for random valid URIs;
// format is a fixed point on its own output; parameter order never matters; and no input string,
// however malformed, makes the parser throw anything but a ChannelUriError.
// A failing run prints fast-check's seed; replay it with { seed } in test.prop's options.
import { describe, expect } from "vitest";
import { fc, test } from "@fast-check/vitest";
import { formatChannelUri, parseChannelUri, type ChannelUri, type InitialPosition } from "../../src/core/channel/channelUri.js";
import type { SocketAddress } from "../../src/core/channel/address.js";
import type { FlowControlParam } from "../../src/core/channel/flowControlParam.js";
import { ChannelUriError } from "../../src/core/errors.js";

const I32_MIN = -(2 ** 31);
const I32_MAX = 2 ** 31 - 1;
const DURATION = fc.oneof(fc.maxSafeNat(), fc.nat({ max: 100_000 }).map((n) => n * 1_000_000), fc.nat({ max: 10_000 }).map((n) => n * 1_000_000_000));
const SIZE = (min: number, max: number) =>
  fc.oneof(fc.integer({ min, max }), fc.integer({ min: Math.ceil(min / 1024), max: Math.floor(max / 1024) }).map((k) => k * 1024));

const octet = fc.integer({ min: 0, max: 255 });
const unicastIpv4 = fc.tuple(fc.oneof(fc.integer({ min: 0, max: 223 }), fc.integer({ min: 240, max: 255 })), octet, octet, octet).map((parts) => parts.join("."));
const multicastIpv4 = fc
  .tuple(fc.integer({ min: 224, max: 239 }), octet, octet, fc.integer({ min: 0, max: 126 }).map((n) => 2 * n + 1))
  .map((parts) => parts.join("."));
const hostName = fc
  .array(fc.stringMatching(/^[a-z0-9_][a-z0-9_-]{0,10}$/), { minLength: 1, maxLength: 4 })
  .map((labels) => labels.join("."))
  .filter((name) => !/^[0-9.]+$/.test(name));
const port = fc.integer({ min: 0, max: 65535 });

const socketAddress: fc.Arbitrary<SocketAddress> = fc.oneof(
  fc.record({ host: unicastIpv4, hostKind: fc.constant("ipv4" as const), port }),
  fc.record({ host: multicastIpv4, hostKind: fc.constant("ipv4" as const), port }),
  fc.record({ host: hostName, hostKind: fc.constant("name" as const), port }),
);

const groupTag = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map(String);
const positiveDuration = DURATION.filter((ns) => ns > 0);
const flowControl: fc.Arbitrary<FlowControlParam> = fc.oneof(
  fc.constant({ strategy: "max" as const }),
  fc.record(
    { strategy: fc.constant("min" as const), receiverTimeoutNs: positiveDuration, groupMinSize: fc.integer({ min: 0, max: I32_MAX }) },
    { requiredKeys: ["strategy"] },
  ),
  fc.record(
    { strategy: fc.constant("tagged" as const), groupTag, groupMinSize: fc.integer({ min: 0, max: I32_MAX }), receiverTimeoutNs: positiveDuration },
    { requiredKeys: ["strategy"] },
  ),
);

const termLength = fc.integer({ min: 16, max: 30 }).map((shift) => 2 ** shift);
const mtu = fc.integer({ min: 2, max: 2047 }).map((n) => n * 32);

function initialPosition(termLengthBytes: number | undefined): fc.Arbitrary<InitialPosition> {
  const offsetSlots = (termLengthBytes ?? 2 ** 30) / 32;
  return fc
    .record({ initTermId: fc.integer({ min: I32_MIN, max: I32_MAX }), distance: fc.integer({ min: 0, max: I32_MAX }), slot: fc.integer({ min: 0, max: offsetSlots }) })
    .map(({ initTermId, distance, slot }) => ({ initTermId, termId: (initTermId + distance) | 0, termOffset: slot * 32 }));
}

/** The URI fields that make sense for both media, with the start position tied to the term length. */
const common = fc
  .record(
    {
      mtuBytes: mtu,
      termLengthBytes: termLength,
      sessionId: fc.integer({ min: I32_MIN, max: I32_MAX }),
      lingerNs: DURATION,
      sparse: fc.boolean(),
      eos: fc.boolean(),
      tether: fc.boolean(),
      alias: fc.stringMatching(/^[^|]+$/),
      streamId: fc.integer({ min: I32_MIN, max: I32_MAX }),
      spiesSimulateConnection: fc.boolean(),
      publicationWindowBytes: SIZE(1, I32_MAX),
      untetheredWindowLimitTimeoutNs: DURATION,
      untetheredRestingTimeoutNs: DURATION,
      withPosition: fc.boolean(),
    },
    { requiredKeys: ["withPosition"] },
  )
  .chain(({ withPosition, ...rest }) =>
    withPosition ? initialPosition(rest.termLengthBytes).map((position) => ({ ...rest, initialPosition: position })) : fc.constant(rest),
  );

const udpOnly = fc
  .record(
    {
      endpoint: socketAddress,
      networkInterface: fc.record(
        { address: unicastIpv4, port, prefixLength: fc.integer({ min: 0, max: 32 }) },
        { requiredKeys: ["address"] },
      ),
      control: socketAddress,
      controlMode: fc.constantFrom("manual" as const, "dynamic" as const, "response" as const),
      reliable: fc.boolean(),
      ttl: fc.integer({ min: 0, max: 255 }),
      flowControl,
      congestionControl: fc.constantFrom("static" as const, "cubic" as const, "bbr" as const),
      receiverWindowBytes: SIZE(1, I32_MAX),
      socketSndbufBytes: SIZE(0, I32_MAX),
      socketRcvbufBytes: SIZE(0, I32_MAX),
      group: fc.boolean(),
      groupTag,
      nakDelayNs: DURATION,
      maxResend: fc.integer({ min: 1, max: 256 }),
      rejoin: fc.boolean(),
    },
    { requiredKeys: [] },
  )
  // control-mode=dynamic needs a control address.
  .filter((fields) => fields.controlMode !== "dynamic" || fields.control !== undefined);

const validUri: fc.Arbitrary<ChannelUri> = fc.oneof(
  common.map((fields): ChannelUri => ({ media: "ipc", ...fields })),
  fc.tuple(common, udpOnly).map(([a, b]): ChannelUri => ({ media: "udp", ...a, ...b })),
);

/** What the parser adds on its own: the control address of a multicast group. */
function withDerived(uri: ChannelUri): ChannelUri {
  const endpoint = uri.endpoint;
  if (endpoint === undefined || endpoint.hostKind !== "ipv4") return uri;
  const octets = endpoint.host.split(".").map(Number);
  const first = octets[0] ?? 0;
  if (first < 224 || first > 239) return uri;
  const control = [...octets.slice(0, 3), (octets[3] ?? 0) + 1].join(".");
  return { ...uri, multicast: { data: endpoint, control: { host: control, hostKind: "ipv4", port: endpoint.port } } };
}

describe("channel URI round trip (property)", () => {
  test.prop([validUri], { numRuns: 500 })("parse(format(params)) equals the params", (uri) => {
    expect(parseChannelUri(formatChannelUri(uri))).toEqual(withDerived(uri));
  });

  test.prop([validUri], { numRuns: 300 })("format is a fixed point: format(parse(format(u))) === format(u)", (uri) => {
    const text = formatChannelUri(uri);
    expect(formatChannelUri(parseChannelUri(text))).toBe(text);
  });

  test.prop([validUri.chain((uri) => {
    const text = formatChannelUri(uri);
    const question = text.indexOf("?");
    const segments = question < 0 ? [] : text.slice(question + 1).split("|");
    return fc
      .shuffledSubarray(segments, { minLength: segments.length, maxLength: segments.length })
      .map((shuffled) => ({ text, reordered: shuffled.length === 0 ? text : `${text.slice(0, question)}?${shuffled.join("|")}` }));
  })], { numRuns: 300 })("parameter order does not matter", ({ text, reordered }) => {
    expect(parseChannelUri(reordered)).toEqual(parseChannelUri(text));
  });

  test.prop([fc.oneof(fc.string(), fc.string().map((s) => `aeron:udp?${s}`), fc.string().map((s) => `aeron:ipc?${s}`))], { numRuns: 1000 })(
    "malformed input only ever throws ChannelUriError",
    (text) => {
      try {
        const uri = parseChannelUri(text);
        // Whatever parses must format and re-parse to the same value.
        expect(parseChannelUri(formatChannelUri(uri))).toEqual(uri);
      } catch (error) {
        expect(error).toBeInstanceOf(ChannelUriError);
      }
    },
  );

  const mutation = fc.record({
    at: fc.nat(),
    kind: fc.constantFrom("replace" as const, "insert" as const, "delete" as const),
    char: fc.constantFrom(..."|=:,/.?-0123456789ksmgtx[]aeron ".split("")),
  });
  test.prop([validUri, fc.array(mutation, { minLength: 1, maxLength: 3 })], { numRuns: 1000 })(
    "a valid URI with a few characters changed parses and round-trips, or throws ChannelUriError",
    (uri, mutations) => {
      let text = formatChannelUri(uri);
      for (const { at, kind, char } of mutations) {
        const index = at % (text.length + 1);
        if (kind === "insert") text = text.slice(0, index) + char + text.slice(index);
        else if (kind === "replace") text = text.slice(0, index) + char + text.slice(index + 1);
        else text = text.slice(0, index) + text.slice(index + 1);
      }
      let parsed: ChannelUri | undefined;
      try {
        parsed = parseChannelUri(text);
      } catch (error) {
        expect(error, text).toBeInstanceOf(ChannelUriError);
      }
      if (parsed !== undefined) expect(parseChannelUri(formatChannelUri(parsed))).toEqual(parsed);
    },
  );
});
