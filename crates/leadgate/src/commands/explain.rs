//! `leadgate explain CONTACT`: why a contact scores as it does, for a terminal (or as JSON).

use std::fmt::Write as _;

use leadgate_app::AppError;
use leadgate_app::prediction::PredictionView;
use leadgate_app::scoring::Explanation;

use crate::config::Setup;
use leadgate_core::qualification::Criterion;

use crate::cli::ExplainArgs;

pub async fn run(config: &Setup, args: ExplainArgs) -> anyhow::Result<()> {
    let store = super::open_store(&config.store).await?;
    let app = config.app(store.clone()).await?;
    let operator = app.operator().await?;
    let result = async {
        let contact = app.find_contact(&operator, &args.contact).await?;
        let x = app.explain(&operator, contact.id).await?;
        let prediction = match app.contact_prediction(&operator, contact.id).await {
            Ok(p) => Some(p),
            Err(AppError::StateConflict(_)) => None, // no model yet
            Err(e) => return Err(e.into()),
        };
        if args.json {
            let mut doc = serde_json::to_value(&x)?;
            doc["prediction"] = serde_json::to_value(&prediction)?;
            println!("{}", serde_json::to_string_pretty(&doc)?);
        } else {
            print!("{}", render(&contact.display_name(), &x));
            print!("{}", render_prediction(prediction.as_ref()));
        }
        anyhow::Ok(())
    }
    .await;
    store.close().await;
    result
}

fn signed(p: leadgate_core::scoring::Points) -> String {
    if p.hundredths() >= 0 { format!("+{p}") } else { p.to_string() }
}

/// The explanation as text: every contribution on its own line, totals that are their sums.
pub fn render(name: &str, x: &Explanation) -> String {
    let mut out = String::new();
    let card = &x.scorecard;
    let _ = writeln!(
        out,
        "{name} — stage {} — scored with rules version {} at {}",
        x.lifecycle_stage,
        x.rules_version,
        card.computed_at.strftime("%Y-%m-%d %H:%M UTC")
    );
    let _ = writeln!(out, "\nFit: {} points, grade {}", card.fit.points, card.fit.grade);
    if card.fit.contributions.is_empty() {
        let _ = writeln!(out, "  (no fit rule holds)");
    }
    for c in &card.fit.contributions {
        let evidence: Vec<String> = c.evidence.iter().map(|e| format!("{} = {}", e.field, e.value)).collect();
        let _ =
            writeln!(out, "  {:>8}  {:<24} {}  [{}]", signed(c.points), c.rule, c.label, evidence.join(", "));
    }
    let e = &card.engagement;
    let _ = writeln!(
        out,
        "\nEngagement: {} points (half-life {} days; {} events earn nothing)",
        e.score, e.half_life_days, e.unscored_events
    );
    for c in &e.contributions {
        let cap = match c.cap_applied {
            Some(leadgate_core::scoring::Cap::Daily) => "  [daily cap]",
            Some(leadgate_core::scoring::Cap::Lifetime) => "  [lifetime cap]",
            None => "",
        };
        let _ = writeln!(
            out,
            "  {:>8}  {:<20} {} {}  {} × {:.4} (age {:.1} d){cap}",
            signed(c.points),
            c.rule,
            c.kind,
            c.occurred_at.strftime("%Y-%m-%d"),
            signed(c.points_before_decay),
            c.decay_factor,
            c.age_days
        );
    }
    let _ = writeln!(out, "\nTemperature: {} — {}", card.temperature.level, card.temperature.reason);
    if card.knockouts.is_empty() {
        let _ = writeln!(out, "Knock-outs: none");
    } else {
        for k in &card.knockouts {
            let evidence: Vec<String> =
                k.evidence.iter().map(|e| format!("{} = {}", e.field, e.value)).collect();
            let _ = writeln!(out, "Knock-out: {} ({}) [{}]", k.reason, k.rule, evidence.join(", "));
        }
    }
    let items: Vec<String> = Criterion::ALL
        .iter()
        .map(|c| {
            let item = x.checklist.get(*c);
            match &item.note {
                Some(n) => format!("{c} {} ({n})", item.answer.as_str()),
                None => format!("{c} {}", item.answer.as_str()),
            }
        })
        .collect();
    let _ = writeln!(
        out,
        "Checklist: {}{}",
        items.join(", "),
        if x.sales_accepted { " — accepted by sales" } else { "" }
    );
    let p = &x.stage_profile;
    let yes = |b: bool| if b { "yes" } else { "no" };
    let _ = writeln!(
        out,
        "Has bought: {} · needs known: {} · interest shown: {} · conversion process started: {}",
        yes(p.has_bought),
        yes(p.needs_known),
        match p.interest_shown {
            leadgate_core::qualification::Interest::Weak => "weak",
            leadgate_core::qualification::Interest::Real => "real",
            leadgate_core::qualification::Interest::High => "high",
        },
        yes(p.conversion_process_started)
    );
    out
}

/// The prediction as text: the probability, then every factor that moved it, largest first.
pub fn render_prediction(p: Option<&PredictionView>) -> String {
    let mut out = String::new();
    let Some(p) = p else {
        let _ = writeln!(out, "\nPrediction: no model yet (`leadgate train` trains one on your outcomes).");
        return out;
    };
    let _ = writeln!(
        out,
        "\nPrediction (model version {}): {:.1} % likely to convert — log-odds {:+.3} = base {:+.3} plus:",
        p.model_version,
        p.probability * 100.0,
        p.raw_score,
        p.base_value
    );
    for f in p.factors.iter().filter(|f| f.contribution != 0.0) {
        let _ = writeln!(out, "  {:>+8.3}  {}", f.contribution, f.label);
    }
    out
}
