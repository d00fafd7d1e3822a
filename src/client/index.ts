// The client a service embeds (the package's main entry, `import { Petrel } from "petrel"`):
// Petrel.launch() starts an engine, a sockets driver and the duty cycle (with `worker`, all three
// in a worker thread); publications and subscriptions are promises, images and errors are events,
// close drains.
export { Petrel, type PetrelOptions, type PetrelEvents, type PublicationErrorEvent, type AddPublicationOptions, type CloseReport, type ClientIdleStrategy } from "./petrel.js";
export type { ClientMode } from "./backend.js";
export type { WorkerLaunchOptions } from "./workerBackend.js";
export { PetrelPublication, type DrainReport, type DrainOutcome } from "./publication.js";
export { PetrelSubscription, type Message, type ImageEvent, type SubscriptionOptions } from "./subscription.js";
export { BindError, ClosedError, LaunchOptionError, WorkerModeError, type BindFailure } from "./errors.js";
export type { ClientJournalOptions } from "./clientJournal.js";
export { JournalUsageError } from "../journal/format.js";
export { EntropyRandom } from "./entropyRandom.js";
export { ChannelEndpointStatus, channelStatusName } from "./channelStatus.js";
// What the Aeron-style API needs in hand, re-exported so that `import ... from "petrel"` suffices.
export { ControlledAction } from "../core/logbuffer/controlledFragmentAssembler.js";
export { BufferClaim, DirectBufferVector, type BufferVector, type ReservedValueSupplier } from "../core/logbuffer/termAppender.js";
export type { BlockHandler, ControlledMessageHandler, Image, MessageHandler } from "../core/engine/subscription.js";
export { CountersReader, CounterTypeId, type CounterConsumer } from "../core/engine/countersReader.js";
