// Browser tests of the trace UI of 'owl up': search, a trace's waterfall
// with its critical path, the dependency graph (filtered, split by side),
// the findings and the incident ranking, over the live synthetic traffic.
// Every page is saved as a screenshot under artifacts/; any request to an
// address other than loopback fails the test (the UI must work offline).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { startOwl, launchBrowser, screenshotIfFailed, artifactsDir } from '../lib/owl.js';

let owl;
let browser;
let startedAt;
const outside = [];

const loopback = new Set(['127.0.0.1', 'localhost', '[::1]']);

before(async () => {
  owl = await startOwl();
  startedAt = Date.now();
  browser = await launchBrowser();
  // Refuse and record every request that would leave the machine.
  await browser.context.route('**/*', (route) => {
    const url = new URL(route.request().url());
    if ((url.protocol === 'http:' || url.protocol === 'https:') && !loopback.has(url.hostname)) {
      outside.push(url.href);
      return route.abort('blockedbyclient');
    }
    return route.continue();
  });
  // The synthetic traffic needs a few seconds to show its problems.
  await waitFor(async () => {
    const r = await fetch(new URL('traces/findings?format=json', owl.url));
    const body = await r.json();
    const types = new Set(body.findings.map((f) => `${f.type}:${f.callee}`));
    return types.has('uncompressed:catalog') && types.has('repeated_call:userdb');
  }, 60000, 'the findings of the synthetic traffic');
});

after(async () => {
  await browser?.close();
  if (owl) {
    const { code, signal } = await owl.stop();
    assert.equal(signal, null, `owl up was killed by ${signal}`);
    assert.equal(code, 0, `owl up exited with ${code} after SIGINT; stderr:\n${owl.stderr()}`);
  }
  assert.deepEqual(outside, [], 'the pages asked for addresses other than loopback');
});

async function waitFor(check, ms, what) {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`waited ${ms} ms for ${what}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

async function shot(page, name) {
  mkdirSync(artifactsDir, { recursive: true });
  await page.screenshot({ path: path.join(artifactsDir, `trace-${name}.png`), fullPage: true });
}

// run opens a page, runs body, keeps a screenshot of a failure and checks
// that nothing left loopback meanwhile.
async function run(t, body) {
  const page = await browser.context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  let failed = true;
  try {
    await body(page);
    assert.deepEqual(errors, [], 'JavaScript errors on the page');
    assert.deepEqual(outside, [], 'requests to addresses other than loopback');
    failed = false;
  } finally {
    await screenshotIfFailed(t, page, failed);
    await page.close();
  }
}

test('search finds traces and opens one as a waterfall with its critical path', async (t) => {
  await run(t, async (page) => {
    const resp = await page.goto(new URL('traces/', owl.url).href);
    assert.equal(resp.status(), 200);
    assert.ok(await page.locator('#traces tbody tr[data-root]').count() > 0, 'no trace listed');
    await page.fill('input[name=service]', 'catalog');
    await page.fill('input[name=route]', '/api/');
    await Promise.all([page.waitForURL(/service=catalog/), page.click('#search button[type=submit]')]);
    const rows = page.locator('#traces tbody tr[data-root]');
    const n = await rows.count();
    assert.ok(n > 0, 'no trace through catalog');
    for (const services of await rows.locator('td:last-child').allInnerTexts()) {
      assert.match(services, /\bcatalog\b/);
    }
    await shot(page, 'search');

    const root = await rows.first().getAttribute('data-root');
    await Promise.all([page.waitForURL(/\/traces\/trace\//), rows.first().locator('a').click()]);
    assert.match(await page.locator('p.sub').innerText(), new RegExp(root));
    const spans = await page.locator('#waterfall tr[data-span-id]').count();
    const critical = await page.locator('#waterfall tr.critical').count();
    assert.ok(spans >= 3, `${spans} spans`);
    assert.ok(critical >= 2 && critical <= spans, `${critical} of ${spans} spans on the critical path`);
    // The root is on the critical path, and each critical span's bar is drawn.
    assert.match(await page.locator('#waterfall tbody tr').first().getAttribute('class'), /critical/);
    assert.equal(await page.locator('#waterfall tr.critical rect.span').count(), critical);
    // Clicking a bar opens the span's details (progressive JS).
    const first = page.locator('#waterfall tr[data-span-id]').nth(1);
    await first.locator('td.bar').click();
    assert.equal(await first.locator('details').getAttribute('open'), '');
    assert.match(await first.locator('dl').innerText(), /bytes/);
    await shot(page, 'waterfall');
  });
});

test('the dependency graph filters and splits by side', async (t) => {
  await run(t, async (page) => {
    const resp = await page.goto(new URL('traces/graph', owl.url).href);
    assert.equal(resp.status(), 200);
    const edge = (caller, callee) => page.locator(`#edges tr[data-caller="${caller}"][data-callee="${callee}"]`);
    for (const [a, b] of [['gateway', 'profile'], ['gateway', 'streaks'], ['lessons', 'catalog'], ['streaks', 'userdb']]) {
      assert.equal(await edge(a, b).count(), 1, `no edge ${a} → ${b}`);
    }
    assert.equal(await page.locator('#graph svg').count(), 1, 'no SVG drawing');
    assert.match(await page.locator('#graph svg').textContent(), /catalog/);
    await shot(page, 'graph');

    // Filter: only large responses keep the catalog edge alone.
    await page.fill('input[name=min_resp]', '50000');
    await Promise.all([page.waitForURL(/min_resp=50000/), page.click('#graph-filters button[type=submit]')]);
    assert.equal(await edge('lessons', 'catalog').count(), 1);
    assert.equal(await page.locator('#edges tr[data-callee="userdb"]').count(), 0, 'a small-answer edge passed min_resp');
    await shot(page, 'graph-filtered');

    // Split by side: the select applies at once.
    await page.fill('input[name=min_resp]', '');
    await Promise.all([page.waitForURL(/split=side/), page.selectOption('#split', 'side')]);
    for (const side of ['ecs', 'eks']) {
      assert.ok(await page.locator(`#edges tr[data-callee="streaks@${side}"]`).count() >= 1, `no streaks@${side}`);
      assert.match(await page.locator('#graph svg').textContent(), new RegExp(`streaks@${side}`));
    }
    await shot(page, 'graph-split-side');
  });
});

