//! The command line, as clap definitions. Every option has a `LEADGATE_*` environment variable so
//! a container or a systemd unit configures Leadgate without flags. [`crate::config`] turns these
//! raw options into a validated configuration.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "leadgate",
    version,
    about = "Capture, score, qualify and hand off B2B leads.",
    long_about = "Leadgate captures contacts and what they do, scores them on fit and engagement, \
qualifies them and hands prospects to sales.\n\nWith no configuration, data lives in a SQLite file \
under ./leadgate-data. Give --database-url postgres://… to share one PostgreSQL database between \
several servers.",
    after_help = "Start with `leadgate serve`, then open the printed URL."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command that touches data takes.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Directory of the SQLite database (created if missing). Ignored when --database-url is set.
    #[arg(
        long,
        global = true,
        env = "LEADGATE_DATA_DIR",
        default_value = "./leadgate-data",
        value_name = "DIR"
    )]
    pub data_dir: PathBuf,

    /// PostgreSQL URL (postgres://user:password@host:5432/database) to use instead of SQLite.
    #[arg(long, global = true, env = "LEADGATE_DATABASE_URL", value_name = "URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// Log format: `text` for people, `json` for log collectors.
    #[arg(long, global = true, env = "LEADGATE_LOG_FORMAT", default_value = "text", value_name = "FORMAT")]
    pub log_format: LogFormat,

    /// Log filter, e.g. `info`, `debug`, or `info,leadgate_store=debug`.
    #[arg(long, global = true, env = "LEADGATE_LOG", default_value = "info", value_name = "FILTER")]
    pub log: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the API and background jobs (creates and migrates the database on first start).
    Serve(ServeArgs),
    /// Create or upgrade the database schema, then exit.
    Migrate,
    /// Recompute scores and lifecycle stages with the active scoring rules.
    Score(ScoreArgs),
    /// Show why a contact scores as it does: every contribution, decay and cap.
    Explain(ExplainArgs),
    /// Export or import the scoring rules as a JSON file.
    #[command(subcommand)]
    Rules(RulesCommand),
}

#[derive(Debug, Args)]
pub struct ScoreArgs {
    /// Rescore every contact (in chunks, each committed as it completes).
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The contact: its id, e-mail or external id.
    pub contact: String,
    /// Print the explanation as JSON (the same document as GET /api/v1/contacts/{id}/score).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Write the active rules (or an older version) as JSON.
    Export {
        /// A stored version instead of the active one.
        #[arg(long, value_name = "N")]
        version: Option<i64>,
        /// Write to this file instead of standard output.
        #[arg(long, short, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Store new rules from a file or a built-in preset; contacts are then rescored.
    Import {
        /// A rules JSON file (see `leadgate rules export` for the format).
        #[arg(value_name = "FILE", conflicts_with = "preset")]
        file: Option<PathBuf>,
        /// A built-in rule set: `b2b` or `x-education`.
        #[arg(long, value_name = "NAME")]
        preset: Option<String>,
        /// Why the rules change, kept with the version.
        #[arg(long)]
        comment: Option<String>,
    },
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address and port to listen on. Use 0.0.0.0:8080 to accept connections from other machines.
    #[arg(long, env = "LEADGATE_LISTEN", default_value = "127.0.0.1:8080", value_name = "ADDR")]
    pub listen: SocketAddr,

    /// E-mail of the first admin, created on first start.
    #[arg(long, env = "LEADGATE_ADMIN_EMAIL", default_value = "admin@leadgate.local", value_name = "EMAIL")]
    pub admin_email: String,

    /// API key to give the first admin instead of a random one (at least 32 characters), for
    /// automated setups. Ignored once an admin exists.
    #[arg(long, env = "LEADGATE_BOOTSTRAP_API_KEY", value_name = "KEY", hide_env_values = true)]
    pub bootstrap_api_key: Option<String>,
}
