//! Hand-off to sales: rep profiles, the agreement, routing a lead when it becomes an MQL (or on
//! demand), first touches, SLA reminders and breaches, follow-up tasks, and the agreement's
//! figures. The decisions themselves are pure functions of `leadgate_core::handoff`; this module
//! reads their inputs, applies their outcome and announces it to webhook subscribers, in the
//! transaction of the change that caused it.

use std::collections::{BTreeMap, HashMap};

use jiff::{SignedDuration, Timestamp};
use leadgate_core::access::{Permission, Role};
use leadgate_core::handoff::{
    Agreement, BreachAction, LeadFacts, RepLoad, RepProfile, RoutingDecision, SlaState, route, sla_state,
};
use leadgate_core::ids::{AssignmentId, ContactId, TaskId, UserId};
use leadgate_core::lifecycle::{LifecycleStage, Transition};
use leadgate_core::scoring::{FitGrade, Temperature};
use leadgate_core::validation::{ValidationErrors, is_plain_text};
use leadgate_store::Session;
use leadgate_store::handoff::{AssignmentRecord, RepRecord, TaskRecord};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::{App, AppError, Principal, new_uuid};

/// Timers handled per transaction by one pass (the rest wait for the next pass).
const TIMER_BATCH: i64 = 500;

/// A sales rep, their profile and current load.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RepView {
    pub user_id: UserId,
    pub name: String,
    pub email: String,
    pub profile: RepProfile,
    /// Open assignments plus accepted leads still being worked.
    pub open: i64,
    pub assigned_total: i64,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub last_assigned_at: Option<Timestamp>,
}

/// The agreement in force and its version (0: the built-in default, never saved).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgreementView {
    pub version: i64,
    pub agreement: Agreement,
}

/// Where an assignment stands against the agreement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SlaStatus {
    /// Waiting for a rep: no deadline runs.
    Unassigned,
    /// Taken by a rep without being handed over (accepted directly): no deadline applies.
    NoDeadline,
    /// Untouched, deadline ahead.
    OnTrack,
    /// Untouched, reminder time passed.
    Warning,
    /// Untouched past the deadline.
    Breached,
    /// First touch within the deadline.
    Met,
    /// First touch after the deadline.
    Missed,
}

/// One hand-over of a lead to a rep (or to the unassigned queue), and how it went.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AssignmentView {
    pub id: AssignmentId,
    pub contact_id: ContactId,
    /// Absent: no rep was eligible; the lead waits in the unassigned queue.
    pub rep_id: Option<UserId>,
    /// The routing rule that chose the rep.
    pub rule: Option<String>,
    /// Why this rep (or why nobody).
    pub why: String,
    pub temperature: Option<String>,
    pub grade: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub assigned_at: Timestamp,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub remind_at: Option<Timestamp>,
    /// First-touch deadline, counted in the rep's working hours.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub due_at: Option<Timestamp>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub first_touch_at: Option<Timestamp>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub breached_at: Option<Timestamp>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub closed_at: Option<Timestamp>,
    /// accepted (the rep keeps the lead: the assignment stays open), rejected, reassigned,
    /// requalified (left the sales stages another way)
    pub outcome: Option<String>,
    pub reject_reason: Option<String>,
    /// When sales accepted the lead.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub accepted_at: Option<Timestamp>,
    /// When the deadline was tightened because the lead warmed up before its first touch.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub retimed_at: Option<Timestamp>,
    pub sla: SlaStatus,
    /// Seconds until the deadline (negative when past); only while untouched and open.
    pub seconds_left: Option<i64>,
    /// The lead as it stands now, in a work queue (its name, temperature, grade and chance).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub now: Option<QueueStanding>,
}

/// A queued lead as it stands now (the assignment's own temperature and grade are those it was
/// handed over with).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QueueStanding {
    pub contact_name: String,
    pub company_name: Option<String>,
    pub temperature: Option<leadgate_core::scoring::Temperature>,
    pub grade: Option<String>,
    /// The active model's probability that the lead converts.
    pub probability: Option<f64>,
}

fn assignment_view(a: AssignmentRecord, now: Timestamp) -> AssignmentView {
    let sla = match (a.rep_id, a.due_at, a.first_touch_at) {
        (None, _, _) => SlaStatus::Unassigned,
        (Some(_), None, _) => SlaStatus::NoDeadline,
        (Some(_), Some(due), Some(touch)) => {
            if touch <= due {
                SlaStatus::Met
            } else {
                SlaStatus::Missed
            }
        }
        (Some(_), Some(due), None) => match (a.closed_at, sla_state(a.remind_at, due, false, now)) {
            (Some(closed), _) if closed <= due => SlaStatus::Met,
            (Some(_), _) => SlaStatus::Missed,
            (None, SlaState::OnTrack) => SlaStatus::OnTrack,
            (None, SlaState::Warning) => SlaStatus::Warning,
            (None, SlaState::Breached) => SlaStatus::Breached,
        },
    };
    let seconds_left = match (a.due_at, a.first_touch_at, a.closed_at, a.rep_id) {
        (Some(due), None, None, Some(_)) => Some(due.as_second() - now.as_second()),
        _ => None,
    };
    AssignmentView {
        id: a.id,
        contact_id: a.contact_id,
        rep_id: a.rep_id,
        rule: a.rule,
        why: a.why,
        temperature: a.temperature,
        grade: a.grade,
        assigned_at: a.assigned_at,
        remind_at: a.remind_at,
        due_at: a.due_at,
        first_touch_at: a.first_touch_at,
        breached_at: a.breached_at,
        closed_at: a.closed_at,
        outcome: a.outcome,
        reject_reason: a.reject_reason,
        accepted_at: a.accepted_at,
        retimed_at: a.retimed_at,
        sla,
        seconds_left,
        now: None,
    }
}

/// A contact as `GET /api/v1/contacts/{id}` shows it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ContactDetail {
    #[serde(flatten)]
    pub contact: leadgate_core::contact::Contact,
    /// The current (or latest) hand-over to sales; absent if it was never handed over.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assignment: Option<AssignmentView>,
}

/// What kind of follow-up a task is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TaskKind {
    Call,
    Email,
    Meeting,
}

impl TaskKind {
    fn as_str(self) -> &'static str {
        match self {
            TaskKind::Call => "call",
            TaskKind::Email => "email",
            TaskKind::Meeting => "meeting",
        }
    }

    fn parse(s: &str) -> TaskKind {
        match s {
            "email" => TaskKind::Email,
            "meeting" => TaskKind::Meeting,
            _ => TaskKind::Call,
        }
    }
}

/// What an agreement task asks for; the action that does it closes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TaskPurpose {
    /// Made with an assignment: done by the first touch, or by accepting or rejecting the lead.
    FirstContact,
    /// Made after a touch with no reply: done by the next touch.
    FollowUp,
    /// A manager's, on a missed deadline: done once the lead is touched.
    Breach,
}

impl TaskPurpose {
    pub const ALL: [TaskPurpose; 3] = [TaskPurpose::FirstContact, TaskPurpose::FollowUp, TaskPurpose::Breach];

