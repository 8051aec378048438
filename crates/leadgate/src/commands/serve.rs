//! `leadgate serve`: open the database, make sure an admin exists, and serve until SIGTERM or
//! Ctrl-C, finishing the requests in flight.

use anyhow::Context;

use crate::config::Setup;
use leadgate_server::AppState;
use tokio::net::TcpListener;

use crate::cli::ServeArgs;

pub async fn run(config: &Setup, args: ServeArgs) -> anyhow::Result<()> {
    // Listen for SIGTERM/SIGINT from the start: a stop request that arrives while starting up
    // must also shut down cleanly, not kill the process.
    let shutdown = shutdown_signal()?;
    let store = super::open_store(&config.store).await?;
    if !(0.0..=3600.0).contains(&args.form_min_fill_seconds) {
        anyhow::bail!("--form-min-fill-seconds must be between 0 and 3600");
    }
    let min_fill = jiff::SignedDuration::from_secs_f64(args.form_min_fill_seconds);
    if args.retrain_every_days == Some(0) {
        anyhow::bail!(
            "--retrain-every-days must be at least 1 (leave it out to never retrain automatically)"
        );
    }
    let retrain = args.retrain_every_days.map(|d| jiff::SignedDuration::from_hours(24 * i64::from(d)));
    let public_url = args
        .public_url
        .as_deref()
        .map(leadgate_server::WebConfig::parse_public_url)
        .transpose()
        .map_err(|e| anyhow::anyhow!("--public-url {e}"))?;
    if args.metrics_token.as_deref().is_some_and(|t| t.len() < 16 || !t.bytes().all(|b| b.is_ascii_graphic()))
    {
        anyhow::bail!("--metrics-token must be at least 16 visible characters without spaces");
    }
    let app = config
        .app(store.clone())
        .await?
        .with_min_fill_time(min_fill)
        .with_retraining(retrain)
        .with_retention((args.retention_days > 0).then_some(leadgate_core::privacy::RetentionPolicy {
            days: args.retention_days,
            anonymise: args.retention_anonymise,
        }))
        .with_lease(jiff::SignedDuration::from_secs(i64::from(args.lease_seconds)))
        .with_webhook_policy(leadgate_app::webhooks::WebhookPolicy {
            allow_private: args.webhook_allow_private,
        });
    let app = match &args.smtp_url {
        Some(url) => {
            let Some(public) = &public_url else {
                anyhow::bail!(
                    "--smtp-url needs --public-url: the links in the messages (unsubscribe, clicks) must reach this server"
                )
            };
            if let Some(b) = &args.bounce_address
                && !leadgate_app::nurture::is_address(b)
            {
                anyhow::bail!("--bounce-address `{b}` is not an e-mail address");
            }
            let mailer = leadgate_app::nurture::SmtpMailer::new(url, args.smtp_connections)
                .map_err(anyhow::Error::msg)?;
            let dkim = match (&args.dkim_key, &args.dkim_selector, &args.dkim_domain) {
                (Some(file), Some(selector), Some(domain)) => {
                    let key = std::fs::read_to_string(file)
                        .with_context(|| format!("cannot read the DKIM key {}", file.display()))?;
                    let dkim = leadgate_app::nurture::render::Dkim::new(&key, selector, domain);
                    Some(dkim.map_err(anyhow::Error::msg)?)
                }
                _ => None,
            };
            app.with_mail(leadgate_app::nurture::MailSetup {
                mailer: std::sync::Arc::new(mailer),
                public_url: public.as_str().trim_end_matches('/').to_string(),
                return_path: args.bounce_address.clone(),
                parallel: args.smtp_connections as usize,
                dkim,
            })
        }
        None => app,
    };
    let listener = TcpListener::bind(args.listen).await.with_context(|| {
        format!("cannot listen on {}; is another server using it? Choose another with --listen", args.listen)
    })?;
    let addr = listener.local_addr()?;
    let first_key = app
        .bootstrap_admin(&args.admin_email, args.bootstrap_api_key.as_deref())
        .await
        .map_err(|e| anyhow::anyhow!("cannot create the first admin: {e}"))?;

    app.ensure_scoring_rules()
        .await
        .map_err(|e| anyhow::anyhow!("cannot store the default scoring rules: {e}"))?;

    let base = public_url.as_ref().map_or(format!("http://{addr}/"), |u| u.to_string());
    println!("Leadgate is running at {base}");
    if public_url.is_some() {
        // Behind a proxy the public address is not where this process listens.
        println!("  Listening on http://{addr}/");
    }
    println!("  Web UI: {base}login");
    println!("  API description: {base}api/openapi.json");
    match &first_key {
        Some(key) if args.bootstrap_api_key.is_none() => {
            println!("  First admin: {}", args.admin_email);
            println!("  Admin API key (shown once, store it now): {}", key.key);
            println!(
                "  To sign in to the web UI, give the admin a password: leadgate set-password {}",
                args.admin_email
            );
        }
        Some(_) => {
            println!("  First admin: {} (with the API key given by --bootstrap-api-key)", args.admin_email)
        }
        None => {}
    }
    tracing::info!(%addr, database = ?config.store, "serving");

    // Background jobs run beside the API; they stop after their current step on shutdown. A
    // runner that stopped on a bug of its own is started again (its jobs are supervised apart).
    let (stop_jobs, jobs_stopped) = tokio::sync::watch::channel(false);
    let runner = tokio::spawn({
        let app = app.clone();
        async move {
            loop {
                let run = tokio::spawn({
                    let (app, stopped) = (app.clone(), jobs_stopped.clone());
                    async move { app.run_jobs(leadgate_app::jobs::worker_name(), stopped).await }
                });
                match run.await {
                    Err(e) if e.is_panic() && !*jobs_stopped.borrow() => {
                        tracing::error!("the job runner stopped on a bug; starting it again in 10 s");
                        tokio::time::sleep(std::time::Duration::from_secs(10)).await;
                    }
                    _ => break,
                }
            }
        }
    });

    let state = AppState::new(app).with_web(leadgate_server::WebConfig {
        public_url,
        metrics_token: args.metrics_token.clone(),
        metrics_apart: args.metrics_listen.is_some(),
        trusted_proxies: args.trusted_proxies.clone(),
        rate_limits: leadgate_server::ratelimit::RateLimits {
            api_key: args.rate_limit_api_key.0,
            api_anonymous: args.rate_limit_anonymous.0,
            form: args.rate_limit_form.0,
            form_total: args.rate_limit_form_total.0,
            tracker: args.rate_limit_tracker.0,
        },
    });
    let (stop_metrics, metrics_stopped) = tokio::sync::watch::channel(false);
    let metrics_server = match args.metrics_listen {
        Some(at) => {
            let listener = TcpListener::bind(at)
                .await
                .with_context(|| format!("cannot listen on {at} for /metrics (--metrics-listen)"))?;
            println!("  Metrics: http://{}/metrics", listener.local_addr()?);
            let mut stopped = metrics_stopped;
            let stop = async move {
                let _ = stopped.changed().await;
            };
            Some(tokio::spawn(leadgate_server::serve_metrics(listener, state.clone(), stop)))
        }
        None => None,
    };
    leadgate_server::serve(listener, state, shutdown).await?;
    let _ = stop_metrics.send(true);
    if let Some(m) = metrics_server {
        let _ = m.await;
    }
    let _ = stop_jobs.send(true);
    let _ = runner.await;
    tracing::info!("stopped accepting requests; closing the database");
    store.close().await;
    Ok(())
}

/// A future completing on SIGTERM (service managers) or SIGINT (Ctrl-C). The handlers are
/// installed now, not when the future is first polled.
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()> + Send + 'static> {
    #[cfg(unix)]
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("cannot listen for SIGTERM")?;
    #[cfg(unix)]
    let mut interrupt = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
        .context("cannot listen for SIGINT")?;
    Ok(async move {
        #[cfg(unix)]
        tokio::select! {
            _ = terminate.recv() => {},
            _ = interrupt.recv() => {},
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutdown requested; finishing requests in flight");
    })
}
