// Log buffers: the terms publications append to and images rebuild, read, scan and assemble.
export * from "./logBufferDescriptor.js";
export * from "./logBuffers.js";
export * from "./imageLog.js";
export * from "./termAppender.js";
export * from "./exclusiveLogAppender.js";
export * from "./fragmentHeader.js";
export * from "./termReader.js";
export * from "./termRebuilder.js";
export * from "./termScanner.js";
export * from "./termGapScanner.js";
export * from "./fragmentAssembler.js";
export * from "./controlledFragmentAssembler.js";
export { packAligned, unpackAligned, unpackHigh, PACK_HIGH_MAX } from "./packing.js";
