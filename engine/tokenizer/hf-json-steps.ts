// The normalizer and pre-tokenizer steps of a Hugging Face tokenizer.json, each built once from its JSON into a
// function, and the translation of the Rust (Oniguruma-style) regexes they carry into JavaScript RegExps.

import { BenchError } from '../errors.ts';
import { byteEncode } from './pretokenize.ts';

type Json = Record<string, unknown>;

export type Normalizer = (s: string) => string;
/** Maps the current splits to new ones; `atStart` tells whether a split begins the original text. */
export type PreTokenizer = (splits: Split[]) => Split[];

export interface Split {
  text: string;
  atStart: boolean;
}

function fail(where: string, cause: string): never {
  throw new BenchError('BAD_TOKENIZER', `${where}: ${cause}`);
}

/**
 * Rust regex syntax -> JavaScript (u flag): `(?i:...)` groups become explicit case classes (Node 20 has no inline
 * modifiers), possessive quantifiers become greedy ones (as llama.cpp does), and identity escapes that Unicode mode
 * rejects (`\'`, `\"`, ...) lose their backslash.
 */
export function toJsRegex(src: string): string {
  let out = '';
  let inClass = false;
  let classBody = ''; // letters and ranges of the current class, for case folding
  const caseStack: number[] = []; // parenthesis depth of each open (?i: group
  let depth = 0;
  let prevQuant = false; // the previous token was a quantifier: a '+' now makes it possessive
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    const afterQuant = prevQuant;
    prevQuant = false;
    if (c === '\\') {
      const n = src[i + 1] ?? '';
      i++;
      if (/[A-Za-z0-9\\^$.*+?()[\]{}|/-]/.test(n)) {
        out += `\\${n}`;
        if ((n === 'p' || n === 'P' || n === 'u' || n === 'x') && src[i + 1] === '{') {
          const end = src.indexOf('}', i);
          out += src.slice(i + 1, end + 1);
          i = end;
        }
      } else out += n;
      if (inClass) classBody += ' '; // an escape is never a letter to fold
      continue;
    }
    if (inClass) {
      if (c === ']') {
        inClass = false;
        out += caseStack.length ? classCaseVariants(classBody) : '';
        classBody = '';
      } else classBody += c;
      out += c;
      continue;
    }
    if (c === '[') {
      inClass = true;
      out += c;
      if (src[i + 1] === '^') out += src[++i];
      continue;
    }
    if (c === '(') {
      depth++;
      if (src.startsWith('(?i:', i)) {
        caseStack.push(depth);
        out += '(?:';
        i += 3;
        continue;
      }
      out += c;
      if (src[i + 1] === '?') out += src[++i]; // group syntax, not a quantifier
      continue;
    }
    if (c === ')') {
      if (caseStack.at(-1) === depth) caseStack.pop();
      depth--;
      out += c;
      continue;
    }
    if (c === '+' && afterQuant) continue; // possessive -> greedy
    const counted = c === '{' ? /^\{\d+(,\d*)?\}/.exec(src.slice(i)) : null;
    if (counted) {
      out += counted[0];
      i += counted[0].length - 1;
      prevQuant = true;
      continue;
    }
    if (c === '*' || c === '+' || (c === '?' && !afterQuant)) prevQuant = true;
    out += caseStack.length && /[A-Za-z]/.test(c) ? `[${c.toLowerCase()}${c.toUpperCase()}]` : c;
  }
  return out;
}

function pattern(p: unknown, where: string): RegExp {
  const o = p as Json;
  if (typeof o?.String === 'string') return new RegExp(o.String.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&'), 'gu');
  if (typeof o?.Regex === 'string') {
    try {
      return new RegExp(toJsRegex(o.Regex), 'gu');
    } catch (e) {
      return fail(where, `regex ${JSON.stringify(o.Regex)} cannot be used: ${(e as Error).message}`);
    }
  }
  return fail(where, 'pattern is neither {String} nor {Regex}');
}

export function buildNormalizer(j: unknown, where: string): Normalizer {
  if (j === null || j === undefined) return (s) => s;
  const o = j as Json;
  switch (o.type) {
    case 'Sequence': {
      const steps = ((o.normalizers as unknown[]) ?? []).map((n, i) =>
        buildNormalizer(n, `${where}.normalizers[${i}]`),
      );
      return (s) => steps.reduce((acc, f) => f(acc), s);
    }
    case 'NFC':
    case 'NFD':
    case 'NFKC':
    case 'NFKD': {
      const form = o.type;
      return (s) => s.normalize(form);
    }
    case 'Lowercase':
      return (s) => s.toLowerCase();
    case 'Prepend': {
      const pre = String(o.prepend ?? '');
      return (s) => (s.length ? pre + s : s);
    }
    case 'Replace': {
      const re = pattern(o.pattern, where);
      const content = String(o.content ?? '');
      return (s) => s.replace(re, () => content);
    }
    case 'Strip': {
      const left = o.strip_left !== false;
      const right = o.strip_right !== false;
      return (s) => (left && right ? s.trim() : left ? s.trimStart() : right ? s.trimEnd() : s);
    }
    case 'StripAccents':
      return (s) => s.normalize('NFD').replace(/\p{Mn}/gu, '');
    default:
      return fail(where, `normalizer "${String(o.type)}" is not supported`);
  }
}

type Behavior = 'Removed' | 'Isolated' | 'MergedWithPrevious' | 'MergedWithNext' | 'Contiguous';

/** The other-case twins of a class's letters and letter ranges ("a-z" -> "A-Z"), for (?i:[...]). */
function classCaseVariants(body: string): string {
  let extra = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    const swap = (x: string) => (x === x.toLowerCase() ? x.toUpperCase() : x.toLowerCase());
    if (body[i + 1] === '-' && i + 2 < body.length && /[A-Za-z]/.test(c) && /[A-Za-z]/.test(body[i + 2]!)) {
      extra += `${swap(c)}-${swap(body[i + 2]!)}`;
      i += 2;
    } else if (/[A-Za-z]/.test(c)) extra += swap(c);
  }
  return extra;
}

