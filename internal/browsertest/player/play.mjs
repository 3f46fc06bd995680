// play.mjs opens the harness page in headless Chromium with puppeteer-core
// and prints, as one JSON object on stdout, what page.js reports. It is run
// by chunkcode's Go package internal/browsertest; diagnostics go to stderr.
//
//   node play.mjs --chromium /usr/bin/chromium --profile DIR --page URL \
//     --kind hls|dash --src URL [--shots DIR] [--step-ms N] [--end-ms N] [--min-frames N]
import path from 'node:path';
import { parseArgs } from 'node:util';
import puppeteer from 'puppeteer-core';

const { values: o } = parseArgs({
  options: {
    chromium: { type: 'string', default: '/usr/bin/chromium' },
    profile: { type: 'string' },
    page: { type: 'string' },
    kind: { type: 'string', default: 'hls' },
    src: { type: 'string' },
    shots: { type: 'string', default: '' },
    'step-ms': { type: 'string', default: '20000' },
    'end-ms': { type: 'string', default: '60000' },
    'min-frames': { type: 'string', default: '10' },
  },
});
for (const k of ['profile', 'page', 'src']) {
  if (!o[k]) {
    process.stderr.write(`play.mjs: --${k} is required\n`);
    process.exit(2);
  }
}
const stepMs = Number(o['step-ms']);
const endMs = Number(o['end-ms']);

const browser = await puppeteer.launch({
  executablePath: o.chromium,
  headless: true,
  userDataDir: o.profile,
  protocolTimeout: stepMs * 20 + endMs,
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--autoplay-policy=no-user-gesture-required',
    '--mute-audio',
    // Containers often give /dev/shm 64 MB: keep Chromium's shared memory in /tmp.
    '--disable-dev-shm-usage',
  ],
});
let code = 0;
try {
  const page = await browser.newPage();
  page.on('console', (m) => process.stderr.write(`console.${m.type()}: ${m.text()}\n`));
  page.on('pageerror', (e) => process.stderr.write(`pageerror: ${e.message}\n`));
  page.on('requestfailed', (q) => process.stderr.write(`requestfailed: ${q.url()} ${q.failure()?.errorText}\n`));
  await page.setViewport({ width: 1280, height: 720, deviceScaleFactor: 1 });
  if (o.shots) {
    await page.exposeFunction('snap', async (name) => {
      const file = path.join(o.shots, name);
      const el = await page.$('video');
      await el.screenshot({ path: file });
      return file;
    });
  }
  await page.goto(o.page, { waitUntil: 'load' });
  const result = await page.evaluate((opts) => window.run(opts), {
    kind: o.kind,
    src: o.src,
    screenshots: !!o.shots,
    stepMs,
    endMs,
    minFrames: Number(o['min-frames']),
  });
  process.stdout.write(JSON.stringify(result) + '\n');
} catch (e) {
  process.stderr.write(`play.mjs: ${e.stack || e}\n`);
  code = 1;
} finally {
  await browser.close();
}
process.exit(code);
