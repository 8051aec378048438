//! One module per subcommand.

pub mod explain;
pub mod import;
pub mod migrate;
pub mod nurture;
pub mod privacy;
pub mod rules;
pub mod score;
pub mod serve;
pub mod train;
pub mod users;

use leadgate_store::{Store, StoreConfig};

/// Opens (and migrates) the configured database, saying which one in the error.
pub async fn open_store(config: &StoreConfig) -> anyhow::Result<Store> {
    Store::open(config, jiff::Timestamp::now()).await.map_err(|e| anyhow::anyhow!("{e} ({config:?})"))
}

/// `9240` as `9,240`: counts people read.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
