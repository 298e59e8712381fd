// The `bench serve` verb: build the engine from the model and toggle flags, then serve it until SIGINT/SIGTERM.
// engine/index.ts registers it next to the other engine verbs.
import type { Command } from 'commander';
import { intArg } from '../cli/options.ts';
import { addToggleOptions, deviceOptions, engineOptions, type ToggleFlags, togglesInEffect } from '../cli/toggles.ts';
import { createDevice } from '../device/device.ts';
import { cachedProbe } from '../device/probe.ts';
import { loadModel } from '../model/load.ts';
import { WebGpuEngine } from '../runtime/engine.ts';
import { DEFAULT_MAX_BODY_BYTES } from './body.ts';
import { serveUntilSignal } from './serve.ts';

interface ServeFlags extends ToggleFlags {
  model: string;
  tokenizer?: string;
  host: string;
  port: number;
  apiKey?: string;
  maxQueue: number;
  maxBodyBytes: number;
  chatTemplate?: string;
  servedModelName?: string;
  shutdownGrace: number;
}

export function registerServe(program: Command): void {
  const cmd = program
    .command('serve')
    .description('serve the engine over HTTP: OpenAI- and TGI-compatible APIs, /health, /metrics (docs/server.md)')
    .requiredOption('--model <m>', 'checkpoint file, model folder, or preset:NAME')
    .option('--tokenizer <file>', 'tokenizer file (llama2.c tokenizer.bin); default: found beside the model')
    .option('--host <h>', 'address to bind (0.0.0.0 exposes the server to the network)', '127.0.0.1')
    .option(
      '--port <p>',
      'port (0: any free port; the "listening on" line says which)',
      intArg('--port', 0, 65535),
      8000,
    )
    .option(
      '--api-key <key>',
      'require "Authorization: Bearer <key>" on every route but /health (default: $BENCH_API_KEY)',
    )
    .option('--max-queue <n>', 'generation requests waiting + running before 429', intArg('--max-queue', 1), 256)
    .option(
      '--max-body-bytes <n>',
      'largest request body (413 past it)',
      intArg('--max-body-bytes', 1024),
      DEFAULT_MAX_BODY_BYTES,
    )
    .option(
      '--chat-template <name|file>',
      'plain, llama2, llama3, or a YAML template file (default: from the vocabulary)',
    )
    .option('--served-model-name <name>', 'model id in /v1/models and responses (default: the model name)')
    .option(
      '--shutdown-grace <ms>',
      'on SIGINT/SIGTERM, let running requests finish this long',
      intArg('--shutdown-grace', 0),
      10_000,
    );
  addToggleOptions(cmd).action(async (f: ServeFlags) => {
    const opts = await engineOptions(f, f.tokenizer);
    const model = await loadModel(f.model, f.tokenizer ? { tokenizer: f.tokenizer } : {});
    const ctx = await createDevice(deviceOptions(f));
    const engine = await WebGpuEngine.create(ctx, model, opts);
    const apiKey = f.apiKey ?? process.env.BENCH_API_KEY;
    await serveUntilSignal(engine, {
      host: f.host,
      port: f.port,
      maxQueue: f.maxQueue,
      maxBodyBytes: f.maxBodyBytes,
      toggles: togglesInEffect(f, ctx),
      adapter: ctx.adapterName,
      extraInfo: {
        features: ctx.features,
        software: ctx.isSoftware,
        synthetic: model.info.synthetic,
        memoryBytes: engine.runner.weightBytes + engine.runner.kvBytes + engine.runner.scratchBytes,
        // For memory-bandwidth utilisation in reports: bytes of weights one decode token reads, against the
        // device's measured copy bandwidth (bench info).
        weightBytesPerToken: engine.runner.weightReadBytes,
        deviceGBps: (await cachedProbe(ctx)).copyGBps,
      },
      shutdownGraceMs: f.shutdownGrace,
      ...(apiKey ? { apiKey } : {}),
      ...(f.chatTemplate ? { chatTemplate: f.chatTemplate } : {}),
      ...(f.servedModelName ? { modelName: f.servedModelName } : {}),
    });
  });
}
