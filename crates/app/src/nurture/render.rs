//! Turning a template and a contact into a message: the template engine (minijinja, with HTML
//! auto-escaping so a field value never injects markup), tracked links, the open pixel, the
//! unsubscribe footer and the headers of RFC 8058 one-click unsubscription.

use std::sync::OnceLock;

use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use regex::Regex;

/// Enough for loops over a contact's fields; a template that loops forever stops here instead
/// of stalling the sender.
const FUEL: u64 = 100_000;

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_fuel(Some(FUEL));
    // A missing field renders empty, so `{{ first_name | default("Bonjour") }}` works and a
    // contact without a city does not fail the message.
    env.set_undefined_behavior(UndefinedBehavior::Lenient);
    env.set_auto_escape_callback(|name| if name == "html" { AutoEscape::Html } else { AutoEscape::None });
    env
}

/// A template's three parts, rendered.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Rendered {
    pub subject: String,
    pub html: String,
    pub text: String,
}

/// Renders `subject`, `html` and `text` with `context`. Errors name the part and the line.
pub fn render(
    subject: &str,
    html: &str,
    text: &str,
    context: &serde_json::Value,
) -> Result<Rendered, (String, String)> {
    let env = environment();
    let one = |name: &'static str, source: &str| -> Result<String, (String, String)> {
        env.render_named_str(name, source, minijinja::Value::from(minijinja::value::Serde(context)))
            .map_err(|e| (name.to_string(), describe(&e)))
    };
    let subject = one("subject", subject)?;
    Ok(Rendered {
        // A subject is one line: a field value with a newline must not add headers.
        subject: subject.replace(['\r', '\n'], " ").trim().to_string(),
        html: one("html", html)?,
        text: one("text", text)?,
    })
}

/// Checks that the parts compile, for the template form: errors point at the part at fault.
pub fn check(subject: &str, html: &str, text: &str) -> Vec<(String, String)> {
    let env = environment();
    let mut errors = Vec::new();
    for (name, source) in [("subject", subject), ("html", html), ("text", text)] {
        if let Err(e) = env.template_from_named_str(name, source) {
            errors.push((name.to_string(), describe(&e)));
        }
    }
    errors
}

fn describe(e: &minijinja::Error) -> String {
    match e.line() {
        Some(line) => format!("line {line}: {}", e.detail().unwrap_or(&e.kind().to_string())),
        None => e.detail().map_or_else(|| e.kind().to_string(), str::to_string),
    }
}

