//! `leadgate migrate`: create or upgrade the schema and exit (for deployments that migrate
//! before rolling out new servers).

use crate::config::Setup;

pub async fn run(config: &Setup) -> anyhow::Result<()> {
    let store = super::open_store(&config.store).await?;
    store.close().await;
    println!("The database is at schema version {}.", leadgate_store::latest_version());
    Ok(())
}
