// Issue 22: every page of the web UI passes axe-core (the accessibility rules most audits run)
// with no violation of any impact, in English and in French, with data on the pages: a lead with
// a score and a timeline, a company, a deal, an import job's progress, a refused page.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { join } from "node:path";
import { startLeadgate, launchBrowser, api, KEY, SCREENSHOTS } from "./harness.mjs";

const AXE = createRequire(import.meta.url).resolve("axe-core/axe.min.js");
const PASSWORD = "correct horse battery";
let leadgate, browser, contact, company, deal, job, form;

before(async () => {
  leadgate = await startLeadgate();
  const base = leadgate.base;
  const me = await api(base, "GET", "/api/v1/me");
  assert.equal((await api(base, "PUT", `/api/v1/users/${me.body.id}/password`, { password: PASSWORD })).status, 204);
  const rep = await api(base, "POST", "/api/v1/users", { email: "rep@team.example", name: "Rémi", role: "sales" });
  await api(base, "PUT", `/api/v1/users/${rep.body.id}/password`, { password: PASSWORD });
  company = (await api(base, "POST", "/api/v1/companies", { name: "Acme Industries", sector: "Software" })).body;
  contact = (await api(base, "POST", "/api/v1/contacts", {
    email: "hana@acme.example", first_name: "Hana", last_name: "Ready", phone: "+33 6 12 34 56 78", company_id: company.id,
  })).body;
  const now = new Date().toISOString();
  await api(base, "POST", "/api/v1/events/batch", { events: [
    { contact_id: contact.id, kind: "page_view", occurred_at: now, properties: { url: "https://example.com/pricing" } },
    { contact_id: contact.id, kind: "quote_request", occurred_at: now },
  ] });
  deal = (await api(base, "POST", "/api/v1/deals", {
    name: "Acme — 40 seats", value: 12000, company_id: company.id, contacts: [{ contact_id: contact.id, role: "decision_maker" }],
  })).body;
  // A finished import: its page carries the job's progress bar and summary.
  const upload = await fetch(`${base}/api/v1/uploads?name=fair.csv`, {
    method: "POST", headers: { Authorization: `Bearer ${KEY}`, "Content-Type": "text/csv" },
    body: "email,first_name\nana@fair.example,Ana\nnot-an-email,Bob\n",
  }).then((r) => r.json());
  job = (await api(base, "POST", "/api/v1/imports", { upload_id: upload.id, entity: "contacts" })).body;
  form = (await api(base, "POST", "/api/v1/forms", {
    slug: "contact-us", title: "Contact us",
    fields: [{ name: "email", label: "E-mail", type: "email", required: true, maps_to: "email" }],
    consents: [{ purpose: "newsletter", text: "Send me the newsletter", version: "1" }],
  })).body;
  assert.ok(form.id, JSON.stringify(form));
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await leadgate?.stop();
});

async function signIn(page, email) {
  await page.goto(leadgate.base + "/login");
  await page.fill("#email", email);
  await page.fill("#password", PASSWORD);
  await page.click("button[type=submit]");
  await page.waitForURL(/\/leads$/);
}

/** axe-core's violations on the page now: one line per rule and element. */
async function violations(page) {
  await page.addScriptTag({ path: AXE });
  const found = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ["violations"] });
    return r.violations.flatMap((v) => v.nodes.map((n) => `${v.impact} ${v.id}: ${n.target.join(" ")} — ${v.help}`));
  });
  return found;
}

const PAGES = () => [
  "/leads", "/leads?sort=probability&dir=desc", `/contacts/${contact.id}`, "/contacts/new", "/companies", `/companies/${company.id}`,
  "/pipeline", "/pipeline/settings", `/deals/${deal.id}`, "/dashboard", "/reports", "/reports?report=stages",
  "/queue", "/tasks", "/import", `/import?job=${job.id}`, "/rules", "/model", "/nurture", "/forms", `/forms/${form.id}`, "/privacy",
  "/privacy/audit", "/admin/users", "/admin/handoff", "/admin/webhooks", "/account",
  "/rules/edit?section=fit&index=0", "/rules/edit?section=engagement&index=0", "/rules/edit?section=knockout",
];

for (const locale of ["en-US", "fr-FR"]) {
  test(`every page passes axe-core with no violation (${locale})`, async () => {
    const context = await browser.browser.newContext({ locale });
    const page = await context.newPage();
    await page.goto(leadgate.base + "/login");
    const found = (await violations(page)).map((v) => `/login: ${v}`);
    await signIn(page, "admin@leadgate.local");
    for (const path of PAGES()) {
      const res = await page.goto(leadgate.base + path);
      assert.ok(res.ok(), `${path}: ${res.status()}`);
      found.push(...(await violations(page)).map((v) => `${path}: ${v}`));
      // Every page as it looks, once per language: target/browser-screenshots/page-<lang>-<path>.png.
      const name = path.replace(/[?].*$/, "").replace(/[0-9a-f]{8}-[0-9a-f-]{27}/g, "id").replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "");
      await page.screenshot({ path: join(SCREENSHOTS, `page-${locale.slice(0, 2)}-${name || "home"}.png`), fullPage: true });
    }
    await context.close();
    // A rep's refused page keeps the navigation and says why: it passes too.
    const rep = await browser.browser.newContext({ locale });
    const repPage = await rep.newPage();
    await signIn(repPage, "rep@team.example");
    const refused = await repPage.goto(leadgate.base + "/admin/users");
    assert.equal(refused.status(), 403);
    found.push(...(await violations(repPage)).map((v) => `/admin/users (refused): ${v}`));
    await rep.close();
    assert.deepEqual(found, [], "axe-core violations");
  });
}
