// The WebGPU engine on preset:tiny, for running the server suites against the real engine:
//   BENCH_SERVER_ENGINE=test/engine/server/real-engine.ts node scripts/test.mjs server/abuse server/cancellation
// BENCH_SERVER_BATCH picks the batch mode (default continuous).
import { createDevice } from '../../../engine/device/device.ts';
import { loadModel } from '../../../engine/model/load.ts';
import { WebGpuEngine } from '../../../engine/runtime/engine.ts';
import type { EngineFactory } from './echo-engine.ts';

export const engineFactory: EngineFactory = async () => {
  const model = await loadModel('preset:tiny');
  const ctx = await createDevice();
  const batch = (process.env.BENCH_SERVER_BATCH ?? 'continuous') as 'none' | 'static' | 'continuous';
  return WebGpuEngine.create(ctx, model, { batch, maxBatch: 16 });
};
