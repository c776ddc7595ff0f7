// The browser example (examples/browser) in a real browser: Debian's Chromium, headless, driven
// by playwright-core (which never downloads a browser here). The page trains a GRU on the adding
// problem in a Web Worker; the test reads the numbers the page shows and checks that it learns.
import { existsSync } from 'node:fs';
import type { Server } from 'node:http';
import { afterAll, describe, expect, it } from 'vitest';
import { buildExample } from '../examples/browser/build';
import { serve } from '../examples/browser/serve';

const chromiumPath = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
if (!chromiumPath) {
  console.warn('test/browser.test.ts: SKIPPED, no Chromium at /usr/bin/chromium or /usr/bin/chromium-browser (apt-get install chromium)');
}

const SCREENSHOT = '/tmp/browser-example.png';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let server: Server | undefined;
afterAll(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

describe('browser example', () => {
  it.skipIf(!chromiumPath)('trains a GRU in a worker: the loss falls below the baseline, both plots draw, Stop stops', async () => {
    await buildExample();
    const started = await serve(0);
    server = started.server;
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox'] });
    try {
      const page = await browser.newPage({ viewport: { width: 1360, height: 940 } });
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
      await page.goto(started.url);

      const train = page.getByRole('button', { name: 'Train' });
      const stop = page.getByRole('button', { name: 'Stop' });
      const status = page.locator('#status');
      const num = async (name: string): Promise<number> => Number(await status.getAttribute(`data-${name}`));
      expect(await train.isEnabled()).toBe(true);
      expect(await stop.isEnabled()).toBe(false);

      await page.getByLabel('Cell').selectOption('gru');
      await page.getByLabel('Sequence length T').selectOption('50');
      const t0 = Date.now();
      await train.click();
      expect(await train.isEnabled()).toBe(false);
      expect(await stop.isEnabled()).toBe(true);
      expect(await page.getByLabel('Cell').isEnabled()).toBe(false);

      // Train until the recent loss is well under the baseline 1/12 (or 20 s pass).
      while (Date.now() - t0 < 20_000) {
        await sleep(250);
        const recent = await num('recent-loss'), baseline = await num('baseline');
        if (recent > 0 && recent < baseline / 2 && (await num('step')) >= 200 && (await num('flow-step')) > 0) break;
      }
      const seconds = (Date.now() - t0) / 1000;
      const step = await num('step'), first = await num('first-loss'), recent = await num('recent-loss');
      const baseline = await num('baseline'), msPerStep = await num('ms-per-step');
      console.log(`browser: GRU T=50, loss ${first.toFixed(4)} → ${recent.toFixed(4)} (baseline ${baseline.toFixed(4)}) at step ${step} after ${seconds.toFixed(1)} s, ${msPerStep.toFixed(1)} ms/step`);

      expect(await status.getAttribute('data-state')).toBe('running');
      expect(baseline).toBeCloseTo(1 / 12, 12);
      expect(step).toBeGreaterThanOrEqual(200);
      expect(recent).toBeLessThan(first);
      expect(recent).toBeLessThan(baseline);
      expect(Number(/step (\d+)/.exec((await status.textContent()) ?? '')?.[1])).toBeGreaterThanOrEqual(step); // still counting

      // The loss plot: an <svg> whose first curve has a point per step so far.
      const lossPoints = await page.locator('#loss-plot svg polyline').first().getAttribute('points');
      expect(lossPoints!.trim().split(/\s+/).length).toBeGreaterThan(100);
      expect(Number(await page.locator('#loss-plot').getAttribute('data-points'))).toBeGreaterThan(100);
      // The flow plot: ‖∂E_T/∂h_t‖ for t = 0 … 49, at the latest measurement and at step 0.
      expect(await page.locator('#flow-plot svg').count()).toBe(1);
      expect(Number(await page.locator('#flow-plot').getAttribute('data-points'))).toBe(50);
      expect(await page.locator('#flow-plot svg polyline').count()).toBeGreaterThanOrEqual(2);
      expect(await page.locator('#flow-summary').textContent()).toMatch(/‖∂E_T\/∂h_t‖/);

      // Stop: the worker confirms, the step count freezes and the buttons swap back.
      await stop.click();
      await page.locator('#status[data-state="stopped"]').waitFor({ timeout: 5_000 });
      const stoppedAt = await num('step');
      await sleep(600);
      expect(await num('step')).toBe(stoppedAt);
      expect(await train.isEnabled()).toBe(true);
      expect(await stop.isEnabled()).toBe(false);
      expect(await page.locator('#announce').textContent()).toMatch(/stopped at step \d+/);

      await page.screenshot({ path: SCREENSHOT, fullPage: true });
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 60_000);

  it.skipIf(!chromiumPath)('threads.html: a Web Worker starts worker threads and a threaded plan gives the same bits as one thread', async () => {
    await buildExample();
    if (server === undefined) server = (await serve(0)).server;
    const address = server.address();
    const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/threads.html`;
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox'] });
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
      await page.goto(url);
      const result = page.locator('#result');
      await page.locator('#result:not([data-state="running"])').waitFor({ timeout: 30_000 });
      const text = (await result.textContent()) ?? '';
      console.log(`browser threads: ${text}`);
      expect(await result.getAttribute('data-state'), text).toBe('done');
      expect(await result.getAttribute('data-isolated')).toBe('true');
      expect(Number(await result.getAttribute('data-pool-threads'))).toBeGreaterThanOrEqual(2);
      expect(await result.getAttribute('data-plan-threads')).toBe(await result.getAttribute('data-pool-threads'));
      expect(await result.getAttribute('data-kernels')).toBe('wasm');
      expect(await result.getAttribute('data-identical')).toBe('true');
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 60_000);
});
