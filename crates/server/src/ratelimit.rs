//! Rate limits: how many requests an API key, or a client address on the public endpoints, may
//! make in a window of time. Over its quota a client gets `429 Too Many Requests` with
//! `Retry-After`; every limited answer tells the client where it stands with the IETF
//! `RateLimit-Policy` and `RateLimit` fields (draft-ietf-httpapi-ratelimit-headers), so a
//! well-behaved client slows down before it is refused.
//!
//! Counts live in this server's memory, in fixed windows: cheap (one short lock per request),
//! and a restart forgives. With several servers behind a load balancer each enforces the quota
//! on the requests it receives.

use std::collections::HashMap;
use std::fmt;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::AppState;
use crate::client::ClientAddress;
use crate::problem::ApiError;

/// A number of requests per window of time, e.g. `1000/10s`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    pub requests: u32,
    pub window: Duration,
}

impl Quota {
    pub const fn new(requests: u32, window_secs: u64) -> Quota {
        Quota { requests, window: Duration::from_secs(window_secs) }
    }

    /// Reads `N/10s`, `N/1m` or `N/1h` (a number of requests per window of seconds, minutes or
    /// hours; a bare number of seconds also works). `None` is `off`: no limit.
    pub fn parse(text: &str) -> Result<Option<Quota>, String> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("off") {
            return Ok(None);
        }
        let bad = || {
            format!("`{text}` is not a quota: write requests/window, e.g. 1000/10s, 60/1m, 5000/1h, or off")
        };
        let (requests, window) = text.split_once('/').ok_or_else(bad)?;
        let requests: u32 = requests.trim().parse().map_err(|_| bad())?;
        let window = window.trim();
        let (number, unit) =
            window.split_at(window.find(|c: char| !c.is_ascii_digit()).unwrap_or(window.len()));
        let number: u64 = if number.is_empty() { 1 } else { number.parse().map_err(|_| bad())? };
        let secs = match unit {
            "" | "s" => number,
            "m" => number.saturating_mul(60),
            "h" => number.saturating_mul(3600),
            _ => return Err(bad()),
        };
        if requests == 0 || !(1..=86_400).contains(&secs) {
            return Err(format!(
                "`{text}`: allow at least one request, in a window of 1 second to 24 hours (or write off)"
            ));
        }
        Ok(Some(Quota { requests, window: Duration::from_secs(secs) }))
    }
}

impl fmt::Display for Quota {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}s", self.requests, self.window.as_secs())
    }
}

/// What the operator chose (`leadgate serve --rate-limit-*`); `None` switches a limit off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    /// Requests per API key to `/api/v1` (HubSpot allows 190 per 10 s; we allow more).
    pub api_key: Option<Quota>,
    /// API requests per client address that present no key or a wrong one.
    pub api_anonymous: Option<Quota>,
    /// Form submissions per client address.
    pub form: Option<Quota>,
    /// Submissions to one form from every address together: a flood from many addresses.
    pub form_total: Option<Quota>,
    /// Tracker batches per client address.
    pub tracker: Option<Quota>,
}

impl Default for RateLimits {
    fn default() -> RateLimits {
        RateLimits {
            api_key: Some(Quota::new(1000, 10)),
            api_anonymous: Some(Quota::new(100, 60)),
            form: Some(Quota::new(10, 60)),
            form_total: Some(Quota::new(60, 60)),
            tracker: Some(Quota::new(120, 60)),
        }
    }
}

/// One quota's counts, per key (an API key's prefix, an address, a form).
pub struct Limiter<K> {
    /// The policy's name in the `RateLimit` fields.
    name: &'static str,
    quota: Option<Quota>,
    seen: Mutex<HashMap<K, Window>>,
}

#[derive(Debug, Clone, Copy)]
struct Window {
    start: Instant,
    count: u32,
}

/// Where a client stands after a request was counted.
#[derive(Debug, Clone, Copy)]
pub struct Standing {
    name: &'static str,
    quota: Quota,
    pub allowed: bool,
    remaining: u32,
    /// Seconds until the window ends and the quota is whole again.
    reset_secs: u64,
}

