//! From raw command-line options to a validated configuration: which database, checked before
//! anything is opened, with messages that say what to change.

use anyhow::{Context, bail};
use std::sync::Arc;

use leadgate_app::privacy::SuppressionKey;
use leadgate_app::{App, SystemClock};
use leadgate_store::{Store, StoreConfig};

use crate::cli::GlobalArgs;

/// What every command that touches data needs: the database, and the key of the suppression
/// list (an erased person must stay erased whichever command records contacts).
pub struct Setup {
    pub store: StoreConfig,
    pub suppression_key: SuppressionKey,
    /// Where the key was read from.
    pub suppression_key_path: std::path::PathBuf,
    /// Whether this command created the key file (there was none).
    created_key: bool,
}

impl Setup {
    pub fn from_args(global: &GlobalArgs) -> anyhow::Result<Setup> {
        let store = store_config(global)?;
        let suppression_key_path = key_path(global);
        let created_key = !suppression_key_path.exists();
        let suppression_key = suppression_key(&suppression_key_path)?;
        Ok(Setup { store, suppression_key, suppression_key_path, created_key })
    }

    /// The application on `store`, with the suppression key checked against the database's.
    pub async fn app(&self, store: Store) -> anyhow::Result<App> {
        let app = App::new(store, Arc::new(SystemClock)).with_suppression_key(self.suppression_key.clone());
        if let Err(e) = app.check_suppression_key().await {
            if self.created_key {
                // Not the database's key: do not leave a second one behind.
                let _ = std::fs::remove_file(&self.suppression_key_path);
            }
            return Err(anyhow::anyhow!("{e} (this command read {})", self.suppression_key_path.display()));
        }
        Ok(app)
    }
}

/// The suppression key: the file given, or `suppression.key` in the data directory (created,
/// readable by its owner only, when missing).
fn suppression_key(path: &std::path::Path) -> anyhow::Result<SuppressionKey> {
    match std::fs::read(path) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            SuppressionKey::new(text.trim().as_bytes())
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = SuppressionKey::generate();
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("cannot create the data directory {}", dir.display()))?;
            }
            // Written whole under a name of its own, then linked into place, which fails if
            // another command created the key meanwhile: nobody ever reads a half-written key,
            // and two commands starting at once agree on one key.
            let partial = path.with_extension(format!("key.{}", std::process::id()));
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create(true).truncate(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let written = options.open(&partial).and_then(|mut file| {
                std::io::Write::write_all(&mut file, format!("{}\n", key.to_hex()).as_bytes())?;
                file.sync_all()
            });
            written.with_context(|| format!("cannot write the suppression key {}", partial.display()))?;
            let linked = std::fs::hard_link(&partial, path);
            let _ = std::fs::remove_file(&partial);
            match linked {
                // The key is what the file holds (its text), for this command as for the next,
                // whoever wrote it.
                Ok(()) => suppression_key(path),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => suppression_key(path),
                Err(e) => {
                    Err(e).with_context(|| format!("cannot create the suppression key {}", path.display()))
                }
            }
        }
        Err(e) => Err(e).with_context(|| format!("cannot read the suppression key {}", path.display())),
    }
}

/// The key file: the one given, or `suppression.key` in the data directory.
fn key_path(global: &GlobalArgs) -> std::path::PathBuf {
    global.suppression_key_file.clone().unwrap_or_else(|| global.data_dir.join("suppression.key"))
}

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
