//! The pipeline in the UI: the board (a column per stage with its count and value, cards with
//! owner, value, age in stage and a rotting flag, each moved by a plain form), a deal's page
//! (facts, contacts and their roles, its history of stages, edit and move forms), and a deal
//! created from a contact's page.

use axum::extract::Query;
use leadgate_app::pipeline::DealView;
use leadgate_core::ids::DealId;
use leadgate_core::patch::Patch;
use leadgate_core::pipeline::{ContactRole, DealContact, DealDraft, DealMove, DealPatch, DealStage};

use super::*;

pub(super) fn deal_stage_label(t: &Texts, s: DealStage) -> &'static str {
    match s {
        DealStage::Awareness => t.deal_awareness,
        DealStage::FirstContact => t.deal_first_contact,
        DealStage::Qualification => t.deal_qualification,
        DealStage::Proposal => t.deal_proposal,
        DealStage::Negotiation => t.deal_negotiation,
        DealStage::Won => t.deal_won,
        DealStage::Lost => t.deal_lost,
    }
}

pub(super) fn role_label(t: &Texts, r: ContactRole) -> &'static str {
    match r {
        ContactRole::DecisionMaker => t.role_decision_maker,
        ContactRole::Intermediary => t.role_intermediary,
        ContactRole::User => t.role_user,
        ContactRole::Other => t.role_other,
    }
}

/// A value with its currency, as the user's language writes numbers.
pub(super) fn money(lang: Lang, value: Option<f64>, currency: &str) -> String {
    value.map_or_else(|| "—".to_string(), |v| format!("{} {currency}", lang.number(v, 0)))
}

/// Where a deal can go from `stage`: the other stages, won, and lost with each of the
/// pipeline's reasons (`lost:<reason>`), so a loss always carries its reason.
fn move_choices(t: &Texts, stage: DealStage, reasons: &[String]) -> Vec<Choice> {
    let mut out: Vec<Choice> = DealStage::ALL
        .iter()
        .filter(|&&s| s != stage && s != DealStage::Lost)
        .map(|&s| Choice {
            value: s.as_str().to_string(),
            label: deal_stage_label(t, s).to_string(),
            selected: false,
        })
        .collect();
    for r in reasons {
        out.push(Choice {
            value: format!("lost:{r}"),
            label: format!("{} — {r}", t.deal_lost),
            selected: false,
        });
    }
    out
}

pub(super) struct Card {
    pub id: String,
    pub name: String,
    pub owner: String,
    pub value: String,
    pub age: String,
    pub rotting: bool,
    pub moves: Vec<Choice>,
}

pub(super) struct Column {
    pub code: &'static str,
    pub label: &'static str,
    pub count: String,
    pub value: String,
    pub weighted: String,
    pub probability: u8,
    pub cards: Vec<Card>,
    pub more: bool,
}

#[derive(Template)]
#[template(path = "ui/pipeline.html")]
pub(super) struct PipelinePage {
    pub(super) c: Chrome,
    pub(super) columns: Vec<Column>,
    pub(super) owners: Vec<Choice>,
    pub(super) product: String,
    pub(super) from: String,
    pub(super) to: String,
    pub(super) can_move: bool,
}

#[derive(Deserialize)]
pub(super) struct BoardQuery {
    owner: Option<String>,
    product: Option<String>,
    /// Deals created from this day (included)…
    from: Option<String>,
    /// …to this day (included).
    to: Option<String>,
}

fn age_words(lang: Lang, since: jiff::Timestamp, now: jiff::Timestamp) -> String {
    let days = (now.as_second() - since.as_second()).max(0) / 86_400;
    lang.texts().days_in_stage.replace("{n}", &lang.number(days as f64, 0))
}

fn owner_of(t: &Texts, deal: &DealView) -> String {
    deal.owner.clone().unwrap_or_else(|| t.nobody.into())
}

