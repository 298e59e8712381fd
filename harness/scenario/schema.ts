// The scenario file format, as one zod schema: the loader validates with it, `bench schema` emits its JSON Schema,
// and the rest of the harness works on the typed output (durations in ms, percentages as fractions).
import { z } from 'zod';
import { METRIC_NAMES } from '../metrics/names.ts';
import { engineToggleShape } from './toggles.ts';
import { durationMs, percent } from './units.ts';

const positiveInt = z.number().int().positive();

export const EngineTargetSchema = z
  .object({
    model: z.string().min(1).describe('checkpoint file, model folder, or preset:NAME'),
    ...engineToggleShape,
    adapter: z.string().min(1).optional().describe('GPU adapter name (bench serve --adapter)'),
    maxQueue: positiveInt.optional().describe('server queue bound (bench serve --max-queue)'),
    args: z.array(z.string()).optional().describe('extra `bench serve` arguments, appended verbatim'),
    startupTimeout: durationMs.default(180_000).describe('how long to wait for /health'),
  })
  .strict();

export const TargetSchema = z
  .object({
    engine: EngineTargetSchema.optional().describe('spawn the built-in engine (`bench serve`) per configuration'),
    url: z.url().optional().describe('base URL of a running OpenAI-compatible or TGI server'),
    api: z.enum(['openai', 'tgi']).default('openai').describe('request dialect for url targets'),
    model: z.string().min(1).optional().describe('model name sent in OpenAI requests'),
    apiKeyEnv: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name')
      .optional()
      .describe('name of the environment variable holding the API key; the key itself is never stored'),
    health: z.boolean().default(false).describe('url targets: wait for GET /health before the run'),
  })
  .strict()
  .superRefine((t, ctx) => {
    if ((t.engine === undefined) === (t.url === undefined)) {
      ctx.addIssue({ code: 'custom', message: 'a target needs exactly one of `engine:` or `url:`', path: [] });
    }
  });

const Distribution = z.union([
  positiveInt,
  z
    .object({
      mean: z.number().positive(),
      std: z.number().nonnegative().default(0),
      min: positiveInt.optional(),
      max: positiveInt.optional(),
    })
    .strict(),
]);

export const WorkloadSchema = z
  .object({
    prompts: z
      .union([z.literal('synthetic'), z.object({ file: z.string().min(1) }).strict()])
      .default('synthetic')
      .describe('synthetic prompts, or a JSONL file of {"prompt": ..., "outputTokens"?: n} lines'),
    promptTokens: Distribution.default(128).describe('prompt length in tokens: a number or {mean, std, min, max}'),
    outputTokens: Distribution.default(128).describe('output length in tokens: a number or {mean, std, min, max}'),
    ignoreEos: z.boolean().default(true).describe('generate exactly outputTokens (ignore_eos)'),
    temperature: z.number().min(0).default(0),
    topP: z.number().gt(0).max(1).optional(),
    topK: z.number().int().min(0).optional(),
    seed: z.number().int().default(1).describe('seeds prompt text and lengths'),
  })
  .strict();

export const LoadSchema = z
  .object({
    mode: z.enum(['closed', 'open', 'autocannon']).default('closed'),
    concurrency: positiveInt.optional().describe('closed: concurrent clients; open: cap on requests in flight'),
    rate: z.number().positive().optional().describe('open loop: mean requests per second'),
    arrival: z.enum(['constant', 'poisson', 'gamma']).default('poisson'),
    burstiness: z.number().positive().default(1).describe('gamma shape: 1 = Poisson, <1 burstier, >1 smoother'),
    requests: positiveInt.optional().describe('measured requests (warm-up and cool-down come on top)'),
    duration: durationMs.optional().describe('stop issuing requests after this long'),
    warmup: z.number().int().min(0).default(0).describe('requests run before measuring, excluded from stats'),
    cooldown: z.number().int().min(0).default(0).describe('requests issued after the measured ones, excluded'),
    timeout: durationMs.default(120_000).describe('per-request timeout'),
    repeats: positiveInt.default(1).describe('run each configuration this many times (confidence intervals)'),
    connections: positiveInt.default(10).describe('autocannon mode: connections'),
  })
  .strict()
  .superRefine((l, ctx) => {
    if (l.requests === undefined && l.duration === undefined) {
      ctx.addIssue({ code: 'custom', message: 'load needs `requests:` or `duration:` (or both)', path: [] });
    }
    if (l.mode === 'open' && l.rate === undefined) {
      ctx.addIssue({ code: 'custom', message: 'open-loop load needs `rate:` (requests per second)', path: ['rate'] });
    }
    if (l.mode === 'closed' && l.rate !== undefined) {
      ctx.addIssue({ code: 'custom', message: '`rate:` applies to mode: open only', path: ['rate'] });
    }
  });

