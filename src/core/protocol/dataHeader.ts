// Layout of the DATA / PAD / heartbeat frame header (PROTOCOL.md section 3): the common 8-byte
// header, then termOffset, sessionId, streamId, termId and an application reservedValue. The same
// 32-byte header sits in front of every fragment in a term buffer and on the wire.

export const DATA_TERM_OFFSET_OFFSET = 8;
export const DATA_SESSION_ID_OFFSET = 12;
export const DATA_STREAM_ID_OFFSET = 16;
export const DATA_TERM_ID_OFFSET = 20;
export const DATA_RESERVED_VALUE_OFFSET = 24;
/** Length of a data header; the payload follows it. */
export const DATA_HEADER_LENGTH = 32;

/** Flag: first fragment of a message. */
export const BEGIN_FLAG = 0x80;
/** Flag: last fragment of a message. */
export const END_FLAG = 0x40;
/** Flag: end of stream (on a heartbeat). */
export const EOS_FLAG = 0x20;
/** BEGIN | END: an unfragmented message. */
export const UNFRAGMENTED = BEGIN_FLAG | END_FLAG;
