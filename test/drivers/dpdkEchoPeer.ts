// The DPDK side of dpdk.test.ts's driver-level checks, run as its own process in a namespace
// (DPDK initialises once per process):
//  - mode "echo": the DPDK driver (selected through createSocketsDriver) opens one endpoint on
//    `port` (joined to `group` when given) and sends every datagram it receives back to where it
//    came from (or to the group), until `count` were echoed or "stop" arrives; the kernel side
//    talks to it with a plain UDP socket. Prints {ready, mac, mtu, pmd, multicast} then its results.
//  - mode "errors": the typed errors: no such interface, a bad EAL argument, an EAL that cannot be
//    initialised twice, and a port in use. Prints one JSON line with what each attempt threw.
// The driver is disposed of (rte_eal_cleanup) on every way out.
import type { EndpointInfo } from "../../src/core/engine/engine.js";
import { parseIpv4 } from "../../src/core/address.js";
import type { Driver } from "../../src/drivers/driver.js";
import { DriverError } from "../../src/drivers/driverError.js";
import { createDpdkDriver, dpdkVdevEal, dpdkVdevPort, type DpdkFramePort, type DpdkVirtualPmd } from "../../src/drivers/dpdkDriver.js";
import type { NetstackDriver } from "../../src/drivers/netstack/netstackDriver.js";
import { createSocketsDriver } from "../../src/drivers/socketsDriver.js";

interface EchoArgs {
  readonly mode: "echo" | "errors";
  readonly pmd: DpdkVirtualPmd;
  readonly iface: string;
  readonly ip: string;
  readonly port: number;
  readonly prefix: string;
  readonly group?: string;
  /** Where multicast echoes go (the kernel side's group port). */
  readonly replyPort?: number;
  readonly count: number;
  readonly timeoutMs: number;
}

function print(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

const drivers: Driver[] = [];

function endpoint(id: number, port: number, group: number, ip: number): EndpointInfo {
  return {
    id, role: "receive", channel: "", bindIp: group !== 0 ? group : ip, bindPort: port, socketRcvbufBytes: 0, socketSndbufBytes: 0, ttl: 0,
    multicastGroupIp: group, interfaceIp: group !== 0 ? ip : 0,
  } as EndpointInfo;
}

function describeError(error: unknown): Record<string, unknown> {
  if (error instanceof DriverError) return { name: error.name, code: error.code, errno: error.errno, syscall: error.syscall, message: error.message };
  return { name: error instanceof Error ? error.name : "unknown", message: String(error) };
}

async function echo(args: EchoArgs): Promise<void> {
  let port: DpdkFramePort | undefined;
  const driver = createSocketsDriver({
    driver: "dpdk",
    dpdk: {
      eal: dpdkVdevEal(args.pmd, args.iface, [], args.prefix), port: dpdkVdevPort(args.pmd), ip: args.ip, prefixLength: 24,
      wrapPort: (p) => (port = p),
    },
  }) as NetstackDriver;
  drivers.push(driver);
  const ip = parseIpv4(args.ip) >>> 0;
  const group = args.group === undefined ? 0 : parseIpv4(args.group) >>> 0;
  driver.open(endpoint(1, args.port, group, ip));
  print({ ready: true, kind: driver.kind, mac: Array.from(driver.mac), mtu: driver.mtu, pmd: port!.pmd, multicast: port!.multicastMode,
    offloads: port!.offloads });
  let stop = false;
  process.stdin.on("data", (data) => {
    if (String(data).includes("stop")) stop = true;
  });
  const rx = driver.receive;
  const started = performance.now();
  let echoed = 0;
  let cycles = 0;
  while (!stop && echoed < args.count && performance.now() - started < args.timeoutMs) {
    const n = driver.pollBatch(rx);
    const tx = driver.transmit;
    tx.count = 0;
    for (let i = 0; i < n; i++) {
      const length = rx.lengths[i]!;
      const slot = tx.count;
      tx.bytes.set(rx.bytes.subarray(rx.slotOffset(i), rx.slotOffset(i) + length), tx.slotOffset(slot));
      tx.lengths[slot] = length;
      tx.destinationIps[slot] = group !== 0 ? group : rx.sourceIps[i]!;
      tx.destinationPorts[slot] = group !== 0 ? args.replyPort! : rx.sourcePorts[i]!;
      tx.endpointIds[slot] = 1;
      tx.count = slot + 1;
    }
    // Datagrams the port could not take yet go again, in order (the ring is briefly full).
    for (let sent = 0, spins = 0; sent < tx.count && spins < 100_000; spins++) sent += driver.transmitBatch(tx, sent);
    echoed += n;
    if (++cycles % 1024 === 0) await new Promise<void>((resolve) => setImmediate(resolve));
  }
  print({ echoed, stats: driver.stats(), netstack: driver.netstackCounters(), dpdk: port!.stats() });
  driver.dispose();
}

function errors(args: EchoArgs): void {
  const attempts: Record<string, unknown> = {};
  const attempt = (name: string, make: () => Driver): void => {
    try {
      drivers.push(make());
      attempts[name] = { opened: true };
    } catch (error) {
      attempts[name] = describeError(error);
    }
  };
  const common = { ip: args.ip, prefixLength: 24 };
  if (args.group === "eal") {
    // No such interface: refused before the EAL starts, so the EAL can still start afterwards.
    attempt("noSuchInterface", () => createDpdkDriver({ ...common, eal: dpdkVdevEal(args.pmd, "petrel-nonexistent0", [], args.prefix), port: dpdkVdevPort(args.pmd) }));
    // A bad EAL argument: rte_eal_init fails (EINVAL), and DPDK cannot try again in this process.
    attempt("ealInit", () => createDpdkDriver({ ...common, eal: [...dpdkVdevEal(args.pmd, args.iface, [], args.prefix), "--petrel-no-such-option"], port: dpdkVdevPort(args.pmd) }));
    attempt("afterFailedInit", () => createDpdkDriver({ ...common, eal: dpdkVdevEal(args.pmd, args.iface, [], args.prefix), port: dpdkVdevPort(args.pmd) }));
  } else {
    attempt("first", () => createDpdkDriver({ ...common, eal: dpdkVdevEal(args.pmd, args.iface, [], args.prefix), port: dpdkVdevPort(args.pmd) }));
    attempt("portInUse", () => createDpdkDriver({ ...common, eal: [], port: dpdkVdevPort(args.pmd) }));
    attempt("noSuchPort", () => createDpdkDriver({ ...common, eal: [], port: "net_petrel_nonexistent0" }));
    for (const driver of drivers.splice(0)) driver.dispose();
    // The last port closed: rte_eal_cleanup ran, and DPDK initialises once per process.
    attempt("afterCleanup", () => createDpdkDriver({ ...common, eal: dpdkVdevEal(args.pmd, args.iface, [], args.prefix), port: dpdkVdevPort(args.pmd) }));
  }
  print(attempts);
}

function disposeAll(): void {
  for (const driver of drivers.splice(0)) {
    try {
      driver.dispose();
    } catch {
      // Disposing the rest matters more.
    }
  }
}

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.on(signal, () => {
    disposeAll();
    process.exit(1);
  });
}

const args = JSON.parse(process.argv[2] ?? "{}") as EchoArgs;
(args.mode === "echo" ? echo(args) : Promise.resolve(errors(args))).then(() => {
  disposeAll();
  process.exit(0);
}, (error: unknown) => {
  print({ error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) });
  disposeAll();
  process.exit(1);
});
