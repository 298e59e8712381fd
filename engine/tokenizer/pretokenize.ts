// Pre-tokenization for byte-level BPE: the regex lists llama.cpp uses per `tokenizer.ggml.pre` (llama-vocab.cpp),
// written for JavaScript's Unicode regexes, and GPT-2's byte <-> printable-character table.
// llama.cpp applies the regexes one after the other; each splits every current piece into its matches and the
// unmatched text between them, so unmatched text is never dropped.

import { BenchError } from '../errors.ts';

// (?i:...) groups are spelled out because Node 20's RegExp has no inline modifiers.
const CONTRACTIONS = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])";
const GPT2 = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
const LLAMA3 = `${CONTRACTIONS}|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+`;
const QWEN2 = `${CONTRACTIONS}|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+`;
const GPT4O =
  "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const TEKKEN =
  '[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+';
// DeepSeek's letter class (cased letters), escaped so editors' Unicode normalization cannot alter the ranges.
const DEEPSEEK_LETTERS = `\\s?[\\u{0041}-\\u{005A}\\u{0061}-\\u{007A}\\u{00B5}\\u{00C0}-\\u{00D6}\\u{00D8}-\\u{00F6}\\u{00F8}-\\u{01BA}\\u{01BC}-\\u{01BF}\\u{01C4}-\\u{0293}\\u{0295}-\\u{02AF}\\u{0370}-\\u{0373}\\u{0376}\\u{0377}\\u{037B}-\\u{037D}\\u{037F}\\u{0386}\\u{0388}-\\u{038A}\\u{038C}\\u{038E}-\\u{03A1}\\u{03A3}-\\u{03F5}\\u{03F7}-\\u{0481}\\u{048A}-\\u{052F}\\u{0531}-\\u{0556}\\u{10A0}-\\u{10C5}\\u{13A0}-\\u{13F5}\\u{13F8}-\\u{13FD}\\u{1C90}-\\u{1CBA}\\u{1CBD}-\\u{1CBF}\\u{1D00}-\\u{1D2B}\\u{1D6B}-\\u{1D77}\\u{1D79}-\\u{1D9A}\\u{1E00}-\\u{1F15}\\u{1F18}-\\u{1F1D}\\u{1F20}-\\u{1F45}\\u{1F48}-\\u{1F4D}\\u{1F50}-\\u{1F57}\\u{1F59}\\u{1F5B}\\u{1F5D}\\u{1F5F}-\\u{1F7D}\\u{1F80}-\\u{1FB4}\\u{1FB6}-\\u{1FBC}\\u{1FBE}\\u{1FC2}-\\u{1FC4}\\u{1FC6}-\\u{1FCC}\\u{1FD0}-\\u{1FD3}\\u{1FD6}-\\u{1FDB}\\u{1FE0}-\\u{1FEC}\\u{1FF2}-\\u{1FF4}\\u{1FF6}-\\u{1FFC}\\u{2102}\\u{2107}\\u{210A}-\\u{2113}\\u{2115}\\u{2119}-\\u{211D}\\u{2124}\\u{2126}\\u{2128}\\u{212A}-\\u{212D}\\u{212F}-\\u{2134}\\u{2139}\\u{213C}-\\u{213F}\\u{2145}-\\u{2149}\\u{214E}\\u{2183}\\u{2184}\\u{2C00}-\\u{2C7B}\\u{2C7E}-\\u{2CE4}\\u{2CEB}-\\u{2CEE}\\u{2CF2}\\u{2CF3}\\u{A640}-\\u{A66D}\\u{A680}-\\u{A69B}\\u{A722}-\\u{A76F}\\u{A771}-\\u{A787}\\u{A78B}-\\u{A78E}\\u{AB70}-\\u{ABBF}\\u{FB00}-\\u{FB06}\\u{FB13}-\\u{FB17}\\u{FF21}-\\u{FF3A}\\u{FF41}-\\u{FF5A}\\u{10400}-\\u{1044F}\\u{104B0}-\\u{104D3}\\u{104D8}-\\u{104FB}\\u{10C80}-\\u{10CB2}\\u{10CC0}-\\u{10CF2}\\u{118A0}-\\u{118DF}\\u{1E900}-\\u{1E943}]+`;

export interface PreTokenizerSpec {
  /** The `tokenizer.ggml.pre` name it was chosen by (written back by the GGUF writer). */
  name: string;
  regexes: string[];
  /** Use a whole piece as one token when it is in the vocabulary (llama.cpp `ignore_merges`). */
  ignoreMerges?: boolean;
  /** BOS default before the file's own add_bos_token setting. */
  addBos?: boolean;
}

