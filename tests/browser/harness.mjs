// Shared pieces of the browser tests: a real `leadgate serve` on a fresh database, a "customer
// web site" on another origin, and Debian's Chromium driven by playwright-core.
import { spawn, spawnSync } from "node:child_process";
import { createServer } from "node:http";
import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium } from "playwright-core";

export const KEY = "lg_browser_tests_key_0123456789abcdef012345";
const ROOT = resolve(import.meta.dirname, "../..");
export const SCREENSHOTS = join(ROOT, "target", "browser-screenshots");

/**
 * Starts `leadgate serve` on a free port with a fresh database: SQLite, or a new PostgreSQL
 * database when LEADGATE_BROWSER_POSTGRES_URL names a server (`scripts/browser-tests` runs the
 * suite once on each).
 */
export async function startLeadgate(extraArgs = [], { listen = "127.0.0.1:0" } = {}) {
  const bin = process.env.LEADGATE_BIN ?? join(ROOT, "target", "debug", "leadgate");
  const dir = mkdtempSync(join(tmpdir(), "leadgate-browser-"));
  const server = process.env.LEADGATE_BROWSER_POSTGRES_URL;
  let database = [];
  let dropDatabase = () => {};
  if (server) {
    const name = `lg_browser_${process.pid}_${Math.floor(Math.random() * 1e9)}`;
    const created = spawnSync("psql", [server, "-qc", `CREATE DATABASE ${name}`], { encoding: "utf8" });
    if (created.status !== 0) throw new Error(`cannot create a test database: ${created.stderr}`);
    database = ["--database-url", server.replace(/\/[^/]*$/, `/${name}`)];
    dropDatabase = () => spawnSync("psql", [server, "-qc", `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`]);
  }
  const child = spawn(bin, ["--data-dir", dir, ...database, "serve", "--listen", listen, "--bootstrap-api-key", KEY,
    "--form-min-fill-seconds", "1", ...extraArgs], { stdio: ["ignore", "pipe", "inherit"], env: { RUST_LOG: "warn", ...process.env } });
  const base = await new Promise((resolveUrl, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`leadgate did not start: ${out}`)), 30_000);
    child.stdout.on("data", (chunk) => {
      out += chunk;
      const m = out.match(/Leadgate is running at (http:\/\/[^\s/]+)\//);
      if (m) { clearTimeout(timer); resolveUrl(m[1]); }
    });
    child.on("exit", (code) => reject(new Error(`leadgate exited with ${code}: ${out}`)));
  });
  return {
    base,
    async stop() {
      child.kill("SIGTERM");
      await new Promise((r) => child.once("exit", r));
      rmSync(dir, { recursive: true, force: true });
      dropDatabase();
    },
  };
}

/** Calls the REST API as the bootstrap admin. */
export async function api(base, method, path, body) {
  const res = await fetch(base + path, {
    method,
    headers: { Authorization: `Bearer ${KEY}`, ...(body ? { "Content-Type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/** Serves `pages` (path → HTML) on a free port: a site on another origin than Leadgate. */
export async function startSite(pages) {
  const server = createServer((req, res) => {
    const page = pages[new URL(req.url, "http://x").pathname];
    if (!page) { res.writeHead(404); res.end("not found"); return; }
    res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
    res.end(page);
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return { origin: `http://127.0.0.1:${server.address().port}`, stop: () => new Promise((r) => server.close(r)) };
}

/** Launches headless Chromium (Debian's package) with a fresh profile. */
export async function launchBrowser() {
  // playwright gives each launch a fresh temporary profile.
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
      "--no-first-run", "--disable-sync", "--disable-quic"],
  });
  mkdirSync(SCREENSHOTS, { recursive: true });
  return {
    browser,
    async close() { await browser.close(); },
  };
}
