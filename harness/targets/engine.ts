// The built-in engine as a child process (`bench serve` on a free port), so GPU work never shares the load
// generator's event loop. Started per engine configuration: wait for "listening on", then /health, read /info,
// send one warm-up request (pipeline compilation), and stop it with SIGTERM (SIGKILL after 5 s).
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { isAbsolute, join, resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BenchError } from '../../engine/errors.ts';
import { ENGINE_NODE_FLAGS } from '../../engine/runtime/node-flags.ts';
import { createClient } from '../clients/index.ts';
import { parsePrometheus } from '../metrics/prometheus.ts';
import type { Target } from '../scenario/schema.ts';
import { TOGGLE_NAMES, toggleArgs } from '../scenario/toggles.ts';
import { approximateTokenizer } from '../workload/tokenizer.ts';
import { freePort, tryGet, tryGetJson, waitForHealth } from './http.ts';
import type { StartedTarget, TargetContext } from './types.ts';
import { adapterOf } from './url.ts';

const BENCH_JS = fileURLToPath(new URL('../../bin/bench.js', import.meta.url));
const STOP_GRACE_MS = 5000;
const live = new Set<ChildProcess>();
// A harness that crashes or exits early must not leave servers behind.
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

/** A model argument as `bench serve` needs it: a relative file path is relative to the scenario file. */
export function modelPath(spec: string, scenarioDir: string | undefined): string {
  return scenarioDir && !spec.startsWith('preset:') && !isAbsolute(spec) ? resolvePath(scenarioDir, spec) : spec;
}

export function serveArgs(target: Target, port: number, scenarioDir?: string): string[] {
  const e = target.engine;
  if (!e) throw new Error('serveArgs needs an engine target');
  const toggles = Object.fromEntries(TOGGLE_NAMES.map((n) => [n, e[n]]));
  if (e.draftModel) toggles.draftModel = modelPath(e.draftModel, scenarioDir);
  return [
    '--model',
    modelPath(e.model, scenarioDir),
    '--port',
    String(port),
    '--host',
    '127.0.0.1',
    ...toggleArgs(toggles),
    ...(e.adapter ? ['--adapter', e.adapter] : []),
    ...(e.maxQueue ? ['--max-queue', String(e.maxQueue)] : []),
    ...(e.args ?? []),
  ];
}

export async function startEngineTarget(target: Target, ctx: TargetContext, index: number): Promise<StartedTarget> {
  const e = target.engine;
  if (!e) throw new Error('startEngineTarget needs an engine target');
  const port = await freePort();
  const [cmd, ...prefix] = ctx.serveCommand ?? [process.execPath, ...ENGINE_NODE_FLAGS, BENCH_JS, 'serve'];
  const args = [...prefix, ...serveArgs(target, port, ctx.scenarioDir)];
  const child = spawn(cmd as string, args, { stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
  live.add(child);
  const log: WriteStream | undefined = ctx.logDir
    ? createWriteStream(join(ctx.logDir, `server-${index}.log`))
    : undefined;
  log?.write(`$ ${[cmd, ...args].join(' ')}\n`);
  const tail: string[] = [];
  let listening: ((url: string) => void) | undefined;
  const onLine = (line: string) => {
    tail.push(line);
    if (tail.length > 40) tail.shift();
    const m = /listening on (https?:\/\/\S+)/.exec(line);
    if (m && listening) listening(m[1] as string);
  };
  for (const stream of [child.stdout, child.stderr]) {
    let buf = '';
    stream?.setEncoding('utf8');
    stream?.on('data', (d: string) => {
      log?.write(d);
      buf += d;
      const lines = buf.split('\n');
      buf = lines.pop() ?? '';
      lines.forEach(onLine);
    });
  }
  let death: string | undefined;
  const deathCbs: ((r: string) => void)[] = [];
  let stopping = false;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      live.delete(child);
      log?.end();
      if (!stopping) {
        death = `bench serve exited (${signal ? `signal ${signal}` : `code ${code}`})${tail.length ? `; last output:\n    ${tail.slice(-8).join('\n    ')}` : ''}`;
        for (const cb of deathCbs) cb(death);
      }
      resolve();
    });
  });
  child.once('error', (err) => {
    death = `cannot start ${cmd}: ${err.message}`;
    for (const cb of deathCbs) cb(death);
  });

  const stop = async () => {
    stopping = true;
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
    await exited;
    clearTimeout(timer);
  };

  try {
    const deadline = performance.now() + e.startupTimeout;
    const url = await new Promise<string>((resolve, reject) => {
      listening = resolve;
      deathCbs.push((r) => reject(new BenchError('RUNTIME', `${r}\n  (while starting: ${[cmd, ...args].join(' ')})`)));
      setTimeout(
        () =>
          reject(
            new BenchError('RUNTIME', `bench serve did not print "listening on" within ${e.startupTimeout / 1000} s`),
          ),
        e.startupTimeout,
      ).unref();
      ctx.signal?.addEventListener(
        'abort',
        () => reject(new BenchError('RUNTIME', 'interrupted while starting the server')),
        { once: true },
      );
    });
    deathCbs.length = 0;
    if (!(await waitForHealth(`${url}/health`, deadline, () => death !== undefined))) {
      throw new BenchError('RUNTIME', death ?? `${url}/health did not answer 200 within ${e.startupTimeout / 1000} s`);
    }
    const server = await tryGetJson(`${url}/info`);
    const tokenizer = (await ctx.tokenizerFor(modelPath(e.model, ctx.scenarioDir))) ?? approximateTokenizer();
    if (!tokenizer.exact) ctx.warn(`no exact tokenizer for ${e.model}: prompt lengths are approximate`);
    await warmUp(url);
    const modelId = typeof server?.model_id === 'string' ? server.model_id : e.model;
    const { startupTimeout: _t, args: _a, ...engine } = e;
    return {
      info: {
        kind: 'engine',
        url,
        api: 'openai',
        model: modelId,
        tokenizer: { name: tokenizer.name, exact: tokenizer.exact },
        engine,
        ...(server ? { server } : {}),
        ...adapterOf(server),
        synthetic: e.model.startsWith('preset:') || server?.synthetic === true,
      },
      baseUrl: url,
      api: 'openai',
      model: modelId,
      headers: {},
      tokenizer,
      deathReason: () => death,
      onDeath: (cb) => {
        if (death) cb(death);
        else deathCbs.push(cb);
      },
      scrapeMetrics: async () => {
        const r = await tryGet(`${url}/metrics`);
        return r?.status === 200 ? parsePrometheus(r.text) : undefined;
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** One short request so shader compilation and first-touch allocation stay out of the measurements. */
async function warmUp(url: string): Promise<void> {
  const client = createClient('openai', { baseUrl: url, headers: {}, connections: 1, timeoutMs: 300_000 });
  try {
    const out = await client.send({
      prompt: 'Hello',
      promptTokens: 6,
      outputTokens: 4,
      ignoreEos: true,
      temperature: 0,
    });
    if (out.error) throw new BenchError('RUNTIME', `warm-up request to ${url} failed: ${out.error.message}`);
  } finally {
    await client.close();
  }
}
