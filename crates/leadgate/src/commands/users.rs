//! `leadgate set-password`: the operator gives a user (the first admin, typically) a password
//! for the web UI.

use std::io::{BufRead, IsTerminal, Write};

use crate::config::Setup;
use anyhow::{Context, bail};
use leadgate_app::AppError;

use crate::cli::SetPasswordArgs;

/// Reads a line from the terminal without echoing it (stty), so the password stays off screen.
fn ask_hidden(prompt: &str) -> anyhow::Result<String> {
    eprint!("{prompt}");
    std::io::stderr().flush().ok();
    let quiet = std::process::Command::new("stty").arg("-echo").status().is_ok_and(|s| s.success());
    let mut line = String::new();
    let read = std::io::stdin().lock().read_line(&mut line);
    if quiet {
        let _ = std::process::Command::new("stty").arg("echo").status();
        eprintln!();
    }
    read.context("cannot read the password")?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

pub async fn set_password(config: &Setup, args: SetPasswordArgs) -> anyhow::Result<()> {
    let password = if args.stdin || !std::io::stdin().is_terminal() {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("cannot read the password from standard input")?;
        line.trim_end_matches(['\r', '\n']).to_string()
    } else {
        let first = ask_hidden("New password (at least 10 characters): ")?;
        let again = ask_hidden("Repeat it: ")?;
        if first != again {
            bail!("the two passwords differ; nothing was changed");
        }
        first
    };
    let store = super::open_store(&config.store).await?;
    let app = config.app(store.clone()).await?;
    let result = app.set_password_by_email(&args.email, &password).await;
    store.close().await;
    match result {
        Ok(()) => {
            eprintln!("Password set for {}. Sign in at /login.", args.email);
            Ok(())
        }
        Err(AppError::NotFound { .. }) => {
            bail!("no user has the e-mail {}; see GET /api/v1/users", args.email)
        }
        Err(e) => Err(e.into()),
    }
}
