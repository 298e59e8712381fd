// Runs the 2,000-cancellations suite against the echo engine, or the engine named by BENCH_SERVER_ENGINE.
import { test } from 'node:test';
import { cancellationSuite } from './cancellation-suite.ts';
import { echoEngineFactory } from './echo-engine.ts';
import { engineFactoryFromEnv } from './helpers.ts';

// 5 ms per token keeps every echo-engine request generating well past the moment its client leaves.
const { name, factory } = await engineFactoryFromEnv(echoEngineFactory({ tokenDelayMs: 5 }));

test(`2,000 requests cancelled mid-stream leave ${name} with no leaked KV blocks and a bounded heap`, async () => {
  const report = await cancellationSuite(factory);
  process.stdout.write(`# cancellation report: ${JSON.stringify(report)}\n`);
});
