//! Prediction in storage: trained model versions (one active), each contact's latest
//! probability, the queue of contacts to predict again, and what a model reads about a contact
//! (its fields, company, outcome facts and timeline counts).

use std::collections::HashMap;

use jiff::Timestamp;
use leadgate_core::company::Company;
use leadgate_core::contact::Contact;
use leadgate_core::ids::{CompanyId, ContactId, DealId, UserId};
use uuid::Uuid;

use crate::driver::{Arg, Dialect, Row, Session, args};
use crate::error::StoreError;

/// A trained model to store.
#[derive(Debug, Clone)]
pub struct NewModel {
    pub family: String,
    pub options: serde_json::Value,
    pub report: serde_json::Value,
    /// The model itself, as JSON.
    pub model: String,
    pub trained_by: Option<UserId>,
    pub trained_at: Timestamp,
    pub training_ms: i64,
}

/// A stored model version, without the model itself.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelRecord {
    pub version: i64,
    pub family: String,
    pub active: bool,
    pub options: serde_json::Value,
    pub report: serde_json::Value,
    pub trained_by: Option<UserId>,
    pub trained_at: Timestamp,
    pub training_ms: i64,
}

const MODEL_COLUMNS: &str = "version, family, active, options, report, trained_by, trained_at, training_ms";

fn model_from_row(r: &Row) -> Result<ModelRecord, StoreError> {
    let json = |i: usize| -> Result<serde_json::Value, StoreError> {
        let text: String = r.get(i)?;
        serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(format!("model JSON: {e}")))
    };
    Ok(ModelRecord {
        version: r.get(0)?,
        family: r.get(1)?,
        active: r.get(2)?,
        options: json(3)?,
        report: json(4)?,
        trained_by: r.get::<Option<uuid::Uuid>>(5)?.map(UserId),
        trained_at: r.ts(6)?,
        training_ms: r.get(7)?,
    })
}

/// A contact's latest probability of converting.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredPrediction {
    pub contact: ContactId,
    pub model_version: i64,
    pub probability: f64,
    pub raw_score: f64,
    pub predicted_at: Timestamp,
}

/// What decides whether a contact converted, and what a model reads about it.
#[derive(Debug, Clone, PartialEq)]
pub struct PredictionFacts {
    pub contact: Contact,
    pub company: Option<Company>,
    /// The outcome a source recorded (an import's `--outcome` column).
    pub outcome: Option<bool>,
    pub outcome_at: Option<Timestamp>,
    /// When the contact reached its current stage.
    pub stage_changed_at: Option<Timestamp>,
    pub deals_won: i64,
    pub deals_lost: i64,
    pub deals: i64,
}

/// How often a contact did one kind of thing, up to a cutoff instant.
#[derive(Debug, Clone, PartialEq)]
pub struct KindCounts {
    pub kind: String,
    pub last_30_days: i64,
    pub last_90_days: i64,
    pub total: i64,
    pub last_at: Timestamp,
}

impl Session {
    /// Stores a model as the next version (not active).
    pub async fn insert_model(&mut self, m: &NewModel) -> Result<i64, StoreError> {
        let row = self
            .fetch_one(
                "INSERT INTO models (version, family, active, options, report, model, trained_by, trained_at, training_ms) \
                 SELECT COALESCE(MAX(version), 0) + 1, $1, $2, $3, $4, $5, $6, $7, $8 FROM models RETURNING version",
                args![
                    m.family.as_str(),
                    false,
                    m.options.to_string(),
                    m.report.to_string(),
                    m.model.as_str(),
                    m.trained_by,
                    m.trained_at,
                    m.training_ms
                ],
            )
            .await?;
        row.get(0)
    }

