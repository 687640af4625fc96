import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startOwl, launchBrowser, screenshotIfFailed } from '../lib/owl.js';

let owl;
let browser;

before(async () => {
  owl = await startOwl();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  if (owl) {
    const { code, signal } = await owl.stop();
    assert.equal(signal, null, `owl up was killed by ${signal}`);
    assert.equal(code, 0, `owl up exited with ${code} after SIGINT; stderr:\n${owl.stderr()}`);
  }
});

test('the shift page shows the demo shift with per-side metrics of its analyses', async (t) => {
  const page = await browser.context.newPage();
  let failed = true;
  try {
    const deadline = Date.now() + 90_000;
    let resp;
    // The demo shift's first analysis comes after its first step's hold.
    for (;;) {
      resp = await page.goto(new URL('shifts/', owl.url).href);
      assert.equal(resp.status(), 200);
      if (await page.locator('table.sides').count() > 0) break;
      assert.ok(Date.now() < deadline, `no analysis on the shift page within 90s:\n${await page.textContent('body')}`);
      await page.waitForTimeout(2000);
    }
    assert.equal(await page.title(), 'owl: traffic shifts');
    const section = page.locator('section[data-shift="sessions-ecs-to-eks"]');
    assert.equal(await section.count(), 1);
    const state = await section.locator('.state').getAttribute('data-state');
    assert.match(state, /^(progressing|promoting|paused|succeeded)$/, `demo shift is ${state}`);
    // The split bar and the split over time are inline SVG.
    assert.match(await section.locator('svg.split').getAttribute('aria-label'), /^split: \d+(\.\d+)?% to eks$/);
    assert.match(await section.locator('.split-text').innerText(), /^ecs \d+(\.\d+)?% · eks \d+(\.\d+)?%$/);
    // Per-side metrics: requests, errors, error rate, latency p50 and p99.
    for (const [side, name] of [['from', 'ecs'], ['to', 'eks']]) {
      const cells = await section.locator(`table.sides tr[data-side="${side}"] td`).allInnerTexts();
      assert.equal(cells.length, 6, `${side} row: ${cells}`);
      assert.equal(cells[0], name);
      assert.ok(Number(cells[1]) > 0, `${name} served no requests: ${cells}`);
      assert.match(cells[3], /^\d+\.\d\d%$/);
      assert.match(cells[4], /^\d+\.\d ms$/);
      assert.match(cells[5], /^\d+\.\d ms$/);
    }
    assert.match(await section.locator('.verdict').innerText(), /^(pass|fail|inconclusive)$/);
    // History lists the transitions, latest first.
    const history = await section.locator('table.history tbody tr').allInnerTexts();
    assert.ok(history.some((row) => row.includes('created')), `history: ${history}`);
    assert.ok(history.some((row) => row.includes('verified')), `history: ${history}`);
    failed = false;
  } finally {
    await screenshotIfFailed(t, page, failed);
    await page.close();
  }
});

test('the shift API wants the admin token', async () => {
  const resp = await fetch(new URL('api/v1/shifts', owl.url));
  assert.equal(resp.status, 401);
  const wrong = await fetch(new URL('api/v1/shifts', owl.url), { headers: { Authorization: 'Bearer nope' } });
  assert.equal(wrong.status, 401);
});
