// V8 flags for the processes that run the engine (bin/bench.js's shebang and the npm scripts carry the same; a test
// keeps them in step). The decode loop's garbage is mostly dawn.node's: while a readback is pending it polls for GPU
// events from a setImmediate loop, ~1 KB a turn, and enough of that outlives two scavenges that old space grows
// ~45 MB/s at llama-7b int4 speed on an H100. From V8's default start, that was a mark-compact every ~1 s, each
// stalling the loop 25-50 ms, past the steps queued on the GPU (two then, three now: decode-ahead.ts): timestamps
// showed ~40 ms of GPU idle per mark-compact, and int4 runs decoded at 337-354 tok/s with one and 372 without. A
// 512 MB initial old space puts them ~10 s apart (a limit, not an allocation: the heap still grows only as garbage
// accumulates).
export const ENGINE_NODE_FLAGS = ['--initial-old-space-size=512'];
