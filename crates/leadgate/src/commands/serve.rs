//! `leadgate serve`: open the database, make sure an admin exists, and serve until SIGTERM or
//! Ctrl-C, finishing the requests in flight.

use std::sync::Arc;

use anyhow::Context;
use leadgate_app::{App, SystemClock};
use leadgate_server::AppState;
use leadgate_store::StoreConfig;
use tokio::net::TcpListener;

use crate::cli::ServeArgs;

pub async fn run(config: &StoreConfig, args: ServeArgs) -> anyhow::Result<()> {
    let store = super::open_store(config).await?;
    let app = App::new(store.clone(), Arc::new(SystemClock));
    let listener = TcpListener::bind(args.listen).await.with_context(|| {
        format!("cannot listen on {}; is another server using it? Choose another with --listen", args.listen)
    })?;
    let addr = listener.local_addr()?;
    let first_key = app
        .bootstrap_admin(&args.admin_email, args.bootstrap_api_key.as_deref())
        .await
        .map_err(|e| anyhow::anyhow!("cannot create the first admin: {e}"))?;

    println!("Leadgate is running at http://{addr}/");
    println!("  API description: http://{addr}/api/openapi.json");
    match &first_key {
        Some(key) if args.bootstrap_api_key.is_none() => {
            println!("  First admin: {}", args.admin_email);
            println!("  Admin API key (shown once, store it now): {}", key.key);
        }
        Some(_) => {
            println!("  First admin: {} (with the API key given by --bootstrap-api-key)", args.admin_email)
        }
        None => {}
    }
    tracing::info!(%addr, database = ?config, "serving");

    app.ensure_scoring_rules()
        .await
        .map_err(|e| anyhow::anyhow!("cannot store the default scoring rules: {e}"))?;
    // Background jobs run beside the API; they stop after their current step on shutdown.
    let (stop_jobs, jobs_stopped) = tokio::sync::watch::channel(false);
    let runner = tokio::spawn({
        let app = app.clone();
        async move { app.run_jobs(leadgate_app::jobs::worker_name(), jobs_stopped).await }
    });

    let state = AppState::new(app);
    leadgate_server::serve(listener, state, shutdown_signal()).await?;
    let _ = stop_jobs.send(true);
    let _ = runner.await;
    tracing::info!("stopped accepting requests; closing the database");
    store.close().await;
    Ok(())
}

/// Completes on SIGTERM (service managers) or SIGINT (Ctrl-C).
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown requested; finishing requests in flight");
}
