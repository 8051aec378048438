//! The command line, as clap definitions. Every option has a `LEADGATE_*` environment variable so
//! a container or a systemd unit configures Leadgate without flags. [`crate::config`] turns these
//! raw options into a validated configuration.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use leadgate_server::client::Network;
use leadgate_server::ratelimit::Quota;

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

    /// The secret that keys the suppression list (hashes of erased people's e-mails), kept out
    /// of the database. Default: `suppression.key` in --data-dir, created on first use. Servers
    /// sharing one PostgreSQL need the same file: copy the first server's.
    #[arg(long, global = true, env = "LEADGATE_SUPPRESSION_KEY_FILE", value_name = "FILE")]
    pub suppression_key_file: Option<PathBuf>,

    /// Log format: `text` for people, `json` for log collectors.
    #[arg(long, global = true, env = "LEADGATE_LOG_FORMAT", default_value = "text", value_name = "FORMAT")]
    pub log_format: LogFormat,

    /// Log filter, e.g. `info`, `debug`, or `info,leadgate_store=debug`. Default: `info` for
    /// `serve`, `warn` for the other commands (their output is their summary).
    #[arg(long, global = true, env = "LEADGATE_LOG", value_name = "FILTER")]
    pub log: Option<String>,
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
    /// Show why a contact scores as it does (every contribution, decay and cap) and what the
    /// model predicts for it, factor by factor.
    Explain(ExplainArgs),
    /// Export or import the scoring rules as a JSON file.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Import contacts, companies or deals from a CSV file.
    #[command(
        after_help = "Examples:\n  leadgate import contacts leads.csv\n  leadgate import contacts Leads.csv --preset x-education\n  leadgate import contacts export.csv --map email=\"E-mail pro\" --map ignore=Notes --missing N/A\n  leadgate import companies accounts.csv --preset maven-crm\n  leadgate import deals sales_pipeline.csv --preset maven-crm\n\nRows are matched to stored records (contacts on external id, then e-mail). Importing a file again updates values from the file but keeps a value changed in Leadgate since the last import (counted in the summary; --overwrite replaces it), and an import interrupted half-way completes when run again."
    )]
    Import(ImportArgs),
    /// Train a conversion model on your history and make it the active one.
    #[command(
        after_help = "Examples:\n  leadgate train\n  leadgate train --exclude Tags --exclude \"Lead Quality\" --exclude \"Lead Profile\" --exclude \"Asymmetrique *\"\n  leadgate train --family gbdt --horizon-days 90 --json\n\nConverted: customers, contacts imported with a positive outcome (`leadgate import --outcome`), won deals. Not converted: negative outcomes, disqualified leads, lost deals, and leads still not converted --horizon-days after they arrived. Other leads are only predicted, never used as negatives."
    )]
    Train(TrainArgs),
    /// List the trained models, or choose the active one.
    Models(ModelsArgs),
    /// Set a user's password for the web UI (the first admin's included).
    #[command(
        name = "set-password",
        after_help = "Examples:\n  leadgate set-password admin@leadgate.local          (asks twice, hidden)\n  printf '%s' \"$PASSWORD\" | leadgate set-password ada@example.com --stdin\n\nThe user's other web sessions are signed out. Passwords have at least 10 characters."
    )]
    SetPassword(SetPasswordArgs),
    /// Export everything held about one person (zip or JSON), or the whole workspace.
    #[command(
        after_help = "Examples:\n  leadgate export --contact ada@example.com               (contact-<id>.zip: person.json and CSV files)\n  leadgate export --contact ada@example.com --json > ada.json\n  leadgate export --output ./leaving                        (contacts, events, companies, deals as JSON Lines and CSV)\n\nEvery export is recorded in the audit log."
    )]
    Export(ExportArgs),
    /// Erase people for good: everything about them goes, their e-mail stays only as a keyed
    /// hash on the suppression list so no import, form or API call records them again.
    #[command(
        after_help = "Examples:\n  leadgate erase --contact ada@example.com\n  leadgate erase --emails requests.csv      (one address per line, or a CSV whose first column is the address)\n\nThe receipt says how many were found and erased, and how many were already absent (suppressed all the same)."
    )]
    Erase(EraseArgs),
    /// Erase contacts with no contact coming from them for the retention period (the server
    /// does it daily); --dry-run lists who is due.
    #[command(
        after_help = "Examples:\n  leadgate purge --dry-run\n  leadgate purge --retention-days 1095\n\nA contact coming from the person is a visit, a click, a form, a download, a request, a call or a meeting; an e-mail open is not. Opportunities and customers are kept."
    )]
    Purge(PurgeArgs),
    /// Write a consistent copy of the database while the server runs (SQLite: one file;
    /// PostgreSQL: a pg_dump archive).
    Backup(BackupArgs),
    /// Restore a backup into an empty data directory or an empty PostgreSQL database.
    Restore(RestoreArgs),
    /// Read one bounce message (or a mail to the List-Unsubscribe address) on standard input,
    /// as a mail server pipes it (e.g. a Postfix alias `bounces: "|leadgate bounces"`), and
    /// apply it: a hard bounce stops e-mail to the contact; what matches none of our messages
    /// is kept for review. Prints what the message was.
    Bounces,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The person: id, e-mail or external id. Without it, the whole workspace is exported.
    #[arg(long, value_name = "ID|EMAIL")]
    pub contact: Option<String>,
    /// The person's data as one JSON document instead of a zip.
    #[arg(long, requires = "contact")]
    pub json: bool,
    /// Where to write: a file for a person (default `contact-<id>.zip`, or standard output
    /// with --json), a directory for the workspace (default `leadgate-export`).
    #[arg(long, short, value_name = "PATH")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct EraseArgs {
    /// One person: id, e-mail or external id.
    #[arg(long, value_name = "ID|EMAIL", conflicts_with = "emails")]
    pub contact: Option<String>,
    /// A file of e-mail addresses, one per line (`-` for standard input).
    #[arg(long, value_name = "FILE")]
    pub emails: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct PurgeArgs {
    /// List who is due without erasing anyone.
    #[arg(long)]
    pub dry_run: bool,
    /// The retention period: days since the last contact coming from the person.
    #[arg(long, env = "LEADGATE_RETENTION_DAYS", default_value_t = leadgate_core::privacy::DEFAULT_RETENTION_DAYS, value_name = "DAYS")]
    #[arg(value_parser = clap::value_parser!(u32).range(1..=36500))]
    pub retention_days: u32,
    /// Anonymise instead of erasing: a row without identity stays for the figures of past
    /// periods.
    #[arg(long, env = "LEADGATE_RETENTION_ANONYMISE")]
    pub anonymise: bool,
}

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// The backup file to create.
    pub file: PathBuf,
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// A file written by `leadgate backup`.
    pub file: PathBuf,
}

