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

test('the landing page lists the running components with their health', async (t) => {
  const page = await browser.context.newPage();
  let failed = true;
  try {
    const resp = await page.goto(owl.url);
    assert.equal(resp.status(), 200);
    assert.equal(await page.title(), 'owl');
    const rows = page.locator('#components tbody tr');
    const names = await rows.evaluateAll((trs) => trs.map((tr) => tr.dataset.component));
    for (const want of ['web', 'admin', 'access-log', 'courses']) {
      assert.ok(names.includes(want), `the landing page does not list ${want}: ${names}`);
    }
    for (const name of names) {
      const health = await page.locator(`tr[data-component="${name}"] td.health`).innerText();
      assert.match(health, /^(ready|running)$/, `component ${name} is ${health}`);
    }
    // Every component's page answers.
    const links = await page.locator('#components tbody a').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
    assert.ok(links.length >= 2, `only ${links.length} component links`);
    for (const href of links) {
      const resp = await fetch(new URL(href, owl.url));
      assert.equal(resp.status, 200, `${href} answered ${resp.status}`);
    }
    // The footer links lead somewhere real.
    await page.click('a[href="/healthz"]');
    assert.equal((await page.textContent('body')).trim(), 'ok');
    failed = false;
  } finally {
    await screenshotIfFailed(t, page, failed);
    await page.close();
  }
});

test('the component list is also served as JSON', async () => {
  const resp = await fetch(new URL('api/v1/components', owl.url));
  assert.equal(resp.status, 200);
  const body = await resp.json();
  assert.ok(body.components.some((c) => c.name === 'web' && c.health === 'running'));
});
