// Drives Debian's headless Chromium (puppeteer-core, no browser download)
// through mwg-console as a person would: a cyber team member logs in with
// password and TOTP code, searches for a person, downloads a practice's
// CSV and is refused a change; first an IT member kills a live tunnel. Writes a
// screenshot of each page to OUT and prints one JSON line of findings; the
// scenario (81) checks them against mwgctl and the audit trail. Any step
// that does not happen as it should throws: exit status 1.
import fs from 'node:fs';
import path from 'node:path';
import puppeteer from 'puppeteer-core';

const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`set ${k}`);
  return v;
};
const URL0 = env('CONSOLE');
const OUT = env('OUT');
const STEP_MS = 15000;
const found = {};

function fail(msg) {
  throw new Error(msg);
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(OUT, `${name}.png`), fullPage: true });
}

// Logs in through the form; returns the page on /tunnels.
async function login(page, user, password, code) {
  await page.goto(`${URL0}/login`, { waitUntil: 'load', timeout: STEP_MS });
  await page.type('input[name=user]', user);
  await page.type('input[name=password]', password);
  await page.type('input[name=otp]', code);
  await Promise.all([
    page.waitForNavigation({ waitUntil: 'load', timeout: STEP_MS }),
    page.click('#login button[type=submit]'),
  ]);
  if (!page.url().endsWith('/tunnels'))
    fail(`${user}: login ended on ${page.url()}: ${await page.$eval('main', (m) => m.innerText)}`);
  const who = await page.$eval('#who', (e) => e.textContent);
  return who;
}

async function cyber(browser) {
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 800 });
  await page.goto(`${URL0}/login`, { waitUntil: 'load', timeout: STEP_MS });
  await shot(page, '01-login');
  found.cyber_who = await login(page, 'erin', env('ERIN_PW'), env('ERIN_CODE'));
  found.cyber_kill_forms = (await page.$$('form[action="/tunnels/kill"]')).length;
  found.cyber_tunnel_rows = (await page.$$('#tunnels tbody tr')).length;
  await shot(page, '02-tunnels-cyber');

  // Search for a person.
  await page.goto(`${URL0}/audit`, { waitUntil: 'load', timeout: STEP_MS });
  await page.type('#search input[name=user]', 'alice');
  await Promise.all([
    page.waitForNavigation({ waitUntil: 'load', timeout: STEP_MS }),
    page.click('#search button[type=submit]'),
  ]);
  found.search_count = await page.$eval('#count', (e) => e.textContent);
  found.search_verify = await page.$eval('#verify', (e) => e.textContent);
  found.search_people = await page.$$eval('#records tbody tr td:nth-child(5)',
    (tds) => [...new Set(tds.map((t) => t.textContent))]);
  await page.click('#records tbody tr.fields summary');
  await shot(page, '03-audit-search');
  await page.setViewport({ width: 768, height: 1024 });
  await shot(page, '04-audit-search-tablet');
  await page.setViewport({ width: 1280, height: 800 });

  // A practice's CSV, downloaded as a person would.
  const dir = path.join(OUT, 'downloads');
  fs.mkdirSync(dir, { recursive: true });
  const cdp = await browser.target().createCDPSession();
  await cdp.send('Browser.setDownloadBehavior',
    { behavior: 'allow', downloadPath: dir, eventsEnabled: true });
  const done = new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('the download did not complete')), STEP_MS);
    t.unref();
    cdp.on('Browser.downloadProgress', (e) => {
      if (e.state === 'completed') { clearTimeout(t); resolve(e); }
      if (e.state === 'canceled') { clearTimeout(t); reject(new Error('download canceled')); }
    });
  });
  const named = new Promise((resolve) => cdp.on('Browser.downloadWillBegin',
    (e) => resolve(e.suggestedFilename)));
  await page.goto(`${URL0}/exports`, { waitUntil: 'load', timeout: STEP_MS });
  await page.type('#export input[name=practice]', 'K84001');
  await page.select('#export select[name=format]', 'csv');
  await shot(page, '05-exports');
  await page.click('#export button[type=submit]');
  await done;
  found.download = path.join(dir, await named);

  // A change as cyber: the form is not offered, so post one by hand with
  // the session's own CSRF token; the console must refuse it.
  await page.goto(`${URL0}/locks`, { waitUntil: 'load', timeout: STEP_MS });
  found.cyber_lock_forms = (await page.$$('form[action="/locks/add"]')).length;
  const [resp] = await Promise.all([
    page.waitForNavigation({ waitUntil: 'load', timeout: STEP_MS }),
    page.evaluate(() => {
      const f = document.createElement('form');
      f.method = 'post';
      f.action = '/locks/add';
      for (const [k, v] of [['csrf', document.querySelector('input[name=csrf]').value],
        ['kind', 'user'], ['name', 'alice'], ['reason', 'cyber tries']]) {
        const i = document.createElement('input');
        i.name = k;
        i.value = v;
        f.appendChild(i);
      }
      document.body.appendChild(f);
      f.submit();
    }),
  ]);
  found.cyber_change_status = resp.status();
  found.cyber_change_text = await page.$eval('#refused', (e) => e.textContent);
  await shot(page, '06-cyber-refused');
  await page.close();
}

async function it(browser) {
  const ctx = await browser.createBrowserContext();
  const page = await ctx.newPage();
  await page.setViewport({ width: 1280, height: 800 });
  found.it_who = await login(page, 'frank', env('FRANK_PW'), env('FRANK_CODE'));
  const rows = await page.$$eval('#tunnels tbody tr', (trs) => trs.map((tr) => tr.innerText));
  found.it_rows_before = rows.length;
  if (rows.length !== 2) fail(`IT sees ${rows.length} tunnels, expected 2`);
  found.it_row = rows[0];
  found.it_killed = await page.$eval('#tunnels input[name=id]', (e) => e.value);
  await page.type('#tunnels input[name=reason]', 'browser test: suspected misuse');
  await shot(page, '07-tunnels-it');
  await Promise.all([
    page.waitForNavigation({ waitUntil: 'load', timeout: STEP_MS }),
    page.click('#tunnels button[type=submit]'),
  ]);
  found.it_after_url = page.url();
  found.it_rows_after = (await page.$$('#tunnels tbody tr')).length;
  await shot(page, '08-tunnels-after-kill');
  await page.goto(`${URL0}/devices`, { waitUntil: 'load', timeout: STEP_MS });
  found.devices_rows = (await page.$$('#devices tbody tr')).length;
  await shot(page, '09-devices');
  await page.goto(`${URL0}/locks`, { waitUntil: 'load', timeout: STEP_MS });
  found.it_lock_forms = (await page.$$('form[action="/locks/add"]')).length;
  await shot(page, '10-locks-it');
  await ctx.close();
}

const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: false,
  args: ['--no-sandbox', '--headless=new', '--disable-gpu'],
});
let rc = 0;
// The kill's tunnel.close is written by mwgd's worker a moment after the
// page returns: wait for it, so the export that follows is final.
async function killRecorded() {
  const audit = env('AUDIT');
  for (let i = 0; i < 100; i++) {
    if (fs.readFileSync(audit, 'utf8').includes('"killed-by-admin"')) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  fail('no tunnel.close for the kill in the audit trail');
}

try {
  await it(browser);
  await killRecorded();
  await cyber(browser);
} catch (e) {
  found.error = String(e && e.message ? e.message : e);
  rc = 1;
} finally {
  await browser.close();
}
console.log(JSON.stringify(found));
process.exit(rc);
