// Measures what MBU and dispatch-economy figures are judged against: the device's streaming bandwidth (a copy
// kernel, reads + writes) and the fixed costs of a dispatch and of a submit round trip. Bandwidth is cached per
// adapter so `generate` can report MBU without re-measuring every run.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { GpuContext } from './device.ts';
import { kernelPipeline } from './kernels.ts';

export interface DeviceProbe {
  copyGBps: number; // bytes read + written per second / 1e9
  dispatchUs: number; // extra time per dispatch inside one compute pass
  submitUs: number; // one submit + wait for an empty command buffer
  bytes: number; // buffer size the copy used
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function probeDevice(ctx: GpuContext): Promise<DeviceProbe> {
  const d = ctx.device;
  const q = d.queue;
  const max = ctx.limits.maxStorageBufferBindingSize ?? 128 << 20;
  // Big enough to leave caches behind on a GPU; smaller on lavapipe, where it is slow and RAM is the cache.
  const bytes = Math.min(ctx.isSoftware ? 64 << 20 : 512 << 20, max);
  const usage = 0x80 | 0x08; // STORAGE | COPY_DST
  const a = d.createBuffer({ size: bytes, usage });
  const b = d.createBuffer({ size: bytes, usage });
  const copy = kernelPipeline(d, 'copy', { WG: 256 });
  const bind = d.createBindGroup({
    layout: copy.getBindGroupLayout(0),
    entries: [
      { binding: 0, resource: { buffer: a } },
      { binding: 1, resource: { buffer: b } },
    ],
  });
  const groups = ctx.isSoftware ? 64 : 4096;
  const runCopies = async (n: number) => {
    const enc = d.createCommandEncoder();
    const pass = enc.beginComputePass();
    pass.setPipeline(copy);
    pass.setBindGroup(0, bind);
    for (let i = 0; i < n; i++) pass.dispatchWorkgroups(groups);
    pass.end();
    q.submit([enc.finish()]);
    await q.onSubmittedWorkDone();
  };
  await runCopies(2);
  const reps = ctx.isSoftware ? 3 : 20;
  const times: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    await runCopies(reps);
    times.push((performance.now() - t) / reps);
  }
  const copyGBps = (2 * bytes) / (median(times) * 1e6);

  const empty = kernelPipeline(d, 'copy', { WG: 256 }, 'empty');
  const runEmpty = async (n: number) => {
    const enc = d.createCommandEncoder();
    const pass = enc.beginComputePass();
    pass.setPipeline(empty);
    for (let i = 0; i < n; i++) pass.dispatchWorkgroups(1);
    pass.end();
    q.submit([enc.finish()]);
    await q.onSubmittedWorkDone();
  };
  await runEmpty(10);
  const few: number[] = [];
  const many: number[] = [];
  for (let i = 0; i < 5; i++) {
    let t = performance.now();
    await runEmpty(1);
    few.push(performance.now() - t);
    t = performance.now();
    await runEmpty(1001);
    many.push(performance.now() - t);
  }
  a.destroy();
  b.destroy();
  return {
    copyGBps,
    dispatchUs: ((median(many) - median(few)) / 1000) * 1000,
    submitUs: median(few) * 1000,
    bytes,
  };
}

const cacheFile = (ctx: GpuContext) => {
  const key = `${ctx.adapterInfo.vendor}-${ctx.adapterName}`.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 120);
  return join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'llm-bench', `probe-${key}.json`);
};

/** The cached probe for this adapter, measured (and cached) on first use. */
export async function cachedProbe(ctx: GpuContext): Promise<DeviceProbe> {
  const file = cacheFile(ctx);
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as DeviceProbe;
  } catch {
    // No cache yet (or unreadable): measure below.
  }
  const p = await probeDevice(ctx);
  try {
    mkdirSync(join(file, '..'), { recursive: true });
    writeFileSync(`${file}.tmp`, JSON.stringify(p));
    renameSync(`${file}.tmp`, file);
  } catch (e) {
    process.stderr.write(`note: could not cache the bandwidth probe (${(e as Error).message})\n`);
  }
  return p;
}
