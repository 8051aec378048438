//! Webhooks: subscriptions per event type, an outbox of deliveries written in the transaction of
//! the change they announce, and a sender that signs each message, retries with exponential
//! backoff for up to 24 hours and logs every attempt.
//!
//! Signature: header `Leadgate-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>…]`, where each
//! `v1` is HMAC-SHA256 over `"<t>.<body>"` with one of the subscription's secrets (two during a
//! rotation, so receivers can switch without losing messages).
//!
//! Targets on loopback, private, link-local or otherwise internal addresses are refused unless
//! the server allows them (`--webhook-allow-private`): a webhook URL must not become a way to
//! reach the server's own network (SSRF). The check runs on the addresses the name resolves to
//! at delivery time, and the connection goes to those checked addresses only.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hmac::{Hmac, KeyInit, Mac};
use jiff::{SignedDuration, Timestamp};
use leadgate_core::access::Permission;
use leadgate_core::ids::{ContactId, DeliveryId, WebhookId};
use leadgate_core::validation::ValidationErrors;
use leadgate_store::Session;
use leadgate_store::handoff::{AttemptOutcome, AttemptRecord, DeliveryRecord, WebhookRecord};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::{App, AppError, Principal, new_uuid};

/// The event types one can subscribe to (`*`: all).
pub const EVENT_TYPES: [&str; 16] = [
    "contact.created",
    "contact.updated",
    "lifecycle.changed",
    "lead.assigned",
    "lead.deadline_changed",
    "sla.warning",
    "sla.breached",
    "form.submitted",
    "task.due",
    "deal.created",
    "deal.moved",
    "email.sent",
    "email.clicked",
    "email.bounced",
    "email.replied",
    "contact.unsubscribed",
];

/// How long a message is retried before it is given up.
pub const GIVE_UP_AFTER: SignedDuration = SignedDuration::from_hours(24);
/// Deliveries sent per pass.
const DELIVERY_BATCH: i64 = 100;
/// How long a claimed delivery stays ours before another server may try it.
/// A receiver must answer within this.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);
/// Concurrent requests per pass.
const PARALLEL: usize = 16;

/// Where webhooks may be delivered.
#[derive(Debug, Clone, Copy, Default)]
pub struct WebhookPolicy {
    /// Allow targets on loopback, private and link-local addresses (tests, on-premise receivers).
    pub allow_private: bool,
}

/// Whether an address is internal, or not a plain public unicast address: loopback, private,
/// link-local, carrier-grade NAT, benchmarking, documentation, multicast, reserved and
/// unspecified IPv4 ranges; for IPv6 anything outside global unicast 2000::/3 (so unique local,
/// site-local, link-local, multicast, IPv4-compatible `::a.b.c.d`), the IPv4 an address
/// translates to (mapped `::ffff:a.b.c.d`, NAT64 `64:ff9b::/96`) judged as IPv4, and the
/// tunnels that hide an IPv4 inside (6to4 2002::/16, Teredo 2001::/32) refused outright.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => internal_v4(v4),
        IpAddr::V6(v6) => internal_v6(v6),
    }
}

fn internal_v4(v4: std::net::Ipv4Addr) -> bool {
    let [a, b, c, _] = v4.octets();
    a == 0
        || a == 10
        || a == 127
        || a >= 224
        || (a == 100 && b & 0xc0 == 64)
        || (a == 169 && b == 254)
        || (a == 172 && b & 0xf0 == 16)
        || (a == 192 && b == 168)
        || (a == 192 && b == 0 && (c == 0 || c == 2))
        || (a == 192 && b == 88 && c == 99)
        || (a == 198 && b & 0xfe == 18)
        || (a == 198 && b == 51 && c == 100)
        || (a == 203 && b == 0 && c == 113)
}

/// The IPv4 host an IPv6 address reaches by translation: mapped (`::ffff:0:0/96`) and NAT64
/// (`64:ff9b::/96`).
fn embedded_ipv4(v6: std::net::Ipv6Addr) -> Option<std::net::Ipv4Addr> {
    match v6.segments() {
        [0, 0, 0, 0, 0, 0xffff, hi, lo] | [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] => {
            Some(std::net::Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo)))
        }
        _ => None,
    }
}

