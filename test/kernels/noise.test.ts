// The device-side noise fill must reproduce engine/model/noise.ts bit for bit (synthetic presets rely on it), and
// the copy kernel must copy.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { noiseValue } from '../../engine/model/noise.ts';
import { fillNoiseOnDevice } from '../../engine/runtime/gpu-weights.ts';
import { buffer, dispatch, gpu, readF32 } from '../helpers/gpu.ts';

// The contract (engine/model/weights.ts): a noise tensor's scale is an f32, so f64 and f32 products agree.
test('noise kernel equals noiseValue() bit for bit', async () => {
  const ctx = await gpu();
  const d = ctx.device;
  const n = 5000;
  const out = buffer(d, n);
  fillNoiseOnDevice(d, out, { seed: 1234567, scale: 0.02 }, n);
  const got = await readF32(ctx, out, n);
  for (let i = 0; i < n; i++)
    assert.equal(got[i], Math.fround(Math.fround(0.02) * noiseValue(1234567, i)), `element ${i}`);
});

test('copy kernel copies', async () => {
  const ctx = await gpu();
  const d = ctx.device;
  const src = new Uint32Array(4096).map((_, i) => (i * 2654435761) >>> 0);
  const dst = buffer(d, src.length);
  await dispatch(ctx, 'copy', { WG: 256 }, [buffer(d, src), dst], [4]);
  assert.deepEqual(new Uint32Array((await readF32(ctx, dst, src.length)).buffer), src);
});
