/**
 * V8 flags the service's process starts with (the images' ENTRYPOINT, `make run`, the benchmarks
 * and the system tests pass them; `test/unit/shared/node-flags.test.ts` checks that they agree).
 * They must be on node's command line: V8 sizes the heap at start, ignores them when set later
 * (`v8.setFlagsFromString`), and refuses them in NODE_OPTIONS.
 *
 * Why: a young generation of 2 × 128 MiB instead of V8's default cap of 32 MiB. Most of what the
 * service allocates (kafkajs' fetched messages, decoded records, a chunk's outputs and produce
 * requests) lives through one fetch → process → transaction cycle of 100–400 ms. With the default,
 * a scavenge came every 0.4 s and copied those objects, often twice; with 128 MiB, half as many
 * scavenges and 25 % less scavenge time. Reduced `make bench-e2e`, two alternating pairs
 * (test/bench/results/latency-experiments): 16,797–17,245 events/s against 14,451–15,369, p99 at
 * 7,400 events/s 801–824 ms against 1,146–1,629, peak RSS about 200 MB higher (876–902 MB against
 * 683–685). 2 × 256 MiB was worse (15,543 events/s, p99 1,303 ms: more mark-compacts).
 */
export const SERVICE_NODE_FLAGS: readonly string[] = [
  '--min-semi-space-size=128',
  '--max-semi-space-size=128',
  '--scavenger-max-new-space-capacity-mb=256',
];
