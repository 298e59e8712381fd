// Chat prompt templates: one per model family, chosen from the vocabulary (never from a file name) or named
// with --chat-template, which also accepts a YAML file in the small syntax documented in docs/server.md.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { BenchError, badInput } from '../errors.ts';
import type { Tokenizer } from '../tokenizer/types.ts';
import type { ChatMessage } from './validate.ts';

const templateSpec = z.object({
  bos: z.boolean().optional(), // prepend the tokenizer's BOS (default: when it has one)
  system: z.string().optional(), // default: the user template
  user: z.string(),
  assistant: z.string(),
  user_with_system: z.string().optional(), // a system message followed by a user message, as one block
  generation: z.string(), // appended after the last message to cue the reply
  stop: z.array(z.string().min(1)).optional(), // stop strings added to every chat request
});
export type TemplateSpec = z.infer<typeof templateSpec>;

const H = (role: string): string => `{token:<|start_header_id|>}${role}{token:<|end_header_id|>}\n\n`;

export const BUILTIN_TEMPLATES: Record<string, TemplateSpec> = {
  // llama2.c stories models and synthetic presets were never chat-tuned: a readable transcript is the honest choice.
  plain: {
    system: 'system: {content}\n',
    user: 'user: {content}\n',
    assistant: 'assistant: {content}\n',
    generation: 'assistant:',
    stop: ['\nuser:'],
  },
  // Llama-2-chat, as its Hugging Face template renders it (BOS before every [INST], EOS after every answer).
  llama2: {
    bos: false,
    system: '{bos}[INST] <<SYS>>\n{content}\n<</SYS>>\n\n [/INST]',
    user: '{bos}[INST] {content} [/INST]',
    user_with_system: '{bos}[INST] <<SYS>>\n{system}\n<</SYS>>\n\n{content} [/INST]',
    assistant: ' {content} {eos}',
    generation: '',
  },
  llama3: {
    system: `${H('system')}{content}{token:<|eot_id|>}`,
    user: `${H('user')}{content}{token:<|eot_id|>}`,
    assistant: `${H('assistant')}{content}{token:<|eot_id|>}`,
    generation: H('assistant'),
    stop: ['<|eot_id|>'],
  },
};

type Part =
  | { kind: 'text'; text: string }
  | { kind: 'var'; name: 'content' | 'system' }
  | { kind: 'ids'; ids: number[] };

export interface ChatTemplate {
  readonly name: string;
  readonly stop: readonly string[];
  /** Token ids of the rendered conversation, ending with the generation cue. */
  render(messages: readonly ChatMessage[]): number[];
}

const vocabCache = new WeakMap<Tokenizer, Map<string, number>>();

/** The id of the vocabulary entry whose bytes spell `text` (special tokens such as <|eot_id|>), or -1. */
export function findToken(tok: Tokenizer, text: string): number {
  let map = vocabCache.get(tok);
  if (!map) {
    map = new Map();
    const dec = new TextDecoder();
    for (let id = 0; id < tok.vocabSize; id++) {
      const s = dec.decode(tok.tokenBytes(id));
      if (!map.has(s)) map.set(s, id);
    }
    vocabCache.set(tok, map);
  }
  return map.get(text) ?? -1;
}

function compile(source: string, tok: Tokenizer, where: string): Part[] {
  const parts: Part[] = [];
  let last = 0;
  for (const m of source.matchAll(/\{(content|system|bos|eos|token:[^}]+)\}/g)) {
    if (m.index > last) parts.push({ kind: 'text', text: source.slice(last, m.index) });
    last = m.index + m[0].length;
    const name = m[1]!;
    if (name === 'content' || name === 'system') parts.push({ kind: 'var', name });
    else if (name === 'bos' || name === 'eos') {
      const id = name === 'bos' ? tok.bos : tok.eos;
      if (id < 0)
        throw badInput(
          `chat template ${where} uses {${name}} but the tokenizer has no ${name.toUpperCase()} token; pick another template`,
        );
      parts.push({ kind: 'ids', ids: [id] });
    } else {
      const text = name.slice('token:'.length);
      const id = findToken(tok, text);
      if (id < 0)
        throw badInput(
          `chat template ${where} uses token ${text}, which is not in this model's vocabulary; pick another template`,
        );
      parts.push({ kind: 'ids', ids: [id] });
    }
  }
  if (last < source.length) parts.push({ kind: 'text', text: source.slice(last) });
  return parts;
}

