// Batching throughput: for each batch mode, a `bench serve` child process on preset:tiny (lavapipe, or the first
// adapter), then 64 streamed completions with output lengths drawn uniformly from 16..256 (seeded, EOS ignored) at
// closed-loop concurrency 1, 8 and 32. Prints output tok/s and request latency p50/p99 per mode and concurrency.
//   npm run bench:batching [-- --model preset:tiny --requests 64]
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { cpus } from 'node:os';
import { createInterface } from 'node:readline';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : fallback;
};
const MODEL = arg('model', 'preset:tiny');
const REQUESTS = Number(arg('requests', '64'));
const MODES = ['none', 'static', 'continuous'] as const;
const CONCURRENCY = [1, 8, 32];

function lengths(seed: number): number[] {
  let a = seed >>> 0;
  return Array.from({ length: REQUESTS }, () => {
    a = (Math.imul(a, 1664525) + 1013904223) >>> 0;
    return 16 + (a % 241);
  });
}

async function startServer(mode: string): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(
    process.execPath,
    ['bin/bench.js', 'serve', '--model', MODEL, '--port', '0', '--batch', mode, '--max-batch', '32'],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' },
    },
  );
  const lines = createInterface({ input: child.stdout! });
  for await (const line of lines) {
    const m = /listening on (\S+)/.exec(line);
    if (m) return { url: m[1]!, child };
  }
  throw new Error(`bench serve --batch ${mode} exited before listening`);
}

/** One streamed completion; returns its latency (ms) and the tokens the server says it generated. */
async function complete(url: string, maxTokens: number, i: number): Promise<{ ms: number; tokens: number }> {
  const t0 = performance.now();
  const res = await fetch(`${url}/v1/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      prompt: `Request ${i}: once upon a time`,
      max_tokens: maxTokens,
      ignore_eos: true,
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
    }),
  });
  if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}: ${await res.text()}`);
  let text = '';
  for await (const chunk of res.body) text += Buffer.from(chunk).toString();
  const usage = /"completion_tokens":(\d+)/.exec(text);
  if (!usage || !text.trimEnd().endsWith('data: [DONE]')) throw new Error('stream ended without usage and [DONE]');
  return { ms: performance.now() - t0, tokens: Number(usage[1]) };
}

async function closedLoop(url: string, concurrency: number, lens: number[]) {
  let next = 0;
  const latencies: number[] = [];
  let tokens = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < lens.length) {
        const i = next++;
        const r = await complete(url, lens[i]!, i);
        latencies.push(r.ms);
        tokens += r.tokens;
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]!;
  return { tokPerS: tokens / seconds, p50: pct(0.5), p99: pct(0.99), tokens, seconds };
}

const lens = lengths(42);
const results: Record<string, Record<number, Awaited<ReturnType<typeof closedLoop>>>> = {};
let adapter = '?';
for (const mode of MODES) {
  const { url, child } = await startServer(mode);
  try {
    const info = (await (await fetch(`${url}/info`)).json()) as { adapter?: string };
    adapter = info.adapter ?? adapter;
    await closedLoop(
      url,
      4,
      lens.slice(0, 4).map(() => 16),
    ); // warm-up: compile pipelines, touch buffers
    results[mode] = {};
    for (const c of CONCURRENCY) {
      results[mode][c] = await closedLoop(url, c, lens);
      process.stderr.write(`${mode} c=${c}: ${results[mode][c].tokPerS.toFixed(1)} tok/s\n`);
    }
  } finally {
    child.kill('SIGTERM');
    await once(child, 'exit');
  }
}

console.log(`model ${MODEL}; adapter ${adapter}; CPU ${cpus()[0]?.model ?? '?'} x${cpus().length}`);
console.log(`${REQUESTS} requests, output 16..256 tokens (uniform, seed 42), closed loop, streamed\n`);
console.log('| batch | concurrency | output tok/s | p50 latency (s) | p99 latency (s) |');
console.log('| --- | --- | --- | --- | --- |');
for (const mode of MODES) {
  for (const c of CONCURRENCY) {
    const r = results[mode]![c]!;
    console.log(
      `| ${mode} | ${c} | ${r.tokPerS.toFixed(1)} | ${(r.p50 / 1000).toFixed(2)} | ${(r.p99 / 1000).toFixed(2)} |`,
    );
  }
}
const at = (m: string) => results[m]![32]!.tokPerS;
console.log(
  `\nat concurrency 32: continuous / none = ${(at('continuous') / at('none')).toFixed(2)}x, continuous / static = ${(at('continuous') / at('static')).toFixed(2)}x`,
);
process.exit(0);