#[derive(Debug, Args)]
pub struct SetPasswordArgs {
    /// The user's e-mail.
    pub email: String,
    /// Read the password from standard input (for scripts) instead of asking.
    #[arg(long)]
    pub stdin: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FamilyArg {
    /// Train both and keep the better on cross-validated ROC AUC.
    Auto,
    /// Regularised logistic regression.
    Linear,
    /// Gradient-boosted decision trees.
    Gbdt,
}

#[derive(Debug, Args)]
pub struct TrainArgs {
    /// A field to leave out, as the report names it (`Lead Quality`) or by custom field key
    /// (`lead_quality`), case-insensitive; end with `*` for a prefix (`"Asymmetrique *"`).
    /// Repeat for several. Leave out what sales fills in after contact: it leaks the outcome.
    #[arg(long, value_name = "FIELD")]
    pub exclude: Vec<String>,
    /// Which model family to train.
    #[arg(long, value_enum, default_value = "auto")]
    pub family: FamilyArg,
    /// A lead not converted this many days after it arrived counts as not converted.
    #[arg(long, default_value_t = leadgate_app::prediction::DEFAULT_HORIZON_DAYS, value_name = "DAYS")]
    pub horizon_days: u32,
    /// Seed of the split and folds: the same data and seed give the same model.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Store the model without making it the active one.
    #[arg(long)]
    pub no_activate: bool,
    /// Print the report as JSON (the document GET /api/v1/models/{version} returns).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ModelsArgs {
    #[command(subcommand)]
    pub command: Option<ModelsCommand>,
    /// Print the list as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum ModelsCommand {
    /// Make a stored model version the active one (every contact is predicted again).
    Activate {
        /// The version, as `leadgate models` lists it.
        version: i64,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ImportEntity {
    Contacts,
    Companies,
    Deals,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// What the rows are.
    pub entity: ImportEntity,
    /// The CSV file (`,`, `;` or tab separated; UTF-8, or Windows-1252 from old Excel).
    pub file: PathBuf,
    /// Send a column to a field: `--map email=Courriel`, `--map custom.budget=Budget`,
    /// `--map ignore=Notes`. Obvious headers (e-mail, first/last name, company, phone…) are
    /// mapped without it; other columns become custom fields.
    #[arg(long = "map", value_name = "FIELD=COLUMN", value_parser = parse_pair)]
    pub maps: Vec<(String, String)>,
    /// A saved mapping: `x-education` (contacts), `maven-crm` (companies, deals).
    #[arg(long, value_name = "NAME")]
    pub preset: Option<String>,
    /// A value meaning "no value" (e.g. `Select`, `N/A`); repeat for several.
    #[arg(long, value_name = "VALUE")]
    pub missing: Vec<String>,
    /// The type of a column imported as a custom field, instead of the inferred one:
    /// text, number, boolean, date or choice.
    #[arg(long = "type", value_name = "COLUMN=TYPE", value_parser = parse_pair)]
    pub types: Vec<(String, String)>,
    /// The column telling whether the contact converted, and its positive value:
    /// `--outcome Converted=1`, `--outcome y=yes`.
    #[arg(long, value_name = "COLUMN=VALUE", value_parser = parse_pair)]
    pub outcome: Option<(String, String)>,
    /// Replace values changed in Leadgate since the last import with the file's. By default
    /// they are kept (a rep's correction survives a re-import) and counted in the summary.
    #[arg(long)]
    pub overwrite: bool,
    /// Where to write the rows refused (CSV: line, column, value, reason). Default:
    /// `<file name>.rejects.csv` in the current directory, written only if a row is refused.
    #[arg(long, value_name = "PATH")]
    pub rejects: Option<PathBuf>,
}

fn parse_pair(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((a, b)) if !a.trim().is_empty() => Ok((a.trim().to_string(), b.to_string())),
        _ => Err(format!("`{s}` is not of the form NAME=VALUE")),
    }
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
    /// Print the explanation as JSON: the document GET /api/v1/contacts/{id}/score returns, with
    /// `prediction` set to what GET /api/v1/contacts/{id}/prediction returns (null without a model).
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

    /// Web forms submitted sooner than this after being shown are refused as robots.
    #[arg(long, env = "LEADGATE_FORM_MIN_FILL_SECONDS", default_value_t = 3.0, value_name = "SECONDS")]
    pub form_min_fill_seconds: f64,
    /// Retrain the prediction model in the background when the latest one is this many days
    /// old, with the same settings (off unless set; the first model is trained by a person).
    #[arg(long, env = "LEADGATE_RETRAIN_EVERY_DAYS", value_name = "DAYS")]
    #[arg(value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub retrain_every_days: Option<u32>,

    /// Erase contacts with no contact coming from them for this many days (a daily pass; 0
    /// keeps personal data until erased by hand). Default: three years, the CNIL's rule for
    /// prospects.
    #[arg(long, env = "LEADGATE_RETENTION_DAYS", default_value_t = leadgate_core::privacy::DEFAULT_RETENTION_DAYS, value_name = "DAYS")]
    #[arg(value_parser = clap::value_parser!(u32).range(0..=36500))]
    pub retention_days: u32,

    /// Anonymise contacts past the retention period instead of erasing them: a row without
    /// identity stays, so the funnel and hand-off figures of past periods stay right.
    #[arg(long, env = "LEADGATE_RETENTION_ANONYMISE")]
    pub retention_anonymise: bool,

    /// How long a job or webhook delivery this server claimed stays its own without a sign of
    /// life (it extends the claim while it works). When a server stops, another takes its work
    /// over after this long.
    #[arg(long, env = "LEADGATE_LEASE_SECONDS", default_value_t = 120, value_name = "SECONDS")]
    #[arg(value_parser = clap::value_parser!(u32).range(3..=3600))]
    pub lease_seconds: u32,

    /// Allow webhooks to loopback, private and link-local addresses (receivers on your own
    /// network). Off by default: a webhook URL must not reach the server's internal network.
    #[arg(long, env = "LEADGATE_WEBHOOK_ALLOW_PRIVATE")]
    pub webhook_allow_private: bool,

    /// The SMTP server nurture e-mail goes through: smtp://host:25 (plain), smtp://user:pass@host:587?tls=required
    /// (STARTTLS), smtps://user:pass@host:465 (implicit TLS). Without it, messages are reserved
    /// and wait (nothing is sent). Needs --public-url for the links in the messages.
    #[arg(long, env = "LEADGATE_SMTP_URL", value_name = "URL", hide_env_values = true)]
    pub smtp_url: Option<String>,

    /// Messages handed to the SMTP server at once (also the connections kept open).
    #[arg(long, env = "LEADGATE_SMTP_CONNECTIONS", default_value_t = 4, value_name = "N")]
    #[arg(value_parser = clap::value_parser!(u32).range(1..=64))]
    pub smtp_connections: u32,

    /// The bounce address (e.g. bounces@example.com). Each message's return path becomes
    /// bounces+<message>@example.com, so a bounce names its message, and the List-Unsubscribe
    /// header gets a mailto. Pipe what arrives there to `leadgate bounces`.
    #[arg(long, env = "LEADGATE_BOUNCE_ADDRESS", value_name = "ADDRESS")]
    pub bounce_address: Option<String>,

    /// Sign nurture e-mail with DKIM using this private key file: an RSA key in PKCS#1 PEM
    /// (-----BEGIN RSA PRIVATE KEY-----) or an Ed25519 key as the base64 of its 32 bytes. Needs
    /// --dkim-selector and --dkim-domain; messages from another domain are not signed.
    #[arg(long, env = "LEADGATE_DKIM_KEY", value_name = "FILE", requires_all = ["dkim_selector", "dkim_domain"])]
    pub dkim_key: Option<std::path::PathBuf>,

    /// The DKIM selector: the key's DNS record is `<selector>._domainkey.<domain>`.
    #[arg(long, env = "LEADGATE_DKIM_SELECTOR", value_name = "NAME", requires = "dkim_key")]
    pub dkim_selector: Option<String>,

    /// The domain the DKIM key signs for (the sender addresses' domain).
    #[arg(long, env = "LEADGATE_DKIM_DOMAIN", value_name = "DOMAIN", requires = "dkim_key")]
    pub dkim_domain: Option<String>,

    /// The address users reach Leadgate at (e.g. https://leads.example.com, behind a TLS proxy).
    /// With https the session cookie is always Secure and bound to this host (`__Host-` prefix);
    /// printed URLs and form snippets use it.
    #[arg(long, env = "LEADGATE_PUBLIC_URL", value_name = "URL")]
    pub public_url: Option<String>,

    /// Serve /metrics on this address instead of the main one (e.g. 127.0.0.1:9090, for a
    /// Prometheus on the same machine or network), so it is not public.
    #[arg(long, env = "LEADGATE_METRICS_LISTEN", value_name = "ADDR")]
    pub metrics_listen: Option<SocketAddr>,

    /// Require `Authorization: Bearer TOKEN` on /metrics.
    #[arg(long, env = "LEADGATE_METRICS_TOKEN", value_name = "TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,

    /// Requests one API key may make to /api/v1, as requests/window (10s, 1m, 1h), or off.
    /// Over it: 429 with Retry-After; every answer tells where the key stands (RateLimit).
    #[arg(long, env = "LEADGATE_RATE_LIMIT_API_KEY", default_value = "1000/10s", value_name = "QUOTA",
        value_parser = parse_quota)]
    pub rate_limit_api_key: QuotaArg,