    /// Makes `version` the active model. Returns false when there is no such version.
    pub async fn activate_model(&mut self, version: i64) -> Result<bool, StoreError> {
        if self
            .fetch_optional("SELECT version FROM models WHERE version = $1", args![version])
            .await?
            .is_none()
        {
            return Ok(false);
        }
        self.execute("UPDATE models SET active = $1 WHERE active", args![false]).await?;
        self.execute("UPDATE models SET active = $2 WHERE version = $1", args![version, true]).await?;
        Ok(true)
    }

    pub async fn active_model_version(&mut self) -> Result<Option<i64>, StoreError> {
        self.fetch_optional("SELECT version FROM models WHERE active", vec![])
            .await?
            .map(|r| r.get(0))
            .transpose()
    }

    /// The model itself (JSON) of `version`.
    pub async fn model_json(&mut self, version: i64) -> Result<Option<String>, StoreError> {
        self.fetch_optional("SELECT model FROM models WHERE version = $1", args![version])
            .await?
            .map(|r| r.get(0))
            .transpose()
    }

    /// Every version, newest first.
    pub async fn list_models(&mut self) -> Result<Vec<ModelRecord>, StoreError> {
        let sql = format!("SELECT {MODEL_COLUMNS} FROM models ORDER BY version DESC");
        self.fetch_all(&sql, vec![]).await?.iter().map(model_from_row).collect()
    }

    pub async fn get_model(&mut self, version: i64) -> Result<Option<ModelRecord>, StoreError> {
        let sql = format!("SELECT {MODEL_COLUMNS} FROM models WHERE version = $1");
        self.fetch_optional(&sql, args![version]).await?.as_ref().map(model_from_row).transpose()
    }

