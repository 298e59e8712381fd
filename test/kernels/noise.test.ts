// The device-side noise fill must reproduce engine/model/noise.ts bit for bit (synthetic presets rely on it), and
// the copy kernel must copy.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { noiseValue } from '../../engine/model/noise.ts';
import { buffer, dispatch, gpu, readF32 } from '../helpers/gpu.ts';

// The contract (engine/model/weights.ts): a noise tensor's scale is an f32, so f64 and f32 products agree.
test('noise kernel equals noiseValue() bit for bit', async () => {
  const ctx = await gpu();
  const d = ctx.device;
  const n = 5000;
  const out = buffer(d, n);
  const params = d.createBuffer({ size: 16, usage: 0x40 | 0x08 });
  const p = new DataView(new ArrayBuffer(16));
  p.setUint32(0, 1234567, true);
  p.setUint32(4, n, true);
  p.setFloat32(8, 0.02, true);
  d.queue.writeBuffer(params, 0, p.buffer);
  const pipeline = (await import('../../engine/device/kernels.ts')).kernelPipeline(d, 'noise', { WG: 256 });
  const enc = d.createCommandEncoder();
  const pass = enc.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(
    0,
    d.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: [
        { binding: 0, resource: { buffer: out } },
        { binding: 1, resource: { buffer: params } },
      ],
    }),
  );
  pass.dispatchWorkgroups(Math.ceil(n / 256));
  pass.end();
  d.queue.submit([enc.finish()]);
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
