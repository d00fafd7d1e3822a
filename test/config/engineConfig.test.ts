// Goal: DEFAULT_ENGINE_CONFIG is exactly PROTOCOL.md section 5's table (Aeron's defaults), and
// resolveEngineConfig accepts every field at its bounds, refuses one step past them, and names
// the offending field in a ConfigurationError, including for unknown and mistyped options.
import { describe, expect, it } from "vitest";
import {
  DEFAULT_ENGINE_CONFIG,
  DURATION_NS_MAX,
  ENGINE_CONFIG_OPTIONS,
  resolveEngineConfig,
  type EngineConfig,
} from "../../src/core/config/engineConfig.js";
import { ConfigurationError, PetrelError } from "../../src/core/errors.js";

const MS = 1_000_000;
const S = 1_000_000_000;
const KIB = 1024;
const MIB = 1024 * 1024;

function configError(overrides: Record<string, unknown>, option: string): ConfigurationError {
  let caught: unknown;
  try {
    resolveEngineConfig(overrides as Partial<EngineConfig>);
  } catch (error) {
    caught = error;
  }
  expect(caught, JSON.stringify(overrides)).toBeInstanceOf(ConfigurationError);
  const error = caught as ConfigurationError;
  expect(error.option, error.message).toBe(option);
  expect(error).toBeInstanceOf(PetrelError);
  expect(error.code).toBe("CONFIGURATION");
  expect(error.message).toContain(`'${option}'`);
  return error;
}

describe("DEFAULT_ENGINE_CONFIG", () => {
  it("equals PROTOCOL.md section 5, row by row", () => {
    expect(DEFAULT_ENGINE_CONFIG).toEqual({
      setupResendIntervalNs: 100 * MS,
      heartbeatIntervalNs: 100 * MS,
      publicationConnectionTimeoutNs: 5 * S,
      statusMessageIntervalNs: 200 * MS,
      imageLivenessTimeoutNs: 10 * S,
      publicationLingerNs: 5 * S,
      pendingSetupsTimeoutNs: 1 * S,
      unjoinedImageEvictionNs: 2 * S,
      nakUnicastDelayNs: 100_000,
      nakUnicastRetryDelayRatio: 100,
      nakMulticastMaxBackoffNs: 10 * MS,
      nakMulticastGroupSize: 10,
      retransmitUnicastDelayNs: 0,
      retransmitUnicastLingerNs: 10 * MS,
      maxRetransmitActions: 16,
      flowControlReceiverTimeoutNs: 5 * S,
      multicastFlowControl: "max",
      flowControlGroupTag: "-1",
      flowControlGroupMinSize: 0,
      initialReceiverWindowBytes: 128 * KIB,
      congestionControl: "static",
      cubicTcpMode: false,
      rttInitialNs: 100_000,
      rttMeasurementTimeoutNs: 10 * MS,
      rttMeasurementRepeatRttMultiple: 4,
      rttMeasurementIntervalMaxNs: 1 * S,
      socketRcvbufBytes: 128 * KIB,
      socketSndbufBytes: 0,
      termLengthBytes: 16 * MIB,
      ipcTermLengthBytes: 64 * MIB,
      mtuBytes: 1408,
      ipcMtuBytes: 1408,
      publicationTermWindowBytes: 0,
      reservedSessionIdLow: -1,
      reservedSessionIdHigh: 1000,
      multicastTtl: 0,
      reliableStream: true,
      termBufferSparse: false,
      tetherSubscriptions: true,
    });
  });

  it("re-NAKs after 10 ms by default (100 µs × 100)", () => {
    expect(DEFAULT_ENGINE_CONFIG.nakUnicastDelayNs * DEFAULT_ENGINE_CONFIG.nakUnicastRetryDelayRatio).toBe(10 * MS);
  });

  it("is frozen and valid", () => {
    expect(Object.isFrozen(DEFAULT_ENGINE_CONFIG)).toBe(true);
    expect(resolveEngineConfig()).toEqual(DEFAULT_ENGINE_CONFIG);
    expect(resolveEngineConfig({})).toEqual(DEFAULT_ENGINE_CONFIG);
    expect(ENGINE_CONFIG_OPTIONS).toEqual(Object.keys(DEFAULT_ENGINE_CONFIG));
  });
});

