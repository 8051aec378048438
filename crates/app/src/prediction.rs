//! Prediction use cases (DESIGN.md §5): train a conversion model on the workspace's own history,
//! keep every lead's probability current with the active model, and explain one lead's
//! probability field by field.
//!
//! Which contacts teach the model, and what they teach, is decided here:
//! - converted: a customer (or a churned one), an imported outcome "converted", or a won deal;
//! - not converted: an imported outcome "not converted", disqualified, every deal lost, or no
//!   conversion within the horizon after the contact was created;
//! - anything else is an open lead: never a negative by accident, only predicted.
//!
//! A model reads a contact as it was when its outcome was decided (its timeline up to that
//! instant), so it does not learn from what followed a conversion. Stage, scores and outcome
//! are never inputs: they would leak the answer.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};

use jiff::{SignedDuration, Timestamp};
use leadgate_core::access::Permission;
use leadgate_core::custom_field::{CustomFieldDefinition, FieldEntity};
use leadgate_core::ids::{ContactId, JobId, UserId};
use leadgate_core::lifecycle::LifecycleStage;
use leadgate_model::{Column, Dataset, FamilyChoice, TrainError, TrainOptions, TrainedModel, Value};
use leadgate_store::Session;
use leadgate_store::jobs::{Lease, NewJob};
use leadgate_store::models::{KindCounts, ModelRecord, NewModel, PredictionFacts, StoredPrediction};
use serde::{Deserialize, Serialize};

use crate::jobs::Progress;
use crate::{App, AppError, Principal, new_uuid};

/// The job kind that trains a model.
pub const TRAIN_JOB: &str = "train";
/// The job kind that predicts every contact with the active model.
pub const PREDICT_JOB: &str = "predict";
/// Contacts read per transaction when training, predicted per step of the predict job and per
/// refresh of the queue.
pub const PREDICT_CHUNK: u32 = 2_000;
/// Default horizon: a lead that has not converted half a year after it arrived counts as not
/// converted.
pub const DEFAULT_HORIZON_DAYS: u32 = 180;

/// Which model family to train.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ModelFamily {
    /// Both; keep the better on cross-validated ROC AUC.
    #[default]
    Auto,
    /// Regularised logistic regression.
    Linear,
    /// Gradient-boosted decision trees.
    Gbdt,
}

fn default_horizon() -> u32 {
    DEFAULT_HORIZON_DAYS
}

fn yes() -> bool {
    true
}

/// What to train, and how.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TrainRequest {
    /// Fields to leave out: a name as reports show it (`Lead Quality`) or a custom field's key
    /// (`lead_quality`), case-insensitive, or a prefix ending in `*` (`Asymmetrique *`). Leave
    /// out what sales fills after contact: it leaks the outcome.
    #[serde(default)]
    pub exclude: Vec<String>,
    #[serde(default)]
    pub family: ModelFamily,
    /// A contact that has not converted this many days after it was created counts as not
    /// converted (1–3650; default 180).
    #[serde(default = "default_horizon")]
    pub horizon_days: u32,
    /// Seeds the split and the folds: the same data and seed give the same model.
    #[serde(default)]
    pub seed: u64,
    /// Make the new model the active one (default true).
    #[serde(default = "yes")]
    pub activate: bool,
}

impl Default for TrainRequest {
    fn default() -> Self {
        TrainRequest {
            exclude: Vec::new(),
            family: ModelFamily::Auto,
            horizon_days: DEFAULT_HORIZON_DAYS,
            seed: 0,
            activate: true,
        }
    }
}

impl TrainRequest {
    fn check(&self) -> Result<(), AppError> {
        let mut errors = leadgate_core::validation::ValidationErrors::new();
        if !(1..=3650).contains(&self.horizon_days) {
            errors.add("horizon_days", "must be between 1 and 3650 days");
        }
        if self.exclude.len() > 500 {
            errors.add("exclude", "at most 500 patterns");
        }
        for (i, p) in self.exclude.iter().enumerate() {
            if p.trim().is_empty() || p.len() > 200 {
                errors.add(format!("exclude[{i}]"), "must be a field name (1 to 200 characters)");
            }
        }
        if errors.is_empty() { Ok(()) } else { Err(AppError::Invalid(errors)) }
    }
}

/// The held-out quality of a model, in the numbers a marketer reads.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ModelQuality {
    /// Probability that a converted contact is ranked above a non-converted one (0.5 is chance).
    pub roc_auc: f64,
    pub log_loss: f64,
    pub brier_score: f64,
    /// How many times more converters the top 10 % of predictions hold than average.
    pub top_decile_lift: f64,
    /// Share of held-out contacts that converted.
    pub base_rate: f64,
}

/// How many contacts training read, by outcome.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OutcomeCounts {
    pub converted: u64,
    pub not_converted: u64,
    /// Open leads: not used for training.
    pub open: u64,
}

/// A model version and its report.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ModelView {
    pub version: i64,
    /// `linear` or `gbdt`.
    pub family: String,
    pub active: bool,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub trained_at: Timestamp,
    pub training_ms: i64,
    pub trained_by: Option<UserId>,
    pub request: TrainRequest,
    pub outcomes: OutcomeCounts,
    pub quality: Option<ModelQuality>,
    /// Whether cross-validation found signal (a model without is never activated).
    pub found_signal: bool,
    /// The verdict on what the model learned, for people.
    pub verdict: String,
    /// The full training report: every family tried with its held-out and cross-validated
    /// metrics, the calibration table (10 bins), fields used, excluded and dropped (and why),
    /// row counts.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub report: serde_json::Value,
}

/// What is stored beside a model's report.
#[derive(Serialize, Deserialize)]
struct StoredOptions {
    request: TrainRequest,
    outcomes: OutcomeCounts,
}

