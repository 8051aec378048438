//! The SMTP side of sending: one message handed to a server, and what its answer means for
//! exactly-once. The application decides from [`Handover`] whether a message was sent, may be
//! retried (nothing was accepted), failed for good, or is ambiguous (the conversation broke
//! after the message may have been accepted).

use std::sync::Arc;
use std::time::Duration;

use lettre::address::Envelope;
use lettre::transport::smtp::PoolConfig;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

/// What happened to one message handed to the SMTP server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handover {
    /// Accepted (`250`), with the server's words (often its queue id).
    Accepted(String),
    /// Refused before acceptance with a reply code: 4xx passing, 5xx final.
    Refused { code: u16, enhanced: Option<String>, message: String },
    /// No conversation reached the message (no connection, TLS refused): nothing was sent.
    NotConnected(String),
    /// The conversation broke at a point where the server may have accepted the message.
    Broken(String),
}

/// Hands messages to an SMTP server. A trait so tests and benchmarks can count what reaches
/// the wire; production uses [`SmtpMailer`].
#[async_trait::async_trait]
pub trait Mailer: Send + Sync {
    /// Sends `raw` (a complete RFC 5322 message) from `return_path` to `to`.
    async fn send(&self, return_path: &str, to: &str, raw: &[u8]) -> Handover;
}

/// An SMTP relay reached with lettre, connections pooled and reused between messages.
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
}

impl SmtpMailer {
    /// `url`: `smtp://host:25` (plain), `smtp://user:pass@host:587?tls=required` (STARTTLS),
    /// `smtps://user:pass@host:465` (implicit TLS). `connections`: how many are kept open.
    pub fn new(url: &str, connections: u32) -> Result<SmtpMailer, String> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| format!("the SMTP address `{}` cannot be used: {e}", redact(url)))?
            .timeout(Some(Duration::from_secs(30)))
            .pool_config(PoolConfig::new().max_size(connections.max(1)).idle_timeout(Duration::from_secs(30)))
            .build();
        Ok(SmtpMailer { transport })
    }
}

/// `url` without its password, for messages.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}

#[async_trait::async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, return_path: &str, to: &str, raw: &[u8]) -> Handover {
        let parse =
            |a: &str| a.parse::<lettre::Address>().map_err(|e| format!("`{a}` is not an address: {e}"));
        let envelope = match (parse(return_path), parse(to)) {
            (Ok(from), Ok(to)) => match Envelope::new(Some(from), vec![to]) {
                Ok(e) => e,
                Err(e) => return Handover::Refused { code: 553, enhanced: None, message: e.to_string() },
            },
            (Err(e), _) | (_, Err(e)) => {
                return Handover::Refused { code: 553, enhanced: Some("5.1.3".into()), message: e };
            }
        };
        match self.transport.send_raw(&envelope, raw).await {
            Ok(response) => Handover::Accepted(format!(
                "{} {}",
                response.code(),
                response.message().collect::<Vec<_>>().join(" ")
            )),
            Err(e) => classify(&e),
        }
    }
}

fn classify(e: &lettre::transport::smtp::Error) -> Handover {
    let text = e.to_string();
    if e.is_transient() || e.is_permanent() {
        let code = e.status().map_or(if e.is_transient() { 451 } else { 550 }, u16::from);
        let message = text.split_once(": ").map_or(text.as_str(), |(_, m)| m).trim().to_string();
        let enhanced = message
            .split_whitespace()
            .next()
            .filter(|w| leadgate_core::nurture::bounce::classify_status(w).is_some())
            .map(str::to_string);
        Handover::Refused { code, enhanced, message }
    } else if e.is_tls() || text.starts_with("Connection error") {
        // lettre reports failures to connect (and to resolve, and to set up TLS) as connection
        // errors: no command reached a server, so the message was certainly not accepted.
        Handover::NotConnected(text)
    } else {
        // A network error, a timeout or an unreadable answer mid-conversation: the server may
        // have accepted the message before the break.
        Handover::Broken(text)
    }
}

/// A mailer that keeps what it is given (tests, the throughput baseline, a dry run).
#[derive(Default)]
pub struct MemoryMailer {
    pub sent: std::sync::Mutex<Vec<(String, String, Vec<u8>)>>,
}

#[async_trait::async_trait]
impl Mailer for MemoryMailer {
    async fn send(&self, return_path: &str, to: &str, raw: &[u8]) -> Handover {
        self.sent.lock().expect("memory mailer").push((
            return_path.to_string(),
            to.to_string(),
            raw.to_vec(),
        ));
        Handover::Accepted("250 2.0.0 kept in memory".into())
    }
}

impl From<SmtpMailer> for Arc<dyn Mailer> {
    fn from(m: SmtpMailer) -> Self {
        Arc::new(m)
    }
}
