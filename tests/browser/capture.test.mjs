// Issue 4 in a real browser: the website tracker records page views of an anonymous visitor on
// a customer's site, and when the visitor submits the embedded form, those page views join the
// new contact's timeline, with the consent given on the form.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { startLeadgate, startSite, launchBrowser, api, SCREENSHOTS } from "./harness.mjs";

let leadgate, site, browser;

before(async () => {
  leadgate = await startLeadgate();
  const page = (title, body) => `<!doctype html><html><head><title>${title}</title>
    <script src="${leadgate.base}/t.js" async></script></head><body><h1>${title}</h1>${body}</body></html>`;
  site = await startSite({
    "/": page("Home", `<a href="/pricing?utm_source=newsletter&utm_campaign=launch">Pricing</a>`),
    "/pricing": page("Pricing", `<a href="/contact">Contact us</a>`),
    "/contact": page("Contact", `<div data-leadgate-form="demo-request"></div>
      <script src="${leadgate.base}/f/demo-request/embed.js" async></script>`),
  });
  const form = await api(leadgate.base, "POST", "/api/v1/forms", {
    slug: "demo-request",
    title: "Ask for a demo",
    fields: [
      { name: "email", label: "Work e-mail", type: "email", required: true, maps_to: "email" },
      { name: "first_name", label: "First name", maps_to: "first_name" },
      { name: "company", label: "Company", maps_to: "company" },
    ],
    event_kind: "demo_request",
    consents: [{ purpose: "newsletter", text: "Send me the newsletter", version: "v1" }],
    allowed_origins: [site.origin],
  });
  assert.equal(form.status, 201, JSON.stringify(form.body));
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await site?.stop();
  await leadgate?.stop();
});

test("page views of an anonymous visitor join the contact when the embedded form is sent", async () => {
  const context = await browser.browser.newContext();
  const page = await context.newPage();
  await page.goto(site.origin + "/");
  await page.click("text=Pricing");
  await page.waitForURL(/pricing/);
  await page.click("text=Contact us");
  await page.waitForSelector("form.leadgate-form");
  const visitor = await page.evaluate(() => window.leadgate.visitor());
  assert.match(visitor, /^[0-9a-f-]{8,}$/);
  const cookie = (await context.cookies()).find((c) => c.name === "lg_vid");
  assert.equal(cookie?.value, visitor, "a first-party cookie on the site");

  await page.fill("input[name=email]", "alice@prospect.example");
  await page.fill("input[name=first_name]", "Alice");
  await page.fill("input[name=company]", "Prospect Ltd");
  await page.check("input[name=consent_newsletter]");
  await page.screenshot({ path: join(SCREENSHOTS, "embedded-form.png"), fullPage: true });
  await page.waitForTimeout(1100); // the form's minimum fill time (1 s in this test)
  await page.click("form.leadgate-form button[type=submit]");
  await page.waitForSelector("form.leadgate-form[data-state=sent]");
  assert.match(await page.textContent(".lg-status"), /Thank you/);

  const found = await api(leadgate.base, "GET", "/api/v1/contacts?email=alice@prospect.example");
  assert.equal(found.body.items.length, 1);
  const contact = found.body.items[0];
  assert.equal(contact.first_name, "Alice");
  const timeline = await api(leadgate.base, "GET", `/api/v1/contacts/${contact.id}/timeline`);
  const kinds = timeline.body.items.map((e) => e.kind);
  assert.equal(kinds[0], "demo_request");
  const views = timeline.body.items.filter((e) => e.kind === "page_view").map((e) => new URL(e.properties.url).pathname);
  assert.deepEqual(views.sort(), ["/", "/contact", "/pricing"], "the three pages seen before the form");
  const pricing = timeline.body.items.find((e) => e.properties.url?.includes("/pricing"));
  assert.equal(pricing.source, "newsletter");
  assert.equal(pricing.campaign, "launch");
  const consents = await api(leadgate.base, "GET", `/api/v1/contacts/${contact.id}/consents`);
  assert.equal(consents.body.length, 1);
  assert.equal(consents.body[0].granted, true);
  assert.match(consents.body[0].user_agent, /Chrome/);
  await context.close();
});

test("the hosted form page shows errors beside the field and thanks the sender", async () => {
  const page = await browser.browser.newPage();
  await page.goto(leadgate.base + "/f/demo-request");
  await page.fill("#f-email", "ada@localhost"); // the browser accepts it; the server wants a real domain
  await page.waitForTimeout(1100);
  await page.click("button[type=submit]");
  await page.waitForSelector(".error");
  assert.match(await page.textContent(".error"), /Work e-mail/);
  await page.screenshot({ path: join(SCREENSHOTS, "hosted-form-error.png"), fullPage: true });
  await page.fill("#f-email", "bob@prospect.example");
  await page.waitForTimeout(1100);
  await page.click("button[type=submit]");
  await page.waitForSelector(".thanks");
  const found = await api(leadgate.base, "GET", "/api/v1/contacts?email=bob@prospect.example");
  assert.equal(found.body.items.length, 1);
  await page.close();
});
