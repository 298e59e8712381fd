// SIGTERM/SIGINT on a serving process: the running stream completes, the process reports and exits 0.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const fixture = fileURLToPath(new URL('./fixtures/serve-echo.ts', import.meta.url));

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  test(`${signal}: a stream in progress finishes, then the process exits 0`, async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', fixture], { stdio: ['ignore', 'pipe', 'inherit'] });
    const lines: string[] = [];
    const rl = createInterface({ input: child.stdout! });
    const url = await new Promise<string>((resolve, reject) => {
      rl.on('line', (line) => {
        lines.push(line);
        const m = /listening on (http:\/\/\S+)/.exec(line);
        if (m) resolve(m[1]!);
      });
      child.once('exit', (code) => reject(new Error(`server exited early (${code}): ${lines.join('\n')}`)));
    });
    const res = await fetch(`${url}/v1/completions`, {
      method: 'POST',
      body: JSON.stringify({ prompt: 'ab', max_tokens: 60, ignore_eos: true, stream: true }),
    });
    const reader = res.body!.getReader();
    await reader.read();
    child.kill(signal);
    let body = '';
    const dec = new TextDecoder();
    for (let r = await reader.read(); !r.done; r = await reader.read()) body += dec.decode(r.value, { stream: true });
    assert.match(body, /"finish_reason":"length"/);
    assert.ok(body.endsWith('data: [DONE]\n\n'));
    const [code] = await once(child, 'exit');
    assert.equal(code, 0);
    assert.ok(
      lines.some((l) => l.startsWith(`${signal}: finishing`)),
      lines.join('\n'),
    );
    assert.equal(lines.at(-1), 'stopped');
  });
}
