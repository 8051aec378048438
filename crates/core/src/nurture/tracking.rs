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

/// The redirect of a person's click to one of the workspace's own sites (the sender's domain or
/// a subdomain of it), carrying `lg_cid=<token>` so the website tracker on that page knows who the
/// browser is. Links to other sites are left alone: the token is not handed to third parties.
pub fn identifying_target(target: &str, own_domain: &str, token: &str) -> Option<String> {
    let own = own_domain.trim().trim_end_matches('.').to_ascii_lowercase();
    if own.is_empty() {
        return None;
    }
    let rest = target.strip_prefix("https://").or_else(|| target.strip_prefix("http://"))?;
    let authority = rest.split(['/', '?', '#']).next()?;
    // No user info (`https://own@elsewhere`): such a link is not ours to tag.
    if authority.contains('@') {
        return None;
    }
    let host = authority
        .rsplit_once(':')
        .map_or(authority, |(h, port)| if port.chars().all(|c| c.is_ascii_digit()) { h } else { authority });
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    if host != own && !host.ends_with(&format!(".{own}")) {
        return None;
    }
    let (before, fragment) = match target.split_once('#') {
        Some((b, f)) => (b, Some(f)),
        None => (target, None),
    };
    let joiner = if before.contains('?') { if before.ends_with(['?', '&']) { "" } else { "&" } } else { "?" };
    let mut out = format!("{before}{joiner}lg_cid={token}");
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(f);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_click_to_the_senders_own_site_carries_the_visitor_token_and_others_do_not() {
        let t = "abc.sig";
        assert_eq!(
            identifying_target("https://acme.test/pricing", "acme.test", t).as_deref(),
            Some("https://acme.test/pricing?lg_cid=abc.sig")
        );
        assert_eq!(
            identifying_target("https://www.Acme.test:8443/p?plan=pro#faq", "acme.test", t).as_deref(),
            Some("https://www.Acme.test:8443/p?plan=pro&lg_cid=abc.sig#faq")
        );
        assert_eq!(
            identifying_target("http://acme.test", "acme.test", t).as_deref(),
            Some("http://acme.test?lg_cid=abc.sig")
        );
        assert_eq!(identifying_target("https://notacme.test/", "acme.test", t), None);
        assert_eq!(identifying_target("https://acme.test.evil.example/", "acme.test", t), None);
        assert_eq!(identifying_target("https://acme.test@evil.example/", "acme.test", t), None);
        assert_eq!(identifying_target("mailto:sales@acme.test", "acme.test", t), None);
        assert_eq!(identifying_target("https://acme.test/", "", t), None);
    }

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