pub(super) async fn pipeline(
    State(state): State<AppState>,
    s: Signed,
    Query(q): Query<BoardQuery>,
) -> Response {
    let t = s.lang.texts();
    let owner = q.owner.as_deref().and_then(|o| o.parse::<UserId>().ok());
    let product = q.product.clone().map(|p| p.trim().to_string()).filter(|p| !p.is_empty());
    let day = |d: &Option<String>| dashboard::parse_day(d.as_deref());
    let (from, to) = (day(&q.from), day(&q.to));
    let start = |d: jiff::civil::Date| leadgate_core::analytics::Period { from: d, to: d }.instants();
    let query = leadgate_app::pipeline::DealQuery {
        owner_id: owner,
        product: product.clone(),
        created_from: from.map(|d| start(d).0),
        created_to: to.map(|d| start(d).1),
        ..Default::default()
    };
    let board = match state.app.board(s.p(), &query).await {
        Ok(b) => b,
        Err(e) => return app_error(&s, e),
    };
    let settings = match state.app.pipeline_settings(s.p()).await {
        Ok(x) => x,
        Err(e) => return app_error(&s, e),
    };
    let now = state.app.now();
    let columns = board
        .columns
        .iter()
        .map(|col| Column {
            code: col.stage.as_str(),
            label: deal_stage_label(t, col.stage),
            count: s.lang.number(col.deals as f64, 0),
            value: money(s.lang, Some(col.value), &board.currency),
            weighted: money(s.lang, Some(col.weighted_value), &board.currency),
            probability: col.probability,
            more: (col.cards.len() as i64) < col.deals,
            cards: col
                .cards
                .iter()
                .map(|d| Card {
                    id: d.deal.id.to_string(),
                    name: d.deal.name.clone(),
                    owner: owner_of(t, d),
                    value: money(s.lang, d.deal.value, &d.deal.currency),
                    age: age_words(s.lang, d.deal.stage_changed_at, now),
                    rotting: d.rotting,
                    moves: move_choices(t, d.deal.stage, &settings.lost_reasons),
                })
                .collect(),
        })
        .collect();
    let mut owners = vec![Choice { value: String::new(), label: t.any.into(), selected: owner.is_none() }];
    let mut names: Vec<(UserId, String)> = user_names(&state, s.p()).await.into_iter().collect();
    names.sort_by(|a, b| a.1.cmp(&b.1));
    owners.extend(names.into_iter().map(|(id, name)| Choice {
        value: id.to_string(),
        label: name,
        selected: owner == Some(id),
    }));
    render(PipelinePage {
        c: s.chrome("pipeline"),
        columns,
        owners,
        product: product.unwrap_or_default(),
        from: from.map(|d| d.to_string()).unwrap_or_default(),
        to: to.map(|d| d.to_string()).unwrap_or_default(),
        can_move: s.p().user.role.allows(leadgate_core::access::Permission::ManageDeals),
    })
}

pub(super) struct HistoryLine {
    pub from: String,
    pub to: String,
    pub when: String,
    pub who: String,
    pub why: String,
}

pub(super) struct TimelineLine {
    pub when: String,
    pub who: String,
    pub kind: String,
}

/// Events shown on a deal's page (the newest of all its contacts).
const DEAL_TIMELINE: usize = 30;

pub(super) struct DealContactLine {
    pub id: String,
    pub name: String,
    pub role: &'static str,
}

#[derive(Template)]
#[template(path = "ui/deal.html")]
pub(super) struct DealPage {
    pub(super) c: Chrome,
    pub(super) id: String,
    pub(super) name: String,
    pub(super) stage: &'static str,
    pub(super) rotting: bool,
    pub(super) facts: Vec<Row2>,
    pub(super) contacts: Vec<DealContactLine>,
    pub(super) history: Vec<HistoryLine>,
    pub(super) moves: Vec<Choice>,
    pub(super) can_edit: bool,
    pub(super) value: String,
    pub(super) expected: String,
    pub(super) product: String,
    pub(super) owners: Vec<Choice>,
    /// What its contacts did lately, newest first (the deal's timeline).
    pub(super) events: Vec<TimelineLine>,
    /// The active deal model's probability of winning this open deal, and its factors.
    pub(super) model_probability: Option<String>,
    pub(super) factors: Vec<Row2>,
}

