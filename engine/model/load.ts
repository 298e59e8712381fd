// The one entry point that turns a --model argument (checkpoint file, model folder or preset:NAME) into a model.
import { existsSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { BenchError } from '../errors.ts';
import { loadLlama2cTokenizer } from '../tokenizer/llama2c.ts';
import { type DetectedFormat, detectFormat } from './detect.ts';
import { openLlama2cCheckpoint } from './llama2c.ts';
import type { LoadedModel } from './weights.ts';

export interface LoadOptions {
  /** Tokenizer file; formats with an embedded tokenizer (GGUF, HF folders) may ignore it. */
  tokenizer?: string;
}

type Loader = (path: string, opts: LoadOptions) => Promise<LoadedModel>;

const notYet =
  (what: string): Loader =>
  async (path) => {
    throw new BenchError(
      'UNSUPPORTED',
      `${what} loading is not available yet (${path}); use a llama2.c .bin checkpoint or preset:NAME`,
    );
  };

/** One loader per detected format; a new format plugs in here. */
const loaders: Record<DetectedFormat, Loader> = {
  llama2c: loadLlama2c,
  gguf: notYet('GGUF'),
  safetensors: notYet('safetensors'),
  'hf-folder': notYet('Hugging Face folder'),
};

export async function loadModel(spec: string, opts: LoadOptions = {}): Promise<LoadedModel> {
  if (spec.startsWith('preset:')) {
    if (opts.tokenizer !== undefined) {
      throw new BenchError('BAD_INPUT', `--tokenizer cannot be used with ${spec}: presets bring their own tokenizer`);
    }
    // Imported on demand: building synthetic weights is not needed to load a file.
    const { loadPreset } = await import('./synthetic.ts');
    return loadPreset(spec.slice('preset:'.length));
  }
  return loaders[detectFormat(spec)](spec, opts); // detectFormat reports a missing path as FILE_NOT_FOUND
}

async function loadLlama2c(path: string, opts: LoadOptions): Promise<LoadedModel> {
  const ckpt = openLlama2cCheckpoint(path);
  const vocab = ckpt.config.vocabSize;
  const tokPath = opts.tokenizer ?? findLlama2cTokenizer(path, vocab);
  const tokenizer = loadLlama2cTokenizer(tokPath);
  if (tokenizer.vocabSize !== vocab) {
    throw new BenchError(
      'BAD_TOKENIZER',
      `tokenizer ${tokPath} has ${tokenizer.vocabSize} tokens but model ${path} has a vocabulary of ${vocab}; ` +
        'pass the tokenizer the model was trained with (--tokenizer FILE)',
    );
  }
  return {
    config: ckpt.config,
    info: { name: basename(path, extname(path)), format: 'llama2c', path, synthetic: false },
    tensor: (name) => ckpt.tensor(name),
    tokenizer,
  };
}

/** llama2.c keeps the tokenizer beside the model: tokenizer.bin, or tok<vocab>.bin for custom vocabularies. */
function findLlama2cTokenizer(modelPath: string, vocab: number): string {
  const candidates = [join(dirname(modelPath), 'tokenizer.bin'), join(dirname(modelPath), `tok${vocab}.bin`)];
  const found = candidates.find((p) => existsSync(p));
  if (found) return found;
  throw new BenchError(
    'BAD_INPUT',
    `no tokenizer for ${modelPath}: looked for ${candidates.join(' and ')}. ` +
      'Pass the llama2.c tokenizer.bin with --tokenizer FILE',
  );
}
