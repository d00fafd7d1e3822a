// A Petrel Engine as a simulator node: the minimal runtime the CLI's scenarios need. The host's
// setup makes an Engine, lets the application add its publications and subscriptions, then opens
// the sockets the engine asked for (pollEndpointEvent) as simulator ports: a receive endpoint's
// fixed port, or an ephemeral one (40000 + n) for a send endpoint. Engine endpoint ids and the
// simulator's per-node port indexes are translated both ways.
//
// The application (an EngineApp) runs after every input to the node (a datagram or a timer) and
// may ask for its own wake-up time (a message rate); pollTimeout is the earlier of the engine's
// deadline and the application's.
import { Engine, NO_DEADLINE_NS, type EngineOptions } from "../core/engine/index.js";
import type { SimAddress } from "../sim/address.js";
import type { BoundNode, HostContext } from "../sim/simulator.js";
import { NO_DEADLINE, type SimNode, type TransmitSink } from "../sim/simNode.js";

const EPHEMERAL_PORT_BASE = 40000;

/** The application's side of a node: it acts on the engine (offer, poll) at each step. */
export interface EngineApp {
  /** Called after every input to the node, with the host's local time. */
  step(nowNs: number, engine: Engine): void;
  /** The local time the application wants to run next, or NO_DEADLINE. */
  nextWakeNs(): number;
}

export class EngineNode implements SimNode {
  private readonly endpointByPortIndex: number[] = [];
  private readonly portIndexByEndpoint = new Map<number, number>();
  readonly ports: number[] = [];
  bound: BoundNode | null = null;

  constructor(
    readonly engine: Engine,
    readonly app: EngineApp,
  ) {
    for (let event = engine.pollEndpointEvent(); event !== undefined; event = engine.pollEndpointEvent()) {
      if (event.type !== "open") continue;
      const port = event.endpoint.bindPort !== 0 ? event.endpoint.bindPort : EPHEMERAL_PORT_BASE + this.ports.length;
      this.portIndexByEndpoint.set(event.endpoint.id, this.ports.length);
      this.endpointByPortIndex.push(event.endpoint.id);
      this.ports.push(port);
    }
    if (this.ports.length === 0) throw new Error("EngineNode: the engine opened no endpoint (add a publication or subscription first)");
  }

  /** Binds this node to its ports on `host`. */
  bind(host: HostContext): this {
    this.bound = host.bind(this, this.ports);
    return this;
  }

  handleDatagram(nowNs: number, from: SimAddress, to: SimAddress, bytes: Uint8Array, offset: number, length: number): void {
    const index = this.ports.indexOf(to.port);
    const endpointId = index < 0 ? -1 : (this.endpointByPortIndex[index] as number);
    this.engine.handleDatagram(nowNs, from.ip, from.port, endpointId, bytes, offset, length);
    this.app.step(nowNs, this.engine);
  }

  handleTimeout(nowNs: number): void {
    this.engine.handleTimeout(nowNs);
    this.app.step(nowNs, this.engine);
  }

  pollTransmit(nowNs: number, sink: TransmitSink): number {
    const before = sink.count;
    this.engine.pollTransmit(nowNs, sink);
    for (let i = before; i < sink.count; i++) {
      const index = this.portIndexByEndpoint.get(sink.endpointIds[i] as number);
      if (index === undefined) throw new Error(`EngineNode: datagram from endpoint ${sink.endpointIds[i]} that has no port`);
      sink.endpointIds[i] = index;
    }
    return sink.count - before;
  }

  pollTimeout(): number {
    const engineDeadline = this.engine.pollTimeout();
    const appDeadline = this.app.nextWakeNs();
    const deadline = engineDeadline === NO_DEADLINE_NS ? NO_DEADLINE : engineDeadline;
    return appDeadline < deadline ? appDeadline : deadline;
  }
}

/** Engine options for a simulated host: its own random stream, its local clock's time. */
export function engineOptionsFor(host: HostContext, config: EngineOptions["config"] = {}): EngineOptions {
  return { config, random: host.random.fork("engine"), nowNs: host.nowNs() };
}
