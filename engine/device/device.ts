// The one module that owns Dawn. Everything GPU-side gets its GPUDevice from here.
import { create, globals } from 'webgpu';
import { BenchError } from '../errors.ts';

export interface DeviceOptions {
  adapter?: string; // substring of the adapter name, as Dawn's `adapter=` flag matches it
  checks?: GpuChecks; // --gpu-checks (default off)
  features?: GPUFeatureName[]; // extra features the caller needs; missing ones are an UNSUPPORTED error
}

export interface GpuContext {
  device: GPUDevice;
  adapterName: string;
  adapterInfo: { vendor: string; architecture: string; device: string; description: string };
  features: string[]; // what the adapter offers (the device enables shader-f16/subgroups/timestamp-query when present)
  limits: Record<string, number>;
  hasF16: boolean;
  hasTimestamps: boolean;
  isSoftware: boolean; // lavapipe/llvmpipe/SwiftShader: timings mean CPU speed
  wgslFeatures: string[]; // WGSL language features the implementation has (e.g. packed_4x8_integer_dot_product)
  // The matrix units are usable by kernels/matmul_mma.wgsl: the subgroup-matrix feature with a 16x16x16 f16
  // configuration that accumulates in f32, shader-f16, and subgroups of exactly 32 invocations (NVIDIA's).
  subgroupMatrix: boolean;
  subgroupMinSize: number; // the adapter's smallest subgroup (invocations) where the device has subgroups, else 0
  checks: GpuChecks; // Dawn's safety checks in effect (GPU_CHECK_TOGGLES)
}

/** The --gpu-checks toggle's values. */
export const GPU_CHECK_MODES = ['on', 'off'] as const;
export type GpuChecks = (typeof GPU_CHECK_MODES)[number];

// What --gpu-checks off turns off: the checks a browser needs against untrusted pages, which a native engine running
// its own kernels does without (as CUDA engines do): validation of every API call (CPU time per dispatch: encoding and
// submitting a 229-dispatch llama-7b step took 2.75 ms with it on an H100 host, 2.20 without), bounds checks added to
// every buffer access in the shaders (robustness), and the zeroing of workgroup memory at the start of every
// workgroup (the integer-dot kernel holds up to 48 KiB). llama-7b on an H100, one machine session
// (docs/benchmarks.md, session 10): f16 146.6 -> 151.5 tok/s, int4-g64 296.9 -> 330.2. The kernels clamp their own
// indices and never read workgroup memory they did not write; `on` is for finding out when one does, as WebGPU errors.
export const GPU_CHECK_TOGGLES = ['skip_validation', 'disable_robustness', 'disable_workgroup_init'];

/** The WebGPU feature behind --subgroup-matrix (Dawn offers it only with allow_unsafe_apis: it is experimental). */
export const SUBGROUP_MATRIX_FEATURE = 'chromium-experimental-subgroup-matrix';

interface SubgroupMatrixConfig {
  componentType: string;
  resultComponentType: string;
  M: number;
  N: number;
  K: number;
}

// dawn.node crashes when the GPU object is garbage-collected while a device lives, so each is pinned here for the life
// of the process (one per flag set: Dawn takes its toggles when the GPU object is created).
const pinnedGpus = new Map<string, GPU>();

function gpuFor(adapter: string | undefined, checks: GpuChecks): GPU {
  const key = `${adapter ?? ''}|${checks}`;
  const pinned = pinnedGpus.get(key);
  if (pinned) return pinned;
  Object.assign(globalThis, globals);
  // NVIDIA hides shader-f16 on Vulkan unless Dawn is told to expose it; the subgroup-matrix feature (tensor cores)
  // is experimental, offered only with allow_unsafe_apis. Dawn rounds timestamps to ~65 us unless told not to (a
  // browser's defence against timing attacks): per-kernel profiles need them exact.
  const enabled = ['vulkan_enable_f16_on_nvidia', 'allow_unsafe_apis', ...(checks === 'off' ? GPU_CHECK_TOGGLES : [])];
  const flags = [`enable-dawn-features=${enabled.join(',')}`, 'disable-dawn-features=timestamp_quantization'];
  if (adapter) flags.push(`adapter=${adapter}`);
  const gpu = create(flags);
  pinnedGpus.set(key, gpu);
  return gpu;
}

