//! One module per subcommand.

pub mod explain;
pub mod import;
pub mod migrate;
pub mod rules;
pub mod score;
pub mod serve;

use leadgate_store::{Store, StoreConfig};

/// Opens (and migrates) the configured database, saying which one in the error.
pub async fn open_store(config: &StoreConfig) -> anyhow::Result<Store> {
    Store::open(config, jiff::Timestamp::now()).await.map_err(|e| anyhow::anyhow!("{e} ({config:?})"))
}
