// `bench serve`: the engine behind the OpenAI- and TGI-compatible HTTP server. Prints
// "listening on http://HOST:PORT" once it accepts requests (the harness waits for that line and /health).
import type { Command } from 'commander';
import { createDevice } from '../device/device.ts';
import { loadModel } from '../model/load.ts';
import { WebGpuEngine } from '../runtime/engine.ts';
import { startServer } from '../server/server.ts';
import { intArg } from './options.ts';
import { addToggleOptions, engineOptions, type ToggleFlags, togglesInEffect } from './toggles.ts';

interface ServeFlags extends ToggleFlags {
  model: string;
  tokenizer?: string;
  host: string;
  port: number;
  apiKey?: string;
  maxQueue: number;
  maxBodyBytes: number;
  chatTemplate?: string;
}

export function registerServe(program: Command): void {
  const cmd = program
    .command('serve')
    .description('serve the engine over HTTP (OpenAI /v1/completions, /v1/chat/completions; TGI /generate, /generate_stream)')
    .requiredOption('--model <m>', 'checkpoint file, model folder, or preset:NAME')
    .option('--tokenizer <file>', 'tokenizer file (llama2.c tokenizer.bin); default: found beside the model')
    .option('--host <host>', 'address to bind', '127.0.0.1')
    .option('--port <port>', 'port (0: any free port)', intArg('--port', 0, 65535), 8000)
    .option('--api-key <key>', 'require "Authorization: Bearer KEY" (default: $BENCH_API_KEY if set)')
    .option('--max-queue <n>', 'requests waiting + running before 429', intArg('--max-queue', 1), 1024)
    .option('--max-body-bytes <n>', 'largest request body (413 past it)', intArg('--max-body-bytes', 1024), 1 << 20)
    .option('--chat-template <name|file>', 'chat prompt template: plain, llama2, llama3, or a YAML file');
  addToggleOptions(cmd).action(async (f: ServeFlags) => {
    await serve(f);
  });
}

async function serve(f: ServeFlags): Promise<void> {
  const opts = engineOptions(f);
  const model = await loadModel(f.model, f.tokenizer ? { tokenizer: f.tokenizer } : {});
  const ctx = await createDevice(f.adapter ? { adapter: f.adapter } : {});
  const engine = await WebGpuEngine.create(ctx, model, opts);
  const apiKey = f.apiKey ?? process.env.BENCH_API_KEY;
  const server = await startServer(engine, {
    host: f.host,
    port: f.port,
    maxQueue: f.maxQueue,
    maxBodyBytes: f.maxBodyBytes,
    toggles: togglesInEffect(f),
    adapter: ctx.adapterName,
    extraInfo: {
      synthetic: model.info.synthetic,
      memoryBytes: engine.runner.weightBytes + engine.runner.kvBytes + engine.runner.scratchBytes,
      features: ctx.features,
    },
    ...(apiKey ? { apiKey } : {}),
    ...(f.chatTemplate ? { chatTemplate: f.chatTemplate } : {}),
  });
  process.stdout.write(`listening on ${server.url}\n`);
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      process.stderr.write(`${signal}: finishing streams and shutting down\n`);
      server
        .close()
        .then(() => engine.close())
        .then(resolve, (e: unknown) => {
          process.stderr.write(`shutdown: ${e instanceof Error ? e.message : String(e)}\n`);
          resolve();
        });
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
}
