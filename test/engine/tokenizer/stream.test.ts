import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { loadLlama2cTokenizer } from '../../../engine/tokenizer/llama2c.ts';
import { TokenStreamDecoder } from '../../../engine/tokenizer/stream.ts';
import { sharedModels } from '../model/shared-models.ts';

const { dir: models, skip } = sharedModels();

describe('TokenStreamDecoder', { skip }, () => {
  const tok = skip ? undefined! : loadLlama2cTokenizer(join(models, 'llama2-tokenizer/tokenizer.bin'));

  test('never splits a multi-byte character across chunks', () => {
    const text = 'Llamas 🦙 say «héllo» — 中文 😀!\n';
    const ids = tok.encode(text);
    // the emoji are not in the vocabulary: they arrive as 4 byte tokens each (F0 9F A6 99 -> ids 243 162 169 156)
    assert.ok(ids.includes(0xf0 + 3) && ids.includes(0x99 + 3));
    const stream = new TokenStreamDecoder(tok);
    const chunks = ids.map((id) => stream.push(id));
    chunks.push(stream.flush());
    for (const c of chunks) assert.ok(!c.includes('\ufffd'), `chunk ${JSON.stringify(c)} holds a broken character`);
    assert.equal(chunks.join(''), text);
    // the chunk of the first emoji byte is empty; the character comes out whole with its last byte
    const first = ids.indexOf(0xf0 + 3);
    assert.equal(chunks[first], '');
    assert.equal(chunks[first + 3], '🦙');
  });

  test('strips the dummy-prefix space only right after BOS', () => {
    const [, hello, world] = tok.encode('Hello world'); // [1, ' Hello', ' world']
    const afterBos = new TokenStreamDecoder(tok, { prev: tok.bos });
    assert.equal(afterBos.pushAll([hello!, world!]), 'Hello world');
    const midText = new TokenStreamDecoder(tok, { prev: hello! });
    assert.equal(midText.push(world!), ' world');
    const bpe = new TokenStreamDecoder(tok, { prev: tok.bos, stripSpaceAfterBos: false });
    assert.equal(bpe.push(hello!), ' Hello');
  });

  test('an unfinished character at the end comes out as U+FFFD on flush, as decode() gives it', () => {
    const ids = [1, 0xf0 + 3, 0x9f + 3];
    const stream = new TokenStreamDecoder(tok);
    assert.equal(stream.pushAll(ids), '');
    const tail = stream.flush();
    assert.equal(tail, '\ufffd');
    assert.equal(tail, tok.decode(ids));
  });
});
