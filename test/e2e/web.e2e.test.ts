/**
 * examples/web in a real browser: headless Chromium (puppeteer-core) opens
 * the built app on its own origin (examples/web/serve.js, a process of its
 * own), which calls the real gateway on another origin (CORS) over HTTP and
 * WebSocket, in front of every subgraph and the workers (in this process), on
 * a database and queue prefix of this file's own. The gateway enforces the
 * app's persisted operations (OPERATIONS_SAFELIST=enforce, OPERATIONS_MANIFEST
 * = the app's manifest). The end of the flow is written to
 * test/e2e/artifacts/web-flow.png (examples/web/README.md).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthenticator } from '../../common/auth.ts';
import type { Config } from '../../scripts/settings.ts';
import { listen, type Listening } from '../../common/http.ts';
import { createLogger } from '../../common/logger.ts';
import { createGateway, listenGateway, type Gateway } from '../../gateway/server.ts';
import { ensureWebBuilt, WEB_MANIFEST } from '../../scripts/web-example.ts';
import { createWorkersApp, type WorkersApp } from '../../workers/http.ts';
import { startWorkers, type RunningWorkers } from '../../workers/index.ts';
import { WORKER_QUEUES } from '../../workers/queues.ts';
import { launchChromium } from '../support/browser.ts';
import { createProduct, fastOrderEnv, freePort, waitForTerminal } from '../support/orders.ts';
import { closeTestQueues, openTestQueues } from '../support/queues.ts';
import { startStack, type Stack } from '../support/stack.ts';
import { closeAll } from '../support/teardown.ts';
import { startWebServer, type WebServer } from '../support/web.ts';

const ARTIFACTS = fileURLToPath(new URL('./artifacts/', import.meta.url));
const logger = createLogger('web-e2e', process.env.LOG_LEVEL ?? 'silent');

let browser: Browser | undefined;
let stack: Stack | undefined;
let web: WebServer | undefined;
let config: Config;
let gatewayPort: number;
let gateway: { gateway: Gateway; http: Listening } | undefined;
let workers: RunningWorkers | undefined;
let productId: string;

/** The gateway under test, on the same port each time it starts (the app knows one URL). */
async function startGatewayOnPort(): Promise<{ gateway: Gateway; http: Listening }> {
  const started = await createGateway({ config, logger: logger.child({ service: 'gateway' }) });
  // Its WebSockets too (subscriptions); closing the listener ends the open streams first.
  return { gateway: started, http: await listenGateway(started, gatewayPort, '127.0.0.1') };
}

async function stopGateway(): Promise<void> {
  if (!gateway) return;
  const { gateway: running, http } = gateway;
  gateway = undefined;
  // The listener first (it ends the open subscriptions, so their clients reconnect), then the gateway.
  await http.close();
  await running.close();
}

async function startOrderWorkers(): Promise<void> {
  workers ??= await startWorkers(config, logger.child({ service: 'workers' }));
}

beforeAll(async () => {
  // The app is built once (or not at all when dist/ is current); a first install and build take a while on 2 cores.
  await ensureWebBuilt();
  browser = await launchChromium();
  const webPort = await freePort();
  gatewayPort = await freePort();
  const origin = `http://127.0.0.1:${webPort}`;
  stack = await startStack('web', {
    env: {
      ...fastOrderEnv('web'),
      // A slow inventory (gremlin) must not time out: the tests hold orders in PROCESSING on purpose.
      INVENTORY_TIMEOUT_MS: '10000',
      CORS_ORIGINS: origin,
      OPERATIONS_MANIFEST: WEB_MANIFEST,
      OPERATIONS_SAFELIST: 'enforce',
    },
  });
  config = stack.config;
  gateway = await startGatewayOnPort();
  web = await startWebServer(webPort, { GATEWAY_URL: `http://127.0.0.1:${gatewayPort}/graphql`, IDENTITY_URL: stack.identity.url });
  productId = await createProduct(stack.gatewayUrl, 50, stack.admin);
  mkdirSync(ARTIFACTS, { recursive: true });
}, 420_000);

afterAll(async () => {
  await closeAll(browser, web, workers);
  await stopGateway();
  await stack?.close();
}, 120_000);