fn internal_v6(v6: std::net::Ipv6Addr) -> bool {
    if let Some(v4) = embedded_ipv4(v6) {
        return internal_v4(v4);
    }
    let s = v6.segments();
    s[0] & 0xe000 != 0x2000                     // outside global unicast 2000::/3
        || (s[0] == 0x2001 && s[1] < 0x0200)    // 2001::/23: Teredo, benchmarking, ORCHID…
        || (s[0] == 0x2001 && s[1] == 0x0db8)   // documentation
        || s[0] == 0x2002                       // 6to4
        || (s[0] == 0x3fff && s[1] < 0x1000) // documentation (3fff::/20)
}

/// Whether a host name names this machine or its private network: `localhost`, names under
/// `.localhost`, `.local`, `.internal`, `.home.arpa`, and single labels (resolved through the
/// search domains of the server's network). A trailing dot (the root) changes nothing.
pub fn is_internal_name(host: &str) -> bool {
    let d = host.trim_end_matches('.').to_ascii_lowercase();
    !d.contains('.')
        || d == "localhost"
        || [".localhost", ".local", ".internal", ".home.arpa", ".localdomain"].iter().any(|s| d.ends_with(s))
}

/// Makes ring the process's TLS provider (reqwest is built without one, so that the heavier
/// aws-lc is not compiled). Idempotent; every HTTP client in the process, ours and tests',
/// needs it before it is built, so `App::new` calls it.
pub fn install_tls_provider() {
    // Err means a provider is already installed: exactly what we want.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The signature header value for `body` sent at `t` (unix seconds), one `v1` per secret.
pub fn signature_header(secrets: &[String], t: i64, body: &[u8]) -> String {
    let mut header = format!("t={t}");
    for secret in secrets {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes())
            .expect("HMAC takes keys of any length");
        mac.update(t.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        header.push_str(",v1=");
        for b in mac.finalize().into_bytes() {
            header.push_str(&format!("{b:02x}"));
        }
    }
    header
}

/// How a receiver checks a message: some `v1` matches with its secret, and `t` is recent.
pub fn verify_signature(header: &str, secret: &str, body: &[u8], now: i64, tolerance_secs: i64) -> bool {
    let mut t = None;
    let mut candidates = Vec::new();
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", v)) => t = v.parse::<i64>().ok(),
            Some(("v1", v)) => candidates.push(v.to_string()),
            _ => {}
        }
    }
    let Some(t) = t else { return false };
    if (now - t).abs() > tolerance_secs {
        return false;
    }
    let expected = signature_header(&[secret.to_string()], t, body);
    let expected = expected.rsplit_once("v1=").map(|(_, v)| v.to_string()).unwrap_or_default();
    candidates.iter().any(|c| crate::auth::constant_time_eq(c.as_bytes(), expected.as_bytes()))
}

/// A subscription as shown (secrets only at creation and rotation).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookView {
    pub id: WebhookId,
    pub url: String,
    pub description: Option<String>,
    pub event_types: Vec<String>,
    pub active: bool,
    /// How many signing secrets are in use (2 during a rotation).
    pub secrets_in_use: usize,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
    /// The new signing secret: shown once, at creation or rotation. Keep it safe.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

fn webhook_view(w: WebhookRecord, secret: Option<String>) -> WebhookView {
    WebhookView {
        id: w.id,
        url: w.url,
        description: w.description,
        event_types: w.event_types,
        active: w.active,
        secrets_in_use: w.secrets.len(),
        created_at: w.created_at,
        secret,
    }
}

/// A new subscription.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewWebhook {
    /// `https://…` (or `http://…`) URL that receives POSTed JSON.
    pub url: String,
    /// Event types to receive, or `["*"]` for all.
    pub event_types: Vec<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default = "active_default")]
    pub active: bool,
}

fn active_default() -> bool {
    true
}

/// Changes to a subscription; absent fields stay.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct WebhookPatch {
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub event_types: Option<Vec<String>>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub active: Option<bool>,
}

