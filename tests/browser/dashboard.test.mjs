// End-to-end test of the dashboard (actors/api/dashboard.html): a real
// nats-server, a real `switchyard node` serving the HTTP API with one external
// identity, this script as the external worker, and Debian's Chromium driven by
// playwright-core clicking through the page. No mocks.
//
//   node dashboard.test.mjs <switchyard-binary> <output-dir>
//
// playwright-core is resolved through NODE_PATH (run.sh sets it). The
// screenshot goes to <output-dir>/dashboard.png. Exit code 0 on success.

import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";

const require = createRequire(import.meta.url);
const { chromium } = require("playwright-core");

const [binary, outDir] = process.argv.slice(2);
if (!binary || !outDir) {
  console.error("usage: node dashboard.test.mjs <switchyard-binary> <output-dir>");
  process.exit(2);
}

const OVERALL_TIMEOUT_MS = 120_000;
const ERROR_TEXT = "boom from the browser test";
const started = Date.now();

function log(msg) {
  console.log(`[browser ${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s] ${msg}`);
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- processes -------------------------------------------------------------

/// A child process whose output is kept (the last 256 KiB) for failure reports.
function startProcess(name, cmd, args) {
  const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
  const proc = { name, child, out: "", exited: false, code: null, signal: null };
  const keep = (chunk) => { proc.out = (proc.out + chunk.toString()).slice(-262144); };
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
  proc.done = new Promise((resolve) => {
    child.on("error", (e) => { keep(`spawn error: ${e.message}\n`); proc.exited = true; resolve(); });
    child.on("exit", (code, signal) => { proc.exited = true; proc.code = code; proc.signal = signal; resolve(); });
  });
  return proc;
}

async function stopProcess(proc) {
  if (!proc || proc.exited) return;
  proc.child.kill("SIGTERM");
  const timer = setTimeout(() => { if (!proc.exited) proc.child.kill("SIGKILL"); }, 10_000);
  await proc.done;
  clearTimeout(timer);
}

function tail(text, lines = 60) {
  return text.split("\n").slice(-lines).join("\n");
}

// ---- helpers ---------------------------------------------------------------

async function freePorts(n) {
  const servers = [];
  for (let i = 0; i < n; i++) {
    const s = net.createServer();
    await new Promise((resolve, reject) => { s.once("error", reject); s.listen(0, "127.0.0.1", resolve); });
    servers.push(s);
  }
  const ports = servers.map((s) => s.address().port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

function canConnect(port) {
  return new Promise((resolve) => {
    const sock = net.connect({ host: "127.0.0.1", port });
    sock.once("connect", () => { sock.destroy(); resolve(true); });
    sock.once("error", () => { sock.destroy(); resolve(false); });
  });
}

/// An error that ends a wait at once instead of being retried.
function fatal(msg) {
  const e = new Error(msg);
  e.fatal = true;
  return e;
}

/// Polls `probe` until it returns a value other than undefined; an error it
/// throws is retried (and reported on timeout) unless it is fatal.
async function until(what, timeoutMs, probe, intervalMs = 200) {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (e) {
      if (e.fatal) throw e;
      last = e.message;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}${last ? ` (last error: ${last})` : ""}`);
    await sleep(intervalMs);
  }
}

function check(cond, msg) {
  if (!cond) throw fatal(`check failed: ${msg}`);
}

// ---- the test --------------------------------------------------------------

const ctx = { tmp: null, nats: null, node: null, browser: null };

async function run() {
  fs.mkdirSync(outDir, { recursive: true });

  log("step 1: free ports and a temp dir");
  const [natsPort, apiPort] = await freePorts(2);
  ctx.tmp = fs.mkdtempSync(path.join(os.tmpdir(), "sy-browser-"));
  log(`  nats 127.0.0.1:${natsPort}, api 127.0.0.1:${apiPort}, dir ${ctx.tmp}`);

  log("step 2: start nats-server");
  ctx.nats = startProcess("nats-server", "nats-server",
    ["-js", "-a", "127.0.0.1", "-p", String(natsPort), "-sd", path.join(ctx.tmp, "store")]);
  await until("nats-server to accept connections", 15_000, async () => {
    if (ctx.nats.exited) throw fatal(`nats-server exited (code ${ctx.nats.code}):\n${tail(ctx.nats.out)}`);
    return (await canConnect(natsPort)) ? true : undefined;
  });

  log("step 3: start the switchyard node");
  const config = path.join(ctx.tmp, "node.toml");
  fs.writeFileSync(config, `[node]
name = "browser-test"
heartbeat_interval = "1s"
data_dir = ${JSON.stringify(path.join(ctx.tmp, "data"))}
[broker]
urls = ["nats://127.0.0.1:${natsPort}"]
storage = "memory"
# No housekeeper: it would remove the records of the analysis once R
# finished, and the test watches R's record turn Finished.
[housekeeper]
enabled = false
[api]
listen = "127.0.0.1:${apiPort}"
[[consumer]]
identity = "runner"
plugin = "sy.external"
filters = [ { type = "sample" } ]
concurrency = 4
lease = "30s"
`);
  ctx.node = startProcess("switchyard node", binary, ["node", "--config", config]);
  const base = `http://127.0.0.1:${apiPort}`;
  await until("GET /health to answer 200", 30_000, async () => {
    if (ctx.node.exited) throw fatal(`the node exited (code ${ctx.node.code}, signal ${ctx.node.signal})`);
    const res = await fetch(`${base}/health`);
    return res.status === 200 ? true : undefined;
  });

  async function call(method, urlPath, body) {
    const res = await fetch(base + urlPath, {
      method,
      headers: body === undefined ? {} : { "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let json = null;
    try { json = JSON.parse(text); } catch { /* not JSON */ }
    return { status: res.status, json, text };
  }
  async function expectOk(method, urlPath, body, want = 200) {
    const r = await call(method, urlPath, body);
    check(r.status === want, `${method} ${urlPath} answered ${r.status} (want ${want}): ${r.text}`);
    return r.json;
  }
  // Acts as an external worker: pops until a task arrives.
  async function pop(what) {
    return until(what, 30_000, async () => {
      const r = await expectOk("POST", "/api/queues/runner/pop?limit=1");
      check(Array.isArray(r.tasks), `pop answered no tasks list: ${JSON.stringify(r)}`);
      return r.tasks.length ? r.tasks[0] : undefined;
    }, 250);
  }

  log("step 4: send a root task and crash its fork as the external worker");
  const sent = await expectOk("POST", "/api/tasks", { headers: { type: "sample", name: "browser" } }, 201);
  const U = sent.uid;
  check(typeof U === "string" && U, `POST /api/tasks gave no uid: ${JSON.stringify(sent)}`);
  log(`  root U = ${U}`);
  const first = await pop("the fork of U on runner");
  const F = first.task.uid;
  check(first.task.root_uid === U, `popped task ${F} has root_uid ${first.task.root_uid}, want ${U}`);
  log(`  popped fork F = ${F} (lease ${first.lease})`);
  const crashed = await expectOk("PATCH", `/api/tasks/${encodeURIComponent(F)}`,
    { lease: first.lease, status: "Crashed", error: ERROR_TEXT });
  check(crashed.status === "Crashed", `PATCH Crashed answered ${JSON.stringify(crashed)}`);

  log("step 5: open the dashboard in Chromium");
  ctx.browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
           "--disable-component-update", "--disable-sync"],
  });
  const page = await ctx.browser.newPage({ viewport: { width: 1280, height: 800 } });
  const pageErrors = [];
  page.on("pageerror", (e) => { pageErrors.push(e.message); log(`  page error: ${e.message}`); });
  page.on("console", (m) => { if (m.type() === "error") log(`  console error: ${m.text()}`); });
  page.setDefaultTimeout(20_000);

  await page.goto(`${base}/#/queue/runner`);
  const crashedRow = page.getByTestId(`crashed-row-${F}`);
  await crashedRow.waitFor({ state: "visible" });
  await until(`crashed-row-${F} to show the error text`, 10_000, async () =>
    (await crashedRow.textContent()).includes(ERROR_TEXT) ? true : undefined);
  log(`  crashed-row-${F} shows "${ERROR_TEXT}"`);

  await page.evaluate(() => { location.hash = "#/"; });
  const queueRow = page.getByTestId("queue-row-runner");
  await queueRow.waitFor({ state: "visible" });
  await until("the overview to show 1 crashed task for runner", 10_000, async () =>
    (await page.getByTestId("queue-crashed-runner").textContent()).trim() === "1" ? true : undefined);
  check(((await page.getByTestId("last-refresh").textContent()) || "").startsWith("updated"), "last-refresh is not shown");
  log("  overview: queue-row-runner shows crashed 1");

  await page.evaluate(() => history.back());  // the back button returns to the queue view
  await crashedRow.waitFor({ state: "visible" });

  log(`step 6: click retry-${F}`);
  await page.getByTestId(`retry-${F}`).click();
  const result = page.getByTestId("action-result");
  const R = await until("the action result to name the retry uid", 15_000, async () =>
    (await result.getAttribute("data-retry-uid")) || undefined);
  log(`  action result: "${(await result.textContent()).trim()}"; R = ${R}`);
  check(R !== F, "the retry uid equals the crashed uid");
  await until(`GET /api/tasks/${F} to answer 404`, 10_000, async () =>
    (await call("GET", `/api/tasks/${encodeURIComponent(F)}`)).status === 404 ? true : undefined);
  await until(`GET /api/analyses/${U} to list ${R} with orig_uid ${F}`, 10_000, async () => {
    const a = await expectOk("GET", `/api/analyses/${encodeURIComponent(U)}`);
    return a.tasks.some((t) => t.uid === R && t.orig_uid === F) ? true : undefined;
  });
  log(`  API agrees: ${F} is gone, analysis ${U} lists ${R} forked from ${F}`);

  // Watch the retry's detail view live while the worker runs it (no reload).
  await page.evaluate((uid) => { location.hash = "#/task/" + encodeURIComponent(uid); }, R);
  const status = page.getByTestId("task-status");
  await status.waitFor({ state: "visible" });
  const before = (await status.textContent()).trim();
  log(`  task view of R shows status ${before}`);
  check(before !== "Finished", `R is already Finished before the worker ran it`);

  log("step 7: run R as the external worker");
  const second = await pop(`the retry ${R} on runner`);
  check(second.task.uid === R, `popped ${second.task.uid}, want the retry ${R}`);
  const finished = await expectOk("PATCH", `/api/tasks/${encodeURIComponent(R)}`,
    { lease: second.lease, status: "Finished" });
  check(finished.status === "Finished", `PATCH Finished answered ${JSON.stringify(finished)}`);

  log("step 8: the page follows R to Finished and F leaves the crashed list");
  await until("task-status to show Finished", 15_000, async () =>
    (await status.textContent()).trim() === "Finished" ? true : undefined, 250);
  log("  task-status shows Finished");
  await page.evaluate(() => { location.hash = "#/queue/runner"; });
  await page.getByTestId("queue-title").waitFor({ state: "visible" });
  await until(`crashed-row-${F} to be gone`, 10_000, async () =>
    (await page.getByTestId(`crashed-row-${F}`).count()) === 0 ? true : undefined, 250);
  log(`  crashed-row-${F} is gone`);
  const shot = path.join(outDir, "dashboard.png");
  await page.screenshot({ path: shot, fullPage: true });
  log(`  screenshot: ${shot}`);

  check(pageErrors.length === 0, `the page threw: ${pageErrors.join("; ")}`);
}

async function cleanup() {
  if (ctx.browser) await ctx.browser.close().catch(() => {});
  await stopProcess(ctx.node);
  await stopProcess(ctx.nats);
  if (ctx.tmp) fs.rmSync(ctx.tmp, { recursive: true, force: true });
}

for (const sig of ["SIGINT", "SIGTERM"]) {
  process.once(sig, () => {
    console.error(`\n${sig}: stopping`);
    cleanup().finally(() => process.exit(1));
  });
}

let failure = null;
let timer;
try {
  await Promise.race([
    run(),
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`overall timeout of ${OVERALL_TIMEOUT_MS / 1000} s`)), OVERALL_TIMEOUT_MS);
    }),
  ]);
} catch (e) {
  failure = e;
} finally {
  clearTimeout(timer);
}
if (failure) {
  console.error(`\nFAILED: ${failure.stack || failure.message}`);
  if (ctx.node) console.error(`\n--- switchyard node output (tail) ---\n${tail(ctx.node.out, 80)}`);
  if (ctx.nats && ctx.nats.exited) console.error(`\n--- nats-server output (tail) ---\n${tail(ctx.nats.out, 30)}`);
}
await cleanup();
console.log(failure ? "browser: 0 passed, 1 failed" : "browser: 1 passed, 0 failed");
process.exit(failure ? 1 : 0);
