// Drives Genkit JS's own FileSessionStore (genkit 1.42.0, `genkit/beta`) against a directory, so
// genkit-rs's file store can be checked against the real thing in both directions.
//   node genkit_js_file_store.mjs write <dir>                      -> writes a session, prints its ids
//   node genkit_js_file_store.mjs read <dir> <sessionId> <snapId>  -> prints what JS reads back
// Run with NODE_PATH pointing at a node_modules holding genkit 1.42.0.
import { FileSessionStore } from 'genkit/beta';

const [cmd, dir, sessionId, snapshotId] = process.argv.slice(2);
const store = new FileSessionStore(dir);

if (cmd === 'write') {
  const session = 'js-session-1';
  const first = await store.saveSnapshot(undefined, () => ({
    sessionId: session,
    createdAt: '2026-02-01T10:00:00.000Z',
    updatedAt: '2026-02-01T10:00:00.000Z',
    status: 'completed',
    finishReason: 'stop',
    state: {
      sessionId: session,
      messages: [
        { role: 'user', content: [{ text: 'hi from js \u0000 nul' }] },
        { role: 'model', content: [{ text: 'hello' }] },
      ],
      custom: { cart: ['apple'] },
      artifacts: [{ name: 'plan', parts: [{ text: 'step 1' }] }],
    },
  }));
  const second = await store.saveSnapshot(undefined, () => ({
    sessionId: session,
    parentId: first,
    createdAt: '2026-02-01T10:00:05.000Z',
    updatedAt: '2026-02-01T10:00:05.000Z',
    status: 'completed',
    finishReason: 'interrupted',
    state: {
      sessionId: session,
      messages: [
        { role: 'user', content: [{ text: 'buy it' }] },
        {
          role: 'model',
          content: [{ toolRequest: { name: 'approve', ref: 'r1', input: { amount: 5 } }, metadata: { interrupt: true } }],
        },
      ],
    },
  }));
  console.log(JSON.stringify({ sessionId: session, first, second }));
} else if (cmd === 'read') {
  const bySnapshot = await store.getSnapshot({ snapshotId });
  const latest = await store.getSnapshot({ sessionId });
  console.log(JSON.stringify({ bySnapshot, latest }));
} else {
  console.error('usage: write <dir> | read <dir> <sessionId> <snapshotId>');
  process.exit(2);
}
