// The one entry point that turns a --model argument (checkpoint file, model folder or preset:NAME) into a model, and
// the lighter one that gives only its tokenizer (bench tokenize): that one reads headers and vocabularies, never
// tensors, so it also works on vocab-only GGUF files and on architectures the engine cannot run.
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { BenchError } from '../errors.ts';
import { readGguf } from '../formats/gguf.ts';
import { loadGguf } from '../formats/gguf-model.ts';
import { hfFolderTokenizer, loadHfFolder, loadSafetensorsFile } from '../formats/hf.ts';
import { tokenizerFromGguf } from '../tokenizer/gguf.ts';
import { loadHfTokenizer } from '../tokenizer/hf-json.ts';
import { loadLlama2cTokenizer } from '../tokenizer/llama2c.ts';
import type { Tokenizer } from '../tokenizer/types.ts';
import { type DetectedFormat, detectFormat } from './detect.ts';
import { openLlama2cCheckpoint } from './llama2c.ts';
import type { LoadedModel } from './weights.ts';

export interface LoadOptions {
  /**
   * Tokenizer file (llama2.c tokenizer.bin, tokenizer.json or a GGUF file with tokenizer.ggml.* metadata, told apart
   * by content); it replaces the tokenizer a GGUF file or model folder brings.
   */
  tokenizer?: string;
}

type Loader = (path: string, opts: LoadOptions) => Promise<LoadedModel>;

/** One loader per detected format; a new format plugs in here. */
const loaders: Record<DetectedFormat, Loader> = {
  llama2c: loadLlama2c,
  gguf: async (path, opts) => loadGguf(path, { tokenizer: overrideTokenizer(opts) }),
  safetensors: async (path, opts) => loadSafetensorsFile(path, { tokenizer: overrideTokenizer(opts) }),
  'hf-folder': async (path, opts) => loadHfFolder(path, { tokenizer: overrideTokenizer(opts) }),
};

export async function loadModel(spec: string, opts: LoadOptions = {}): Promise<LoadedModel> {
  if (spec.startsWith('preset:')) return loadPresetModel(spec, opts);
  return loaders[detectFormat(spec)](spec, opts); // detectFormat reports a missing path as FILE_NOT_FOUND
}

type TokenizerLoader = (path: string, opts: LoadOptions) => Tokenizer;

/** The tokenizer alone, per format: headers and vocabularies only. */
const tokenizerLoaders: Record<DetectedFormat, TokenizerLoader> = {
  llama2c: (path, opts) => llama2cTokenizer(path, openLlama2cCheckpoint(path).config.vocabSize, opts),
  gguf: (path, opts) => overrideTokenizer(opts) ?? tokenizerFromGguf(readGguf(path).metadata),
  safetensors: (path, opts) => overrideTokenizer(opts) ?? hfFolderTokenizer(dirname(path)),
  'hf-folder': (path, opts) => overrideTokenizer(opts) ?? hfFolderTokenizer(path),
};

/** The tokenizer of a --model argument without loading its weights (bench tokenize / detokenize). */
export async function loadTokenizer(spec: string, opts: LoadOptions = {}): Promise<Tokenizer> {
  if (spec.startsWith('preset:')) return (await loadPresetModel(spec, opts)).tokenizer; // synthetic tensors are lazy
  return tokenizerLoaders[detectFormat(spec)](spec, opts);
}

async function loadPresetModel(spec: string, opts: LoadOptions): Promise<LoadedModel> {
  if (opts.tokenizer !== undefined) {
    throw new BenchError('BAD_INPUT', `--tokenizer cannot be used with ${spec}: presets bring their own tokenizer`);
  }
  // Imported on demand: building synthetic weights is not needed to load a file.
  const { loadPreset } = await import('./synthetic.ts');
  return loadPreset(spec.slice('preset:'.length));
}

const overrideTokenizer = (opts: LoadOptions): Tokenizer | undefined =>
  opts.tokenizer === undefined ? undefined : loadTokenizerFile(opts.tokenizer);

/**
 * A tokenizer file of any kind the engine reads, told apart by content like model files: "GGUF" magic, a JSON
 * object (tokenizer.json, with tokenizer_config.json beside it when present), else a llama2.c tokenizer.bin.
 */
export function loadTokenizerFile(path: string): Tokenizer {
  if (!existsSync(path)) {
    throw new BenchError(
      'FILE_NOT_FOUND',
      `tokenizer not found: ${path}. Pass a llama2.c tokenizer.bin, a tokenizer.json or a GGUF file`,
    );
  }
  if (!statSync(path).isFile()) throw new BenchError('BAD_TOKENIZER', `tokenizer ${path} is not a file`);
  const head = probe(path, 8);
  if (head.toString('latin1', 0, 4) === 'GGUF') return tokenizerFromGguf(readGguf(path).metadata);
  // tokenizer.bin starts with a u32 max_token_length: a first byte of '{' is followed by zero bytes there
  const text = head.toString('latin1').trimStart();
  if (text.startsWith('{') && !text.includes('\0')) {
    const cfg = join(dirname(path), 'tokenizer_config.json');
    return loadHfTokenizer(path, existsSync(cfg) ? cfg : undefined);
  }
  return loadLlama2cTokenizer(path);
}

function probe(path: string, length: number): Buffer {
  const b = Buffer.alloc(length);
  const fd = openSync(path, 'r');
  try {
    return b.subarray(0, readSync(fd, b, 0, length, 0));
  } finally {
    closeSync(fd);
  }
}

async function loadLlama2c(path: string, opts: LoadOptions): Promise<LoadedModel> {
  const ckpt = openLlama2cCheckpoint(path);
  const tokenizer = llama2cTokenizer(path, ckpt.config.vocabSize, opts);
  return {
    config: ckpt.config,
    info: { name: basename(path, extname(path)), format: 'llama2c', path, synthetic: false },
    tensor: (name) => ckpt.tensor(name),
    tokenizer,
  };
}

/** --tokenizer, else the llama2.c tokenizer beside the model; its vocabulary must be the model's. */
function llama2cTokenizer(path: string, vocab: number, opts: LoadOptions): Tokenizer {
  const tokPath = opts.tokenizer ?? findLlama2cTokenizer(path, vocab);
  const tokenizer = loadTokenizerFile(tokPath);
  if (tokenizer.vocabSize !== vocab) {
    throw new BenchError(
      'BAD_TOKENIZER',
      `tokenizer ${tokPath} has ${tokenizer.vocabSize} tokens but model ${path} has a vocabulary of ${vocab}; ` +
        'pass the tokenizer the model was trained with (--tokenizer FILE)',
    );
  }
  return tokenizer;
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
