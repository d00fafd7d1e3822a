// Goal: Petrel on DPDK and the real Aeron C media driver (built from ../shared/aeron) exchange
// streams in both directions across a veth pair: aeronmd and its C client (test/interop/clients) on
// the kernel side of the pair, in one network namespace, and Petrel on the DPDK driver
// (net_af_packet over the other end, which has no kernel address: Petrel owns it and answers ARP)
// in another, as its own process (test/drivers/linkPeer.ts). Every message is checked for index
// (exactly once, in order), length and every byte: by libaeron's client when Petrel publishes, by
// Petrel's StreamChecker when Aeron publishes. The namespaces are created and deleted here (even on
// failure). Skipped with a printed reason when PETREL_AERON_BIN is unset (CI sets it), or when
// the machine cannot run DPDK on veth (root, iproute2, ethtool, an addon built with libdpdk).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rmSync } from "node:fs";
import { dpdkVdevEal } from "../../src/drivers/dpdkDriver.js";
import { NativeAddonUnavailableError, tryLoadNativeAddon } from "../../src/drivers/nativeAddon.js";
import { addonBuilt, haveTool, ip, NetnsLab, netnsMissing, nextJson, peerExit } from "../drivers/netnsSupport.js";
import { buildClients, Client, interopSkipReason, MediaDriver } from "./aeronPeer.js";

const STREAM = 1001;
const COUNT = 20_000;
const MAX_LENGTH = 2000;
const TIMEOUT_S = 60;

const aeronMissing = interopSkipReason();
const dpdkMissing = netnsMissing(addonBuilt, () => {
  const addon = tryLoadNativeAddon();
  if (addon instanceof NativeAddonUnavailableError) return "native addon not built";
  return (addon as unknown as { dpdk?: boolean }).dpdk === true ? undefined : "the native addon was built without DPDK (no libdpdk)";
}, () => (haveTool("ethtool") ? undefined : "ethtool not installed"));
const skipReason = aeronMissing ?? dpdkMissing;
if (skipReason !== undefined) console.log(`interop with Aeron over DPDK skipped: ${skipReason}`);
const requireAeron = process.env["PETREL_REQUIRE_AERON"] === "1";

describe.runIf(skipReason !== undefined && requireAeron)("interop with Aeron over DPDK, required here", () => {
  it("can run", () => {
    throw new Error(`PETREL_REQUIRE_AERON=1 but ${skipReason}`);
  });
});

const lab = new NetnsLab("interop-dpdk");
const devRaw = `ia${lab.tag}`;
const devKernel = `ik${lab.tag}`;
const rawIp = `10.220.${lab.octet}.1`;
const kernelIp = `10.220.${lab.octet}.2`;
let nsRaw = "";
let nsKernel = "";
let clients: { pub: string; sub: string; dir: string } | undefined;

describe.skipIf(skipReason !== undefined)("interop with the Aeron C media driver, Petrel on DPDK (net_af_packet) across a veth pair", () => {
  beforeAll(() => {
    clients = buildClients();
    lab.compilePeers("linkPeer");
    nsRaw = lab.namespace("d");
    nsKernel = lab.namespace("k");
    lab.veth(nsRaw, devRaw, undefined, nsKernel, devKernel, `${kernelIp}/24`);
    // The DPDK virtual device gets raw frames: the kernel end must send complete checksums, no GSO.
    lab.offloadsOff(nsKernel, devKernel);
  });
  afterAll(() => {
    lab.cleanup();
    if (clients !== undefined) rmSync(clients.dir, { recursive: true, force: true });
  });

  const dpdkSide = (role: "publisher" | "subscriber", endpoint: string, prefix: string): Record<string, unknown> => ({
    role, driver: "dpdk", pmd: "net_af_packet", iface: devRaw, ip: rawIp, eal: dpdkVdevEal("net_af_packet", devRaw, [], prefix),
    endpoint, port: 40150, count: COUNT, maxLength: MAX_LENGTH, seed: 1, timeoutMs: TIMEOUT_S * 1000, lengths: "interop", streamId: STREAM,
  });

  it(`Petrel on DPDK publishes ${COUNT} messages, Aeron (kernel side) subscribes and verifies each`, async () => {
    // From empty ARP caches: the DPDK side is a new process, the kernel side forgets.
    ip("-n", nsKernel, "neigh", "flush", "dev", devKernel);
    const driver = new MediaDriver({}, nsKernel);
    try {
      await driver.ready();
      const channel = `aeron:udp?endpoint=${kernelIp}:40150`;
      const subscriber = new Client(clients!.sub, [driver.aeronDir, channel, String(STREAM), String(COUNT), String(MAX_LENGTH), String(TIMEOUT_S)], nsKernel);
      const publisher = lab.startPeer(nsRaw, "linkPeer", dpdkSide("publisher", kernelIp, lab.dpdkPrefix("pub")));
      expect((await nextJson(publisher))["kind"]).toBe("dpdk");
      const result = await subscriber.done;
      publisher.child.stdin!.end("stop\n");
      const pub = await nextJson(publisher);
      expect(await peerExit(publisher)).toBe(0);
      console.log(`Petrel(DPDK) -> Aeron: ${result.stdout.trim()}; Petrel sent ${pub["sent"]}, counters ${JSON.stringify(pub["counters"])}, ` +
        `ARP requests ${(pub["netstack"] as { arpRequestsSent: number }).arpRequestsSent}`);
      expect(result.stderr).toBe("");
      expect(result.code).toBe(0);
      expect(result.stdout).toContain(`verified ${COUNT}`);
      expect(pub["sent"]).toBe(COUNT);
    } finally {
      await driver.close();
    }
  }, (TIMEOUT_S + 30) * 1000);

  it(`Aeron (kernel side) publishes ${COUNT} messages, Petrel on DPDK subscribes and verifies each`, async () => {
    // From empty ARP caches: the DPDK side is a new process, the kernel side forgets.
    ip("-n", nsKernel, "neigh", "flush", "dev", devKernel);
    const driver = new MediaDriver({}, nsKernel);
    try {
      await driver.ready();
      const channel = `aeron:udp?endpoint=${rawIp}:40150`;
      const subscriber = lab.startPeer(nsRaw, "linkPeer", dpdkSide("subscriber", rawIp, lab.dpdkPrefix("sub")));
      expect((await nextJson(subscriber))["kind"]).toBe("dpdk");
      const publisher = new Client(clients!.pub, [driver.aeronDir, channel, String(STREAM), String(COUNT), String(MAX_LENGTH), String(TIMEOUT_S)], nsKernel);
      const sub = await nextJson(subscriber);
      const result = await publisher.done;
      expect(await peerExit(subscriber)).toBe(0);
      console.log(`Aeron -> Petrel(DPDK): ${sub["received"]} verified in ${(sub["elapsedMs"] as number).toFixed(0)} ms; counters ${JSON.stringify(sub["counters"])}; ` +
        `ARP replies ${(sub["netstack"] as { arpRepliesSent: number }).arpRepliesSent}; aeron client: ${result.stdout.trim()}`);
      expect(sub["failures"]).toEqual([]);
      expect(sub["received"]).toBe(COUNT);
      expect(result.stderr).toBe("");
      expect(result.code).toBe(0);
    } finally {
      await driver.close();
    }
  }, (TIMEOUT_S + 30) * 1000);
});
