//! `leadgate train` (train a conversion model here, with progress, then predict every contact)
//! and `leadgate models` (list versions, activate one).

use std::fmt::Write as _;

use leadgate_app::prediction::{ModelFamily, ModelView, TrainRequest};

use crate::config::Setup;
use leadgate_model::TrainingReport;

use super::thousands;
use crate::cli::{FamilyArg, ModelsArgs, ModelsCommand, TrainArgs};
use crate::progress::Reporter;

pub async fn run(config: &Setup, args: TrainArgs) -> anyhow::Result<()> {
    let store = super::open_store(&config.store).await?;
    let app = config.app(store.clone()).await?;
    let result = async {
        let operator = app.operator().await?;
        let request = TrainRequest {
            exclude: args.exclude,
            family: match args.family {
                FamilyArg::Auto => ModelFamily::Auto,
                FamilyArg::Linear => ModelFamily::Linear,
                FamilyArg::Gbdt => ModelFamily::Gbdt,
            },
            horizon_days: args.horizon_days,
            seed: args.seed,
            activate: !args.no_activate,
        };
        let mut progress = Reporter::new("reading contacts");
        let view = app.train_model(&operator, &request, &mut progress).await?;
        progress.finish();
        let mut predicted = None;
        if view.active {
            let started = std::time::Instant::now();
            let mut progress = Reporter::new("predicting contacts");
            let n = app.predict_now(&mut progress).await?;
            progress.finish();
            predicted = Some((n, started.elapsed().as_secs_f64()));
        }
        if args.json {
            println!("{}", serde_json::to_string_pretty(&view)?);
        } else {
            print!("{}", render(&view));
            match predicted {
                Some((n, secs)) if n > 0 => {
                    println!("Predicted {} contacts with it in {secs:.1} s.", thousands(n))
                }
                Some(_) => println!("A running server is predicting every contact with it."),
                None => println!("Not active: `leadgate models activate {}` makes it so.", view.version),
            }
        }
        anyhow::Ok(())
    }
    .await;
    store.close().await;
    result
}

pub async fn models(config: &Setup, args: ModelsArgs) -> anyhow::Result<()> {
    let store = super::open_store(&config.store).await?;
    let app = config.app(store.clone()).await?;
    let result = async {
        let operator = app.operator().await?;
        match args.command {
            Some(ModelsCommand::Activate { version }) => {
                let view = app.activate_model(&operator, version).await?;
                let mut progress = Reporter::new("predicting contacts");
                let n = app.predict_now(&mut progress).await?;
                progress.finish();
                println!(
                    "Model version {} is active; predicted {} contacts with it.",
                    view.version,
                    thousands(n)
                );
            }
            None => {
                let list = app.models(&operator).await?;
                if args.json {
                    println!("{}", serde_json::to_string_pretty(&list)?);
                } else if list.is_empty() {
                    println!("No model yet: `leadgate train` trains one on your contacts' outcomes.");
                } else {
                    print!("{}", render_list(&list));
                }
            }
        }
        anyhow::Ok(())
    }
    .await;
    store.close().await;
    result
}

fn pct(x: f64) -> String {
    format!("{:.1} %", x * 100.0)
}

fn family_name(family: &str) -> &'static str {
    match family {
        "linear" => "logistic regression",
        _ => "gradient-boosted trees",
    }
}

/// The versions as a table.
pub fn render_list(list: &[ModelView]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<8} {:<7} {:<23} {:<17} {:>7} {:>9} {:>6} {:>10} {:>14}",
        "version", "active", "family", "trained", "ROC AUC", "log loss", "lift", "converted", "not converted"
    );
    for m in list {
        let q = m.quality.as_ref();
        let _ = writeln!(
            out,
            "{:<8} {:<7} {:<23} {:<17} {:>7} {:>9} {:>6} {:>10} {:>14}",
            m.version,
            if m.active { "yes" } else { "" },
            family_name(&m.family),
            m.trained_at.strftime("%Y-%m-%d %H:%M").to_string(),
            q.map_or("-".into(), |q| format!("{:.3}", q.roc_auc)),
            q.map_or("-".into(), |q| format!("{:.3}", q.log_loss)),
            q.map_or("-".into(), |q| format!("{:.1}x", q.top_decile_lift)),
            thousands(m.outcomes.converted),
            thousands(m.outcomes.not_converted)
        );
    }
    out
}

