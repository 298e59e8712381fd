// Hugging Face tokenizer.json (the `tokenizers` library's format), BPE models only: byte-level BPE (GPT-2, Llama 3,
// Qwen) and SentencePiece-converted BPE with byte fallback (Llama 2, Mistral). The pipeline follows the library:
// added tokens are cut out first, then normalizer, pre-tokenizer, BPE model, post-processor (BOS/EOS template).

import { readFileSync } from 'node:fs';
import { BenchError } from '../errors.ts';
import { BpeMerges } from './bpe.ts';
import { buildNormalizer, buildPreTokenizer, type Normalizer, type PreTokenizer } from './hf-json-steps.ts';
import { byteDecode } from './pretokenize.ts';
import type { EncodeOptions } from './spm.ts';
import type { Tokenizer } from './types.ts';
import { decodeBytes, utf8Bytes } from './vocab.ts';

type Json = Record<string, unknown>;

interface AddedToken {
  id: number;
  content: string;
  special: boolean;
  lstrip: boolean;
  rstrip: boolean;
  normalized: boolean;
}

/** tokenizer_config.json settings that change encoding (transformers applies them on top of tokenizer.json). */
export interface HfTokenizerConfig {
  tokenizer_class?: string;
  add_bos_token?: boolean;
  add_eos_token?: boolean;
  bos_token?: string | { content: string } | null;
  eos_token?: string | { content: string } | null;
  chat_template?: string | { name: string; template: string }[];
}

function fail(where: string, cause: string): never {
  throw new BenchError('BAD_TOKENIZER', `${where}: ${cause}`);
}

function readJson(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new BenchError('FILE_NOT_FOUND', `cannot read ${path}: ${(e as Error).message}`, { cause: e });
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    return fail(path, `not valid JSON (${(e as Error).message}); the file is corrupt or truncated`);
  }
}

export function loadHfTokenizer(path: string, configPath?: string): HfTokenizer {
  const cfg = configPath ? (readJson(configPath) as HfTokenizerConfig) : {};
  const tok = new HfTokenizer(readJson(path) as Json, path, cfg);
  tok.source = { tokenizer: path, config: configPath };
  return tok;
}

const tokenText = (t: HfTokenizerConfig['bos_token']): string | undefined =>
  typeof t === 'string' ? t : (t?.content ?? undefined);

/** transformers' LlamaTokenizerFast rebuilds the post-processor from add_bos_token / add_eos_token. */
const TEMPLATE_FROM_CONFIG = /^(Llama|CodeLlama|Gemma)Tokenizer(Fast)?$/;

export class HfTokenizer implements Tokenizer {
  readonly vocabSize: number;
  readonly bos: number;
  readonly eos: number;
  /** Jinja chat template from tokenizer_config.json, when it has one. */
  readonly chatTemplate: string | undefined;
  /** The files it was read from (a converter copies them). */
  source?: { tokenizer: string; config?: string };
  private readonly pieces: string[] = [];
  private readonly toId = new Map<string, number>();
  private readonly added: AddedToken[];
  private readonly addedByContent = new Map<string, AddedToken>();
  private readonly addedRe: RegExp | undefined;
  private readonly merges: BpeMerges;
  private readonly normalize: Normalizer;
  private readonly preTokenize: PreTokenizer;
  private readonly byteFallback: boolean;
  private readonly ignoreMerges: boolean;
  private readonly unk: number;
  private readonly fuseUnk: boolean;
  private readonly prefixIds: number[];
  private readonly suffixIds: number[];
  private readonly byteLevelDecode: boolean;
  private readonly stripLeadingSpace: boolean;
  /** For stream decoders: SentencePiece-style decoders drop the prefix space after BOS. */
  get stripSpaceAfterBos(): boolean {
    return this.stripLeadingSpace;
  }
  private readonly specialIds = new Set<number>();
  private readonly bytesCache = new Map<number, Uint8Array>();
  /** The Split regexes of the pre-tokenizer, in order (for naming it when writing GGUF). */
  private readonly splitRegexes: string[];