const SPECS: Record<string, Omit<PreTokenizerSpec, 'name'>> = {
  default: {
    regexes: ['[\\p{P}\\$\\+<=>\\^~\\|]+', GPT2.replace(/\|\\s\+$/, ''), '\\p{N}+', '[0-9][0-9][0-9]'],
  },
  llama3: { regexes: [LLAMA3], ignoreMerges: true, addBos: true },
  'deepseek-llm': {
    regexes: ['[\\r\\n]', DEEPSEEK_LETTERS, '\\s?[!-/:-~！-／：-～‘-‟　-。]+', '\\s+$', '[一-龥ࠀ-一가-퟿]+', '\\p{N}+'],
  },
  'deepseek-coder': { regexes: ['[\\r\\n]', '\\s?\\p{L}+', '\\s?\\p{P}+', '[一-龥ࠀ-一가-퟿]+', '\\p{N}'] },
  'deepseek-v3': {
    regexes: [
      '\\p{N}{1,3}',
      '[一-龥぀-ゟ゠-ヿ]+',
      '[!"#$%&\'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\\r\\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+',
    ],
  },
  falcon: { regexes: ['[\\p{P}\\$\\+<=>\\^~\\|`]+', GPT2, '[0-9][0-9][0-9]'] },
  starcoder: { regexes: ['\\p{N}', GPT2] },
  gpt2: { regexes: [GPT2] },
  qwen2: { regexes: [QWEN2] },
  poro: { regexes: [' ?[^(\\s|.,!?…。，、।۔،)]+'] },
  chatglm4: { regexes: [LLAMA3] },
  viking: { regexes: [' ?[^(\\s|.,!?…。，、।۔،)]+', '\\p{N}'] },
  tekken: { regexes: [TEKKEN], ignoreMerges: true, addBos: true },
  gpt4o: { regexes: [GPT4O] },
  chameleon: {
    regexes: [
      '<sentinel:[0-9]+>',
      '(IMGIMG)((A|B|C|D|E|F|G|H|I){1,4})Z',
      '([\\t\\n]|    |  )',
      '\\p{N}',
      '[\\p{P}!-/:-@\\[-`{-~]',
      GPT2,
    ],
    addBos: true,
  },
};

/** llama.cpp's `tokenizer.ggml.pre` names, grouped onto the regex sets they share. */
const ALIASES: Record<string, string> = {
  'llama-bpe': 'llama3',
  'llama-v3': 'llama3',
  falcon3: 'llama3',
  'falcon-h1': 'llama3',
  pixtral: 'llama3',
  dbrx: 'llama3',
  'smaug-bpe': 'llama3',
  refact: 'starcoder',
  'command-r': 'starcoder',
  smollm: 'starcoder',
  codeshell: 'starcoder',
  exaone: 'starcoder',
  'minerva-7b': 'starcoder',
  'gpt-2': 'gpt2',
  'phi-2': 'gpt2',
  mpt: 'gpt2',
  olmo: 'gpt2',
  jais: 'gpt2',
  'jina-es': 'gpt2',
  'jina-de': 'gpt2',
  'jina-v1-en': 'gpt2',
  'jina-v2-es': 'gpt2',
  'jina-v2-de': 'gpt2',
  'jina-v2-code': 'gpt2',
  'roberta-bpe': 'gpt2',
  gigachat: 'gpt2',
  exaone4: 'gpt2',
  trillion: 'gpt2',
  stablelm2: 'qwen2',
  'deepseek-r1-qwen': 'qwen2',
  megrez: 'qwen2',
  hunyuan: 'qwen2',
  'poro-chat': 'poro',
  bloom: 'poro',
  'gpt3-finnish': 'poro',
  glm4: 'chatglm4',
  'chatglm-bpe': 'chatglm4',
  'gpt-4o': 'gpt4o',
  llama4: 'gpt4o',
  'hunyuan-dense': 'deepseek-v3',
};

export function preTokenizerSpec(pre: string | undefined, where: string): PreTokenizerSpec {
  const key = pre === undefined || pre === '' ? 'default' : (ALIASES[pre] ?? pre);
  const spec = SPECS[key];
  if (!spec) {
    const known = [...Object.keys(SPECS), ...Object.keys(ALIASES)].sort().join(', ');
    throw new BenchError(
      'BAD_TOKENIZER',
      `${where}: pre-tokenizer "${pre}" is not supported (known: ${known}); use a model converted with one of these`,
    );
  }
  return { name: pre === undefined || pre === '' ? 'default' : pre, ...spec };
}

const compiled = new Map<string, RegExp>();

function compile(source: string): RegExp {
  let re = compiled.get(source);
  if (!re) {
    re = new RegExp(source, 'gu');
    compiled.set(source, re);
  }
  return re;
}

/** Splits `pieces` with one regex: matches and the unmatched text between them each become a piece. */
export function regexSplit(pieces: string[], source: string): string[] {
  const re = compile(source);
  const out: string[] = [];
  for (const p of pieces) {
    let last = 0;
    re.lastIndex = 0;
    for (let m = re.exec(p); m; m = re.exec(p)) {
      if (m[0].length === 0) {
        re.lastIndex++; // an empty match splits nothing; step over it as std::regex_iterator does
        continue;
      }
      if (m.index > last) out.push(p.slice(last, m.index));
      out.push(m[0]);
      last = m.index + m[0].length;
    }
    if (last < p.length) out.push(p.slice(last));
  }
  return out;
}

export function preTokenize(text: string, regexes: readonly string[]): string[] {
  let pieces = [text];
  for (const r of regexes) pieces = regexSplit(pieces, r);
  return pieces;
}

// GPT-2's reversible map from bytes to printable characters: printable Latin-1 bytes map to themselves, the rest
// to U+0100 upwards in byte order.
export const BYTE_TO_CHAR: string[] = [];
export const CHAR_TO_BYTE = new Map<string, number>();
{
  let n = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    const ch = String.fromCharCode(printable ? b : 256 + n++);
    BYTE_TO_CHAR[b] = ch;
    CHAR_TO_BYTE.set(ch, b);
  }
}

const enc = new TextEncoder();

export function byteEncode(s: string): string {
  let out = '';
  for (const b of enc.encode(s)) out += BYTE_TO_CHAR[b];
  return out;
}

/** Inverse of byteEncode; characters outside the table keep their own UTF-8 bytes. */
export function byteDecode(s: string): Uint8Array {
  const out: number[] = [];
  for (const ch of s) {
    const b = CHAR_TO_BYTE.get(ch);
    if (b !== undefined) out.push(b);
    else for (const x of enc.encode(ch)) out.push(x);
  }
  return Uint8Array.from(out);
}