    /// Writes the latest predictions (replacing older ones), 500 per statement.
    pub async fn save_predictions(&mut self, predictions: &[StoredPrediction]) -> Result<(), StoreError> {
        for chunk in predictions.chunks(500) {
            let mut values = Vec::with_capacity(chunk.len() * 5);
            let rows: Vec<String> = chunk
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    values.extend([
                        Arg::from(p.contact),
                        Arg::from(p.model_version),
                        Arg::from(p.probability),
                        Arg::from(p.raw_score),
                        Arg::from(p.predicted_at),
                    ]);
                    format!("({})", Session::placeholders(1 + i * 5, 5))
                })
                .collect();
            let sql = format!(
                "INSERT INTO predictions (contact_id, model_version, probability, raw_score, predicted_at) VALUES {} \
                 ON CONFLICT (contact_id) DO UPDATE SET model_version = excluded.model_version, \
                 probability = excluded.probability, raw_score = excluded.raw_score, predicted_at = excluded.predicted_at",
                rows.join(", ")
            );
            self.execute(&sql, values).await?;
        }
        Ok(())
    }

    pub async fn prediction(&mut self, contact: ContactId) -> Result<Option<StoredPrediction>, StoreError> {
        let row = self
            .fetch_optional(
                "SELECT model_version, probability, raw_score, predicted_at FROM predictions WHERE contact_id = $1",
                args![contact],
            )
            .await?;
        row.map(|r| {
            Ok(StoredPrediction {
                contact,
                model_version: r.get(0)?,
                probability: r.get(1)?,
                raw_score: r.get(2)?,
                predicted_at: r.ts(3)?,
            })
        })
        .transpose()
    }

    /// How many contacts have a prediction from `version`.
    pub async fn count_predictions(&mut self, version: i64) -> Result<i64, StoreError> {
        self.fetch_one("SELECT COUNT(*) FROM predictions WHERE model_version = $1", args![version])
            .await?
            .get(0)
    }

    /// Marks contacts to be predicted again (their data changed).
    pub async fn queue_predictions(&mut self, ids: &[ContactId], now: Timestamp) -> Result<(), StoreError> {
        let rows = ids.iter().map(|&id| vec![Arg::from(id), Arg::from(now)]).collect();
        self.insert_rows(
            "INSERT INTO prediction_queue (contact_id, queued_at)",
            2,
            rows,
            "ON CONFLICT (contact_id) DO NOTHING",
        )
        .await?;
        Ok(())
    }

    /// Takes up to `limit` contacts off the prediction queue, oldest first. On PostgreSQL,
    /// servers taking at the same time get different contacts; the contacts return to the
    /// queue if the transaction rolls back.
    pub async fn take_prediction_queue(&mut self, limit: u32) -> Result<Vec<ContactId>, StoreError> {
        let lock = match self.dialect() {
            Dialect::Postgres => "FOR UPDATE SKIP LOCKED",
            Dialect::Sqlite => "",
        };
        let sql = format!(
            "DELETE FROM prediction_queue WHERE contact_id IN (SELECT contact_id FROM prediction_queue \
             ORDER BY queued_at, contact_id LIMIT {limit} {lock}) RETURNING contact_id"
        );
        self.fetch_all(&sql, vec![]).await?.iter().map(|r| Ok(ContactId(r.get(0)?))).collect()
    }

    pub async fn prediction_queue_len(&mut self) -> Result<i64, StoreError> {
        self.fetch_one("SELECT COUNT(*) FROM prediction_queue", vec![]).await?.get(0)
    }

    /// What prediction needs about each of `ids` (those that exist), in id order.
    pub async fn prediction_facts(&mut self, ids: &[ContactId]) -> Result<Vec<PredictionFacts>, StoreError> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(1000) {
            let rows = self
                .contacts_matching(
                    "outcome, outcome_at, stage_changed_at",
                    "id",
                    &Session::placeholders(1, chunk.len()),
                    chunk.iter().map(|&id| Arg::from(id)).collect(),
                )
                .await?;
            let at = crate::contacts::CONTACT_COLUMNS;
            let mut company_ids: Vec<CompanyId> = rows.iter().filter_map(|(c, _)| c.company_id).collect();
            company_ids.sort();
            company_ids.dedup();
            let companies: HashMap<CompanyId, Company> = if company_ids.is_empty() {
                HashMap::new()
            } else {
                self.companies_by_ids(&company_ids).await?.into_iter().map(|c| (c.id, c)).collect()
            };
            let deals = self.deal_counts(chunk).await?;
            // A person who objected to direct marketing is not profiled: neither trained on nor
            // predicted.
            for (contact, row) in rows.into_iter().filter(|(c, _)| c.objected_at.is_none()) {
                let outcome: Option<String> = row.get(at)?;
                let (won, lost, all) = deals.get(&contact.id).copied().unwrap_or_default();
                out.push(PredictionFacts {
                    company: contact.company_id.and_then(|id| companies.get(&id).cloned()),
                    outcome: match outcome.as_deref() {
                        Some("converted") => Some(true),
                        Some("not_converted") => Some(false),
                        _ => None,
                    },
                    outcome_at: row.opt_ts(at + 1)?,
                    stage_changed_at: row.opt_ts(at + 2)?,
                    deals_won: won,
                    deals_lost: lost,
                    deals: all,
                    contact,
                });
            }
        }
        out.sort_by_key(|f| f.contact.id);
        Ok(out)
    }

    async fn deal_counts(
        &mut self,
        ids: &[ContactId],
    ) -> Result<HashMap<ContactId, (i64, i64, i64)>, StoreError> {
        let sql = format!(
            "SELECT dc.contact_id, COUNT(*) FILTER (WHERE d.stage = 'won'), COUNT(*) FILTER (WHERE d.stage = 'lost'), \
             COUNT(*) FROM deal_contacts dc JOIN deals d ON d.id = dc.deal_id WHERE dc.contact_id IN ({}) \
             GROUP BY dc.contact_id",
            Session::placeholders(1, ids.len())
        );
        let rows = self.fetch_all(&sql, ids.iter().map(|&id| Arg::from(id)).collect()).await?;
        rows.iter().map(|r| Ok((ContactId(r.get(0)?), (r.get(1)?, r.get(2)?, r.get(3)?)))).collect()
    }

    /// Per contact and event kind, how many events happened up to the contact's cutoff instant
    /// (events after it are not seen: a model must not learn from what followed the outcome).
    pub async fn timeline_counts(
        &mut self,
        cutoffs: &[(ContactId, Timestamp)],
    ) -> Result<HashMap<ContactId, Vec<KindCounts>>, StoreError> {
        const DAY_US: i64 = 86_400_000_000;
        let mut out: HashMap<ContactId, Vec<KindCounts>> = HashMap::new();
        for chunk in cutoffs.chunks(500) {
            let mut values = Vec::with_capacity(chunk.len() * 2);
            let rows: Vec<String> = chunk
                .iter()
                .enumerate()
                .map(|(i, (id, cutoff))| {
                    values.extend([Arg::from(*id), Arg::from(*cutoff)]);
                    format!("({})", Session::placeholders(1 + i * 2, 2))
                })
                .collect();
            let sql = format!(
                "SELECT e.contact_id, e.kind, \
                 COUNT(*) FILTER (WHERE e.occurred_at > v.column2 - {d30}), \
                 COUNT(*) FILTER (WHERE e.occurred_at > v.column2 - {d90}), \
                 COUNT(*), MAX(e.occurred_at) \
                 FROM (VALUES {}) AS v JOIN events e ON e.contact_id = v.column1 AND e.occurred_at <= v.column2 \
                 GROUP BY e.contact_id, e.kind",
                rows.join(", "),
                d30 = 30 * DAY_US,
                d90 = 90 * DAY_US,
            );
            for r in self.fetch_all(&sql, values).await? {
                out.entry(ContactId(r.get(0)?)).or_default().push(KindCounts {
                    kind: r.get(1)?,
                    last_30_days: r.get(2)?,
                    last_90_days: r.get(3)?,
                    total: r.get(4)?,
                    last_at: r.ts(5)?,
                });
            }
        }
        for counts in out.values_mut() {
            counts.sort_by(|a, b| a.kind.cmp(&b.kind));
        }
        Ok(out)
    }
}

