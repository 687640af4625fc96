// Helpers shared by the browser tests: start 'owl up' on free loopback
// ports, launch Debian's headless Chromium, keep screenshots of failures.
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
export const artifactsDir = path.resolve(here, '..', 'artifacts');
const owlBin = process.env.OWL_BIN || path.resolve(here, '..', '..', 'bin', 'owl');
const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';

// startOwl runs `owl up` with a fresh data folder and resolves once it has
// printed its landing page URL. stop() sends SIGINT and resolves with the exit code.
export async function startOwl(extraArgs = []) {
  const data = mkdtempSync(path.join(tmpdir(), 'owl-e2e-'));
  const child = spawn(owlBin, ['up', '--addr', '127.0.0.1:0', '--admin-addr', '127.0.0.1:0', '--data', data, '--log-format', 'json', ...extraArgs], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`owl up printed no URL within 30s; stderr:\n${stderr}`)), 30000);
    child.stdout.on('data', (d) => {
      stdout += d;
      const m = stdout.match(/landing page\s+(http:\/\/\S+\/)/);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    exited.then(({ code }) => { clearTimeout(timer); reject(new Error(`owl up exited with ${code}; stderr:\n${stderr}`)); });
  });
  return {
    url,
    stdout: () => stdout,
    stderr: () => stderr,
    async stop() {
      child.kill('SIGINT');
      const res = await exited;
      rmSync(data, { recursive: true, force: true });
      return res;
    },
  };
}

// launchBrowser starts headless Chromium the way this machine allows: as
// root without the sandbox, with no background network traffic.
export async function launchBrowser() {
  const userDataDir = mkdtempSync(path.join(tmpdir(), 'owl-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: chromiumPath,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run', '--disable-quic'],
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

// screenshotIfFailed saves a screenshot of page under artifacts/ when
// the test t has failed; call it from the test's finally block.
export async function screenshotIfFailed(t, page, failed) {
  if (!failed || !page) return;
  mkdirSync(artifactsDir, { recursive: true });
  const file = path.join(artifactsDir, `${t.name.replace(/[^\w.-]+/g, '_')}.png`);
  await page.screenshot({ path: file, fullPage: true }).catch(() => {});
  console.error(`screenshot of the failure: ${file}`);
}