const NO_ADAPTER_HELP =
  'Install a Vulkan driver: on Debian/Ubuntu run ./setup.sh (it installs Mesa lavapipe from bookworm-backports when no GPU driver is present); elsewhere install your GPU vendor driver or Mesa >= 23 (mesa-vulkan-drivers).';

export async function createDevice(opts: DeviceOptions = {}): Promise<GpuContext> {
  process.env.XDG_RUNTIME_DIR ??= '/tmp'; // Mesa warns on every start without it
  const checks = opts.checks ?? 'off';
  const gpu = gpuFor(opts.adapter, checks);
  let adapter: GPUAdapter | null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  } catch (e) {
    // Dawn lists the available adapters in this message, which is what the user needs to pick --adapter.
    const detail = e instanceof Error ? e.message.replace(/\s+/g, ' ').trim() : String(e);
    if (opts.adapter)
      throw new BenchError('NO_ADAPTER', `no WebGPU adapter matches --adapter "${opts.adapter}": ${detail}`);
    throw new BenchError('NO_ADAPTER', `no WebGPU adapter found (${detail}). ${NO_ADAPTER_HELP}`);
  }
  if (!adapter) throw new BenchError('NO_ADAPTER', `no WebGPU adapter found. ${NO_ADAPTER_HELP}`);

  const offered = [...adapter.features] as string[];
  const wanted = ['shader-f16', 'subgroups', 'timestamp-query', SUBGROUP_MATRIX_FEATURE].filter((f) =>
    offered.includes(f),
  ) as GPUFeatureName[];
  for (const f of opts.features ?? []) {
    if (!offered.includes(f)) {
      throw new BenchError(
        'UNSUPPORTED',
        `adapter "${adapter.info.description}" does not support the WebGPU feature ${f}`,
      );
    }
    if (!wanted.includes(f)) wanted.push(f);
  }
  // The defaults are far below what real adapters allow (e.g. 128 MiB storage bindings); ask for everything.
  const limits: Record<string, number> = {};
  for (const key in adapter.limits) {
    const v = (adapter.limits as unknown as Record<string, unknown>)[key];
    if (typeof v === 'number') limits[key] = v;
  }
  const requiredLimits: Record<string, number> = {};
  for (const key of [
    'maxStorageBufferBindingSize',
    'maxBufferSize',
    'maxComputeWorkgroupStorageSize',
    'maxComputeInvocationsPerWorkgroup',
    'maxComputeWorkgroupSizeX',
    'maxComputeWorkgroupsPerDimension',
    'maxStorageBuffersPerShaderStage',
  ]) {
    const v = limits[key];
    if (v !== undefined) requiredLimits[key] = v;
  }
  const device = await adapter.requestDevice({ requiredFeatures: wanted, requiredLimits });
  device.addEventListener('uncapturederror', (ev) => {
    const err = (ev as GPUUncapturedErrorEvent).error;
    process.stderr.write(`WebGPU error: ${err.message}\n`);
  });
  const info = adapter.info as GPUAdapterInfo & {
    subgroupMatrixConfigs?: SubgroupMatrixConfig[];
    subgroupMinSize?: number;
    subgroupMaxSize?: number;
  };
  const f16x16 = (info.subgroupMatrixConfigs ?? []).some(
    (c) => c.componentType === 'f16' && c.resultComponentType === 'f32' && c.M === 16 && c.N === 16 && c.K === 16,
  );
  const subgroupMinSize = wanted.includes('subgroups') ? (info.subgroupMinSize ?? 0) : 0;
  const description = info.description || info.device || info.vendor || 'unknown adapter';
  return {
    device,
    adapterName: description,
    adapterInfo: {
      vendor: info.vendor,
      architecture: info.architecture,
      device: info.device,
      description: info.description,
    },
    features: offered.sort(),
    limits,
    hasF16: wanted.includes('shader-f16'),
    hasTimestamps: wanted.includes('timestamp-query'),
    isSoftware: /llvmpipe|lavapipe|swiftshader|software/i.test(`${description} ${info.architecture}`),
    wgslFeatures: [...gpu.wgslLanguageFeatures].sort(),
    subgroupMatrix:
      wanted.includes(SUBGROUP_MATRIX_FEATURE as GPUFeatureName) &&
      wanted.includes('shader-f16') &&
      f16x16 &&
      subgroupMinSize === 32 &&
      info.subgroupMaxSize === 32,
    subgroupMinSize,
    checks,
  };
}
