// The client as Effects: a Layer provides a launched Petrel (closed, and drained, when the layer's
// scope ends); adding a publication or subscription, offering, polling and closing are Effects
// whose expected failures are typed in the error channel (a bind failure is a BindError there,
// never a defect); a subscription's messages are a Stream. Effect stays outside the duty cycle,
// which the client runs as before.
//
//   const program = Effect.gen(function* () {
//     const subscription = yield* addSubscription(channel, 1001);   // fails with BindError
//     const publication = yield* addPublication(channel, 1001);
//     yield* offer(publication, bytes).pipe(Effect.retry({ while: (e) => e.retryable, schedule: Schedule.spaced("1 millis") }));
//     return yield* Stream.runCollect(Stream.take(messages(subscription), 1));
//   });
//   await Effect.runPromise(program.pipe(Effect.provide(petrelLayer())));
import { Context, Effect, Layer, Stream, type Scope } from "effect";
import { Petrel, type AddPublicationOptions, type CloseReport, type PetrelOptions } from "../client/petrel.js";
import type { DrainReport, PetrelPublication } from "../client/publication.js";
import type { Message, PetrelSubscription, SubscriptionOptions } from "../client/subscription.js";
import { ClosedError } from "../client/errors.js";
import { PetrelError } from "../core/errors.js";
import { ADMIN_ACTION, BACK_PRESSURED, CLOSED, MAX_POSITION_EXCEEDED, NOT_CONNECTED } from "../core/engine/networkPublication.js";
import type { MessageHandler } from "../core/engine/subscription.js";
import { DriverError } from "../drivers/driverError.js";

/** The launched client, provided by petrelLayer. */
export class PetrelClient extends Context.Service<PetrelClient, Petrel>()("petrel/PetrelClient") {}

/**
 * What the client's Effects fail with: PetrelError (BindError, ClosedError, ChannelUriError,
 * InvalidArgumentError, OfferRefused, ...) or DriverError (SlotTooSmallError, a driver that cannot
 * start). Anything else thrown is a bug and stays a defect.
 */
export type ClientError = PetrelError | DriverError;

/** An offer the log refused: Aeron's code, and whether offering again later can succeed. */
export class OfferRefused extends PetrelError {
  override readonly name = "OfferRefused";
  /** NOT_CONNECTED, BACK_PRESSURED and ADMIN_ACTION pass; CLOSED and MAX_POSITION_EXCEEDED do not. */
  readonly retryable: boolean;

  constructor(readonly result: number, channel: string, streamId: number) {
    const code = result === NOT_CONNECTED ? "NOT_CONNECTED" : result === BACK_PRESSURED ? "BACK_PRESSURED"
      : result === ADMIN_ACTION ? "ADMIN_ACTION" : result === CLOSED ? "CLOSED" : result === MAX_POSITION_EXCEEDED ? "MAX_POSITION_EXCEEDED" : "UNKNOWN";
    super(code, `offer on ${channel} (stream ${streamId}) refused: ${code} (${result})`);
    this.retryable = result === NOT_CONNECTED || result === BACK_PRESSURED || result === ADMIN_ACTION;
  }
}

function isClientError(error: unknown): error is ClientError {
  return error instanceof PetrelError || error instanceof DriverError;
}

/** A promise-returning client call as an Effect: client errors typed, anything else a defect. */
function attempt<A>(call: () => Promise<A>): Effect.Effect<A, ClientError> {
  return Effect.tryPromise({ try: call, catch: (error) => error }).pipe(
    Effect.catch((error: unknown) => (isClientError(error) ? Effect.fail(error) : Effect.die(error))),
  );
}

/** Launches a client in the current scope; the scope's end closes it (and drains). */
export function launchScoped(options: PetrelOptions = {}): Effect.Effect<Petrel, ClientError, Scope.Scope> {
  return Effect.acquireRelease(attempt(() => Petrel.launch(options)), (petrel) => Effect.promise(() => petrel.close()));
}

/** A Layer providing a launched client; released (drained) when the layer's scope closes. */
export function petrelLayer(options: PetrelOptions = {}): Layer.Layer<PetrelClient, ClientError> {
  return Layer.effect(PetrelClient, launchScoped(options));
}

/** Resolves once bound; fails with BindError (or ChannelUriError, ClosedError...). */
export function addPublication(channel: string, streamId: number, options: AddPublicationOptions = {}): Effect.Effect<PetrelPublication, ClientError, PetrelClient> {
  return Effect.flatMap(Effect.service(PetrelClient), (petrel) => attempt(() => petrel.addPublication(channel, streamId, options)));
}

/** Resolves once bound; fails with BindError naming channel, address and errno. */
export function addSubscription(channel: string, streamId: number, options: SubscriptionOptions = {}): Effect.Effect<PetrelSubscription, ClientError, PetrelClient> {
  return Effect.flatMap(Effect.service(PetrelClient), (petrel) => attempt(() => petrel.addSubscription(channel, streamId, options)));
}

/** Offers a message: the new position, or OfferRefused (retry while `retryable`). */
export function offer(publication: PetrelPublication, buffer: Uint8Array, offset = 0, length = buffer.length - offset): Effect.Effect<number, ClientError> {
  return Effect.suspend(() => {
    let result: number;
    try {
      result = publication.offer(buffer, offset, length);
    } catch (error) {
      return isClientError(error) ? Effect.fail(error) : Effect.die(error);
    }
    return result > 0 ? Effect.succeed(result) : Effect.fail(new OfferRefused(result, publication.channel, publication.streamId));
  });
}

/** Reads up to fragmentLimit fragments in place; fails with ClosedError on a closed subscription. */
export function poll(subscription: PetrelSubscription, handler: MessageHandler, fragmentLimit: number): Effect.Effect<number, ClientError> {
  return Effect.suspend(() => {
    if (subscription.isClosed) return Effect.fail(new ClosedError(`subscription to ${subscription.channel} stream ${subscription.streamId} is closed`));
    try {
      return Effect.succeed(subscription.poll(handler, fragmentLimit));
    } catch (error) {
      return isClientError(error) ? Effect.fail(error) : Effect.die(error);
    }
  });
}

/** Closes and drains a publication (the report says whether it was acknowledged or timed out). */
export function closePublication(publication: PetrelPublication, options: { timeoutMs?: number } = {}): Effect.Effect<DrainReport> {
  return Effect.promise(() => publication.close(options));
}

/** Closes a subscription (a Stream of its messages gets what had arrived, then ends). */
export function closeSubscription(subscription: PetrelSubscription): Effect.Effect<void> {
  return Effect.promise(() => subscription.close());
}

/** Closes the provided client early (the layer's release then does nothing more). */
export const closeClient: Effect.Effect<CloseReport, never, PetrelClient> = Effect.flatMap(Effect.service(PetrelClient), (petrel) => Effect.promise(() => petrel.close()));

/** The subscription's messages (copies) until it is closed. One reader at a time. */
export function messages(subscription: PetrelSubscription): Stream.Stream<Message> {
  return Stream.fromAsyncIterable(subscription, (error) => {
    throw error;
  });
}
