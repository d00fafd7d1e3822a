#!/usr/bin/env node
// The `petrel` command. `petrel demo` runs the quick-start job.
const command = process.argv[2] ?? "demo";
if (command === "demo") {
  console.log("petrel: demo (placeholder until the codecs land)");
} else {
  console.error(`petrel: unknown command '${command}'. Try: petrel demo`);
  process.exitCode = 2;
}
