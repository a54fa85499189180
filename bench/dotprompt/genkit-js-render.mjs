// Renders genkit-dotprompt/benches/prompts/bench.prompt (3 partials, 20-message history) with
// Genkit JS 1.42.0's dotprompt, compiled once, and with Genkit's own prompt (ai.prompt().render()).
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
const require = createRequire(join(process.env.GENKIT_JS_DIR, 'package.json'));
const { Dotprompt } = require('dotprompt');
const { genkit } = require('genkit');
const dir = process.argv[2];
const read = (f) => readFileSync(join(dir, f), 'utf8');
const history = [];
for (let i = 0; i < 20; i++) {
  history.push(i % 2 === 0
    ? { role: 'user', content: [{ text: `Question ${i}: what about the part where the loop pauses?` }] }
    : { role: 'model', content: [{ text: `Answer ${i}: the interrupt hands control back to the app.` }] });
}
const input = { user: 'Ada', topic: 'tool interrupts', items: ['pausing', 'answering', 'resuming'] };
async function time(name, n, fn) {
  for (let i = 0; i < Math.min(n, 2000); i++) await fn();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await fn();
  const ns = Number(process.hrtime.bigint() - t0) / n;
  console.log(`${name}: ${(ns / 1000).toFixed(2)} µs per render (${n} renders)`);
}
const dp = new Dotprompt({ partials: { persona: read('_persona.prompt'), rules: read('_rules.prompt'), format: read('_format.prompt') } });
const fn = await dp.compile(read('bench.prompt'));
const out = await fn({ input, messages: history, context: { state: { level: 'beginner' } } });
if (out.messages.length !== 22) throw new Error(`expected 22 messages, got ${out.messages.length}`);
await time('dotprompt (JS) compiled once, render', 20000, () => fn({ input, messages: history, context: { state: { level: 'beginner' } } }));
const ai = genkit({ promptDir: dir });
const p = ai.prompt('bench');
const opts = await p.render(input, { messages: history });
if (opts.messages.length !== 22) throw new Error(`genkit: expected 22 messages, got ${opts.messages.length}`);
await time('Genkit JS ai.prompt("bench").render', 20000, () => p.render(input, { messages: history }));
