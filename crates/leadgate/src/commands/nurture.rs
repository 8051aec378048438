//! `leadgate bounces`: a bounce message (or a mail to the List-Unsubscribe address) on standard
//! input, as a mail server pipes it, applied to the message it is about.

use std::io::Read;

use crate::config::Setup;

/// The largest message read: bounces quote the original, which is rarely more than a few
/// hundred kilobytes.
const MAX_MESSAGE: u64 = 10 * 1024 * 1024;

pub async fn bounces(config: &Setup) -> anyhow::Result<()> {
    let mut raw = Vec::new();
    std::io::stdin().take(MAX_MESSAGE + 1).read_to_end(&mut raw)?;
    if raw.is_empty() {
        anyhow::bail!("no message on standard input: pipe the bounce into `leadgate bounces < message`");
    }
    if raw.len() as u64 > MAX_MESSAGE {
        anyhow::bail!("the message is larger than 10 MB: not a bounce Leadgate reads");
    }
    let store = super::open_store(&config.store).await?;
    let app = config.app(store).await?;
    let receipt = app.receive_bounce(&raw).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let about = receipt.message.map_or_else(String::new, |m| format!(" (message {m})"));
    match receipt.outcome.as_str() {
        "applied" => println!(
            "{} bounce{about}{}",
            receipt.kind.map_or("a", |k| k.as_str()),
            receipt.status.as_deref().map_or_else(String::new, |s| format!(", status {s}"))
        ),
        "unsubscribed" => println!("unsubscribed by mail{about}"),
        "replied" => println!("a reply{about}: the person left their sequences"),
        "not_a_bounce" => println!("not a bounce (a delay notice or a receipt){about}: nothing changed"),
        _ => println!("matched none of our messages: kept for review (GET /api/v1/bounces)"),
    }
    Ok(())
}