/// Whether a model may be activated, and why: the verdict of its cross-validation in plain
/// words (`things` are what it predicts, `yes`/`no` the two outcomes, `from` what it reads). A
/// report without cross-validation (too few rows to fold) counts as signal, as before verdicts.
pub(crate) fn signal_verdict(
    signal: Option<&leadgate_model::Signal>,
    things: &str,
    yes: &str,
    no: &str,
    from: &str,
) -> (bool, String) {
    match signal {
        None => (true, format!("Too few {things} to cross-validate this model: its quality is unknown.")),
        Some(s) if s.found => (
            true,
            format!(
                "This model ranks {things} that {yes} above those that {no} better than chance (cross-validated \
                 AUC {:.2}, at least {:.2}) and predicts better than the base rate of {:.0} %.",
                s.auc_mean,
                s.auc_lower,
                s.base_rate * 100.0
            ),
        ),
        Some(s) => (
            false,
            format!(
                "No signal: from {from}, this model tells {things} that {yes} from those that {no} no better than \
                 chance (cross-validated AUC {:.2}; 0.5 is a coin toss) and predicts no better than the base rate \
                 of {:.0} %. It is not activated: its probabilities would look precise and mean nothing.",
                s.auc_mean,
                s.base_rate * 100.0
            ),
        ),
    }
}

fn contact_verdict(report: &serde_json::Value) -> (bool, String) {
    let signal = serde_json::from_value::<leadgate_model::TrainingReport>(report.clone())
        .ok()
        .and_then(|r| r.signal());
    signal_verdict(signal.as_ref(), "contacts", "converted", "did not", "their fields and activity")
}

fn model_view(r: ModelRecord) -> ModelView {
    let stored: Option<StoredOptions> = serde_json::from_value(r.options.clone()).ok();
    let (found_signal, verdict) = contact_verdict(&r.report);
    let quality = serde_json::from_value::<leadgate_model::TrainingReport>(r.report.clone())
        .ok()
        .and_then(|report| report.chosen().map(|c| c.test.clone()))
        .map(|t| ModelQuality {
            roc_auc: t.auc,
            log_loss: t.log_loss,
            brier_score: t.brier,
            top_decile_lift: t.top_decile_lift,
            base_rate: t.base_rate,
        });
    ModelView {
        version: r.version,
        family: r.family,
        active: r.active,
        trained_at: r.trained_at,
        training_ms: r.training_ms,
        trained_by: r.trained_by,
        request: stored.as_ref().map(|s| s.request.clone()).unwrap_or_default(),
        outcomes: stored.map(|s| s.outcomes).unwrap_or_default(),
        quality,
        found_signal,
        verdict,
        report: r.report,
    }
}

/// A field's share of one lead's prediction.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Factor {
    pub field: String,
    /// The field and the lead's value: `Lead Source = Reference`, `Country is missing`.
    pub label: String,
    /// In log-odds; positive pushes towards converting.
    pub contribution: f64,
}

/// One lead's probability of converting and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PredictionView {
    pub contact_id: ContactId,
    pub model_version: i64,
    /// Calibrated probability of converting (0–1).
    pub probability: f64,
    /// The model's output in log-odds, before calibration.
    pub raw_score: f64,
    /// Log-odds of a lead about which nothing is known; `base_value + Σ contributions =
    /// raw_score`.
    pub base_value: f64,
    /// Every field the model used, largest effect first.
    pub factors: Vec<Factor>,
    /// When the stored probability (the one lists sort on) was computed, if it was.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub stored_at: Option<Timestamp>,
}

/// The active model, compiled once per version per server (each use still reads which version
/// is active, so an activation through another server is seen at once).
#[derive(Default)]
pub(crate) struct ModelCache(RwLock<Option<(i64, Arc<TrainedModel>)>>);

/// Whether a contact converted, and the instant up to which its history may be read; `None`
/// for an open lead.
pub fn outcome_of(f: &PredictionFacts, now: Timestamp, horizon: SignedDuration) -> Option<(bool, Timestamp)> {
    let decided_at = f.outcome_at.or(f.stage_changed_at).unwrap_or(now).min(now);
    let stage = f.contact.lifecycle_stage;
    // A churned contact was a customer: it converted (what it did after is not read).
    if matches!(stage, LifecycleStage::Customer | LifecycleStage::Churned)
        || f.outcome == Some(true)
        || f.deals_won > 0
    {
        return Some((true, decided_at));
    }
    if f.outcome == Some(false)
        || stage == LifecycleStage::Disqualified
        || (f.deals > 0 && f.deals_lost == f.deals)
    {
        return Some((false, decided_at));
    }
    if f.deals > f.deals_won + f.deals_lost {
        return None; // a deal is still open
    }
    let deadline = f.contact.created_at.checked_add(horizon).ok()?;
    (deadline <= now).then_some((false, deadline))
}

/// Names of the fields a model reads, as reports and explanations show them.
pub struct FieldNames {
    contact: HashMap<String, String>,
    company: HashMap<String, String>,
    /// Custom field key by name, so exclusions may use either.
    keys: HashMap<String, String>,
}

const STANDARD: [&str; 11] = [
    "Source",
    "Campaign",
    "Country",
    "City",
    "Job title",
    "Do not e-mail",
    "Do not call",
    "Company sector",
    "Company employees",
    "Company annual revenue",
    "Company country",
];
const LAST_30: &str = " (last 30 days)";
const LAST_90: &str = " (last 90 days)";
const ALL_TIME: &str = " (all time)";
const DAYS_SINCE: &str = "Days since last activity";