  constructor(j: Json, where: string, cfg: HfTokenizerConfig = {}) {
    const model = (j.model ?? fail(where, 'no "model" section')) as Json;
    if (model.type !== undefined && model.type !== 'BPE') {
      fail(where, `model type "${String(model.type)}" is not supported (only BPE tokenizers are)`);
    }
    if (model.continuing_subword_prefix || model.end_of_word_suffix) {
      fail(where, 'BPE subword prefixes/suffixes are not supported');
    }
    const vocab = (model.vocab ?? fail(where, 'model.vocab is missing')) as Record<string, number>;
    for (const [piece, id] of Object.entries(vocab)) this.setToken(id, piece);
    this.added = ((j.added_tokens as Json[]) ?? []).map((t) => ({
      id: t.id as number,
      content: t.content as string,
      special: t.special === true,
      lstrip: t.lstrip === true,
      rstrip: t.rstrip === true,
      normalized: t.normalized === true,
    }));
    for (const t of this.added) {
      this.addedByContent.set(t.content, t);
      this.setToken(t.id, t.content);
      if (t.special) this.specialIds.add(t.id);
    }
    this.vocabSize = this.pieces.length;
    // Longest first, so the alternation matches leftmost-longest as the library's Aho-Corasick does.
    const alts = [...this.added].sort((a, b) => b.content.length - a.content.length);
    this.addedRe = alts.length
      ? new RegExp(alts.map((t) => t.content.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&')).join('|'), 'gu')
      : undefined;
    this.merges = new BpeMerges((model.merges as (string | [string, string])[]) ?? []);
    this.byteFallback = model.byte_fallback === true;
    this.ignoreMerges = model.ignore_merges === true;
    this.fuseUnk = model.fuse_unk === true;
    this.unk = typeof model.unk_token === 'string' ? (this.toId.get(model.unk_token) ?? -1) : -1;
    this.normalize = buildNormalizer(j.normalizer, `${where}: normalizer`);
    this.preTokenize = buildPreTokenizer(j.pre_tokenizer, `${where}: pre_tokenizer`);
    this.splitRegexes = splitRegexes(j.pre_tokenizer);

    const bosText = tokenText(cfg.bos_token);
    const eosText = tokenText(cfg.eos_token);
    if (cfg.tokenizer_class && TEMPLATE_FROM_CONFIG.test(cfg.tokenizer_class)) {
      const bos = bosText !== undefined ? this.toId.get(bosText) : undefined;
      const eos = eosText !== undefined ? this.toId.get(eosText) : undefined;
      this.prefixIds = (cfg.add_bos_token ?? true) && bos !== undefined ? [bos] : [];
      this.suffixIds = (cfg.add_eos_token ?? false) && eos !== undefined ? [eos] : [];
    } else {
      [this.prefixIds, this.suffixIds] = templateIds(j.post_processor, where);
    }
    // A config that names its BOS/EOS (null included: "none") is authoritative; without one, well-known names are.
    this.bos = this.specialFrom(cfg, 'bos_token', bosText) ?? this.prefixIds[0] ?? this.guess(BOS_NAMES);
    this.eos = this.specialFrom(cfg, 'eos_token', eosText) ?? this.suffixIds[0] ?? this.guess(EOS_NAMES);
    const dec = decoderKind(j.decoder);
    this.byteLevelDecode = dec.byteLevel;
    this.stripLeadingSpace = dec.stripLeadingSpace;
    const tpl = cfg.chat_template;
    this.chatTemplate = typeof tpl === 'string' ? tpl : tpl?.find((t) => t.name === 'default')?.template;
  }

  private setToken(id: number, piece: string): void {
    this.pieces[id] = piece;
    if (!this.toId.has(piece)) this.toId.set(piece, id);
  }

  private specialFrom(
    cfg: HfTokenizerConfig,
    key: 'bos_token' | 'eos_token',
    text: string | undefined,
  ): number | undefined {
    if (!(key in cfg)) return undefined;
    return text === undefined ? -1 : (this.toId.get(text) ?? -1);
  }

  private guess(names: string[]): number {
    for (const n of names) {
      const id = this.toId.get(n);
      if (id !== undefined) return id;
    }
    return -1;
  }

  encode(text: string, options: EncodeOptions = {}): number[] {
    const out: number[] = [];
    if (options.bos ?? true) out.push(...this.prefixIds);
    for (const part of this.splitAdded(text, options.parseSpecial ?? true)) {
      if (typeof part === 'number') out.push(part);
      else this.encodeText(part.text, part.atStart, out);
    }
    if (options.eos ?? true) out.push(...this.suffixIds);
    return out;
  }

  /** Cuts added tokens out of the raw text; special ones only when `parseSpecial`. */
  private splitAdded(text: string, parseSpecial: boolean): (number | { text: string; atStart: boolean })[] {
    const out: (number | { text: string; atStart: boolean })[] = [];
    let last = 0;
    const pushText = (end: number) => {
      if (end > last) out.push({ text: text.slice(last, end), atStart: last === 0 });
    };
    if (this.addedRe) {
      this.addedRe.lastIndex = 0;
      for (let m = this.addedRe.exec(text); m; m = this.addedRe.exec(text)) {
        const tok = this.addedByContent.get(m[0])!;
        if (tok.special && !parseSpecial) continue;
        let start = m.index;
        if (tok.lstrip) while (start > last && /\s/u.test(text[start - 1]!)) start--;
        pushText(start);
        out.push(tok.id);
        last = m.index + m[0].length;
        if (tok.rstrip) while (last < text.length && /\s/u.test(text[last]!)) last++;
        this.addedRe.lastIndex = last;
      }
    }
    pushText(text.length);
    return out;
  }

  private encodeText(text: string, atStart: boolean, out: number[]): void {
    const normalized = this.normalize(text);
    for (const { text: word } of this.preTokenize([{ text: normalized, atStart }])) {
      if (word.length === 0) continue;
      const whole = this.ignoreMerges ? this.toId.get(word) : undefined;
      if (whole !== undefined) {
        out.push(whole);
        continue;
      }
      for (const sym of this.merges.merge(word)) this.pushSymbol(sym, out);
    }
  }

  private pushSymbol(sym: string, out: number[]): void {
    const id = this.toId.get(sym);
    if (id !== undefined) {
      out.push(id);
      return;
    }
    if (this.byteFallback) {
      const ids = Array.from(utf8Bytes(sym), (b) =>
        this.toId.get(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`),
      );
      if (ids.every((x) => x !== undefined)) {
        out.push(...(ids as number[]));
        return;
      }
    }
    if (this.unk < 0) return; // the library drops what it cannot spell when there is no unk token
    if (this.fuseUnk && out.at(-1) === this.unk) return;
    out.push(this.unk);
  }

  /** Special added tokens render as nothing; byte-level pieces are byte-decoded; others unescape U+2581. */
  tokenBytes(id: number): Uint8Array {
    const cached = this.bytesCache.get(id);
    if (cached) return cached;
    const piece = this.pieces[id];
    let bytes: Uint8Array;
    if (piece === undefined || this.specialIds.has(id)) bytes = new Uint8Array(0);
    else if (this.added.some((t) => t.id === id)) bytes = utf8Bytes(piece);
    else if (this.byteLevelDecode) bytes = byteDecode(piece);
    else if (/^<0x[0-9A-Fa-f]{2}>$/.test(piece) && this.byteFallback)
      bytes = Uint8Array.of(Number.parseInt(piece.slice(3, 5), 16));
    else bytes = utf8Bytes(piece.replaceAll('\u2581', ' '));
    this.bytesCache.set(id, bytes);
    return bytes;
  }

  decode(ids: readonly number[], prev?: number): string {
    const parts: Uint8Array[] = [];
    let before = prev;
    for (const id of ids) {
      let b = this.tokenBytes(id);
      // SentencePiece-style decoders strip the prefix space at the start of the text (and after BOS).
      const atStart = parts.every((p) => p.length === 0) && (before === undefined || before === this.bos);
      if (this.stripLeadingSpace && (atStart || before === this.bos) && b[0] === 0x20) b = b.subarray(1);
      parts.push(b);
      before = id;
    }
    return decodeBytes(parts);
  }

  piece(id: number): string {
    return this.pieces[id] ?? '';
  }

  /** The vocabulary in the terms GGUF stores it: byte-level BPE, or SentencePiece-style with byte fallback. */
  exportVocab(): HfVocabExport {
    const types = new Int32Array(this.pieces.length).fill(1);
    for (const t of this.added) types[t.id] = t.special ? 3 : 4;
    if (this.unk >= 0) types[this.unk] = 2;
    if (this.byteFallback) {
      this.pieces.forEach((p, i) => {
        if (/^<0x[0-9A-F]{2}>$/.test(p)) types[i] = 6;
      });
    }
    return {
      kind: this.byteLevelDecode ? 'bpe' : 'spm',
      pieces: this.pieces.map((p, i) => p ?? `[UNUSED_${i}]`),
      merges: this.merges.list(),
      types,
      splitRegexes: this.splitRegexes,
      ignoreMerges: this.ignoreMerges,
      bos: this.bos,
      eos: this.eos,
      unk: this.unk,
      addBos: this.prefixIds.length > 0,
      addEos: this.suffixIds.length > 0,
    };
  }
}

export interface HfVocabExport {
  kind: 'bpe' | 'spm';
  pieces: string[];
  merges: string[];
  types: Int32Array; // GGUF token types
  splitRegexes: string[];
  ignoreMerges: boolean;
  bos: number;
  eos: number;
  unk: number;
  addBos: boolean;
  addEos: boolean;
}

function splitRegexes(pre: unknown): string[] {
  const o = pre as Json | null | undefined;
  if (!o) return [];
  if (o.type === 'Sequence') return ((o.pretokenizers as unknown[]) ?? []).flatMap(splitRegexes);
  if (o.type === 'Split') return [String((o.pattern as Json)?.Regex ?? '')];
  if (o.type === 'ByteLevel' && o.use_regex !== false) return ['<gpt2>'];
  return [];
}

const BOS_NAMES = ['<s>', '<|begin_of_text|>', '<bos>'];
const EOS_NAMES = ['</s>', '<|end_of_text|>', '<|endoftext|>', '<eos>', '<|im_end|>'];

/** BOS/EOS ids the post-processor adds around a single sequence. */
function templateIds(pp: unknown, where: string): [number[], number[]] {
  const o = pp as Json | null | undefined;
  if (!o || o.type === 'ByteLevel') return [[], []];
  if (o.type === 'Sequence') {
    const pre: number[] = [];
    const suf: number[] = [];
    for (const p of (o.processors as unknown[]) ?? []) {
      const [a, b] = templateIds(p, where);
      pre.push(...a);
      suf.push(...b);
    }
    return [pre, suf];
  }
  if (o.type === 'TemplateProcessing') {
    const specials = (o.special_tokens ?? {}) as Record<string, { ids: number[] }>;
    const pre: number[] = [];
    const suf: number[] = [];
    let seenA = false;
    for (const item of (o.single as Json[]) ?? []) {
      if (item.Sequence) seenA = true;
      const sp = item.SpecialToken as { id: string } | undefined;
      if (sp)
        (seenA ? suf : pre).push(...(specials[sp.id]?.ids ?? fail(where, `post_processor: unknown special ${sp.id}`)));
    }
    return [pre, suf];
  }
  if (o.type === 'RobertaProcessing' || o.type === 'BertProcessing') {
    const cls = (o.cls as [string, number])[1];
    const sep = (o.sep as [string, number])[1];
    return [[cls], [sep]];
  }
  return fail(where, `post_processor "${String(o.type)}" is not supported`);
}

function decoderKind(d: unknown): { byteLevel: boolean; stripLeadingSpace: boolean } {
  const o = d as Json | null | undefined;
  if (!o) return { byteLevel: false, stripLeadingSpace: false };
  if (o.type === 'ByteLevel') return { byteLevel: true, stripLeadingSpace: false };
  if (o.type === 'Metaspace') return { byteLevel: false, stripLeadingSpace: o.prepend_scheme !== 'never' };
  if (o.type === 'Sequence') {
    const steps = (o.decoders as Json[]) ?? [];
    const byteLevel = steps.some((s) => s.type === 'ByteLevel');
    const strip = steps.some((s) => (s.type === 'Strip' && Number(s.start) > 0) || s.type === 'Metaspace');
    return { byteLevel, stripLeadingSpace: strip };
  }
  return { byteLevel: false, stripLeadingSpace: false };
}
