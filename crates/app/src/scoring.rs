//! Scoring use cases: keeping every contact's score and stage current (on each event, each edit,
//! each rules change), explaining a score, and editing the rules.
//!
//! The rule that ties them together: a stored score is what [`leadgate_core::scoring::score`]
//! returns for (rules version, the contact's data, the instant it was computed); rescoring is the
//! only way scores change, and it runs inside the transaction of whatever changed the data.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use jiff::Timestamp;
use leadgate_core::access::Permission;
use leadgate_core::company::Company;
use leadgate_core::contact::Contact;
use leadgate_core::event::Event;
use leadgate_core::ids::{CompanyId, ContactId, JobId};
use leadgate_core::lifecycle::{Actor, LifecycleFacts, LifecycleStage, Transition, automatic_move};
use leadgate_core::qualification::{Checklist, StageProfile};
use leadgate_core::scoring::fields::Prospect;
use leadgate_core::scoring::{
    Ledger, RulesDoc, RulesError, ScoreSummary, Scorecard, ScoringRules, score, standing,
};
use leadgate_store::Session;
use leadgate_store::jobs::NewJob;
use leadgate_store::scoring::{ContactSet, ScoreUpdate, ScoringInput};
use serde::Serialize;

use crate::{App, AppError, Principal, new_uuid};

/// The job kind that rescores every contact after a rules change.
pub const RESCORE_JOB: &str = "rescore";

/// A compiled rules version.
#[derive(Clone)]
pub struct ActiveRules {
    /// 0 for the built-in defaults before any version is stored.
    pub version: i64,
    pub rules: Arc<ScoringRules>,
}

/// Cache of the compiled active rules, keyed by version: compiling (regexes) is done once per
/// version per server, while each transaction still reads which version is active, so a change
/// made through another server is seen at once.
#[derive(Default)]
pub(crate) struct RulesCache(RwLock<Option<ActiveRules>>);

/// What rescoring did to one contact.
#[derive(Debug, Clone)]
pub struct ScoreOutcome {
    pub contact: ContactId,
    pub summary: ScoreSummary,
    pub transitions: Vec<Transition>,
}

/// Everything that explains where a contact stands: `GET /contacts/{id}/score`, `leadgate explain`.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Explanation {
    pub contact_id: ContactId,
    pub lifecycle_stage: LifecycleStage,
    /// The §2 table: has bought, needs known, interest shown, conversion process started.
    pub stage_profile: StageProfile,
    pub rules_version: i64,
    #[serde(flatten)]
    pub scorecard: Scorecard,
    pub checklist: Checklist,
    pub sales_accepted: bool,
}

/// A rules version as served.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RulesView {
    pub version: i64,
    pub rules: RulesDoc,
}

/// The answer to a rules change.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RulesChange {
    pub version: i64,
    /// The job rescoring every contact with the new version.
    pub rescore_job: JobId,
}

impl App {
    /// The active rules: the newest stored version, compiled (cached per version), or the
    /// built-in B2B defaults when none is stored yet.
    pub async fn active_rules(&self, s: &mut Session) -> Result<ActiveRules, AppError> {
        let version = s.latest_rules_version().await?;
        if let Some(cached) = self.rules_cache.0.read().unwrap_or_else(|p| p.into_inner()).as_ref()
            && cached.version == version
        {
            return Ok(cached.clone());
        }
        let rules = if version == 0 {
            ScoringRules::default_b2b()
        } else {
            let stored = s
                .rules_version(version)
                .await?
                .ok_or_else(|| AppError::Internal(format!("rules version {version} vanished")))?;
            ScoringRules::from_json(&stored.document).map_err(|e| {
                AppError::Internal(format!("stored rules version {version} no longer compiles: {e}"))
            })?
        };
        let active = ActiveRules { version, rules: Arc::new(rules) };
        *self.rules_cache.0.write().unwrap_or_else(|p| p.into_inner()) = Some(active.clone());
        Ok(active)
    }

