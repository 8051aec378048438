//! `/metrics` in the Prometheus text format. Request counts and latency histograms are kept here
//! per server instance (not in a process-global recorder, so several servers in one test process
//! stay apart); database pool and job figures are read at scrape time.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::AppState;

/// Upper bounds of the latency histogram buckets, in seconds: from a cached read (1 ms) to a slow
/// batch (5 s).
const BUCKETS: [f64; 12] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];

#[derive(Default)]
struct Series {
    count: u64,
    sum_seconds: f64,
    buckets: [u64; BUCKETS.len()],
}

/// Request metrics of one server.
#[derive(Default)]
pub struct Metrics {
    // (method, route, status) → counts; (method, route) → latency histogram.
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    latency: Mutex<BTreeMap<(String, String), Series>>,
}

impl Metrics {
    pub fn record_request(&self, method: &str, route: &str, status: u16, latency: Duration) {
        let mut requests = self.requests.lock().unwrap_or_else(|p| p.into_inner());
        *requests.entry((method.to_string(), route.to_string(), status)).or_default() += 1;
        drop(requests);
        let seconds = latency.as_secs_f64();
        let mut hist = self.latency.lock().unwrap_or_else(|p| p.into_inner());
        let series = hist.entry((method.to_string(), route.to_string())).or_default();
        series.count += 1;
        series.sum_seconds += seconds;
        for (i, bound) in BUCKETS.iter().enumerate() {
            if seconds <= *bound {
                series.buckets[i] += 1;
            }
        }
    }

    fn render_requests(&self, out: &mut String) {
        out.push_str("# HELP leadgate_http_requests_total HTTP requests handled, by route and status.\n");
        out.push_str("# TYPE leadgate_http_requests_total counter\n");
        for ((method, route, status), n) in self.requests.lock().unwrap_or_else(|p| p.into_inner()).iter() {
            let _ = writeln!(
                out,
                "leadgate_http_requests_total{{method=\"{method}\",route=\"{}\",status=\"{status}\"}} {n}",
                escape(route)
            );
        }
        out.push_str("# HELP leadgate_http_request_duration_seconds Time to answer HTTP requests.\n");
        out.push_str("# TYPE leadgate_http_request_duration_seconds histogram\n");
        for ((method, route), s) in self.latency.lock().unwrap_or_else(|p| p.into_inner()).iter() {
            let labels = format!("method=\"{method}\",route=\"{}\"", escape(route));
            for (i, bound) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "leadgate_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {}",
                    s.buckets[i]
                );
            }
            let _ = writeln!(
                out,
                "leadgate_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                s.count
            );
            let _ = writeln!(out, "leadgate_http_request_duration_seconds_sum{{{labels}}} {}", s.sum_seconds);
            let _ = writeln!(out, "leadgate_http_request_duration_seconds_count{{{labels}}} {}", s.count);
        }
    }
}

