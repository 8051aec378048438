//! Nurture (issue 21) through the API: templates, a sequence that branches on a click, sending
//! exactly once, tracking, one-click unsubscription and bounces. Messages go to an in-memory
//! mailer here; `nurture_smtp` sends to a real SMTP server.

use leadgate_app::nurture::{MailSetup, MemoryMailer};

use super::*;

pub(super) const PUBLIC: &str = "http://leadgate.test";

/// A test server sending through `mailer`, its links under [`PUBLIC`], bounces to
/// `bounces@acme.test`.
pub(super) async fn spawn_with_mailer(
    backend: Backend,
    clock: Arc<leadgate_app::ManualClock>,
    mailer: Arc<dyn leadgate_app::nurture::Mailer>,
) -> TestApp {
    spawn_app_configured(backend, clock, move |app| {
        app.with_mail(MailSetup {
            mailer,
            public_url: PUBLIC.into(),
            return_path: Some("bounces@acme.test".into()),
            parallel: 2,
            dkim: None,
        })
    })
    .await
}

macro_rules! nurture_tests {
    ($(async fn $name:ident($t:ident, $clock:ident, $mail:ident) $body:block)*) => {$(
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            async fn run(backend: Backend) {
                let $clock = Arc::new(leadgate_app::ManualClock::new("2026-11-24T10:00:00Z".parse().unwrap()));
                let $mail = Arc::new(MemoryMailer::default());
                let $t = spawn_with_mailer(backend, $clock.clone(), $mail.clone()).await;
                $body;
                $t.stop().await;
            }
            #[tokio::test]
            async fn sqlite() { run(Backend::Sqlite).await }
            #[tokio::test]
            async fn postgres() { run(Backend::Postgres).await }
        }
    )*};
}