describe("resolveEngineConfig", () => {
  it("applies overrides, returns a frozen copy, and treats undefined as the default", () => {
    const config = resolveEngineConfig({ mtuBytes: 4096, termLengthBytes: 64 * KIB, heartbeatIntervalNs: 50 * MS });
    expect(config).toMatchObject({ mtuBytes: 4096, termLengthBytes: 64 * KIB, heartbeatIntervalNs: 50 * MS, setupResendIntervalNs: 100 * MS });
    expect(Object.isFrozen(config)).toBe(true);
    expect(resolveEngineConfig({ mtuBytes: undefined } as unknown as Partial<EngineConfig>).mtuBytes).toBe(1408);
  });

  it("refuses unknown options and non-objects", () => {
    expect(configError({ mtu: 1408 }, "mtu").message).toContain("unknown option");
    expect(() => resolveEngineConfig(null as unknown as Partial<EngineConfig>)).toThrow(ConfigurationError);
  });

  it("refuses wrong types, naming the field", () => {
    configError({ mtuBytes: "1408" }, "mtuBytes");
    configError({ heartbeatIntervalNs: 1.5 }, "heartbeatIntervalNs");
    configError({ heartbeatIntervalNs: Number.NaN }, "heartbeatIntervalNs");
    configError({ reliableStream: "true" }, "reliableStream");
    configError({ multicastFlowControl: "preferred" }, "multicastFlowControl");
    configError({ congestionControl: "reno" }, "congestionControl");
    configError({ cubicTcpMode: "true" }, "cubicTcpMode");
    configError({ cubicTcpMode: 1 }, "cubicTcpMode");
    configError({ flowControlGroupTag: 5 }, "flowControlGroupTag");
    configError({ flowControlGroupTag: "007" }, "flowControlGroupTag");
    configError({ flowControlGroupTag: "9223372036854775808" }, "flowControlGroupTag");
  });

  const positiveDurations = [
    "setupResendIntervalNs",
    "heartbeatIntervalNs",
    "publicationConnectionTimeoutNs",
    "statusMessageIntervalNs",
    "imageLivenessTimeoutNs",
    "pendingSetupsTimeoutNs",
    "unjoinedImageEvictionNs",
    "nakUnicastDelayNs",
    "nakMulticastMaxBackoffNs",
    "flowControlReceiverTimeoutNs",
    "rttInitialNs",
    "rttMeasurementTimeoutNs",
    "rttMeasurementIntervalMaxNs",
  ] as const;
  // Fields that another field must stay consistent with, so each bound can be reached alone.
  const atMin: Partial<Record<string, Partial<EngineConfig>>> = { rttMeasurementIntervalMaxNs: { rttMeasurementTimeoutNs: 1 } };
  const atMax: Partial<Record<string, Partial<EngineConfig>>> = {
    nakUnicastDelayNs: { nakUnicastRetryDelayRatio: 1 },
    rttMeasurementTimeoutNs: { rttMeasurementIntervalMaxNs: DURATION_NS_MAX },
  };
  it.each(positiveDurations)("%s: 1 ns .. one day", (option) => {
    expect(resolveEngineConfig({ [option]: 1, ...atMin[option] })[option]).toBe(1);
    expect(resolveEngineConfig({ [option]: DURATION_NS_MAX, ...atMax[option] })[option]).toBe(DURATION_NS_MAX);
    configError({ [option]: 0 }, option);
    configError({ [option]: DURATION_NS_MAX + 1 }, option);
    configError({ [option]: -1 }, option);
  });

  it.each(["publicationLingerNs", "retransmitUnicastDelayNs", "retransmitUnicastLingerNs"] as const)("%s: 0 .. one day", (option) => {
    expect(resolveEngineConfig({ [option]: 0 })[option]).toBe(0);
    expect(resolveEngineConfig({ [option]: DURATION_NS_MAX })[option]).toBe(DURATION_NS_MAX);
    configError({ [option]: -1 }, option);
    configError({ [option]: DURATION_NS_MAX + 1 }, option);
  });

  it.each(["mtuBytes", "ipcMtuBytes"] as const)("%s: a multiple of 32 in 64 .. 65504", (option) => {
    const roomy = { termLengthBytes: 1024 * KIB, initialReceiverWindowBytes: 64 * KIB, socketRcvbufBytes: 0 };
    expect(resolveEngineConfig({ [option]: 64 })[option]).toBe(64);
    expect(resolveEngineConfig({ [option]: 65504, ...roomy })[option]).toBe(65504);
    expect(configError({ [option]: 32 }, option).message).toContain("multiple of 32 between 64 and 65504");
    configError({ [option]: 65536, ...roomy }, option);
    configError({ [option]: 1409 }, option);
  });

  it.each(["termLengthBytes", "ipcTermLengthBytes"] as const)("%s: a power of two in 64 KiB .. 1 GiB", (option) => {
    expect(resolveEngineConfig({ [option]: 64 * KIB })[option]).toBe(64 * KIB);
    expect(resolveEngineConfig({ [option]: 1024 * MIB })[option]).toBe(1024 * MIB);
    configError({ [option]: 32 * KIB }, option);
    configError({ [option]: 2048 * MIB }, option);
    configError({ [option]: 96 * KIB }, option);
  });

  it("counts and ratios at their bounds", () => {
    const bounds: Array<[keyof EngineConfig, number, number]> = [
      ["nakUnicastRetryDelayRatio", 1, 1_000_000],
      ["nakMulticastGroupSize", 1, 2 ** 31 - 1],
      ["maxRetransmitActions", 1, 256],
      ["flowControlGroupMinSize", 0, 2 ** 31 - 1],
      ["rttMeasurementRepeatRttMultiple", 1, 1_000_000],
      ["multicastTtl", 0, 255],
      ["socketSndbufBytes", 0, 2 ** 31 - 1],
    ];
    for (const [option, min, max] of bounds) {
      expect(resolveEngineConfig({ [option]: min })[option]).toBe(min);
      expect(resolveEngineConfig({ [option]: max })[option]).toBe(max);
      configError({ [option]: min - 1 }, option);
      configError({ [option]: max + 1 }, option);
    }
  });

  it("receiver window: at least the mtu, at most 2^31 - 1, and within a non-zero SO_RCVBUF", () => {
    expect(resolveEngineConfig({ initialReceiverWindowBytes: 1408 }).initialReceiverWindowBytes).toBe(1408);
    expect(configError({ initialReceiverWindowBytes: 1407 }, "initialReceiverWindowBytes").message).toContain("mtuBytes");
    expect(resolveEngineConfig({ initialReceiverWindowBytes: 2 ** 31 - 1, socketRcvbufBytes: 0 }).initialReceiverWindowBytes).toBe(2 ** 31 - 1);
    configError({ initialReceiverWindowBytes: 2 ** 31, socketRcvbufBytes: 0 }, "initialReceiverWindowBytes");
    configError({ initialReceiverWindowBytes: 256 * KIB }, "socketRcvbufBytes");
    configError({ socketRcvbufBytes: 128 * KIB - 1 }, "socketRcvbufBytes");
    configError({ socketRcvbufBytes: 2 ** 31 }, "socketRcvbufBytes");
  });

  it("cross-field rules name the field to change", () => {
    expect(resolveEngineConfig({ reservedSessionIdLow: 5, reservedSessionIdHigh: 5 }).reservedSessionIdLow).toBe(5);
    configError({ reservedSessionIdLow: 6, reservedSessionIdHigh: 5 }, "reservedSessionIdHigh");
    configError({ reservedSessionIdLow: -(2 ** 31) - 1 }, "reservedSessionIdLow");
    configError({ reservedSessionIdHigh: 2 ** 31 }, "reservedSessionIdHigh");
    configError({ mtuBytes: 65504, termLengthBytes: 64 * KIB, initialReceiverWindowBytes: 64 * KIB, socketRcvbufBytes: 0 }, "mtuBytes");
    configError({ publicationTermWindowBytes: 1024 }, "publicationTermWindowBytes");
    expect(resolveEngineConfig({ publicationTermWindowBytes: 1408 }).publicationTermWindowBytes).toBe(1408);
    configError({ socketSndbufBytes: 1024 }, "socketSndbufBytes");
    configError({ rttMeasurementIntervalMaxNs: 5 * MS }, "rttMeasurementIntervalMaxNs");
    configError({ nakUnicastDelayNs: 1 * S, nakUnicastRetryDelayRatio: 100_000 }, "nakUnicastRetryDelayRatio");
  });

  it("writes a readable message", () => {
    expect(configError({ mtuBytes: 1000 }, "mtuBytes").message).toBe("engine option 'mtuBytes' = 1000: must be a multiple of 32 between 64 and 65504");
  });
});
