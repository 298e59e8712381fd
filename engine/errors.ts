// Typed errors: every failure a user can cause or fix carries a code, a message that says what to do,
// and the process exit code the CLI uses (DESIGN.md: 2 bad input, 3 runtime failure).

export type ErrorCode =
  | 'BAD_INPUT' // a flag, value or request the user can correct
  | 'FILE_NOT_FOUND'
  | 'BAD_CHECKPOINT' // corrupt, truncated or unsupported model file
  | 'BAD_TOKENIZER'
  | 'UNKNOWN_PRESET'
  | 'UNSUPPORTED' // a toggle this adapter cannot honour
  | 'NO_ADAPTER'
  | 'DEVICE_LOST'
  | 'RUNTIME';

const EXIT_CODES: Record<ErrorCode, number> = {
  BAD_INPUT: 2,
  FILE_NOT_FOUND: 2,
  BAD_CHECKPOINT: 2,
  BAD_TOKENIZER: 2,
  UNKNOWN_PRESET: 2,
  UNSUPPORTED: 2,
  NO_ADAPTER: 3,
  DEVICE_LOST: 3,
  RUNTIME: 3,
};

export class BenchError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BenchError';
    this.code = code;
  }
  get exitCode(): number {
    return EXIT_CODES[this.code];
  }
}

export const badInput = (message: string): BenchError => new BenchError('BAD_INPUT', message);
