// Small helpers over GPUBuffer creation and upload, so the runner reads as a list of named buffers.
export const STORAGE = 0x80 | 0x08 | 0x04; // GPUBufferUsage.STORAGE | COPY_DST | COPY_SRC

export function storageBuffer(device: GPUDevice, label: string, bytes: number): GPUBuffer {
  // WebGPU rejects zero-sized bindings; 4-byte alignment is required for writeBuffer.
  const size = Math.max(16, Math.ceil(bytes / 16) * 16);
  return device.createBuffer({ label, size, usage: STORAGE });
}

/** Uploads in slices: one huge writeBuffer would need a staging copy of the whole tensor at once. */
export function upload(device: GPUDevice, buffer: GPUBuffer, data: ArrayBufferView, offset = 0): void {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const slice = 64 << 20;
  for (let o = 0; o < bytes.byteLength; o += slice) {
    device.queue.writeBuffer(buffer, offset + o, bytes, o, Math.min(slice, bytes.byteLength - o));
  }
}

/** Buffer i at binding i; an undefined entry is a binding the entry point does not use ('auto' layouts omit it). */
export function bindGroup(
  device: GPUDevice,
  pipeline: GPUComputePipeline,
  buffers: (GPUBuffer | undefined)[],
): GPUBindGroup {
  const entries: GPUBindGroupEntry[] = [];
  buffers.forEach((buffer, binding) => {
    if (buffer) entries.push({ binding, resource: { buffer } });
  });
  return device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries });
}

/** Reads a buffer back (test and readback helper; the hot path keeps its own staging buffer). */
export async function readBuffer(device: GPUDevice, src: GPUBuffer, bytes: number, offset = 0): Promise<ArrayBuffer> {
  const staging = device.createBuffer({ size: Math.ceil(bytes / 4) * 4, usage: 0x01 | 0x08 }); // MAP_READ | COPY_DST
  const enc = device.createCommandEncoder();
  enc.copyBufferToBuffer(src, offset, staging, 0, Math.ceil(bytes / 4) * 4);
  device.queue.submit([enc.finish()]);
  await staging.mapAsync(0x0001); // GPUMapMode.READ
  const out = staging.getMappedRange().slice(0, bytes);
  staging.unmap();
  staging.destroy();
  return out;
}