impl FieldNames {
    pub fn new(defs: &[CustomFieldDefinition]) -> FieldNames {
        let mut taken: std::collections::HashSet<String> =
            STANDARD.iter().map(|s| s.to_lowercase()).collect();
        let mut names = FieldNames { contact: HashMap::new(), company: HashMap::new(), keys: HashMap::new() };
        for d in defs {
            let base = match d.entity {
                FieldEntity::Contact => d.label.trim().to_string(),
                FieldEntity::Company => format!("Company {}", d.label.trim()),
            };
            let mut name = if base.trim().is_empty() { d.key.clone() } else { base };
            if !taken.insert(name.to_lowercase()) {
                name = format!("{name} ({})", d.key);
                taken.insert(name.to_lowercase());
            }
            names.keys.insert(name.clone(), d.key.clone());
            match d.entity {
                FieldEntity::Contact => names.contact.insert(d.key.clone(), name),
                FieldEntity::Company => names.company.insert(d.key.clone(), name),
            };
        }
        names
    }

    /// Every name a contact's fields can have, except counts of custom event kinds.
    fn known_names(&self) -> Vec<String> {
        let mut out: Vec<String> = STANDARD.iter().map(|s| s.to_string()).collect();
        out.extend(self.contact.values().cloned());
        out.extend(self.company.values().cloned());
        for (kind, _) in leadgate_core::event::BUILT_IN_KINDS {
            out.extend([LAST_30, LAST_90, ALL_TIME].map(|w| format!("{kind}{w}")));
        }
        out.push(DAYS_SINCE.to_string());
        out.sort();
        out
    }

    /// Resolves exclusion patterns to the exact names of `columns`; a pattern naming nothing is
    /// an error that lists the fields (a typo must not train a leaking model).
    /// With `check_prefixes` false, prefix patterns are accepted unchecked.
    fn resolve_exclusions(
        &self,
        patterns: &[String],
        columns: &[String],
        check_prefixes: bool,
    ) -> Result<Vec<String>, AppError> {
        let matches = |pattern: &str, text: &str| {
            let (p, t) = (pattern.trim().to_lowercase(), text.to_lowercase());
            match p.strip_suffix('*') {
                Some(prefix) => t.starts_with(prefix.trim_end()),
                None => t == p,
            }
        };
        let mut out = Vec::new();
        let mut errors = leadgate_core::validation::ValidationErrors::new();
        for (i, pattern) in patterns.iter().enumerate() {
            let found: Vec<&String> = columns
                .iter()
                .filter(|c| matches(pattern, c) || self.keys.get(*c).is_some_and(|k| matches(pattern, k)))
                .collect();
            if found.is_empty() && (check_prefixes || !pattern.trim_end().ends_with('*')) {
                let fields: Vec<&str> = columns
                    .iter()
                    .map(String::as_str)
                    .filter(|c| absent_value(c) == Value::Missing && *c != DAYS_SINCE)
                    .collect();
                errors.add(
                    format!("exclude[{i}]"),
                    format!(
                        "no field is named `{pattern}`; the fields are: {}, and from the timeline \
                         `{DAYS_SINCE}` and per event kind `<kind>{LAST_30}`, `<kind>{LAST_90}`, \
                         `<kind>{ALL_TIME}` (e.g. `page_view*` for all three)",
                        fields.join(", ")
                    ),
                );
            }
            out.extend(found.into_iter().cloned());
        }
        out.sort();
        out.dedup();
        if errors.is_empty() { Ok(out) } else { Err(AppError::Invalid(errors)) }
    }
}

fn json_value(v: &serde_json::Value) -> Value {
    match v {
        serde_json::Value::Null => Value::Missing,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => n.as_f64().map_or(Value::Missing, Value::Number),
        serde_json::Value::String(s) => Value::Text(s.clone()),
        other => Value::Text(other.to_string()),
    }
}

fn text(v: Option<&str>) -> Value {
    v.map_or(Value::Missing, |s| Value::Text(s.to_string()))
}

/// The value a contact has for a field it does not mention: no events of a kind is a count
/// of zero, anything else is missing.
fn absent_value(name: &str) -> Value {
    if name.ends_with(LAST_30) || name.ends_with(LAST_90) || name.ends_with(ALL_TIME) {
        Value::Number(0.0)
    } else {
        Value::Missing
    }
}

/// A contact as a model reads it: named values, as of `cutoff`.
pub fn contact_features(
    f: &PredictionFacts,
    counts: &[KindCounts],
    cutoff: Timestamp,
    names: &FieldNames,
) -> Vec<(String, Value)> {
    let c = &f.contact;
    let co = f.company.as_ref();
    let mut row: Vec<(String, Value)> = vec![
        ("Source".into(), text(c.source.as_deref())),
        ("Campaign".into(), text(c.campaign.as_deref())),
        ("Country".into(), text(c.country.as_deref())),
        ("City".into(), text(c.city.as_deref())),
        ("Job title".into(), text(c.job_title.as_deref())),
        ("Do not e-mail".into(), Value::Bool(c.do_not_email)),
        ("Do not call".into(), Value::Bool(c.do_not_call)),
        ("Company sector".into(), text(co.and_then(|x| x.sector.as_deref()))),
        (
            "Company employees".into(),
            co.and_then(|x| x.employees).map_or(Value::Missing, |n| Value::Number(n as f64)),
        ),
        (
            "Company annual revenue".into(),
            co.and_then(|x| x.annual_revenue).map_or(Value::Missing, Value::Number),
        ),
        ("Company country".into(), text(co.and_then(|x| x.country.as_deref()))),
    ];
    for (key, v) in &c.custom {
        if let Some(name) = names.contact.get(key) {
            row.push((name.clone(), json_value(v)));
        }
    }
    if let Some(co) = co {
        for (key, v) in &co.custom {
            if let Some(name) = names.company.get(key) {
                row.push((name.clone(), json_value(v)));
            }
        }
    }
    let mut last: Option<Timestamp> = None;
    for k in counts {
        row.push((format!("{}{LAST_30}", k.kind), Value::Number(k.last_30_days as f64)));
        row.push((format!("{}{LAST_90}", k.kind), Value::Number(k.last_90_days as f64)));
        row.push((format!("{}{ALL_TIME}", k.kind), Value::Number(k.total as f64)));
        last = last.max(Some(k.last_at));
    }
    if let Some(last) = last {
        let days = (cutoff.as_second() - last.as_second()).max(0) as f64 / 86_400.0;
        row.push((DAYS_SINCE.into(), Value::Number((days * 10.0).round() / 10.0)));
    }
    row
}