/// Markup a marketer's HTML may not carry: scripts and script-bearing attributes run in some
/// mail readers and in the preview, and no mail client needs them.
pub fn unsafe_markup(html: &str) -> Option<&'static str> {
    static PATTERNS: OnceLock<Vec<(Regex, &'static str)>> = OnceLock::new();
    let patterns = PATTERNS.get_or_init(|| {
        [
            (r"(?i)<\s*script", "a <script> element"),
            (r"(?i)<\s*(iframe|object|embed)", "an embedded frame or object"),
            (r#"(?i)\son[a-z]+\s*="#, "an event handler attribute (onclick=…)"),
            (r"(?i)javascript\s*:", "a javascript: link"),
        ]
        .into_iter()
        .map(|(p, what)| (Regex::new(p).expect("valid pattern"), what))
        .collect()
    });
    patterns.iter().find(|(re, _)| re.is_match(html)).map(|(_, what)| *what)
}

fn href() -> &'static Regex {
    static HREF: OnceLock<Regex> = OnceLock::new();
    HREF.get_or_init(|| Regex::new(r#"(?i)(href\s*=\s*")(https?://[^"]+)(")"#).expect("valid pattern"))
}

/// Replaces each `http(s)` link of `html` with `track(index, url)`.
pub fn rewrite_links(html: &str, mut track: impl FnMut(usize, &str) -> String) -> String {
    let mut index = 0;
    href()
        .replace_all(html, |c: &regex::Captures| {
            // The URL as written in HTML: entities such as &amp; are the browser's to decode.
            let url = c[2].replace("&amp;", "&");
            let out = format!("{}{}{}", &c[1], track(index, &url).replace('&', "&amp;"), &c[3]);
            index += 1;
            out
        })
        .into_owned()
}

/// Adds `extra` before `</body>` (or at the end).
pub fn append_to_body(html: &str, extra: &str) -> String {
    match html.to_ascii_lowercase().rfind("</body>") {
        Some(at) => format!("{}{extra}{}", &html[..at], &html[at..]),
        None => format!("{html}{extra}"),
    }
}

/// The footer every marketing message carries, in the template's language: why the person gets
/// it and how to stop, one click away.
pub fn footer(language: &str, unsubscribe: &str, preferences: &str) -> (String, String) {
    let (why, stop, prefs) = if language == "fr" {
        (
            "Vous recevez ce message car vous êtes en contact avec nous.",
            "Se désabonner",
            "Gérer mes préférences",
        )
    } else {
        ("You receive this e-mail because you are in touch with us.", "Unsubscribe", "Manage my preferences")
    };
    let esc = |s: &str| s.replace('&', "&amp;").replace('"', "&quot;").replace('<', "&lt;");
    let html = format!(
        "<p style=\"font-size:12px;color:#666\">{why} <a href=\"{}\">{stop}</a> · <a href=\"{}\">{prefs}</a></p>",
        esc(unsubscribe),
        esc(preferences)
    );
    let text = format!("\n\n--\n{why}\n{stop}: {unsubscribe}\n{prefs}: {preferences}\n");
    (html, text)
}

/// A plain-text part from HTML, for templates written with HTML only.
pub fn text_from_html(html: &str) -> String {
    static TAG: OnceLock<Regex> = OnceLock::new();
    static BREAK: OnceLock<Regex> = OnceLock::new();
    let breaks = BREAK
        .get_or_init(|| Regex::new(r"(?i)<\s*(br|/p|/h[1-6]|/li|/tr|/div)\s*/?>").expect("valid pattern"));
    let tag = TAG.get_or_init(|| Regex::new(r"(?s)<[^>]*>").expect("valid pattern"));
    let broken = breaks.replace_all(html, "\n");
    let text = tag.replace_all(&broken, "");
    let text = text
        .replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&amp;", "&");
    text.lines().map(str::trim).collect::<Vec<_>>().join("\n").trim().to_string()
}

/// What goes on the wire besides the rendered parts.
pub struct Envelope<'a> {
    pub from: Mailbox,
    pub reply_to: Option<Mailbox>,
    pub to: Mailbox,
    pub message_id: String,
    /// `<https://…>` and, when bounces are received by mail, `<mailto:…>`.
    pub list_unsubscribe: &'a str,
    /// An opaque header that names the message, kept in bounces that return the headers.
    pub token_header: &'a str,
    /// Signs the message when its sender's domain is the key's.
    pub dkim: Option<&'a Dkim>,
}

/// The admin's DKIM key (`serve --dkim-key --dkim-selector --dkim-domain`).
pub struct Dkim {
    pub domain: String,
    config: lettre::message::dkim::DkimConfig,
}

impl Dkim {
    /// `key`: an RSA private key in PKCS#1 PEM (`-----BEGIN RSA PRIVATE KEY-----`), or an
    /// Ed25519 private key as the base64 of its 32 bytes.
    pub fn new(key: &str, selector: &str, domain: &str) -> Result<Dkim, String> {
        use lettre::message::dkim::{
            DkimCanonicalization, DkimCanonicalizationType, DkimConfig, DkimSigningAlgorithm, DkimSigningKey,
        };
        let key = key.trim();
        let algorithm = if key.starts_with("-----BEGIN") {
            DkimSigningAlgorithm::Rsa
        } else {
            DkimSigningAlgorithm::Ed25519
        };
        let signing = DkimSigningKey::new(key, algorithm).map_err(|e| {
            format!("the DKIM key cannot be read ({e}): give an RSA key in PKCS#1 PEM (-----BEGIN RSA PRIVATE KEY-----) or an Ed25519 key as base64")
        })?;
        // The headers a reader sees and a forwarder must not change, the unsubscription ones
        // included (RFC 8058 asks for them to be signed).
        let headers =
            ["From", "To", "Subject", "Date", "Message-ID", "List-Unsubscribe", "List-Unsubscribe-Post"]
                .into_iter()
                .map(HeaderName::new_from_ascii_str)
                .collect();
        let relaxed = DkimCanonicalization {
            header: DkimCanonicalizationType::Relaxed,
            body: DkimCanonicalizationType::Relaxed,
        };
        Ok(Dkim {
            domain: domain.to_ascii_lowercase(),
            config: DkimConfig::new(
                selector.to_string(),
                domain.to_ascii_lowercase(),
                signing,
                headers,
                relaxed,
            ),
        })
    }
}

/// The complete message: multipart/alternative with the text and HTML parts.
pub fn build(parts: &Rendered, e: Envelope<'_>) -> Result<Vec<u8>, String> {
    let from_domain = e.from.email.domain().to_ascii_lowercase();
    let mut builder = lettre::Message::builder()
        .from(e.from)
        .to(e.to)
        .subject(parts.subject.clone())
        .message_id(Some(e.message_id))
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("List-Unsubscribe"),
            e.list_unsubscribe.to_string(),
        ))
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
            "List-Unsubscribe=One-Click".to_string(),
        ))
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("X-Leadgate-Message"),
            e.token_header.to_string(),
        ));
    if let Some(r) = e.reply_to {
        builder = builder.reply_to(r);
    }
    let body = MultiPart::alternative()
        .singlepart(SinglePart::builder().header(ContentType::TEXT_PLAIN).body(parts.text.clone()))
        .singlepart(SinglePart::builder().header(ContentType::TEXT_HTML).body(parts.html.clone()));
    let mut message = builder.multipart(body).map_err(|e| e.to_string())?;
    if let Some(dkim) = e.dkim.filter(|d| d.domain == from_domain) {
        message.sign(&dkim.config);
    }
    Ok(message.formatted())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields_fill_the_template_with_fallbacks() {
        let ctx = json!({ "first_name": "Ana", "company": "Acme" });
        let r =
            render("Hello {{ first_name }}", "<p>{{ company }}</p>", "{{ city | default('Paris') }}", &ctx)
                .unwrap();
        assert_eq!(r.subject, "Hello Ana");
        assert_eq!(r.html, "<p>Acme</p>");
        assert_eq!(r.text, "Paris");
        let none = render("{{ first_name | default('Bonjour') }}", "", "", &json!({})).unwrap();
        assert_eq!(none.subject, "Bonjour");
    }

    #[test]
    fn a_field_value_never_injects_markup_or_headers() {
        let ctx = json!({ "first_name": "<script>alert(1)</script>", "company": "A\r\nBcc: x@evil.test" });
        let r = render("Hi {{ company }}", "<p>{{ first_name }}</p>", "{{ first_name }}", &ctx).unwrap();
        assert_eq!(r.html, "<p>&lt;script&gt;alert(1)&lt;&#x2f;script&gt;</p>");
        assert!(!r.subject.contains('\n') && !r.subject.contains('\r'));
        assert_eq!(r.text, "<script>alert(1)</script>", "the plain part is plain text");
    }

    #[test]
    fn template_errors_name_the_part_and_line() {
        let errors = check("ok", "<p>\n{{ first_name </p>", "{% for %}");
        let parts: Vec<_> = errors.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(parts, ["html", "text"]);
        assert!(errors[0].1.starts_with("line 2"), "{}", errors[0].1);
        assert!(
            render("{% for x in range(1000000000) %}{% endfor %}", "", "", &json!({})).is_err(),
            "runs out of fuel"
        );
    }

    #[test]
    fn unsafe_markup_is_refused() {
        assert!(unsafe_markup("<p>Hi</p><a href=\"https://x.test\">x</a>").is_none());
        assert!(unsafe_markup("<SCRIPT src=x>").is_some());
        assert!(unsafe_markup("<img src=x onerror=\"alert(1)\">").is_some());
        assert!(unsafe_markup("<a href=\"JavaScript:alert(1)\">").is_some());
    }

    #[test]
    fn every_web_link_is_rewritten_in_order() {
        let html = r#"<a href="https://a.test/x?y=1&amp;z=2">A</a> <a href="mailto:me@a.test">m</a> <A HREF="http://b.test">B</A>"#;
        let out = rewrite_links(html, |i, url| format!("https://t.test/{i}?u={url}"));
        assert_eq!(
            out,
            r#"<a href="https://t.test/0?u=https://a.test/x?y=1&amp;z=2">A</a> <a href="mailto:me@a.test">m</a> <A HREF="https://t.test/1?u=http://b.test">B</A>"#
        );
    }

    #[test]
    fn a_text_part_is_derived_from_html() {
        assert_eq!(
            text_from_html("<h1>Hello</h1><p>Price &amp; plans<br>today</p>"),
            "Hello\nPrice & plans\ntoday"
        );
    }

    #[test]
    fn the_message_carries_one_click_unsubscription_headers() {
        let parts = Rendered { subject: "Bonjour Ana".into(), html: "<p>Hi</p>".into(), text: "Hi".into() };
        let raw = build(
            &parts,
            Envelope {
                from: "Acme <news@acme.test>".parse().unwrap(),
                reply_to: None,
                to: "ana@example.com".parse().unwrap(),
                message_id: "<lg.abc@acme.test>".into(),
                list_unsubscribe: "<https://acme.test/e/u/tok>",
                token_header: "abc",
                dkim: None,
            },
        )
        .unwrap();
        let raw = String::from_utf8(raw).unwrap();
        assert!(raw.contains("List-Unsubscribe: <https://acme.test/e/u/tok>"), "{raw}");
        assert!(raw.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"));
        assert!(raw.contains("Message-ID: <lg.abc@acme.test>"));
        assert!(raw.contains("multipart/alternative"));
    }

    #[test]
    fn a_dkim_key_signs_messages_of_its_domain_only() {
        // An Ed25519 key: the base64 of 32 bytes.
        let dkim = Dkim::new("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", "mail", "Acme.test").unwrap();
        let parts = Rendered { subject: "Hi".into(), html: "<p>Hi</p>".into(), text: "Hi".into() };
        let sign = |from: &str| {
            let raw = build(
                &parts,
                Envelope {
                    from: from.parse().unwrap(),
                    reply_to: None,
                    to: "ana@example.com".parse().unwrap(),
                    message_id: "<lg.abc@acme.test>".into(),
                    list_unsubscribe: "<https://acme.test/e/u/tok>",
                    token_header: "abc",
                    dkim: Some(&dkim),
                },
            )
            .unwrap();
            String::from_utf8(raw).unwrap()
        };
        let signed = sign("news@acme.test");
        let header = signed
            .split("DKIM-Signature:")
            .nth(1)
            .expect("signed")
            .split("\r\n\r\n")
            .next()
            .unwrap()
            .to_string();
        assert!(
            header.contains("d=acme.test")
                && header.contains("s=mail")
                && header.contains("a=ed25519-sha256"),
            "{header}"
        );
        assert!(header.to_ascii_lowercase().contains("list-unsubscribe-post"), "{header}");
        assert!(
            !sign("news@other.test").contains("DKIM-Signature"),
            "another domain's mail is not signed with this key"
        );
        assert!(Dkim::new("not a key", "mail", "acme.test").is_err());
    }
}
