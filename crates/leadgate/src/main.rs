//! The `leadgate` binary: parses the command line, sets up logging, and runs one command. All
//! behaviour lives in the library crates; this file only wires them.

mod cli;
mod commands;
mod config;
mod progress;

use std::process::ExitCode;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::Parser;
use tracing_subscriber::EnvFilter;

use crate::cli::{Cli, Command, LogFormat};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let default_log = if matches!(cli.command, Command::Serve(_)) { "info" } else { "warn" };
    init_logging(cli.global.log_format, cli.global.log.as_deref().unwrap_or(default_log));
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let store = config::Setup::from_args(&cli.global)?;
    match cli.command {
        Command::Serve(args) => commands::serve::run(&store, args).await,
        Command::Migrate => commands::migrate::run(&store).await,
        Command::Score(args) => commands::score::run(&store, args).await,
        Command::Explain(args) => commands::explain::run(&store, args).await,
        Command::Rules(command) => commands::rules::run(&store, command).await,
        Command::Import(args) => commands::import::run(&store, args).await,
        Command::Train(args) => commands::train::run(&store, args).await,
        Command::Models(args) => commands::train::models(&store, args).await,
        Command::SetPassword(args) => commands::users::set_password(&store, args).await,
        Command::Export(args) => commands::privacy::export(&store, args).await,
        Command::Erase(args) => commands::privacy::erase(&store, args).await,
        Command::Purge(args) => commands::privacy::purge(&store, args).await,
        Command::Backup(args) => commands::privacy::backup(&store, args).await,
        Command::Restore(args) => commands::privacy::restore(&store, args).await,
        Command::Bounces => commands::nurture::bounces(&store).await,
    }
}

fn init_logging(format: LogFormat, filter: &str) {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|e| {
        eprintln!("warning: --log `{filter}` is not a valid filter ({e}); using `info`");
        EnvFilter::new("info")
    });
    // Logs go to stderr so that stdout carries only what commands print for people and scripts.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder =
        tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
}
