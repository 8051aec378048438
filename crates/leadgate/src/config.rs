//! From raw command-line options to a validated configuration: which database, checked before
//! anything is opened, with messages that say what to change.

use anyhow::{Context, bail};
use leadgate_store::StoreConfig;

use crate::cli::GlobalArgs;

/// The database to use, from `--database-url` or `--data-dir`.
pub fn store_config(global: &GlobalArgs) -> anyhow::Result<StoreConfig> {
    match global.database_url.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            Ok(StoreConfig::Postgres { url: url.to_string() })
        }
        Some(url) if url.starts_with("sqlite://") => {
            let path = url.trim_start_matches("sqlite://");
            if path.is_empty() {
                bail!("--database-url sqlite:// needs a file path, e.g. sqlite://./leadgate.sqlite3");
            }
            Ok(StoreConfig::Sqlite { path: path.into() })
        }
        Some(url) => bail!(
            "--database-url `{}` is not supported: give a postgres://user:password@host:5432/database URL, \
             or leave it out to use SQLite under --data-dir",
            leadgate_store::redact_url(url)
        ),
        None => {
            let dir = &global.data_dir;
            if dir.exists() && !dir.is_dir() {
                bail!("--data-dir {} exists and is not a directory", dir.display());
            }
            // Readable by its owner only: it holds every contact (and the store keeps the
            // database files 0600).
            #[cfg(unix)]
            let created = {
                use std::os::unix::fs::DirBuilderExt;
                if dir.exists() {
                    Ok(())
                } else {
                    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)
                }
            };
            #[cfg(not(unix))]
            let created = std::fs::create_dir_all(dir);
            created.with_context(|| format!("cannot create the data directory {}", dir.display()))?;
            Ok(StoreConfig::Sqlite { path: dir.join("leadgate.sqlite3") })
        }
    }
}
