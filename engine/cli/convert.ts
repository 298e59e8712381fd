// `bench convert IN OUT --format gguf|safetensors|llama2c [--quant Q]`: any model the engine loads, written in another
// format, one tensor in memory at a time and atomically (temporary name, then rename).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Command } from 'commander';
import { badInput } from '../errors.ts';
import { writeFileAtomically, writeFolderAtomically } from '../formats/atomic.ts';
import { type GgufOutType, writeHfFolder, writeModelGguf, writeModelSafetensors } from '../formats/convert.ts';
import { llama2cTokenizerBin, writeModelLlama2c } from '../formats/llama2c-write.ts';
import { loadModel } from '../model/load.ts';
import type { LoadedModel } from '../model/weights.ts';
import { enumArg } from './options.ts';

const FORMATS = ['gguf', 'safetensors', 'llama2c'] as const;
type OutFormat = (typeof FORMATS)[number];
const QUANTS = ['f32', 'f16', 'bf16', 'q8_0', 'q4_0', 'q4_1'] as const;
type Quant = (typeof QUANTS)[number];

/** Storage types each format can hold. */
const ALLOWED: Record<OutFormat, readonly Quant[]> = {
  gguf: QUANTS,
  safetensors: ['f32', 'f16', 'bf16'],
  llama2c: ['f32'],
};

interface ConvertFlags {
  format: OutFormat;
  quant: Quant;
  tokenizer?: string;
}

export function registerConvert(program: Command): void {
  program
    .command('convert')
    .description('write a model in another format (GGUF, safetensors / Hugging Face folder, llama2.c)')
    .argument('<in>', 'checkpoint file or model folder to read')
    .argument(
      '<out>',
      'file to write; for safetensors a Hugging Face folder (config.json, model.safetensors, tokenizer.json) ' +
        'unless the name ends in .safetensors',
    )
    .requiredOption('--format <f>', `output format: ${FORMATS.join(', ')}`, enumArg('--format', FORMATS))
    .option(
      '--quant <q>',
      'weight storage type (gguf: all; safetensors: f32, f16, bf16; llama2c: f32)',
      enumArg('--quant', QUANTS),
      'f32',
    )
    .option('--tokenizer <file>', "tokenizer of IN when it is not beside it (llama2.c) or to replace the model's own")
    .action(async (input: string, out: string, f: ConvertFlags) => {
      if (!ALLOWED[f.format].includes(f.quant)) {
        throw badInput(`--quant ${f.quant} cannot be stored as ${f.format} (choose ${ALLOWED[f.format].join(', ')})`);
      }
      const model = await loadModel(input, f.tokenizer === undefined ? {} : { tokenizer: f.tokenizer });
      const what = `${f.format} ${f.quant}`;
      for (const line of convert(model, out, f)) process.stderr.write(`${line}\n`);
      process.stdout.write(`wrote ${out} (${what}) from ${model.info.name}\n`);
    });
}

/** Writes `model` to `out`; returns notes for the user. */
function convert(model: LoadedModel, out: string, f: ConvertFlags): string[] {
  switch (f.format) {
    case 'gguf':
      writeFileAtomically(out, (tmp) => writeModelGguf(tmp, model, f.quant as GgufOutType));
      return [];
    case 'safetensors': {
      const dtype = f.quant === 'f16' ? 'F16' : f.quant === 'bf16' ? 'BF16' : 'F32';
      if (out.endsWith('.safetensors')) {
        writeFileAtomically(out, (tmp) => writeModelSafetensors(tmp, model, dtype));
        return [
          `note: ${out} holds the weights and config.json (in __metadata__) but no tokenizer: load it with ` +
            '--tokenizer FILE or a tokenizer.json beside it, or convert to a folder instead',
        ];
      }
      if (existsSync(join(out, 'model.safetensors.index.json'))) {
        throw badInput(
          `${out} holds a sharded model (model.safetensors.index.json), which would shadow the new model.safetensors; choose an empty folder`,
        );
      }
      writeFolderAtomically(out, (tmp) => writeHfFolder(tmp, model, dtype));
      return [];
    }
    case 'llama2c':
      return writeLlama2c(model, out);
  }
}

/** The v0 checkpoint, and tokenizer.bin beside it when the vocabulary has that form and the name is free. */
function writeLlama2c(model: LoadedModel, out: string): string[] {
  const tok = llama2cTokenizerBin(model.tokenizer, `model ${model.info.name}`);
  const tokPath = join(dirname(out), 'tokenizer.bin');
  if ('reason' in tok) {
    writeFileAtomically(out, (tmp) => writeModelLlama2c(tmp, model));
    return [
      `note: the tokenizer stays separate: it has no llama2.c tokenizer.bin form (${tok.reason}); ` +
        `load ${out} with --tokenizer FILE (the source model's GGUF or tokenizer.json works)`,
    ];
  }
  const existing = existsSync(tokPath) ? readFileSync(tokPath) : undefined;
  if (existing && !existing.equals(tok.bytes)) {
    throw badInput(
      `${tokPath} already exists and holds another tokenizer; write ${out} into a folder of its own ` +
        '(llama2.c runners find the tokenizer beside the model)',
    );
  }
  writeFileAtomically(out, (tmp) => writeModelLlama2c(tmp, model));
  if (!existing) writeFileAtomically(tokPath, (tmp) => writeFileSync(tmp, tok.bytes));
  return [`note: the llama2.c tokenizer of ${out} is ${tokPath}`];
}