pub(super) async fn deal_page(State(state): State<AppState>, s: Signed, Path(id): Path<String>) -> Response {
    let t = s.lang.texts();
    let Ok(id) = id.parse::<DealId>() else {
        return s.error(StatusCode::NOT_FOUND, t.not_found);
    };
    let detail = match state.app.deal(s.p(), id).await {
        Ok(d) => d,
        Err(e) => return app_error(&s, e),
    };
    let settings = match state.app.pipeline_settings(s.p()).await {
        Ok(x) => x,
        Err(e) => return app_error(&s, e),
    };
    let names = user_names(&state, s.p()).await;
    let prediction = state.app.deal_prediction(s.p(), id).await.ok().flatten();
    let view = &detail.view;
    let d = &view.deal;
    let date = |x: Option<jiff::civil::Date>| x.map_or_else(|| "—".to_string(), |d| s.lang.date(d));
    let text = |x: &Option<String>| x.clone().unwrap_or_else(|| "—".to_string());
    let mut facts = vec![
        Row2 { a: t.deal_value.into(), b: money(s.lang, d.value, &d.currency) },
        Row2 { a: t.deal_probability.into(), b: format!("{} %", view.probability) },
        Row2 { a: t.deal_weighted.into(), b: money(s.lang, view.weighted_value, &d.currency) },
        Row2 { a: t.col_owner.into(), b: owner_of(t, view) },
        Row2 { a: t.deal_product.into(), b: text(&d.product) },
        Row2 { a: t.deal_expected_close.into(), b: date(d.expected_close_on) },
        Row2 { a: t.deal_in_stage_since.into(), b: s.lang.datetime(d.stage_changed_at) },
        Row2 { a: t.filter_source.into(), b: text(&d.source) },
    ];
    if d.closed_on.is_some() {
        facts.push(Row2 { a: t.deal_closed_on.into(), b: date(d.closed_on) });
    }
    if let Some(r) = &d.lost_reason {
        facts.push(Row2 { a: t.deal_lost_reason.into(), b: r.clone() });
    }
    let mut contacts = Vec::new();
    let mut timeline = Vec::new();
    for c in &view.contacts {
        let name = state
            .app
            .get_contact(s.p(), c.contact_id)
            .await
            .map(|x| x.display_name())
            .unwrap_or_else(|_| c.contact_id.to_string());
        if let Ok(page) = state.app.timeline(s.p(), c.contact_id, DEAL_TIMELINE as u32, None).await {
            timeline.extend(page.items.into_iter().map(|e| (e.occurred_at, name.clone(), e.kind)));
        }
        contacts.push(DealContactLine { id: c.contact_id.to_string(), name, role: role_label(t, c.role) });
    }
    timeline.sort_by_key(|e| std::cmp::Reverse(e.0));
    let events = timeline
        .into_iter()
        .take(DEAL_TIMELINE)
        .map(|(at, who, kind)| TimelineLine {
            when: s.lang.datetime(at),
            who,
            kind: crate::web::i18n::event_kind(t, kind.as_str()),
        })
        .collect();
    let history = detail
        .history
        .iter()
        .rev()
        .map(|h| HistoryLine {
            from: h.from.map_or_else(|| t.deal_created.to_string(), |f| deal_stage_label(t, f).to_string()),
            to: deal_stage_label(t, h.to).to_string(),
            when: s.lang.datetime(h.at),
            who: h.user_id.and_then(|u| names.get(&u).cloned()).unwrap_or_else(|| t.by_import.to_string()),
            why: [h.lost_reason.clone(), h.note.clone()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" — "),
        })
        .collect();
    let mut owners =
        vec![Choice { value: String::new(), label: t.nobody.into(), selected: d.owner_id.is_none() }];
    let mut sorted: Vec<(UserId, String)> = names.into_iter().collect();
    sorted.sort_by(|a, b| a.1.cmp(&b.1));
    owners.extend(sorted.into_iter().map(|(id, name)| Choice {
        value: id.to_string(),
        label: name,
        selected: d.owner_id == Some(id),
    }));
    render(DealPage {
        c: s.chrome("pipeline"),
        id: d.id.to_string(),
        name: d.name.clone(),
        stage: deal_stage_label(t, d.stage),
        rotting: view.rotting,
        facts,
        contacts,
        history,
        moves: move_choices(t, d.stage, &settings.lost_reasons),
        can_edit: s.p().user.role.allows(leadgate_core::access::Permission::ManageDeals),
        value: d.value.map(|v| v.to_string()).unwrap_or_default(),
        expected: d.expected_close_on.map(|d| d.to_string()).unwrap_or_default(),
        product: d.product.clone().unwrap_or_default(),
        owners,
        events,
        model_probability: prediction.as_ref().map(|p| s.lang.percent(p.probability)),
        factors: prediction
            .map(|p| {
                p.factors
                    .into_iter()
                    .filter(|f| f.contribution.abs() > 1e-9)
                    .map(|f| Row2 {
                        a: f.label,
                        b: if f.contribution > 0.0 {
                            t.raises_chance.to_string()
                        } else {
                            t.lowers_chance.to_string()
                        },
                    })
                    .collect()
            })
            .unwrap_or_default(),
    })
}

#[derive(Deserialize)]
pub(super) struct DealMoveForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    /// A stage, or `lost:<reason>`.
    to: String,
    note: Option<String>,
    /// Present when ticked: a loss sends the contacts back to nurturing.
    nurture: Option<String>,
    /// `board` to come back to the board.
    back: Option<String>,
}

fn blank(x: Option<String>) -> Option<String> {
    x.map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
}

