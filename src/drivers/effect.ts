// The Effect shell around a live engine: an Engine, a sockets driver and the runtime agent acquired
// together in a Scope and released with it (engine closed, endpoints closed, driver disposed), and
// a Layer that provides them as the PetrelNode service. Effect owns lifecycle and typed failure
// (DriverError, NativeAddonUnavailableError); it never runs inside the duty cycle, which stays
// plain doWork() calls (or runtime.start()).
import { Context, Effect, Layer, type Scope } from "effect";
import { Engine, type EngineOptions } from "../core/engine/engine.js";
import { DriverError } from "./driverError.js";
import { NativeAddonUnavailableError } from "./nativeAddon.js";
import { EngineRuntime, type RuntimeOptions } from "./runtime.js";
import { createSocketsDriver, type SocketsDriverOptions } from "./socketsDriver.js";

export interface PetrelNodeConfig {
  readonly engine: EngineOptions;
  readonly driver?: SocketsDriverOptions;
  readonly runtime?: RuntimeOptions;
  /** Run the runtime's start() loop while the scope is open (default: false; call doWork yourself). */
  readonly startLoop?: boolean;
}

export interface PetrelNodeShape {
  readonly engine: Engine;
  readonly runtime: EngineRuntime;
  /**
   * One duty cycle as an Effect: a socket that cannot be opened (a taken port) fails it with a
   * DriverError in the error channel, as does any other driver failure.
   */
  readonly doWork: Effect.Effect<number, PetrelNodeError>;
  /**
   * With `startLoop`: completes when the loop stops, and fails with the DriverError that ended it
   * (the loop's rejection is always handled, so it never becomes an unhandled rejection). Without
   * `startLoop` it completes at once.
   */
  readonly loopExit: Effect.Effect<void, PetrelNodeError>;
}

export class PetrelNode extends Context.Service<PetrelNode, PetrelNodeShape>()("petrel/PetrelNode") {}

export type PetrelNodeError = DriverError | NativeAddonUnavailableError;

function toNodeError(error: unknown): PetrelNodeError {
  if (error instanceof DriverError || error instanceof NativeAddonUnavailableError) return error;
  return new DriverError("EUNKNOWN", 0, "open", error instanceof Error ? error.message : String(error));
}

/** Acquires an engine on a sockets driver in the current Scope; the Scope's end releases it. */
export function acquirePetrelNode(config: PetrelNodeConfig): Effect.Effect<PetrelNodeShape, PetrelNodeError, Scope.Scope> {
  return Effect.acquireRelease(
    Effect.try({
      try: (): PetrelNodeShape => {
        const engine = new Engine(config.engine);
        const runtime = new EngineRuntime(engine, createSocketsDriver(config.driver ?? {}), config.runtime ?? {});
        // The loop's outcome, settled either way: a failed cycle is held as a value for loopExit.
        const outcome: Promise<PetrelNodeError | undefined> = config.startLoop === true
          ? runtime.start().then(() => undefined, (error: unknown) => toNodeError(error))
          : Promise.resolve(undefined);
        const doWork = Effect.try({ try: () => runtime.doWork(), catch: toNodeError });
        const loopExit = Effect.flatMap(Effect.promise(() => outcome), (error) => (error === undefined ? Effect.void : Effect.fail(error)));
        return { engine, runtime, doWork, loopExit };
      },
      catch: toNodeError,
    }),
    ({ engine, runtime }) =>
      Effect.promise(async () => {
        await runtime.stop();
        engine.close();
        // One last cycle hands the close events to the driver; then every socket goes.
        runtime.doWork();
        await runtime.close();
      }),
  );
}

/** A Layer providing PetrelNode, released when the layer's scope closes. */
export function petrelNodeLayer(config: PetrelNodeConfig): Layer.Layer<PetrelNode, PetrelNodeError> {
  return Layer.effect(PetrelNode, acquirePetrelNode(config));
}
