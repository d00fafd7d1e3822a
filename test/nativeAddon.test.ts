// Goal: the native addon builds (scripts/build-native.mjs, cmake), loads under this Node, speaks Node-API 8, and sees a
// Uint8Array's memory without a copy. Where the addon is absent the loader returns a typed error
// instead of throwing; CI sets PETREL_REQUIRE_NATIVE=1 so that a missing addon fails there.
import { describe, expect, it } from "vitest";
import { NativeAddonUnavailableError, tryLoadNativeAddon } from "../src/drivers/nativeAddon.js";

const required = process.env["PETREL_REQUIRE_NATIVE"] === "1";

describe("native addon", () => {
  it("loads, or explains with a typed error why not", () => {
    const addon = tryLoadNativeAddon();
    if (addon instanceof NativeAddonUnavailableError) {
      expect(required, addon.message).toBe(false);
      expect(addon.message).toMatch(/npm run build:native/);
      return;
    }
    expect(addon.buildInfo().napiVersion).toBe(8);
    expect(addon.byteSum(new Uint8Array([1, 2, 3, 250]))).toBe(256);
    expect(() => addon.byteSum(new Float64Array(2) as unknown as Uint8Array)).toThrow(/Uint8Array/);
  });
});