    /// Stores the built-in B2B rules as version 1 if no version exists (first start).
    pub async fn ensure_scoring_rules(&self) -> Result<(), AppError> {
        let mut tx = self.store.begin().await?;
        if tx.latest_rules_version().await? == 0 {
            let doc = ScoringRules::default_b2b().to_json();
            tx.insert_rules(&doc, Some("built-in B2B rules"), None, self.now()).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Explains a contact's score as of now with the active rules.
    pub async fn explain(&self, principal: &Principal, id: ContactId) -> Result<Explanation, AppError> {
        let mut s = self.store.read().await?;
        self.require_read(&mut s, principal, id).await?;
        let active = self.active_rules(&mut s).await?;
        let input = s.scoring_inputs(&[id]).await?.pop().ok_or_else(|| AppError::not_found("contact", id))?;
        if let Some(at) = input.contact.objected_at {
            return Err(AppError::StateConflict(format!(
                "this person objected to direct marketing on {at}: they are neither scored nor predicted any more"
            )));
        }
        let events = s.events_of_contact(id).await?;
        let now = self.now();
        let card = score(&active.rules, prospect(&input), &events, now);
        Ok(Explanation {
            contact_id: id,
            lifecycle_stage: input.contact.lifecycle_stage,
            stage_profile: StageProfile::of(
                input.contact.lifecycle_stage,
                &input.checklist,
                card.temperature.level,
            ),
            rules_version: active.version,
            scorecard: card,
            checklist: input.checklist,
            sales_accepted: input.sales_accepted,
        })
    }

    pub async fn scoring_rules(&self, principal: &Principal) -> Result<RulesView, AppError> {
        principal.require(Permission::ReadContacts)?;
        let mut s = self.store.read().await?;
        let active = self.active_rules(&mut s).await?;
        Ok(RulesView { version: active.version, rules: active.rules.doc.clone() })
    }

    /// Every version of the rules, newest first: who made it, when, and why (its comment).
    pub async fn rules_history(
        &self,
        principal: &Principal,
    ) -> Result<Vec<leadgate_store::scoring::RulesVersion>, AppError> {
        principal.require(Permission::ReadContacts)?;
        Ok(self.store.read().await?.list_rules_versions().await?)
    }

    /// Makes an earlier version the rules again: stored as a new version ("restored version N",
    /// so history only grows) and everyone is rescored.
    pub async fn restore_scoring_rules(
        &self,
        principal: &Principal,
        version: i64,
    ) -> Result<RulesChange, AppError> {
        principal.require(Permission::ManageScoring)?;
        let old = self
            .store
            .read()
            .await?
            .rules_version(version)
            .await?
            .ok_or_else(|| AppError::not_found("rules version", version))?;
        let rules = ScoringRules::from_json(&old.document).map_err(|e| match e {
            leadgate_core::scoring::RulesError::Invalid(v) => AppError::Invalid(v),
            other => AppError::Internal(format!("stored rules version {version} is unreadable: {other:?}")),
        })?;
        self.store_rules(&rules, Some(&format!("restored version {version}")), principal).await
    }

    /// Replaces the rules with a new version (checked first) and starts rescoring everyone.
    pub async fn update_scoring_rules(
        &self,
        principal: &Principal,
        doc: RulesDoc,
        comment: Option<&str>,
    ) -> Result<RulesChange, AppError> {
        principal.require(Permission::ManageScoring)?;
        if comment.is_some_and(|c| c.chars().count() > 500 || !leadgate_core::validation::is_plain_text(c)) {
            return Err(AppError::invalid("comment", "must be plain text of at most 500 characters"));
        }
        let rules = ScoringRules::compile(doc)?;
        self.store_rules(&rules, comment, principal).await
    }

    /// Stores checked rules as the new version and enqueues the rescore job, in one transaction.
    pub async fn store_rules(
        &self,
        rules: &ScoringRules,
        comment: Option<&str>,
        principal: &Principal,
    ) -> Result<RulesChange, AppError> {
        let by = Some(principal.user.id);
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let version = tx.insert_rules(&rules.to_json(), comment, by, now).await?;
        let job = tx
            .enqueue_job(
                NewJob {
                    id: JobId(new_uuid()),
                    kind: RESCORE_JOB.into(),
                    payload: serde_json::json!({ "version": version }),
                    run_at: now,
                    max_attempts: 5,
                    created_by: by,
                },
                now,
            )
            .await?;
        let detail = serde_json::json!({ "comment": comment });
        self.audit_in(
            &mut tx,
            Some(principal),
            "scoring_rules.changed",
            Some(version.to_string()),
            None,
            detail,
        )
        .await?;
        tx.commit().await?;
        Ok(RulesChange { version, rescore_job: job.id })
    }

    /// Rescores `ids` inside `tx` with the active rules: new scores, automatic stage moves, and
    /// their history. `new_events` are events just recorded for some of them: a contact whose
    /// stored ledger can be extended with them is scored without reading its timeline; the others
    /// are scored from their whole timeline.
    pub(crate) async fn rescore_in(
        &self,
        tx: &mut Session,
        ids: &[ContactId],
        now: Timestamp,
        new_events: &HashMap<ContactId, Vec<Event>>,
    ) -> Result<Vec<ScoreOutcome>, AppError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let active = self.active_rules(tx).await?;
        let read = read_for_scoring(tx, &active, ContactSet::Ids(ids), new_events).await?;
        self.save_rescored(tx, &active, read, now).await
    }

    /// The write half of [`App::rescore_in`]: scores what was read at `now` and saves the
    /// scores, ledgers, stage moves, their history and what the moves hand off.
    pub(crate) async fn save_rescored(
        &self,
        tx: &mut Session,
        active: &ActiveRules,
        read: ReadForScoring,
        now: Timestamp,
    ) -> Result<Vec<ScoreOutcome>, AppError> {
        let ReadForScoring { inputs, mut ledgers, mut timelines } = read;
        let ids: Vec<ContactId> = inputs.iter().map(|i| i.contact.id).collect();
        let mut outcomes = Vec::with_capacity(inputs.len());
        let mut updates = Vec::with_capacity(inputs.len());
        // Leads that warmed up: an untouched one's first-touch deadline tightens.
        let mut warmer = Vec::new();
        for input in &inputs {
            let id = input.contact.id;
            if input.contact.objected_at.is_some() {
                // Objected to direct marketing: not profiled any more.
                continue;
            }
            let ledger = match timelines.remove(&id) {
                Some(events) => Some(Ledger::from_events(&active.rules, active.version, &events)),
                None => ledgers.remove(&id),
            };
            let Some(mut ledger) = ledger else { continue };
            ledger.prune(&active.rules, now);
            let outcome = evaluate(active, input, &ledger, now);
            if input
                .contact
                .score
                .as_ref()
                .is_some_and(|before| outcome.summary.temperature > before.temperature)
            {
                warmer.push((id, outcome.summary.temperature, outcome.summary.fit_grade));
            }
            updates.push(ScoreUpdate {
                contact: outcome.contact,
                score: outcome.summary.clone(),
                stage: outcome.transitions.last().map(|t| t.to),
                ledger: ledger.to_bytes(),
            });
            outcomes.push(outcome);
        }
        tx.save_scores(&updates, now).await?;
        let transitions: Vec<Transition> =
            outcomes.iter().flat_map(|o| o.transitions.iter().cloned()).collect();
        tx.insert_transitions(&transitions).await?;
        if !transitions.is_empty() {
            let changes: Vec<crate::handoff::StageChange> = outcomes
                .iter()
                .filter(|o| !o.transitions.is_empty())
                .filter_map(|o| {
                    let input = inputs.iter().find(|i| i.contact.id == o.contact)?;
                    Some(crate::handoff::StageChange {
                        contact: o.contact,
                        from: o.transitions.first()?.from,
                        to: o.transitions.last()?.to,
                        facts: crate::handoff::lead_facts_scored(
                            &input.contact,
                            input.company.as_ref(),
                            o.summary.temperature,
                            o.summary.fit_grade,
                        ),
                    })
                })
                .collect();
            self.handoff_after_moves(tx, changes, &transitions, now).await?;
        }
        self.tighten_deadlines_in(tx, &warmer, now).await?;
        self.queue_prediction_in(tx, &ids).await?;
        Ok(outcomes)
    }
}

/// What scoring a set of contacts reads: their inputs, and for each one either its engagement
/// ledger (the stored one extended with new events) or its whole timeline to walk. The walk is
/// left to the write half: when rescoring everyone, the reader is the busier of the two.
#[derive(Default)]
pub(crate) struct ReadForScoring {
    pub inputs: Vec<ScoringInput>,
    pub ledgers: HashMap<ContactId, Ledger>,
    pub timelines: HashMap<ContactId, Vec<Event>>,
}

/// The read half of [`App::rescore_in`], on any session: inside the writer's transaction, or
/// on a snapshot read ahead of it (see [`crate::rescore_walk`]).
pub(crate) async fn read_for_scoring(
    s: &mut Session,
    active: &ActiveRules,
    contacts: ContactSet<'_>,
    new_events: &HashMap<ContactId, Vec<Event>>,
) -> Result<ReadForScoring, AppError> {
    let inputs = s.scoring_inputs_of(contacts, active.version).await?;
    let mut ledgers: HashMap<ContactId, Ledger> = HashMap::with_capacity(inputs.len());
    let mut full: Vec<ContactId> = Vec::new();
    for input in &inputs {
        let id = input.contact.id;
        let extended = input.ledger.as_deref().and_then(Ledger::from_bytes).and_then(|mut ledger| {
            let fresh = new_events.get(&id).map_or(&[][..], Vec::as_slice);
            ledger.extend(&active.rules, active.version, fresh).ok().map(|()| ledger)
        });
        match extended {
            Some(ledger) => {
                ledgers.insert(id, ledger);
            }
            None => full.push(id),
        }
    }
    let mut timelines = HashMap::with_capacity(full.len());
    if !full.is_empty() {
        // A span most of whose contacts need their timeline (a rules change) is read whole, in
        // index order; the few timelines not needed are dropped below.
        // Of each event, only what the rules read.
        let needs = active.rules.event_needs();
        let mut read = match contacts {
            ContactSet::Span { .. } if full.len() * 2 >= inputs.len() => {
                s.timelines(contacts, &needs).await?
            }
            _ => s.timelines(ContactSet::Ids(&full), &needs).await?,
        };
        for id in full {
            timelines.insert(id, read.remove(&id).unwrap_or_default());
        }
    }
    Ok(ReadForScoring { inputs, ledgers, timelines })
}

impl App {
    /// Scores contacts about to be created, before their rows are written, so each row is
    /// written once (imports). They have no events yet: the score is their fit, and the stage
    /// the automatic moves give it. Returns them scored, with when a rule moved them (if one did)
    /// and the transitions to record once the rows exist. No ledger is stored: the first event
    /// walks the (one-event) timeline.
    pub(crate) async fn score_new(
        &self,
        tx: &mut Session,
        contacts: Vec<Contact>,
        now: Timestamp,
    ) -> Result<(Vec<(Contact, Option<Timestamp>)>, Vec<Transition>), AppError> {
        let active = self.active_rules(tx).await?;
        let mut company_ids: Vec<CompanyId> = contacts.iter().filter_map(|c| c.company_id).collect();
        company_ids.sort();
        company_ids.dedup();
        let mut companies: HashMap<CompanyId, Company> = HashMap::with_capacity(company_ids.len());
        for chunk in company_ids.chunks(500) {
            companies.extend(tx.companies_by_ids(chunk).await?.into_iter().map(|c| (c.id, c)));
        }
        let mut ledger = Ledger::from_events(&active.rules, active.version, &[]);
        ledger.prune(&active.rules, now);
        let mut transitions = Vec::new();
        let scored = contacts
            .into_iter()
            .map(|contact| {
                let company = contact.company_id.and_then(|id| companies.get(&id).cloned());
                let input = ScoringInput {
                    contact,
                    company,
                    ledger: None,
                    checklist: Checklist::default(),
                    sales_accepted: false,
                    stage_set_by_user: false,
                    recycle_until: None,
                };
                let outcome = evaluate(&active, &input, &ledger, now);
                let mut contact = input.contact;
                contact.score = Some(outcome.summary);
                let moved = outcome.transitions.last().map(|t| {
                    contact.lifecycle_stage = t.to;
                    now
                });
                transitions.extend(outcome.transitions);
                (contact, moved)
            })
            .collect();
        Ok((scored, transitions))
    }
}

fn prospect(input: &ScoringInput) -> Prospect<'_> {
    Prospect { contact: &input.contact, company: input.company.as_ref() }
}

