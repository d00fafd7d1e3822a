// One seed per test file for the property tests and the Monte Carlo checks: taken from
// PETREL_SEED when set (to replay a failure), otherwise drawn fresh, and printed either way so
// that a failing run names the seed that replays it.
export function testSeed(label: string): number {
  const fromEnv = process.env["PETREL_SEED"];
  const seed = fromEnv !== undefined && fromEnv !== "" ? Number(fromEnv) | 0 : (Math.random() * 0x7fff_ffff) | 0;
  console.log(`[seed] ${label}: ${seed} (replay with PETREL_SEED=${seed})`);
  return seed;
}
