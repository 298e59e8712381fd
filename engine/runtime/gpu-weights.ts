// The model's weights on the device. Norms and the embedding table stay f32 (a decode reads one embedding row and
// a few norm vectors: nothing next to the matrices); every linear layer is packed in the --precision / --quant
// format (engine/ops/weight-formats.ts), which decides both the bytes a decode reads and the kernel that reads them.
import { kernelPipeline } from '../device/kernels.ts';
import { tensorNames } from '../model/config.ts';
import type { LoadedModel, TensorSource } from '../model/weights.ts';
import type { WeightFormat } from '../ops/weight-formats.ts';
import { storageBuffer, upload } from './gpu-buffers.ts';

export interface LinearWeight {
  rows: number; // N
  cols: number; // K
  words: GPUBuffer; // the packed matrix (f32 values for the f32 format)
  scales?: GPUBuffer; // int8 / int4 scales
}

const LINEAR = ['wq', 'wk', 'wv', 'wo', 'w1', 'w2', 'w3'] as const;
export const CLASSIFIER = 'classifier';
const MAX_DIM = 65535;

export class GpuWeights {
  readonly f32 = new Map<string, GPUBuffer>(); // embedding and norms
  readonly linear = new Map<string, LinearWeight>(); // per-layer matrices and the classifier
  bytes = 0; // device memory of all weights
  readBytesPerToken = 0; // what one decode step reads: every matrix once, the norms, one embedding row

  private constructor(
    private readonly device: GPUDevice,
    readonly format: WeightFormat,
  ) {}

  static async upload(device: GPUDevice, model: LoadedModel, format: WeightFormat): Promise<GpuWeights> {
    const w = new GpuWeights(device, format);
    const c = model.config;
    await w.addF32(tensorNames.embedding, model.tensor(tensorNames.embedding));
    w.readBytesPerToken -= (c.vocabSize - 1) * c.dim * 4; // a token reads one row of the table
    await w.addF32(tensorNames.finalNorm, model.tensor(tensorNames.finalNorm));
    for (let l = 0; l < c.nLayers; l++) {
      await w.addF32(tensorNames.attnNorm(l), model.tensor(tensorNames.attnNorm(l)));
      await w.addF32(tensorNames.ffnNorm(l), model.tensor(tensorNames.ffnNorm(l)));
      for (const f of LINEAR) await w.addLinear(tensorNames[f](l), model.tensor(tensorNames[f](l)));
    }
    const cls = model.tensor(c.tiedClassifier ? tensorNames.embedding : tensorNames.classifier);
    if (c.tiedClassifier && format.name === 'f32') {
      // Tied and unpacked: the classifier is the embedding buffer itself.
      w.linear.set(CLASSIFIER, { rows: c.vocabSize, cols: c.dim, words: w.f32.get(tensorNames.embedding)! });
      w.readBytesPerToken += format.bytesPerMatvec(c.vocabSize, c.dim);
    } else {
      await w.addLinear(CLASSIFIER, cls);
    }
    await device.queue.onSubmittedWorkDone();
    return w;
  }

  private async addF32(name: string, src: TensorSource): Promise<void> {
    const count = src.shape.reduce((a, b) => a * b, 1);
    const buf = storageBuffer(this.device, name, count * 4); // row-major, the checkpoint's shape
    if (src.noise) fillNoiseOnDevice(this.device, buf, src.noise, count);
    else upload(this.device, buf, src.read());
    this.f32.set(name, buf);
    await this.account(count * 4, count * 4);
  }

  private async addLinear(name: string, src: TensorSource): Promise<void> {
    const [rows, cols] = src.shape as [number, number];
    if (this.format.name === 'f32') {
      const words = storageBuffer(this.device, name, rows * cols * 4); // [N, K] f32
      if (src.noise) fillNoiseOnDevice(this.device, words, src.noise, rows * cols);
      else upload(this.device, words, src.read());
      this.linear.set(name, { rows, cols, words });
      await this.account(rows * cols * 4, this.format.bytesPerMatvec(rows, cols));
      return;
    }
    // Packed formats quantize on the host from f32 (noise tensors included: read() regenerates them).
    const p = this.format.pack(src.read(), rows, cols);
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