/** HF's split with a behaviour: how matched parts relate to the text around them. */
function splitBy(text: string, re: RegExp, behavior: Behavior, invert: boolean): string[] {
  const parts: { s: string; match: boolean }[] = [];
  let last = 0;
  re.lastIndex = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (m[0].length === 0) {
      re.lastIndex++;
      continue;
    }
    if (m.index > last) parts.push({ s: text.slice(last, m.index), match: invert });
    parts.push({ s: m[0], match: !invert });
    last = m.index + m[0].length;
  }
  if (last < text.length) parts.push({ s: text.slice(last), match: invert });
  const out: string[] = [];
  switch (behavior) {
    case 'Removed':
      for (const p of parts) if (!p.match) out.push(p.s);
      return out;
    case 'Isolated':
      return parts.map((p) => p.s);
    case 'MergedWithPrevious':
      for (const p of parts) {
        if (p.match && out.length) out[out.length - 1] += p.s;
        else out.push(p.s);
      }
      return out;
    case 'MergedWithNext': {
      let carry = '';
      for (const p of parts) {
        if (p.match) carry += p.s;
        else {
          out.push(carry + p.s);
          carry = '';
        }
      }
      if (carry) out.push(carry);
      return out;
    }
    case 'Contiguous': {
      let prevMatch: boolean | undefined;
      for (const p of parts) {
        if (p.match && prevMatch) out[out.length - 1] += p.s;
        else out.push(p.s);
        prevMatch = p.match;
      }
      return out;
    }
  }
}

const GPT2_RE = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

function mapSplits(f: (s: Split) => string[]): PreTokenizer {
  return (splits) => splits.flatMap((sp) => f(sp).map((text, i) => ({ text, atStart: sp.atStart && i === 0 })));
}

export function buildPreTokenizer(j: unknown, where: string): PreTokenizer {
  if (j === null || j === undefined) return (s) => s;
  const o = j as Json;
  switch (o.type) {
    case 'Sequence': {
      const steps = ((o.pretokenizers as unknown[]) ?? []).map((p, i) =>
        buildPreTokenizer(p, `${where}.pretokenizers[${i}]`),
      );
      return (s) => steps.reduce((acc, f) => f(acc), s);
    }
    case 'ByteLevel': {
      const prefix = o.add_prefix_space === true;
      const useRegex = o.use_regex !== false;
      return mapSplits((sp) => {
        const text = prefix && sp.atStart && !sp.text.startsWith(' ') ? ` ${sp.text}` : sp.text;
        const words = useRegex ? splitBy(text, GPT2_RE, 'Isolated', false) : [text];
        return words.map(byteEncode);
      });
    }
    case 'Split': {
      const re = pattern(o.pattern, where);
      const behavior = (o.behavior as Behavior) ?? 'Isolated';
      const invert = o.invert === true;
      return mapSplits((sp) => splitBy(sp.text, re, behavior, invert));
    }
    case 'Metaspace': {
      const rep = String(o.replacement ?? '\u2581');
      const scheme = (o.prepend_scheme as string) ?? (o.add_prefix_space === false ? 'never' : 'always');
      const split = o.split !== false;
      return mapSplits((sp) => {
        let t = sp.text.replaceAll(' ', rep);
        const prepend = scheme === 'always' || (scheme === 'first' && sp.atStart);
        if (prepend && !t.startsWith(rep)) t = rep + t;
        return split ? splitBy(t, new RegExp(rep, 'gu'), 'MergedWithNext', false) : [t];
      });
    }
    case 'Digits': {
      const re = o.individual_digits ? /\p{N}/gu : /\p{N}+/gu;
      return mapSplits((sp) => splitBy(sp.text, re, 'Isolated', false));
    }
    case 'Punctuation': {
      const behavior = (o.behavior as Behavior) ?? 'Isolated';
      return mapSplits((sp) => splitBy(sp.text, /[\p{P}\p{S}]/gu, behavior, false));
    }
    case 'Whitespace':
      return mapSplits((sp) => splitBy(sp.text, /\w+|[^\w\s]+/gu, 'Removed', true));
    case 'WhitespaceSplit':
      return mapSplits((sp) => sp.text.split(/\s+/u).filter((w) => w.length > 0));
    default:
      return fail(where, `pre-tokenizer "${String(o.type)}" is not supported`);
  }
}
