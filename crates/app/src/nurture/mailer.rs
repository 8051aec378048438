//! The SMTP side of sending: one message handed to a server, and what its answer means for
//! exactly-once. The application decides from [`Handover`] whether a message was sent, may be
//! retried (nothing was accepted), failed for good, or is ambiguous (the conversation broke
//! after the message may have been accepted).

use std::sync::Arc;
use std::time::Duration;

use lettre::address::Envelope;
use lettre::transport::smtp::PoolConfig;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, TlsParameters};
use lettre::transport::smtp::commands::{Data, Mail, Rcpt};
use lettre::transport::smtp::extension::ClientId;
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

/// An SMTP relay, connections kept open and reused between messages.
///
/// For `smtp://` (plain or STARTTLS) Leadgate opens the connections itself, with `TCP_NODELAY`:
/// lettre writes a message's body and its final `.` in two writes, and without it every message
/// waited for the server's delayed acknowledgement (40 ms on Linux, BENCHMARKS.md). It also
/// speaks MAIL, RCPT and DATA one by one, so a failure before the body was sent is known to
/// have handed nothing over (retried) rather than maybe delivered (ambiguous). `smtps://`
/// (implicit TLS) goes through lettre's own pool.
pub struct SmtpMailer {
    route: Route,
}

enum Route {
    Own(Box<OwnPool>),
    Lettre(AsyncSmtpTransport<Tokio1Executor>),
}

struct OwnPool {
    host: String,
    port: u16,
    starttls: StartTls,
    credentials: Option<Credentials>,
    hello: ClientId,
    idle: tokio::sync::Mutex<Vec<AsyncSmtpConnection>>,
    keep: usize,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum StartTls {
    Never,
    IfOffered,
    Required,
}

const TIMEOUT: Duration = Duration::from_secs(30);

impl SmtpMailer {
    /// `url`: `smtp://host:25` (plain), `smtp://user:pass@host:587?tls=required` (STARTTLS),
    /// `smtps://user:pass@host:465` (implicit TLS). `connections`: how many are kept open.
    pub fn new(url: &str, connections: u32) -> Result<SmtpMailer, String> {
        let bad = |why: String| format!("the SMTP address `{}` cannot be used: {why}", redact(url));
        let parsed = url::Url::parse(url).map_err(|e| bad(e.to_string()))?;
        if parsed.scheme() == "smtp" {
            let host = parsed.host_str().ok_or_else(|| bad("it has no host".into()))?.to_string();
            let tls = parsed.query_pairs().find(|(k, _)| k == "tls").map(|(_, v)| v.into_owned());
            let starttls = match tls.as_deref() {
                None | Some("none") => StartTls::Never,
                Some("opportunistic") => StartTls::IfOffered,
                Some("required") => StartTls::Required,
                Some(other) => return Err(bad(format!("tls={other}: use required, opportunistic or none"))),
            };
            let decode = |s: &str| percent_decode(s);
            let credentials = (!parsed.username().is_empty()).then(|| {
                Credentials::new(decode(parsed.username()), decode(parsed.password().unwrap_or("")))
            });
            return Ok(SmtpMailer {
                route: Route::Own(Box::new(OwnPool {
                    host,
                    port: parsed.port().unwrap_or(25),
                    starttls,
                    credentials,
                    hello: ClientId::default(),
                    idle: tokio::sync::Mutex::new(Vec::new()),
                    keep: connections.max(1) as usize,
                })),
            });
        }
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| bad(e.to_string()))?
            .timeout(Some(TIMEOUT))
            .pool_config(PoolConfig::new().max_size(connections.max(1)).idle_timeout(Duration::from_secs(30)))
            .build();
        Ok(SmtpMailer { route: Route::Lettre(transport) })
    }
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map_or_else(|| s.to_string(), |(_, v)| v.into_owned())
}

impl OwnPool {
    /// An idle connection that still answers, or a new one.
    async fn take(&self) -> Result<AsyncSmtpConnection, String> {
        loop {
            let idle = self.idle.lock().await.pop();
            let Some(mut conn) = idle else { break };
            if conn.test_connected().await {
                return Ok(conn);
            }
            conn.abort().await;
        }
        let connect = async {
            let stream = tokio::net::TcpStream::connect((self.host.as_str(), self.port))
                .await
                .map_err(|e| e.to_string())?;
            stream.set_nodelay(true).map_err(|e| e.to_string())?;
            let mut conn = AsyncSmtpConnection::connect_with_transport(Box::new(stream), &self.hello)
                .await
                .map_err(|e| e.to_string())?;
            if self.starttls == StartTls::Required
                || (self.starttls == StartTls::IfOffered && conn.can_starttls())
            {
                let tls = TlsParameters::new(self.host.clone()).map_err(|e| e.to_string())?;
                conn.starttls(tls, &self.hello).await.map_err(|e| format!("STARTTLS: {e}"))?;
            }
            if let Some(credentials) = &self.credentials {
                conn.auth(&[Mechanism::Plain, Mechanism::Login], credentials)
                    .await
                    .map_err(|e| format!("authentication: {e}"))?;
            }
            Ok::<_, String>(conn)
        };
        match tokio::time::timeout(TIMEOUT, connect).await {
            Ok(result) => result,
            Err(_) => {
                Err(format!("no answer from {}:{} within {} s", self.host, self.port, TIMEOUT.as_secs()))
            }
        }
    }

    async fn give_back(&self, conn: AsyncSmtpConnection) {
        let mut idle = self.idle.lock().await;
        if idle.len() < self.keep {
            idle.push(conn);
        }
    }

    async fn send(&self, envelope: &Envelope, raw: &[u8]) -> Handover {
        let mut conn = match self.take().await {
            Ok(c) => c,
            Err(e) => return Handover::NotConnected(e),
        };
        let from = envelope.from().cloned();
        let to: Vec<_> = envelope.to().to_vec();
        // Nothing is handed over until the body is sent: any failure before is a clean refusal
        // or no delivery at all.
        let before_body = async {
            conn.command(Mail::new(from, vec![])).await?;
            for rcpt in to {
                conn.command(Rcpt::new(rcpt, vec![])).await?;
            }
            conn.command(Data).await
        };
        let handed = tokio::time::timeout(TIMEOUT, before_body).await;
        match handed {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                let refused = e.is_transient() || e.is_permanent();
                conn.abort().await;
                return if refused { classify(&e) } else { Handover::NotConnected(e.to_string()) };
            }
            Err(_) => {
                conn.abort().await;
                return Handover::NotConnected(
                    "the server stopped answering before the message was sent".into(),
                );
            }
        }
        match tokio::time::timeout(TIMEOUT, conn.message(raw)).await {
            Ok(Ok(response)) => {
                self.give_back(conn).await;
                Handover::Accepted(format!(
                    "{} {}",
                    response.code(),
                    response.message().collect::<Vec<_>>().join(" ")
                ))
            }
            Ok(Err(e)) if e.is_transient() || e.is_permanent() => {
                // A refused message leaves the connection usable.
                self.give_back(conn).await;
                classify(&e)
            }
            Ok(Err(e)) => Handover::Broken(e.to_string()),
            Err(_) => Handover::Broken("no answer to the message within the timeout".into()),
        }
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
        match &self.route {
            Route::Own(pool) => pool.send(&envelope, raw).await,
            Route::Lettre(transport) => match transport.send_raw(&envelope, raw).await {
                Ok(response) => Handover::Accepted(format!(
                    "{} {}",
                    response.code(),
                    response.message().collect::<Vec<_>>().join(" ")
                )),
                Err(e) => classify(&e),
            },
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