/// Builds a [`Dataset`] one contact at a time; fields first seen late are backfilled.
#[derive(Default)]
struct DatasetBuilder {
    index: HashMap<String, usize>,
    columns: Vec<Column>,
    labels: Vec<bool>,
}

impl DatasetBuilder {
    fn push(&mut self, row: Vec<(String, Value)>, label: bool) {
        let n = self.labels.len();
        for (name, value) in row {
            let i = match self.index.get(&name) {
                Some(&i) => i,
                None => {
                    let fill = absent_value(&name);
                    self.columns.push(Column { name: name.clone(), values: vec![fill; n] });
                    self.index.insert(name, self.columns.len() - 1);
                    self.columns.len() - 1
                }
            };
            self.columns[i].values.push(value);
        }
        self.labels.push(label);
        for c in &mut self.columns {
            if c.values.len() == n {
                c.values.push(absent_value(&c.name));
            }
        }
    }
}

/// Puts a contact's named values in the order of the model's input fields.
fn model_row(model: &TrainedModel, row: Vec<(String, Value)>) -> Vec<Value> {
    let mut by_name: BTreeMap<String, Value> = row.into_iter().collect();
    model
        .input_fields()
        .iter()
        .map(|name| by_name.remove(name).unwrap_or_else(|| absent_value(name)))
        .collect()
}

fn train_error(e: TrainError) -> AppError {
    match e {
        TrainError::TooFewOutcomes { .. } => AppError::StateConflict(e.to_string()),
        TrainError::NoUsableFeature { .. } => AppError::invalid("exclude", e.to_string()),
        TrainError::InvalidOption { option, .. } => AppError::invalid(option, e.to_string()),
        other => AppError::Internal(other.to_string()),
    }
}

impl App {
    /// Trains a model on every contact whose outcome is known, stores it as the next version
    /// with its report and, if asked, activates it and queues the prediction of every contact.
    pub async fn train_model(
        &self,
        principal: &Principal,
        request: &TrainRequest,
        progress: &mut dyn Progress,
    ) -> Result<ModelView, AppError> {
        principal.require(Permission::ManageModels)?;
        request.check()?;
        let started = std::time::Instant::now();
        let now = self.now();
        let horizon = SignedDuration::from_hours(24 * i64::from(request.horizon_days));
        let mut s = self.store.read().await?;
        let names = FieldNames::new(&s.custom_fields(None).await?);
        let total = s.count_contacts().await?.max(0) as u64;
        let mut builder = DatasetBuilder::default();
        let mut outcomes = OutcomeCounts::default();
        let mut after = None;
        let mut done = 0;
        progress.update(0, total);
        loop {
            let ids = s.contact_ids_after(after, PREDICT_CHUNK).await?;
            let Some(&last) = ids.last() else { break };
            after = Some(last);
            let facts = s.prediction_facts(&ids).await?;
            let labelled: Vec<(&PredictionFacts, bool, Timestamp)> = facts
                .iter()
                .filter_map(|f| match outcome_of(f, now, horizon) {
                    Some((label, cutoff)) => Some((f, label, cutoff)),
                    None => {
                        outcomes.open += 1;
                        None
                    }
                })
                .collect();
            let cutoffs: Vec<(ContactId, Timestamp)> =
                labelled.iter().map(|(f, _, cutoff)| (f.contact.id, *cutoff)).collect();
            let counts = s.timeline_counts(&cutoffs).await?;
            for (f, label, cutoff) in labelled {
                let kinds = counts.get(&f.contact.id).map_or(&[][..], Vec::as_slice);
                builder.push(contact_features(f, kinds, cutoff, &names), label);
                if label {
                    outcomes.converted += 1;
                } else {
                    outcomes.not_converted += 1;
                }
            }
            done += ids.len() as u64;
            progress.update(done, total);
        }
        drop(s);

        let columns: Vec<String> = builder.columns.iter().map(|c| c.name.clone()).collect();
        let excluded = names.resolve_exclusions(&request.exclude, &columns, true)?;
        let dataset = Dataset { columns: builder.columns, labels: builder.labels };
        let mut options = TrainOptions { seed: request.seed, ..TrainOptions::default() };
        options.family = match request.family {
            ModelFamily::Auto => FamilyChoice::Auto,
            ModelFamily::Linear => FamilyChoice::Linear,
            ModelFamily::Gbdt => FamilyChoice::Gbdt,
        };
        options.features.excluded_fields = excluded;
        let model = tokio::task::spawn_blocking(move || leadgate_model::train(&dataset, &options))
            .await
            .map_err(|e| AppError::Internal(format!("training stopped: {e}")))?
            .map_err(train_error)?;
        let training_ms = started.elapsed().as_millis() as i64;

        let report = serde_json::to_value(model.report()).map_err(|e| AppError::Internal(e.to_string()))?;
        let json = model.to_json().map_err(|e| AppError::Internal(e.to_string()))?;
        let family = match model.family() {
            leadgate_model::Family::Linear => "linear",
            leadgate_model::Family::Gbdt => "gbdt",
        };
        let stored = StoredOptions { request: request.clone(), outcomes };
        let mut tx = self.store.begin().await?;
        let version = tx
            .insert_model(&NewModel {
                family: family.to_string(),
                options: serde_json::to_value(&stored).map_err(|e| AppError::Internal(e.to_string()))?,
                report,
                model: json,
                trained_by: Some(principal.user.id),
                trained_at: now,
                training_ms,
            })
            .await?;
        // A model without signal is kept for its report, never activated.
        let found_signal = model.report().signal().is_none_or(|s| s.found);
        if request.activate && found_signal {
            self.activate_in(&mut tx, version, Some(principal.user.id)).await?;
        } else if request.activate {
            tracing::warn!(version, "model found no signal; not activated");
        }
        let record =
            tx.get_model(version).await?.ok_or_else(|| AppError::Internal("model vanished".into()))?;
        tx.commit().await?;
        tracing::info!(version, family, training_ms, "model trained");
        Ok(model_view(record))
    }