/// What the deal win model reads about a deal: its product, rep, source and company.
#[derive(Debug, Clone, PartialEq)]
pub struct DealFacts {
    pub deal_id: DealId,
    /// Won (true) or lost (false); none while open.
    pub won: Option<bool>,
    pub product: Option<String>,
    /// The rep's name (a user's, or the source system's).
    pub owner: Option<String>,
    pub source: Option<String>,
    pub sector: Option<String>,
    pub country: Option<String>,
    pub employees: Option<i64>,
    pub annual_revenue: Option<f64>,
}

/// A stored deal win model.
#[derive(Debug, Clone, PartialEq)]
pub struct DealModelRecord {
    pub version: i64,
    pub active: bool,
    pub found_signal: bool,
    pub report: serde_json::Value,
    pub trained_by: Option<UserId>,
    pub trained_at: Timestamp,
    pub training_ms: i64,
}

const DEAL_FACTS: &str = "SELECT d.id, d.stage, d.product, \
     CASE WHEN d.owner_id IS NULL THEN d.owner_name ELSE COALESCE(u.name, u.email) END, d.source, \
     co.sector, co.country, co.employees, co.annual_revenue \
     FROM deals d LEFT JOIN companies co ON co.id = d.company_id LEFT JOIN users u ON u.id = d.owner_id";

fn deal_facts_from_row(r: &Row) -> Result<DealFacts, StoreError> {
    let stage: String = r.get(1)?;
    Ok(DealFacts {
        deal_id: DealId(r.get(0)?),
        won: match stage.as_str() {
            "won" => Some(true),
            "lost" => Some(false),
            _ => None,
        },
        product: r.get(2)?,
        owner: r.get(3)?,
        source: r.get(4)?,
        sector: r.get(5)?,
        country: r.get(6)?,
        employees: r.get(7)?,
        annual_revenue: r.get(8)?,
    })
}

