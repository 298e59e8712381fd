// The model's weights on the device. Norms and the embedding table stay f32 (a decode reads one embedding row and
// a few norm vectors: nothing next to the matrices); every linear layer is packed in the --precision / --quant
// format (engine/ops/weight-formats.ts), which decides both the bytes a decode reads and the kernel that reads them.
// With fusion on, wq/wk/wv and w1/w3 are uploaded fused (engine/ops/fusion.ts) instead of one by one.
// A synthetic model's matrices are noise: f32 ones are generated on the device, packed ones on worker threads
// (pack-pool.ts) a few matrices ahead of the upload loop, which takes their results in upload order.
import { kernelPipeline } from '../device/kernels.ts';
import { tensorNames } from '../model/config.ts';
import type { LoadedModel, TensorSource } from '../model/weights.ts';
import { fuseRows, layerLinears, rowSpans } from '../ops/fusion.ts';
import type { WeightFormat } from '../ops/weight-formats.ts';
import { storageBuffer, upload } from './gpu-buffers.ts';
import { defaultPackWorkers, jobRows, noiseJob, PackAhead, PackPool } from './pack-pool.ts';

export interface LinearWeight {
  rows: number; // N
  cols: number; // K
  words: GPUBuffer; // the packed matrix (f32 values for the f32 format)
  scales?: GPUBuffer; // int8 / int4 scales
}

export const CLASSIFIER = 'classifier';
const MAX_DIM = 65535;
const read = (src: TensorSource) => src.read();
// Below this many noise values to pack, packing on this thread (~0.1 s) beats starting workers.
const POOL_MIN_VALUES = 2 ** 22;

interface Linear {
  name: string;
  parts: TensorSource[];
  interleave: boolean;
}

export class GpuWeights {
  readonly f32 = new Map<string, GPUBuffer>(); // embedding and norms
  readonly linear = new Map<string, LinearWeight>(); // per-layer matrices and the classifier
  bytes = 0; // device memory of all weights
  readBytesPerToken = 0; // what one decode step reads: every matrix once, the norms, one embedding row

  private ahead?: PackAhead; // the noise matrices being packed on workers, in upload order

  private constructor(
    private readonly device: GPUDevice,
    readonly format: WeightFormat,
  ) {}

  /**
   * `packWorkers`: worker threads packing noise matrices (0: this thread packs them); by default every core but
   * one, for models with at least POOL_MIN_VALUES noise values in a packed format.
   */
  static async upload(
    device: GPUDevice,
    model: LoadedModel,
    format: WeightFormat,
    fuse = false,
    packWorkers?: number,
  ): Promise<GpuWeights> {
    const w = new GpuWeights(device, format);
    const c = model.config;
    const linear = (name: string, parts: string[], interleave = false): Linear => ({
      name,
      parts: parts.map((n) => model.tensor(n)),
      interleave,
    });
    const layers = Array.from({ length: c.nLayers }, (_, l) =>
      layerLinears(l, fuse).map((f) => linear(f.name, f.parts, f.interleave)),
    );
    // Tied and unpacked: the classifier is the embedding buffer itself.
    const tiedF32 = c.tiedClassifier && format.name === 'f32';
    const classifier = linear(CLASSIFIER, [c.tiedClassifier ? tensorNames.embedding : tensorNames.classifier]);
    const pool = w.startPacking([...layers.flat(), ...(tiedF32 ? [] : [classifier])], packWorkers);
    try {
      await w.addF32(tensorNames.embedding, model.tensor(tensorNames.embedding));
      w.readBytesPerToken -= (c.vocabSize - 1) * c.dim * 4; // a token reads one row of the table
      await w.addF32(tensorNames.finalNorm, model.tensor(tensorNames.finalNorm));
      for (let l = 0; l < c.nLayers; l++) {
        await w.addF32(tensorNames.attnNorm(l), model.tensor(tensorNames.attnNorm(l)));
        await w.addF32(tensorNames.ffnNorm(l), model.tensor(tensorNames.ffnNorm(l)));
        for (const f of layers[l]!) await w.addLinear(f);
      }
      if (tiedF32) {
        w.linear.set(CLASSIFIER, { rows: c.vocabSize, cols: c.dim, words: w.f32.get(tensorNames.embedding)! });
        w.readBytesPerToken += format.bytesPerMatvec(c.vocabSize, c.dim);
      } else {
        await w.addLinear(classifier);
      }
    } finally {
      w.ahead = undefined;
      await pool?.close();
    }
    await device.queue.onSubmittedWorkDone();
    return w;
  }

  /** Starts packing the noise matrices among `linears` (upload order) on a worker pool, if that pays. */
  private startPacking(linears: Linear[], workers?: number): PackPool | undefined {
    if (this.format.name === 'f32') return undefined; // generated on the device instead
    const jobs = linears.flatMap((f) => noiseJob(this.format, f.parts, f.interleave) ?? []);
    const values = jobs.reduce((n, j) => n + jobRows(j) * j.cols, 0);
    const size = workers ?? (values >= POOL_MIN_VALUES ? defaultPackWorkers() : 0);
    if (size === 0 || jobs.length === 0) return undefined;
    const pool = new PackPool(size);
    this.ahead = new PackAhead(pool, jobs);
    return pool;
  }

