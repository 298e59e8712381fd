// The one module that owns Dawn. Everything GPU-side gets its GPUDevice from here.
import { create, globals } from 'webgpu';
import { BenchError } from '../errors.ts';

export interface DeviceOptions {
  adapter?: string; // substring of the adapter name, as Dawn's `adapter=` flag matches it
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
}

/** The WebGPU feature behind --subgroup-matrix (Dawn offers it only with allow_unsafe_apis: it is experimental). */
export const SUBGROUP_MATRIX_FEATURE = 'chromium-experimental-subgroup-matrix';

interface SubgroupMatrixConfig {
  componentType: string;
  resultComponentType: string;
  M: number;
  N: number;
  K: number;
}

// dawn.node crashes when the GPU object is garbage-collected while a device lives, so it is pinned here for the life
// of the process; one GPU object per process is also all Dawn wants.
let pinnedGpu: GPU | undefined;
let pinnedAdapterFlag: string | undefined;

function gpuFor(adapter: string | undefined): GPU {
  if (pinnedGpu && pinnedAdapterFlag === adapter) return pinnedGpu;
  Object.assign(globalThis, globals);
  // NVIDIA hides shader-f16 on Vulkan unless Dawn is told to expose it; the subgroup-matrix feature (tensor cores)
  // is experimental, offered only with allow_unsafe_apis. Dawn rounds timestamps to ~65 us unless told not to (a
  // browser's defence against timing attacks): per-kernel profiles need them exact.
  const flags = [
    'enable-dawn-features=vulkan_enable_f16_on_nvidia,allow_unsafe_apis',
    'disable-dawn-features=timestamp_quantization',
  ];
  if (adapter) flags.push(`adapter=${adapter}`);
  pinnedGpu = create(flags);
  pinnedAdapterFlag = adapter;
  (globalThis as Record<string, unknown>).__benchPinnedGpu = pinnedGpu;
  return pinnedGpu;
}

const NO_ADAPTER_HELP =
  'Install a Vulkan driver: on Debian/Ubuntu run ./setup.sh (it installs Mesa lavapipe from bookworm-backports when no GPU driver is present); elsewhere install your GPU vendor driver or Mesa >= 23 (mesa-vulkan-drivers).';

export async function createDevice(opts: DeviceOptions = {}): Promise<GpuContext> {
  process.env.XDG_RUNTIME_DIR ??= '/tmp'; // Mesa warns on every start without it
  const gpu = gpuFor(opts.adapter);
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
  };
}