    pub fn as_str(self) -> &'static str {
        match self {
            TaskPurpose::FirstContact => "first_contact",
            TaskPurpose::FollowUp => "follow_up",
            TaskPurpose::Breach => "breach",
        }
    }

    fn parse(s: &str) -> Option<TaskPurpose> {
        TaskPurpose::ALL.into_iter().find(|p| p.as_str() == s)
    }

    fn codes(purposes: &[TaskPurpose]) -> Vec<&'static str> {
        purposes.iter().map(|p| p.as_str()).collect()
    }
}

/// Who made a task: the agreement (and for what), or a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TaskOrigin {
    Agreement(TaskPurpose),
    Person(UserId),
}

/// A follow-up task.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TaskView {
    pub id: TaskId,
    pub contact_id: ContactId,
    pub assignee_id: UserId,
    pub kind: TaskKind,
    pub title: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub due_at: Timestamp,
    /// Due and not done.
    pub overdue: bool,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
    /// Absent: created by the agreement (on assignment, unanswered touch, breach).
    pub created_by: Option<UserId>,
    /// What an agreement task is for (closed by the action that does it); absent for a task a
    /// person made.
    pub purpose: Option<TaskPurpose>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub done_at: Option<Timestamp>,
    /// The contact's name (or e-mail), in task lists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact_name: Option<String>,
    /// The contact's company, in task lists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub company_name: Option<String>,
}

/// A new open task.
impl App {
    /// Saves tasks, proposing no call to a person who asked not to be called: an agreement's
    /// call becomes an e-mail, and a person asking for a call is told why not. Every task is
    /// saved through here.
    pub(crate) async fn save_tasks(
        &self,
        tx: &mut Session,
        mut tasks: Vec<TaskRecord>,
    ) -> Result<Vec<TaskRecord>, AppError> {
        let calls: Vec<ContactId> = tasks.iter().filter(|t| t.kind == "call").map(|t| t.contact_id).collect();
        if !calls.is_empty() {
            let refused = tx.do_not_call_among(&calls).await?;
            for t in tasks.iter_mut().filter(|t| t.kind == "call" && refused.contains(&t.contact_id)) {
                if t.created_by.is_some() {
                    return Err(AppError::StateConflict(DO_NOT_CALL.into()));
                }
                t.kind = "email".into();
            }
        }
        tx.insert_tasks(&tasks).await?;
        Ok(tasks)
    }
}

/// Why a call is refused.
pub(crate) const DO_NOT_CALL: &str = "this person asked not to be called (do-not-call): reach them another way, or clear do-not-call if they asked you to call";

fn new_task(
    contact: ContactId,
    assignee: UserId,
    kind: TaskKind,
    title: String,
    due_at: Timestamp,
    origin: TaskOrigin,
    now: Timestamp,
) -> TaskRecord {
    let (created_by, purpose) = match origin {
        TaskOrigin::Agreement(p) => (None, Some(p.as_str().to_string())),
        TaskOrigin::Person(user) => (Some(user), None),
    };
    TaskRecord {
        id: TaskId(new_uuid()),
        contact_id: contact,
        assignee_id: assignee,
        kind: kind.as_str().into(),
        title,
        due_at,
        created_at: now,
        created_by,
        done_at: None,
        notified_at: None,
        purpose,
    }
}

pub(crate) fn task_view(t: TaskRecord, now: Timestamp) -> TaskView {
    TaskView {
        id: t.id,
        contact_id: t.contact_id,
        assignee_id: t.assignee_id,
        kind: TaskKind::parse(&t.kind),
        title: t.title,
        overdue: t.done_at.is_none() && t.due_at <= now,
        due_at: t.due_at,
        created_at: t.created_at,
        created_by: t.created_by,
        purpose: t.purpose.as_deref().and_then(TaskPurpose::parse),
        done_at: t.done_at,
        contact_name: None,
        company_name: None,
    }
}

/// A task created by hand.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewTask {
    pub contact_id: ContactId,
    pub kind: TaskKind,
    pub title: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub due_at: Timestamp,
    /// Who does it; default: you.
    #[serde(default)]
    pub assignee_id: Option<UserId>,
}

/// How a logged touch went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TouchOutcome {
    /// Spoke with or heard back from the person.
    Reached,
    /// No answer: a follow-up task is created.
    NoReply,
}

/// A call, e-mail or meeting with the lead, logged by a rep.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewTouch {
    pub kind: TaskKind,
    pub outcome: TouchOutcome,
    #[serde(default)]
    pub note: Option<String>,
}

/// What logging a touch did.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TouchReceipt {
    /// True when this was the first touch of the open assignment (the SLA clock stopped).
    pub first_touch: bool,
    /// The follow-up created for an unanswered touch.
    pub follow_up: Option<TaskView>,
}

/// The agreement's figures over a period.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HandoffMetrics {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub from: Timestamp,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub to: Timestamp,
    /// Leads handed to a rep in the period.
    pub assigned: u64,
    /// Leads that found no eligible rep.
    pub unassigned: u64,
    /// Of the assignments whose deadline has passed or that were touched: touched in time.
    pub touched_in_time: u64,
    pub decided: u64,
    /// touched_in_time / decided; absent when nothing is decided yet.
    pub compliance: Option<f64>,
    /// Median minutes from assignment to first touch, per rep (user id) and per temperature.
    pub median_minutes_to_first_touch_by_rep: BTreeMap<String, f64>,
    pub median_minutes_to_first_touch_by_temperature: BTreeMap<String, f64>,
    /// Rejections by reason.
    pub rejections: BTreeMap<String, u64>,
    /// Where rejected (recycled) leads stand now, by lifecycle stage.
    pub recycled_now: BTreeMap<String, u64>,
}

/// Where every open, untouched lead stands against the agreement right now.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SlaOverview {
    pub on_track: u64,
    pub warning: u64,
    pub breached: u64,
    /// Waiting for an eligible rep.
    pub unassigned: u64,
    /// Per rep (user id): on track, warning, breached.
    pub by_rep: BTreeMap<String, [u64; 3]>,
}

impl SlaOverview {
    /// One pass over (rep, reminder, deadline) rows: the pure part of the SLA evaluation.
    pub fn evaluate(
        rows: &[(Option<UserId>, Option<Timestamp>, Option<Timestamp>)],
        now: Timestamp,
    ) -> SlaOverview {
        let mut o = SlaOverview::default();
        let mut per_rep: HashMap<UserId, [u64; 3]> = HashMap::new();
        for (rep, remind, due) in rows {
            let (Some(rep), Some(due)) = (rep, due) else {
                o.unassigned += 1;
                continue;
            };
            let slot = match sla_state(*remind, *due, false, now) {
                SlaState::OnTrack => {
                    o.on_track += 1;
                    0
                }
                SlaState::Warning => {
                    o.warning += 1;
                    1
                }
                SlaState::Breached => {
                    o.breached += 1;
                    2
                }
            };
            per_rep.entry(*rep).or_default()[slot] += 1;
        }
        o.by_rep = per_rep.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
        o
    }
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 })
}

/// A contact that just changed stage, as the hand-off sees it.
pub(crate) struct StageChange {
    pub contact: ContactId,
    pub from: LifecycleStage,
    pub to: LifecycleStage,
    pub facts: LeadFacts,
}