pub(super) async fn deal_move(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
    Form(f): Form<DealMoveForm>,
) -> Response {
    let id: DealId = match s.accept(&f.csrf, &id) {
        Ok(id) => id,
        Err(refused) => return *refused,
    };
    let (to, lost_reason) = match f.to.strip_prefix("lost:") {
        Some(reason) => (Some(DealStage::Lost), Some(reason.to_string())),
        None => (DealStage::parse(&f.to), None),
    };
    let Some(to) = to else {
        return app_error(&s, AppError::invalid("to", "is not a stage of the pipeline"));
    };
    let mv = DealMove { to, lost_reason, note: blank(f.note), nurture: f.nurture.is_some() };
    match state.app.move_deal(s.p(), id, mv).await {
        Ok(_) if f.back.as_deref() == Some("board") => Redirect::to("/pipeline").into_response(),
        Ok(_) => Redirect::to(&format!("/deals/{id}")).into_response(),
        Err(e) => app_error(&s, e),
    }
}

#[derive(Deserialize)]
pub(super) struct DealEditForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    name: String,
    value: Option<String>,
    expected_close_on: Option<String>,
    product: Option<String>,
    owner: Option<String>,
}

/// A form's optional number: empty clears it, anything else must read as a number.
fn form_value(raw: Option<String>) -> Result<Option<f64>, AppError> {
    match blank(raw) {
        None => Ok(None),
        Some(v) => v
            .replace([' ', '\u{a0}', '\u{202f}'], "")
            .replace(',', ".")
            .parse::<f64>()
            .map(Some)
            .map_err(|_| AppError::invalid("value", "must be a number, e.g. 12000")),
    }
}

fn form_date(raw: Option<String>) -> Result<Option<jiff::civil::Date>, AppError> {
    match blank(raw) {
        None => Ok(None),
        Some(v) => v
            .parse()
            .map(Some)
            .map_err(|_| AppError::invalid("expected_close_on", "must be a date (YYYY-MM-DD)")),
    }
}

fn patch<T>(x: Option<T>) -> Patch<T> {
    x.map_or(Patch::Clear, Patch::Set)
}

pub(super) async fn deal_edit(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
    Form(f): Form<DealEditForm>,
) -> Response {
    let id: DealId = match s.accept(&f.csrf, &id) {
        Ok(id) => id,
        Err(refused) => return *refused,
    };
    let (value, expected) = match (form_value(f.value), form_date(f.expected_close_on)) {
        (Ok(v), Ok(d)) => (v, d),
        (Err(e), _) | (_, Err(e)) => return app_error(&s, e),
    };
    let owner = blank(f.owner).and_then(|o| o.parse::<UserId>().ok());
    let change = DealPatch {
        name: Some(f.name),
        value: patch(value),
        expected_close_on: patch(expected),
        product: patch(blank(f.product)),
        owner_id: patch(owner),
        ..Default::default()
    };
    match state.app.update_deal(s.p(), id, change).await {
        Ok(_) => Redirect::to(&format!("/deals/{id}")).into_response(),
        Err(e) => app_error(&s, e),
    }
}

#[derive(Deserialize)]
pub(super) struct NewDealForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    name: String,
    value: Option<String>,
    expected_close_on: Option<String>,
    role: Option<String>,
    product: Option<String>,
}

/// `POST /contacts/{id}/deals`: a deal with this contact, from its page.
pub(super) async fn contact_new_deal(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
    Form(f): Form<NewDealForm>,
) -> Response {
    let contact: ContactId = match s.accept(&f.csrf, &id) {
        Ok(id) => id,
        Err(refused) => return *refused,
    };
    let (value, expected) = match (form_value(f.value), form_date(f.expected_close_on)) {
        (Ok(v), Ok(d)) => (v, d),
        (Err(e), _) | (_, Err(e)) => return app_error(&s, e),
    };
    let role = f.role.as_deref().and_then(ContactRole::parse).unwrap_or(ContactRole::DecisionMaker);
    let draft = DealDraft {
        name: f.name,
        contacts: vec![DealContact { contact_id: contact, role }],
        value,
        expected_close_on: expected,
        product: blank(f.product),
        ..Default::default()
    };
    match state.app.create_deal(s.p(), draft).await {
        Ok(d) => Redirect::to(&format!("/deals/{}", d.view.deal.id)).into_response(),
        Err(e) => app_error(&s, e),
    }
}

/// The role choices of a contact in a deal.
pub(super) fn deal_role_choices(t: &Texts) -> Vec<Choice> {
    ContactRole::ALL
        .iter()
        .map(|&r| Choice {
            value: r.as_str().to_string(),
            label: role_label(t, r).to_string(),
            selected: r == ContactRole::DecisionMaker,
        })
        .collect()
}
