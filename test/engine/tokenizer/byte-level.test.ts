import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ByteLevelTokenizer, pseudoWord } from '../../../engine/tokenizer/byte-level.ts';

test('encode maps UTF-8 bytes one to one after BOS (id = byte + 3)', () => {
  const t = new ByteLevelTokenizer();
  assert.deepEqual(t.encode('Hi'), [1, 0x48 + 3, 0x69 + 3]);
  assert.deepEqual(t.encode('é', { bos: false }), [0xc3 + 3, 0xa9 + 3]);
  assert.equal(t.encode('añ🙂').length, 1 + 1 + 2 + 4);
  assert.deepEqual(t.encode(''), [1]);
});

test('decode inverts encode; specials decode to nothing', () => {
  const t = new ByteLevelTokenizer();
  const text = 'Once upon a time: añ🙂\n';
  assert.equal(t.decode(t.encode(text)), text);
  assert.equal(t.decode([0, 1, 2, 3 + 65]), 'A');
  assert.deepEqual(Array.from(t.tokenBytes(3 + 255)), [255]);
  assert.equal(t.tokenBytes(2).length, 0);
  assert.equal(t.bos, 1);
  assert.equal(t.eos, 2);
});

test('ids past the bytes decode to short, distinct, deterministic pseudo-words', () => {
  const t = new ByteLevelTokenizer(128256);
  const words = new Set<string>();
  for (let id = 259; id < 128256; id++) {
    const w = t.decode([id]);
    assert.match(w, /^ [a-z]{4,6}$/);
    words.add(w);
  }
  assert.equal(words.size, 128256 - 259);
  assert.equal(pseudoWord(300), new ByteLevelTokenizer(32000).decode([300]));
});

test('vocabulary bounds are enforced', () => {
  assert.throws(() => new ByteLevelTokenizer(100), /at least 259/);
  assert.throws(() => new ByteLevelTokenizer().tokenBytes(259), /outside this vocabulary/);
});
