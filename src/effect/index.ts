// petrel/effect: the Effect shell (a Layer that provides a live engine, typed failures).
export * from "../drivers/effect.js";
