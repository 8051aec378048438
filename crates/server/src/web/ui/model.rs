//! The prediction model page.

use super::*;

pub(super) struct ActiveModel {
    pub version: i64,
    pub family: &'static str,
    pub metrics: Vec<Row2>,
    pub trained: String,
    pub calibration_svg: String,
    pub influence_svg: String,
    pub gains_svg: String,
    pub fields_used: Vec<String>,
    pub fields_excluded: Vec<String>,
    /// Fields left out on their own, with why.
    pub fields_dropped: Vec<Row2>,
    /// Fields that tell the outcome almost alone, with their single-field ROC AUC.
    pub suspected_leaks: Vec<Row2>,
}

/// Why a field was left out, in the page's language.
fn dropped_words(t: &Texts, reason: &leadgate_model::UnusedReason) -> String {
    use leadgate_model::UnusedReason::*;
    match reason {
        AllMissing => t.dropped_all_missing.to_string(),
        SingleValue { value } => t.dropped_single_value.replace("{value}", value),
        NoFrequentValue { min_level_count } => {
            t.dropped_no_frequent.replace("{n}", &min_level_count.to_string())
        }
        DuplicateName => t.dropped_duplicate.to_string(),
        Identifier => t.dropped_identifier.to_string(),
    }
}

pub(super) struct VersionLine {
    pub version: i64,
    pub family: &'static str,
    pub auc: String,
    pub log_loss: String,
    pub when: String,
    pub active: bool,
    /// Cross-validation found no signal: kept, never activated.
    pub no_signal: bool,
}

/// A deal win model, with its verdict in the reader's language.
pub(super) struct DealModelLine {
    pub version: i64,
    pub trained_on: String,
    pub auc: String,
    pub when: String,
    pub active: bool,
    pub verdict: String,
}

/// What cross-validation says of a deal model, in plain words (the API's verdict, in the
/// reader's language).
fn deal_verdict(lang: Lang, m: &leadgate_app::deal_model::DealModelView) -> String {
    let t = lang.texts();
    let Some(auc) = m.auc_mean else { return t.deal_verdict_unknown.to_string() };
    let closed = (m.won + m.lost).max(1) as f64;
    let words = if m.found_signal { t.deal_verdict_signal } else { t.deal_verdict_none };
    words
        .replace("{auc}", &lang.number(auc, 2))
        .replace("{lower}", &lang.number(m.auc_lower.unwrap_or(auc), 2))
        .replace("{base}", &lang.percent(m.won as f64 / closed))
}

pub(super) struct JobNotice {
    pub id: String,
    pub text: String,
    pub running: bool,
    pub failed: bool,
    /// Share done, when the job's size is known.
    pub percent: Option<u32>,
    /// "1,200 of 20,000 · about 12 s left".
    pub counts: String,
}

#[derive(Template)]
#[template(path = "ui/model.html")]
pub(super) struct ModelPage {
    pub(super) c: Chrome,
    pub(super) job: Option<JobNotice>,
    pub(super) active: Option<ActiveModel>,
    pub(super) versions: Vec<VersionLine>,
    pub(super) deal_models: Vec<DealModelLine>,
}

/// Predicted against observed conversion per probability bin; the diagonal is perfect calibration.
/// The start of a square chart of shares: its frame, the diagonal (perfect calibration, or
/// calling at random), and both axes marked from 0 to 100 %.
fn square_frame(lang: Lang, title: &str, size: f64, pad: f64) -> String {
    let scale = |v: f64| pad + v * (size - 2.0 * pad);
    let mut out = format!(
        r##"<svg role="img" aria-label="{}" viewBox="0 0 {size} {size}" width="100%" style="max-width:{size}px"><rect x="{pad}" y="{pad}" width="{w}" height="{w}" fill="none" stroke="#d1d5db"/><line x1="{pad}" y1="{b}" x2="{b}" y2="{pad}" stroke="#9ca3af" stroke-dasharray="4 3"/>"##,
        xml(title),
        w = size - 2.0 * pad,
        b = size - pad,
    );
    for v in [0.0, 0.25, 0.5, 0.75, 1.0] {
        let (x, y) = (scale(v), size - scale(v));
        let label = xml(&lang.percent(v));
        let _ = write!(
            out,
            r##"<line x1="{x:.1}" y1="{b}" x2="{x:.1}" y2="{tb}" stroke="#9ca3af"/><text x="{x:.1}" y="{ty}" font-size="10" fill="#4b5563" text-anchor="middle">{label}</text><line x1="{pad}" y1="{y:.1}" x2="{tl}" y2="{y:.1}" stroke="#9ca3af"/><text x="{lx}" y="{ly:.1}" font-size="10" fill="#4b5563" text-anchor="end">{label}</text>"##,
            b = size - pad,
            tb = size - pad + 4.0,
            ty = size - pad + 14.0,
            tl = pad - 4.0,
            lx = pad - 6.0,
            ly = y + 3.5,
        );
    }
    out
}