/// Routing under the agreement for the leads of one transaction: the agreement and the reps'
/// loads are read once, and each choice is counted in the loads before the next lead.
struct Router {
    agreement: Agreement,
    reps: Vec<RepLoad>,
}

impl Router {
    async fn load(app: &App, tx: &mut Session) -> Result<Router, AppError> {
        Ok(Router {
            agreement: app.agreement_in(tx).await?.agreement,
            reps: tx.reps(None).await?.into_iter().map(parse_rep).collect::<Result<_, _>>()?,
        })
    }

    /// Decides who gets one lead (or hands it to `chosen`, a person's choice with the reason to
    /// record): the assignment, with its first-touch deadlines, and the rep's first task.
    fn assign(
        &mut self,
        contact: ContactId,
        facts: LeadFacts,
        exclude: &[UserId],
        chosen: Option<(UserId, String)>,
        now: Timestamp,
    ) -> Result<(AssignmentRecord, Option<TaskRecord>), AppError> {
        let decision = match chosen {
            Some((rep, why)) => RoutingDecision::Assigned { rep, rule: "by hand".into(), why },
            None => route(&self.agreement.routing, &facts, &self.reps, exclude),
        };
        let mut record = AssignmentRecord {
            id: AssignmentId(new_uuid()),
            contact_id: contact,
            rep_id: None,
            rule: None,
            why: String::new(),
            temperature: facts.temperature.map(temperature_str).map(str::to_string),
            grade: facts.grade.map(|g| g.as_str().to_string()),
            assigned_at: now,
            remind_at: None,
            due_at: None,
            first_touch_at: None,
            warned_at: None,
            breached_at: None,
            closed_at: None,
            outcome: None,
            reject_reason: None,
            accepted_at: None,
            retimed_at: None,
        };
        match decision {
            RoutingDecision::Assigned { rep, rule, why } => {
                let load = self
                    .reps
                    .iter_mut()
                    .find(|r| r.user_id == rep)
                    .ok_or_else(|| AppError::Internal("routed to an unknown rep".into()))?;
                let schedule =
                    load.profile.validate().map_err(|e| AppError::Internal(format!("rep profile: {e}")))?;
                let d = self.agreement.deadlines(&schedule, now, facts.temperature, facts.grade);
                // What the reps query would count once this assignment is stored.
                load.open += 1;
                load.assigned_total += 1;
                load.last_assigned_at = Some(now);
                record.rep_id = Some(rep);
                // Printable: a rule stored before names were checked must not break routing.
                record.rule = Some(leadgate_core::validation::printable(&rule).into_owned());
                record.why = leadgate_core::validation::printable(&why).into_owned();
                record.remind_at = d.remind_at;
                record.due_at = Some(d.due_at);
                let task = new_task(
                    contact,
                    rep,
                    TaskKind::Call,
                    "First contact with this new lead".into(),
                    d.due_at,
                    TaskOrigin::Agreement(TaskPurpose::FirstContact),
                    now,
                );
                Ok((record, Some(task)))
            }
            RoutingDecision::Unassigned { why } => {
                record.why = leadgate_core::validation::printable(&why).into_owned();
                Ok((record, None))
            }
        }
    }
}

fn parse_rep(r: RepRecord) -> Result<RepLoad, AppError> {
    let profile: RepProfile = serde_json::from_str(&r.profile)
        .map_err(|e| AppError::Internal(format!("stored profile of rep {} is unreadable: {e}", r.user.id)))?;
    Ok(RepLoad {
        user_id: r.user.id,
        name: r.user.name.clone().unwrap_or_else(|| r.user.email.clone()),
        profile,
        open: r.open.max(0) as u32,
        assigned_total: r.assigned_total.max(0) as u32,
        last_assigned_at: r.last_assigned_at,
    })
}

fn rep_view(r: RepRecord) -> Result<RepView, AppError> {
    let load = parse_rep(r.clone())?;
    Ok(RepView {
        user_id: r.user.id,
        name: load.name,
        email: r.user.email,
        profile: load.profile,
        open: r.open,
        assigned_total: r.assigned_total,
        last_assigned_at: r.last_assigned_at,
    })
}

fn temperature_str(t: Temperature) -> &'static str {
    match t {
        Temperature::Cold => "cold",
        Temperature::Warm => "warm",
        Temperature::Hot => "hot",
    }
}

impl App {
    // ----- reps and agreement -----

    /// Sets a sales user's rep profile (territory, sectors, sizes, hours, capacity).
    pub async fn put_rep(
        &self,
        principal: &Principal,
        user: UserId,
        profile: RepProfile,
    ) -> Result<RepView, AppError> {
        principal.require(Permission::ManageHandoff)?;
        profile.validate()?;
        let mut tx = self.store.begin().await?;
        let u = tx.get_user(user).await?.ok_or_else(|| AppError::not_found("user", user))?;
        if u.role != Role::Sales {
            return Err(AppError::StateConflict(format!(
                "{} has the {} role; only sales users can be reps (change their role first)",
                u.email, u.role
            )));
        }
        let text = serde_json::to_string(&profile).map_err(|e| AppError::Internal(e.to_string()))?;
        tx.put_rep(user, &text, self.now()).await?;
        let rep = tx.reps(Some(user)).await?.pop().ok_or_else(|| AppError::not_found("rep", user))?;
        tx.commit().await?;
        rep_view(rep)
    }