/// One message and its attempts.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeliveryView {
    pub id: DeliveryId,
    pub webhook_id: WebhookId,
    pub event_type: String,
    /// pending, delivered, failed (given up after 24 h of retries) or cancelled (its contact
    /// was deleted before it was sent; its payload is erased).
    pub state: String,
    pub attempts: i64,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub next_attempt_at: Option<Timestamp>,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub last_latency_ms: Option<i64>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub delivered_at: Option<Timestamp>,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub payload: serde_json::Value,
    pub log: Vec<AttemptView>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AttemptView {
    pub attempt: i64,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: Timestamp,
    /// The receiver's HTTP status; absent when no answer came.
    pub status: Option<i64>,
    pub latency_ms: i64,
    pub error: Option<String>,
}

fn delivery_view(d: DeliveryRecord, log: Vec<AttemptRecord>) -> DeliveryView {
    DeliveryView {
        id: d.id,
        webhook_id: d.webhook_id,
        event_type: d.event_type,
        next_attempt_at: (d.state == "pending").then_some(d.next_attempt_at),
        state: d.state,
        attempts: d.attempts,
        created_at: d.created_at,
        last_status: d.last_status,
        last_error: d.last_error,
        last_latency_ms: d.last_latency_ms,
        delivered_at: d.delivered_at,
        payload: serde_json::from_str(&d.payload).unwrap_or(serde_json::Value::Null),
        log: log
            .into_iter()
            .map(|a| AttemptView {
                attempt: a.attempt,
                at: a.at,
                status: a.status,
                latency_ms: a.latency_ms,
                error: a.error,
            })
            .collect(),
    }
}

fn new_secret() -> Result<String, AppError> {
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes).map_err(|e| AppError::Internal(format!("no randomness: {e}")))?;
    Ok(format!("whsec_{}", bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()))
}

/// When to try again after `attempt` failures: 30 s, 1 min, 2 min… capped at 2 h.
fn backoff(attempt: i64) -> SignedDuration {
    SignedDuration::from_secs((30_i64 << (attempt - 1).clamp(0, 8)).min(7200))
}

impl App {
    fn check_webhook(&self, url: &str, types: &[String], description: Option<&str>) -> Result<(), AppError> {
        let mut errors = ValidationErrors::new();
        if url.chars().count() > 2_000 || !leadgate_core::validation::is_plain_text(url) {
            errors.add("url", "must be an address of at most 2000 characters");
        } else if let Some(d) = description {
            errors.check_text("description", d, 0, 500);
        }
        match reqwest::Url::parse(url.trim()) {
            Ok(u) if !matches!(u.scheme(), "http" | "https") => {
                errors.add("url", "must start with https:// (or http://)");
            }
            Ok(u) if u.host_str().is_none_or(str::is_empty) => errors.add("url", "needs a host name"),
            Ok(u) => {
                let internal = match u.host() {
                    Some(url::Host::Ipv4(ip)) => is_internal(IpAddr::V4(ip)),
                    Some(url::Host::Ipv6(ip)) => is_internal(IpAddr::V6(ip)),
                    Some(url::Host::Domain(d)) => is_internal_name(d),
                    None => false,
                };
                if internal && !self.webhook_policy.allow_private {
                    errors.add(
                        "url",
                        "points at a loopback, private or link-local address; webhooks go to public receivers \
                         (an operator can allow internal ones with --webhook-allow-private)",
                    );
                }
            }
            Err(e) => errors
                .add("url", format!("is not a URL ({e}); write e.g. https://example.com/hooks/leadgate")),
        }
        if types.is_empty() {
            errors.add("event_types", format!("needs at least one of: {}, or \"*\"", EVENT_TYPES.join(", ")));
        }
        for (i, t) in types.iter().enumerate() {
            if t != "*" && !EVENT_TYPES.contains(&t.as_str()) {
                errors.add(
                    format!("event_types[{i}]"),
                    format!("`{t}` is not an event type; use one of: {}", EVENT_TYPES.join(", ")),
                );
            }
        }
        errors.into_result(()).map_err(AppError::from)
    }