    /// Makes `version` active and queues the prediction of every contact with it.
    pub async fn activate_model(&self, principal: &Principal, version: i64) -> Result<ModelView, AppError> {
        principal.require(Permission::ManageModels)?;
        let mut tx = self.store.begin().await?;
        let Some(record) = tx.get_model(version).await? else {
            return Err(AppError::not_found("model version", version));
        };
        let (found_signal, verdict) = contact_verdict(&record.report);
        if !found_signal {
            return Err(AppError::StateConflict(verdict));
        }
        self.activate_in(&mut tx, version, Some(principal.user.id)).await?;
        let record =
            tx.get_model(version).await?.ok_or_else(|| AppError::Internal("model vanished".into()))?;
        let target = Some(version.to_string());
        self.audit_in(&mut tx, Some(principal), "model.activated", target, None, serde_json::json!({}))
            .await?;
        tx.commit().await?;
        Ok(model_view(record))
    }

    async fn activate_in(&self, tx: &mut Session, version: i64, by: Option<UserId>) -> Result<(), AppError> {
        tx.activate_model(version).await?;
        let now = self.now();
        // One predict job at a time: a running one notices the new version and starts over.
        tx.enqueue_job_once(
            NewJob {
                id: JobId(new_uuid()),
                kind: PREDICT_JOB.to_string(),
                payload: serde_json::json!({}),
                run_at: now,
                max_attempts: 5,
                created_by: by,
            },
            PREDICT_JOB,
            now,
        )
        .await?;
        Ok(())
    }

    /// Queues a training run as a background job (the API's way; the CLI trains in-process).
    /// Exclusions naming no field are refused at once (prefixes are checked by the job, which
    /// sees every field of the data).
    pub async fn start_training(
        &self,
        principal: &Principal,
        request: &TrainRequest,
    ) -> Result<leadgate_store::jobs::Job, AppError> {
        principal.require(Permission::ManageModels)?;
        request.check()?;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let names = FieldNames::new(&tx.custom_fields(None).await?);
        names.resolve_exclusions(&request.exclude, &names.known_names(), false)?;
        let job = tx
            .enqueue_job(
                NewJob {
                    id: JobId(new_uuid()),
                    kind: TRAIN_JOB.to_string(),
                    payload: serde_json::to_value(request).map_err(|e| AppError::Internal(e.to_string()))?,
                    run_at: now,
                    max_attempts: 3,
                    created_by: Some(principal.user.id),
                },
                now,
            )
            .await?;
        tx.commit().await?;
        Ok(job)
    }

    pub async fn models(&self, principal: &Principal) -> Result<Vec<ModelView>, AppError> {
        principal.require(Permission::ReadContacts)?;
        let mut s = self.store.read().await?;
        Ok(s.list_models().await?.into_iter().map(model_view).collect())
    }

    pub async fn model(&self, principal: &Principal, version: i64) -> Result<ModelView, AppError> {
        principal.require(Permission::ReadContacts)?;
        let mut s = self.store.read().await?;
        s.get_model(version)
            .await?
            .map(model_view)
            .ok_or_else(|| AppError::not_found("model version", version))
    }

    /// The active model, loaded once per version.
    pub(crate) async fn active_model(
        &self,
        s: &mut Session,
    ) -> Result<Option<(i64, Arc<TrainedModel>)>, AppError> {
        let Some(version) = s.active_model_version().await? else { return Ok(None) };
        if let Some((v, m)) = self.model_cache.0.read().expect("model cache").as_ref()
            && *v == version
        {
            return Ok(Some((version, m.clone())));
        }
        let json =
            s.model_json(version).await?.ok_or_else(|| AppError::Internal("active model vanished".into()))?;
        let model = Arc::new(
            TrainedModel::from_json(&json)
                .map_err(|e| AppError::Internal(format!("stored model {version} cannot be read: {e}")))?,
        );
        *self.model_cache.0.write().expect("model cache") = Some((version, model.clone()));
        Ok(Some((version, model)))
    }

