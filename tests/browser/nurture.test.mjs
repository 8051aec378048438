// Issue 21 in a real browser: a marketer writes a template and a sequence in the UI (no JSON),
// enrols a contact from its page; the message reaches a real SMTP server (scripts/smtp-sink);
// the person opens the unsubscription link from it, in the e-mail's language, and unsubscribes
// in one click.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { readFileSync, existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { startLeadgate, launchBrowser, api, SCREENSHOTS } from "./harness.mjs";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const PASSWORD = "correct horse battery";
let leadgate, browser, sink, sinkLog;

async function freePort() {
  return await new Promise((resolve) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

before(async () => {
  sinkLog = join(mkdtempSync(join(tmpdir(), "leadgate-sink-")), "sink.jsonl");
  sink = spawn(join(ROOT, "scripts", "smtp-sink"), ["--log", sinkLog], { stdio: ["ignore", "pipe", "inherit"] });
  const sinkPort = await new Promise((resolve, reject) => {
    sink.stdout.once("data", (d) => resolve(String(d).trim()));
    sink.once("exit", (code) => reject(new Error(`smtp-sink exited with ${code}: run scripts/setup-test-tools`)));
  });
  const port = await freePort();
  const self = `http://127.0.0.1:${port}`;
  leadgate = await startLeadgate(["--smtp-url", `smtp://127.0.0.1:${sinkPort}`, "--public-url", self], { listen: `127.0.0.1:${port}` });
  const me = await api(leadgate.base, "GET", "/api/v1/me");
  await api(leadgate.base, "PUT", `/api/v1/users/${me.body.id}/password`, { password: PASSWORD });
  const settings = { window: { days: [1, 2, 3, 4, 5, 6, 7], from_hour: 0, to_hour: 24 }, from_address: "news@shop.example" };
  assert.equal((await api(leadgate.base, "PUT", "/api/v1/nurture/settings", settings)).status, 200);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await leadgate?.stop();
  sink?.kill();
});

function received() {
  if (!existsSync(sinkLog)) return [];
  return readFileSync(sinkLog, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));
}

test("a marketer writes a sequence without JSON, and the person unsubscribes in one click from the e-mail", async () => {
  const context = await browser.browser.newContext({ locale: "fr-FR" });
  const page = await context.newPage();
  await page.goto(leadgate.base + "/login");
  await page.fill("#email", "admin@leadgate.local");
  await page.fill("#password", PASSWORD);
  await page.click("button[type=submit]");
  await page.waitForURL(/\/leads/);

  // A template, written in the editor.
  await page.goto(leadgate.base + "/nurture");
  assert.match(await page.textContent("h1"), /Nurturing/);
  await page.fill("#new-tpl", "Bienvenue");
  await page.click("form[action='/nurture/templates'] button");
  await page.waitForURL(/\/nurture\/templates\//);
  await page.selectOption("#t-lang", "fr");
  await page.fill("#t-subject", "Bonjour {{ first_name | default('à vous') }}");
  await page.fill("#t-html", "<p>Bonjour {{ first_name | default('à vous') }}, voici <a href=\"https://shop.example/tarifs\">nos tarifs</a>.</p>");
  await page.click("form[action^='/nurture/templates/'] button.primary");
  await page.waitForURL(/done=/);
  assert.match(await page.textContent("[role=status]"), /Modèle enregistré/);

  // A sequence: one send, then the end, typed in the line editor.
  await page.goto(leadgate.base + "/nurture");
  await page.fill("#new-seq", "Accueil");
  await page.click("form[action='/nurture/sequences'] button");
  await page.waitForURL(/\/nurture\/sequences\//);
  await page.selectOption("#s-state", "active");
  await page.selectOption("#s-purpose", "");
  await page.selectOption("select[name=kind_1]", "end");
  await page.fill("input[name=key_1]", "fin");
  await page.click("form[action^='/nurture/sequences/'] button.primary");
  assert.match(await page.textContent("[role=status]"), /Séquence enregistrée/);
  await page.screenshot({ path: join(SCREENSHOTS, "ui-sequence.png"), fullPage: true });

  // Enrolled from the contact page; the message reaches the SMTP server.
  const person = (await api(leadgate.base, "POST", "/api/v1/contacts", { email: "lea@client.example", first_name: "Léa" })).body;
  await page.goto(`${leadgate.base}/contacts/${person.id}`);
  await page.click(`form[action='/contacts/${person.id}/enrol'] button`);
  await page.waitForURL(/done=/);
  assert.match(await page.textContent("[role=status]"), /Inscrit/);
  let got = [];
  for (let i = 0; i < 60 && got.length === 0; i++) {
    await new Promise((r) => setTimeout(r, 250));
    got = received();
  }
  assert.equal(got.length, 1, "one message at the SMTP server");
  assert.deepEqual(got[0].to, ["lea@client.example"]);
  const unsubscribe = got[0].list_unsubscribe.match(/<(http[^>]+)>/)[1];

  // The person opens the link: a page in the e-mail's language, one button, done.
  const person_context = await browser.browser.newContext({ locale: "en-GB" });
  const mail_page = await person_context.newPage();
  await mail_page.goto(unsubscribe);
  assert.match(await mail_page.textContent("h1"), /Se désabonner/);
  await mail_page.click("form button");
  assert.match(await mail_page.textContent("main"), /Vous êtes désabonné/);
  await mail_page.screenshot({ path: join(SCREENSHOTS, "unsubscribed.png"), fullPage: true });
  assert.equal((await api(leadgate.base, "GET", `/api/v1/contacts/${person.id}`)).body.do_not_email, true);
  const nurture = (await api(leadgate.base, "GET", `/api/v1/contacts/${person.id}/nurture`)).body;
  assert.ok(nurture.recipient.unsubscribed_at, JSON.stringify(nurture));
  await person_context.close();
  await context.close();
});