const DEAL_MODEL_COLUMNS: &str = "version, active, found_signal, report, trained_by, trained_at, training_ms";

fn deal_model_from_row(r: &Row) -> Result<DealModelRecord, StoreError> {
    let report: String = r.get(3)?;
    Ok(DealModelRecord {
        version: r.get(0)?,
        active: r.get(1)?,
        found_signal: r.get(2)?,
        report: serde_json::from_str(&report)
            .map_err(|e| StoreError::Corrupt(format!("deal model report: {e}")))?,
        trained_by: r.get::<Option<Uuid>>(4)?.map(UserId),
        trained_at: r.ts(5)?,
        training_ms: r.get(6)?,
    })
}

impl Session {
    /// Every closed deal (won or lost), for training.
    pub async fn closed_deal_facts(&mut self) -> Result<Vec<DealFacts>, StoreError> {
        let sql = format!("{DEAL_FACTS} WHERE d.stage IN ('won', 'lost') ORDER BY d.id");
        self.fetch_all(&sql, vec![]).await?.iter().map(deal_facts_from_row).collect()
    }

    /// One deal's facts.
    pub async fn deal_facts(&mut self, id: DealId) -> Result<Option<DealFacts>, StoreError> {
        let sql = format!("{DEAL_FACTS} WHERE d.id = $1");
        self.fetch_optional(&sql, args![id]).await?.as_ref().map(deal_facts_from_row).transpose()
    }

    /// Stores a deal model as the next version, not active.
    pub async fn insert_deal_model(
        &mut self,
        found_signal: bool,
        report: &serde_json::Value,
        model: &str,
        trained_by: Option<UserId>,
        trained_at: Timestamp,
        training_ms: i64,
    ) -> Result<i64, StoreError> {
        self.fetch_one(
            "INSERT INTO deal_models (version, active, found_signal, report, model, trained_by, trained_at, training_ms) \
             SELECT COALESCE(MAX(version), 0) + 1, $1, $2, $3, $4, $5, $6, $7 FROM deal_models RETURNING version",
            args![false, found_signal, report.to_string(), model, trained_by, trained_at, training_ms],
        )
        .await?
        .get(0)
    }

    /// Makes `version` the active deal model. False when there is no such version.
    pub async fn activate_deal_model(&mut self, version: i64) -> Result<bool, StoreError> {
        if self
            .fetch_optional("SELECT version FROM deal_models WHERE version = $1", args![version])
            .await?
            .is_none()
        {
            return Ok(false);
        }
        self.execute("UPDATE deal_models SET active = $1 WHERE active", args![false]).await?;
        self.execute("UPDATE deal_models SET active = $2 WHERE version = $1", args![version, true]).await?;
        Ok(true)
    }

    /// Every deal model, newest first.
    pub async fn deal_models(&mut self) -> Result<Vec<DealModelRecord>, StoreError> {
        let sql = format!("SELECT {DEAL_MODEL_COLUMNS} FROM deal_models ORDER BY version DESC");
        self.fetch_all(&sql, vec![]).await?.iter().map(deal_model_from_row).collect()
    }

    pub async fn deal_model(&mut self, version: i64) -> Result<Option<DealModelRecord>, StoreError> {
        let sql = format!("SELECT {DEAL_MODEL_COLUMNS} FROM deal_models WHERE version = $1");
        self.fetch_optional(&sql, args![version]).await?.as_ref().map(deal_model_from_row).transpose()
    }

    /// The active deal model's version and JSON.
    pub async fn active_deal_model(&mut self) -> Result<Option<(i64, String)>, StoreError> {
        self.fetch_optional("SELECT version, model FROM deal_models WHERE active", vec![])
            .await?
            .map(|r| Ok((r.get(0)?, r.get(1)?)))
            .transpose()
    }
}
