//! The win probability of open deals, learned from the team's closed deals (won against lost)
//! with the same model crate as the contacts' conversion model. It reads what is known of a
//! deal while it is open: its product, rep, source and company (sector, country, size,
//! revenue). Not its value: the value a closed deal carries is the final one (Maven CRM records
//! 0 for every lost deal), so it would teach the model the outcome itself.
//!
//! A model earns its place (`leadgate_model::Signal`): when cross-validation shows it ranks won
//! and lost deals no better than chance, or predicts no better than the base rate, it is kept
//! with its report, said so in plain words, and never activated.

use jiff::Timestamp;
use leadgate_core::access::Permission;
use leadgate_core::ids::{DealId, UserId};
use leadgate_model::{Column, Dataset, TrainOptions, TrainedModel, Value};
use leadgate_store::jobs::{Job, Lease};
use leadgate_store::models::{DealFacts, DealModelRecord};
use serde::{Deserialize, Serialize};

use crate::jobs::Progress;
use crate::prediction::{Factor, JobProgress};
use crate::{App, AppError, Principal};

/// The job kind that trains a deal model.
pub const DEAL_TRAIN_JOB: &str = "train_deals";

/// The fields a deal model reads, in this order.
const FIELDS: [&str; 7] = ["product", "owner", "source", "sector", "country", "employees", "annual_revenue"];

/// A training run of the deal model.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DealTrainRequest {
    /// Seed of the split and the model (the same seed on the same deals gives the same model).
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Activate the model when it found signal (default true). A model without signal is
    /// never activated.
    #[serde(default = "yes")]
    pub activate: bool,
}

fn default_seed() -> u64 {
    42
}

fn yes() -> bool {
    true
}

impl Default for DealTrainRequest {
    fn default() -> Self {
        DealTrainRequest { seed: default_seed(), activate: true }
    }
}

/// A deal model as served: its quality and the verdict in plain words.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DealModelView {
    pub version: i64,
    pub active: bool,
    /// Whether cross-validation found signal; a model without is never activated.
    pub found_signal: bool,
    /// The verdict, for people.
    pub verdict: String,
    /// Closed deals it learned from.
    pub won: usize,
    pub lost: usize,
    /// Cross-validated AUC (mean, and its lower bound) and log loss beside the base rate's.
    pub auc_mean: Option<f64>,
    pub auc_lower: Option<f64>,
    pub log_loss: Option<f64>,
    pub base_log_loss: Option<f64>,
    /// AUC on the held-out deals.
    pub test_auc: Option<f64>,
    pub fields_used: Vec<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub trained_at: Timestamp,
    pub trained_by: Option<UserId>,
    pub training_ms: i64,
}

/// An open deal's probability of being won, and why.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DealPrediction {
    pub deal_id: DealId,
    pub model_version: i64,
    pub probability: f64,
    /// Each field's push, in log-odds (positive: towards winning), largest first.
    pub factors: Vec<Factor>,
}

/// The verdict on a deal model's signal, in plain words.
pub fn verdict(signal: Option<&leadgate_model::Signal>) -> String {
    crate::prediction::signal_verdict(
        signal,
        "deals",
        "were won",
        "were lost",
        "product, rep, source and company",
    )
    .1
}

fn view(r: DealModelRecord) -> DealModelView {
    let report: Option<leadgate_model::TrainingReport> = serde_json::from_value(r.report).ok();
    let signal = report.as_ref().and_then(|rep| rep.signal());
    let rows = report.as_ref().map(|rep| &rep.rows);
    DealModelView {
        version: r.version,
        active: r.active,
        found_signal: r.found_signal,
        verdict: verdict(signal.as_ref()),
        won: rows.map_or(0, |c| c.train_converted + c.test_converted),
        lost: rows.map_or(0, |c| c.train_not_converted + c.test_not_converted),
        auc_mean: signal.as_ref().map(|s| s.auc_mean),
        auc_lower: signal.as_ref().map(|s| s.auc_lower),
        log_loss: signal.as_ref().map(|s| s.model_log_loss),
        base_log_loss: signal.as_ref().map(|s| s.base_log_loss),
        test_auc: report.as_ref().and_then(|rep| rep.chosen()).map(|c| c.test.auc),
        fields_used: report.map(|rep| rep.fields_used).unwrap_or_default(),
        trained_at: r.trained_at,
        trained_by: r.trained_by,
        training_ms: r.training_ms,
    }
}

