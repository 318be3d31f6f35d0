// End-to-end tests of the administration console (/admin/) in a real headless Chromium
// (Debian's `chromium` package) driven by playwright-core, against a running cvat-server.
//
// Environment (scripts/test-browser sets it):
//   CVAT_URL             the server, e.g. http://127.0.0.1:34567
//   CVAT_ADMIN_USER      an active superuser in group admin (default: admin)
//   CVAT_ADMIN_PASSWORD  its password
//   CHROMIUM             the browser (default: /usr/bin/chromium)
//   SCREENSHOTS          where the screenshots go (default: <repo>/target/admin-screenshots)
//
// Run: node --test --test-concurrency=1 admin.test.mjs

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const BASE = process.env.CVAT_URL;
const ADMIN = process.env.CVAT_ADMIN_USER || 'admin';
const ADMIN_PASSWORD = process.env.CVAT_ADMIN_PASSWORD;
const SHOTS = process.env.SCREENSHOTS || resolve(here, '../../target/admin-screenshots');
const RUN = randomBytes(3).toString('hex');
const PASSWORD = 'E2e-Secret-' + RUN;

if (!BASE || !ADMIN_PASSWORD) {
  throw new Error('set CVAT_URL and CVAT_ADMIN_PASSWORD (scripts/test-browser does)');
}

let context;
let page;
let profile;
let adminToken;
const seeded = [];

// --- the API, for seeding and for checking what the console did ----------------------------