/// Scores one contact from its ledger and applies the automatic lifecycle moves (pure: the
/// kernel that rescoring runs per contact, also timed alone by the rescore benchmark).
pub fn evaluate(active: &ActiveRules, input: &ScoringInput, ledger: &Ledger, now: Timestamp) -> ScoreOutcome {
    let standing = standing(&active.rules, prospect(input), ledger, now);
    let mut stage = input.contact.lifecycle_stage;
    let mut by_user = input.stage_set_by_user;
    let mut transitions = Vec::new();
    // Each move may enable another (lead → MQL → SQL); the machine has no cycles among automatic
    // moves, and three steps is more than the longest chain.
    for _ in 0..3 {
        let facts = LifecycleFacts {
            stage,
            standing: &standing,
            checklist: &input.checklist,
            sales_accepted: input.sales_accepted,
            stage_set_by_user: by_user,
            recycle_until: input.recycle_until,
        };
        let Some(mv) = automatic_move(&facts, &active.rules, now) else { break };
        transitions.push(Transition {
            contact_id: input.contact.id,
            from: stage,
            to: mv.to,
            at: now,
            actor: Actor::Rule { rule: mv.rule, rules_version: active.version },
            reason: mv.reason,
        });
        stage = mv.to;
        by_user = false;
    }
    ScoreOutcome { contact: input.contact.id, summary: standing.summary(active.version), transitions }
}