fn text(v: &Option<String>) -> Value {
    v.as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map_or(Value::Missing, |t| Value::Text(t.to_string()))
}

/// A deal's values, in [`FIELDS`] order.
fn row(f: &DealFacts) -> [Value; 7] {
    [
        text(&f.product),
        text(&f.owner),
        text(&f.source),
        text(&f.sector),
        text(&f.country),
        f.employees.map_or(Value::Missing, |n| Value::Number(n as f64)),
        f.annual_revenue.map_or(Value::Missing, Value::Number),
    ]
}

impl App {
    /// Queues the training of a deal model (managers of models: admins and marketing).
    pub async fn start_deal_training(
        &self,
        principal: &Principal,
        request: &DealTrainRequest,
    ) -> Result<Job, AppError> {
        principal.require(Permission::ManageModels)?;
        self.queue_job(principal, DEAL_TRAIN_JOB, request, 3).await
    }

    /// Trains a deal model on every closed deal and stores it with its verdict; activates it
    /// when asked and only when it found signal.
    pub async fn train_deal_model(
        &self,
        principal: &Principal,
        request: &DealTrainRequest,
        progress: &mut dyn Progress,
    ) -> Result<DealModelView, AppError> {
        principal.require(Permission::ManageModels)?;
        let started = std::time::Instant::now();
        let facts = self.store.read().await?.closed_deal_facts().await?;
        let total = facts.len() as u64;
        progress.update(0, total);
        let mut columns: Vec<Column> = FIELDS
            .iter()
            .map(|name| Column { name: name.to_string(), values: Vec::with_capacity(facts.len()) })
            .collect();
        let mut labels = Vec::with_capacity(facts.len());
        for f in &facts {
            for (column, value) in columns.iter_mut().zip(row(f)) {
                column.values.push(value);
            }
            labels.push(f.won == Some(true));
        }
        let dataset = Dataset { columns, labels };
        let options = TrainOptions { seed: request.seed, ..TrainOptions::default() };
        let model = tokio::task::spawn_blocking(move || leadgate_model::train(&dataset, &options))
            .await
            .map_err(|e| AppError::Internal(format!("training stopped: {e}")))?
            .map_err(|e| match e {
                // Said in the words of deals, from the counts (the crate's message speaks of
                // converted contacts).
                leadgate_model::TrainError::TooFewOutcomes { positives, negatives, minimum } => {
                    let have = |n: usize, what: &str| match minimum.checked_sub(n).filter(|&m| m > 0) {
                        Some(more) => format!("{n} {what} ({more} more needed)"),
                        None => format!("{n} {what}"),
                    };
                    AppError::StateConflict(format!(
                        "need at least {minimum} won and {minimum} lost closed deals to train; have {} and {}",
                        have(positives, "won"),
                        have(negatives, "lost")
                    ))
                }
                other => AppError::Internal(other.to_string()),
            })?;
        progress.update(total, total);
        let signal = model.report().signal();
        let found = signal.as_ref().is_some_and(|s| s.found);
        let report = serde_json::to_value(model.report()).map_err(|e| AppError::Internal(e.to_string()))?;
        let json = model.to_json().map_err(|e| AppError::Internal(e.to_string()))?;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let version = tx
            .insert_deal_model(
                found,
                &report,
                &json,
                Some(principal.user.id),
                now,
                started.elapsed().as_millis() as i64,
            )
            .await?;
        if request.activate && found {
            tx.activate_deal_model(version).await?;
        }
        let record =
            tx.deal_model(version).await?.ok_or_else(|| AppError::Internal("deal model vanished".into()))?;
        tx.commit().await?;
        tracing::info!(version, found_signal = found, "deal model trained");
        Ok(view(record))
    }

