//! `leadgate rules export|import`: the scoring rules as a file, for review, version control and
//! moving between workspaces.

use anyhow::{Context, bail};

use crate::config::Setup;
use leadgate_core::scoring::ScoringRules;

use crate::cli::RulesCommand;

pub async fn run(config: &Setup, command: RulesCommand) -> anyhow::Result<()> {
    let store = super::open_store(&config.store).await?;
    let app = config.app(store.clone()).await?;
    let result = match command {
        RulesCommand::Export { version, output } => {
            let text = match version {
                Some(v) => {
                    let mut s = store.read().await?;
                    let stored = s
                        .rules_version(v)
                        .await?
                        .with_context(|| format!("there is no rules version {v}"))?;
                    let rules = ScoringRules::from_json(&stored.document)?;
                    rules.to_json()
                }
                None => {
                    let operator = app.operator().await?;
                    let view = app.scoring_rules(&operator).await?;
                    serde_json::to_string_pretty(&view.rules)?
                }
            };
            match output {
                Some(path) => {
                    std::fs::write(&path, text + "\n")
                        .with_context(|| format!("cannot write {}", path.display()))?;
                    eprintln!("Rules written to {}", path.display());
                }
                None => println!("{text}"),
            }
            Ok(())
        }
        RulesCommand::Import { file, preset, comment } => {
            let rules = match (file, preset) {
                (Some(path), None) => {
                    let text = std::fs::read_to_string(&path)
                        .with_context(|| format!("cannot read the rules file {}", path.display()))?;
                    ScoringRules::from_json(&text)
                        .with_context(|| format!("{} was refused", path.display()))?
                }
                (None, Some(name)) => ScoringRules::preset(&name).with_context(|| {
                    format!("there is no preset `{name}`; presets are `b2b` and `x-education`")
                })?,
                _ => bail!("give either a rules FILE or --preset NAME"),
            };
            let operator = app.operator().await?;
            let change = app.store_rules(&rules, comment.as_deref(), &operator).await?;
            println!(
                "Stored rules version {}. Every contact will be rescored by the running server (job {}), or now with `leadgate score --all`.",
                change.version, change.rescore_job
            );
            Ok(())
        }
    };
    store.close().await;
    result
}
