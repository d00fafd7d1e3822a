// Strategies of the Petrel core, each behind a narrow interface and unit-tested alone with time
// as an argument: feedback delay, retransmit handling, the NAK timer, flow control, congestion
// control, and the timer table.
export * from "./timers.js";
export * from "./feedbackDelay.js";
export * from "./retransmitHandler.js";
export * from "./nakTimer.js";
export * from "./flowControl.js";
export * from "./unicastFlowControl.js";
export * from "./maxMulticastFlowControl.js";
export * from "./minMulticastFlowControl.js";
export * from "./taggedMulticastFlowControl.js";
export * from "./congestionControl.js";
export * from "./staticWindowCongestionControl.js";
export * from "./cubicCongestionControl.js";
export * from "./delayBasedCongestionControl.js";
export { StrategyAssertionError } from "./assert.js";
