// Genkit JS's own agent client, `remoteAgent` of genkit/beta/client (genkit 1.42.0), against the
// Rust reviewer console's agent (`/agents/support`, a scripted model): send, stream, an interrupt,
// resume by snapshot id from a fresh client, detach, poll, abort.
//   node remote_agent.mjs http://127.0.0.1:PORT/
// Run from a directory whose node_modules holds genkit 1.42.0. Prints a JSON summary; exits 1 on
// the first failed check.
import assert from 'node:assert/strict';
import { remoteAgent, AgentError } from 'genkit/beta/client';

const base = process.argv[2];
const url = new URL('agents/support', base).href;
const summary = {};

// send: one turn, server-managed (ids, no state)
const agent = remoteAgent({ url });
const chat = agent.chat();
const hello = await chat.send('hello there');
assert.equal(hello.text, 'You said: hello there');
assert.equal(hello.finishReason, 'stop');
assert.ok(hello.snapshotId, 'a snapshot id');
assert.ok(chat.sessionId, 'a session id');
assert.equal(hello.raw.state, undefined, 'server-managed: no state on the wire');
summary.send = { snapshotId: hello.snapshotId, sessionId: chat.sessionId };

// stream: the chunks add up to the answer, which continues the same session
const turn = chat.sendStream('stream this please');
const pieces = [];
let sawTurnEnd = false;
for await (const chunk of turn.stream) {
  if (chunk.text) pieces.push(chunk.text);
  if (chunk.raw.turnEnd) sawTurnEnd = true;
}
const streamed = await turn.response;
assert.ok(pieces.length > 1, `several chunks, got ${pieces.length}`);
assert.equal(pieces.join(''), streamed.text);
assert.equal(streamed.text, 'You said: stream this please');
assert.ok(sawTurnEnd, 'a turnEnd chunk');
assert.equal(streamed.sessionId, hello.raw.sessionId);
assert.equal(chat.messages.length, 4);
summary.stream = { chunks: pieces.length };

// an interrupt: the refund waits for a reviewer
const paused = await chat.send('Please refund order A-17, 30 euros.');
assert.equal(paused.finishReason, 'interrupted');
assert.equal(paused.interrupts.length, 1);
const [asked] = paused.interrupts;
assert.equal(asked.name, 'issueRefund');
assert.deepEqual(asked.input, { orderId: 'A-17', amount: 30 });
summary.interrupt = { snapshotId: paused.snapshotId, ref: asked.ref };

// a plain message while the refund is pending is refused (FAILED_PRECONDITION), as an AgentError
await assert.rejects(chat.send('never mind that'), (e) => {
  assert.ok(e instanceof AgentError, `an AgentError, got ${e}`);
  assert.equal(e.status, 'FAILED_PRECONDITION');
  return true;
});

// resume by snapshot id, from a fresh client that has nothing but the id
const fresh = remoteAgent({ url });
const loaded = await fresh.loadChat({ snapshotId: paused.snapshotId });
assert.equal(loaded.snapshotId, paused.snapshotId);
assert.equal(loaded.messages.at(-1).content[0].toolRequest.name, 'issueRefund');
const done = await loaded.resume({
  respond: [asked.respond({ status: 'refunded', orderId: 'A-17', amount: 30 })],
});
assert.equal(done.text, 'Refunded 30 euros on order A-17.');
assert.equal(done.finishReason, 'stop');
summary.resume = { snapshotId: done.snapshotId };

// the same answer again is refused: an answer is a side effect, given once
const again = await fresh.loadChat({ snapshotId: paused.snapshotId });
await assert.rejects(
  again.resume({ respond: [asked.respond({ status: 'refunded', orderId: 'A-17', amount: 30 })] }),
  (e) => e instanceof AgentError
);

// detach, then poll until it is final
const background = agent.chat();
const task = await background.detach('slow one two three');
const first = await agent.getSnapshot(task.snapshotId);
assert.equal(first.status, 'pending');
const polled = [];
for await (const snap of task.poll({ intervalMs: 100 })) polled.push(snap.status);
assert.equal(polled.at(-1), 'completed');
const finished = await agent.getSnapshot(task.snapshotId);
assert.equal(finished.state.messages.at(-1).content[0].text, 'You said: slow one two three');
summary.detach = { polled };

// abort a detached turn: it ends aborted, and the answer never lands
const doomed = await agent.chat().detach('slow a b c d e f g h i j k l m n o p');
const had = await agent.abort(doomed.snapshotId);
assert.equal(had, 'pending', 'abort answers the status the snapshot had');
const ended = await doomed.wait({ intervalMs: 100 });
assert.equal(ended.status, 'aborted');
assert.equal(ended.finishReason, 'aborted');
// aborting a finished snapshot changes nothing
assert.equal(await agent.abort(hello.snapshotId), 'completed');
assert.equal((await agent.getSnapshot(hello.snapshotId)).status, 'completed');
summary.abort = { had, ended: ended.status };

console.log(JSON.stringify(summary));
