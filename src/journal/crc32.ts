// CRC-32 (IEEE, zlib's), once per journal block and per file header. Node's zlib.crc32 (native,
// Node >= 20.15) when present, else a table-driven fallback that gives the same values.
import * as zlib from "node:zlib";

type Crc32 = (data: Uint8Array, value?: number) => number;

const nativeCrc32 = (zlib as unknown as { crc32?: Crc32 }).crc32;

let table: Uint32Array | undefined;

function tableCrc32(data: Uint8Array, value: number): number {
  if (table === undefined) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let crc = (value ^ 0xffffffff) >>> 0;
  for (let i = 0; i < data.length; i++) crc = table[(crc ^ data[i]!) & 255]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** CRC-32 of `bytes[offset, offset + length)`, continuing from `value` (the CRC so far, 0 to start). */
export function crc32(bytes: Uint8Array, offset: number, length: number, value = 0): number {
  const data = bytes.subarray(offset, offset + length);
  return nativeCrc32 !== undefined ? nativeCrc32(data, value) >>> 0 : tableCrc32(data, value);
}
