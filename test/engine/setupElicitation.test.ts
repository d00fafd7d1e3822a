// Goal: a receiver that sees data from a session it has no image for asks for a SETUP where Aeron's
// DataPacketDispatcher does (issue #12, item 2 and item 10): a multicast subscriber sends the
// SETUP-eliciting SM to the channel's control group (Aeron's multicast sender reads only its control
// socket, so a late subscriber that answered the data's source address would never get an image);
// a unicast one answers the data's source address; and an end-of-stream frame elicits nothing.
import { describe, expect, it } from "vitest";
import { Engine } from "../../src/core/engine/engine.js";
import { Counter } from "../../src/core/engine/counters.js";
import { TransmitBatch } from "../../src/core/transmitBatch.js";
import { writeHeartbeat } from "../../src/core/protocol/dataFrame.js";
import { parseIpv4 } from "../../src/core/address.js";
import { SM_SEND_SETUP_FLAG } from "../../src/core/protocol/statusMessageFrame.js";
import { FLAGS_OFFSET } from "../../src/core/protocol/frameHeader.js";
import { Prng } from "../../src/sim/prng.js";

const STREAM = 5;
const SESSION = 0x1234;
const MS = 1_000_000;

function subscriber(channel: string): { engine: Engine; endpointId: number } {
  const engine = new Engine({ random: new Prng(11) });
  engine.addSubscription(channel, STREAM);
  const event = engine.pollEndpointEvent();
  if (event?.type !== "open") throw new Error("expected the subscription's endpoint to open");
  return { engine, endpointId: event.endpoint.id };
}

function heartbeat(endOfStream: boolean): Uint8Array {
  const bytes = new Uint8Array(32);
  writeHeartbeat(new DataView(bytes.buffer), 0, 1024, SESSION, STREAM, 7, endOfStream);
  return bytes;
}

/** The SETUP-eliciting SMs the engine sends after one heartbeat from 10.0.0.9:5555. */
function elicited(channel: string, endOfStream: boolean): Array<{ ip: number; port: number }> {
  const { engine, endpointId } = subscriber(channel);
  const frame = heartbeat(endOfStream);
  engine.handleDatagram(MS, parseIpv4("10.0.0.9"), 5555, endpointId, frame, 0, frame.length);
  const batch = new TransmitBatch(16, 2048);
  engine.pollTransmit(MS, batch);
  const out: Array<{ ip: number; port: number }> = [];
  for (let i = 0; i < batch.count; i++) {
    const flags = batch.view.getUint8(batch.slotOffset(i) + FLAGS_OFFSET);
    if ((flags & SM_SEND_SETUP_FLAG) !== 0) out.push({ ip: batch.destinationIps[i]!, port: batch.destinationPorts[i]! });
  }
  expect(engine.counters.get(Counter.UNKNOWN_SESSION_FRAMES)).toBe(1);
  return out;
}

describe("SETUP elicitation for an unknown session", () => {
  it("multicast: goes to the control group (last byte + 1), not to the data's source", () => {
    expect(elicited("aeron:udp?endpoint=224.0.1.1:40456|interface=127.0.0.1", false)).toEqual([{ ip: parseIpv4("224.0.1.2"), port: 40456 }]);
  });

  it("unicast: goes to the data's source address", () => {
    expect(elicited("aeron:udp?endpoint=127.0.0.1:40457", false)).toEqual([{ ip: parseIpv4("10.0.0.9"), port: 5555 }]);
  });

  it("an end-of-stream frame elicits no SETUP", () => {
    expect(elicited("aeron:udp?endpoint=127.0.0.1:40457", true)).toEqual([]);
    expect(elicited("aeron:udp?endpoint=224.0.1.1:40456|interface=127.0.0.1", true)).toEqual([]);
  });
});