    /// One contact's probability from the active model, computed now, with every factor.
    pub async fn contact_prediction(
        &self,
        principal: &Principal,
        id: ContactId,
    ) -> Result<PredictionView, AppError> {
        let now = self.now();
        let mut s = self.store.read().await?;
        self.require_read(&mut s, principal, id).await?;
        let facts = s.prediction_facts(&[id]).await?;
        let Some(f) = facts.first() else { return Err(AppError::not_found("contact", id)) };
        let Some((version, model)) = self.active_model(&mut s).await? else {
            return Err(AppError::StateConflict(
                "no prediction model yet: train one with `leadgate train` or POST /api/v1/models/train"
                    .into(),
            ));
        };
        let names = FieldNames::new(&s.custom_fields(None).await?);
        let counts = s.timeline_counts(&[(id, now)]).await?;
        let kinds = counts.get(&id).map_or(&[][..], Vec::as_slice);
        let row = model_row(&model, contact_features(f, kinds, now, &names));
        let p = model.predict(&row).map_err(|e| AppError::Internal(e.to_string()))?;
        let stored = s.prediction(id).await?;
        Ok(PredictionView {
            contact_id: id,
            model_version: version,
            probability: p.probability,
            raw_score: p.raw_score,
            base_value: p.base_value,
            factors: p
                .contributions
                .into_iter()
                .map(|c| Factor { field: c.field, label: c.label, contribution: c.value })
                .collect(),
            stored_at: stored.filter(|p| p.model_version == version).map(|p| p.predicted_at),
        })
    }

    /// The fields that weigh most in the active model's predictions: the mean absolute
    /// contribution (log-odds) per field over up to `sample` contacts, largest first. `None`
    /// without an active model.
    pub async fn model_influence(
        &self,
        principal: &Principal,
        sample: u32,
    ) -> Result<Option<Vec<(String, f64)>>, AppError> {
        principal.require(Permission::ReadContacts)?;
        let now = self.now();
        let mut s = self.store.read().await?;
        let Some((_, model)) = self.active_model(&mut s).await? else { return Ok(None) };
        let ids = s.contact_ids_after(None, sample.clamp(1, 2_000)).await?;
        let names = FieldNames::new(&s.custom_fields(None).await?);
        let facts = s.prediction_facts(&ids).await?;
        let cutoffs: Vec<(ContactId, Timestamp)> = facts.iter().map(|f| (f.contact.id, now)).collect();
        let counts = s.timeline_counts(&cutoffs).await?;
        let mut sums: std::collections::HashMap<String, f64> = std::collections::HashMap::new();
        for f in &facts {
            let kinds = counts.get(&f.contact.id).map_or(&[][..], Vec::as_slice);
            let row = model_row(&model, contact_features(f, kinds, now, &names));
            let p = model.predict(&row).map_err(|e| AppError::Internal(e.to_string()))?;
            for c in p.contributions {
                *sums.entry(c.field).or_default() += c.value.abs();
            }
        }
        let n = facts.len().max(1) as f64;
        let mut out: Vec<(String, f64)> =
            sums.into_iter().map(|(k, v)| (k, v / n)).filter(|(_, v)| *v > 0.0).collect();
        out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        Ok(Some(out))
    }

    /// Predicts `ids` with `model` as of now and stores the probabilities.
    async fn predict_in(
        &self,
        tx: &mut Session,
        ids: &[ContactId],
        version: i64,
        model: &TrainedModel,
        names: &FieldNames,
    ) -> Result<usize, AppError> {
        let now = self.now();
        let facts = tx.prediction_facts(ids).await?;
        let cutoffs: Vec<(ContactId, Timestamp)> = facts.iter().map(|f| (f.contact.id, now)).collect();
        let counts = tx.timeline_counts(&cutoffs).await?;
        let mut scorer = model.scorer();
        let mut out = Vec::with_capacity(facts.len());
        for f in &facts {
            let kinds = counts.get(&f.contact.id).map_or(&[][..], Vec::as_slice);
            let row = model_row(model, contact_features(f, kinds, now, names));
            let (raw_score, probability) =
                scorer.score(&row).map_err(|e| AppError::Internal(e.to_string()))?;
            out.push(StoredPrediction {
                contact: f.contact.id,
                model_version: version,
                probability,
                raw_score,
                predicted_at: now,
            });
        }
        tx.save_predictions(&out).await?;
        Ok(out.len())
    }

    /// Marks contacts whose data changed for prediction, when a model is active (called in the
    /// transaction of the change; the job runner predicts them soon after).
    pub(crate) async fn queue_prediction_in(
        &self,
        tx: &mut Session,
        ids: &[ContactId],
    ) -> Result<(), AppError> {
        if !ids.is_empty() && tx.active_model_version().await?.is_some() {
            tx.queue_predictions(ids, self.now()).await?;
        }
        Ok(())
    }

    /// Predicts up to one chunk of queued contacts. Returns how many were predicted.
    pub async fn refresh_predictions(&self) -> Result<usize, AppError> {
        let mut tx = self.store.begin().await?;
        let ids = tx.take_prediction_queue(PREDICT_CHUNK).await?;
        if ids.is_empty() {
            return Ok(0);
        }
        let Some((version, model)) = self.active_model(&mut tx).await? else {
            tx.commit().await?;
            return Ok(0);
        };
        let names = FieldNames::new(&tx.custom_fields(None).await?);
        let n = self.predict_in(&mut tx, &ids, version, &model, &names).await?;
        tx.commit().await?;
        Ok(n.max(1))
    }

