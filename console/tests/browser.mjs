// The console's browser suite: Playwright (playwright-core) driving Debian's Chromium, headless,
// on the local stack (.local/env sourced: BUCKETS_CONSOLE_URL, the dev user). Each step saves a
// screenshot to $SCREENS and runs axe-core (no serious or critical violation allowed).
// Prints the first-load size (gzipped JS + CSS) and the page's load time.
// Webhook deliveries go to a receiver of this script on 127.0.0.1 (the local stack's
// WebhooksAllowLoopback lets webhooks reach loopback over http; nowhere else does).
import { chromium } from "playwright-core";
import { execFileSync } from "node:child_process";
import { createServer } from "node:http";
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { join } from "node:path";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const AXE = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
const env = (k) => process.env[k] || (() => { throw new Error(`${k} is not set: source .local/env (make local)`); })();
const URL_ = env("BUCKETS_CONSOLE_URL");
const DEV = { user: env("BUCKETS_DEV_USER"), password: env("BUCKETS_DEV_PASSWORD") };
const BOB = { user: "console-bob", password: "Bob-local-pw-1" };
const SCREENS = process.env.SCREENS || "../.local/console/screens";
const API = env("BUCKETS_API_URL");
const SFTP_PORT = env("BUCKETS_SFTP_PORT");
// A valid ed25519 public key (the OpenAPI document's example): the SFTP user's key.
const SSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMf9/y+h2QDwl4++5GUgOMcxgoJe7N68+cTjqPa2eSC6 partner@laptop";
const ROOT = new URL("../..", import.meta.url).pathname;
mkdirSync(SCREENS, { recursive: true });