    pub async fn delete_rep(&self, principal: &Principal, user: UserId) -> Result<(), AppError> {
        principal.require(Permission::ManageHandoff)?;
        let mut tx = self.store.begin().await?;
        if !tx.delete_rep(user).await? {
            return Err(AppError::not_found("rep", user));
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn reps(&self, principal: &Principal) -> Result<Vec<RepView>, AppError> {
        principal.require(Permission::ReadContacts)?;
        let mut s = self.store.read().await?;
        s.reps(None).await?.into_iter().map(rep_view).collect()
    }

    pub(crate) async fn agreement_in(&self, s: &mut Session) -> Result<AgreementView, AppError> {
        Ok(match s.latest_agreement().await? {
            Some((version, text)) => AgreementView {
                version,
                agreement: serde_json::from_str(&text).map_err(|e| {
                    AppError::Internal(format!("stored agreement {version} is unreadable: {e}"))
                })?,
            },
            None => AgreementView { version: 0, agreement: Agreement::default() },
        })
    }

    pub async fn agreement(&self, principal: &Principal) -> Result<AgreementView, AppError> {
        principal.require(Permission::ReadContacts)?;
        let mut s = self.store.read().await?;
        self.agreement_in(&mut s).await
    }

    /// Every version of the agreement, newest first: who, when, why.
    pub async fn agreement_history(
        &self,
        principal: &Principal,
    ) -> Result<Vec<leadgate_store::handoff::AgreementVersion>, AppError> {
        principal.require(Permission::ReadContacts)?;
        Ok(self.store.read().await?.agreement_versions().await?)
    }

    /// Makes an earlier version the agreement again, as a new version ("restored version N").
    pub async fn restore_agreement(
        &self,
        principal: &Principal,
        version: i64,
    ) -> Result<AgreementView, AppError> {
        principal.require(Permission::ManageHandoff)?;
        let text = self
            .store
            .read()
            .await?
            .agreement_version(version)
            .await?
            .ok_or_else(|| AppError::not_found("agreement version", version))?;
        let agreement: Agreement = serde_json::from_str(&text).map_err(|e| {
            AppError::Internal(format!("stored agreement version {version} is unreadable: {e}"))
        })?;
        self.put_agreement_with(principal, agreement, Some(&format!("restored version {version}"))).await
    }

    /// Saves a new version of the agreement. Reps named by routing rules must exist.
    pub async fn put_agreement(
        &self,
        principal: &Principal,
        agreement: Agreement,
    ) -> Result<AgreementView, AppError> {
        self.put_agreement_with(principal, agreement, None).await
    }

    /// Saves a new version of the agreement with why it changed.
    pub async fn put_agreement_with(
        &self,
        principal: &Principal,
        agreement: Agreement,
        comment: Option<&str>,
    ) -> Result<AgreementView, AppError> {
        principal.require(Permission::ManageHandoff)?;
        if comment.is_some_and(|c| c.chars().count() > 500 || !leadgate_core::validation::is_plain_text(c)) {
            return Err(AppError::invalid("comment", "must be plain text of at most 500 characters"));
        }
        agreement.validate()?;
        let mut tx = self.store.begin().await?;
        let reps: Vec<UserId> = tx.reps(None).await?.into_iter().map(|r| r.user.id).collect();
        let mut errors = ValidationErrors::new();
        for (i, rule) in agreement.routing.iter().enumerate() {
            match &rule.assign {
                leadgate_core::handoff::Assignee::Rep { user_id } if !reps.contains(user_id) => {
                    errors.add(
                        format!("routing[{i}].assign.user_id"),
                        format!("{user_id} is not a rep; give them a rep profile first"),
                    );
                }
                leadgate_core::handoff::Assignee::Weighted { weights } => {
                    for (j, w) in weights.iter().enumerate() {
                        if !reps.contains(&w.user_id) {
                            errors.add(
                                format!("routing[{i}].assign.weights[{j}].user_id"),
                                format!("{} is not a rep; give them a rep profile first", w.user_id),
                            );
                        }
                    }
                }
                _ => {}
            }
        }
        errors.into_result(())?;
        let text = serde_json::to_string(&agreement).map_err(|e| AppError::Internal(e.to_string()))?;
        let version = tx.insert_agreement(&text, comment, Some(principal.user.id), self.now()).await?;
        let target = Some(version.to_string());
        self.audit_in(&mut tx, Some(principal), "agreement.changed", target, None, serde_json::json!({}))
            .await?;
        tx.commit().await?;
        Ok(AgreementView { version, agreement })
    }

    // ----- routing -----

    /// Routes a lead now (again): closes its open assignment and picks a rep under the agreement.
    pub async fn route_contact(
        &self,
        principal: &Principal,
        id: ContactId,
    ) -> Result<AssignmentView, AppError> {
        self.retrying(|| self.route_contact_once(principal, id)).await
    }

    async fn route_contact_once(
        &self,
        principal: &Principal,
        id: ContactId,
    ) -> Result<AssignmentView, AppError> {
        let now = self.now();
        let mut tx = self.store.begin().await?;
        tx.lock_contact(id).await?.ok_or_else(|| AppError::not_found("contact", id))?;
        // Routing hands the lead to someone else: a rep may do it with its own leads.
        if !principal.user.role.allows(Permission::ChangeLifecycle) {
            self.require_change(&mut tx, principal, id, Permission::AssignLeads, false).await?;
        }
        let input =
            tx.scoring_inputs(&[id]).await?.pop().ok_or_else(|| AppError::not_found("contact", id))?;
        if !matches!(input.contact.lifecycle_stage, LifecycleStage::Mql | LifecycleStage::Sql) {
            return Err(AppError::StateConflict(format!(
                "only leads handed to sales (MQL or SQL) are routed; this contact is `{}`",
                input.contact.lifecycle_stage
            )));
        }
        // Routing again means "someone else": the rep who has it now is skipped.
        let previous: Vec<UserId> = self.take_back_in(&mut tx, id, now).await?.into_iter().collect();
        let facts = lead_facts(&input.contact, input.company.as_ref());
        let assignment = self.assign_in(&mut tx, id, facts, &previous, now).await?;
        tx.commit().await?;
        Ok(assignment_view(assignment, now))
    }

    /// Closes the lead's open assignment (it is being handed over again); returns who had it.
    async fn take_back_in(
        &self,
        tx: &mut Session,
        id: ContactId,
        now: Timestamp,
    ) -> Result<Option<UserId>, AppError> {
        let Some(open) = tx.open_assignment(id).await? else { return Ok(None) };
        self.close_assignment_with_tasks(tx, &open, "reassigned", None, now).await?;
        Ok(open.rep_id)
    }

    /// A person hands a lead to a rep of their choice (bulk assignment from the inbox). The
    /// agreement's deadlines apply as for a routed lead; the choice is recorded as the reason.
    pub async fn assign_to(
        &self,
        principal: &Principal,
        id: ContactId,
        rep: UserId,
    ) -> Result<AssignmentView, AppError> {
        self.retrying(|| self.assign_to_once(principal, id, rep)).await
    }

    async fn assign_to_once(
        &self,
        principal: &Principal,
        id: ContactId,
        rep: UserId,
    ) -> Result<AssignmentView, AppError> {
        principal.require(Permission::AssignLeads)?;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        tx.lock_contact(id).await?.ok_or_else(|| AppError::not_found("contact", id))?;
        self.require_assign(&mut tx, principal, id, rep).await?;
        let input =
            tx.scoring_inputs(&[id]).await?.pop().ok_or_else(|| AppError::not_found("contact", id))?;
        let Some(record) = tx.reps(Some(rep)).await?.pop() else {
            return Err(AppError::invalid(
                "rep_id",
                format!("{rep} is not a sales rep; give them a rep profile first"),
            ));
        };
        self.take_back_in(&mut tx, id, now).await?;
        let who = principal.user.name.clone().unwrap_or_else(|| principal.user.email.clone());
        let rep_name = record.user.name.clone().unwrap_or_else(|| record.user.email.clone());
        let facts = lead_facts(&input.contact, input.company.as_ref());
        let assignment = self
            .assign_in_with(
                &mut tx,
                id,
                facts,
                &[],
                Some((rep, format!("{who} assigned the lead to {rep_name}"))),
                now,
            )
            .await?;
        tx.commit().await?;
        Ok(assignment_view(assignment, now))
    }

    /// Routes one lead inside the caller's transaction and announces the assignment.
    pub(crate) async fn assign_in(
        &self,
        tx: &mut Session,
        contact: ContactId,
        facts: LeadFacts,
        exclude: &[UserId],
        now: Timestamp,
    ) -> Result<AssignmentRecord, AppError> {
        self.assign_in_with(tx, contact, facts, exclude, None, now).await
    }

    /// Routes one lead, or hands it to `chosen` (a person's choice, with the reason to record).
    async fn assign_in_with(
        &self,
        tx: &mut Session,
        contact: ContactId,
        facts: LeadFacts,
        exclude: &[UserId],
        chosen: Option<(UserId, String)>,
        now: Timestamp,
    ) -> Result<AssignmentRecord, AppError> {
        let mut router = Router::load(self, tx).await?;
        let made = router.assign(contact, facts, exclude, chosen, now)?;
        let record = made.0.clone();
        self.record_assignments(tx, vec![made], now).await?;
        Ok(record)
    }

    /// Writes assignments (with the rep's first task) and announces them.
    async fn record_assignments(
        &self,
        tx: &mut Session,
        made: Vec<(AssignmentRecord, Option<TaskRecord>)>,
        now: Timestamp,
    ) -> Result<(), AppError> {
        if made.is_empty() {
            return Ok(());
        }
        let (records, tasks): (Vec<AssignmentRecord>, Vec<Option<TaskRecord>>) = made.into_iter().unzip();
        tx.insert_assignments(&records).await?;
        self.save_tasks(tx, tasks.into_iter().flatten().collect()).await?;
        let announced =
            records.iter().map(|a| (a.contact_id, json!({ "assignment": assignment_view(a.clone(), now) })));
        self.emit_many_in(tx, "lead.assigned", announced, now).await
    }

    /// What the hand-off does after contacts changed stage (inside the rescoring transaction):
    /// a lead leaving the sales stages gives its assignment back, a new MQL is routed (unless it
    /// already waits for sales). A rules change can move thousands of leads at once, so this
    /// reads what it needs once and writes in batches. Assignments are given back first, so the
    /// capacity they free counts; then the new MQLs are routed one after another in memory, each
    /// choice counted in the reps' loads before the next, as if routed one by one.
    pub(crate) async fn handoff_after_moves(
        &self,
        tx: &mut Session,
        changes: Vec<StageChange>,
        transitions: &[Transition],
        now: Timestamp,
    ) -> Result<(), AppError> {
        let moved = transitions.iter().map(|t| (t.contact_id, json!({ "transition": t })));
        self.emit_many_in(tx, "lifecycle.changed", moved, now).await?;
        let contacts: Vec<ContactId> = changes.iter().map(|c| c.contact).collect();
        let open = tx.open_assignments_of(&contacts).await?;
        let handed = |s: LifecycleStage| {
            matches!(s, LifecycleStage::Mql | LifecycleStage::Sql | LifecycleStage::Opportunity)
        };
        let mut to_route = Vec::new();
        for change in changes {
            let open = open.get(&change.contact);
            if change.to == LifecycleStage::Mql && change.from != LifecycleStage::Mql {
                if open.is_none() {
                    to_route.push(change);
                }
            } else if let Some(a) = open
                && !handed(change.to)
            {
                let outcome = if change.to == LifecycleStage::Customer { "accepted" } else { "requalified" };
                self.close_assignment_with_tasks(tx, a, outcome, None, now).await?;
            }
        }
        if to_route.is_empty() {
            return Ok(());
        }
        let mut router = Router::load(self, tx).await?;
        let made = to_route
            .into_iter()
            .map(|change| router.assign(change.contact, change.facts, &[], None, now))
            .collect::<Result<Vec<_>, _>>()?;
        self.record_assignments(tx, made, now).await
    }

    /// Sales rejected a lead: that is a touch, and it closes the assignment and its agreement
    /// tasks (the lead goes back to marketing).
    pub(crate) async fn reject_assignment_in(
        &self,
        tx: &mut Session,
        contact: ContactId,
        reject_reason: &str,
        now: Timestamp,
    ) -> Result<(), AppError> {
        if let Some(open) = tx.open_assignment(contact).await? {
            self.close_assignment_with_tasks(tx, &open, "rejected", Some(reject_reason), now).await?;
        }
        Ok(())
    }

    /// Sales accepted a lead: the rep keeps it (the assignment stays open, so it stays in their
    /// queue and shows them as its owner), the acceptance counts as the first touch, and the
    /// first-contact task is done. A lead waiting unassigned (or never routed) becomes the
    /// accepting user's.
    pub(crate) async fn accept_assignment_in(
        &self,
        tx: &mut Session,
        contact: ContactId,
        by: UserId,
        facts: LeadFacts,
        now: Timestamp,
    ) -> Result<(), AppError> {
        match tx.open_assignment(contact).await? {
            Some(open) => {
                tx.accept_assignment(open.id, by, now).await?;
            }
            None => {
                // No deadline: the lead was taken, not handed over.
                let record = AssignmentRecord {
                    id: AssignmentId(new_uuid()),
                    contact_id: contact,
                    rep_id: Some(by),
                    rule: Some("accepted".into()),
                    why: "accepted the lead without it being routed".into(),
                    temperature: facts.temperature.map(temperature_str).map(str::to_string),
                    grade: facts.grade.map(|g| g.as_str().to_string()),
                    assigned_at: now,
                    remind_at: None,
                    due_at: None,
                    first_touch_at: Some(now),
                    warned_at: None,
                    breached_at: None,
                    closed_at: None,
                    outcome: Some("accepted".into()),
                    reject_reason: None,
                    accepted_at: Some(now),
                    retimed_at: None,
                };
                self.record_assignments(tx, vec![(record, None)], now).await?;
            }
        }
        let done = TaskPurpose::codes(&[TaskPurpose::FirstContact, TaskPurpose::Breach]);
        tx.complete_agreement_tasks(contact, None, &done, now).await?;
        Ok(())
    }

    /// Closes an assignment (ownership ends: rejected, reassigned, requalified, customer) with
    /// the agreement tasks it gave its rep, which no longer have a reason to be done by them.
    async fn close_assignment_with_tasks(
        &self,
        tx: &mut Session,
        a: &AssignmentRecord,
        outcome: &str,
        reject_reason: Option<&str>,
        now: Timestamp,
    ) -> Result<(), AppError> {
        tx.close_assignment(a.id, outcome, reject_reason, now).await?;
        let all = TaskPurpose::codes(&TaskPurpose::ALL);
        match a.rep_id {
            Some(rep) => tx.complete_agreement_tasks(a.contact_id, Some(rep), &all, now).await?,
            None => 0,
        };
        // A manager's breach task goes with the lead too.
        tx.complete_agreement_tasks(a.contact_id, None, &[TaskPurpose::Breach.as_str()], now).await?;
        Ok(())
    }

    /// Leads that warmed up before their first touch get the tighter first-touch budget of
    /// their new temperature, counted from now (`Agreement::tightened`): recorded on the
    /// assignment, moved on the first-contact task, announced as `lead.deadline_changed`.
    pub(crate) async fn tighten_deadlines_in(
        &self,
        tx: &mut Session,
        warmer: &[(ContactId, Temperature, FitGrade)],
        now: Timestamp,
    ) -> Result<(), AppError> {
        if warmer.is_empty() {
            return Ok(());
        }
        let ids: Vec<ContactId> = warmer.iter().map(|w| w.0).collect();
        let open = tx.open_assignments_of(&ids).await?;
        let waiting = |c: &ContactId| {
            open.get(c).filter(|a| a.rep_id.is_some() && a.due_at.is_some() && a.first_touch_at.is_none())
        };
        if !ids.iter().any(|c| waiting(c).is_some()) {
            return Ok(());
        }
        let router = Router::load(self, tx).await?;
        let mut announced = Vec::new();
        for (contact, temperature, grade) in warmer {
            let Some(a) = waiting(contact) else { continue };
            let (Some(rep), Some(due)) = (a.rep_id, a.due_at) else { continue };
            let Some(load) = router.reps.iter().find(|r| r.user_id == rep) else { continue };
            let Ok(schedule) = load.profile.validate() else { continue };
            let Some(d) = router.agreement.tightened(&schedule, due, now, Some(*temperature), Some(*grade))
            else {
                continue;
            };
            let mut retimed = a.clone();
            retimed.remind_at = d.remind_at;
            retimed.due_at = Some(d.due_at);
            retimed.temperature = Some(temperature_str(*temperature).to_string());
            retimed.grade = Some(grade.as_str().to_string());
            retimed.retimed_at = Some(now);
            if tx.retime_assignment(&retimed, now).await? {
                tx.retime_first_contact_task(*contact, rep, d.due_at).await?;
                announced.push((
                    *contact,
                    json!({
                        "assignment": assignment_view(retimed, now),
                        "previous_due_at": due,
                        "reason": format!("the lead turned {}", temperature_str(*temperature)),
                    }),
                ));
            }
        }
        self.emit_many_in(tx, "lead.deadline_changed", announced, now).await
    }

    /// How long a rejected lead waits before it can be routed again, from the agreement.
    pub(crate) async fn recycle_period(&self, tx: &mut Session) -> Result<SignedDuration, AppError> {
        let days = self.agreement_in(tx).await?.agreement.recycle_days;
        Ok(SignedDuration::from_hours(24 * days as i64))
    }

    /// A contact with its current (or latest) assignment: who has it, which rule chose them and
    /// why, and where the first-touch deadline stands.
    pub async fn contact_detail(
        &self,
        principal: &Principal,
        id: ContactId,
    ) -> Result<ContactDetail, AppError> {
        let now = self.now();
        let mut s = self.store.read().await?;
        self.require_read(&mut s, principal, id).await?;
        let contact = s.get_contact(id).await?.ok_or_else(|| AppError::not_found("contact", id))?;
        let assignment = s.latest_assignments(&[id]).await?.pop().map(|a| assignment_view(a, now));
        Ok(ContactDetail { contact, assignment })
    }

    /// The contact's assignments, oldest first.
    pub async fn assignments(
        &self,
        principal: &Principal,
        id: ContactId,
    ) -> Result<Vec<AssignmentView>, AppError> {
        let now = self.now();
        let mut s = self.store.read().await?;
        self.require_read(&mut s, principal, id).await?;
        if s.get_contact(id).await?.is_none() {
            return Err(AppError::not_found("contact", id));
        }
        Ok(s.assignments_of(id).await?.into_iter().map(|a| assignment_view(a, now)).collect())
    }

    /// A rep's open leads, soonest deadline first (`None`: your own); or the unassigned queue.
    /// Which of these queues the user may open (a rep's, by id; `None`: the unassigned queue),
    /// without reading them: what a page offers to pick.
    pub async fn openable_queues(
        &self,
        principal: &Principal,
        queues: &[Option<UserId>],
    ) -> Result<Vec<Option<UserId>>, AppError> {
        let mut s = self.store.read().await?;
        let mut open = Vec::new();
        for q in queues {
            let allowed = match q {
                Some(rep) => self.require_work_of(&mut s, principal, *rep).await,
                None => self.require_unassigned_queue(&mut s, principal).await,
            };
            match allowed {
                Ok(()) => open.push(*q),
                Err(AppError::Forbidden { .. } | AppError::NotFound { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(open)
    }

    pub async fn lead_queue(
        &self,
        principal: &Principal,
        rep: Option<UserId>,
        unassigned: bool,
    ) -> Result<Vec<AssignmentView>, AppError> {
        let now = self.now();
        let who = if unassigned { None } else { Some(rep.unwrap_or(principal.user.id)) };
        let mut s = self.store.read().await?;
        match who {
            Some(user) => self.require_work_of(&mut s, principal, user).await?,
            None => self.require_unassigned_queue(&mut s, principal).await?,
        }
        let mut views: Vec<AssignmentView> =
            s.open_assignments(who, 500).await?.into_iter().map(|a| assignment_view(a, now)).collect();
        // What to do next first (core::handoff::next_to_do), from each lead's standing now.
        let ids: Vec<ContactId> = views.iter().map(|v| v.contact_id).collect();
        let labels = s.contact_labels(&ids).await?;
        for v in &mut views {
            if let Some(l) = labels.get(&v.contact_id) {
                v.now = Some(QueueStanding {
                    contact_name: l.name.clone(),
                    company_name: l.company.clone(),
                    temperature: l.temperature,
                    grade: l.grade.clone(),
                    probability: l.probability,
                });
            }
        }
        let facts = |v: &AssignmentView| leadgate_core::handoff::QueueFacts {
            overdue: v.seconds_left.is_some_and(|s| s < 0),
            temperature: v.now.as_ref().and_then(|n| n.temperature),
            probability: v.now.as_ref().and_then(|n| n.probability),
            due_at: v.due_at,
        };
        views.sort_by(|a, b| leadgate_core::handoff::next_to_do(&facts(a), &facts(b)));
        Ok(views)
    }

    // ----- touches and tasks -----

    /// A rep logs a call, e-mail or meeting: it goes on the timeline, stops the SLA clock if it
    /// is the first touch, and an unanswered one gets a follow-up task.
    pub async fn log_touch(
        &self,
        principal: &Principal,
        id: ContactId,
        touch: NewTouch,
    ) -> Result<TouchReceipt, AppError> {
        self.retrying(|| self.log_touch_once(principal, id, touch.clone())).await
    }

    async fn log_touch_once(
        &self,
        principal: &Principal,
        id: ContactId,
        touch: NewTouch,
    ) -> Result<TouchReceipt, AppError> {
        principal.require(Permission::LogTouches)?;
        let note = touch.note.as_deref().map(str::trim).unwrap_or_default().to_string();
        if note.chars().count() > 2000 || !is_plain_text(&note) {
            return Err(AppError::invalid("note", "must be plain text of at most 2000 characters"));
        }
        let now = self.now();
        let mut tx = self.store.begin().await?;
        if tx.lock_contact(id).await?.is_none() {
            return Err(AppError::not_found("contact", id));
        }
        self.require_change(&mut tx, principal, id, Permission::LogTouches, false).await?;
        if touch.kind == TaskKind::Call && !tx.do_not_call_among(&[id]).await?.is_empty() {
            return Err(AppError::StateConflict(DO_NOT_CALL.into()));
        }
        let kind = match touch.kind {
            TaskKind::Call => leadgate_core::event::EventKind::CallLogged,
            TaskKind::Email => leadgate_core::event::EventKind::EmailLogged,
            TaskKind::Meeting => leadgate_core::event::EventKind::MeetingLogged,
        };
        let mut properties = serde_json::Map::new();
        properties.insert("outcome".into(), json!(touch.outcome));
        properties.insert("logged_by".into(), json!(principal.user.id));
        if !note.is_empty() {
            properties.insert("note".into(), json!(note));
        }
        let event = leadgate_core::event::NewEvent {
            id: None,
            contact: leadgate_core::event::ContactRef::Id(id),
            kind,
            occurred_at: now,
            occurred_at_given: false,
            source: None,
            campaign: None,
            properties,
        };
        // Recording the event stops the SLA clock (see `touched_in`).
        let before = tx.open_assignment(id).await?;
        crate::events::record(self, &mut tx, vec![event], now, |_, f| f.to_string()).await?;
        let first_touch = before.as_ref().is_some_and(|a| a.rep_id.is_some() && a.first_touch_at.is_none());
        let mut follow_up = None;
        if touch.outcome == TouchOutcome::NoReply {
            let agreement = self.agreement_in(&mut tx).await?.agreement;
            let assignee = before.as_ref().and_then(|a| a.rep_id).unwrap_or(principal.user.id);
            let schedule = match tx.reps(Some(assignee)).await?.pop() {
                Some(r) => parse_rep(r)?.profile.validate().ok(),
                None => None,
            }
            .unwrap_or_else(|| {
                leadgate_core::handoff::WorkingHours::default().schedule().expect("default hours are valid")
            });
            let due = schedule
                .add_working_time(now, follow_up_time(schedule.working_day(), agreement.follow_up_days));
            let title = format!(
                "Follow up: no reply to the {} of {}",
                touch.kind.as_str().replace("email", "e-mail"),
                now.strftime("%Y-%m-%d")
            );
            let task = new_task(
                id,
                assignee,
                touch.kind,
                title,
                due,
                TaskOrigin::Agreement(TaskPurpose::FollowUp),
                now,
            );
            let task = self.save_tasks(&mut tx, vec![task]).await?.remove(0);
            follow_up = Some(task_view(task, now));
        }
        tx.commit().await?;
        Ok(TouchReceipt { first_touch, follow_up })
    }

    /// Stops the SLA clock of contacts that got a logged call, e-mail or meeting.
    pub(crate) async fn touched_in(
        &self,
        tx: &mut Session,
        contacts: &[ContactId],
        now: Timestamp,
    ) -> Result<(), AppError> {
        for c in contacts {
            // The first touch is the first contact made: its task is done, and a manager's
            // breach task with it; any touch is the follow-up done (a touch with no reply gets
            // the next one, see `log_touch`).
            let done = if tx.record_first_touch(*c, now).await?.is_some() {
                &[TaskPurpose::FirstContact, TaskPurpose::Breach, TaskPurpose::FollowUp][..]
            } else {
                &[TaskPurpose::FollowUp][..]
            };
            tx.complete_agreement_tasks(*c, None, &TaskPurpose::codes(done), now).await?;
        }
        Ok(())
    }

    pub async fn create_task(&self, principal: &Principal, new: NewTask) -> Result<TaskView, AppError> {
        principal.require(Permission::ManageTasks)?;
        let title = new.title.trim().to_string();
        let now = self.now();
        let mut errors = ValidationErrors::new();
        if title.is_empty() || title.chars().count() > 200 || !is_plain_text(&title) {
            errors.add("title", "is required: plain text of at most 200 characters");
        }
        // A task is due between a year ago (catching up) and ten years ahead.
        let (earliest, latest) =
            (now - SignedDuration::from_hours(24 * 366), now + SignedDuration::from_hours(24 * 3660));
        if new.due_at < earliest || new.due_at > latest {
            errors.add(
                "due_at",
                format!(
                    "must be between {} and {}",
                    earliest.strftime("%Y-%m-%d"),
                    latest.strftime("%Y-%m-%d")
                ),
            );
        }
        errors.into_result(())?;
        let mut tx = self.store.begin().await?;
        if tx.get_contact(new.contact_id).await?.is_none() {
            return Err(AppError::invalid("contact_id", format!("no contact has the id {}", new.contact_id)));
        }
        self.require_change(&mut tx, principal, new.contact_id, Permission::ManageTasks, false).await?;
        let assignee = new.assignee_id.unwrap_or(principal.user.id);
        if tx.get_user(assignee).await?.is_none() {
            return Err(AppError::invalid("assignee_id", format!("no user has the id {assignee}")));
        }
        // A rep gives tasks to itself and to the reps it manages.
        if !principal.user.role.acts_on_every_lead()
            && assignee != principal.user.id
            && !self.org(&mut tx).await?.manages(principal.user.id, assignee)
        {
            return Err(AppError::Forbidden {
                role: principal.user.role.as_str(),
                action: "give tasks to users other than yourself and the reps you manage",
            });
        }
        let origin = TaskOrigin::Person(principal.user.id);
        let task = new_task(new.contact_id, assignee, new.kind, title, new.due_at, origin, now);
        let task = self.save_tasks(&mut tx, vec![task]).await?.remove(0);
        tx.commit().await?;
        Ok(task_view(task, now))
    }

    /// A user's tasks (default: yours), due first; done ones only with `include_done`.
    pub async fn tasks(
        &self,
        principal: &Principal,
        assignee: Option<UserId>,
        include_done: bool,
    ) -> Result<Vec<TaskView>, AppError> {
        let now = self.now();
        let mut s = self.store.read().await?;
        let who = assignee.unwrap_or(principal.user.id);
        self.require_work_of(&mut s, principal, who).await?;
        let mut views: Vec<TaskView> =
            s.tasks_of(who, !include_done, 500).await?.into_iter().map(|t| task_view(t, now)).collect();
        // Each task names its contact and company, not only "First contact with this new lead".
        let ids: Vec<ContactId> = views.iter().map(|v| v.contact_id).collect();
        let labels = s.contact_labels(&ids).await?;
        for v in &mut views {
            if let Some(l) = labels.get(&v.contact_id) {
                v.contact_name = Some(l.name.clone());
                v.company_name = l.company.clone();
            }
        }
        Ok(views)
    }

    pub async fn complete_task(&self, principal: &Principal, id: TaskId) -> Result<TaskView, AppError> {
        principal.require(Permission::ManageTasks)?;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let task = tx.get_task(id).await?.ok_or_else(|| AppError::not_found("task", id))?;
        self.require_task(&mut tx, principal, &task).await?;
        if task.done_at.is_some() {
            return Err(AppError::StateConflict("this task is already done".into()));
        }
        tx.complete_task(id, now).await?;
        let task = tx.get_task(id).await?.ok_or_else(|| AppError::not_found("task", id))?;
        tx.commit().await?;
        Ok(task_view(task, now))
    }

    // ----- timers -----

    /// One pass over the agreement's timers: reminders, breaches (and what they do) and tasks
    /// that fell due. Each is claimed in the database, so with several servers each timer fires
    /// once. Returns how many timers fired.
    pub async fn run_timers(&self) -> Result<usize, AppError> {
        let now = self.now();
        if !self.store.read().await?.timers_due(now).await? {
            return Ok(0);
        }
        let mut fired = 0;
        loop {
            let mut tx = self.store.begin().await?;
            let warnings = tx.claim_sla_warnings(now, TIMER_BATCH).await?;
            for a in &warnings {
                self.announce_assignment(&mut tx, "sla.warning", a, now).await?;
            }
            let breaches = tx.claim_sla_breaches(now, TIMER_BATCH).await?;
            let agreement =
                if breaches.is_empty() { None } else { Some(self.agreement_in(&mut tx).await?.agreement) };
            for a in &breaches {
                self.announce_assignment(&mut tx, "sla.breached", a, now).await?;
                match agreement.as_ref().map(|g| g.on_breach) {
                    Some(BreachAction::NotifyManager) => self.notify_manager(&mut tx, a, now).await?,
                    Some(BreachAction::Reassign) => self.reassign_after_breach(&mut tx, a, now).await?,
                    _ => {}
                }
            }
            let tasks = tx.claim_due_tasks(now, TIMER_BATCH).await?;
            for t in &tasks {
                let task = json!({ "task": task_view(t.clone(), now) });
                self.emit_in(&mut tx, "task.due", t.contact_id, task, now).await?;
            }
            tx.commit().await?;
            let n = warnings.len() + breaches.len() + tasks.len();
            fired += n;
            if n < TIMER_BATCH as usize {
                return Ok(fired);
            }
        }
    }

    /// Tells webhook subscribers about an assignment (`lead.assigned`, `sla.warning`, …).
    async fn announce_assignment(
        &self,
        tx: &mut Session,
        event_type: &str,
        a: &AssignmentRecord,
        now: Timestamp,
    ) -> Result<(), AppError> {
        let data = json!({ "assignment": assignment_view(a.clone(), now) });
        self.emit_in(tx, event_type, a.contact_id, data, now).await
    }

    async fn notify_manager(
        &self,
        tx: &mut Session,
        a: &AssignmentRecord,
        now: Timestamp,
    ) -> Result<(), AppError> {
        let Some(rep) = a.rep_id else { return Ok(()) };
        let Some(record) = tx.reps(Some(rep)).await?.pop() else { return Ok(()) };
        let load = parse_rep(record)?;
        let Some(manager) = load.profile.manager_id else { return Ok(()) };
        let title = format!("{} missed the first-touch deadline on this lead", load.name);
        let origin = TaskOrigin::Agreement(TaskPurpose::Breach);
        let task = new_task(a.contact_id, manager, TaskKind::Call, title, now, origin, now);
        self.save_tasks(tx, vec![task]).await.map(drop)
    }

    async fn reassign_after_breach(
        &self,
        tx: &mut Session,
        a: &AssignmentRecord,
        now: Timestamp,
    ) -> Result<(), AppError> {
        // Every rep who already had (and missed) this lead is skipped.
        let exclude: Vec<UserId> =
            tx.assignments_of(a.contact_id).await?.iter().filter_map(|x| x.rep_id).collect();
        let Some(input) = tx.scoring_inputs(&[a.contact_id]).await?.pop() else { return Ok(()) };
        // The missed first-contact task moves with the lead.
        self.close_assignment_with_tasks(tx, a, "reassigned", None, now).await?;
        let facts = lead_facts(&input.contact, input.company.as_ref());
        self.assign_in(tx, a.contact_id, facts, &exclude, now).await?;
        Ok(())
    }

    // ----- figures -----

    /// Every open, untouched lead against its deadline, now.
    pub async fn sla_overview(&self, principal: &Principal) -> Result<SlaOverview, AppError> {
        principal.require(Permission::ReadContacts)?;
        let now = self.now();
        let rows = self.store.read().await?.open_deadlines().await?;
        Ok(SlaOverview::evaluate(&rows, now))
    }

    pub async fn handoff_metrics(
        &self,
        principal: &Principal,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<HandoffMetrics, AppError> {
        principal.require(Permission::ReadContacts)?;
        if from >= to {
            return Err(AppError::invalid("from", "must be before `to`"));
        }
        let now = self.now();
        let mut s = self.store.read().await?;
        let rows = s.assignments_between(from, to).await?;
        let mut by_rep: HashMap<String, Vec<f64>> = HashMap::new();
        let mut by_temperature: HashMap<String, Vec<f64>> = HashMap::new();
        let mut m = HandoffMetrics {
            from,
            to,
            assigned: 0,
            unassigned: 0,
            touched_in_time: 0,
            decided: 0,
            compliance: None,
            median_minutes_to_first_touch_by_rep: BTreeMap::new(),
            median_minutes_to_first_touch_by_temperature: BTreeMap::new(),
            rejections: BTreeMap::new(),
            recycled_now: BTreeMap::new(),
        };
        let mut recycled = Vec::new();
        for a in &rows {
            let Some(rep) = a.rep_id else {
                m.unassigned += 1;
                continue;
            };
            m.assigned += 1;
            if let Some(reason) = &a.reject_reason {
                *m.rejections.entry(reason.clone()).or_default() += 1;
                recycled.push(a.contact_id);
            } else if a.outcome.as_deref() == Some("rejected") {
                *m.rejections.entry("unspecified".into()).or_default() += 1;
                recycled.push(a.contact_id);
            }
            if let Some(due) = a.due_at {
                match a.first_touch_at {
                    Some(touch) => {
                        m.decided += 1;
                        if touch <= due {
                            m.touched_in_time += 1;
                        }
                        let minutes = touch.duration_since(a.assigned_at).as_secs_f64() / 60.0;
                        by_rep.entry(rep.to_string()).or_default().push(minutes);
                        by_temperature
                            .entry(a.temperature.clone().unwrap_or_else(|| "unknown".into()))
                            .or_default()
                            .push(minutes);
                    }
                    None if now >= due || a.breached_at.is_some() => m.decided += 1,
                    None => {}
                }
            }
        }
        m.compliance = (m.decided > 0).then(|| m.touched_in_time as f64 / m.decided as f64);
        m.median_minutes_to_first_touch_by_rep =
            by_rep.into_iter().filter_map(|(k, v)| Some((k, median(v)?))).collect();
        m.median_minutes_to_first_touch_by_temperature =
            by_temperature.into_iter().filter_map(|(k, v)| Some((k, median(v)?))).collect();
        recycled.sort();
        recycled.dedup();
        for id in recycled {
            if let Some(c) = s.get_contact(id).await? {
                *m.recycled_now.entry(c.lifecycle_stage.as_str().to_string()).or_default() += 1;
            }
        }
        Ok(m)
    }
}

/// `days` working days of `day` each, saturating (an agreement stored before today's bounds
/// must not make the arithmetic panic).
fn follow_up_time(day: SignedDuration, days: u32) -> SignedDuration {
    day.checked_mul(i32::try_from(days).unwrap_or(i32::MAX)).unwrap_or(SignedDuration::MAX)
}

/// What routing reads about a lead: its company's fields first, the contact's as fallback.
pub(crate) fn lead_facts(
    contact: &leadgate_core::contact::Contact,
    company: Option<&leadgate_core::company::Company>,
) -> LeadFacts {
    LeadFacts {
        country: company.and_then(|c| c.country.clone()).or_else(|| contact.country.clone()),
        sector: company.and_then(|c| c.sector.clone()),
        employees: company.and_then(|c| c.employees),
        source: contact.source.clone(),
        temperature: contact.score.as_ref().map(|s| s.temperature),
        grade: contact.score.as_ref().map(|s| s.fit_grade),
    }
}

/// Facts with a fresh score (the contact row may not carry it yet inside the transaction).
pub(crate) fn lead_facts_scored(
    contact: &leadgate_core::contact::Contact,
    company: Option<&leadgate_core::company::Company>,
    temperature: Temperature,
    grade: FitGrade,
) -> LeadFacts {
    LeadFacts { temperature: Some(temperature), grade: Some(grade), ..lead_facts(contact, company) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_of_even_and_odd_counts() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(vec![]), None);
    }
}
