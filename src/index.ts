// petrel: the client and the types a service uses most. The engine, the simulator, the drivers
// and the Effect shell are petrel/core, petrel/sim, petrel/drivers and petrel/effect.
export * from "./client/index.js";
export { NOT_CONNECTED, BACK_PRESSURED, ADMIN_ACTION, CLOSED, MAX_POSITION_EXCEEDED } from "./core/engine/networkPublication.js";
export { Counter } from "./core/engine/counters.js";
export type { MessageHandler } from "./core/engine/subscription.js";
export type { FragmentHeader } from "./core/logbuffer/fragmentHeader.js";
export type { RandomSource } from "./core/random.js";
export type { EngineConfig } from "./core/config/engineConfig.js";
export { PetrelError, ChannelUriError } from "./core/errors.js";
export { InvalidArgumentError, EngineUsageError, UnsupportedChannelError } from "./core/engine/engineErrors.js";
export { DriverError, SlotTooSmallError } from "./drivers/driverError.js";
export type { SocketsDriverOptions } from "./drivers/socketsDriver.js";
