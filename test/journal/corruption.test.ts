// Goal: a damaged journal is refused cleanly, never misread. Property-based (fast-check) over a
// journal of random records spread over several blocks and two segments:
// - any single flipped bit makes reading it fail with a JournalFormatError that names the file,
//   or (a flipped block length that now runs past the end of the last segment) read as a journal
//   cut short (`truncatedTail`) whose records are a prefix of the original's: never a wrong record;
// - a journal cut at any length reads as a prefix of the original's records (`truncatedTail` unless
//   the cut falls on a block boundary), or, cut inside its file header, is "not-a-journal".
// A failing case prints fast-check's seed and path, which replay it.
import { fc, test } from "@fast-check/vitest";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect } from "vitest";
import { crc32 } from "../../src/journal/crc32.js";
import { JournalFormatError, JournalReader, JournalWriter, RecordType, segmentPath } from "../../src/journal/index.js";
import { Prng } from "../../src/sim/prng.js";

const dir = mkdtempSync(join(tmpdir(), "petrel-journal-corruption-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const original = join(dir, "original.pjournal");
let segments: Buffer[] = [];
let records: string[] = [];

/** Every record of a journal as "type:length:crc" (a JournalFormatError propagates). */
function readAll(path: string): { records: string[]; truncatedTail: boolean } {
  const reader = new JournalReader(path);
  const out: string[] = [];
  while (reader.next()) out.push(`${reader.type}:${reader.bodyLength}:${crc32(reader.bytes, reader.bodyOffset, reader.bodyLength)}`);
  return { records: out, truncatedTail: reader.truncatedTail };
}

/** Writes the original's segments with `change` applied to segment `index`. */
function damaged(name: string, index: number, change: (bytes: Buffer) => Buffer): string {
  const path = join(dir, name);
  for (let i = 0; i < segments.length; i++) writeFileSync(segmentPath(path, i), i === index ? change(Buffer.from(segments[i]!)) : segments[i]!);
  return path;
}

function expectPrefix(read: string[]): void {
  expect(read.length).toBeLessThanOrEqual(records.length);
  expect(read).toEqual(records.slice(0, read.length));
}

beforeAll(() => {
  // ~600 KB of records of 0..3000 random bytes, blocks of 128 KiB, segments of 400 KB.
  const prng = new Prng(0x0c0ffee);
  const writer = new JournalWriter({ path: original, blockBytes: 128 * 1024, segmentBytes: 400_000 });
  for (let i = 0; i < 400; i++) {
    const length = prng.nextUint32() % 3000;
    const at = writer.begin(RecordType.DATAGRAM, length);
    for (let k = 0; k < length; k++) writer.bytes[at + k] = prng.nextUint32() & 0xff;
  }
  writer.end("closed");
  for (let i = 0; ; i++) {
    try {
      segments.push(readFileSync(segmentPath(original, i)));
    } catch {
      break;
    }
  }
  expect(segments.length).toBe(2);
  records = readAll(original).records;
  expect(records.length).toBe(401);
});

describe("a damaged journal", () => {
  test.prop([fc.nat({ max: 1 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), fc.nat({ max: 7 })], { numRuns: 150 })(
    "a flipped bit is refused with a JournalFormatError naming the file, or reads as a cut-short prefix",
    (segment, where, bit) => {
      const path = damaged("flipped.pjournal", segment, (bytes) => {
        const at = Math.floor(where * bytes.length);
        bytes[at] = bytes[at]! ^ (1 << bit);
        return bytes;
      });
      let read: { records: string[]; truncatedTail: boolean } | undefined;
      try {
        read = readAll(path);
      } catch (error) {
        expect(error).toBeInstanceOf(JournalFormatError);
        expect(["checksum", "not-a-journal", "version", "malformed", "truncated"]).toContain((error as JournalFormatError).reason);
        expect((error as JournalFormatError).file).toBe(segmentPath(path, segment));
        return;
      }
      // Not refused: only a block length grown past the end of the last segment reads so.
      expect(segment).toBe(segments.length - 1);
      expect(read.truncatedTail).toBe(true);
      expectPrefix(read.records);
      expect(read.records.length).toBeLessThan(records.length);
    },
  );

  test.prop([fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true })], { numRuns: 150 })(
    "a journal cut at any length reads as a prefix of its records, or is not a journal",
    (where) => {
      const last = segments.length - 1;
      const path = damaged("cut.pjournal", last, (bytes) => bytes.subarray(0, Math.floor(where * bytes.length)));
      const cutAt = Math.floor(where * segments[last]!.length);
      if (cutAt < 32) {
        expect(() => readAll(path)).toThrowError(expect.objectContaining({ name: "JournalFormatError", reason: "not-a-journal" }));
        return;
      }
      const read = readAll(path);
      expectPrefix(read.records);
      expect(read.records.length).toBeLessThan(records.length);
    },
  );
});
