// Petrel core: the sans-IO engine. No networking code, no clock, no randomness of its own:
// time (nowNs) and a RandomSource come in from outside; datagrams go in through
// Engine.handleDatagram and come out of Engine.pollTransmit.
export * from "./address.js";
export * from "./random.js";
export * from "./transmitBatch.js";
export * from "./errors.js";
export * from "./protocol/index.js";
export * from "./logbuffer/index.js";
export * from "./engine/index.js";
export { parseChannelUri, formatChannelUri, type ChannelUri } from "./channel/channelUri.js";
export { DEFAULT_ENGINE_CONFIG, resolveEngineConfig, type EngineConfig } from "./config/engineConfig.js";