pub(super) fn calibration_svg(lang: Lang, bins: &[(f64, f64, usize)]) -> String {
    let t = lang.texts();
    let (size, pad) = (300.0, 36.0);
    let scale = |v: f64| pad + v * (size - 2.0 * pad);
    let mut svg = square_frame(lang, t.calibration_title, size, pad);
    let mut path = String::new();
    for (i, (predicted, observed, _)) in bins.iter().enumerate() {
        let (x, y) = (scale(*predicted), size - scale(*observed));
        let _ = write!(path, "{}{x:.1},{y:.1} ", if i == 0 { "M" } else { "L" });
        let _ = write!(svg, r##"<circle cx="{x:.1}" cy="{y:.1}" r="4" fill="#1f4fd1"/>"##);
    }
    let _ = write!(
        svg,
        r##"<path d="{path}" fill="none" stroke="#1f4fd1" stroke-width="2"/><text x="{pad}" y="{ly}" font-size="12" fill="#1d2330">{p} →</text><text x="8" y="{pad}" font-size="12" fill="#1d2330" transform="rotate(-90 8 {pad})" text-anchor="end">{o} →</text></svg>"##,
        ly = size - 10.0,
        p = xml(t.predicted),
        o = xml(t.observed),
    );
    svg
}

/// Cumulative share of conversions against cumulative share of leads, calling the most likely
/// first (probability bins of the held-out part, highest first); the diagonal is calling at random.
pub(super) fn gains_svg(lang: Lang, bins: &[(f64, f64, usize)]) -> String {
    let t = lang.texts();
    let mut sorted: Vec<(f64, f64, usize)> = bins.to_vec();
    sorted.sort_by(|a, b| b.0.total_cmp(&a.0));
    let leads: f64 = sorted.iter().map(|b| b.2 as f64).sum();
    let conversions: f64 = sorted.iter().map(|b| b.1 * b.2 as f64).sum();
    let (size, pad) = (300.0, 36.0);
    let scale = |v: f64| pad + v * (size - 2.0 * pad);
    let mut svg = square_frame(lang, t.gains_title, size, pad);
    if leads > 0.0 && conversions > 0.0 {
        let (mut x, mut y) = (0.0, 0.0);
        let mut path = format!("M{:.1},{:.1} ", scale(0.0), size - scale(0.0));
        for (_, rate, count) in &sorted {
            x += *count as f64 / leads;
            y += rate * *count as f64 / conversions;
            let _ = write!(path, "L{:.1},{:.1} ", scale(x), size - scale(y));
        }
        let _ = write!(svg, r##"<path d="{path}" fill="none" stroke="#166534" stroke-width="2"/>"##);
    }
    let _ = write!(
        svg,
        r##"<text x="{pad}" y="{ly}" font-size="12" fill="#1d2330">{l} →</text><text x="8" y="{pad}" font-size="12" fill="#1d2330" transform="rotate(-90 8 {pad})" text-anchor="end">{c} →</text></svg>"##,
        ly = size - 10.0,
        l = xml(t.leads_called),
        c = xml(t.conversions_found),
    );
    svg
}

#[derive(Deserialize)]
pub(super) struct ModelQuery {
    pub(super) job: Option<String>,
}

pub(super) async fn model(State(state): State<AppState>, s: Signed, Query(q): Query<ModelQuery>) -> Response {
    let t = s.lang.texts();
    let views = match state.app.models(s.p()).await {
        Ok(v) => v,
        Err(e) => return app_error(&s, e),
    };
    let family = |f: &str| if f == "gbdt" { t.family_gbdt } else { t.family_linear };
    let job = match q.job.as_deref().and_then(|j| j.parse::<leadgate_core::ids::JobId>().ok()) {
        Some(id) => state.app.job(s.p(), id).await.ok().map(|j| {
            job_notice(
                s.lang,
                &j,
                t.training.to_string(),
                t.training_done,
                t.training_failed,
                state.app.now(),
            )
        }),
        None => None,
    };
    let influence = state.app.model_influence(s.p(), 200).await.ok().flatten().unwrap_or_default();
    let influence_bars: Vec<(String, f64, String, &str)> = influence
        .iter()
        .take(10)
        .map(|(field, v)| {
            // The label column is narrow: long field names end with an ellipsis.
            let label = if field.chars().count() > 19 {
                format!("{}…", field.chars().take(18).collect::<String>())
            } else {
                field.clone()
            };
            (label, *v, s.lang.number(*v, 2), "#1f4fd1")
        })
        .collect();
    let influence_svg = bars_svg(t.influence_title, &influence_bars);
    let active = views.iter().find(|v| v.active).map(|m| {
        let report: Option<leadgate_model::TrainingReport> = serde_json::from_value(m.report.clone()).ok();
        let chosen = report.as_ref().and_then(|r| r.chosen().cloned());
        let mut metrics = Vec::new();
        if let Some(c) = &chosen {
            metrics = vec![
                Row2 { a: t.auc.into(), b: s.lang.number(c.test.auc, 3) },
                Row2 { a: t.log_loss.into(), b: s.lang.number(c.test.log_loss, 3) },
                Row2 { a: t.brier.into(), b: s.lang.number(c.test.brier, 3) },
                Row2 { a: t.lift.into(), b: format!("× {}", s.lang.number(c.test.top_decile_lift, 1)) },
                Row2 { a: t.base_rate.into(), b: s.lang.percent(c.test.base_rate) },
            ];
        }
        let bins: Vec<(f64, f64, usize)> = chosen
            .as_ref()
            .map(|c| {
                c.test
                    .calibration
                    .iter()
                    .filter_map(|b| Some((b.mean_predicted?, b.observed_rate?, b.count)))
                    .collect()
            })
            .unwrap_or_default();
        ActiveModel {
            version: m.version,
            family: family(&m.family),
            metrics,
            trained: format!(
                "{} {} {} · {}",
                t.trained_on,
                s.lang.number((m.outcomes.converted + m.outcomes.not_converted) as f64, 0),
                t.contacts_word,
                s.datetime(m.trained_at)
            ),
            calibration_svg: calibration_svg(s.lang, &bins),
            influence_svg: influence_svg.clone(),
            gains_svg: gains_svg(s.lang, &bins),
            fields_used: report.as_ref().map(|r| r.fields_used.clone()).unwrap_or_default(),
            fields_excluded: report.as_ref().map(|r| r.fields_excluded.clone()).unwrap_or_default(),
            fields_dropped: report
                .as_ref()
                .map(|r| {
                    r.fields_dropped
                        .iter()
                        .map(|d| Row2 { a: d.field.clone(), b: dropped_words(t, &d.reason) })
                        .collect()
                })
                .unwrap_or_default(),
            suspected_leaks: report
                .as_ref()
                .map(|r| {
                    r.suspected_leaks
                        .iter()
                        .map(|f| Row2 {
                            a: f.clone(),
                            b: r.field_separation
                                .iter()
                                .find(|sep| &sep.field == f)
                                .map_or(String::new(), |sep| s.lang.number(sep.auc, 2)),
                        })
                        .collect()
                })
                .unwrap_or_default(),
        }
    });
    let versions = views
        .iter()
        .map(|v| VersionLine {
            version: v.version,
            family: family(&v.family),
            auc: v.quality.as_ref().map_or("—".into(), |q| s.lang.number(q.roc_auc, 3)),
            log_loss: v.quality.as_ref().map_or("—".into(), |q| s.lang.number(q.log_loss, 3)),
            when: s.datetime(v.trained_at),
            active: v.active,
            no_signal: !v.found_signal,
        })
        .collect();
    let deal_models = state
        .app
        .deal_models(s.p())
        .await
        .unwrap_or_default()
        .iter()
        .map(|m| DealModelLine {
            version: m.version,
            trained_on: t
                .deal_trained_on
                .replace("{won}", &s.lang.number(m.won as f64, 0))
                .replace("{lost}", &s.lang.number(m.lost as f64, 0)),
            auc: m.auc_mean.map_or("—".into(), |a| s.lang.number(a, 2)),
            when: s.datetime(m.trained_at),
            active: m.active,
            verdict: deal_verdict(s.lang, m),
        })
        .collect();
    render(ModelPage { c: s.chrome("model"), job, active, versions, deal_models })
}

/// Queues the training of a deal win model on every closed deal (activated if it finds signal).
pub(super) async fn model_train_deals(
    State(state): State<AppState>,
    s: Signed,
    Form(f): Form<CsrfForm>,
) -> Response {
    if let Some(r) = s.refuse_forged(&f.csrf) {
        return r;
    }
    let request = leadgate_app::deal_model::DealTrainRequest::default();
    match state.app.start_deal_training(s.p(), &request).await {
        Ok(job) => Redirect::to(&format!("/model?job={}", job.id)).into_response(),
        Err(e) => app_error(&s, e),
    }
}

pub(super) async fn model_train(
    State(state): State<AppState>,
    s: Signed,
    Form(f): Form<CsrfForm>,
) -> Response {
    if let Some(r) = s.refuse_forged(&f.csrf) {
        return r;
    }
    // The same settings as the latest model (what "retrain" means to a marketer).
    let request = match state.app.models(s.p()).await {
        Ok(v) => v.into_iter().next().map(|m| m.request).unwrap_or_default(),
        Err(e) => return app_error(&s, e),
    };
    match state.app.start_training(s.p(), &request).await {
        Ok(job) => Redirect::to(&format!("/model?job={}", job.id)).into_response(),
        Err(e) => app_error(&s, e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_model_charts_have_axes_with_numbers_in_the_readers_language() {
        let bins = [(0.1, 0.12, 40), (0.5, 0.45, 30), (0.9, 0.85, 10)];
        for lang in [Lang::En, Lang::Fr] {
            for svg in [calibration_svg(lang, &bins), gains_svg(lang, &bins)] {
                for v in [0.0, 0.25, 0.5, 0.75, 1.0] {
                    let label = format!(">{}</text>", xml(&lang.percent(v)));
                    assert_eq!(svg.matches(&label).count(), 2, "{v} on both axes: {svg}");
                }
                assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
            }
        }
    }
}