let step = 0;
const failures = [];
function ok(cond, what) {
  if (!cond) throw new Error(`FAILED: ${what}`);
}
async function check(page, name) {
  step += 1;
  const file = join(SCREENS, `${String(step).padStart(2, "0")}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  await page.addScriptTag({ content: AXE });
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ["violations"] }));
  const bad = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  for (const v of bad) failures.push(`${name}: axe ${v.impact} ${v.id}: ${v.help} (${v.nodes.map((n) => n.target).join(" ")})`);
  if (bad.length) console.log(failures.slice(-bad.length).map((f) => `    ${f}`).join("\n"));
  console.log(`  ok ${step} ${name}${bad.length ? ` (axe: ${bad.length} serious/critical)` : ""}`);
}
async function signIn(page, who) {
  await page.goto(URL_);
  await page.fill("#user", who.user);
  await page.fill("#password", who.password);
  await page.click("button[type=submit]");
  await page.waitForSelector("#principal");
  return (await page.textContent("#principal")).trim();
}
async function toast(page, text) {
  await page.waitForFunction((t) => document.getElementById("toast")?.textContent?.includes(t), text);
}
async function drop(page, files) {
  const dt = await page.evaluateHandle((fs) => {
    const d = new DataTransfer();
    for (const f of fs) d.items.add(new File([new Uint8Array(f.bytes)], f.name, { type: f.type }));
    return d;
  }, files.map((f) => ({ ...f, bytes: Array.from(f.bytes) })));
  await page.dispatchEvent("#drop", "drop", { dataTransfer: dt });
}
const sizeOf = (page, name) => page.textContent(`#files tr[data-name="${name}"] .size`);
const clipboard = (page) => page.evaluate(() => navigator.clipboard.readText());
/** Clicks `button` until `selector` is there (what the page shows comes from asynchronous work). */
async function refreshUntil(page, button, selector, what, tries = 30) {
  for (let i = 0; i < tries; i++) {
    if (await page.$(selector)) return;
    await page.click(button);
    await page.waitForTimeout(1000);
  }
  throw new Error(`FAILED: ${what} (${selector} never shown)`);
}

// The webhook receiver: answers 200 and remembers what it got.
const received = [];
const receiver = createServer((req, res) => {
  let body = "";
  req.on("data", (c) => (body += c));
  req.on("end", () => {
    received.push({ path: req.url, id: req.headers["webhook-id"], body });
    res.writeHead(200).end("ok");
  });
});
await new Promise((r) => receiver.listen(0, "127.0.0.1", r));
const HOOK = `http://127.0.0.1:${receiver.address().port}/hook`;

// Bob, a second user of the pool (idempotent).
execFileSync(join(ROOT, ".local/build/bin/python3"), [join(ROOT, "infra/local/cognito_user.py"), BOB.user, BOB.password], { stdio: "inherit" });

// The page's headers.
const head = await fetch(URL_);
const csp = head.headers.get("content-security-policy") ?? "";
ok(head.status === 200 && csp.includes("script-src 'self'") && !csp.includes("unsafe-inline"), `strict CSP (${csp})`);
ok(head.headers.get("x-content-type-options") === "nosniff" && head.headers.get("x-frame-options") === "DENY", "nosniff, frame denial");
ok(head.headers.get("cache-control") === "no-store", "the page is not cached");

// First-load budget: the JS and CSS the page loads, gzipped.
const dist = new URL("../dist/assets/", import.meta.url).pathname;
const gz = readdirSync(dist).filter((f) => /\.(js|css)$/.test(f)).reduce((a, f) => a + gzipSync(readFileSync(join(dist, f)), { level: 9 }).length, 0);
ok(gz <= 150 * 1024, `first load ${gz} B gzipped <= 150 KiB`);

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium", headless: true, args: ["--no-sandbox"] });
// bypassCSP only so that axe-core can be injected as a script; the app itself runs under the CSP.
const opts = { bypassCSP: true, acceptDownloads: true, viewport: { width: 1200, height: 900 }, permissions: ["clipboard-read", "clipboard-write"] };
const a = await (await browser.newContext(opts)).newPage();
const errors = [];
a.on("pageerror", (e) => errors.push(String(e)));
try {
  const t0 = Date.now();
  await a.goto(URL_);
  await a.waitForSelector("#user");
  const loadMs = Date.now() - t0;
  const nav = await a.evaluate(() => performance.getEntriesByType("navigation")[0].toJSON());
  await check(a, "sign-in");
  const me = await signIn(a, DEV);
  ok(me.startsWith("user:"), `signed in as ${me}`);
  ok((await a.textContent("#who-name")).trim() === DEV.user, `the person shown by name (${await a.textContent("#who-name")})`);
  await a.reload();
  await a.waitForSelector("#principal");
  await check(a, "buckets-after-reload");

  // Create a bucket.
  const title = `Browser ${Date.now()}`;
  await a.fill("#new-title", title);
  await a.fill("#new-icon", "🧪");
  await a.click("text=Create");
  await a.waitForSelector("#bucket-title");
  const bucketUrl = a.url();
  const id = decodeURIComponent(bucketUrl.split("#/b/")[1]);
  ok((await a.textContent("#bucket-title")).includes(title), "the new bucket's page");
  ok(/#\/b\/[^/]+$/.test(bucketUrl), `the new bucket's page has its address (${bucketUrl})`);
  await check(a, "bucket-created");
  // Its address: back is the list, forward and a reload are the bucket again.
  await a.goBack();
  await a.waitForSelector("#bucket-table");
  await a.goForward();
  await a.waitForSelector("#bucket-title");
  await a.reload();
  await a.waitForSelector(`#bucket-title:has-text("${title}")`);

  // Edit and save JSON.
  await a.waitForSelector("#data-rev:has-text('revision')");
  await a.fill("textarea.code", '{"rows": 1, "owner": "dev"}');
  ok((await a.textContent(".json-status")).includes("Valid"), "valid JSON shown");
  await a.fill("textarea.code", '{"rows": ');
  ok((await a.textContent(".json-status")).includes("Invalid"), "invalid JSON shown");
  await a.fill("textarea.code", '{"rows": 1, "owner": "dev"}');
  await a.click("#save-data");
  await toast(a, "Data saved");
  await check(a, "data-saved");

  // A conflicting save from a second session.
  const b = await (await browser.newContext(opts)).newPage();
  await signIn(b, DEV);
  await b.goto(bucketUrl);
  await b.waitForSelector("#data-rev:has-text('revision')");
  await b.fill("textarea.code", '{"rows": 2, "by": "second session"}');
  await b.click("#save-data");
  await toast(b, "Data saved");
  await a.fill("textarea.code", '{"rows": 3, "by": "first session"}');
  await a.click("#save-data");
  await a.waitForSelector(".conflict:not([hidden])");
  ok((await a.textContent("#theirs")).includes("second session") && (await a.textContent("#mine")).includes("first session"), "both versions shown");
  await check(a, "conflict");
  await a.click("#overwrite");
  await toast(a, "Data saved");
  const saved = await a.evaluate(async (u) => (await fetch(u, { headers: { Authorization: `Bearer ${JSON.parse(sessionStorage.getItem("buckets.console.session")).secret}` } })).json(),
    URL_.replace(/console\/.*$/, `v1/buckets/${id}/data`));
  ok(saved.data.by === "first session", "overwrite kept mine");

  // Upload three files by a real DataTransfer drop.
  const files = [
    { name: "alpha.txt", type: "text/plain", bytes: Buffer.from("alpha\n".repeat(100)) },
    { name: "beta.csv", type: "text/csv", bytes: Buffer.from("a,b\n1,2\n") },
    { name: "gamma.json", type: "application/json", bytes: Buffer.from(JSON.stringify({ g: "x".repeat(3000) })) },
  ];
  await drop(a, files);
  for (const f of files) await a.waitForSelector(`#files tr[data-name="${f.name}"]`);
  ok((await sizeOf(a, "alpha.txt")).trim() === "600 B", "alpha.txt 600 B");
  ok((await sizeOf(a, "beta.csv")).trim() === "8 B", "beta.csv 8 B");
  ok((await sizeOf(a, "gamma.json")).trim() === "2.9 KiB", `gamma.json ${await sizeOf(a, "gamma.json")}`);
  await a.waitForFunction(() => document.getElementById("count")?.textContent === "3");
  await check(a, "uploaded");

  // Download one and compare its bytes.
  const [dl] = await Promise.all([a.waitForEvent("download"), a.click('button[aria-label="Download beta.csv"]')]);
  ok(Buffer.compare(readFileSync(await dl.path()), files[1].bytes) === 0, "downloaded bytes equal");

  // Replace one by name.
  await a.evaluate(() => document.getElementById("queue").replaceChildren());
  await drop(a, [{ name: "alpha.txt", type: "text/plain", bytes: Buffer.from("new alpha\n") }]);
  await a.waitForSelector('#queue li[data-name="alpha.txt"] .state:has-text("replaced")');
  await a.waitForFunction(() => document.querySelector('#files tr[data-name="alpha.txt"] .size')?.textContent === "10 B");
  await check(a, "replaced");

  // The replaced content is a kept version: listed, then restored.
  await a.click('button[aria-label="Versions of alpha.txt"]');
  await a.waitForSelector('#versions tr[data-version] .size:has-text("600 B")');
  await check(a, "versions");
  await a.click('#versions tr[data-version] button:has-text("Restore")');
  await toast(a, "Restored alpha.txt");
  await a.waitForFunction(() => document.querySelector('#files tr[data-name="alpha.txt"] .size')?.textContent === "600 B");
  await a.waitForSelector('#versions tr[data-version] .size:has-text("10 B")');
  await check(a, "version-restored");

  // Delete one.
  a.once("dialog", (d) => d.accept());
  await a.click('button[aria-label="Delete gamma.json"]');
  await a.waitForSelector('#files tr[data-name="gamma.json"]', { state: "detached" });
  await check(a, "deleted-file");

  // A large file goes through the multipart route (the local threshold is 5 MiB): 6 MiB,
  // two parts, then downloaded and compared.
  // (made in the page: 6 MiB through Playwright's JSON would take minutes)
  const BIG = 6 * 1024 * 1024 + 123;
  const big = Buffer.alloc(BIG);
  for (let i = 0; i < BIG; i += 4096) big[i] = i % 251;
  const bigDt = await a.evaluateHandle((n) => {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i += 4096) b[i] = i % 251;
    const d = new DataTransfer();
    d.items.add(new File([b], "big.bin", { type: "application/octet-stream" }));
    return d;
  }, BIG);
  await a.dispatchEvent("#drop", "drop", { dataTransfer: bigDt });
  await a.waitForSelector('#queue li[data-name="big.bin"] .state:has-text("uploaded")', { timeout: 60_000 });
  ok((await sizeOf(a, "big.bin")).trim() === "6.0 MiB", "big.bin listed");
  const [bigDl] = await Promise.all([a.waitForEvent("download"), a.click('button[aria-label="Download big.bin"]')]);
  ok(Buffer.compare(readFileSync(await bigDl.path()), big) === 0, "multipart bytes equal");

  // An older kept revision of the data.
  await a.selectOption("#revision", "1");
  await a.waitForFunction(() => document.querySelector("textarea.code").value.includes('"owner"'));
  ok((await a.textContent("#data-rev")).includes("revision 1"), "revision 1 shown");
  await check(a, "revision");

  // Share read with Bob, who then sees the bucket in his list.
  const c = await (await browser.newContext(opts)).newPage();
  const bob = await signIn(c, BOB);
  ok(!(await c.textContent("#bucket-table")).includes(id), "Bob does not see it before");
  await a.fill("#principal-new", bob);
  await a.click("#principal-add");
  await toast(a, "Permissions saved");
  await a.waitForSelector(`#perm-read li:has-text("${bob}")`);
  await check(a, "shared");
  await c.reload();
  await c.waitForSelector(`#bucket-table a[href="#/b/${encodeURIComponent(id)}"]`);
  await check(c, "bob-sees-it");

  // After an ACL change the page shows what the server kept: removing oneself from write is
  // answered with the creator still a writer, and the list shows him.
  await a.click(`button[aria-label="Remove ${me} from write"]`);
  await toast(a, "shown as the server kept them");
  await a.waitForSelector(`#perm-write li:has-text("${me}")`);
  ok((await a.textContent("#perm-read")).includes(bob), "the read list as kept");
  await check(a, "acl-as-kept");

  // Webhooks: add one to this script's receiver (its secret shown once, copied), ping it, see
  // the delivery delivered, then delete it.
  await a.fill("#wh-url", HOOK);
  await a.click("#wh-add");
  await a.waitForSelector("#wh-secret");
  const whSecret = (await a.textContent("#wh-secret-value")).trim();
  ok(whSecret.startsWith("whsec_"), "the webhook's secret shown");
  await a.click("#wh-secret-copy");
  await toast(a, "Copied");
  ok((await clipboard(a)) === whSecret, "the webhook's secret copied");
  await a.waitForSelector(`#webhooks tr:has-text("${HOOK}")`);
  await check(a, "webhook-added");
  await a.click(`button[aria-label="Send a ping to ${HOOK}"]`);
  await a.waitForSelector("#deliveries");
  await refreshUntil(a, "#deliveries-refresh", '#deliveries td.status-delivered', "the ping delivered");
  ok((await a.textContent("#deliveries")).includes("webhook.ping"), "the ping's delivery listed");
  ok(received.some((r) => r.path === "/hook" && r.body.includes("webhook.ping")), "the receiver got the ping");
  await check(a, "webhook-deliveries");
  a.once("dialog", (d) => d.accept());
  await a.click(`button[aria-label="Delete the webhook to ${HOOK}"]`);
  await toast(a, "Webhook deleted");
  await a.waitForSelector("#webhooks-status:has-text('No webhooks')");

  // SFTP users: add one with his key; the login and the command (with the port) shown; remove.
  await a.fill("#sftp-name", "partner");
  await a.selectOption("#sftp-access", "write");
  await a.fill("#sftp-keys", SSH_KEY);
  await a.click("#sftp-add");
  await toast(a, `login ${id}.partner`);
  await a.waitForSelector('#sftp-users tr[data-user="partner"]');
  const cmd = (await a.textContent('#sftp-users tr[data-user="partner"] .sftp-cmd')).trim();
  ok(cmd === `sftp -P ${SFTP_PORT} ${id}.partner@127.0.0.1`, `the sftp command (${cmd})`);
  ok((await a.textContent('#sftp-users tr[data-user="partner"]')).includes("SHA256:"), "the key's fingerprint");
  await check(a, "sftp-user-added");
  a.once("dialog", (d) => d.accept());
  await a.click('button[aria-label="Remove the SFTP user partner"]');
  await toast(a, "Removed partner");
  await a.waitForSelector('#sftp-users tr[data-user="partner"]', { state: "detached" });

  // History: written from the table's stream a moment after each change; paged by 10.
  await refreshUntil(a, "#history-refresh", "#history-more:not([hidden])", "a second page of history");
  const first = await a.$$eval("#history tbody tr", (r) => r.length);
  await a.click("#history-more");
  await a.waitForFunction((n) => document.querySelectorAll("#history tbody tr").length > n, first);
  await check(a, "history");
  await a.selectOption("#hist-kind", "bucket");
  await a.selectOption("#hist-action", "create");
  await a.waitForFunction((u) => {
    const rows = document.querySelectorAll("#history tbody tr");
    return rows.length === 1 && rows[0].textContent.includes(u);
  }, `/buckets/${id}`);
  ok((await a.textContent("#history tbody tr")).includes(me), "created by me");

  // API keys: one that reads this bucket only; its secret shown once and copied.
  await a.click('#who a[href="#/keys"]');
  await a.waitForSelector("#key-title");
  await check(a, "keys");
  await a.fill("#key-title", "browser key");
  await a.click("#scope-add");
  await a.fill("#scope-id-1", id);
  await a.selectOption("#scope-access-1", "read");
  await a.click("#key-create");
  await a.waitForSelector("#key-secret");
  const secret = (await a.textContent("#key-secret-value")).trim();
  ok(/^bk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/.test(secret), "the key's secret shown");
  await a.click("#key-secret-copy");
  await toast(a, "Copied");
  ok((await clipboard(a)) === secret, "the key's secret copied");
  await a.waitForSelector(`#keys tr:has-text("browser key"):has-text("${id} (read)")`);
  await check(a, "key-created");
  await a.click('#key-secret button:has-text("I have copied it")');
  ok(!(await a.$("#key-secret")), "the secret is gone once hidden");
  await a.reload();
  await a.waitForSelector('#keys tr:has-text("browser key")');
  ok(!(await a.textContent("main")).includes(secret), "the secret is never shown again");

  // Sign in with the API key alone (no user name, no password).
  const d = await (await browser.newContext(opts)).newPage();
  await d.goto(URL_);
  await d.click("#m-key");
  await d.fill("#apikey", "bk_not_a_key");
  await d.click("button[type=submit]");
  await d.waitForSelector("#signin-error:has-text('not an API key')");
  ok((await d.getAttribute("#apikey", "aria-invalid")) === "true", "the key field marked invalid");
  await check(d, "sign-in-bad-key");
  await d.fill("#apikey", secret);
  await d.click("button[type=submit]");
  await d.waitForSelector("#principal");
  ok((await d.textContent("#principal")).trim() === me, "a key acts as its owner");
  ok((await d.textContent("#who-name")).includes(`bk_${secret.slice(3, 19)}`), `the key shown by its prefix (${await d.textContent("#who-name")})`);
  await d.waitForSelector(`#bucket-table a[href="#/b/${encodeURIComponent(id)}"]`);
  ok((await d.$$eval("#bucket-table tbody tr", (r) => r.length)) === 1, "a scoped key lists its scope only");
  ok((await d.locator("#new-title").count()) === 0, "a scoped key is not offered to create a bucket (the server would refuse)");
  await check(d, "signed-in-with-key");

  // Revoke it: the next request with it is refused.
  a.once("dialog", (dl) => dl.accept());
  await a.click('button[aria-label="Revoke the key browser key"]');
  await toast(a, "Revoked browser key");
  await a.waitForSelector('#keys tr:has-text("browser key")', { state: "detached" });
  ok((await fetch(`${API}/v1/buckets`, { headers: { "X-API-Key": secret } })).status === 401, "a revoked key gets 401");
  await check(a, "key-revoked");
  await d.reload();
  await d.waitForSelector("#apikey");
  ok((await d.textContent("main")).includes("not accepted"), "a revoked key signs in no more");
  ok(await d.isHidden("#user"), "the key's way is the one offered again");
  await a.goto(bucketUrl);
  await a.waitForSelector("#bucket-title");

  // Phone width.
  await a.setViewportSize({ width: 375, height: 800 });
  await check(a, "phone-width");
  await a.setViewportSize({ width: 1200, height: 900 });

  // Empty the files.
  await a.click("#empty");
  await toast(a, "Emptied: 3 files deleted");
  await a.waitForSelector("#files tbody tr", { state: "detached" });
  await a.waitForFunction(() => document.getElementById("count")?.textContent === "0", null, { timeout: 10_000 })
    .catch(async () => ok(false, `no files counted (${await a.textContent("#count")})`));

  // Delete the bucket (typed confirmation).
  await a.fill("#confirm-id", "wrong");
  await a.click("#delete-bucket");
  await toast(a, "Type the bucket's id");
  await a.fill("#confirm-id", id);
  await a.click("#delete-bucket");
  await toast(a, `Deleted ${id}`);
  await a.waitForSelector("#bucket-table");
  ok(!(await a.textContent("#bucket-table")).includes(id), "gone from the list");
  await check(a, "bucket-deleted");

  // Sign out.
  await a.click("#signout");
  await a.waitForSelector("#user");
  ok(errors.length === 0, `no page errors (${errors.join("; ")})`);
  const figures = { first_load_js_css_gzip_bytes: gz, sign_in_form_ms: loadMs, dom_content_loaded_ms: Math.round(nav.domContentLoadedEventEnd), load_event_ms: Math.round(nav.loadEventEnd) };
  writeFileSync(join(SCREENS, "..", "figures.json"), JSON.stringify(figures, null, 1) + "\n");
  console.log(`console figures: ${JSON.stringify(figures)}`);
} finally {
  await browser.close();
  receiver.close();
}
if (failures.length) {
  console.error(failures.join("\n"));
  process.exit(1);
}
console.log(`browser: ${step} steps passed (screens in ${SCREENS})`);