const textOf = (m: ChatMessage): string =>
  typeof m.content === 'string' ? m.content : m.content === null ? '' : m.content.map((p) => p.text).join('');

export function compileTemplate(name: string, spec: TemplateSpec, tok: Tokenizer): ChatTemplate {
  const c = (key: keyof TemplateSpec, s: string): Part[] => compile(s, tok, `${name}.${key}`);
  const system = c('system', spec.system ?? spec.user);
  const user = c('user', spec.user);
  const assistant = c('assistant', spec.assistant);
  const userWithSystem = spec.user_with_system === undefined ? undefined : c('user_with_system', spec.user_with_system);
  const generation = c('generation', spec.generation);
  const bos = (spec.bos ?? true) && tok.bos >= 0;

  const render = (messages: readonly ChatMessage[]): number[] => {
    const segments: (string | number[])[] = [];
    const emit = (parts: Part[], vars: { content: string; system: string }): void => {
      for (const p of parts) {
        if (p.kind === 'ids') segments.push(p.ids);
        else segments.push(p.kind === 'text' ? p.text : vars[p.name]);
      }
    };
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i]!;
      const next = messages[i + 1];
      const isSystem = m.role === 'system' || m.role === 'developer';
      if (isSystem && userWithSystem && next?.role === 'user') {
        emit(userWithSystem, { system: textOf(m), content: textOf(next) });
        i++;
      } else {
        emit(isSystem ? system : m.role === 'user' ? user : assistant, { content: textOf(m), system: '' });
      }
    }
    emit(generation, { content: '', system: '' });
    // Text between special tokens is encoded run by run, as Hugging Face tokenizers do around added tokens.
    const ids: number[] = bos ? [tok.bos] : [];
    let run = '';
    const flush = (): void => {
      if (run.length > 0) ids.push(...tok.encode(run, { bos: false }));
      run = '';
    };
    for (const s of segments) {
      if (typeof s === 'string') run += s;
      else {
        flush();
        ids.push(...s);
      }
    }
    flush();
    return ids;
  };
  return { name, stop: spec.stop ?? [], render };
}

/** A Llama-3 vocabulary announces itself through its header tokens; everything else gets `plain`. */
export function detectFamily(tok: Tokenizer): string {
  const llama3 = ['<|start_header_id|>', '<|end_header_id|>', '<|eot_id|>'].every((t) => findToken(tok, t) >= 0);
  return llama3 ? 'llama3' : 'plain';
}

/** `choice`: a built-in name, a path to a YAML template file, or undefined to detect from the vocabulary. */
export function resolveChatTemplate(tok: Tokenizer, choice?: string): ChatTemplate {
  const name = choice ?? detectFamily(tok);
  const builtin = BUILTIN_TEMPLATES[name];
  if (builtin) return compileTemplate(name, builtin, tok);
  let source: string;
  try {
    source = readFileSync(name, 'utf8');
  } catch (err) {
    throw new BenchError(
      'FILE_NOT_FOUND',
      `--chat-template ${name} is neither a built-in template (${Object.keys(BUILTIN_TEMPLATES).join(', ')}) nor a readable file`,
      { cause: err },
    );
  }
  let doc: unknown;
  try {
    doc = parseYaml(source);
  } catch (err) {
    throw badInput(`chat template file ${name} is not valid YAML: ${err instanceof Error ? err.message : String(err)}`);
  }
  const r = templateSpec.safeParse(doc);
  if (!r.success) {
    const i = r.error.issues[0];
    throw badInput(
      `chat template file ${name}: ${i ? `${i.path.join('.') || '(top level)'}: ${i.message}` : 'invalid'}; see docs/server.md`,
    );
  }
  return compileTemplate(name, r.data, tok);
}