    pub async fn create_webhook(
        &self,
        principal: &Principal,
        new: NewWebhook,
    ) -> Result<WebhookView, AppError> {
        principal.require(Permission::ManageWebhooks)?;
        self.check_webhook(&new.url, &new.event_types, new.description.as_deref())?;
        let secret = new_secret()?;
        let record = WebhookRecord {
            id: WebhookId(new_uuid()),
            url: new.url.trim().to_string(),
            description: new.description.map(|d| d.trim().to_string()).filter(|d| !d.is_empty()),
            event_types: new.event_types,
            secrets: vec![secret.clone()],
            active: new.active,
            created_at: self.now(),
        };
        let mut tx = self.store.begin().await?;
        tx.insert_webhook(&record).await?;
        self.audit_in(
            &mut tx,
            Some(principal),
            "webhook.created",
            Some(record.id.to_string()),
            None,
            serde_json::json!({ "url": record.url, "event_types": record.event_types }),
        )
        .await?;
        tx.commit().await?;
        Ok(webhook_view(record, Some(secret)))
    }

    pub async fn webhooks(&self, principal: &Principal) -> Result<Vec<WebhookView>, AppError> {
        principal.require(Permission::ManageWebhooks)?;
        let mut s = self.store.read().await?;
        Ok(s.webhooks().await?.into_iter().map(|w| webhook_view(w, None)).collect())
    }

    pub async fn webhook(&self, principal: &Principal, id: WebhookId) -> Result<WebhookView, AppError> {
        principal.require(Permission::ManageWebhooks)?;
        let mut s = self.store.read().await?;
        s.get_webhook(id)
            .await?
            .map(|w| webhook_view(w, None))
            .ok_or_else(|| AppError::not_found("webhook", id))
    }

    pub async fn update_webhook(
        &self,
        principal: &Principal,
        id: WebhookId,
        patch: WebhookPatch,
    ) -> Result<WebhookView, AppError> {
        principal.require(Permission::ManageWebhooks)?;
        let mut tx = self.store.begin().await?;
        let mut w = tx.get_webhook(id).await?.ok_or_else(|| AppError::not_found("webhook", id))?;
        if let Some(url) = patch.url {
            w.url = url.trim().to_string();
        }
        if let Some(types) = patch.event_types {
            w.event_types = types;
        }
        if let Some(d) = patch.description {
            w.description = Some(d.trim().to_string()).filter(|d| !d.is_empty());
        }
        if let Some(a) = patch.active {
            w.active = a;
        }
        self.check_webhook(&w.url, &w.event_types, w.description.as_deref())?;
        tx.update_webhook(&w).await?;
        self.audit_in(
            &mut tx,
            Some(principal),
            "webhook.updated",
            Some(id.to_string()),
            None,
            serde_json::json!({}),
        )
        .await?;
        tx.commit().await?;
        Ok(webhook_view(w, None))
    }

