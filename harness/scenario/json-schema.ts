// The JSON Schema of scenario files, generated from the same zod schema the loader validates with, so editor
// completion (yaml-language-server: `# yaml-language-server: $schema=...`) never drifts from the loader.
import { z } from 'zod';
import { ScenarioSchema } from './schema.ts';

let cached: Record<string, unknown> | undefined;

/** Input-side schema: what a person may write (defaults optional, durations as "30s" or numbers). */
export function scenarioJsonSchema(): Record<string, unknown> {
  cached ??= {
    ...(z.toJSONSchema(ScenarioSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>),
    title: 'llm-bench scenario',
    description: 'A benchmark scenario for `bench run` (see docs/metrics.md for metric definitions).',
  };
  return cached;
}
