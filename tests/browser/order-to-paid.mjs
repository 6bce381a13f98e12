// The browser end-to-end flow, in the system's headless Chromium (Debian `chromium`, never a
// downloaded build): the order form → a server-side error → the hosted invoice page → the PDF
// → English and back → the sandbox payment → «Оплачен» with the act → the e-mail in /mailbox;
// then the form without JavaScript.
//
//   node order-to-paid.mjs BASE_URL OUTPUT_DIR
//
// Screenshots (NN-step.png) and the downloaded PDFs go to OUTPUT_DIR. The last line on stdout is
// one JSON object: {"ok": true, ...what was seen} or {"ok": false, "step", "error"}; progress goes
// to stderr. Exit 0 on success, 1 on a failed check, 2 on bad usage or a missing browser.
// Environment: CHROMIUM (default /usr/bin/chromium), BROWSER_FLOW_TIMEOUT_MS (default 75000).

import { accessSync, constants, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { chromium } from 'playwright-core';

const [baseArg, outArg] = process.argv.slice(2);
if (!baseArg || !outArg) {
  console.error('usage: node order-to-paid.mjs BASE_URL OUTPUT_DIR');
  process.exit(2);
}
const BASE = new URL(baseArg).origin;
const OUT = resolve(outArg);
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const FLOW_TIMEOUT_MS = Number(process.env.BROWSER_FLOW_TIMEOUT_MS || 75000);
const FIELDS = ['plan', 'quantity', 'company', 'inn', 'kpp', 'address', 'email'];
const BAD_INN = '7736207544'; // wrong control digit
const GOOD_INN = '7736207543';

try {
  accessSync(CHROMIUM, constants.X_OK);
} catch {
  emit({ ok: false, step: 'launch', error: `no Chromium at ${CHROMIUM}: install Debian's \`chromium\` (make test does)` });
  process.exit(2);
}
mkdirSync(OUT, { recursive: true });

const run = randomBytes(4).toString('hex');
const order = {
  plan: 'start',
  quantity: '1',
  company: 'ООО «Ромашка»',
  inn: GOOD_INN,
  kpp: '770401001',
  address: '119021, г. Москва, ул. Льва Толстого, д. 16',
  email: `buyer+${run}@example.com`,
};
// Accepted by the browser's own `type=email` check, refused by the server (no dot in the domain).
const badEmail = `buyer+${run}@localhost`;

const result = { ok: true, base: BASE, run, buyer_email: order.email, screenshots: [], timings_ms: {}, page_errors: [], server_errors: [] };
let current = 'launch';
let page;
let shots = 0;

const log = (msg) => console.error(`[browser] ${msg}`);
function emit(obj) {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}
function check(cond, msg) {
  if (!cond) throw new Error(msg);
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function step(name, fn) {
  current = name;
  const t0 = Date.now();
  log(`${name} …`);
  const value = await fn();
  result.timings_ms[name] = Date.now() - t0;
  return value;
}

async function shot(name) {
  const file = join(OUT, `${String(++shots).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  result.screenshots.push(file);
}

async function text(locator) {
  return ((await locator.textContent()) ?? '').replace(/\s+/g, ' ').trim();
}

// The element's text once it stops changing (hints may be debounced), passing `accept`.
async function settledText(locator, accept, what, timeout = 5000) {
  const deadline = Date.now() + timeout;
  let last = null;
  let seen;
  while (Date.now() < deadline) {
    seen = await text(locator);
    if (seen === last && accept(seen)) return seen;
    last = seen;
    await sleep(150);
  }
  throw new Error(`${what}: still ${JSON.stringify(seen)} after ${timeout} ms`);
}

// Clicks and waits for the navigation the click starts to commit at a URL passing `urlPredicate`
// (even the same URL again) and load; returns the status of the first response (e.g. 303 for a
// form post that redirects).
async function clickAndNavigate(locator, urlPredicate, what) {
  const main = page.mainFrame();
  const first = page.waitForResponse((r) => r.request().isNavigationRequest() && r.frame() === main, { timeout: 15000 }).catch((e) => e);
  const committed = page.waitForEvent('framenavigated', { predicate: (f) => f === main && urlPredicate(new URL(f.url())), timeout: 15000 }).catch((e) => e);
  await locator.click();
  const [response, arrived] = await Promise.all([first, committed]);
  if (arrived instanceof Error) throw new Error(`${what}: did not arrive (the page is at ${page.url()})`);
  await page.waitForLoadState('load');
  return { firstStatus: response instanceof Error ? null : response.status() };
}

async function fillOrder(values) {
  await page.selectOption('#plan', values.plan);
  for (const name of ['quantity', 'company', 'inn', 'kpp', 'address', 'email']) {
    await page.fill(`#${name}`, values[name]);
  }
}

async function formValues() {
  const out = {};
  for (const name of FIELDS) out[name] = await page.locator(`#order-form [name="${name}"]`).inputValue();
  return out;
}

async function statusOf() {
  const el = page.locator('[data-status]');
  check((await el.count()) === 1, `expected one [data-status] element, found ${await el.count()}`);
  return { status: await el.getAttribute('data-status'), label: await text(el) };
}

async function main() {
  const t0 = Date.now();
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    timeout: 30000,
    // Playwright adds --headless and a fresh temporary --user-data-dir; these keep Chromium
    // quiet on a closed network (no updates, sync, QUIC probes or first-run work).
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
  result.browser = `Chromium ${browser.version()}`;
  result.timings_ms.launch = Date.now() - t0;
  try {
    const context = await browser.newContext({ acceptDownloads: true, locale: 'ru-RU', viewport: { width: 1024, height: 900 } });
    context.setDefaultTimeout(10000);
    page = await context.newPage();
    page.on('pageerror', (e) => result.page_errors.push(`${page.url()}: ${e.message}`));
    page.on('response', (r) => {
      if (r.status() >= 500) result.server_errors.push(`${r.status()} ${r.request().method()} ${r.url()}`);
    });
    try {
      await flow(context);
      await noScript(browser);
    } catch (e) {
      const file = join(OUT, 'failure.png');
      await page.screenshot({ path: file, fullPage: true }).then(() => result.screenshots.push(file), () => {});
      result.at = page.url();
      throw e;
    }
  } finally {
    await browser.close().catch(() => {});
  }
}

async function flow(context) {
  // 1. The order form: fields, labels, plans with prices, a fresh idempotency key.
  await step('form', async () => {
    const res = await page.goto(`${BASE}/`, { waitUntil: 'load' });
    check(res && res.status() === 200, `GET / answered ${res?.status()}`);
    const form = page.locator('form#order-form');
    check((await form.count()) === 1, 'no <form id="order-form"> on /');
    const method = ((await form.getAttribute('method')) || '').toLowerCase();
    const action = await form.getAttribute('action');
    check(method === 'post' && new URL(action || '', BASE).pathname === '/invoices',
      `the form posts ${method || 'GET'} to ${action}, expected POST /invoices`);
    for (const name of FIELDS) {
      const field = page.locator(`#order-form #${name}`);
      check((await field.count()) === 1, `no #${name} field in the form`);
      check((await field.getAttribute('name')) === name, `#${name} has name="${await field.getAttribute('name')}"`);
      const label = page.locator(`label[for="${name}"]`);
      check((await label.count()) >= 1 && (await text(label.first())) !== '', `no <label for="${name}">`);
    }
    check((await page.locator('#plan').evaluate((e) => e.tagName)) === 'SELECT', '#plan is not a <select>');
    const plans = await page.locator('#plan option').evaluateAll((os) => os.map((o) => ({ value: o.value, text: o.textContent.trim() })));
    check(plans.some((p) => p.value === order.plan), `no plan "${order.plan}" among ${JSON.stringify(plans)}`);
    check(plans.every((p) => /\d/.test(p.text) && /₽|руб/.test(p.text)), `plan options show no prices: ${JSON.stringify(plans)}`);
    const key = page.locator('#order-form input[type="hidden"][name="idempotency_key"]');
    check((await key.count()) === 1 && (await key.inputValue()) !== '', 'no filled hidden idempotency_key');
    check((await page.locator('#order-form button[type="submit"]').count()) === 1, 'no submit button');
    result.form = { plans, title: await page.title() };
    await shot('form');
  });

  // 2. The ИНН hint reacts as you type: an error for a wrong control digit, gone or OK once fixed.
  await step('inn_hint', async () => {
    const inn = page.locator('#inn');
    const hint = page.locator('#inn-hint');
    check((await hint.count()) === 1, 'no #inn-hint element');
    await inn.fill('');
    await inn.pressSequentially(BAD_INN, { delay: 20 });
    const bad = await settledText(hint, (t) => t !== '', `#inn-hint after typing ${BAD_INN}`);
    await shot('inn-hint-bad');
    await inn.fill('');
    await inn.pressSequentially(GOOD_INN, { delay: 20 });
    const good = await settledText(hint, (t) => t !== bad, `#inn-hint after typing ${GOOD_INN}`);
    result.inn_hint = { bad, good };
    await inn.fill(BAD_INN);
    await settledText(hint, (t) => t === bad, `#inn-hint after filling ${BAD_INN} at once`);
    await inn.fill(GOOD_INN);
    await settledText(hint, (t) => t === good, `#inn-hint after filling ${GOOD_INN} at once`);
  });

  // 3. A first submit with an e-mail the server refuses: the same form again (422), the error
  //    next to the field, everything entered kept.
  await step('server_error', async () => {
    const entered = { ...order, email: badEmail };
    await fillOrder(entered);
    const { firstStatus } = await clickAndNavigate(page.locator('#order-form button[type="submit"]'),
      (u) => u.pathname === '/invoices', 'the form post with a bad e-mail');
    const error = page.locator('#email-error');
    check((await error.count()) === 1, `no #email-error after posting ${badEmail} (status ${firstStatus}, at ${page.url()})`);
    const info = await error.evaluate((e) => ({
      tag: e.tagName.toLowerCase(),
      cls: [...e.classList],
      code: e.dataset.code,
      after: !!(document.querySelector('#email').compareDocumentPosition(e) & Node.DOCUMENT_POSITION_FOLLOWING),
    }));
    check(info.tag === 'p' && info.cls.includes('field-error'), `#email-error is <${info.tag} class="${info.cls.join(' ')}">, expected <p class="field-error">`);
    check(info.after, '#email-error is not after the #email field');
    check((await page.locator('#order-form').count()) === 1, 'the error page is not the order form');
    const kept = await formValues();
    const lost = FIELDS.filter((f) => kept[f] !== entered[f]);
    check(lost.length === 0, `values not kept: ${lost.map((f) => `${f}=${JSON.stringify(kept[f])} (entered ${JSON.stringify(entered[f])})`).join(', ')}`);
    const otherErrors = await page.locator('.field-error').evaluateAll((es) => es.map((e) => e.id));
    result.server_error = { status: firstStatus, code: info.code, message: await text(error), other_errors: otherErrors.filter((i) => i !== 'email-error'), kept };
    await shot('server-error');
  });

  // 4. Corrected and submitted: 303 to the hosted invoice page, «Не оплачен».
  await step('issue', async () => {
    await page.fill('#email', order.email);
    const { firstStatus } = await clickAndNavigate(page.locator('#order-form button[type="submit"]'),
      (u) => /^\/invoices\/[^/]+$/.test(u.pathname) && u.searchParams.has('token'), 'the invoice page after the valid post');
    const url = new URL(page.url());
    const h1 = await text(page.locator('h1'));
    const m = h1.match(/Счёт № (\S+)/);
    check(m, `the <h1> reads ${JSON.stringify(h1)}, expected «Счёт № <number>»`);
    const st = await statusOf();
    check(st.status === 'issued' && st.label === 'Не оплачен', `status ${JSON.stringify(st)}, expected issued «Не оплачен»`);
    result.invoice = { id: url.pathname.split('/').pop(), number: m[1], url: page.url(), post_status: firstStatus, h1 };
    result.statuses = { issued: st };
    await shot('invoice-issued');
  });

  // 5. The PDF through the page's link (same origin, redirects to the document).
  await step('pdf', async () => {
    const link = page.locator('a[data-link="pdf"]');
    check((await link.count()) === 1, 'no a[data-link="pdf"]');
    const href = new URL(await link.getAttribute('href'), page.url());
    check(href.origin === BASE && href.pathname === `/invoices/${result.invoice.id}/pdf` && href.searchParams.has('token'),
      `the PDF link is ${href}, expected ${BASE}/invoices/${result.invoice.id}/pdf?token=…`);
    // A click either downloads (Content-Disposition: attachment) or opens Chromium's PDF viewer
    // (inline); both are fine for a person. The bytes: the download's, or the same link's fetched.
    const invoicePage = page.url();
    const quiet = (p) => p.catch(() => null);
    const outcome = Promise.race([
      quiet(page.waitForEvent('download', { timeout: 15000 }).then((d) => ({ download: d }))),
      quiet(page.waitForEvent('framenavigated', { predicate: (f) => f === page.mainFrame() && f.url() !== invoicePage, timeout: 15000 })
        .then(() => ({ opened: page.url() }))),
    ]);
    const navResponses = [];
    const onResponse = (r) => {
      if (r.frame() === page.mainFrame() && r.request().isNavigationRequest()) navResponses.push(r);
    };
    page.on('response', onResponse);
    await link.click();
    const got = await outcome;
    page.off('response', onResponse);
    check(got, 'clicking the PDF link neither downloaded nor opened anything in 15 s');
    const file = join(OUT, `invoice-${result.invoice.number}.pdf`);
    if (got.download) {
      await got.download.saveAs(file);
      const failure = await got.download.failure();
      check(!failure, `the PDF download failed: ${failure}`);
      result.pdf = { delivered: 'download', suggested_filename: got.download.suggestedFilename(), final_url: got.download.url() };
    } else {
      await page.waitForLoadState('load').catch(() => {});
      const last = navResponses[navResponses.length - 1];
      const type = last ? (await last.headerValue('content-type')) || '' : '';
      check(type.startsWith('application/pdf'), `the PDF link opened ${got.opened} as ${JSON.stringify(type)}`);
      const fetched = await context.request.get(href.toString());
      check(fetched.ok(), `GET ${href} (the page's request context) answered ${fetched.status()}`);
      writeFileSync(file, await fetched.body());
      result.pdf = { delivered: 'viewer', final_url: got.opened, content_type: type, redirect_status: navResponses[0]?.status() ?? null };
      await page.goto(invoicePage, { waitUntil: 'load' });
    }
    const bytes = readFileSync(file);
    check(bytes.subarray(0, 5).toString('latin1') === '%PDF-', `the PDF link gave no PDF: ${JSON.stringify(bytes.subarray(0, 40).toString('latin1'))}`);
    Object.assign(result.pdf, { href: href.toString(), path: file, bytes: bytes.length });
  });

  // 6. English and back.
  await step('language', async () => {
    const en = page.locator('a[data-lang="en"]');
    check((await en.count()) === 1, 'no a[data-lang="en"]');
    await clickAndNavigate(en, (u) => u.pathname === `/invoices/${result.invoice.id}` && u.searchParams.get('lang') === 'en', 'the English page');
    const st = await statusOf();
    check(st.status === 'issued' && st.label === 'Unpaid', `English status ${JSON.stringify(st)}, expected issued «Unpaid»`);
    const h1 = await text(page.locator('h1'));
    check(h1.includes(result.invoice.number), `the English <h1> ${JSON.stringify(h1)} lacks the number`);
    result.english = { url: page.url(), h1, html_lang: await page.locator('html').getAttribute('lang'), status: st };
    await shot('invoice-english');
    const ru = page.locator('a[data-lang="ru"]');
    if ((await ru.count()) === 1) {
      await clickAndNavigate(ru, (u) => u.pathname === `/invoices/${result.invoice.id}` && u.searchParams.get('lang') !== 'en', 'the Russian page');
      result.english.back = 'a[data-lang="ru"]';
    } else {
      await page.goBack({ waitUntil: 'load' });
      result.english.back = 'history';
    }
    const back = await statusOf();
    check(back.label === 'Не оплачен', `back in Russian the status reads ${JSON.stringify(back)}`);
  });

  // 7. The sandbox payment, then reload until fulfilment shows: «Оплачен» and the act.
  await step('pay', async () => {
    const pay = page.locator('button[data-action="sandbox-pay"]');
    check((await pay.count()) === 1, 'no button[data-action="sandbox-pay"]');
    const { firstStatus } = await clickAndNavigate(pay, (u) => u.pathname === `/invoices/${result.invoice.id}`, 'the invoice page after paying');
    result.pay = { post_status: firstStatus, landed: page.url() };
    await shot('invoice-after-pay');
    const deadline = Date.now() + 20000;
    let st = await statusOf();
    let reloads = 0;
    while (!(st.status === 'paid' && (await page.locator('a[data-link="act"]').count()) === 1)) {
      check(Date.now() < deadline, `after 20 s of reloading: status ${JSON.stringify(st)}, act links ${await page.locator('a[data-link="act"]').count()}`);
      await sleep(500);
      await page.reload({ waitUntil: 'load' });
      reloads += 1;
      st = await statusOf();
    }
    check(st.label === 'Оплачен', `paid, but the label reads ${JSON.stringify(st.label)}`);
    result.statuses.paid = st;
    result.pay.reloads = reloads;
    result.pay.pay_button_after = await pay.count();
    const actHref = new URL(await page.locator('a[data-link="act"]').getAttribute('href'), page.url());
    const act = await context.request.get(actHref.toString());
    const body = await act.body();
    check(act.ok() && body.subarray(0, 5).toString('latin1') === '%PDF-', `the act link ${actHref} gave ${act.status()} ${JSON.stringify(body.subarray(0, 40).toString('latin1'))}`);
    const actFile = join(OUT, `act-${result.invoice.number}.pdf`);
    writeFileSync(actFile, body);
    result.act = { href: actHref.toString(), path: actFile, bytes: body.length };
    await shot('invoice-paid');
    const en = page.locator('a[data-lang="en"]');
    if ((await en.count()) === 1) {
      await clickAndNavigate(en, (u) => u.searchParams.get('lang') === 'en', 'the English page after paying');
      result.statuses.paid_en = await statusOf();
      check(result.statuses.paid_en.label === 'Paid', `English status after paying ${JSON.stringify(result.statuses.paid_en)}, expected «Paid»`);
      await shot('invoice-paid-english');
    }
  });

  // 8. The closing documents e-mail in the local mailbox.
  await step('mailbox', async () => {
    const deadline = Date.now() + 20000;
    let row;
    for (let polls = 0; ; polls++) {
      const res = await page.goto(`${BASE}/mailbox`, { waitUntil: 'load' });
      check(res && res.status() === 200, `GET /mailbox answered ${res?.status()}`);
      row = page.locator('tr').filter({ hasText: order.email }).filter({ hasText: result.invoice.number });
      if ((await row.count()) > 0) break;
      check(Date.now() < deadline, `no e-mail to ${order.email} about ${result.invoice.number} in /mailbox after 20 s (${polls + 1} polls)`);
      await sleep(500);
    }
    check((await row.count()) === 1, `${await row.count()} e-mails to ${order.email} about ${result.invoice.number}, expected one`);
    const cells = await row.locator('td').evaluateAll((tds) => tds.map((td) => td.textContent.trim()));
    const subject = cells.find((c) => c.includes(result.invoice.number)) ?? '';
    const attachments = await row.locator('a').evaluateAll((as) => as.map((a) => ({ name: a.textContent.trim(), href: a.getAttribute('href') })));
    check(attachments.length > 0, 'the e-mail row has no attachment links');
    const first = await context.request.get(new URL(attachments[0].href, BASE).toString());
    const firstBytes = await first.body();
    check(first.ok() && firstBytes.subarray(0, 5).toString('latin1') === '%PDF-', `the attachment ${attachments[0].href} is not a PDF`);
    await row.scrollIntoViewIfNeeded();
    await row.evaluate((tr) => { tr.style.outline = '3px solid #16a34a'; });
    result.mailbox = { subject, cells, attachments };
    await shot('mailbox');
  });
}

// 9. Without JavaScript the form still posts, and the server's errors come back next to the fields.
async function noScript(browser) {
  await step('no_js', async () => {
    const context = await browser.newContext({ javaScriptEnabled: false, locale: 'ru-RU', viewport: { width: 1024, height: 900 } });
    context.setDefaultTimeout(10000);
    const main = page;
    page = await context.newPage();
    try {
      const res = await page.goto(`${BASE}/`, { waitUntil: 'load' });
      check(res && res.status() === 200, `GET / (no JavaScript) answered ${res?.status()}`);
      const entered = { ...order, inn: BAD_INN, email: `nojs+${run}@example.com` };
      await fillOrder(entered);
      const { firstStatus } = await clickAndNavigate(page.locator('#order-form button[type="submit"]'),
        (u) => u.pathname === '/invoices', 'the form post without JavaScript');
      const error = page.locator('#inn-error');
      check((await error.count()) === 1, `no #inn-error after posting ИНН ${BAD_INN} without JavaScript (status ${firstStatus})`);
      const kept = await formValues();
      const lost = FIELDS.filter((f) => kept[f] !== entered[f]);
      check(lost.length === 0, `values not kept without JavaScript: ${lost.join(', ')}`);
      result.no_js = { status: firstStatus, code: await error.getAttribute('data-code'), message: await text(error) };
      await shot('no-js-server-error');
    } catch (e) {
      const file = join(OUT, 'failure-no-js.png');
      await page.screenshot({ path: file, fullPage: true }).then(() => result.screenshots.push(file), () => {});
      result.at = page.url();
      throw e;
    } finally {
      await context.close().catch(() => {});
      page = main;
    }
  });
}

process.on('unhandledRejection', (e) => {
  emit({ ...result, ok: false, step: current, error: `unhandled: ${e && e.message ? e.message.split('\n')[0] : e}` });
  process.exit(1);
});

const guard = setTimeout(() => {
  emit({ ...result, ok: false, step: current, error: `the flow took longer than ${FLOW_TIMEOUT_MS} ms` });
  process.exit(1);
}, FLOW_TIMEOUT_MS);

try {
  await main();
  clearTimeout(guard);
  emit(result);
  process.exit(0);
} catch (e) {
  clearTimeout(guard);
  const error = (e && e.message ? e.message : String(e)).split('\n')[0];
  log(`FAILED at ${current}: ${error}${result.at ? ` (page: ${result.at})` : ''}`);
  emit({ ...result, ok: false, step: current, error });
  process.exit(1);
}
