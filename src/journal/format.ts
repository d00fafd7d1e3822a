// The journal's binary format (docs/JOURNAL.md is its description; keep the two in step).
//
// A journal is one or more segment files: `<path>`, then `<path>.1`, `<path>.2`, ... Each segment
// starts with a 32-byte file header; then blocks, each a 24-byte block header and a payload of
// whole records. Every block carries the CRC-32 of its payload, the file header its own. All
// numbers are little-endian.
//
// A record is a 32-bit word, type in the low 8 bits and body length in the high 24, then the body,
// then zero padding to the next multiple of 4 bytes (records start 4-byte aligned).
// Records are written after the engine call they describe; what the engine did during that call
// (random draws, image events, a transport check that failed) is written before it, in order.

/** "PETRELJ1" as bytes: identifies a Petrel journal segment. */
export const FILE_MAGIC = Uint8Array.of(0x50, 0x45, 0x54, 0x52, 0x45, 0x4c, 0x4a, 0x31);
export const FORMAT_VERSION = 1;
export const FILE_HEADER_BYTES = 32;
// File header: magic[8], version u16 @8, header length u16 @10, segment index u32 @12,
// journal id u32 @16, flags u32 @20 (bit 0: offers recorded as length + hash), reserved u32 @24,
// CRC-32 of bytes [0, 28) @28.
export const FILE_FLAG_PAYLOAD_HASH = 1;

/** "PJBK" as a little-endian u32. */
export const BLOCK_MAGIC = 0x4b424a50;
export const BLOCK_HEADER_BYTES = 24;
// Block header: magic u32 @0, payload bytes u32 @4, record count u32 @8, CRC-32 u32 @12 (over
// header bytes [0, 12) and [16, 24), then the payload), index of the block's first record f64 @16.

export const RECORD_HEADER_BYTES = 4;
export const RECORD_BODY_MAX = 0xffffff;

export const RecordType = {
  /** JSON: the engine's options, the payload mode, the recorder's version. First record of a journal. */
  ENGINE: 1,
  /** nowNs f64, fromIp u32, fromPort u16, pad u16, endpointId i32, then the datagram's bytes. */
  DATAGRAM: 2,
  /** nowNs f64: handleTimeout(nowNs). */
  TIMEOUT: 3,
  /**
   * nowNs f64, capacity u16, count u16, slotLength u32; then per datagram: length u16, port u16,
   * ip u32, endpointId i32, hash u32 (16 bytes; hash.ts).
   */
  TRANSMIT: 4,
  /** JSON: an endpoint event the runtime polled ({type: "open", endpoint} or {type: "close", endpointId}). */
  ENDPOINT_EVENT: 5,
  /** u32: a draw of RandomSource.nextUint32 during the next call. */
  RANDOM_U32: 7,
  /** f64: a draw of RandomSource.nextDouble during the next call. */
  RANDOM_F64: 8,
  /** JSON {h, channel, streamId, exclusive, sessionId} or {h, channel, streamId, exclusive, error}. */
  ADD_PUBLICATION: 10,
  /** JSON {h, channel, streamId} or {..., error}. */
  ADD_SUBSCRIPTION: 11,
  /** JSON {h}. */
  CLOSE_PUBLICATION: 12,
  /** JSON {h}. */
  CLOSE_SUBSCRIPTION: 13,
  /** JSON {}: Engine.close(). */
  ENGINE_CLOSE: 14,
  /** JSON {h, channel} or {..., error}. */
  ADD_DESTINATION: 15,
  /** JSON {h, channel} or {..., error}. */
  REMOVE_DESTINATION: 16,
  /** JSON {channel, mtuBytes, role, name, message}: the runtime's transport check refused an add. */
  TRANSPORT_CHECK_FAILED: 17,
  /** JSON {h, sessionId, streamId, joinPosition}: onAvailableImage during the next call. */
  IMAGE_AVAILABLE: 18,
  /** JSON {h, sessionId, streamId}: onUnavailableImage during the next call. */
  IMAGE_UNAVAILABLE: 19,
  /**
   * Offers in a row on one publication: handle u16, mode u8 (0 payload, 1 hash), pad u8, count u32,
   * result of the last f64; then per offer its length u32 and its payload (zero-padded to 4 bytes)
   * or, in hash mode, its hash u32. Every offer but the last returned a position (> 0); the last
   * returned `result` (a position, ADMIN_ACTION or MAX_POSITION_EXCEEDED).
   */
  OFFERS: 20,
  /** handle u16, pad u16, result f64, length u32, count u32: `count` failed offers in a row (same result). */
  OFFER_REPEAT: 21,
  /** handle u16, pad u16, fragmentLimit u32, fragments u32, digest u32 (of the log ranges the poll consumed). */
  POLL: 22,
  /** handle u16, pad u16, fragmentLimit u32, count u32: `count` polls in a row that read nothing. */
  POLL_EMPTY: 23,
  /** JSON {reason: "closed" | "limit", records}: the journal's last record. */
  END: 24,
  /** JSON {name, ip}: the engine's resolveHost answered during the next call. */
  RESOLVE: 25,
  /**
   * Worker mode: the application appended to a publication's shared log. handle u16, pad u16,
   * from f64, to f64, then the log bytes [from, to) (one term at most, at most APPEND_CHUNK_BYTES;
   * a longer move is several records). The producer position moves from `from` to `to`.
   */
  APPEND: 26,
  /**
   * Worker mode: the application read an image of a subscription. handle u16 (subscription),
   * image index u16 (in the subscription's images), sessionId i32, from f64, to f64, fragments u32
   * and messages u32 (DATA frames, and those ending a message, in [from, to)), digest u32 (of the
   * log bytes [from, to), as a POLL's). The image's subscriber position moves to `to`.
   */
  SUBSCRIBER_POSITION: 27,
} as const;

/** The longest run of log bytes one APPEND record carries (a block holds at least 128 KiB). */
export const APPEND_CHUNK_BYTES = 64 * 1024;

export type RecordTypeName = keyof typeof RecordType;

const NAMES = new Map<number, string>(Object.entries(RecordType).map(([name, value]) => [value, name]));

export function recordTypeName(type: number): string {
  return NAMES.get(type) ?? `unknown type ${type}`;
}

/** Offers whose results say nothing was appended and nothing changed: runs of these are coalesced. */
export function isInertOfferResult(result: number): boolean {
  // NOT_CONNECTED (-1), BACK_PRESSURED (-2), CLOSED (-4). ADMIN_ACTION (-3) pads the term.
  return result === -1 || result === -2 || result === -4;
}

/** The segment file that follows `path` (segment 0 is `path` itself). */
export function segmentPath(path: string, index: number): string {
  return index === 0 ? path : `${path}.${index}`;
}

/** A journal that cannot be read: missing, not a journal, another version, corrupt. Names the file. */
export class JournalFormatError extends Error {
  override readonly name = "JournalFormatError";
  constructor(readonly file: string, readonly reason: "missing" | "not-a-journal" | "version" | "checksum" | "truncated" | "malformed", message: string) {
    super(`${file}: ${message}`);
  }
}

/** The journal API used in a way it cannot record (a command from inside a poll handler, ...). */
export class JournalUsageError extends Error {
  override readonly name = "JournalUsageError";
}