    pub(crate) async fn deal_train_job(
        &self,
        job: &Job,
        lease: &Lease,
    ) -> Result<serde_json::Value, AppError> {
        let request: DealTrainRequest = serde_json::from_value(job.payload.clone())
            .map_err(|e| AppError::Internal(format!("deal training payload: {e}")))?;
        let principal = self.job_principal(job.created_by).await?;
        let mut progress = JobProgress { app: self, lease, last: None };
        let view = self.train_deal_model(&principal, &request, &mut progress).await?;
        Ok(
            serde_json::json!({ "deal_model_version": view.version, "found_signal": view.found_signal, "verdict": view.verdict }),
        )
    }

    /// Every deal model, newest first.
    pub async fn deal_models(&self, principal: &Principal) -> Result<Vec<DealModelView>, AppError> {
        principal.require(Permission::ReadContacts)?;
        Ok(self.store.read().await?.deal_models().await?.into_iter().map(view).collect())
    }

    /// Activates a deal model; refused for a model that found no signal.
    pub async fn activate_deal_model(
        &self,
        principal: &Principal,
        version: i64,
    ) -> Result<DealModelView, AppError> {
        principal.require(Permission::ManageModels)?;
        let mut tx = self.store.begin().await?;
        let record = tx
            .deal_model(version)
            .await?
            .ok_or_else(|| AppError::not_found("deal model version", version))?;
        if !record.found_signal {
            return Err(AppError::StateConflict(verdict(
                serde_json::from_value::<leadgate_model::TrainingReport>(record.report)
                    .ok()
                    .and_then(|r| r.signal())
                    .as_ref(),
            )));
        }
        tx.activate_deal_model(version).await?;
        let record =
            tx.deal_model(version).await?.ok_or_else(|| AppError::Internal("deal model vanished".into()))?;
        let target = Some(version.to_string());
        self.audit_in(&mut tx, Some(principal), "deal_model.activated", target, None, serde_json::json!({}))
            .await?;
        tx.commit().await?;
        Ok(view(record))
    }

    /// An open deal's probability of being won under the active deal model, with its factors;
    /// none without an active model or once the deal is closed.
    pub async fn deal_prediction(
        &self,
        principal: &Principal,
        id: DealId,
    ) -> Result<Option<DealPrediction>, AppError> {
        // Reading the deal checks the caller may.
        let deal = self.deal(principal, id).await?;
        if deal.view.deal.stage.is_closed() {
            return Ok(None);
        }
        let mut s = self.store.read().await?;
        let Some((version, json)) = s.active_deal_model().await? else { return Ok(None) };
        let Some(facts) = s.deal_facts(id).await? else { return Ok(None) };
        drop(s);
        let model = TrainedModel::from_json(&json)
            .map_err(|e| AppError::Internal(format!("deal model {version}: {e}")))?;
        let values = row(&facts);
        let by_name: Vec<Value> = model
            .input_fields()
            .iter()
            .map(|name| FIELDS.iter().position(|f| f == name).map_or(Value::Missing, |i| values[i].clone()))
            .collect();
        let p =
            model.predict(&by_name).map_err(|e| AppError::Internal(format!("deal model {version}: {e}")))?;
        Ok(Some(DealPrediction {
            deal_id: id,
            model_version: version,
            probability: p.probability,
            factors: p
                .contributions
                .into_iter()
                .map(|c| Factor { field: c.field, label: c.label, contribution: c.value })
                .collect(),
        }))
    }
}