/// Keys kept before old windows are swept: a flood of new addresses must not grow memory
/// without bound.
const SWEEP_AT: usize = 100_000;

impl<K: Hash + Eq> Limiter<K> {
    pub fn new(name: &'static str, quota: Option<Quota>) -> Limiter<K> {
        Limiter { name, quota, seen: Mutex::new(HashMap::new()) }
    }

    /// Counts one request of `key` and says whether it is within the quota (`None`: no limit).
    pub fn count(&self, key: K) -> Option<Standing> {
        self.count_at(key, Instant::now())
    }

    fn count_at(&self, key: K, now: Instant) -> Option<Standing> {
        let quota = self.quota?;
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if seen.len() >= SWEEP_AT {
            seen.retain(|_, w| now.duration_since(w.start) < quota.window);
        }
        let w = seen.entry(key).or_insert(Window { start: now, count: 0 });
        if now.duration_since(w.start) >= quota.window {
            *w = Window { start: now, count: 0 };
        }
        // A refused request counts too: hammering while refused does not shorten the wait.
        w.count = w.count.saturating_add(1);
        let left = quota.window.saturating_sub(now.duration_since(w.start));
        Some(Standing {
            name: self.name,
            quota,
            allowed: w.count <= quota.requests,
            remaining: quota.requests.saturating_sub(w.count),
            reset_secs: left.as_secs() + u64::from(left.subsec_nanos() > 0),
        })
    }

    /// Whether `key` has used up its quota, without counting a request.
    fn exhausted(&self, key: &K) -> Option<Standing> {
        let quota = self.quota?;
        let now = Instant::now();
        let seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        let w = seen
            .get(key)
            .filter(|w| now.duration_since(w.start) < quota.window && w.count >= quota.requests)?;
        let left = quota.window.saturating_sub(now.duration_since(w.start));
        Some(Standing {
            name: self.name,
            quota,
            allowed: false,
            remaining: 0,
            reset_secs: left.as_secs() + u64::from(left.subsec_nanos() > 0),
        })
    }
}

impl Standing {
    /// Writes `RateLimit-Policy` and `RateLimit` (and `Retry-After` when refused).
    pub fn write(&self, headers: &mut HeaderMap) {
        let policy = format!("\"{}\";q={};w={}", self.name, self.quota.requests, self.quota.window.as_secs());
        let now = format!("\"{}\";r={};t={}", self.name, self.remaining, self.reset_secs);
        if let (Ok(p), Ok(n)) = (HeaderValue::from_str(&policy), HeaderValue::from_str(&now)) {
            headers.insert("ratelimit-policy", p);
            headers.insert("ratelimit", n);
        }
        if !self.allowed {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(self.reset_secs.max(1)));
        }
    }

    /// The refusal: 429 with the wait, as a problem.
    pub fn refusal(&self, what: &str) -> Response {
        let mut r = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate-limited",
            "Too many requests",
            format!(
                "{what} may make {} requests every {} seconds; wait {} seconds (see Retry-After)",
                self.quota.requests,
                self.quota.window.as_secs(),
                self.reset_secs.max(1)
            ),
        )
        .retry_after(self.reset_secs.max(1))
        .into_response();
        self.write(r.headers_mut());
        r
    }
}

/// This server's counters.
pub struct Limiters {
    pub api_key: Limiter<String>,
    pub api_anonymous: Limiter<IpAddr>,
    pub form: Limiter<IpAddr>,
    pub form_total: Limiter<uuid::Uuid>,
    pub tracker: Limiter<IpAddr>,
}

impl Limiters {
    pub fn new(limits: RateLimits) -> Limiters {
        Limiters {
            api_key: Limiter::new("api-key", limits.api_key),
            api_anonymous: Limiter::new("anonymous", limits.api_anonymous),
            form: Limiter::new("form", limits.form),
            form_total: Limiter::new("form-total", limits.form_total),
            tracker: Limiter::new("tracker", limits.tracker),
        }
    }
}

