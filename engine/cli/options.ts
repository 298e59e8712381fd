// Command-line values validated once, at the boundary: every parser throws a BAD_INPUT BenchError that names the
// flag, the value and what is allowed.
import { InvalidArgumentError } from 'commander';

export function intArg(flag: string, min: number, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
      const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`;
      throw new InvalidArgumentError(`${flag} must be an integer ${range}, got "${value}"`);
    }
    return n;
  };
}

export function numArg(flag: string, min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < min || n > max) {
      throw new InvalidArgumentError(`${flag} must be a number from ${min} to ${max}, got "${value}"`);
    }
    return n;
  };
}

export function enumArg<T extends string>(flag: string, values: readonly T[]) {
  return (value: string): T => {
    if (!(values as readonly string[]).includes(value)) {
      throw new InvalidArgumentError(`${flag} must be one of ${values.join(', ')}, got "${value}"`);
    }
    return value as T;
  };
}
