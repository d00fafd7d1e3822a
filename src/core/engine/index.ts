export * from "./counters.js";
export * from "./engine.js";
export * from "./engineErrors.js";
export * from "./networkPublication.js";
export * from "./publication.js";
export * from "./publicationImage.js";
export * from "./subscription.js";
export * from "./ipcPublication.js";
export { IMAGE_REJECTED_ERROR_CODE, type PublicationErrorFrame } from "./errorFrames.js";
