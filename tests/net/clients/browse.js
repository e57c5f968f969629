// Renders pages in headless Chromium (Debian's, driven by playwright-core): each must
// load with no console error, no page error and no failed request, and show the texts
// given; a screenshot of each is written. Prints one JSON line per page.
//   node browse.js SCREENSHOT_DIR URL|FILE::TEXT1|TEXT2 ...
const { chromium } = require('playwright-core');

(async () => {
  const [dir, ...pages] = process.argv.slice(2);
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
                                          args: ['--no-sandbox', '--disable-gpu'] });
  let n = 0;
  for (const spec of pages) {
    const [where, texts] = spec.split('::');
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const problems = [];
    page.on('console', m => { if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`); });
    page.on('pageerror', e => problems.push(`page error: ${e.message}`));
    page.on('requestfailed', r => problems.push(`request failed: ${r.url()}`));
    let status = null;
    try {
      const resp = await page.goto(where.startsWith('/') ? `file://${where}` : where, { waitUntil: 'load', timeout: 20000 });
      status = resp ? resp.status() : null;
    } catch (e) { problems.push(`load: ${e.message}`); }
    const body = await page.innerText('body').catch(() => '');
    const missing = (texts || '').split('|').filter(t => t && !body.includes(t));
    const shot = `${dir}/page-${++n}.png`;
    await page.screenshot({ path: shot, fullPage: true }).catch(e => problems.push(`screenshot: ${e.message}`));
    const svg = await page.locator('svg').count();
    console.log(JSON.stringify({ page: where, status, problems, missing, screenshot: shot, svg }));
    await page.close();
  }
  await browser.close();
})();
