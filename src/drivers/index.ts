// The drivers: what moves an Engine's datagrams (see docs/DRIVERS.md).
export type { Driver, DriverKind, DriverOptions, DriverStats, OpenedEndpoint } from "./driver.js";
export { DriverError, SlotTooSmallError } from "./driverError.js";
export { BindError, type BindFailure } from "./bindError.js";
export { DEFAULT_RECEIVE_SLOT_BYTES, DEFAULT_TRANSMIT_SLOT_BYTES, MAX_UDP_PAYLOAD_BYTES } from "./slots.js";
export { ReceiveBatch } from "./receiveBatch.js";
export { NativeSocketsDriver } from "./nativeSocketsDriver.js";
export { DgramDriver } from "./dgramDriver.js";
export { createSocketsDriver, type SocketsDriverOptions } from "./socketsDriver.js";
export { UringDriver, UringUnavailableError, createUringDriver, type UringDriverOptions, type UringFeatures, type UringStats } from "./uringDriver.js";
export { EngineRuntime, monotonicClockNs, type DatagramFilter, type RuntimeJournal, type RuntimeOptions, type RuntimeCounters } from "./runtime.js";
export {
  BackoffIdleStrategy,
  BusySpinIdleStrategy,
  ParkingIdleStrategy,
  YieldingIdleStrategy,
  idleStrategy,
  type BackoffOptions,
  type IdleAgent,
  type IdleStrategy,
  type IdleStrategyName,
} from "./idleStrategy.js";
export { loadNativeAddon, tryLoadNativeAddon, NativeAddonUnavailableError } from "./nativeAddon.js";
export { acquirePetrelNode, PetrelNode, petrelNodeLayer, type PetrelNodeConfig, type PetrelNodeError, type PetrelNodeShape } from "./effect.js";
export { AfPacketFramePort, createAfPacketDriver, FanoutMode, type AfPacketDriverOptions, type AfPacketPortOptions, type AfPacketStats } from "./afPacketDriver.js";
export { createDpdkDriver, DpdkFramePort, dpdkVdevEal, dpdkVdevPort, type DpdkDriverOptions, type DpdkOffloads, type DpdkPortOptions, type DpdkStats, type DpdkVirtualPmd } from "./dpdkDriver.js";
export { PcapFramePort, PcapTapDriver, type PcapTapOptions } from "./pcapTap.js";
export * as netstack from "./netstack/index.js";
export { WorkerClient, WorkerPublication, WorkerSubscription, WorkerImage, type WorkerClientOptions, type WorkerCloseReport, type WorkerSubscriptionOptions } from "./worker/workerClient.js";
export type { WorkerDriverOptions, WorkerEngineSettings } from "./worker/shared.js";
export { resolveLocalInterface } from "./interfaces.js";
export { StatPublisher, defaultStatDir, readStatDir, type StatOptions, type StatSnapshot } from "./stat.js";