test('the findings show the uncompressed endpoint and the repeated call, with evidence', async (t) => {
  await run(t, async (page) => {
    const resp = await page.goto(new URL('traces/findings', owl.url).href);
    assert.equal(resp.status(), 200);
    const uncompressed = page.locator('#findings tr[data-type="uncompressed"][data-callee="catalog"]');
    const repeated = page.locator('#findings tr[data-type="repeated_call"][data-callee="userdb"]');
    assert.equal(await uncompressed.count(), 1);
    assert.equal(await repeated.count(), 1);
    await shot(page, 'findings');
    // Evidence leads to a trace that shows the repeated call.
    await Promise.all([page.waitForURL(/\/traces\/trace\//), repeated.locator('a').first().click()]);
    assert.ok(await page.locator('#waterfall tr[data-span-id]').count() > 3);
    const userdbCalls = await page.locator('#waterfall td.what summary', { hasText: 'POST /v1/query' }).count();
    assert.ok(userdbCalls >= 3, `${userdbCalls} userdb queries in the evidence trace`);
  });
});

test('the incident ranking ranks suspects for the chosen windows', async (t) => {
  await run(t, async (page) => {
    const resp = await page.goto(new URL('traces/ranking', owl.url).href);
    assert.equal(resp.status(), 200);
    // Pick an incident window: the last 10 seconds; the baseline before it,
    // which needs traffic older than that: owl must have run for a while.
    const wait = startedAt + 18000 - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    await page.fill('input[name=incident_last]', '10s');
    await page.fill('input[name=baseline_from]', '');
    await page.fill('input[name=baseline_to]', '');
    await Promise.all([page.waitForURL(/incident_last=10s/), page.click('#ranking-form button[type=submit]')]);
    assert.match(await page.locator('#windows').innerText(), /Incident .*: [1-9]\d* traces/);
    const suspects = page.locator('#suspects tr[data-node]');
    assert.ok(await suspects.count() >= 3, 'fewer than 3 suspects');
    await shot(page, 'ranking');
  });
});