    pub async fn delete_webhook(&self, principal: &Principal, id: WebhookId) -> Result<(), AppError> {
        principal.require(Permission::ManageWebhooks)?;
        let mut tx = self.store.begin().await?;
        if !tx.delete_webhook(id).await? {
            return Err(AppError::not_found("webhook", id));
        }
        self.audit_in(
            &mut tx,
            Some(principal),
            "webhook.deleted",
            Some(id.to_string()),
            None,
            serde_json::json!({}),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A new signing secret; the previous one keeps signing too (both `v1`s are sent) until the
    /// next rotation, so the receiver can switch at its own pace. `drop_previous` ends that.
    pub async fn rotate_webhook_secret(
        &self,
        principal: &Principal,
        id: WebhookId,
        drop_previous: bool,
    ) -> Result<WebhookView, AppError> {
        principal.require(Permission::ManageWebhooks)?;
        let mut tx = self.store.begin().await?;
        let mut w = tx.get_webhook(id).await?.ok_or_else(|| AppError::not_found("webhook", id))?;
        let secret = new_secret()?;
        let previous = if drop_previous { None } else { w.secrets.first().cloned() };
        w.secrets = std::iter::once(secret.clone()).chain(previous).collect();
        tx.update_webhook(&w).await?;
        self.audit_in(
            &mut tx,
            Some(principal),
            "webhook.secret_rotated",
            Some(id.to_string()),
            None,
            serde_json::json!({}),
        )
        .await?;
        tx.commit().await?;
        Ok(webhook_view(w, Some(secret)))
    }

    /// A subscription's latest deliveries with their attempts, newest first.
    pub async fn webhook_deliveries(
        &self,
        principal: &Principal,
        id: WebhookId,
        limit: u32,
    ) -> Result<Vec<DeliveryView>, AppError> {
        principal.require(Permission::ManageWebhooks)?;
        let mut s = self.store.read().await?;
        if s.get_webhook(id).await?.is_none() {
            return Err(AppError::not_found("webhook", id));
        }
        let mut out = Vec::new();
        for d in s.deliveries_of(id, limit.clamp(1, 500) as i64).await? {
            let log = s.attempts_of(d.id).await?;
            out.push(delivery_view(d, log));
        }
        Ok(out)
    }

    /// Sends a message again (as a new delivery, so both logs stay).
    pub async fn redeliver(&self, principal: &Principal, id: DeliveryId) -> Result<DeliveryView, AppError> {
        principal.require(Permission::ManageWebhooks)?;
        let mut tx = self.store.begin().await?;
        let new = DeliveryId(new_uuid());
        if !tx.redeliver(id, new, self.now()).await? {
            return match tx.get_delivery(id).await? {
                Some(_) => Err(AppError::StateConflict(
                    "this message was about a contact since deleted: its content was erased and cannot be sent again"
                        .into(),
                )),
                None => Err(AppError::not_found("delivery", id)),
            };
        }
        let d = tx.get_delivery(new).await?.ok_or_else(|| AppError::not_found("delivery", new))?;
        tx.commit().await?;
        Ok(delivery_view(d, Vec::new()))
    }

    /// Queues `event_type` about `contact` for every subscriber, inside the caller's transaction.
    pub(crate) async fn emit_in(
        &self,
        tx: &mut Session,
        event_type: &str,
        contact: ContactId,
        data: serde_json::Value,
        now: Timestamp,
    ) -> Result<(), AppError> {
        self.emit_many_in(tx, event_type, std::iter::once((contact, data)), now).await
    }

    /// Queues one `event_type` message per item of `data` (the contact it is about, and what
    /// it says) for every subscriber, in a few statements whatever their number (a rescore can
    /// move thousands of leads). The messages are only built when someone subscribes. Each
    /// message records its contact, so deleting the contact erases it from the delivery log.
    pub(crate) async fn emit_many_in(
        &self,
        tx: &mut Session,
        event_type: &str,
        data: impl IntoIterator<Item = (ContactId, serde_json::Value)>,
        now: Timestamp,
    ) -> Result<(), AppError> {
        let data: Vec<(Option<ContactId>, serde_json::Value)> =
            data.into_iter().map(|(c, d)| (Some(c), d)).collect();
        self.emit_payloads_in(tx, event_type, data, now).await
    }

    /// [`App::emit_many_in`] for messages that may be about no contact.
    pub(crate) async fn emit_payloads_in(
        &self,
        tx: &mut Session,
        event_type: &str,
        data: Vec<(Option<ContactId>, serde_json::Value)>,
        now: Timestamp,
    ) -> Result<(), AppError> {
        let targets = tx.webhook_subscribers(event_type).await?;
        if targets.is_empty() {
            return Ok(());
        }
        let payloads: Vec<(Option<ContactId>, String)> = data
            .into_iter()
            .map(|(contact, data)| {
                let body = serde_json::json!({
                    "id": uuid::Uuid::now_v7(),
                    "type": event_type,
                    "created_at": now,
                    "data": data,
                });
                (contact, body.to_string())
            })
            .collect();
        tx.queue_deliveries(event_type, &targets, &payloads, &mut || DeliveryId(new_uuid()), now).await?;
        Ok(())
    }

    /// Sends due deliveries (a batch, several at once) and records each attempt. Returns how
    /// many were attempted.
    pub async fn deliver_webhooks(&self) -> Result<usize, AppError> {
        let now = self.now();
        if !self.store.read().await?.deliveries_due(now).await? {
            return Ok(0);
        }
        let mut tx = self.store.begin().await?;
        let due = tx.claim_deliveries(now, now + self.job_lease, DELIVERY_BATCH).await?;
        tx.commit().await?;
        if due.is_empty() {
            return Ok(0);
        }
        let n = due.len();
        let client = self.webhook_client()?;
        let mut results = Vec::with_capacity(n);
        let mut queue = due.into_iter();
        let mut running = tokio::task::JoinSet::new();
        loop {
            while running.len() < PARALLEL {
                let Some((d, w)) = queue.next() else { break };
                let client = client.clone();
                let policy = self.webhook_policy;
                let at = self.now();
                running.spawn(async move {
                    let attempt = send(&client, policy, &d, &w, at).await;
                    (d, attempt)
                });
            }
            match running.join_next().await {
                Some(Ok(r)) => results.push(r),
                Some(Err(e)) => tracing::error!(error = %e, "webhook sender task failed"),
                None => break,
            }
        }
        let now = self.now();
        let mut tx = self.store.begin().await?;
        for (d, a) in results {
            let attempt = d.attempts + 1;
            let outcome = if a.ok {
                AttemptOutcome::Delivered
            } else if now.duration_since(d.created_at) + backoff(attempt) > GIVE_UP_AFTER {
                AttemptOutcome::GaveUp
            } else {
                AttemptOutcome::RetryAt(now + backoff(attempt))
            };
            let applied = tx
                .record_attempt(d.id, attempt, a.at, a.status, a.latency_ms, a.error.as_deref(), outcome)
                .await?;
            if !applied {
                tracing::info!(delivery = %d.id, "another server recorded this delivery meanwhile; ours is dropped");
            }
        }
        tx.commit().await?;
        Ok(n)
    }

    fn webhook_client(&self) -> Result<reqwest::Client, AppError> {
        self.webhook_client
            .get_or_init(|| {
                reqwest::Client::builder()
                    // Never through a proxy from the environment (HTTP_PROXY…): the proxy would
                    // resolve the target, and the checks above would see only its address.
                    .no_proxy()
                    .timeout(DELIVERY_TIMEOUT)
                    .redirect(reqwest::redirect::Policy::none())
                    .dns_resolver(Arc::new(CheckedResolver { policy: self.webhook_policy }))
                    .user_agent(concat!("Leadgate-Webhooks/", env!("CARGO_PKG_VERSION")))
                    .build()
                    .map_err(|e| e.to_string())
            })
            .clone()
            .map_err(|e| AppError::Internal(format!("cannot build the webhook HTTP client: {e}")))
    }
}

struct Attempt {
    ok: bool,
    at: Timestamp,
    status: Option<i64>,
    latency_ms: i64,
    error: Option<String>,
}

async fn send(
    client: &reqwest::Client,
    policy: WebhookPolicy,
    d: &DeliveryRecord,
    w: &WebhookRecord,
    at: Timestamp,
) -> Attempt {
    let started = Instant::now();
    let fail = |error: String| Attempt {
        ok: false,
        at,
        status: None,
        latency_ms: started.elapsed().as_millis() as i64,
        error: Some(error),
    };
    // A literal IP never goes through the resolver: check it here.
    if let Ok(url) = reqwest::Url::parse(&w.url) {
        let refused = match url.host() {
            Some(url::Host::Ipv4(ip)) => is_internal(IpAddr::V4(ip)).then(|| ip.to_string()),
            Some(url::Host::Ipv6(ip)) => is_internal(IpAddr::V6(ip)).then(|| ip.to_string()),
            Some(url::Host::Domain(d)) => is_internal_name(d).then(|| d.to_string()),
            None => None,
        };
        if let Some(host) = refused
            && !policy.allow_private
        {
            return fail(format!("refused: {host} is an internal address"));
        }
    }
    let body = d.payload.clone().into_bytes();
    let signature = signature_header(&w.secrets, at.as_second(), &body);
    let response = client
        .post(&w.url)
        .header("content-type", "application/json")
        .header("leadgate-event", &d.event_type)
        .header("leadgate-delivery", d.id.to_string())
        .header("leadgate-signature", signature)
        .body(body)
        .send()
        .await;
    let latency_ms = started.elapsed().as_millis() as i64;
    match response {
        Ok(r) => {
            let status = r.status();
            Attempt {
                ok: status.is_success(),
                at,
                status: Some(status.as_u16() as i64),
                latency_ms,
                error: (!status.is_success()).then(|| format!("the receiver answered {status}")),
            }
        }
        Err(e) => {
            // The resolver's refusal is inside the error chain; show the root cause.
            let mut msg = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                msg = s.to_string();
                source = s.source();
            }
            Attempt { ok: false, at, status: None, latency_ms, error: Some(msg) }
        }
    }
}

/// Resolves webhook host names and drops internal addresses (unless allowed), so a public name
/// that resolves to a private address is refused, and the connection uses the checked
/// addresses only.
struct CheckedResolver {
    policy: WebhookPolicy,
}

impl reqwest::dns::Resolve for CheckedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow = self.policy.allow_private;
        Box::pin(async move {
            let host = name.as_str().to_string();
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> =
                addrs.iter().copied().filter(|a| allow || !is_internal(a.ip())).collect();
            if allowed.is_empty() {
                let msg = if addrs.is_empty() {
                    format!("{host} does not resolve")
                } else {
                    format!("refused: {host} resolves to an internal address ({})", addrs[0].ip())
                };
                return Err(msg.into());
            }
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses_are_recognised() {
        for internal in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            // IPv6 forms that reach an internal IPv4, and ranges that are not public unicast.
            "::",
            "::127.0.0.1",
            "::10.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b:1::1",
            "2002:7f00:1::1",
            "2002:c0a8:101::1",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
            "fec0::1",
            "ff02::1",
            "100::1",
            "2001:db8::1",
            "3fff::1",
            "192.88.99.1",
            "203.0.113.9",
            "224.0.0.1",
            "255.255.255.255",
        ] {
            assert!(is_internal(internal.parse().unwrap()), "{internal}");
        }
        for public in [
            "93.184.216.34",
            "8.8.8.8",
            "2606:4700::1111",
            "64:ff9b::808:808",
            "::ffff:8.8.8.8",
            "2a00:1450:4007:80c::200e",
            "1.1.1.1",
        ] {
            assert!(!is_internal(public.parse().unwrap()), "{public}");
        }
        for name in [
            "localhost",
            "localhost.",
            "LOCALHOST.",
            "db.internal",
            "printer.local",
            "intranet",
            "intranet.",
            "x.home.arpa",
        ] {
            assert!(is_internal_name(name), "{name}");
        }
        for name in ["example.com", "hooks.example.com.", "crm.example.co.uk"] {
            assert!(!is_internal_name(name), "{name}");
        }
    }

    #[test]
    fn signatures_verify_with_either_secret_during_a_rotation() {
        let body = br#"{"type":"lead.assigned"}"#;
        let header = signature_header(&["new".into(), "old".into()], 1_700_000_000, body);
        assert!(header.starts_with("t=1700000000,v1="));
        assert_eq!(header.matches("v1=").count(), 2);
        assert!(verify_signature(&header, "new", body, 1_700_000_010, 300));
        assert!(verify_signature(&header, "old", body, 1_700_000_010, 300));
        assert!(!verify_signature(&header, "other", body, 1_700_000_010, 300));
        assert!(!verify_signature(&header, "new", b"tampered", 1_700_000_010, 300));
        // A replay long after is refused.
        assert!(!verify_signature(&header, "new", body, 1_700_001_000, 300));
    }

    #[test]
    fn retries_back_off_and_stop_within_a_day() {
        assert_eq!(backoff(1), SignedDuration::from_secs(30));
        assert_eq!(backoff(2), SignedDuration::from_secs(60));
        assert_eq!(backoff(20), SignedDuration::from_secs(7200));
        // Summed, the schedule spans the 24 h window in a bounded number of tries.
        let mut elapsed = SignedDuration::ZERO;
        let mut attempts = 0;
        while elapsed + backoff(attempts + 1) <= GIVE_UP_AFTER {
            attempts += 1;
            elapsed += backoff(attempts);
        }
        assert!((15..=25).contains(&attempts), "{attempts}");
    }
}