/// Decodes a quoted-printable body (lettre encodes long HTML lines so).
pub(super) fn unqp(raw: &str) -> String {
    let joined = raw.replace("=\r\n", "").replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&joined[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The first `prefix…` token in `text`, up to a quote, space, `<` or line end.
pub(super) fn link(text: &str, prefix: &str) -> String {
    let at = text.find(prefix).unwrap_or_else(|| panic!("no {prefix} in {text}"));
    text[at..].split(['"', ' ', '<', '>', '\r', '\n']).next().unwrap().to_string()
}

pub(super) fn sent(mail: &MemoryMailer) -> Vec<(String, String, String)> {
    mail.sent
        .lock()
        .unwrap()
        .iter()
        .map(|(from, to, raw)| (from.clone(), to.clone(), unqp(&String::from_utf8_lossy(raw))))
        .collect()
}

/// Settings that send at any hour, one message a day, from a known sender.
pub(super) async fn setup(t: &TestApp) {
    put_settings(
        t,
        json!({"cap": {"max": 1, "hours": 24}, "time_zone": "Europe/Paris", "from_name": "Acme"}),
    )
    .await;
}

/// Sending rules that send at any hour from `news@acme.test`, with `more` on top.
pub(super) async fn put_settings(t: &TestApp, more: Value) {
    let mut settings = json!({
        "window": {"days": [1, 2, 3, 4, 5, 6, 7], "from_hour": 0, "to_hour": 24},
        "from_address": "news@acme.test"
    });
    settings.as_object_mut().unwrap().extend(more.as_object().unwrap().clone());
    let r = t.send(Method::PUT, "/api/v1/nurture/settings", Some(ADMIN_KEY), Some(settings)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

/// A contact with (or without) the newsletter consent.
pub(super) async fn person(t: &TestApp, email: &str, consent: bool) -> String {
    let c = t.post("/api/v1/contacts", json!({"email": email, "first_name": "Ana"})).await;
    assert_eq!(c.status, StatusCode::CREATED, "{}", c.body);
    let id = c.body["id"].as_str().unwrap().to_string();
    if consent {
        let r = t
            .post(
                &format!("/api/v1/contacts/{id}/consents"),
                json!({"purpose": "newsletter", "granted": true, "text": "Send me news", "version": "1"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }
    id
}

/// Welcome → wait up to 3 days for a click on it → clicked: the offer; else a reminder first.
pub(super) async fn recycle_sequence(t: &TestApp) -> (String, String) {
    let template = |name: &str, subject: &str| {
        json!({
            "name": name, "language": "en", "subject": subject,
            "html": "<p>Hello {{ first_name | default('there') }}, see <a href=\"https://acme.test/pricing?plan=pro&amp;x=1\">our prices</a>.</p>"
        })
    };
    let mut ids = Vec::new();
    for (name, subject) in
        [("Welcome", "Welcome {{ first_name }}"), ("Reminder", "Still there?"), ("Offer", "An offer")]
    {
        let r = t.post("/api/v1/email-templates", template(name, subject)).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        ids.push(r.body["id"].as_str().unwrap().to_string());
    }
    let seq = t
        .post(
            "/api/v1/sequences",
            json!({
                "name": "Recycle", "purpose": "newsletter", "trigger": {"type": "rejected_by_sales"},
                "steps": [
                    {"key": "welcome", "type": "send", "template": ids[0]},
                    {"key": "wait", "type": "wait_for", "until": {"type": "clicked", "step": "welcome"}, "up_to_days": 3},
                    {"key": "clicked", "type": "branch", "when": {"type": "clicked", "step": "welcome"}, "to": "offer"},
                    {"key": "reminder", "type": "send", "template": ids[1]},
                    {"key": "offer", "type": "send", "template": ids[2]}
                ]
            }),
        )
        .await;
    assert_eq!(seq.status, StatusCode::CREATED, "{}", seq.body);
    (seq.body["id"].as_str().unwrap().to_string(), ids[0].clone())
}

pub(super) fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// The admin signed in to the web UI: its session token and that session's CSRF token.
pub(super) async fn admin_session(t: &TestApp) -> (String, String) {
    crate::trust::give_admin_password(t, "correct horse battery").await;
    let token = t.app.sign_in("admin@test.example", "correct horse battery").await.unwrap();
    let csrf = t.app.web_session(&token).await.unwrap().csrf;
    (token, csrf)
}

/// Ana and Zoe, with the newsletter consent, enrolled in the recycle sequence and sent its
/// welcome: (sequence, Ana, Zoe).
async fn welcome_sent_to_ana_and_zoe(t: &TestApp) -> (String, String, String) {
    setup(t).await;
    let (seq, _) = recycle_sequence(t).await;
    let ana = person(t, "ana@example.com", true).await;
    let zoe = person(t, "zoe@example.com", true).await;
    t.post(&format!("/api/v1/sequences/{seq}/enrolments"), json!({"contacts": [ana, zoe]})).await;
    t.app.run_nurture().await.unwrap();
    (seq, ana, zoe)
}

const BROWSER: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0";

nurture_tests! {
    async fn a_sequence_sends_each_step_once_and_a_click_takes_the_branch(t, clock, mail) {
        setup(&t).await;
        let (seq, _) = recycle_sequence(&t).await;
        let ana = person(&t, "ana@example.com", true).await;
        let bob = person(&t, "bob@example.com", false).await;
        let r = t.post(&format!("/api/v1/sequences/{seq}/enrolments"), json!({"contacts": [ana, bob]})).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(r.body["enrolled"], 1);
        assert_eq!(r.body["refused"]["consent_withdrawn"], 1, "no newsletter consent: not enrolled");

        t.app.run_nurture().await.unwrap();
        t.app.run_nurture().await.unwrap();
        let first = sent(&mail);
        assert_eq!(first.len(), 1, "one message, whatever the number of passes");
        let (from, to, raw) = &first[0];
        assert_eq!(to, "ana@example.com");
        assert!(from.starts_with("bounces+") && from.ends_with("@acme.test"), "VERP return path: {from}");
        assert!(raw.contains("Subject: Welcome Ana"), "{raw}");
        assert!(raw.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"));
        assert!(raw.contains("List-Unsubscribe: <http://leadgate.test/e/u/"), "{raw}");
        assert!(!raw.contains("href=\"https://acme.test/pricing"), "links are tracked");

        // A scanner follows the link at once: recorded, not a click that counts.
        let click = link(raw, "http://leadgate.test/e/c/").replace("&amp;", "&");
        let path = click.trim_start_matches(PUBLIC);
        let http = no_redirects();
        let r = http.get(format!("{}{path}", t.base)).header("user-agent", BROWSER).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::FOUND);
        // The sender's own site: the browser arrives carrying who it is, for the web tracker.
        let location = r.headers()["location"].to_str().unwrap().to_string();
        let (target, token) = location.split_once("&lg_cid=").unwrap_or_else(|| panic!("{location}"));
        assert_eq!(target, "https://acme.test/pricing?plan=pro&x=1");
        let views = json!({"visitor": "browser-of-ana-1", "identify": token, "views": [{"url": location}]});
        let r = t.http.post(format!("{}/t/collect", t.base)).json(&views).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
        let timeline = t.get(&format!("/api/v1/contacts/{ana}/timeline")).await;
        assert!(timeline.body.to_string().contains("page_view"), "the visit is on Ana's timeline: {}", timeline.body);
        t.app.run_nurture().await.unwrap();
        assert_eq!(sent(&mail).len(), 1, "a click within seconds of sending is a scanner's: no branch");

        // A person clicks a minute later: the click is on the timeline and the branch is taken
        // once the frequency cap allows the next message.
        clock.advance(jiff::SignedDuration::from_mins(1));
        let r = http.get(format!("{}{path}", t.base)).header("user-agent", BROWSER).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::FOUND);
        let timeline = t.get(&format!("/api/v1/contacts/{ana}/timeline")).await;
        assert!(timeline.body.to_string().contains("email_clicked"), "{}", timeline.body);
        t.app.run_nurture().await.unwrap();
        assert_eq!(sent(&mail).len(), 1, "at most one a day");
        clock.advance(jiff::SignedDuration::from_hours(24));
        t.app.run_nurture().await.unwrap();
        let all = sent(&mail);
        assert_eq!(all.len(), 2);
        assert!(all[1].2.contains("Subject: An offer"), "the reminder was skipped: {}", all[1].2);

        let view = t.get(&format!("/api/v1/sequences/{seq}")).await;
        assert_eq!(view.body["enrolments"]["completed"], 1, "{}", view.body);
        let welcome = view.body["steps_figures"].as_array().unwrap().iter().find(|s| s["step_key"] == "welcome").unwrap().clone();
        assert_eq!((welcome["sent"].as_i64(), welcome["clicked"].as_i64()), (Some(1), Some(1)), "{welcome}");
        let mine = t.get(&format!("/api/v1/contacts/{ana}/nurture")).await;
        assert_eq!(mine.body["messages"].as_array().unwrap().len(), 2);
        assert!(mine.body["messages"].as_array().unwrap().iter().all(|m| m["state"] == "sent"));
    }

    async fn a_tampered_link_is_refused_and_never_redirects(t, clock, mail) {
        setup(&t).await;
        let (seq, _) = recycle_sequence(&t).await;
        let ana = person(&t, "ana@example.com", true).await;
        t.post(&format!("/api/v1/sequences/{seq}/enrolments"), json!({"contacts": [ana]})).await;
        t.app.run_nurture().await.unwrap();
        let raw = sent(&mail).remove(0).2;
        let click = link(&raw, "http://leadgate.test/e/c/").replace("&amp;", "&");
        let path = click.trim_start_matches(PUBLIC);
        let (token, _) = path.split_once("?u=").unwrap();
        let http = no_redirects();
        let evil = format!("{}{token}?u=https%3A%2F%2Fevil.example%2F", t.base);
        let r = http.get(evil).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "another target than the one signed");
        assert!(r.headers().get("location").is_none());
        let forged = format!("{}{}?u=https%3A%2F%2Facme.test%2F", t.base, token.replace(".0.", ".1."));
        assert_eq!(http.get(forged).send().await.unwrap().status(), StatusCode::NOT_FOUND);
        clock.advance(jiff::SignedDuration::from_mins(1));
        let bad_unsub = http.post(format!("{}/e/u/{}.{}", t.base, "0".repeat(32), "0".repeat(32))).send().await.unwrap();
        assert_eq!(bad_unsub.status(), StatusCode::NOT_FOUND);
    }

    async fn one_click_unsubscription_stops_every_sequence_at_once(t, clock, mail) {
        setup(&t).await;
        let (seq, _) = recycle_sequence(&t).await;
        let ana = person(&t, "ana@example.com", true).await;
        t.post(&format!("/api/v1/sequences/{seq}/enrolments"), json!({"contacts": [ana]})).await;
        t.app.run_nurture().await.unwrap();
        let raw = sent(&mail).remove(0).2;
        let unsubscribe = link(&raw, "http://leadgate.test/e/u/");
        let path = unsubscribe.trim_start_matches(PUBLIC);
        // What a mail client does for RFC 8058: a POST, no cookie, no authentication.
        let r = no_redirects()
            .post(format!("{}{path}", t.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("List-Unsubscribe=One-Click")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "answered, not redirected");
        assert!(r.text().await.unwrap().contains("You are unsubscribed"));
        let c = t.get(&format!("/api/v1/contacts/{ana}")).await;
        assert_eq!(c.body["do_not_email"], true);
        let mine = t.get(&format!("/api/v1/contacts/{ana}/nurture")).await;
        assert_eq!(mine.body["enrolments"][0]["exit_reason"], "unsubscribed", "{}", mine.body);
        assert!(mine.body["recipient"]["unsubscribed_at"].is_string());
        assert!(mine.body["recipient"]["hard_bounced_at"].is_null(), "unsubscribing is not bouncing");
        clock.advance(jiff::SignedDuration::from_hours(24 * 5));
        t.app.run_nurture().await.unwrap();
        assert_eq!(sent(&mail).len(), 1, "nothing more");
        // The page a person opens from the footer says so, in the e-mail's language.
        let page = t.http.get(format!("{}{path}", t.base)).send().await.unwrap();
        assert!(page.text().await.unwrap().contains("You are unsubscribed"));
    }

    async fn consent_is_checked_again_when_the_message_goes(t, clock, mail) {
        setup(&t).await;
        let (seq, _) = recycle_sequence(&t).await;
        let ana = person(&t, "ana@example.com", true).await;
        t.post(&format!("/api/v1/sequences/{seq}/enrolments"), json!({"contacts": [ana]})).await;
        // The step is reserved, then consent is withdrawn before the sender picks it up.
        t.app.evaluate_enrolments().await.unwrap();
        let r = t
            .post(
                &format!("/api/v1/contacts/{ana}/consents"),
                json!({"purpose": "newsletter", "granted": false, "text": "No more news", "version": "1"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        t.app.send_due().await.unwrap();
        assert!(sent(&mail).is_empty(), "withdrawn between reservation and sending: not sent");
        let mine = t.get(&format!("/api/v1/contacts/{ana}/nurture")).await;
        assert_eq!(mine.body["messages"][0]["state"], "skipped", "{}", mine.body);
        assert_eq!(mine.body["messages"][0]["skip_reason"], "consent_withdrawn");
        assert_eq!(mine.body["enrolments"][0]["exit_reason"], "consent_withdrawn");
        let _ = clock;
    }

    async fn sales_rejecting_a_lead_enrols_it_in_the_recycle_sequence(t, clock, mail) {
        setup(&t).await;
        let (seq, _) = recycle_sequence(&t).await;
        let ana = person(&t, "ana@example.com", true).await;
        let r = t.post(&format!("/api/v1/contacts/{ana}/lifecycle"), json!({"to": "mql", "reason": "test"})).await;
        assert!(r.status.is_success(), "{}", r.body);
        let r = t.post(&format!("/api/v1/contacts/{ana}/reject"), json!({"reason": "no_budget"})).await;
        assert!(r.status.is_success(), "{}", r.body);
        let view = t.get(&format!("/api/v1/sequences/{seq}")).await;
        assert_eq!(view.body["enrolments"]["active"], 1, "{}", view.body);
        t.app.run_nurture().await.unwrap();
        assert_eq!(sent(&mail).len(), 1);
        let _ = clock;
    }

    async fn bounces_are_matched_to_their_message_and_hard_ones_stop_email(t, clock, mail) {
        setup(&t).await;
        let (seq, _) = recycle_sequence(&t).await;
        let ana = person(&t, "ana@example.com", true).await;
        t.post(&format!("/api/v1/sequences/{seq}/enrolments"), json!({"contacts": [ana]})).await;
        t.app.run_nurture().await.unwrap();
        let (return_path, _, _) = sent(&mail).remove(0);
        let dsn = format!(
            "From: MAILER-DAEMON@mx.example.com\r\nTo: {return_path}\r\nSubject: Undelivered Mail Returned to Sender\r\n\
             Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n--b\r\n\
             Content-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.com\r\n\r\n\
             Final-Recipient: rfc822; ana@example.com\r\nAction: failed\r\nStatus: 5.1.1\r\n\
             Diagnostic-Code: smtp; 550 5.1.1 <ana@example.com>: Recipient address rejected: User unknown\r\n--b--\r\n"
        );
        let r = t.raw(Method::POST, "/api/v1/bounces", "message/rfc822", dsn.into_bytes()).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!((r.body["outcome"].as_str(), r.body["kind"].as_str()), (Some("applied"), Some("hard")));
        let c = t.get(&format!("/api/v1/contacts/{ana}")).await;
        assert_eq!(c.body["do_not_email"], true);
        let mine = t.get(&format!("/api/v1/contacts/{ana}/nurture")).await;
        assert_eq!(mine.body["messages"][0]["state"], "bounced");
        assert_eq!(mine.body["enrolments"][0]["exit_reason"], "hard_bounced");
        assert!(mine.body["recipient"]["unsubscribed_at"].is_null(), "bouncing is not unsubscribing");
        // A message about none of ours is kept for review.
        let r = t.raw(Method::POST, "/api/v1/bounces", "message/rfc822", b"Subject: hello\r\n\r\nout of office".to_vec()).await;
        assert_eq!(r.body["outcome"], "unmatched");
        let kept = t.get("/api/v1/bounces").await;
        assert!(kept.body[0]["raw"].as_str().unwrap().contains("out of office"));
        let _ = clock;
    }

    async fn templates_escape_field_values_and_refuse_scripts(t, clock, mail) {
        setup(&t).await;
        let r = t.post("/api/v1/email-templates", json!({"name": "X", "subject": "Hi", "html": "<p>x</p><script>alert(1)</script>"})).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(r.field_errors(), ["html"]);
        let r = t.post("/api/v1/email-templates", json!({"name": "X", "subject": "Hi {{ ", "html": "<p>x</p>"})).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(r.field_errors(), ["subject"]);
        let tpl = t.post("/api/v1/email-templates", json!({"name": "X", "language": "fr", "subject": "Bonjour {{ first_name }}", "html": "<p>{{ first_name }} de {{ company | default('chez vous') }}</p>"})).await;
        let c = t.post("/api/v1/contacts", json!({"email": "x@example.com", "first_name": "<b>Zoé</b>"})).await;
        let preview = t.post(&format!("/api/v1/email-templates/{}/preview", tpl.body["id"].as_str().unwrap()), json!({"contact": c.body["id"]})).await;
        assert_eq!(preview.status, StatusCode::OK, "{}", preview.body);
        assert_eq!(preview.body["html"], "<p>&lt;b&gt;Zoé&lt;&#x2f;b&gt; de chez vous</p>");
        assert_eq!(preview.body["subject"], "Bonjour <b>Zoé</b>", "the subject is plain text");
        let test = t.post(&format!("/api/v1/email-templates/{}/test", tpl.body["id"].as_str().unwrap()), json!({"to": "me@acme.test"})).await;
        assert_eq!(test.status, StatusCode::OK, "{}", test.body);
        assert!(sent(&mail)[0].2.contains("Subject: [TEST] Bonjour"));
        let _ = clock;
    }
}

/// `scripts/smtp-sink`: a real SMTP server (aiosmtpd) logging what it accepts, stopped on drop.
pub(super) struct Sink {
    child: std::process::Child,
    pub port: u16,
    log: std::path::PathBuf,
}

impl Sink {
    pub fn start(delay_ms: u64) -> Sink {
        use std::io::BufRead;
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let log = std::env::temp_dir().join(format!("leadgate-sink-{}.jsonl", uuid::Uuid::now_v7().simple()));
        let mut child = std::process::Command::new(root.join("scripts/smtp-sink"))
            .args(["--log", log.to_str().unwrap(), "--delay-ms", &delay_ms.to_string()])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("start scripts/smtp-sink (run scripts/setup-test-tools first)");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let port = line.trim().parse().unwrap_or_else(|_| {
            panic!(
                "scripts/smtp-sink did not start (aiosmtpd missing? run scripts/setup-test-tools): {line:?}"
            )
        });
        Sink { child, port, log }
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Every message the server accepted.
    pub fn received(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

macro_rules! smtp_tests {
    ($(async fn $name:ident($t:ident, $clock:ident, $sink:ident) $body:block)*) => {$(
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            async fn run(backend: Backend) {
                let $clock = Arc::new(leadgate_app::ManualClock::new("2026-11-24T10:00:00Z".parse().unwrap()));
                let $sink = Sink::start(0);
                let mailer = Arc::new(leadgate_app::nurture::SmtpMailer::new(&$sink.url(), 2).unwrap());
                let $t = spawn_with_mailer(backend, $clock.clone(), mailer).await;
                $body;
                $t.stop().await;
            }
            #[tokio::test]
            async fn sqlite() { run(Backend::Sqlite).await }
            #[tokio::test]
            async fn postgres() { run(Backend::Postgres).await }
        }
    )*};
}

smtp_tests! {
    async fn a_real_smtp_server_gets_each_message_once_and_its_refusals_are_told_apart(t, clock, sink) {
        setup(&t).await;
        let (seq, _) = recycle_sequence(&t).await;
        let mut ids = Vec::new();
        for who in ["ana@example.com", "tempfail@example.com", "hardfail@example.com", "drop@example.com"] {
            ids.push(person(&t, who, true).await);
        }
        let r = t.post(&format!("/api/v1/sequences/{seq}/enrolments"), json!({"contacts": ids})).await;
        assert_eq!(r.body["enrolled"], 4, "{}", r.body);
        t.app.run_nurture().await.unwrap();
        t.app.run_nurture().await.unwrap();
        let received = sink.received();
        assert_eq!(received.len(), 1, "only the accepted message reached the server: {received:?}");
        assert_eq!(received[0]["to"], json!(["ana@example.com"]));
        assert!(received[0]["from"].as_str().unwrap().starts_with("bounces+"));
        let state = |i: usize| {
            let t = &t;
            let id = ids[i].clone();
            async move { t.get(&format!("/api/v1/contacts/{id}/nurture")).await.body }
        };
        let ana = state(0).await;
        assert_eq!(ana["messages"][0]["state"], "sent");
        assert_eq!(received[0]["x_leadgate"].as_str().unwrap(), ana["messages"][0]["id"].as_str().unwrap().replace('-', ""));
        assert!(ana["messages"][0]["reply"].as_str().unwrap().starts_with("250"));
        // 451: tried again later, not counted as a bounce of the address.
        let temp = state(1).await;
        assert_eq!(temp["messages"][0]["state"], "reserved", "{temp}");
        assert_eq!(temp["messages"][0]["attempts"], 1);
        assert!(temp["messages"][0]["error"].as_str().unwrap().contains("451"));
        // 550 5.1.1: the address is dead: do-not-email and out of the sequence.
        let hard = state(2).await;
        assert_eq!(hard["messages"][0]["state"], "failed");
        assert_eq!(hard["messages"][0]["bounce_kind"], "hard");
        assert_eq!(hard["enrolments"][0]["exit_reason"], "hard_bounced");
        // The connection was cut after the message: maybe delivered, never resent.
        let dropped = state(3).await;
        assert_eq!(dropped["messages"][0]["state"], "ambiguous", "{dropped}");
        let listed = t.get("/api/v1/email-messages?state=ambiguous").await;
        assert_eq!(listed.body.as_array().unwrap().len(), 1);
        clock.advance(jiff::SignedDuration::from_hours(2));
        t.app.run_nurture().await.unwrap();
        assert_eq!(sink.received().len(), 1, "the ambiguous message was not sent again");
        assert_eq!(state(1).await["messages"][0]["attempts"], 2, "the deferred one was tried again");
    }
}

/// A Postfix bounce from `tests/fixtures/bounces`, about the message `hex`.
pub(super) fn postfix_bounce(name: &str, hex: &str) -> Vec<u8> {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/bounces").join(name);
    let text = std::fs::read_to_string(&path).unwrap();
    let mut out = text;
    for token in [
        "0192f7a45c1e7b3a9d2e4f6a8b0c1d2e",
        "0192f7a45c1e7b3a9d2e4f6a8b0c1d2f",
        "0192f7a45c1e7b3a9d2e4f6a8b0c1d30",
    ] {
        out = out.replace(token, hex);
    }
    out.into_bytes()
}

nurture_tests! {
    async fn postfix_bounces_are_read_hard_soft_and_delayed(t, clock, mail) {
        let (_, ana, zoe) = welcome_sent_to_ana_and_zoe(&t).await;
        let message_of = |id: &str| {
            let (t, id) = (&t, id.to_string());
            async move { t.get(&format!("/api/v1/contacts/{id}/nurture")).await.body["messages"][0].clone() }
        };
        let hex = |m: &Value| m["id"].as_str().unwrap().replace('-', "");
        let ana_message = message_of(&ana).await;
        let zoe_message = message_of(&zoe).await;

        // A delay notice changes nothing.
        let r = t.raw(Method::POST, "/api/v1/bounces", "message/rfc822", postfix_bounce("postfix-delayed.eml", &hex(&ana_message))).await;
        assert_eq!(r.body["outcome"], "not_a_bounce", "{}", r.body);
        assert_eq!(message_of(&ana).await["state"], "sent");

        // Mailbox full (5.2.2): soft, counted; the third in a row disables the address.
        for n in 1..=3 {
            let r = t.raw(Method::POST, "/api/v1/bounces", "message/rfc822", postfix_bounce("postfix-mailbox-full.eml", &hex(&zoe_message))).await;
            assert_eq!((r.body["outcome"].as_str(), r.body["kind"].as_str()), (Some("applied"), Some("soft")), "{}", r.body);
            let zoe_now = t.get(&format!("/api/v1/contacts/{zoe}/nurture")).await.body;
            assert_eq!(zoe_now["recipient"]["soft_bounces"], n);
            assert_eq!(zoe_now["recipient"]["hard_bounced_at"].is_string(), n == 3, "{zoe_now}");
        }

        // Unknown user (5.1.1): hard at once.
        let r = t.raw(Method::POST, "/api/v1/bounces", "message/rfc822", postfix_bounce("postfix-unknown-user.eml", &hex(&ana_message))).await;
        assert_eq!((r.body["outcome"].as_str(), r.body["kind"].as_str(), r.body["status"].as_str()), (Some("applied"), Some("hard"), Some("5.1.1")));
        assert_eq!(t.get(&format!("/api/v1/contacts/{ana}")).await.body["do_not_email"], true);
        let _ = (clock, mail);
    }
}

nurture_tests! {
    async fn entering_a_stage_enrols_and_a_reply_takes_the_person_out(t, clock, mail) {
        setup(&t).await;
        let (_, template) = recycle_sequence(&t).await;
        let seq = t
            .post(
                "/api/v1/sequences",
                json!({"name": "Back to nurturing", "trigger": {"type": "entered_stage", "stage": "nurturing"},
                       "steps": [{"key": "hello", "type": "send", "template": template},
                                 {"key": "pause", "type": "wait", "days": 3},
                                 {"key": "again", "type": "send", "template": template}]}),
            )
            .await;
        assert_eq!(seq.status, StatusCode::CREATED, "{}", seq.body);
        let seq = seq.body["id"].as_str().unwrap().to_string();
        // The first pass starts the history; moves before it do not enrol.
        t.app.run_nurture().await.unwrap();
        let ana = person(&t, "ana@example.com", false).await;
        clock.advance(jiff::SignedDuration::from_secs(1));
        let r = t.post(&format!("/api/v1/contacts/{ana}/lifecycle"), json!({"to": "nurturing", "reason": "not now"})).await;
        assert!(r.status.is_success(), "{}", r.body);
        clock.advance(jiff::SignedDuration::from_secs(1));
        t.app.run_nurture().await.unwrap();
        t.app.run_nurture().await.unwrap();
        let view = t.get(&format!("/api/v1/sequences/{seq}")).await;
        assert_eq!(view.body["enrolments"]["active"], 1, "{}", view.body);
        let all = sent(&mail);
        assert_eq!(all.len(), 1);
        let raw = &all[0].2;
        let at = raw.find("Message-ID: <lg.").unwrap() + "Message-ID: ".len();
        let message_id = raw[at..].split('>').next().unwrap().to_string();
        // The person answers; the mail server hands the answer to Leadgate like a bounce.
        let reply = format!("From: ana@example.com\r\nTo: news@acme.test\r\nSubject: Re: Welcome\r\nIn-Reply-To: {message_id}>\r\n\r\nCall me next week.\r\n");
        let r = t.raw(Method::POST, "/api/v1/bounces", "message/rfc822", reply.into_bytes()).await;
        assert_eq!(r.body["outcome"], "replied", "{}", r.body);
        let mine = t.get(&format!("/api/v1/contacts/{ana}/nurture")).await;
        assert_eq!(mine.body["enrolments"][0]["exit_reason"], "replied", "{}", mine.body);
        // The exit is on the contact's timeline with its reason, in the reader's language.
        let (token, _) = admin_session(&t).await;
        for (lang, left) in [("en", "Left a nurture sequence"), ("fr", "A quitté une séquence de nurturing")] {
            let page = no_redirects().get(format!("{}/contacts/{ana}", t.base)).header("cookie", format!("lg_session={token}"))
                .header("accept-language", lang).send().await.unwrap().text().await.unwrap();
            let timeline = page.split("id=\"h-timeline\"").nth(1).unwrap();
            let line = timeline.split("</tr>").find(|l| l.contains(left)).unwrap_or_else(|| panic!("{lang}: {timeline}"));
            assert!(line.contains("Back to nurturing"), "{line}");
            let reason = if lang == "en" { "replied" } else { "répondu" };
            assert!(line.to_lowercase().contains(reason), "{lang}: {line}");
        }
        clock.advance(jiff::SignedDuration::from_hours(24 * 4));
        t.app.run_nurture().await.unwrap();
        assert_eq!(sent(&mail).len(), 1, "no second message after the reply");
    }
}

nurture_tests! {
    async fn the_nurture_pages_work_in_both_languages(t, clock, mail) {
        setup(&t).await;
        let (seq, template) = recycle_sequence(&t).await;
        let me = t.get("/api/v1/me").await.body["id"].as_str().unwrap().to_string();
        t.send(Method::PUT, &format!("/api/v1/users/{me}/password"), Some(ADMIN_KEY), Some(json!({"password": "correct horse battery"}))).await;
        t.post("/api/v1/users", json!({"email": "rep@x.example", "role": "sales", "password": "correct horse battery"})).await;
        let token = t.app.sign_in("admin@test.example", "correct horse battery").await.unwrap();
        let csrf = t.app.web_session(&token).await.unwrap().csrf;
        let rep = t.app.sign_in("rep@x.example", "correct horse battery").await.unwrap();
        let browser = no_redirects();
        let get = |path: String, session: String, lang: &'static str| {
            let req = browser.get(format!("{}{path}", t.base)).header("cookie", format!("lg_session={session}")).header("accept-language", lang);
            async move {
                let r = req.send().await.unwrap();
                (r.status(), r.text().await.unwrap())
            }
        };
        let post = |path: String, form: Vec<(String, String)>| {
            let req = browser.post(format!("{}{path}", t.base)).header("cookie", format!("lg_session={token}"))
                .header("content-type", "application/x-www-form-urlencoded").body(serde_urlencoded::to_string(&form).unwrap());
            async move {
                let r = req.send().await.unwrap();
                (r.status(), r.text().await.unwrap())
            }
        };
        let (status, list) = get("/nurture".into(), token.clone(), "fr").await;
        assert_eq!(status, StatusCode::OK);
        assert!(list.contains("Séquences") && list.contains("Recycle") && list.contains("Modèles d’e-mail"), "{list}");
        let (status, _) = get("/nurture".into(), rep.clone(), "en").await;
        assert_eq!(status, StatusCode::FORBIDDEN, "sales do not manage nurturing");
        let (_, page) = get(format!("/nurture/sequences/{seq}"), token.clone(), "en").await;
        assert!(page.contains("name=\"kind_4\"") && page.contains("name=\"kind_5\""), "one line per step and an empty one");

        // Rewrite the sequence in the line editor: a send, a wait of 2 working days, a send.
        let field = |k: &str, v: &str| (k.to_string(), v.to_string());
        let mut form = vec![field("_csrf", &csrf), field("name", "Recycle, shorter"), field("state", "active"), field("purpose", "newsletter"), field("trigger", "rejected_by_sales"), field("trigger_value", "")];
        for (i, (key, kind, days)) in [("hello", "send", ""), ("pause", "wait", "2"), ("again", "send", ""), ("", "remove", "")].into_iter().enumerate() {
            form.extend([field(&format!("key_{i}"), key), field(&format!("kind_{i}"), kind), field(&format!("template_{i}"), &template), field(&format!("days_{i}"), days)]);
            if kind == "wait" {
                form.push(field(&format!("working_{i}"), "yes"));
            }
        }
        let (status, saved) = post(format!("/nurture/sequences/{seq}"), form.clone()).await;
        assert_eq!(status, StatusCode::OK, "{saved}");
        let now = t.get(&format!("/api/v1/sequences/{seq}")).await.body;
        assert_eq!(now["name"], "Recycle, shorter");
        let steps = now["steps"].as_array().unwrap();
        assert_eq!(steps.len(), 3, "{now}");
        assert_eq!((steps[1]["type"].as_str(), steps[1]["days"].as_u64(), steps[1]["working_days"].as_bool()), (Some("wait"), Some(2), Some(true)));
        // A bad line is shown with the editor, nothing saved.
        form.iter_mut().filter(|(k, _)| k == "days_1").for_each(|(_, v)| *v = "zero".into());
        let (status, refused) = post(format!("/nurture/sequences/{seq}"), form).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(refused.contains("pause") && refused.contains("role=\"alert\""), "{refused}");

        // The template editor, its preview for a real contact, and a test send.
        let ana = person(&t, "ana@example.com", true).await;
        let (_, tpl) = get(format!("/nurture/templates/{template}?preview=ana@example.com"), token.clone(), "fr").await;
        assert!(tpl.contains("Aperçu pour un contact") && tpl.contains("Hello Ana"), "{tpl}");
        let (status, tested) = post(format!("/nurture/templates/{template}/test"), vec![field("_csrf", &csrf), field("to", "me@acme.test")]).await;
        assert_eq!(status, StatusCode::OK, "the template's page, with the server's answer");
        assert!(tested.contains("class=\"notice\" role=\"status\""), "{tested}");
        assert!(sent(&mail).iter().any(|(_, to, _)| to == "me@acme.test"));
        let (status, bad) = post(format!("/nurture/templates/{template}"), vec![field("_csrf", &csrf), field("name", "W"), field("language", "en"), field("subject", "Hi"), field("html", "<script>x</script>")]).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(bad.contains("script"), "{bad}");

        // The contact page enrols and shows the enrolment and its message.
        let (status, _) = post(format!("/contacts/{ana}/enrol"), vec![field("_csrf", &csrf), field("sequence", &seq)]).await;
        assert!(status.is_redirection());
        t.app.run_nurture().await.unwrap();
        let (_, contact) = get(format!("/contacts/{ana}"), token.clone(), "fr").await;
        assert!(contact.contains("Séquences d’e-mails") && contact.contains("Recycle, shorter") && contact.contains("envoyé"), "{contact}");

        // From the inbox: the selection enrolled at once, those who cannot receive it counted.
        let bob = person(&t, "bob@example.com", true).await;
        let cyd = person(&t, "cyd@example.com", false).await;
        let (_, inbox) = get("/leads".into(), token.clone(), "en").await;
        assert!(inbox.contains("name=\"sequence\""), "the bulk enrolment is offered");
        let form = vec![field("_csrf", &csrf), field("ids", &bob), field("ids", &cyd), field("action", "enrol"), field("sequence", &seq), field("back", "/leads")];
        let req = browser.post(format!("{}/leads/bulk", t.base)).header("cookie", format!("lg_session={token}"))
            .header("content-type", "application/x-www-form-urlencoded").body(serde_urlencoded::to_string(&form).unwrap());
        let r = req.send().await.unwrap();
        let location = r.headers()["location"].to_str().unwrap().to_string();
        let message = url::form_urlencoded::parse(location.split_once('?').unwrap().1.as_bytes()).find(|(k, _)| k == "done").unwrap().1.into_owned();
        assert!(message.contains("Enrolled: 1") && message.contains("consent withdrawn: 1"), "{message}");
        let _ = clock;
    }
}

nurture_tests! {
    async fn rate_limits_hold_a_busy_domain_without_holding_back_the_others(t, clock, mail) {
        put_settings(&t, json!({"rate": {"per_minute": 4, "per_domain_per_minute": 2}})).await;
        let zero = t
            .send(Method::PUT, "/api/v1/nurture/settings", Some(ADMIN_KEY), Some(json!({"rate": {"per_minute": 0}})))
            .await;
        assert_eq!(zero.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", zero.body);
        assert!(zero.body.to_string().contains("rate.per_minute"), "{}", zero.body);

        let (_, template) = recycle_sequence(&t).await;
        let seq = t
            .post("/api/v1/sequences", json!({"name": "One", "steps": [{"key": "hello", "type": "send", "template": template}]}))
            .await;
        assert_eq!(seq.status, StatusCode::CREATED, "{}", seq.body);
        let seq = seq.body["id"].as_str().unwrap().to_string();
        let mut people = Vec::new();
        for address in ["a1@big.example", "a2@big.example", "a3@big.example", "a4@big.example", "a5@Big.Example",
                        "b1@small.example", "b2@small.example", "c1@tiny.example"] {
            people.push(person(&t, address, false).await);
        }
        let r = t.post(&format!("/api/v1/sequences/{seq}/enrolments"), json!({"contacts": people})).await;
        assert!(r.status.is_success(), "{}", r.body);

        let mut seen = 0;
        let mut per_minute = Vec::new();
        for _ in 0..5 {
            // A second pass in the same minute finds no budget left.
            t.app.run_nurture().await.unwrap();
            t.app.run_nurture().await.unwrap();
            let all = sent(&mail);
            let mut by_domain = std::collections::HashMap::<String, usize>::new();
            for (_, to, _) in &all[seen..] {
                *by_domain.entry(to.rsplit('@').next().unwrap().to_lowercase()).or_default() += 1;
            }
            assert!(by_domain.values().all(|n| *n <= 2), "at most 2 a minute to one domain: {by_domain:?}");
            per_minute.push(all.len() - seen);
            seen = all.len();
            clock.advance(jiff::SignedDuration::from_secs(61));
        }
        assert_eq!(per_minute[0], 4, "the global limit is reached though big.example is held: {per_minute:?}");
        assert!(per_minute.iter().all(|n| *n <= 4), "{per_minute:?}");
        assert_eq!(seen, 8, "everyone is sent in the end: {per_minute:?}");
        assert!(per_minute[1] > 0 && per_minute[2] > 0, "big.example's five go two a minute: {per_minute:?}");
    }
}

nurture_tests! {
    async fn a_lead_cold_for_n_days_is_enrolled_once_and_an_active_or_qualified_one_is_not(t, clock, mail) {
        setup(&t).await;
        let (_, template) = recycle_sequence(&t).await;
        let zero = t
            .post("/api/v1/sequences", json!({"name": "Bad", "trigger": {"type": "cold_for", "days": 0},
                  "steps": [{"key": "hello", "type": "send", "template": template}]}))
            .await;
        assert_eq!(zero.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", zero.body);
        assert!(zero.body.to_string().contains("trigger.days"), "{}", zero.body);
        let seq = t
            .post("/api/v1/sequences", json!({"name": "Wake up", "trigger": {"type": "cold_for", "days": 30}, "reenrol": true,
                  "steps": [{"key": "hello", "type": "send", "template": template}]}))
            .await;
        assert_eq!(seq.status, StatusCode::CREATED, "{}", seq.body);
        let seq = seq.body["id"].as_str().unwrap().to_string();
        let quiet = person(&t, "quiet@example.com", false).await;
        let busy = person(&t, "busy@example.com", false).await;
        let qualified = person(&t, "qualified@example.com", false).await;
        let r = t.post(&format!("/api/v1/contacts/{qualified}/lifecycle"), json!({"to": "mql", "reason": "met the bar"})).await;
        assert!(r.status.is_success(), "{}", r.body);

        // Not cold for long enough yet.
        clock.advance(jiff::SignedDuration::from_hours(24 * 20));
        t.app.run_nurture().await.unwrap();
        assert!(sent(&mail).is_empty());
        let r = t.post("/api/v1/events", json!({"kind": "page_view", "contact_id": busy, "properties": {"url": "https://acme.test/blog"}})).await;
        assert!(r.status.is_success(), "{}", r.body);

        // Past the rest since the last sweep, 31 days on: only the quiet lead.
        clock.advance(jiff::SignedDuration::from_hours(24 * 11));
        t.app.run_nurture().await.unwrap();
        t.app.run_nurture().await.unwrap();
        let to: Vec<String> = sent(&mail).into_iter().map(|(_, to, _)| to).collect();
        assert_eq!(to, vec!["quiet@example.com".to_string()]);
        let mine = t.get(&format!("/api/v1/contacts/{quiet}/nurture")).await;
        assert_eq!(mine.body["enrolments"][0]["enrolled_by"], "trigger:cold_for", "{}", mine.body);

        // Still cold a day later: not enrolled again within the 30 days, though re-enrolment is on.
        clock.advance(jiff::SignedDuration::from_hours(25));
        t.app.run_nurture().await.unwrap();
        let view = t.get(&format!("/api/v1/sequences/{seq}")).await;
        let total: i64 = view.body["enrolments"].as_object().unwrap().values().filter_map(Value::as_i64).sum();
        assert_eq!(total, 1, "{}", view.body);
        assert_eq!(sent(&mail).len(), 1);
    }
}

nurture_tests! {
    async fn the_inbox_shows_the_contacts_in_a_sequence(t, clock, mail) {
        setup(&t).await;
        let (seq, _) = recycle_sequence(&t).await;
        let ana = person(&t, "ana@example.com", true).await;
        person(&t, "zoe@example.com", true).await;
        let r = t.post(&format!("/api/v1/sequences/{seq}/enrolments"), json!({"contacts": [ana]})).await;
        assert!(r.status.is_success(), "{}", r.body);
        let principal = t.app.authenticate(ADMIN_KEY).await.unwrap();
        let filter = leadgate_store::web::InboxFilter {
            sequence: Some(leadgate_core::ids::SequenceId(seq.parse().unwrap())),
            open_only: true,
            ..Default::default()
        };
        let rows = t.app.inbox(&principal, &filter, 50, 0).await.unwrap();
        assert_eq!(rows.iter().map(|r| r.email.clone().unwrap()).collect::<Vec<_>>(), ["ana@example.com"]);

        // The page offers the filter and keeps it in its links (next page, export, saved view).
        let (token, _) = admin_session(&t).await;
        for lang in ["en", "fr"] {
            let page = no_redirects().get(format!("{}/leads?sequence={seq}", t.base)).header("cookie", format!("lg_session={token}"))
                .header("accept-language", lang).send().await.unwrap().text().await.unwrap();
            assert!(page.contains("ana@example.com") && !page.contains("zoe@example.com"), "{page}");
            assert!(page.contains(&format!("<option value=\"{seq}\" selected>Recycle</option>")), "{page}");
            assert!(page.contains(&format!("/leads.csv?sequence={seq}&")), "{page}");
            assert!(page.contains(if lang == "en" { "In sequence" } else { "Dans la séquence" }));
        }
        // Once out of it, not there.
        clock.advance(jiff::SignedDuration::from_secs(1));
        let mine = t.get(&format!("/api/v1/contacts/{ana}/nurture")).await;
        let enrolment = mine.body["enrolments"][0]["id"].as_str().unwrap().to_string();
        let r = t.send(Method::DELETE, &format!("/api/v1/enrolments/{enrolment}"), Some(ADMIN_KEY), None).await;
        assert!(r.status.is_success(), "{}", r.body);
        assert!(t.app.inbox(&principal, &filter, 50, 0).await.unwrap().is_empty());
        let _ = mail;
    }
}

nurture_tests! {
    async fn step_figures_count_deliveries_unsubscriptions_and_conversions_within_the_window(t, clock, mail) {
        let (seq, ana, _) = welcome_sent_to_ana_and_zoe(&t).await;
        let to_zoe = sent(&mail).into_iter().find(|m| m.1 == "zoe@example.com").unwrap().2;
        let unsubscribe = link(&to_zoe, "http://leadgate.test/e/u/");
        let r = no_redirects().post(format!("{}{}", t.base, unsubscribe.trim_start_matches(PUBLIC))).body("List-Unsubscribe=One-Click").send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        // Ana becomes an MQL two days after the welcome.
        clock.advance(jiff::SignedDuration::from_hours(48));
        let r = t.post(&format!("/api/v1/contacts/{ana}/lifecycle"), json!({"to": "mql", "reason": "asked for a demo"})).await;
        assert!(r.status.is_success(), "{}", r.body);
        // The next pass sees the move at once (not when the wait ends): sales takes over.
        t.app.run_nurture().await.unwrap();

        let welcome = |body: &Value| body["steps_figures"].as_array().unwrap().iter().find(|s| s["step_key"] == "welcome").unwrap().clone();
        let view = t.get(&format!("/api/v1/sequences/{seq}")).await;
        assert_eq!(view.body["conversion_days"], 30);
        let w = welcome(&view.body);
        assert_eq!(
            (w["sent"].as_i64(), w["delivered"].as_i64(), w["unsubscribed"].as_i64(), w["converted"].as_i64()),
            (Some(2), Some(2), Some(1), Some(1)),
            "{w}"
        );
        let narrow = t.get(&format!("/api/v1/sequences/{seq}?conversion_days=1")).await;
        assert_eq!(welcome(&narrow.body)["converted"], 0, "{}", narrow.body);
        let bad = t.get(&format!("/api/v1/sequences/{seq}?conversion_days=0")).await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
        assert_eq!(view.body["enrolments"]["qualified"], 1, "{}", view.body);
        assert_eq!(view.body["enrolments"]["unsubscribed"], 1, "{}", view.body);

        // The sequence page charts them, in both languages.
        let (token, _) = admin_session(&t).await;
        for (lang, words) in [("en", ["Results per step", "Became MQL or further"]), ("fr", ["Résultats par étape", "Devenus MQL ou plus"])] {
            let page = no_redirects().get(format!("{}/nurture/sequences/{seq}", t.base)).header("cookie", format!("lg_session={token}"))
                .header("accept-language", lang).send().await.unwrap().text().await.unwrap();
            for w in words {
                assert!(page.contains(w), "{lang}: {w}");
            }
            assert!(page.contains("<svg role=\"img\""), "a chart per step");
        }
    }
}

nurture_tests! {
    async fn the_sending_rules_are_set_in_a_form_and_mistakes_are_named(t, clock, mail) {
        let (token, csrf) = admin_session(&t).await;
        let browser = no_redirects();
        let post = |form: Vec<(&str, &str)>| {
            let mut all = vec![("_csrf", csrf.as_str())];
            all.extend(form);
            let body = serde_urlencoded::to_string(&all).unwrap();
            let req = browser.post(format!("{}/nurture/settings", t.base)).header("cookie", format!("lg_session={token}"))
                .header("content-type", "application/x-www-form-urlencoded").header("accept-language", "fr").body(body);
            async move {
                let r = req.send().await.unwrap();
                let location = r.headers().get("location").map(|l| l.to_str().unwrap().to_string());
                (r.status(), location, r.text().await.unwrap())
            }
        };
        let good = vec![
            ("from_name", "Acme"), ("from_address", "news@acme.test"), ("reply_to", ""),
            ("day", "1"), ("day", "2"), ("day", "3"), ("day", "4"), ("day", "5"),
            ("from_hour", "8"), ("to_hour", "17"), ("time_zone", "Europe/Paris"),
            ("cap_max", "2"), ("cap_hours", "48"), ("rate_per_minute", "100"), ("rate_per_domain", "20"),
        ];
        let (status, location, _) = post(good.clone()).await;
        assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/nurture?done=settings")));
        let saved = t.get("/api/v1/nurture/settings").await.body;
        assert_eq!(saved["window"], json!({"days": [1, 2, 3, 4, 5], "from_hour": 8, "to_hour": 17}));
        assert_eq!(saved["cap"], json!({"max": 2, "hours": 48}));
        assert_eq!(saved["rate"], json!({"per_minute": 100, "per_domain_per_minute": 20}));
        assert_eq!((saved["time_zone"].as_str(), saved["tracking"].as_bool(), saved["from_name"].as_str()), (Some("Europe/Paris"), Some(false), Some("Acme")));

        // Mistakes are named at their field and the form keeps what was typed.
        let mut wrong = good.clone();
        wrong.retain(|(k, _)| *k != "cap_max");
        wrong.push(("cap_max", "deux"));
        let (status, _, page) = post(wrong).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(page.contains("Pas un nombre entier") && page.contains("cap_max: deux"), "{page}");
        let mut zone = good.clone();
        zone.retain(|(k, _)| *k != "time_zone");
        zone.push(("time_zone", "Mars/Olympus"));
        let (status, _, page) = post(zone).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(page.contains("time_zone") && page.contains("value=\"Mars/Olympus\""), "{page}");
        assert_eq!(t.get("/api/v1/nurture/settings").await.body["time_zone"], "Europe/Paris", "nothing saved");

        // The page words its notice from a code: a link cannot make it say something else.
        for (lang, title, saved) in [("en", "Sending rules", "Sending rules saved."), ("fr", "Règles d’envoi", "Règles d’envoi enregistrées.")] {
            let page = |q: &'static str| browser.get(format!("{}/nurture{q}", t.base)).header("cookie", format!("lg_session={token}")).header("accept-language", lang).send();
            let ok = page("?done=settings").await.unwrap().text().await.unwrap();
            assert!(ok.contains(title) && ok.contains(saved), "{lang}");
            let head = ok.split("<title>").nth(1).and_then(|t| t.split("</title>").next()).unwrap();
            assert!(!head.contains('<') && ok.matches("id=\"h-settings\"").count() == 1, "the form once, in the page: {head}");
            let spoof = page("?done=Your+account+is+locked").await.unwrap().text().await.unwrap();
            assert!(!spoof.contains("Your account is locked"));
        }
        let _ = (clock, mail);
    }
}