/** Per-request thresholds (ttftMs...) decide goodput; percentile bounds (ttftP99Ms...) decide whether a config meets the SLO. */
const sloKeys = Object.fromEntries(
  ['ttft', 'itl', 'tpot', 'e2e'].flatMap((f) =>
    ['', 'P50', 'P90', 'P95', 'P99'].map((s) => [`${f}${s}Ms`, z.number().positive().optional()]),
  ),
) as Record<string, z.ZodOptional<z.ZodNumber>>;
export const SloSchema = z.object(sloKeys).strict();

export const REPORT_FORMATS = ['json', 'md', 'csv', 'html', 'png'] as const;
export const ReportSchema = z
  .object({
    formats: z.array(z.enum(REPORT_FORMATS)).default([...REPORT_FORMATS]),
    title: z.string().optional(),
  })
  .strict();

export const GateSchema = z
  .object({
    metric: z.enum(METRIC_NAMES as [string, ...string[]]),
    baseline: z.string().min(1).optional().describe('baseline file (relative to the scenario); default: --baseline'),
    between: z
      .object({ base: z.string().min(1), candidate: z.string().min(1) })
      .strict()
      .optional()
      .describe('compare two configurations of this run by name'),
    configs: z.array(z.string()).optional().describe('configurations gated against the baseline (default: all)'),
    maxRegression: percent.optional().describe('fail when significantly worse by more than this'),
    minImprovement: percent.optional().describe('fail unless significantly better by at least this'),
    max: z.number().optional().describe('absolute bound: fail when the value is above it (e.g. errorRate: 0)'),
    min: z.number().optional().describe('absolute bound: fail when the value is below it'),
    alpha: z.number().gt(0).lt(1).default(0.05).describe('significance level of the statistical test'),
  })
  .strict()
  .superRefine((g, ctx) => {
    const kinds = [g.maxRegression, g.minImprovement, g.max, g.min].filter((v) => v !== undefined).length;
    if (kinds !== 1) {
      const message = 'a gate needs exactly one of maxRegression, minImprovement, max, min';
      ctx.addIssue({ code: 'custom', message, path: [] });
    }
    if ((g.max !== undefined || g.min !== undefined) && (g.baseline !== undefined || g.between !== undefined)) {
      ctx.addIssue({ code: 'custom', message: 'max and min are absolute bounds: no baseline or between', path: [] });
    }
    if (g.baseline !== undefined && g.between !== undefined) {
      ctx.addIssue({ code: 'custom', message: 'a gate compares to `baseline:` or `between:`, not both', path: [] });
    }
  });

const matrixValue = z.union([z.string(), z.number(), z.boolean()]);
export const MatrixSchema = z
  .union([
    z.record(z.string(), z.array(matrixValue).min(1)),
    z.array(z.record(z.string(), z.union([matrixValue, z.null()]))).min(1),
  ])
  .describe(
    'a map of key -> values (cartesian sweep) or a list of points; keys are dotted paths such as engine.specDepth',
  );

export const ScenarioSchema = z
  .object({
    $schema: z.string().optional(),
    name: z.string().regex(/^[A-Za-z0-9._-]+$/, 'expected letters, digits, ".", "_" or "-"'),
    description: z.string().optional(),
    target: TargetSchema,
    matrix: MatrixSchema.optional(),
    workload: WorkloadSchema.default(WorkloadSchema.parse({})),
    load: LoadSchema,
    slo: SloSchema.optional(),
    report: ReportSchema.default(ReportSchema.parse({})),
    gates: z.array(GateSchema).default([]),
  })
  .strict();

export type Scenario = z.output<typeof ScenarioSchema>;
export type ScenarioInput = z.input<typeof ScenarioSchema>;
export type EngineTarget = z.output<typeof EngineTargetSchema>;
export type Target = z.output<typeof TargetSchema>;
export type Workload = z.output<typeof WorkloadSchema>;
export type Load = z.output<typeof LoadSchema>;
export type Slo = z.output<typeof SloSchema>;
export type Gate = z.output<typeof GateSchema>;
export type ReportFormat = (typeof REPORT_FORMATS)[number];
export type LengthDistribution = z.output<typeof Distribution>;
