// petrel/effect: the Effect shell (a Layer that provides a live engine, typed failures).
export * from "../drivers/effect.js";
export {
  PetrelClient,
  OfferRefused,
  petrelLayer,
  launchScoped,
  addPublication,
  addSubscription,
  offer,
  poll,
  closePublication,
  closeSubscription,
  closeClient,
  messages,
  type ClientError,
} from "./client.js";
export { SimulatedEffects, type SimulatedEffectsOptions } from "./simulated.js";