    /// The predict job: every contact with the active model, a chunk per transaction with its
    /// checkpoint; starts over when another version becomes active meanwhile.
    pub(crate) async fn predict_job(
        &self,
        job: &leadgate_store::jobs::Job,
        lease: &Lease,
        progress: &mut dyn Progress,
    ) -> Result<serde_json::Value, AppError> {
        let checkpoint: Option<(i64, uuid::Uuid)> = job.checkpoint.as_deref().and_then(|c| {
            let (v, id) = c.split_once(':')?;
            Some((v.parse().ok()?, id.parse().ok()?))
        });
        let total = self.store.read().await?.count_contacts().await?;
        let mut state: Option<(i64, Option<ContactId>, i64)> =
            checkpoint.map(|(v, id)| (v, Some(ContactId(id)), job.progress_done));
        loop {
            let now = self.now();
            let mut tx = self.store.begin_batch().await?;
            let Some((version, model)) = self.active_model(&mut tx).await? else {
                return Ok(serde_json::json!({ "predicted": 0, "reason": "no active model" }));
            };
            let (after, done) = match state {
                Some((v, after, done)) if v == version => (after, done),
                _ => (None, 0), // first step, or another version was activated: start over
            };
            let ids = tx.contact_ids_after(after, PREDICT_CHUNK).await?;
            let Some(&last) = ids.last() else {
                return Ok(serde_json::json!({ "predicted": done, "model_version": version }));
            };
            let names = FieldNames::new(&tx.custom_fields(None).await?);
            let n = self.predict_in(&mut tx, &ids, version, &model, &names).await? as i64;
            let still = tx
                .job_progress(
                    lease,
                    done + n,
                    Some(total),
                    Some(&format!("{version}:{}", last.as_uuid())),
                    now + self.job_lease,
                    now,
                )
                .await?;
            if !still {
                return Err(AppError::Internal("the predict job was taken over by another worker".into()));
            }
            tx.commit().await?;
            progress.update((done + n) as u64, total.max(0) as u64);
            state = Some((version, Some(last), done + n));
        }
    }

    /// Runs the queued predict job here and now (the CLI after `train`), unless a server is
    /// already running it. Returns how many contacts were predicted.
    pub async fn predict_now(&self, progress: &mut dyn Progress) -> Result<u64, AppError> {
        let owner = crate::jobs::worker_name();
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let job = tx.claim_job(&owner, &[PREDICT_JOB], now + self.job_lease, now).await?;
        tx.commit().await?;
        let Some(job) = job else { return Ok(0) };
        let lease = Lease::of(&job, &owner);
        let outcome = self.with_heartbeat(&lease, self.predict_job(&job, &lease, progress)).await;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        match &outcome {
            Ok(result) => tx.finish_job(&lease, result, now).await?,
            Err(e) => tx.fail_job(&lease, &e.to_string(), Some(now), now).await?,
        };
        tx.commit().await?;
        Ok(outcome?.get("predicted").and_then(|v| v.as_u64()).unwrap_or(0))
    }

    /// The train job: trains with the job's request and reports the new version.
    pub(crate) async fn train_job(
        &self,
        job: &leadgate_store::jobs::Job,
        lease: &Lease,
    ) -> Result<serde_json::Value, AppError> {
        let request: TrainRequest = serde_json::from_value(job.payload.clone())
            .map_err(|e| AppError::Internal(format!("train job payload: {e}")))?;
        let principal = self.job_principal(job.created_by).await?;
        let mut progress = JobProgress { app: self, lease, last: None };
        let view = self.train_model(&principal, &request, &mut progress).await?;
        Ok(
            serde_json::json!({ "model_version": view.version, "family": view.family, "quality": view.quality }),
        )
    }

    /// Queues a retraining with the latest model's request if it is older than `every` (the
    /// servers' `--retrain-every-days`); servers sharing a database queue it once.
    pub async fn schedule_retraining(&self, every: SignedDuration) -> Result<Option<JobId>, AppError> {
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let latest = tx.list_models().await?.into_iter().next();
        let Some(latest) = latest else {
            tx.commit().await?;
            return Ok(None); // nothing to retrain: the first model is trained by a person
        };
        if latest.trained_at.checked_add(every).is_ok_and(|due| due > now) {
            tx.commit().await?;
            return Ok(None);
        }
        let request =
            serde_json::from_value::<StoredOptions>(latest.options).map(|o| o.request).unwrap_or_default();
        let job = tx
            .enqueue_job_once(
                NewJob {
                    id: JobId(new_uuid()),
                    kind: TRAIN_JOB.to_string(),
                    payload: serde_json::to_value(&request).map_err(|e| AppError::Internal(e.to_string()))?,
                    run_at: now,
                    max_attempts: 3,
                    created_by: None,
                },
                "scheduled-training",
                now,
            )
            .await?;
        tx.commit().await?;
        Ok(job.map(|j| j.id))
    }
}

/// Reports training progress to the job row (at most once a second).
pub(crate) struct JobProgress<'a> {
    pub(crate) app: &'a App,
    pub(crate) lease: &'a Lease,
    pub(crate) last: Option<std::time::Instant>,
}

