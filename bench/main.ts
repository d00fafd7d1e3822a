// `npm run bench <name> [...]`: runs the named benchmarks (not tests: figures for humans and
// closing notes). Each benchmark prints its command-independent parameters, medians of several
// runs and, where it compares two things, their ratio measured side by side in this one process.
const benches: Record<string, () => Promise<void>> = {
  sim: async () => (await import("./sim.js")).runSimBench(),
  codec: async () => {
    const frames = await import("./codecFrames.js");
    await frames.runFrameCodecBench();
    const log = await import("./codecLog.js");
    await log.runLogBench();
  },
  engine: async () => (await import("./engine.js")).runEngineBench(),
  sockets: async () => (await import("./sockets.js")).runSocketsBench(),
  afpacket: async () => (await import("./afpacket.js")).runAfPacketBench(),
  dpdk: async () => (await import("./dpdk.js")).runDpdkBench(),
  uring: async () => (await import("./uring.js")).runUringBench(),
  fuzz: async () => (await import("./fuzz.js")).runFuzzBench(),
  hostile: async () => (await import("./hostile.js")).runHostileBench(),
  client: async () => (await import("./client.js")).runClientBench(),
  "setup-flood": async () => (await import("./setupFlood.js")).runSetupFloodBench(),
  journal: async () => (await import("./journal.js")).runJournalBench(),
  aeron: async () => (await import("./aeron.js")).runAeronBench(),
  stages: async () => (await import("./stages.js")).runStagesBench(),
};

// Arguments that start with "--" are options for the benchmarks themselves (e.g. --duration=2).
const requested = process.argv.slice(2).filter((arg) => !arg.startsWith("--"));
if (requested.length === 0 || requested.some((name) => !(name in benches))) {
  const unknown = requested.filter((name) => !(name in benches));
  if (unknown.length > 0) console.error(`unknown benchmark(s): ${unknown.join(", ")}`);
  console.error(`usage: npm run bench <${Object.keys(benches).join("|")}> [...]`);
  process.exitCode = 2;
} else {
  console.log(`node ${process.version}, ${process.platform}/${process.arch}, gc exposed: ${typeof globalThis.gc === "function"}`);
  for (const name of requested) {
    console.log(`\n== bench ${name}`);
    await benches[name]!();
  }
}
