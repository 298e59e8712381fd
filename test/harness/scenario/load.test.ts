import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BenchError } from '../../../engine/errors.ts';
import { loadScenarioText } from '../../../harness/scenario/load.ts';

const GOOD = `name: sweep
target:
  engine: { model: preset:tiny, precision: f16 }
matrix:
  load.concurrency: [1, 8]
  engine.specDepth: [0, 4]
workload: { promptTokens: { mean: 64, std: 8 }, outputTokens: 32, seed: 3 }
load: { mode: closed, requests: 20, warmup: 2, timeout: 30s }
gates:
  - { metric: outputTokPerS, maxRegression: 5% }
`;

function errorOf(text: string, sets: string[] = []): BenchError {
  try {
    loadScenarioText(text, 'x.yaml', sets);
  } catch (e) {
    assert.ok(e instanceof BenchError, `expected BenchError, got ${e}`);
    return e;
  }
  assert.fail('expected the scenario to be rejected');
}

test('a valid scenario expands to named points, engine keys varying slowest', () => {
  const s = loadScenarioText(GOOD, 'x.yaml');
  assert.deepEqual(
    s.points.map((p) => p.name),
    [
      'specDepth=0,concurrency=1',
      'specDepth=0,concurrency=8',
      'specDepth=4,concurrency=1',
      'specDepth=4,concurrency=8',
    ],
  );
  const p = s.points[3]!;
  assert.equal(p.scenario.target.engine?.specDepth, 4);
  assert.equal(p.scenario.target.engine?.precision, 'f16');
  assert.equal(p.scenario.load.concurrency, 8);
  assert.equal(p.scenario.load.timeout, 30_000);
  assert.equal(p.scenario.gates[0]?.maxRegression, 0.05);
  assert.deepEqual(p.overrides, { 'engine.specDepth': 4, 'load.concurrency': 8 });
  assert.equal(p.scenario.report.formats.length, 5);
});

test('--set overrides values, matrix keys and engine shorthand', () => {
  const s = loadScenarioText(GOOD, 'x.yaml', [
    'load.requests=7',
    'engine.precision=f32',
    'matrix.load.concurrency=[2]',
    'load.duration=2m',
  ]);
  assert.equal(s.points.length, 2);
  assert.equal(s.points[0]?.scenario.load.requests, 7);
  assert.equal(s.points[0]?.scenario.load.duration, 120_000);
  assert.equal(s.points[0]?.scenario.load.concurrency, 2);
  assert.equal(s.points[0]?.scenario.target.engine?.precision, 'f32');
});

test('a list matrix gives hand-picked points with their own names', () => {
  const text = GOOD.replace(
    /matrix:\n(.*\n){2}/,
    'matrix:\n  - { name: base, engine.precision: f32 }\n  - { engine.precision: f16, engine.quant: int8 }\n',
  );
  const s = loadScenarioText(text, 'x.yaml');
  assert.deepEqual(
    s.points.map((p) => p.name),
    ['base', 'precision=f16,quant=int8'],
  );
  assert.equal(s.points[1]?.scenario.target.engine?.quant, 'int8');
});

// Each case: a bad scenario and the exact location and phrases the message must contain. Lines/columns are
// counted by hand from the text.
const BAD: { name: string; text: string; sets?: string[]; expect: string[] }[] = [
  {
    name: 'unknown enum value',
    text: GOOD.replace('mode: closed', 'mode: clsoed'),
    expect: [
      'x.yaml:8:15: load.mode: unknown value "clsoed"',
      'did you mean "closed"',
      'allowed: closed, open, autocannon',
    ],
  },
  {
    name: 'wrong type',
    text: GOOD.replace('requests: 20', 'requests: many'),
    expect: ['x.yaml:8:33: load.requests: expected number, got string "many"'],
  },
  {
    name: 'unknown key',
    text: GOOD.replace('warmup: 2', 'warmpu: 2'),
    expect: ['x.yaml:8:37: load.warmpu: unknown key "warmpu"', 'did you mean "warmup"', 'allowed: mode, concurrency'],
  },
  {
    name: 'YAML syntax error',
    text: 'name: x\ntarget: { url: http://h\nload: [\n',
    expect: ['x.yaml:', 'YAML syntax error'],
  },
  {
    name: 'bad toggle value inside the matrix points at the matrix value',
    text: GOOD.replace('engine.specDepth: [0, 4]', 'engine.specDepth: [0, -1]'),
    expect: [
      'x.yaml:6:25: target.engine.specDepth:',
      '[matrix points specDepth=-1,concurrency=1, specDepth=-1,concurrency=8]',
    ],
  },
  {
    name: 'union of literals lists its values',
    text: GOOD.replace('precision: f16', 'precision: f16, workgroupSize: 100'),
    expect: ['x.yaml:3:64: target.engine.workgroupSize: unknown value 100; allowed: 64, 128, 256'],
  },
  {
    name: 'bad --set value names the flag',
    text: GOOD,
    sets: ['load.arrival=bursty'],
    expect: ['--set load.arrival=bursty: load.arrival: unknown value "bursty"', 'allowed: constant, poisson, gamma'],
  },
  {
    name: 'target needs exactly one kind',
    text: GOOD.replace('precision: f16 }', 'precision: f16 }\n  url: http://127.0.0.1:1'),
    expect: ['x.yaml:3:3: target: a target needs exactly one of `engine:` or `url:`'],
  },
  {
    name: 'unknown gate metric',
    text: GOOD.replace('metric: outputTokPerS', 'metric: tokPerS'),
    expect: ['x.yaml:10:15: gates.0.metric: unknown value "tokPerS"', 'outputTokPerS'],
  },
  {
    name: 'a between gate naming no configuration',
    text: `${GOOD}  - { metric: ttftP50Ms, between: { base: "specDepth=0,concurrency=1", candidate: specDepth=9 }, maxRegression: 5% }\n`,
    expect: [
      'x.yaml:11:83: gates.1.between.candidate: no configuration named "specDepth=9"; have: specDepth=0,concurrency=1',
    ],
  },
  {
    name: 'matrix key outside the sweepable sections',
    text: GOOD.replace('load.concurrency: [1, 8]', 'gates.alpha: [1, 8]'),
    expect: ['x.yaml:5:3: matrix.gates.alpha: matrix key "gates.alpha" must be a dotted path'],
  },
];

for (const c of BAD) {
  test(`rejects: ${c.name}`, () => {
    const e = errorOf(c.text, c.sets);
    assert.equal(e.code, 'BAD_INPUT');
    assert.equal(e.exitCode, 2);
    for (const part of c.expect)
      assert.ok(e.message.includes(part), `message lacks ${JSON.stringify(part)}:\n${e.message}`);
  });
}

test('a missing file is FILE_NOT_FOUND with exit code 2', async () => {
  const { loadScenarioFile } = await import('../../../harness/scenario/load.ts');
  assert.throws(
    () => loadScenarioFile('/nonexistent/scenario.yaml'),
    (e: unknown) => e instanceof BenchError && e.code === 'FILE_NOT_FOUND' && e.exitCode === 2,
  );
});