/// The public part of a bearer API key (`lg_` and the indexed prefix), which names the key
/// without a database read; a token that is not shaped like a key has none.
fn key_prefix(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let token = value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer "))?.trim();
    (token.len() >= 12 && token.is_char_boundary(12)).then(|| token[..12].to_string())
}

/// Limits `/api/v1`: per API key, and per address for requests without a valid key (so guessing
/// keys is throttled too). Every answer carries the caller's standing.
pub async fn limit_api(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let limiters = &state.limiters;
    let address = request.extensions().get::<ClientAddress>().and_then(|c| c.0);
    // An address that sent too many wrong keys waits, whatever key it tries next.
    if let Some(ip) = address
        && let Some(standing) = limiters.api_anonymous.exhausted(&ip)
    {
        return standing.refusal("a client without a valid API key");
    }
    let standing = match key_prefix(request.headers()) {
        Some(prefix) => limiters.api_key.count(prefix),
        None => address.and_then(|ip| limiters.api_anonymous.count(ip)),
    };
    if let Some(s) = standing.filter(|s| !s.allowed) {
        return s.refusal("an API key");
    }
    let keyed = key_prefix(request.headers()).is_some();
    let mut response = next.run(request).await;
    if keyed && response.status() == StatusCode::UNAUTHORIZED {
        if let Some(ip) = address {
            limiters.api_anonymous.count(ip);
        }
    } else if let Some(s) = standing {
        s.write(response.headers_mut());
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotas_read_as_operators_write_them() {
        assert_eq!(Quota::parse("1000/10s"), Ok(Some(Quota::new(1000, 10))));
        assert_eq!(Quota::parse(" 60/1m "), Ok(Some(Quota::new(60, 60))));
        assert_eq!(Quota::parse("5000/h"), Ok(Some(Quota::new(5000, 3600))));
        assert_eq!(Quota::parse("10/30"), Ok(Some(Quota::new(10, 30))));
        assert_eq!(Quota::parse("OFF"), Ok(None));
        for bad in ["", "1000", "0/10s", "10/0s", "10/2d", "-1/10s", "many/10s", "10/25h"] {
            assert!(Quota::parse(bad).is_err(), "{bad} was read");
        }
        assert_eq!(Quota::new(1000, 10).to_string(), "1000/10s");
    }

    #[test]
    fn a_window_allows_its_quota_then_refuses_until_it_ends() {
        let limiter = Limiter::new("test", Some(Quota::new(3, 10)));
        let t0 = Instant::now();
        let counts: Vec<bool> = (0..5).map(|_| limiter.count_at("k", t0).unwrap().allowed).collect();
        assert_eq!(counts, [true, true, true, false, false]);
        let refused = limiter.count_at("k", t0 + Duration::from_millis(2500)).unwrap();
        assert_eq!((refused.remaining, refused.reset_secs), (0, 8), "the wait is rounded up");
        assert!(limiter.count_at("other", t0).unwrap().allowed, "each key its own quota");
        assert!(limiter.count_at("k", t0 + Duration::from_secs(10)).unwrap().allowed, "a new window");
        assert!(Limiter::<&str>::new("off", None).count("k").is_none());
    }

    #[test]
    fn standings_are_written_in_the_ietf_fields() {
        let limiter = Limiter::new("api-key", Some(Quota::new(2, 10)));
        let t0 = Instant::now();
        let mut h = HeaderMap::new();
        limiter.count_at("k", t0).unwrap().write(&mut h);
        assert_eq!(h["ratelimit-policy"], "\"api-key\";q=2;w=10");
        assert_eq!(h["ratelimit"], "\"api-key\";r=1;t=10");
        assert!(!h.contains_key(header::RETRY_AFTER));
        limiter.count_at("k", t0).unwrap();
        let refused = limiter.count_at("k", t0 + Duration::from_secs(4)).unwrap();
        let r = refused.refusal("an API key");
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(r.headers()[header::RETRY_AFTER], "6");
        assert_eq!(r.headers()["ratelimit"], "\"api-key\";r=0;t=6");
    }
}