/** A browser context of its own (its own sessionStorage: one signed-in person), with a page in it. */
async function person(): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser!.createBrowserContext();
  const page = await context.newPage();
  page.setDefaultTimeout(30_000);
  return { context, page };
}

const text = (page: Page, selector: string) => page.$eval(selector, (node) => node.textContent?.trim() ?? '');

/** The signed-in user's id, from the token the app keeps. */
const signedInAs = (page: Page) =>
  page.evaluate(() => {
    const token = sessionStorage.getItem('junction.session')!;
    return (JSON.parse(atob(token.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/'))) as { sub: string }).sub;
  });

async function signUp(page: Page, name: string): Promise<string> {
  await page.goto(`${web!.origin}/`);
  await page.waitForSelector('form[aria-label="Create an account"]');
  await page.type('input[name=name]', name);
  await page.type('input[name=email]', `${name.toLowerCase().replace(/\W/g, '-')}-${Date.now()}@example.com`);
  await page.click('form[aria-label="Create an account"] button[type=submit]');
  await page.waitForFunction((expected) => document.querySelector('[data-testid=viewer]')?.textContent === expected, {}, name);
  return signedInAs(page);
}

async function signIn(page: Page, userId: string, admin = false): Promise<void> {
  await page.goto(`${web!.origin}/`);
  await page.waitForSelector('form[aria-label="Sign in"]');
  await page.$eval('input[name=userId]', (input) => ((input as HTMLInputElement).value = ''));
  await page.type('input[name=userId]', userId);
  if (admin) await page.click('input[name=admin]');
  await page.click('form[aria-label="Sign in"] button[type=submit]');
  await page.waitForSelector('[data-testid=viewer]');
}

const waitForStatus = (page: Page, status: string, timeout = 45_000) =>
  page.waitForFunction((expected) => document.querySelector('[data-testid=order-status]')?.textContent === expected, { timeout }, status);

describe('examples/web in Chromium', () => {
  let buyer: { context: BrowserContext; page: Page };
  let buyerId: string;
  let orderId: string;

  it('signs up, lists products with their stock, places an order (PENDING), and watches it go PROCESSING → CONFIRMED live, without a reload', async () => {
    buyer = await person();
    const { page } = buyer;
    // Every operation the app sends is asked of the gateway by id (the manifest's), or with the manifest's text.
    const sent: string[] = [];
    page.on('request', (request) => {
      if (request.url().endsWith('/graphql') && request.method() === 'POST') sent.push(request.postData() ?? '');
    });
    buyerId = await signUp(page, 'Ada Lovelace');
    const row = `tr[data-product-id="${productId}"]`;
    await page.waitForSelector(row);
    expect(await text(page, `${row} [data-testid=stock]`)).toBe('50');

    // The order stays PENDING until the workers run.
    await page.$eval(`${row} input`, (input) => ((input as HTMLInputElement).value = ''));
    await page.type(`${row} input`, '3');
    await page.click(`${row} button`);
    await page.waitForFunction(() => /^#\/orders\/[0-9a-f-]{36}$/.test(location.hash));
    orderId = decodeURIComponent((await page.evaluate(() => location.hash)).split('/').pop()!);
    await waitForStatus(page, 'PENDING');
    await page.waitForSelector('[data-testid=live]');

    // The page stays as it is: a mark on its window would be gone after any reload or navigation.
    await page.evaluate(() => ((window as unknown as { unreloaded: boolean }).unreloaded = true));
    const gets = sent.length;
    await startOrderWorkers();
    await waitForStatus(page, 'CONFIRMED');
    expect(await page.evaluate(() => (window as unknown as { unreloaded?: boolean }).unreloaded)).toBe(true);
    // The change came over the subscription: the page asked the gateway nothing over HTTP meanwhile (no polling).
    expect(sent.length).toBe(gets);
    expect(await page.$$eval('[data-testid=history] li', (items) => items.map((item) => item.getAttribute('data-status')))).toEqual([
      'PENDING',
      'PROCESSING',
      'CONFIRMED',
    ]);
    expect(await text(page, '.order')).toContain(`3 × Product ${productId}`);
    await page.screenshot({ path: join(ARTIFACTS, 'web-flow.png'), fullPage: true });
    // Three fewer in stock.
    await page.click('nav a[href="#/"]');
    await page.waitForFunction((selector) => document.querySelector(selector)?.textContent === '47', {}, `${row} [data-testid=stock]`);

    expect(sent.length).toBeGreaterThan(0);
    for (const body of sent) expect(JSON.parse(body).extensions?.persistedQuery?.sha256Hash, body).toMatch(/^[0-9a-f]{64}$/);
  });

  it('keeps watching across a gateway restart: the subscription resumes and the next change appears without a reload', async () => {
    const { page } = buyer;
    // No workers: the next order stays PENDING until they are back.
    await closeAll(workers);
    workers = undefined;
    await page.goto(`${web!.origin}/#/`);
    const row = `tr[data-product-id="${productId}"]`;
    await page.waitForSelector(row);
    await page.click(`${row} button`);
    await page.waitForFunction((previous) => /^#\/orders\/[0-9a-f-]{36}$/.test(location.hash) && !location.hash.endsWith(previous), {}, orderId);
    const next = decodeURIComponent((await page.evaluate(() => location.hash)).split('/').pop()!);
    await waitForStatus(page, 'PENDING');
    await page.waitForSelector('[data-testid=live]');
    await page.evaluate(() => ((window as unknown as { unreloaded: boolean }).unreloaded = true));

    // The gateway goes away (its streams end) and comes back on the same address.
    await stopGateway();
    gateway = await startGatewayOnPort();
    // Nothing has happened to the order yet: whatever the page shows next came over the resumed subscription.
    const [before] = await stack!.db.sql`select status from orders.orders where id = ${next}`;
    expect(before!.status).toBe('PENDING');
    await startOrderWorkers();
    await waitForTerminal(stack!.db.sql, [next], 45_000);
    await waitForStatus(page, 'CONFIRMED');
    expect(await page.evaluate(() => (window as unknown as { unreloaded?: boolean }).unreloaded)).toBe(true);
    expect(await page.$$eval('[data-testid=history] li', (items) => items.map((item) => item.getAttribute('data-status')))).toEqual([
      'PENDING',
      'PROCESSING',
      'CONFIRMED',
    ]);
    expect(await page.$('[data-testid=reconnecting]')).toBeNull();
  });

  it("cannot show another user's order: NOT_FOUND, and nothing of it in the page", async () => {
    const { page, context } = await person();
    await signUp(page, 'Mallory');
    await page.goto(`${web!.origin}/#/orders/${orderId}`);
    await page.waitForSelector('[data-testid=error]');
    expect(await page.$eval('[data-testid=error]', (node) => node.getAttribute('data-code'))).toBe('NOT_FOUND');
    const body = await text(page, 'body');
    for (const secret of [`Product ${productId}`, 'CONFIRMED', 'PENDING', 'Ada Lovelace', buyerId]) expect(body).not.toContain(secret);
    expect(await page.$('[data-testid=order-status]')).toBeNull();
    await context.close();
  });

  it('shows orderStats to an admin, as they are in the database', async () => {
    const { page, context } = await person();
    await signIn(page, 'operator-web-e2e', true);
    await page.click('nav a[href="#/admin"]');
    await page.waitForSelector('[data-testid=order-stats]');
    const [row] = await stack!.db.sql`select count(*) filter (where status = 'CONFIRMED')::int as confirmed, count(*)::int as total from orders.orders`;
    expect(await text(page, '[data-testid=count-CONFIRMED]')).toBe(String(row!.confirmed));
    expect(await text(page, '[data-testid=count-total]')).toBe(String(row!.total));
    await context.close();
  });

  it('with OPERATIONS_SAFELIST=enforce, an operation typed into the devtools console is refused; the same session still works', async () => {
    const { page } = buyer;
    await page.goto(`${web!.origin}/#/orders`);
    await page.waitForSelector(`tr[data-order-id="${orderId}"]`);
    // What someone types in the console: the session's own token, from the app's own origin (so CORS lets it through), a
    // query of their own choosing that is not in the app's manifest.
    const gatewayUrl = `http://127.0.0.1:${gatewayPort}/graphql`;
    const typed = await page.evaluate(async (url) => {
      const token = sessionStorage.getItem('junction.session');
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query: '{ me { id email orders { id status } } }' }),
      });
      return { status: response.status, body: (await response.json()) as { data?: unknown; errors?: { extensions?: { code?: string } }[] } };
    }, gatewayUrl);
    expect(typed.status).toBe(400);
    expect(typed.body.errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_NOT_IN_LIST');
    expect(typed.body.data ?? null).toBeNull();
    expect(JSON.stringify(typed.body)).not.toContain(orderId);
    // The app's own operations, from the same page and token, still answer.
    await page.click('nav a[href="#/"]');
    await page.waitForSelector(`tr[data-product-id="${productId}"] [data-testid=stock]`);
  });

  it('from an origin not in CORS_ORIGINS the app gets nothing from the gateway', async () => {
    const { page, context } = await person();
    // localhost is another origin than the 127.0.0.1 listed in CORS_ORIGINS (and NODE_ENV=test allows no local origin by itself).
    await page.goto(`${web!.origin.replace('127.0.0.1', 'localhost')}/`);
    await page.waitForSelector('form[aria-label="Create an account"]');
    await page.type('input[name=name]', 'Eve');
    await page.type('input[name=email]', `eve-${Date.now()}@example.com`);
    await page.click('form[aria-label="Create an account"] button[type=submit]');
    await page.waitForSelector('[data-testid=error]');
    expect(await page.$eval('[data-testid=error]', (node) => node.getAttribute('data-code'))).toBe('NETWORK_ERROR');
    expect(await page.$('[data-testid=viewer]')).toBeNull();
    await context.close();
  });
});

describe('operator pages in Chromium', () => {
  let board: { app: WorkersApp; http: Listening; close(): Promise<void> } | undefined;

  beforeAll(async () => {
    const { producer, queues } = await openTestQueues(stack!.config.REDIS_URL, `${stack!.config.QUEUE_PREFIX}-board`);
    const app = createWorkersApp({ queues: queues.only(WORKER_QUEUES), logger, auth: createAuthenticator(stack!.config) });
    const http = await listen(app.app, 0, '127.0.0.1');
    board = {
      app,
      http,
      async close() {
        app.close();
        await http.close();
        await closeTestQueues(queues, producer);
      },
    };
  });

  afterAll(async () => {
    await board?.close();
  });

  it('sends a browser without a session to sign in, says what went wrong there, and opens Bull Board once signed in', async () => {
    const { page, context } = await person();
    const base = board!.http.url;
    const problem = () => text(page, '#problem');

    await page.goto(`${base}/admin/queues`);
    expect(new URL(page.url()).pathname).toBe('/admin/login');
    expect(await problem()).toBe('Sign in with an admin token to open this page.');

    // A user's token: refused on the page, with the reason.
    await page.type('textarea[name=token]', await stack!.identity.token('someone'));
    await Promise.all([page.waitForNavigation(), page.click('button')]);
    expect(await problem()).toContain('operator pages need the admin role');
    // An expired admin token.
    await page.type('textarea[name=token]', await stack!.identity.token('operator', { roles: ['admin'], expiresIn: -3600 }));
    await Promise.all([page.waitForNavigation(), page.click('button')]);
    expect(await problem()).toContain('invalid bearer token: expired');

    await page.type('textarea[name=token]', await stack!.identity.adminToken());
    await Promise.all([page.waitForNavigation(), page.click('button')]);
    expect(new URL(page.url()).pathname).toBe('/admin/queues');
    // Bull Board's own page (its React app lists the queues).
    await page.waitForFunction(() => document.body.innerText.includes('orders'), { timeout: 30_000 });

    // The session's token expires: the next visit goes back to sign in, told why.
    const cookie = (await context.cookies()).find((c) => c.name === 'junction_admin');
    expect(cookie).toMatchObject({ name: 'junction_admin', httpOnly: true, sameSite: 'Strict', path: '/admin' });
    await context.setCookie({ ...cookie!, value: await stack!.identity.token('operator', { roles: ['admin'], expiresIn: -3600 }) });
    await page.goto(`${base}/admin/queues`);
    expect(new URL(page.url()).pathname).toBe('/admin/login');
    expect(await problem()).toBe('Your session ended: the token expired or is no longer valid. Sign in again.');
    await context.close();
  });
});
