// `bench tokenize` / `bench detokenize`: the model's own tokenizer from the command line, as the model's native
// runtime applies it. Only the tokenizer is loaded (headers and vocabulary), so vocab-only GGUF files work too.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { badInput } from '../errors.ts';
import { type LoadOptions, loadTokenizer } from '../model/load.ts';

interface TokenizeFlags {
  model: string;
  tokenizer?: string;
  bos: boolean; // commander's --no-bos sets it false
}

const MODEL_HELP = 'checkpoint file, model folder, vocab-only GGUF, or preset:NAME';
const TOKENIZER_HELP = "tokenizer file (tokenizer.bin, tokenizer.json or GGUF); default: the model's own";

export function registerTokenize(program: Command): void {
  program
    .command('tokenize')
    .description("print the model's token ids for TEXT as a JSON array")
    .argument('<text>', 'text to encode, or - to read it from stdin (taken exactly, trailing newline included)')
    .requiredOption('--model <m>', MODEL_HELP)
    .option('--tokenizer <file>', TOKENIZER_HELP)
    .option('--no-bos', "do not add the beginning-of-sequence token (default: as the model's tokenizer does)")
    .action(async (text: string, f: TokenizeFlags) => {
      const tok = await loadTokenizer(f.model, loadOptions(f));
      // Default: the tokenizer's own add-BOS setting (GPT-2 style vocabularies add none), as native runtimes do.
      const ids = tok.encode(text === '-' ? readStdin() : text, f.bos ? {} : { bos: false });
      process.stdout.write(`${JSON.stringify(ids)}\n`);
    });
  program
    .command('detokenize')
    .description('print the text of token ids (a newline is added only when stdout is a terminal)')
    .argument('<ids>', 'a JSON array or comma/space-separated ids, or - to read them from stdin')
    .requiredOption('--model <m>', MODEL_HELP)
    .option('--tokenizer <file>', TOKENIZER_HELP)
    .action(async (arg: string, f: TokenizeFlags) => {
      const tok = await loadTokenizer(f.model, loadOptions(f));
      const ids = parseIds(arg === '-' ? readStdin() : arg);
      const bad = ids.find((id) => id >= tok.vocabSize);
      if (bad !== undefined) throw badInput(`token id ${bad} is outside the vocabulary [0, ${tok.vocabSize})`);
      // The exact text: piping it back into `bench tokenize -` must give the same ids.
      process.stdout.write(tok.decode(ids) + (process.stdout.isTTY ? '\n' : ''));
    });
}

const loadOptions = (f: TokenizeFlags): LoadOptions => (f.tokenizer === undefined ? {} : { tokenizer: f.tokenizer });

function readStdin(): string {
  return readFileSync(0, 'utf8');
}

/** "[1, 2, 3]", "1,2,3" or "1 2 3" (any mix of commas and whitespace) -> ids. */
export function parseIds(text: string): number[] {
  const s = text.trim();
  let items: unknown[];
  if (s.startsWith('[')) {
    try {
      const v: unknown = JSON.parse(s);
      if (!Array.isArray(v)) throw new Error('not an array');
      items = v;
    } catch (e) {
      throw badInput(`token ids "${clip(s)}" are not a JSON array (${(e as Error).message}); pass e.g. [1, 15043]`);
    }
  } else {
    items = s === '' ? [] : s.split(/[\s,]+/).filter((x) => x !== '');
  }
  return items.map((x) => {
    const n = typeof x === 'string' && /^\d+$/.test(x) ? Number(x) : x;
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) {
      throw badInput(
        `${clip(typeof x === 'string' ? `"${x}"` : JSON.stringify(x))} is not a token id; pass a JSON array like [1, 15043] or ids separated by commas or spaces`,
      );
    }
    return n;
  });
}

const clip = (s: string) => (s.length > 40 ? `${s.slice(0, 40)}...` : s);
