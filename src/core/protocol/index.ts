// The wire codecs: frame layouts, flyweights, encoders and the datagram walker.
export * from "./frameHeader.js";
export * from "./dataHeader.js";
export * from "./int64.js";
export * from "./frameFlyweight.js";
export * from "./dataFrame.js";
export * from "./setupFrame.js";
export * from "./statusMessageFrame.js";
export * from "./nakFrame.js";
export * from "./rttmFrame.js";
export * from "./errorFrame.js";
export * from "./resolutionFrame.js";
export * from "./responseSetupFrame.js";
export * from "./datagramWalker.js";
