//! What a bounce means. Delivery status notifications (RFC 3464) carry `Action:` and `Status:`
//! fields; many servers still send free text with an SMTP reply in it (`550 5.1.1 user
//! unknown`). Both are read here from the message's text; the caller finds which of our messages
//! it is about (the token in the return path or the returned headers).

use serde::{Deserialize, Serialize};

/// A bounce's weight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum BounceKind {
    /// The address cannot receive mail (unknown user, domain without mail): stop for good.
    Hard,
    /// A passing failure (mailbox full, server busy, greylisting): retry, count, give up after a
    /// threshold.
    Soft,
}

impl BounceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            BounceKind::Hard => "hard",
            BounceKind::Soft => "soft",
        }
    }

    pub fn parse(s: &str) -> Option<BounceKind> {
        [BounceKind::Hard, BounceKind::Soft].into_iter().find(|k| k.as_str() == s)
    }
}

/// Soft bounces in a row (no delivery between them) after which an address counts as hard
/// bounced.
pub const SOFT_BOUNCE_LIMIT: u32 = 3;

/// The kind of an enhanced status code (`5.1.1`, RFC 3463). `x.2.2` (mailbox full) and `x.4.x`
/// / `x.3.x` network and system conditions are passing even when reported as permanent: the
/// same address accepts mail next week. Not a status code: `None`.
pub fn classify_status(status: &str) -> Option<BounceKind> {
    let mut parts = status.trim().split('.');
    let (class, subject, detail) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some()
        || [subject, detail].iter().any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    match (class, subject, detail) {
        ("2", _, _) => None,
        ("4", _, _) => Some(BounceKind::Soft),
        ("5", "2", "2") | ("5", "3", _) | ("5", "4", _) => Some(BounceKind::Soft),
        ("5", _, _) => Some(BounceKind::Hard),
        _ => None,
    }
}

/// The kind of an SMTP reply code given while sending (`550`, `452`…), with its enhanced status
/// when the server gave one (it is more precise).
pub fn classify_reply(code: u16, enhanced: Option<&str>) -> Option<BounceKind> {
    if let Some(kind) = enhanced.and_then(classify_status) {
        return Some(kind);
    }
    match code {
        400..=499 => Some(BounceKind::Soft),
        // 552 is "exceeded storage allocation" in practice.
        552 => Some(BounceKind::Soft),
        500..=599 => Some(BounceKind::Hard),
        _ => None,
    }
}

/// What a bounce message says.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Report {
    /// The address that failed (`Final-Recipient`, or `Original-Recipient`).
    pub recipient: Option<String>,
    /// `failed`, `delayed`, `delivered`, `relayed`, `expanded`.
    pub action: Option<String>,
    /// The enhanced status code.
    pub status: Option<String>,
    /// The remote server's words.
    pub diagnostic: Option<String>,
}

impl Report {
    /// Hard or soft; `None` when the message is not a failure report we can read (a delay notice
    /// or a delivery receipt is not a bounce).
    pub fn kind(&self) -> Option<BounceKind> {
        if let Some("delayed" | "delivered" | "relayed" | "expanded") =
            self.action.as_deref().map(str::to_ascii_lowercase).as_deref()
        {
            return None;
        }
        if let Some(kind) = self.status.as_deref().and_then(classify_status) {
            return Some(kind);
        }
        let diag = self.diagnostic.as_deref()?;
        let (code, enhanced) = reply_in(diag)?;
        classify_reply(code, enhanced.as_deref())
    }
}

/// Reads the delivery status fields of a bounce from its text (headers unfolded), or, for
/// non-standard bounces, the first SMTP reply found in the text (`550 5.1.1 …`, `550-5.1.1`,
/// `said: 550 …`).
pub fn read_report(text: &str) -> Report {
    let mut report = Report::default();
    let mut lines: Vec<String> = Vec::new();
    for line in text.lines() {
        match lines.last_mut() {
            Some(last) if line.starts_with([' ', '\t']) && !last.is_empty() => {
                last.push(' ');
                last.push_str(line.trim());
            }
            _ => lines.push(line.trim_end().to_string()),
        }
    }
    for line in &lines {
        let Some((name, value)) = line.split_once(':') else { continue };
        let value = value.trim();
        let typed =
            |v: &str| v.split_once(';').map_or(v, |(_, a)| a).trim().trim_matches(['<', '>']).to_string();
        match name.trim().to_ascii_lowercase().as_str() {
            "final-recipient" => report.recipient = Some(typed(value)),
            "original-recipient" if report.recipient.is_none() => report.recipient = Some(typed(value)),
            "action" if report.action.is_none() => report.action = Some(value.to_ascii_lowercase()),
            "status"
                if report.status.is_none()
                    && classify_status(value.split_whitespace().next().unwrap_or("")).is_some() =>
            {
                report.status = value.split_whitespace().next().map(str::to_string)
            }
            "diagnostic-code" if report.diagnostic.is_none() => report.diagnostic = Some(typed(value)),
            _ => {}
        }
    }
    if report.status.is_none() && report.diagnostic.is_none() {
        // A non-standard bounce: the first line holding an SMTP failure reply.
        report.diagnostic = lines.iter().find(|l| reply_in(l).is_some()).map(|l| l.trim().to_string());
    }
    report
}

