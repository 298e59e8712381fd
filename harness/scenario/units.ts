// Scalar forms scenario authors write: durations ("30s", "500ms", "2m" or a number of seconds) and percentages
// ("5%" or a number of percent). Parsed once at load time; the rest of the harness sees milliseconds and fractions.
import { z } from 'zod';

const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses "250ms" / "30s" / "2m" / "1h", or a bare number of seconds; undefined when the text is not a duration. */
export function parseDurationMs(v: string | number): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) && v >= 0 ? v * 1000 : undefined;
  const m = DURATION.exec(v.trim());
  if (!m) return undefined;
  return Number(m[1]) * (UNIT_MS[m[2] as string] as number);
}

/** A duration in the scenario; becomes milliseconds. */
export const durationMs = z
  .union([z.number().nonnegative(), z.string().regex(DURATION, 'expected a duration such as 500ms, 30s, 2m or 1h')])
  .transform((v) => parseDurationMs(v) as number)
  .describe('a duration: a number of seconds, or a string such as 500ms, 30s, 2m, 1h');

/** A percentage in the scenario ("5%" or 5); becomes a fraction (0.05). */
export const percent = z
  .union([z.number().nonnegative(), z.string().regex(/^\d+(?:\.\d+)?\s*%$/, 'expected a percentage such as 5%')])
  .transform((v) => (typeof v === 'number' ? v : Number.parseFloat(v)) / 100)
  .describe('a percentage: 5% or 5');
