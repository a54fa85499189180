// The reviewer console in a real headless Chromium (Debian's, driven by playwright-core 1.64.1):
// a customer's refund pauses the scripted agent, the reviewer clicks Approve, the page streams
// the continued conversation and shows the final answer. Saves a screenshot.
//   node reviewer_console_browser.mjs http://127.0.0.1:PORT/ <chromium> <screenshot.png> <profile dir>
// Run from a directory whose node_modules holds playwright-core. Exits 1 on a failed check.
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

const [base, executablePath, screenshot, profile] = process.argv.slice(2);

// a customer asks for a refund over the agent's HTTP route; the turn pauses
async function customer(text) {
  const res = await fetch(new URL('agents/support', base), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ data: { message: { role: 'user', content: [{ text }] } } }),
  });
  assert.equal(res.status, 200);
  const { result } = await res.json();
  assert.equal(result.finishReason, 'interrupted');
  return result.snapshotId;
}
const approveMe = await customer('Please refund order A-17, 30 euros.');
const editMe = await customer('Please refund order B-2, 90 euros.');

const browser = await chromium.launchPersistentContext(profile, {
  executablePath,
  headless: true,
  args: [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
  ],
  timeout: 60000,
});
try {
  const page = browser.pages()[0] ?? (await browser.newPage());
  page.setDefaultTimeout(20000);
  await page.goto(base);
  // both pending interrupts are listed, with tool, input, payload and age
  const row = page.locator(`tr[data-snapshot="${approveMe}"]`);
  await row.waitFor();
  assert.equal(await page.locator('#pending tr[data-snapshot]').count(), 2);
  assert.equal(await row.locator('td').nth(0).textContent(), 'issueRefund');
  assert.deepEqual(JSON.parse(await row.locator('textarea.input').inputValue()), { orderId: 'A-17', amount: 30 });
  assert.match(await row.locator('td').nth(3).textContent(), /reviewer's approval/);
  assert.match(await row.locator('td').nth(4).textContent(), /^\d+ s$/);

  // approve: the tool restarts approved, the answer streams in
  await row.locator('button.approve').click();
  await page.waitForFunction(() => document.getElementById('final').textContent.length > 0);
  assert.equal(await page.locator('#final').textContent(), 'Refunded 30 euros on order A-17.');
  assert.equal(await page.locator('#streamed').textContent(), 'Refunded 30 euros on order A-17.');
  await page.locator(`tr[data-snapshot="${approveMe}"]`).waitFor({ state: 'detached' });
  await page.screenshot({ path: screenshot, fullPage: true });

  // edit and approve: the reviewer lowers the amount
  const other = page.locator(`tr[data-snapshot="${editMe}"]`);
  await other.locator('textarea.input').fill(JSON.stringify({ orderId: 'B-2', amount: 45 }));
  await other.locator('button.edit').click();
  await page.waitForFunction(() => document.getElementById('final').textContent.includes('B-2'));
  assert.equal(await page.locator('#final').textContent(), 'Refunded 45 euros on order B-2.');
  await page.waitForFunction(() => document.querySelectorAll('#pending tr[data-snapshot]').length === 0);

  // refuse: nothing is refunded
  const refuseMe = await customer('Please refund order C-9, 500 euros.');
  await page.reload();
  const third = page.locator(`tr[data-snapshot="${refuseMe}"]`);
  await third.locator('input.reason').fill('order already refunded');
  await third.locator('button.refuse').click();
  await page.waitForFunction(() => document.getElementById('final').textContent.includes('could not'));
  assert.equal(await page.locator('#final').textContent(), 'I could not refund: order already refunded.');
  console.log(JSON.stringify({ screenshot }));
} finally {
  await browser.close();
}
