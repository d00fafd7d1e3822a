// The client a service embeds (the package's main entry, `import { Petrel } from "petrel"`):
// Petrel.launch() starts an engine, a sockets driver and the duty cycle; publications and
// subscriptions are promises, images and errors are events, close drains.
export { Petrel, type PetrelOptions, type PetrelEvents, type AddPublicationOptions, type CloseReport, type ClientIdleStrategy } from "./petrel.js";
export { PetrelPublication, type DrainReport, type DrainOutcome } from "./publication.js";
export { PetrelSubscription, type Message, type ImageEvent, type SubscriptionOptions } from "./subscription.js";
export { BindError, ClosedError, type BindFailure } from "./errors.js";
export { EntropyRandom } from "./entropyRandom.js";
