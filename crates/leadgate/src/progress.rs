//! Progress for long commands: a bar with rate and ETA on a terminal, a plain line every few
//! seconds otherwise (CI logs, pipes), so a long import or rescore never looks stuck.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use leadgate_app::jobs::Progress;

/// Reports progress of `what` (e.g. "rescoring contacts") on stderr.
pub enum Reporter {
    Bar(ProgressBar),
    Lines { what: String, started: Instant, last: Instant },
}

impl Reporter {
    pub fn new(what: &str) -> Reporter {
        if std::io::stderr().is_terminal() {
            let bar = ProgressBar::new(0);
            bar.set_style(
                ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} ({per_sec}, ETA {eta})")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            bar.set_message(what.to_string());
            Reporter::Bar(bar)
        } else {
            let now = Instant::now();
            Reporter::Lines { what: what.to_string(), started: now, last: now - Duration::from_secs(60) }
        }
    }

    pub fn finish(&self) {
        if let Reporter::Bar(bar) = self {
            bar.finish();
        }
    }
}

impl Progress for Reporter {
    fn update(&mut self, done: u64, total: u64) {
        match self {
            Reporter::Bar(bar) => {
                bar.set_length(total);
                bar.set_position(done);
            }
            Reporter::Lines { what, started, last } => {
                if last.elapsed() >= Duration::from_secs(5) || (done == total && total > 0) {
                    *last = Instant::now();
                    let secs = started.elapsed().as_secs_f64().max(0.001);
                    let rate = done as f64 / secs;
                    let eta = if rate > 0.0 { (total.saturating_sub(done)) as f64 / rate } else { 0.0 };
                    eprintln!("{what}: {done}/{total} ({rate:.0}/s, about {eta:.0} s left)");
                }
            }
        }
    }
}
