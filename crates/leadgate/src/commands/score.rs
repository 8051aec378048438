//! `leadgate score --all`: rescore every contact with the active rules, now, with progress.

use anyhow::bail;

use crate::config::Setup;

use crate::cli::ScoreArgs;
use crate::progress::Reporter;

pub async fn run(config: &Setup, args: ScoreArgs) -> anyhow::Result<()> {
    if !args.all {
        bail!("say what to rescore: `leadgate score --all` rescores every contact with the active rules");
    }
    let store = super::open_store(&config.store).await?;
    let app = config.app(store.clone()).await?;
    let started = std::time::Instant::now();
    let mut progress = Reporter::new("rescoring contacts");
    let done = app.rescore_all(&mut progress).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    progress.finish();
    let mut s = store.read().await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let version = s.latest_rules_version().await.map_err(|e| anyhow::anyhow!("{e}"))?;
    drop(s);
    println!(
        "Rescored {done} contacts with rules version {version} in {:.1} s.",
        started.elapsed().as_secs_f64()
    );
    store.close().await;
    Ok(())
}