/// A model's report for a terminal: quality on held-out contacts, calibration, fields.
pub fn render(m: &ModelView) -> String {
    let mut out = String::new();
    let Ok(report) = serde_json::from_value::<TrainingReport>(m.report.clone()) else {
        let _ = writeln!(out, "Model version {} ({})", m.version, family_name(&m.family));
        return out;
    };
    let o = &m.outcomes;
    let _ = writeln!(
        out,
        "Model version {}: {} {}, trained in {:.1} s on {} contacts ({} converted, {} not converted; {} open leads only predicted){}",
        m.version,
        family_name(&m.family),
        match report.calibration {
            leadgate_model::calibration::CalibrationMethod::Identity =>
                "(its own probabilities were best calibrated)",
            leadgate_model::calibration::CalibrationMethod::Platt => "with Platt calibration",
            leadgate_model::calibration::CalibrationMethod::Isotonic => "with isotonic calibration",
        },
        m.training_ms as f64 / 1000.0,
        thousands(o.converted + o.not_converted),
        thousands(o.converted),
        thousands(o.not_converted),
        thousands(o.open),
        if m.active { " — active" } else { "" }
    );
    if let Some(chosen) = report.chosen() {
        let t = &chosen.test;
        let _ = writeln!(
            out,
            "\nOn {} held-out contacts (base rate {}): ROC AUC {:.3} · log loss {:.3} · Brier {:.3} · top 10 % hold {:.1}x the average conversion",
            thousands(t.rows as u64),
            pct(t.base_rate),
            t.auc,
            t.log_loss,
            t.brier,
            t.top_decile_lift
        );
        for c in &report.candidates {
            let _ = writeln!(
                out,
                "  {:<23} held-out ROC AUC {:.3}, cross-validated {:.3} ± {:.3} ({} folds){}",
                c.family.to_string(),
                c.test.auc,
                c.cross_validation.auc_mean,
                c.cross_validation.auc_std,
                c.cross_validation.folds,
                if c.family == report.family { "  ← chosen" } else { "" }
            );
        }
        let _ = writeln!(out, "\nCalibration (of the leads given this probability, how many converted):");
        for b in &t.calibration {
            if b.count == 0 {
                continue;
            }
            let _ = writeln!(
                out,
                "  {:>3.0}–{:<3.0} %  {:>7} contacts  predicted {:>7}  observed {:>7}",
                b.lower * 100.0,
                b.upper * 100.0,
                thousands(b.count as u64),
                b.mean_predicted.map_or("-".into(), pct),
                b.observed_rate.map_or("-".into(), pct)
            );
        }
    }
    let _ = writeln!(out, "\nFields used ({}): {}", report.fields_used.len(), report.fields_used.join(", "));
    if !report.fields_excluded.is_empty() {
        let _ = writeln!(
            out,
            "Fields excluded ({}): {}",
            report.fields_excluded.len(),
            report.fields_excluded.join(", ")
        );
    }
    for d in &report.fields_dropped {
        let _ = writeln!(out, "Not used: {} — {}", d.field, d.reason);
    }
    if !report.suspected_leaks.is_empty() {
        let auc = |field: &str| {
            report
                .field_separation
                .iter()
                .find(|f| f.field == field)
                .map_or(String::new(), |f| format!("{:.2}", f.auc))
        };
        let named: Vec<String> =
            report.suspected_leaks.iter().map(|f| format!("{f} (ROC AUC {} alone)", auc(f))).collect();
        let excludes: Vec<String> =
            report.suspected_leaks.iter().map(|f| format!("--exclude \"{f}\"")).collect();
        let _ = writeln!(
            out,
            "\nWarning: these fields tell the outcome almost by themselves: {}.\n\
             They are most likely filled in after the outcome (by sales, or by the conversion itself), so\n\
             the quality above overstates what the model knows about a new lead. Unless new leads have\n\
             them too, train without them:\n    leadgate train {}",
            named.join(", "),
            excludes.join(" ")
        );
    }
    out
}
