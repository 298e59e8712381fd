import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StopMatcher } from '../../../engine/sampling/stop.ts';

function feed(stops: string[], chunks: string[]) {
  const m = new StopMatcher(stops);
  const emitted = chunks.map((c) => m.push(c));
  return { m, emitted, texts: emitted.map((e) => e.text) };
}

test('a stop string split across chunks is withheld, then stops with the text before it', () => {
  const { texts, emitted } = feed(['END'], ['Hel', 'lo E', 'N', 'D more']);
  assert.deepEqual(texts, ['Hel', 'lo ', '', '']);
  assert.deepEqual(emitted.at(-1), { text: '', stopped: true, stop: 'END' });
});

test('text before the stop in the same chunk is emitted', () => {
  const { emitted } = feed(['\n\n'], ['one\n', 'two\n\nthree']);
  assert.deepEqual(emitted, [
    { text: 'one', stopped: false },
    { text: '\ntwo', stopped: true, stop: '\n\n' },
  ]);
});

test('a false start is released once it cannot be a stop string', () => {
  const { texts, m } = feed(['abc'], ['xab', 'd', 'ab']);
  assert.deepEqual(texts, ['x', 'abd', '']);
  assert.equal(m.flush(), 'ab'); // generation ended: the held text was ordinary output
  assert.equal(m.stopped, false);
});

test('the earliest of several stop strings wins; later input is ignored', () => {
  const { emitted, m } = feed(['world', 'lo w'], ['hello world']);
  assert.deepEqual(emitted[0], { text: 'hel', stopped: true, stop: 'lo w' });
  assert.deepEqual(m.push('more'), { text: '', stopped: true });
  assert.equal(m.flush(), '');
});

test('overlapping prefixes: the longest possible start is withheld', () => {
  // "aab" could start at "aa" or "a": all of "aa" must wait.
  const { texts, emitted } = feed(['aab'], ['xaa', 'a', 'b!']);
  assert.deepEqual(texts, ['x', 'a', '']);
  assert.equal(emitted[2]!.stopped, true);
});

test('no stop strings (or only empty ones): everything passes through', () => {
  assert.deepEqual(feed(['', ''], ['a', 'b']).texts, ['a', 'b']);
  assert.deepEqual(feed([], ['a']).texts, ['a']);
});

test('multi-byte characters and stop strings one character at a time', () => {
  const stop = 'ü🙂';
  const text = `añü ü${stop}tail`;
  const { emitted } = feed([stop], Array.from(text));
  assert.equal(emitted.map((e) => e.text).join(''), 'añü ü');
  assert.equal(emitted.filter((e) => e.stopped).length >= 1, true);
});