impl Progress for JobProgress<'_> {
    fn update(&mut self, done: u64, total: u64) {
        if self.last.is_some_and(|t| t.elapsed() < std::time::Duration::from_secs(1)) && done < total {
            return;
        }
        self.last = Some(std::time::Instant::now());
        let (app, lease) = (self.app.clone(), self.lease.clone());
        // Progress is advisory: written in its own small transaction, off the training path.
        tokio::spawn(async move {
            let now = app.now();
            if let Ok(mut tx) = app.store.begin().await
                && tx
                    .job_progress(&lease, done as i64, Some(total as i64), None, now + app.job_lease, now)
                    .await
                    .is_ok()
            {
                let _ = tx.commit().await;
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use leadgate_core::contact::NewContact;
    use leadgate_core::custom_field::FieldType;
    use leadgate_core::email::Email;

    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn facts(created: &str) -> PredictionFacts {
        let contact = NewContact::lead(Email::parse("a@b.example").unwrap())
            .into_contact(ContactId(uuid::Uuid::now_v7()), at(created));
        PredictionFacts {
            contact,
            company: None,
            outcome: None,
            outcome_at: None,
            stage_changed_at: None,
            deals_won: 0,
            deals_lost: 0,
            deals: 0,
        }
    }

    #[test]
    fn open_leads_are_never_negatives_before_the_horizon() {
        let now = at("2026-06-01T00:00:00Z");
        let horizon = SignedDuration::from_hours(24 * 180);
        let young = facts("2026-03-01T00:00:00Z");
        assert_eq!(outcome_of(&young, now, horizon), None, "open lead");
        let old = facts("2025-06-01T00:00:00Z");
        let deadline = at("2025-06-01T00:00:00Z").checked_add(horizon).unwrap();
        assert_eq!(outcome_of(&old, now, horizon), Some((false, deadline)), "history read up to the horizon");

        let mut customer = facts("2026-05-01T00:00:00Z");
        customer.contact.lifecycle_stage = LifecycleStage::Customer;
        customer.stage_changed_at = Some(at("2026-05-20T00:00:00Z"));
        assert_eq!(outcome_of(&customer, now, horizon), Some((true, at("2026-05-20T00:00:00Z"))));

        let mut imported = facts("2026-05-01T00:00:00Z");
        imported.outcome = Some(false);
        imported.outcome_at = Some(at("2026-05-02T00:00:00Z"));
        assert_eq!(outcome_of(&imported, now, horizon), Some((false, at("2026-05-02T00:00:00Z"))));
        imported.contact.lifecycle_stage = LifecycleStage::Customer;
        assert_eq!(
            outcome_of(&imported, now, horizon).map(|o| o.0),
            Some(true),
            "became a customer after all"
        );

        let mut disqualified = facts("2026-05-01T00:00:00Z");
        disqualified.contact.lifecycle_stage = LifecycleStage::Disqualified;
        assert_eq!(outcome_of(&disqualified, now, horizon).map(|o| o.0), Some(false));

        let mut dealing = facts("2024-01-01T00:00:00Z");
        dealing.deals = 2;
        dealing.deals_lost = 1;
        assert_eq!(outcome_of(&dealing, now, horizon), None, "a deal still open: not a negative");
        dealing.deals_lost = 2;
        assert_eq!(outcome_of(&dealing, now, horizon).map(|o| o.0), Some(false), "every deal lost");
        dealing.deals_won = 1;
        assert_eq!(outcome_of(&dealing, now, horizon).map(|o| o.0), Some(true), "a deal won");
    }

    fn def(entity: FieldEntity, key: &str, label: &str) -> CustomFieldDefinition {
        CustomFieldDefinition {
            entity,
            key: key.into(),
            label: label.into(),
            field_type: FieldType::Text,
            choices: vec![],
        }
    }

    #[test]
    fn features_name_fields_as_people_do_and_count_the_timeline() {
        let names = FieldNames::new(&[
            def(FieldEntity::Contact, "lead_quality", "Lead Quality"),
            def(FieldEntity::Contact, "country", "Country"),
            def(FieldEntity::Company, "tier", "Tier"),
        ]);
        let mut f = facts("2026-01-01T00:00:00Z");
        f.contact.custom.insert("lead_quality".into(), serde_json::json!("High"));
        f.contact.custom.insert("country".into(), serde_json::json!(3));
        f.contact.custom.insert("undeclared".into(), serde_json::json!(true));
        let cutoff = at("2026-02-01T00:00:00Z");
        let counts = [KindCounts {
            kind: "page_view".into(),
            last_30_days: 2,
            last_90_days: 5,
            total: 7,
            last_at: at("2026-01-29T12:00:00Z"),
        }];
        let row: BTreeMap<String, Value> =
            contact_features(&f, &counts, cutoff, &names).into_iter().collect();
        assert_eq!(row["Lead Quality"], Value::Text("High".into()));
        assert_eq!(row["Country (country)"], Value::Number(3.0), "a custom field never hides a standard one");
        assert_eq!(row["Country"], Value::Missing);
        assert!(!row.contains_key("undeclared"), "only declared fields are read");
        assert_eq!(row["page_view (last 30 days)"], Value::Number(2.0));
        assert_eq!(row["page_view (all time)"], Value::Number(7.0));
        assert_eq!(row[DAYS_SINCE], Value::Number(2.5));
        assert_eq!(
            absent_value("quote_request (last 90 days)"),
            Value::Number(0.0),
            "no events is zero, not unknown"
        );
        assert_eq!(absent_value("Lead Quality"), Value::Missing);

        let columns: Vec<String> = row.keys().cloned().collect();
        let excluded = names
            .resolve_exclusions(
                &["lead quality".into(), "page_view*".into(), "country".into()],
                &columns,
                true,
            )
            .unwrap();
        assert_eq!(
            excluded,
            [
                "Country",
                "Country (country)",
                "Lead Quality",
                "page_view (all time)",
                "page_view (last 30 days)",
                "page_view (last 90 days)"
            ]
        );
        let err = names.resolve_exclusions(&["Lead Qualty".into()], &columns, true).unwrap_err();
        assert!(err.to_string().contains("no field is named `Lead Qualty`"), "{err}");
        assert!(names.resolve_exclusions(&["custom_kind*".into()], &columns, false).is_ok(), "checked later");
        assert!(names.resolve_exclusions(&["custom_kind*".into()], &columns, true).is_err());
    }

    #[test]
    fn rows_missing_a_field_are_backfilled_by_kind() {
        let mut b = DatasetBuilder::default();
        b.push(vec![("Source".into(), Value::Text("fair".into()))], true);
        b.push(vec![("demo_request (all time)".into(), Value::Number(1.0))], false);
        b.push(vec![], false);
        let col = |name: &str| b.columns.iter().find(|c| c.name == name).unwrap().values.clone();
        assert_eq!(col("Source"), [Value::Text("fair".into()), Value::Missing, Value::Missing]);
        assert_eq!(
            col("demo_request (all time)"),
            [Value::Number(0.0), Value::Number(1.0), Value::Number(0.0)]
        );
        assert_eq!(b.labels, [true, false, false]);
    }
}
