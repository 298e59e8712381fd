// Chat templates: the built-ins render the documented transcripts (expected strings written out by hand),
// Llama-3 is detected from its header tokens, and template files in the YAML syntax work and fail clearly.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { BenchError } from '../../../engine/errors.ts';
import { detectFamily, resolveChatTemplate } from '../../../engine/server/chat-template.ts';
import type { Tokenizer } from '../../../engine/tokenizer/types.ts';
import { ByteTokenizer } from './echo-engine.ts';

const bytes = new ByteTokenizer();
const enc = (s: string): number[] => bytes.encode(s, { bos: false });
const BOS = 1;
const EOS = 2;

/** The byte tokenizer plus a few special tokens at the end of the vocabulary, as Llama-3 has. */
class SpecialTokenizer extends ByteTokenizer implements Tokenizer {
  static readonly specials = ['<|start_header_id|>', '<|end_header_id|>', '<|eot_id|>'];
  override readonly vocabSize = 259 + SpecialTokenizer.specials.length;
  override tokenBytes(id: number): Uint8Array {
    const s = SpecialTokenizer.specials[id - 259];
    return s === undefined ? super.tokenBytes(id) : new TextEncoder().encode(s);
  }
}
const [SH, EH, EOT] = [259, 260, 261];

const convo = [
  { role: 'system' as const, content: 'S' },
  { role: 'user' as const, content: 'U1' },
  { role: 'assistant' as const, content: 'A1' },
  {
    role: 'user' as const,
    content: [
      { type: 'text' as const, text: 'U' },
      { type: 'text' as const, text: '2' },
    ],
  },
];

test('plain: "role: content" lines, BOS first, "assistant:" cue, stop at the next user turn', () => {
  const t = resolveChatTemplate(bytes, 'plain');
  assert.deepEqual(t.render(convo), [BOS, ...enc('system: S\nuser: U1\nassistant: A1\nuser: U2\nassistant:')]);
  assert.deepEqual(t.stop, ['\nuser:']);
});

test('llama2: system folded into the first [INST], BOS before each turn, EOS after each answer', () => {
  const t = resolveChatTemplate(bytes, 'llama2');
  assert.deepEqual(t.render(convo), [
    BOS,
    ...enc('[INST] <<SYS>>\nS\n<</SYS>>\n\nU1 [/INST] A1 '),
    EOS,
    BOS,
    ...enc('[INST] U2 [/INST]'),
  ]);
  assert.deepEqual(t.render([{ role: 'user', content: 'hi' }]), [BOS, ...enc('[INST] hi [/INST]')]);
});

test('llama3: header tokens looked up in the vocabulary; detected from them', () => {
  const tok = new SpecialTokenizer();
  assert.equal(detectFamily(tok), 'llama3');
  assert.equal(detectFamily(bytes), 'plain');
  const t = resolveChatTemplate(tok);
  assert.equal(t.name, 'llama3');
  assert.deepEqual(t.render([{ role: 'user', content: 'hi' }]), [
    BOS,
    SH,
    ...enc('user'),
    EH,
    ...enc('\n\nhi'),
    EOT,
    SH,
    ...enc('assistant'),
    EH,
    ...enc('\n\n'),
  ]);
  assert.throws(
    () => resolveChatTemplate(bytes, 'llama3'),
    (e: unknown) => e instanceof BenchError && /<\|start_header_id\|>/.test(e.message),
  );
});

test('a YAML template file: placeholders, BOS off, extra stop strings; literal braces in content stay text', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tpl-'));
  const file = join(dir, 't.yaml');
  writeFileSync(
    file,
    [
      'bos: false',
      'user: "<u>{content}</u>"',
      'assistant: "<a>{content}{eos}"',
      'generation: "<a>"',
      'stop: ["</a>"]',
      '',
    ].join('\n'),
  );
  const t = resolveChatTemplate(bytes, file);
  assert.deepEqual(
    t.render([
      { role: 'system', content: 'sys' },
      { role: 'user', content: '{bos}' },
      { role: 'assistant', content: 'ok' },
    ]),
    [...enc('<u>sys</u><u>{bos}</u><a>ok'), EOS, ...enc('<a>')],
    'system falls back to the user template; {bos} inside a message is just text',
  );
  assert.deepEqual(t.stop, ['</a>']);
});

test('template errors are typed and say what to do', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tpl-'));
  const missing = join(dir, 'nope.yaml');
  assert.throws(
    () => resolveChatTemplate(bytes, missing),
    (e: unknown) => e instanceof BenchError && e.code === 'FILE_NOT_FOUND' && /plain, llama2, llama3/.test(e.message),
  );
  const noUser = join(dir, 'bad.yaml');
  writeFileSync(noUser, 'assistant: "x"\ngeneration: ""\n');
  assert.throws(
    () => resolveChatTemplate(bytes, noUser),
    (e: unknown) => e instanceof BenchError && e.code === 'BAD_INPUT' && /user/.test(e.message),
  );
  const badYaml = join(dir, 'bad2.yaml');
  writeFileSync(badYaml, 'user: "x\n');
  assert.throws(
    () => resolveChatTemplate(bytes, badYaml),
    (e: unknown) => e instanceof BenchError && /not valid YAML/.test(e.message),
  );
  const unknownToken = join(dir, 'bad3.yaml');
  writeFileSync(unknownToken, 'user: "{token:<|im_start|>}{content}"\nassistant: "{content}"\ngeneration: ""\n');
  assert.throws(
    () => resolveChatTemplate(bytes, unknownToken),
    (e: unknown) => e instanceof BenchError && /<\|im_start\|>/.test(e.message),
  );
});