fn escape(label: &str) -> String {
    label.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// `GET /metrics` (with `Authorization: Bearer <token>` when the server has a metrics token).
pub async fn metrics(State(state): State<AppState>, headers: axum::http::HeaderMap) -> Response {
    if let Some(token) = &state.web.metrics_token {
        let sent = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        let same = sent.len() == token.len()
            && sent.bytes().zip(token.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0;
        if !same {
            let mut r =
                (axum::http::StatusCode::UNAUTHORIZED, "send Authorization: Bearer <the metrics token>\n")
                    .into_response();
            r.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"metrics\""));
            return r;
        }
    }
    let mut out = String::with_capacity(4096);
    state.metrics.render_requests(&mut out);
    let pool = state.app.store.pool_stats();
    out.push_str(
        "# HELP leadgate_db_connections Open database connections.\n# TYPE leadgate_db_connections gauge\n",
    );
    let _ = writeln!(out, "leadgate_db_connections {}", pool.connections);
    out.push_str("# HELP leadgate_db_connections_idle Idle database connections.\n# TYPE leadgate_db_connections_idle gauge\n");
    let _ = writeln!(out, "leadgate_db_connections_idle {}", pool.idle);
    let ingest = state.app.ingest_stats();
    out.push_str("# HELP leadgate_ingest_requests_total Event requests recorded.\n# TYPE leadgate_ingest_requests_total counter\n");
    let _ = writeln!(out, "leadgate_ingest_requests_total {}", ingest.requests);
    out.push_str(
        "# HELP leadgate_ingest_transactions_total Transactions that recorded them (concurrent requests share one).\n\
         # TYPE leadgate_ingest_transactions_total counter\n",
    );
    let _ = writeln!(out, "leadgate_ingest_transactions_total {}", ingest.transactions);
    let runner = state.app.runner.status();
    out.push_str("# HELP leadgate_emails_total Nurture e-mails by outcome (attempted, sent, refused, not_connected, ambiguous, bounced_hard, bounced_soft).\n# TYPE leadgate_emails_total counter\n");
    for (outcome, n) in leadgate_app::nurture::email_counts() {
        let _ = writeln!(out, "leadgate_emails_total{{outcome=\"{outcome}\"}} {n}");
    }
    out.push_str("# HELP leadgate_job_runner_up Whether this server's job runner is running and alive.\n# TYPE leadgate_job_runner_up gauge\n");
    let up = runner.state == leadgate_app::jobs::RunnerState::Running && !state.app.runner.is_failing();
    let _ = writeln!(out, "leadgate_job_runner_up {}", u8::from(up));
    out.push_str("# HELP leadgate_job_runner_beat_age_seconds Seconds since the job runner last showed it was alive.\n# TYPE leadgate_job_runner_beat_age_seconds gauge\n");
    let _ = writeln!(
        out,
        "leadgate_job_runner_beat_age_seconds {}",
        runner.last_beat.map_or(-1.0, |b| b.elapsed().as_secs_f64())
    );
    out.push_str("# HELP leadgate_job_panics_total Jobs and between-job work that stopped on a bug.\n# TYPE leadgate_job_panics_total counter\n");
    let _ = writeln!(out, "leadgate_job_panics_total {}", runner.panics);
    out.push_str("# HELP leadgate_db_disk_full Whether the disk holding the database was last found full.\n# TYPE leadgate_db_disk_full gauge\n");
    let _ = writeln!(out, "leadgate_db_disk_full {}", u8::from(state.app.store.disk_full().is_some()));
    out.push_str(
        "# HELP leadgate_db_up Whether the database answered this scrape.\n# TYPE leadgate_db_up gauge\n",
    );
    match state.app.store.read().await {
        Ok(mut s) => match s.job_counts().await {
            Ok(counts) => {
                out.push_str("leadgate_db_up 1\n");
                out.push_str("# HELP leadgate_jobs Background jobs by state.\n# TYPE leadgate_jobs gauge\n");
                for st in leadgate_store::jobs::JobState::ALL {
                    let n = counts.iter().find(|(s, _)| *s == st).map_or(0, |(_, n)| *n);
                    let _ = writeln!(out, "leadgate_jobs{{state=\"{}\"}} {n}", st.as_str());
                }
                let overdue = s.overdue_jobs(state.app.now()).await.map_or(0, |o| o.len());
                out.push_str("# HELP leadgate_jobs_overdue Running jobs whose lease ran out (at most 10 counted).\n# TYPE leadgate_jobs_overdue gauge\n");
                let _ = writeln!(out, "leadgate_jobs_overdue {overdue}");
            }
            Err(_) => out.push_str("leadgate_db_up 0\n"),
        },
        Err(_) => out.push_str("leadgate_db_up 0\n"),
    }
    let mut response = out.into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative() {
        let m = Metrics::default();
        m.record_request("GET", "/x", 200, Duration::from_millis(3));
        m.record_request("GET", "/x", 404, Duration::from_millis(300));
        let mut out = String::new();
        m.render_requests(&mut out);
        assert!(out.contains("leadgate_http_requests_total{method=\"GET\",route=\"/x\",status=\"200\"} 1"));
        assert!(out.contains("le=\"0.005\"} 1"), "{out}");
        assert!(out.contains("le=\"0.5\"} 2"), "{out}");
        assert!(out.contains("leadgate_http_request_duration_seconds_count{method=\"GET\",route=\"/x\"} 2"));
    }
}
