// 2,000 mid-stream cancellations against the real WebGPU engine (preset:tiny, continuous batching).
import { test } from 'node:test';
import { cancellationSuite } from './cancellation-suite.ts';
import { engineFactory } from './real-engine.ts';

test('2,000 cancelled streams leave the WebGPU engine with no leaked KV blocks and a bounded heap', async () => {
  const report = await cancellationSuite(engineFactory);
  process.stdout.write(`# cancellation report (WebGPU engine): ${JSON.stringify(report)}\n`);
});