    /// API requests one client address may make without a valid key (wrong keys included).
    #[arg(long, env = "LEADGATE_RATE_LIMIT_ANONYMOUS", default_value = "100/1m", value_name = "QUOTA",
        value_parser = parse_quota)]
    pub rate_limit_anonymous: QuotaArg,

    /// Form submissions one client address may make.
    #[arg(long, env = "LEADGATE_RATE_LIMIT_FORM", default_value = "10/1m", value_name = "QUOTA",
        value_parser = parse_quota)]
    pub rate_limit_form: QuotaArg,

    /// Submissions one form accepts from all addresses together (a flood from many addresses).
    #[arg(long, env = "LEADGATE_RATE_LIMIT_FORM_TOTAL", default_value = "60/1m", value_name = "QUOTA",
        value_parser = parse_quota)]
    pub rate_limit_form_total: QuotaArg,

    /// Tracker batches one client address may send.
    #[arg(long, env = "LEADGATE_RATE_LIMIT_TRACKER", default_value = "120/1m", value_name = "QUOTA",
        value_parser = parse_quota)]
    pub rate_limit_tracker: QuotaArg,

    /// A reverse proxy (address or network, e.g. 10.0.0.0/8; repeat or separate with commas)
    /// whose X-Forwarded-For names the client. Without it the connection's peer is the client:
    /// behind a proxy, every visitor would share the proxy's rate limits.
    #[arg(
        long = "trusted-proxy",
        env = "LEADGATE_TRUSTED_PROXIES",
        value_name = "NETWORK",
        value_delimiter = ','
    )]
    pub trusted_proxies: Vec<Network>,
}

/// A `--rate-limit-*` value; `off` (`None`) is no limit.
#[derive(Debug, Clone, Copy)]
pub struct QuotaArg(pub Option<Quota>);

fn parse_quota(text: &str) -> Result<QuotaArg, String> {
    Quota::parse(text).map(QuotaArg)
}
