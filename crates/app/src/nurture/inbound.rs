//! Mail that comes back to us (bounces, replies, mails to the `List-Unsubscribe` address) made
//! readable: the MIME structure walked with `mail-parser`, every part's text decoded (a report's
//! parts may be quoted-printable or base64, re-encoded by a gateway on the way), so the
//! delivery status fields and the references to our messages are found wherever the sending
//! server put them.

use mail_parser::{Message, MessageParser, MimeHeaders, PartType};

/// The headers and decoded text of every part, nested messages included, in order. A message
/// `mail-parser` cannot read at all (no headers) is taken as it is.
pub(crate) fn readable_text(raw: &[u8]) -> String {
    match MessageParser::default().parse(raw) {
        Some(message) => {
            let mut out = String::with_capacity(raw.len());
            append(&message, &mut out, 0);
            out
        }
        None => String::from_utf8_lossy(raw).into_owned(),
    }
}

/// Bounces nest a message or two (the report, the returned message); deeper is not a bounce.
const MAX_DEPTH: usize = 4;

fn append(message: &Message<'_>, out: &mut String, depth: usize) {
    let raw = message.raw_message.as_ref();
    for part in &message.parts {
        // The part's headers as they came (the outer message's for the first part).
        let (start, end) = (part.offset_header as usize, part.offset_body as usize);
        if start <= end && end <= raw.len() {
            out.push_str(&String::from_utf8_lossy(&raw[start..end]));
        }
        match &part.body {
            PartType::Text(text) | PartType::Html(text) => out.push_str(text),
            // `message/delivery-status` and `text/rfc822-headers` come as bytes: they are text.
            PartType::Binary(bytes) | PartType::InlineBinary(bytes) => {
                let textual = part.content_type().is_some_and(|c| {
                    c.ctype().eq_ignore_ascii_case("message") || c.ctype().eq_ignore_ascii_case("text")
                });
                if textual {
                    out.push_str(&String::from_utf8_lossy(bytes));
                }
            }
            PartType::Message(nested) if depth < MAX_DEPTH => append(nested, out, depth + 1),
            PartType::Message(_) | PartType::Multipart(_) => {}
        }
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A real Postfix report (the fixture) whose delivery status part a security gateway
    /// re-encoded in base64, as some do with every part: its fields are still read.
    #[test]
    fn a_report_whose_parts_were_re_encoded_is_read_decoded() {
        let fixture = include_str!("../../../../tests/fixtures/bounces/postfix-unknown-user.eml");
        assert!(readable_text(fixture.as_bytes()).contains("Status: 5.1.1"));

        let marker = "Content-Type: message/delivery-status\n";
        let at = fixture.find(marker).expect("the fixture has a delivery status part") + marker.len();
        let body_start = at + fixture[at..].find('\n').unwrap() + 1;
        let body_end = body_start + fixture[body_start..].find("\n--").unwrap();
        let rewritten = format!(
            "{}Content-Transfer-Encoding: base64\n\n{}{}",
            &fixture[..at],
            base64_lines(fixture[body_start..body_end].as_bytes()),
            &fixture[body_end..]
        );
        assert!(!rewritten.contains("Status: 5.1.1"), "really encoded");
        let decoded = readable_text(rewritten.as_bytes());
        assert!(decoded.contains("Status: 5.1.1") && decoded.contains("Action: failed"), "{decoded}");
        let report = leadgate_core::nurture::bounce::read_report(&decoded);
        assert_eq!(report.kind(), Some(leadgate_core::nurture::bounce::BounceKind::Hard));
        assert!(
            decoded.contains("0192f7a45c1e7b3a9d2e4f6a8b0c1d2e"),
            "the returned message still names ours"
        );
    }

    #[test]
    fn a_quoted_printable_reply_is_decoded_and_what_is_not_mail_is_kept() {
        let mail = "From: =?utf-8?q?L=C3=A9a?= <lea@example.com>\r\nSubject: Re: Bienvenue\r\n\
                    In-Reply-To: <lg.0123456789abcdef0123456789abcdef@acme.test>\r\n\
                    Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n\
                    Appelez-moi la semaine prochaine, merci =C3=A0 vous.\r\n";
        let text = readable_text(mail.as_bytes());
        assert!(
            text.contains("merci à vous") && text.contains("<lg.0123456789abcdef0123456789abcdef@acme.test>"),
            "{text}"
        );
        assert!(readable_text(b"\x00\x01 not a mail").contains("not a mail"));
    }

    fn base64_lines(bytes: &[u8]) -> String {
        const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = String::new();
        for (i, chunk) in bytes.chunks(3).enumerate() {
            let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
            let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
            for k in 0..4 {
                if k <= chunk.len() {
                    out.push(ALPHABET[(n >> (18 - 6 * k) & 63) as usize] as char);
                } else {
                    out.push('=');
                }
            }
            if (i + 1) % 19 == 0 {
                out.push('\n');
            }
        }
        out.push('\n');
        out
    }
}