/// Turns a refused rules document into the matching client error.
pub fn rules_error(e: RulesError) -> AppError {
    match e {
        RulesError::Invalid(errors) => AppError::Invalid(errors),
        RulesError::Syntax { line, column, message } => {
            AppError::invalid("rules", format!("not valid JSON at line {line}, column {column}: {message}"))
        }
    }
}

/// Up to this many contacts, a rules preview is exact; above, it scores an even sample.
pub const PREVIEW_SAMPLE: usize = 50_000;

/// What new rules would change, before they are saved.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RulesPreview {
    pub contacts: u64,
    /// Contacts actually scored (all of them, or an even sample).
    pub scored: u64,
    /// True when the counts are scaled up from a sample.
    pub estimated: bool,
    pub become_mql: u64,
    pub leave_mql: u64,
    pub other_stage_changes: u64,
    pub become_hot: u64,
    pub become_warm: u64,
    pub drop_to_cold: u64,
    pub grade_changes: u64,
}

impl App {
    /// Scores contacts with candidate rules without saving anything, and counts what would move
    /// ("312 leads would become MQL, 40 would drop to cold").
    pub async fn preview_rules(
        &self,
        principal: &Principal,
        rules: ScoringRules,
    ) -> Result<RulesPreview, AppError> {
        principal.require(Permission::ManageScoring)?;
        let now = self.now();
        let mut s = self.store.read().await?;
        let active = ActiveRules { version: s.latest_rules_version().await? + 1, rules: Arc::new(rules) };
        let total = s.count_contacts().await?.max(0) as usize;
        // An even sample over the id order (ids are time-ordered, so every period is represented).
        let step = total.div_ceil(PREVIEW_SAMPLE).max(1);
        let mut p = RulesPreview { contacts: total as u64, estimated: step > 1, ..Default::default() };
        let mut after = None;
        loop {
            let ids = s.contact_ids_after(after, 5_000).await?;
            let Some(last) = ids.last().copied() else { break };
            after = Some(last);
            let picked: Vec<ContactId> =
                ids.into_iter().enumerate().filter(|(i, _)| i % step == 0).map(|(_, id)| id).collect();
            let inputs = s.scoring_inputs(&picked).await?;
            let mut timelines = s.timelines(ContactSet::Ids(&picked), &active.rules.event_needs()).await?;
            for input in &inputs {
                let events = timelines.remove(&input.contact.id).unwrap_or_default();
                let mut ledger = Ledger::from_events(&active.rules, active.version, &events);
                ledger.prune(&active.rules, now);
                let outcome = evaluate(&active, input, &ledger, now);
                p.scored += 1;
                let before = input.contact.lifecycle_stage;
                let after_stage = outcome.transitions.last().map_or(before, |t| t.to);
                match (before == LifecycleStage::Mql, after_stage == LifecycleStage::Mql) {
                    (false, true) => p.become_mql += 1,
                    (true, false) => p.leave_mql += 1,
                    _ if before != after_stage => p.other_stage_changes += 1,
                    _ => {}
                }
                let old = input.contact.score.as_ref();
                let new_t = outcome.summary.temperature;
                if old.is_none_or(|o| o.temperature != new_t) {
                    match new_t {
                        leadgate_core::scoring::Temperature::Hot => p.become_hot += 1,
                        leadgate_core::scoring::Temperature::Warm => p.become_warm += 1,
                        leadgate_core::scoring::Temperature::Cold if old.is_some() => p.drop_to_cold += 1,
                        leadgate_core::scoring::Temperature::Cold => {}
                    }
                }
                if old.is_some_and(|o| o.fit_grade != outcome.summary.fit_grade) {
                    p.grade_changes += 1;
                }
            }
        }
        if p.estimated && p.scored > 0 {
            let scale = total as f64 / p.scored as f64;
            for n in [
                &mut p.become_mql,
                &mut p.leave_mql,
                &mut p.other_stage_changes,
                &mut p.become_hot,
                &mut p.become_warm,
                &mut p.drop_to_cold,
                &mut p.grade_changes,
            ] {
                *n = (*n as f64 * scale).round() as u64;
            }
        }
        Ok(p)
    }
}