/// The first SMTP failure reply in `text`: its code and enhanced status, if any.
fn reply_in(text: &str) -> Option<(u16, Option<String>)> {
    let words: Vec<&str> = text.split(|c: char| c.is_whitespace() || c == '(' || c == ')').collect();
    for (i, word) in words.iter().enumerate() {
        let (code, rest) = match word.split_once('-') {
            Some((c, r)) => (c, Some(r)),
            None => (*word, None),
        };
        if code.len() != 3
            || !code.bytes().all(|b| b.is_ascii_digit())
            || !matches!(code.as_bytes()[0], b'4' | b'5')
        {
            continue;
        }
        let Ok(code) = code.parse::<u16>() else { continue };
        let enhanced = rest
            .filter(|r| classify_status(r).is_some())
            .or_else(|| words.get(i + 1).copied().filter(|w| classify_status(w).is_some()))
            .map(str::to_string);
        return Some((code, enhanced));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enhanced_status_codes_classify_by_class_and_known_passing_conditions() {
        assert_eq!(classify_status("5.1.1"), Some(BounceKind::Hard));
        assert_eq!(classify_status("5.1.10"), Some(BounceKind::Hard));
        assert_eq!(classify_status("5.7.1"), Some(BounceKind::Hard));
        assert_eq!(classify_status("5.2.2"), Some(BounceKind::Soft), "mailbox full");
        assert_eq!(classify_status("5.4.7"), Some(BounceKind::Soft), "delivery time expired");
        assert_eq!(classify_status("4.2.0"), Some(BounceKind::Soft));
        assert_eq!(classify_status("2.0.0"), None);
        assert_eq!(classify_status("5.1"), None);
        assert_eq!(classify_status("five"), None);
        assert_eq!(classify_status("5.1.1.1"), None);
    }

    #[test]
    fn smtp_replies_prefer_their_enhanced_status() {
        assert_eq!(classify_reply(550, None), Some(BounceKind::Hard));
        assert_eq!(classify_reply(451, None), Some(BounceKind::Soft));
        assert_eq!(classify_reply(552, None), Some(BounceKind::Soft));
        assert_eq!(classify_reply(550, Some("5.2.2")), Some(BounceKind::Soft));
        assert_eq!(classify_reply(250, None), None);
    }

    #[test]
    fn a_standard_delivery_status_notification_is_read() {
        let text = "Reporting-MTA: dns; mail.example.net\n\nFinal-Recipient: rfc822; nobody@example.net\n\
                    Original-Recipient: rfc822;nobody@example.net\nAction: failed\nStatus: 5.1.1\n\
                    Diagnostic-Code: X-Postfix; unknown user: \"nobody\"\n";
        let r = read_report(text);
        assert_eq!(r.recipient.as_deref(), Some("nobody@example.net"));
        assert_eq!(r.action.as_deref(), Some("failed"));
        assert_eq!(r.status.as_deref(), Some("5.1.1"));
        assert_eq!(r.kind(), Some(BounceKind::Hard));
    }

    #[test]
    fn a_delay_notice_is_not_a_bounce() {
        let r = read_report("Final-Recipient: rfc822; a@b.c\nAction: delayed\nStatus: 4.4.1\n");
        assert_eq!(r.kind(), None);
    }

    #[test]
    fn a_non_standard_bounce_is_read_from_its_smtp_reply() {
        let text = "This is the mail system at host mx.example.org.\n\nI'm sorry to have to inform you...\n\n\
                    <jo@example.org>: host mx.example.org said: 550-5.1.1 The email account\n    \
                    that you tried to reach does not exist.\n";
        let r = read_report(text);
        assert_eq!(r.kind(), Some(BounceKind::Hard));
        let full = read_report("Delivery failed: 452 4.2.2 Mailbox full\n");
        assert_eq!(full.kind(), Some(BounceKind::Soft));
        let nothing = read_report("Hello, I am out of the office until Monday.\n");
        assert_eq!(nothing.kind(), None);
    }

    #[test]
    fn folded_diagnostic_lines_are_joined() {
        let r = read_report("Action: failed\nDiagnostic-Code: smtp; 550 5.7.1\n  Message rejected as spam\n");
        assert_eq!(r.diagnostic.as_deref(), Some("550 5.7.1 Message rejected as spam"));
        assert_eq!(r.kind(), Some(BounceKind::Hard));
    }
}
