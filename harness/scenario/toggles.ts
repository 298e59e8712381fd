// The engine toggles as scenario keys (DESIGN.md "Toggles": one name everywhere). The scenario key is the camelCase
// toggle name; the `bench serve` flag is its kebab-case form. Values are validated here so that a typo fails when the
// scenario is loaded, not minutes later when the engine refuses to start.
import { z } from 'zod';

const positiveInt = z.number().int().positive();

/** `fusion: on` is a string in YAML 1.2, but people also write `true`/`false`; both mean the same. */
const onOff = z.union([z.enum(['on', 'off']), z.boolean().transform((b) => (b ? 'on' : 'off'))]);

export const engineToggleShape = {
  gpuChecks: onOff.optional().describe("Dawn's WebGPU safety checks (off: what native engines run)"),
  precision: z.enum(['f32', 'f16', 'bf16']).optional(),
  quant: z.enum(['none', 'int8', 'int4']).optional(),
  groupSize: z
    .union([z.literal(32), z.literal(64), z.literal(128)])
    .optional()
    .describe('int4 group size'),
  asymmetric: z.boolean().optional().describe('int4: asymmetric groups'),
  kvCache: z.enum(['f32', 'f16', 'int8']).optional(),
  attention: z.enum(['naive', 'flash']).optional(),
  fusion: onOff.optional(),
  intDot: onOff.optional().describe('int8/int4: activations quantized to int8, integer dot products'),
  subgroupMatrix: z
    .union([z.enum(['auto', 'on', 'off']), z.boolean().transform((b) => (b ? 'on' : 'off'))])
    .optional()
    .describe('steps of many tokens on the GPU matrix units (auto: where the adapter has them)'),
  decodeAhead: onOff.optional().describe('greedy decode steps submitted before the previous one is read back'),
  workgroupSize: z.union([z.literal(64), z.literal(128), z.literal(256)]).optional(),
  batch: z.enum(['none', 'static', 'continuous']).optional(),
  maxBatch: positiveInt.optional(),
  kvBlockSize: positiveInt.optional(),
  maxNumTokens: positiveInt.optional(),
  prefillChunk: positiveInt.optional(),
  spec: z.enum(['none', 'draft', 'ngram', 'layerskip']).optional(),
  specDepth: z.number().int().min(0).optional().describe('tokens proposed per step; 0 means no speculation'),
  draftModel: z.string().min(1).optional(),
  ngramSize: positiveInt.optional().describe('spec ngram: longest suffix looked up'),
  exitLayer: positiveInt.optional().describe('spec layerskip: layers the drafter runs'),
} as const;

export type ToggleName = keyof typeof engineToggleShape;
export const TOGGLE_NAMES = Object.keys(engineToggleShape) as ToggleName[];

/** camelCase toggle name -> the kebab-case flag `bench serve` takes. */
export function toFlag(name: string): string {
  return `--${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/**
 * The argv for `bench serve` that selects these toggles (unset toggles are left to the engine's defaults).
 * Boolean toggles are bare flags. `specDepth: 0` (a sweep's "no speculation" point) becomes `--spec none`.
 */
export function toggleArgs(toggles: Partial<Record<ToggleName, string | number | boolean | undefined>>): string[] {
  const t = { ...toggles };
  if (t.specDepth === 0) {
    t.spec = 'none';
    t.specDepth = undefined;
  }
  const args: string[] = [];
  for (const name of TOGGLE_NAMES) {
    const v = t[name];
    if (v === undefined || v === false) continue;
    if (v === true) args.push(toFlag(name));
    else args.push(toFlag(name), String(v));
  }
  return args;
}