async function api(method, path, body, token = adminToken) {
  const headers = { Accept: 'application/json' };
  if (token) headers.Authorization = `Token ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const r = await fetch(BASE + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : null };
}

async function login(username, password) {
  const r = await api('POST', '/api/auth/login', { username, password }, null);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.key;
}

// --- the browser --------------------------------------------------------------------------------

/** Clicks something that submits a form or follows a link; returns the final response. */
async function go(selector) {
  const [response] = await Promise.all([page.waitForNavigation(), page.click(selector)]);
  return response;
}

async function shot(name) {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

async function usernames() {
  return page.$$eval('#users tbody tr[data-user]', (rows) => rows.map((r) => r.dataset.user));
}

async function signIn(username, password) {
  await page.goto(`${BASE}/admin/users`);
  assert.match(page.url(), /\/admin\/login\?next=/);
  await page.fill('#username', username);
  await page.fill('#password', password);
  return go('#sign-in');
}

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  adminToken = await login(ADMIN, ADMIN_PASSWORD);
  // 23 users to page through, named so that searching and sorting have something to show.
  const first = ['Ada', 'Grace', 'Linus', 'Margaret', 'Dennis', 'Barbara', 'Ken', 'Frances'];
  for (let i = 0; i < 23; i++) {
    const username = `e2e_${RUN}_${String(i).padStart(2, '0')}`;
    const r = await api('POST', '/api/users', {
      username, password: PASSWORD, email: `${username}@example.com`,
      first_name: first[i % first.length], last_name: `Tester${i}`,
      groups: [i % 5 === 0 ? 'worker' : 'user'],
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    seeded.push(r.body);
  }
  const plain = await api('POST', '/api/users', { username: `plain_${RUN}`, password: PASSWORD });
  assert.equal(plain.status, 201, JSON.stringify(plain.body));

  profile = mkdtempSync(join(tmpdir(), 'cvat-e2e-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1360, height: 900 },
  });
  page = context.pages()[0] || (await context.newPage());
});

after(async () => {
  await context?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

// --- the tests, in order (they share the browser) -------------------------------------------

test('a user without the admin privilege is refused', async () => {
  const response = await signIn(`plain_${RUN}`, PASSWORD);
  assert.equal(response.status(), 403);
  assert.match(await page.textContent('#refused'), /does not have the admin privilege/);
  await shot('refused');
  // No session was started: the console still asks to sign in.
  await page.goto(`${BASE}/admin/users`);
  assert.match(page.url(), /\/admin\/login/);
  await context.clearCookies();
});

test('a wrong password shows the form again', async () => {
  const response = await signIn(ADMIN, 'not-the-password');
  assert.equal(response.status(), 400);
  assert.match(await page.textContent('#login-error'), /correct username and password/);
  assert.equal(await page.inputValue('#username'), ADMIN);
  await shot('login');
});

test('the admin signs in and lands on the users table', async () => {
  const response = await signIn(ADMIN, ADMIN_PASSWORD);
  assert.equal(response.status(), 200);
  assert.match(page.url(), /\/admin\/users$/);
  assert.equal(await page.textContent('#whoami'), ADMIN);
  assert.ok((await usernames()).length > 0);
  await shot('users');
});

test('search narrows the table', async () => {
  await page.fill('#search', `e2e_${RUN}_1`);
  await go('#apply');
  const names = await usernames();
  assert.deepEqual(names.sort(), seeded.map((u) => u.username).filter((n) => n.startsWith(`e2e_${RUN}_1`)).sort());
  assert.match(await page.textContent('#count'), /^10 users/);
  // By first name too.
  await page.fill('#search', `grace tester`);
  await go('#apply');
  for (const n of await usernames()) {
    const u = seeded.find((s) => s.username === n);
    assert.ok(u && u.first_name === 'Grace', n);
  }
});

test('every column header sorts, both ways', async () => {
  await page.goto(`${BASE}/admin/users?search=e2e_${RUN}&page_size=50`);
  await go('th a[data-sort="username"]');
  const asc = await usernames();
  assert.equal(asc.length, 23);
  assert.deepEqual(asc, [...asc].sort());
  assert.match(page.url(), /sort=username/);
  await go('th a[data-sort="username"]');
  const desc = await usernames();
  assert.deepEqual(desc, [...asc].reverse());
  await go('th a[data-sort="last_name"]');
  const last = await page.$$eval('#users tbody tr td:nth-child(4)', (tds) => tds.map((td) => td.textContent));
  assert.deepEqual(last, [...last].sort());
  for (const col of ['id', 'first_name', 'email', 'groups', 'is_staff', 'is_active', 'last_login', 'date_joined']) {
    const response = await go(`th a[data-sort="${col}"]`);
    assert.equal(response.status(), 200, col);
    assert.equal((await usernames()).length, 23, col);
  }
  await shot('users-sorted');
});

test('paging walks through every user once', async () => {
  await page.goto(`${BASE}/admin/users?search=e2e_${RUN}&sort=username`);
  await page.selectOption('#page-size', '10');
  await go('#apply');
  assert.match(await page.textContent('#count'), /23 users · page 1 of 3/);
  const seen = [...(await usernames())];
  await go('#next');
  assert.match(await page.textContent('#count'), /page 2 of 3/);
  seen.push(...(await usernames()));
  await go('#next');
  seen.push(...(await usernames()));
  assert.equal(await page.$('#next'), null);
  assert.deepEqual(seen, seeded.map((u) => u.username).sort());
  await go('#prev');
  assert.match(await page.textContent('#count'), /page 2 of 3/);
});

test('filters: inactive only, and by group', async () => {
  await page.goto(`${BASE}/admin/users?search=e2e_${RUN}&page_size=50`);
  await page.selectOption('#filter-group', 'worker');
  await go('#apply');
  const workers = seeded.filter((u) => u.groups.includes('worker')).map((u) => u.username).sort();
  assert.deepEqual((await usernames()).sort(), workers);
  await page.selectOption('#filter-group', '');
  await page.selectOption('#filter-active', 'false');
  await go('#apply');
  assert.deepEqual(await usernames(), []);
});

let created;

test('create: errors next to their fields, then a new user', async () => {
  await page.goto(`${BASE}/admin/users`);
  await go('#new-user');
  await page.fill('#username', 'bob');
  await page.fill('#password', '1234');
  await page.fill('#email', 'not-an-address');
  const response = await go('#create-button');
  assert.equal(response.status(), 400);
  assert.match(await page.textContent('[data-field="username"] .error'), /at least 5 characters/);
  assert.match(await page.textContent('[data-field="email"] .error'), /valid email address/);
  assert.match(await page.textContent('[data-field="password"]'), /too short/);
  assert.equal(await page.inputValue('#email'), 'not-an-address');
  await shot('create-errors');

  const username = `made_${RUN}`;
  await page.fill('#username', username);
  await page.fill('#password', 'Console-Made-77');
  await page.fill('#email', `${username}@example.com`);
  await page.fill('#first_name', 'Console');
  await page.check('#group-worker');
  const done = await go('#create-button');
  assert.equal(done.status(), 200);
  assert.match(page.url(), /\/admin\/users\/\d+\?done=created$/);
  assert.equal(await page.textContent('#user-title'), username);
  created = Number(page.url().match(/users\/(\d+)/)[1]);
  const u = (await api('GET', `/api/users/${created}`)).body;
  assert.deepEqual([u.username, u.first_name, [...u.groups].sort(), u.is_active], [username, 'Console', ['user', 'worker'], true]);
  await login(username, 'Console-Made-77');
});

test('edit names, e-mail, groups and flags', async () => {
  await page.goto(`${BASE}/admin/users/${created}`);
  await page.fill('#last_name', 'Edited');
  await page.fill('#email', `edited_${RUN}@example.com`);
  await page.uncheck('#group-user');
  await page.check('#is_staff');
  await go('#save');
  assert.match(await page.textContent('#flash'), /saved/);
  const u = (await api('GET', `/api/users/${created}`)).body;
  assert.deepEqual([u.last_name, u.email, u.groups, u.is_staff], ['Edited', `edited_${RUN}@example.com`, ['worker'], true]);
  // A bad value comes back next to its field, the rest of the form as typed.
  await page.fill('#username', 'no spaces allowed');
  const response = await go('#save');
  assert.equal(response.status(), 400);
  assert.match(await page.textContent('[data-field="username"] .error'), /Enter a valid username/);
  await shot('user-edit-error');
});

test('set a password', async () => {
  await page.goto(`${BASE}/admin/users/${created}`);
  await page.fill('#password', 'short');
  await page.fill('#password2', 'short');
  const bad = await go('#set-password-button');
  assert.equal(bad.status(), 400);
  assert.match(await page.textContent('#set-password [data-field="password"] .error'), /too short/);
  await page.fill('#password', 'Another-Secret-88');
  await page.fill('#password2', 'Another-Secret-88');
  await go('#set-password-button');
  assert.match(await page.textContent('#flash'), /sessions and tokens have been revoked/);
  await login(`made_${RUN}`, 'Another-Secret-88');
});

test('deactivate and activate', async () => {
  await page.goto(`${BASE}/admin/users/${created}`);
  await go('#deactivate');
  assert.match(await page.textContent('#flash'), /deactivated/);
  assert.equal((await api('GET', `/api/users/${created}`)).body.is_active, false);
  await shot('user');
  await page.goto(`${BASE}/admin/users?is_active=false&search=made_${RUN}`);
  assert.deepEqual(await usernames(), [`made_${RUN}`]);
  await page.goto(`${BASE}/admin/users/${created}`);
  await go('#activate');
  assert.equal((await api('GET', `/api/users/${created}`)).body.is_active, true);
});

test('the last admin cannot be deactivated or deleted', async () => {
  const me = (await api('GET', '/api/users/self')).body;
  await page.goto(`${BASE}/admin/users/${me.id}`);
  const response = await go('#deactivate');
  assert.equal(response.status(), 409);
  assert.match(await page.textContent('#status .form-error'), /last active admin/);
  await shot('last-admin');
  await page.goto(`${BASE}/admin/users/${me.id}/delete`);
  const del = await go('#confirm');
  assert.equal(del.status(), 409);
  assert.match(await page.textContent('#confirm-delete'), /last active admin/);
});

test('delete after a confirmation naming the user', async () => {
  await page.goto(`${BASE}/admin/users/${created}`);
  await go('#delete');
  assert.equal(await page.textContent('#delete-name'), `made_${RUN}`);
  await shot('delete-confirm');
  await go('#confirm');
  assert.match(await page.textContent('#flash'), new RegExp(`made_${RUN} has been deleted`));
  assert.equal((await api('GET', `/api/users/${created}`)).status, 404);
});

test('organizations: members, role change, removal', async () => {
  const slug = `org${RUN}`;
  const org = await api('POST', '/api/organizations', { slug, name: `Team ${RUN}` });
  assert.equal(org.status, 201, JSON.stringify(org.body));
  const member = seeded[1];
  const inv = await api('POST', `/api/invitations?org=${slug}`, { role: 'worker', email: member.email });
  assert.equal(inv.status, 201, JSON.stringify(inv.body));

  await page.goto(`${BASE}/admin/organizations`);
  await shot('organizations');
  await go(`tr[data-org="${slug}"] a`);
  assert.equal(await page.textContent('#org-title'), `Team ${RUN}`);
  const row = `tr[data-member="${member.username}"]`;
  await page.selectOption(`${row} select`, 'supervisor');
  await go(`${row} button`);
  assert.match(await page.textContent('#flash'), /role has been changed/);
  assert.equal(await page.inputValue(`${row} select`), 'supervisor');
  await shot('organization');
  await go(`${row} a[href$="/delete"]`);
  assert.match(await page.textContent('#confirm-remove'), new RegExp(member.username));
  await go('#confirm');
  assert.match(await page.textContent('#flash'), /removed/);
  assert.equal(await page.$(row), null);
});

test('log out', async () => {
  await page.goto(`${BASE}/admin/users`);
  await go('#logout');
  assert.match(page.url(), /\/admin\/login$/);
  await page.goto(`${BASE}/admin/users`);
  assert.match(page.url(), /\/admin\/login\?next=/);
});