  private async addF32(name: string, src: TensorSource): Promise<void> {
    const count = src.shape.reduce((a, b) => a * b, 1);
    const buf = storageBuffer(this.device, name, count * 4); // row-major, the checkpoint's shape
    if (src.noise) fillNoiseOnDevice(this.device, buf, src.noise, count);
    else upload(this.device, buf, src.read());
    this.f32.set(name, buf);
    await this.account(count * 4, count * 4);
  }

  /** A linear layer: one checkpoint matrix, or several fused (stacked, or with `interleave` interleaved rows). */
  private async addLinear({ name, parts, interleave }: Linear): Promise<void> {
    const cols = parts[0]!.shape[1]!;
    const rows = parts.reduce((n, p) => n + p.shape[0]!, 0);
    const values = () => fuseRows(parts.map(read), cols, interleave);
    if (this.format.name === 'f32') {
      const words = storageBuffer(this.device, name, rows * cols * 4); // [N, K] f32
      if (parts.every((p) => p.noise)) await this.fillNoise(words, parts, interleave);
      else upload(this.device, words, values());
      this.linear.set(name, { rows, cols, words });
      await this.account(rows * cols * 4, this.format.bytesPerMatvec(rows, cols));
      return;
    }
    // Packed formats quantize on the host from f32: noise matrices on the pool's workers (startPacking queued
    // them in this order), others here.
    const packed = this.ahead && parts.every((p) => p.noise) ? await this.ahead.next() : undefined;
    if (packed && (packed.rows !== rows || packed.cols !== cols)) {
      throw new Error(`${name}: packed [${packed.rows}, ${packed.cols}] out of order, expected [${rows}, ${cols}]`);
    }
    const p = packed ?? this.format.pack(values(), rows, cols);
    const words = storageBuffer(this.device, name, p.words.byteLength); // [N, rowWords] u32
    upload(this.device, words, p.words);
    let scales: GPUBuffer | undefined;
    if (p.scales) {
      scales = storageBuffer(this.device, `${name}.scales`, p.scales.byteLength); // per row or per group
      upload(this.device, scales, p.scales);
    }
    this.linear.set(name, { rows, cols, words, ...(scales ? { scales } : {}) });
    await this.account(p.words.byteLength + (p.scales?.byteLength ?? 0), this.format.bytesPerMatvec(rows, cols));
  }

  /**
   * Generates noise matrices on the device into `words`. Fused ones are generated part by part and copied into
   * place (fusedLinears' row layout), since a part's noise is a function of its own element index.
   */
  private async fillNoise(words: GPUBuffer, parts: TensorSource[], interleave: boolean): Promise<void> {
    const d = this.device;
    const size = (p: TensorSource) => p.shape[0]! * p.shape[1]!;
    if (parts.length === 1) {
      fillNoiseOnDevice(d, words, parts[0]!.noise!, size(parts[0]!));
      return;
    }
    const cols = parts[0]!.shape[1]!;
    const temps = parts.map((p, i) => {
      const buf = storageBuffer(d, `fuse-part-${i}`, size(p) * 4); // [part rows, K] f32
      fillNoiseOnDevice(d, buf, p.noise!, size(p));
      return buf;
    });
    const enc = d.createCommandEncoder();
    const partRows = parts.map((p) => p.shape[0]!);
    for (const s of rowSpans(partRows, interleave)) {
      enc.copyBufferToBuffer(temps[s.part]!, s.from * cols * 4, words, s.to * cols * 4, s.count * cols * 4);
    }
    d.queue.submit([enc.finish()]);
    await d.queue.onSubmittedWorkDone();
    for (const t of temps) t.destroy();
  }

  /** Tracks sizes; lets the queue drain every ~1 GiB so a big model never piles up in staging memory. */
  private async account(bytes: number, readBytes: number): Promise<void> {
    const before = this.bytes;
    this.bytes += bytes;
    this.readBytesPerToken += readBytes;
    if (Math.floor(before / 2 ** 30) !== Math.floor(this.bytes / 2 ** 30))
      await this.device.queue.onSubmittedWorkDone();
  }

  destroy(): void {
    for (const b of this.f32.values()) b.destroy();
    for (const w of this.linear.values()) {
      w.words.destroy();
      w.scales?.destroy();
    }
  }
}

/** Generates a noise tensor on the device (engine/model/noise.ts's function, bit for bit, for an f32 scale). */
export function fillNoiseOnDevice(
  d: GPUDevice,
  buf: GPUBuffer,
  noise: { seed: number; scale: number },
  count: number,
): void {
  const pipeline = kernelPipeline(d, 'noise', { WG: 256 });
  const params = d.createBuffer({ size: 16, usage: 0x40 | 0x08 }); // UNIFORM | COPY_DST: {seed, count, scale, offset}
  const p = new DataView(new ArrayBuffer(16));
  p.setUint32(0, noise.seed >>> 0, true);
  p.setUint32(4, count, true);
  p.setFloat32(8, noise.scale, true);
  d.queue.writeBuffer(params, 0, p.buffer);
  const enc = d.createCommandEncoder();
  const pass = enc.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(
    0,
    d.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: [
        { binding: 0, resource: { buffer: buf } },
        { binding: 1, resource: { buffer: params } },
      ],
    }),
  );
  const groups = Math.ceil(count / 256);
  const gx = Math.min(groups, MAX_DIM);
  pass.dispatchWorkgroups(gx, Math.ceil(groups / gx));
  pass.end();
  d.queue.submit([enc.finish()]);
}
