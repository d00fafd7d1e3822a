// Goal: the cool-down table (Aeron's ON_COOL_DOWN sessions) is bounded whatever removals a hostile
// network causes: entries expire, a stream's entries go with its last subscription, and past
// MAX_COOL_DOWNS live entries a new session is simply not held back.
import { describe, expect, it } from "vitest";
import { MAX_COOL_DOWNS, SessionCoolDowns } from "../../src/core/engine/sessionCoolDowns.js";

describe("SessionCoolDowns", () => {
  it("expires entries, forgets a stream, and never holds more than MAX_COOL_DOWNS", () => {
    const table = new SessionCoolDowns();
    table.add(0, 1, 7, 100);
    expect(table.isCoolingDown(99, 1, 7)).toBe(true);
    expect(table.isCoolingDown(99, 2, 7)).toBe(false);
    expect(table.isCoolingDown(100, 1, 7)).toBe(false);
    expect(table.size).toBe(0);
    for (let i = 0; i < MAX_COOL_DOWNS + 100; i++) table.add(0, 3, i, Infinity);
    expect(table.size).toBe(MAX_COOL_DOWNS);
    expect(table.isCoolingDown(1e12, 3, MAX_COOL_DOWNS + 50)).toBe(false);
    expect(table.isCoolingDown(1e12, 3, 0)).toBe(true);
    table.forgetStream(3);
    expect(table.size).toBe(0);
    // Expired entries make room for new ones.
    for (let i = 0; i < MAX_COOL_DOWNS; i++) table.add(0, 4, i, 10);
    table.add(20, 4, -1, Infinity);
    expect(table.isCoolingDown(20, 4, -1)).toBe(true);
    expect(table.size).toBe(1);
  });
});
