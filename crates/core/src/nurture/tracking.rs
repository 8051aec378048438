//! Whether an open or a click came from a person. Apple Mail Privacy Protection fetches every
//! image of every message on delivery; corporate security gateways follow every link of a message
//! seconds after it arrives. Those are recorded (people like to see them) but flagged as machine
//! and kept out of scoring and branching.

use jiff::{SignedDuration, Timestamp};

/// A click sooner than this after sending is a link scanner: no person opens, reads and clicks
/// that fast.
pub const SCANNER_CLICK_WITHIN: SignedDuration = SignedDuration::from_secs(10);

/// User agents of the known prefetchers and scanners (lower case substrings).
const MACHINE_AGENTS: &[&str] = &[
    "googleimageproxy",
    "yahoomailproxy",
    "bingpreview",
    "barracuda",
    "mimecast",
    "proofpoint",
    "symantec",
    "messagelabs",
    "forcepoint",
    "trendmicro",
    "cloudmark",
    "safelinks",
    "microsoft office existence discovery",
    "python-requests",
    "curl/",
    "wget/",
    "go-http-client",
    "headlesschrome",
    "bot",
    "crawler",
    "spider",
    "preview",
];

fn machine_agent(user_agent: Option<&str>) -> bool {
    let Some(ua) = user_agent.map(str::trim).filter(|u| !u.is_empty()) else { return true };
    let ua = ua.to_ascii_lowercase();
    MACHINE_AGENTS.iter().any(|m| ua.contains(m))
}

/// An open is a machine's when it comes from a known proxy or scanner, without a user agent, or
/// from Apple's privacy relay: Mail Privacy Protection loads images through a proxy whose user
/// agent is a bare `Mozilla/5.0` without a browser or platform token.
pub fn machine_open(user_agent: Option<&str>) -> bool {
    machine_agent(user_agent) || user_agent.is_some_and(|ua| ua.trim() == "Mozilla/5.0")
}

/// A click is a scanner's when it comes within [`SCANNER_CLICK_WITHIN`] of sending or from a
/// known scanner's user agent.
pub fn machine_click(user_agent: Option<&str>, sent_at: Option<Timestamp>, at: Timestamp) -> bool {
    machine_agent(user_agent) || sent_at.is_some_and(|s| at.duration_since(s) < SCANNER_CLICK_WITHIN)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0";

    #[test]
    fn a_browser_click_a_minute_after_sending_is_a_person() {
        let sent: Timestamp = "2026-11-24T10:00:00Z".parse().unwrap();
        assert!(!machine_click(Some(FIREFOX), Some(sent), sent + SignedDuration::from_secs(60)));
    }

    #[test]
    fn an_instant_click_or_a_scanner_agent_is_a_machine() {
        let sent: Timestamp = "2026-11-24T10:00:00Z".parse().unwrap();
        assert!(machine_click(Some(FIREFOX), Some(sent), sent + SignedDuration::from_secs(2)));
        assert!(machine_click(
            Some("Mimecast URL Protect"),
            Some(sent),
            sent + SignedDuration::from_hours(1)
        ));
        assert!(machine_click(None, Some(sent), sent + SignedDuration::from_hours(1)));
    }

    #[test]
    fn proxied_opens_are_machine_opens() {
        assert!(machine_open(Some("Mozilla/5.0")));
        assert!(machine_open(Some(
            "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)"
        )));
        assert!(machine_open(None));
        assert!(!machine_open(Some(FIREFOX)));
    }
}
