// The worker pool that packs synthetic (noise) matrices (engine/runtime/pack-pool.ts): its packed words and scales
// equal the serial format.pack(read values) bit for bit for every packed format, fused layouts (stacked wqkv,
// interleaved w13) included, in job order through PackAhead; worker errors come back as the job's error; and
// GpuWeights uploads the same device buffers for preset:tiny with and without the pool.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { tensorNames } from '../../../engine/model/config.ts';
import { loadPreset } from '../../../engine/model/synthetic.ts';
import { fuseRows, layerLinears } from '../../../engine/ops/fusion.ts';
import { getWeightFormat, type PackedWeight, type WeightFormat } from '../../../engine/ops/weight-formats.ts';
import { readBuffer } from '../../../engine/runtime/gpu-buffers.ts';
import { GpuWeights } from '../../../engine/runtime/gpu-weights.ts';
import { noiseJob, PackAhead, type PackJob, PackPool } from '../../../engine/runtime/pack-pool.ts';
import { gpu } from '../../helpers/gpu.ts';

const FORMATS = [
  getWeightFormat('f16'),
  getWeightFormat('bf16'),
  getWeightFormat('int8'),
  getWeightFormat('int4', { groupSize: 32 }),
  getWeightFormat('int4', { groupSize: 32, symmetric: false }),
];

const model = loadPreset('tiny');
// Layer 1 fused (wqkv stacked, wo alone, w13 interleaved, w2 alone) and the classifier.
const linears = [
  ...layerLinears(1, true),
  { name: 'classifier', parts: [tensorNames.classifier], interleave: false },
].map((f) => ({ ...f, sources: f.parts.map((n) => model.tensor(n)) }));

const pool = new PackPool(2);
after(() => pool.close());

function serial(format: WeightFormat, f: (typeof linears)[number]): PackedWeight {
  const cols = f.sources[0]!.shape[1]!;
  const values = fuseRows(
    f.sources.map((s) => s.read()),
    cols,
    f.interleave,
  );
  return format.pack(values, values.length / cols, cols);
}

const bits = (a: Float32Array | undefined) => (a ? new Uint32Array(a.buffer, a.byteOffset, a.length) : undefined);

test('the pool packs every format bit for bit as the serial path, fused layouts included, in job order', async () => {
  assert.ok(model.tensor(tensorNames.classifier).noise, 'tiny has an untied noise classifier');
  const jobs: PackJob[] = [];
  const expected: PackedWeight[] = [];
  for (const format of FORMATS) {
    for (const f of linears) {
      jobs.push(noiseJob(format, f.sources, f.interleave)!);
      expected.push(serial(format, f));
    }
  }
  const ahead = new PackAhead(pool, jobs, 3);
  for (const [i, want] of expected.entries()) {
    const got = await ahead.next();
    const what = `${jobs[i]!.format} ${linears[i % linears.length]!.name}`;
    assert.deepEqual(
      { format: got.format, rows: got.rows, cols: got.cols, rowWords: got.rowWords },
      { format: want.format, rows: want.rows, cols: want.cols, rowWords: want.rowWords },
      what,
    );
    assert.deepEqual(got.words, want.words, `${what}: words`);
    assert.deepEqual(bits(got.scales), bits(want.scales), `${what}: scales`);
  }
});

test("a job's error is that job's rejection, and the pool keeps working", async () => {
  const job = noiseJob(FORMATS[0]!, linears[1]!.sources, false)!;
  await assert.rejects(pool.pack({ ...job, format: 'int4-g48' }), { name: 'BenchError', code: 'BAD_INPUT' });
  assert.equal((await pool.pack(job)).rows, job.parts[0]!.rows);
});

test('GpuWeights uploads the same buffers for preset:tiny with the pool as without', async () => {
  const { device } = await gpu();
  for (const format of [getWeightFormat('f16'), getWeightFormat('int4')]) {
    const serialW = await GpuWeights.upload(device, model, format, true, 0);
    const pooled = await GpuWeights.upload(device, model, format, true, 2);
    assert.deepEqual([...pooled.linear.keys()], [...serialW.linear.keys()]);
    assert.equal(pooled.bytes, serialW.bytes);
    assert.equal(pooled.readBytesPerToken, serialW.readBytesPerToken);
    for (const [name, a] of serialW.linear) {
      const b = pooled.linear.get(name)!;
      for (const key of ['words', 'scales'] as const) {
        const [x, y] = [a[key], b[key]];
        if (!x || !y) {
          assert.equal(x, y, `${format.name} ${name} ${key}`);
          continue;
        }
        assert.equal(x.size, y.size);
        const [bx, by] = await Promise.all([readBuffer(device, x, x.size), readBuffer(device, y, y.size)]);
        assert.deepEqual(new Uint32Array(by), new Uint32Array(bx), `${format.name} ${name} ${key}`);
      }
    }
    serialW.destroy();
    pooled.destroy();
  }
});
