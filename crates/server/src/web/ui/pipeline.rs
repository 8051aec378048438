//! The pipeline in the UI: the board (a column per stage with its count and value, cards with
//! owner, value, age in stage and a rotting flag, each moved by a plain form), a deal's page
//! (facts, contacts and their roles, its history of stages, edit and move forms), and a deal
//! created from a contact's page.

use axum::extract::Query;
use leadgate_app::pipeline::DealView;
use leadgate_core::ids::DealId;
use leadgate_core::patch::Patch;
use leadgate_core::pipeline::{
    ContactRole, DealContact, DealDraft, DealMove, DealPatch, DealStage, PipelineSettings,
};

use super::*;

/// A stage's name for people: the team's name for it, else the reference stage's name in the
/// reader's language, else its key in words (`demo_done`: "Demo done").
pub(super) fn deal_stage_label(t: &Texts, settings: &PipelineSettings, s: DealStage) -> String {
    if let Some(name) = settings.stage(s).and_then(|st| st.name.clone()) {
        return name;
    }
    let built_in = match s {
        DealStage::AWARENESS => t.deal_awareness,
        DealStage::FIRST_CONTACT => t.deal_first_contact,
        DealStage::QUALIFICATION => t.deal_qualification,
        DealStage::PROPOSAL => t.deal_proposal,
        DealStage::NEGOTIATION => t.deal_negotiation,
        DealStage::WON => t.deal_won,
        DealStage::LOST => t.deal_lost,
        _ => {
            let words = s.as_str().replace('_', " ");
            let mut chars = words.chars();
            return chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default();
        }
    };
    built_in.to_string()
}

/// The pipeline's settings for naming stages on a page (the defaults if they cannot be read:
/// a name is not worth refusing the page for).
pub(super) async fn stage_names(state: &AppState, s: &Signed) -> PipelineSettings {
    state.app.pipeline_settings(s.p()).await.unwrap_or_default()
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
fn move_choices(t: &Texts, settings: &PipelineSettings, stage: DealStage) -> Vec<Choice> {
    let mut out: Vec<Choice> = settings
        .open_stages()
        .into_iter()
        .chain([DealStage::WON])
        .filter(|&s| s != stage)
        .map(|s| Choice {
            value: s.as_str().to_string(),
            label: deal_stage_label(t, settings, s),
            selected: false,
        })
        .collect();
    for r in &settings.lost_reasons {
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
    pub code: String,
    pub label: String,
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
            code: col.stage.to_string(),
            label: deal_stage_label(t, &settings, col.stage),
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
                    moves: move_choices(t, &settings, d.deal.stage),
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
    pub(super) stage: String,
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
        Row2 { a: t.deal_in_stage_since.into(), b: s.datetime(d.stage_changed_at) },
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
            when: s.datetime(at),
            who,
            kind: crate::web::i18n::event_kind(t, kind.as_str()),
        })
        .collect();
    let history = detail
        .history
        .iter()
        .rev()
        .map(|h| HistoryLine {
            from: h.from.map_or_else(|| t.deal_created.to_string(), |f| deal_stage_label(t, &settings, f)),
            to: deal_stage_label(t, &settings, h.to),
            when: s.datetime(h.at),
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
        stage: deal_stage_label(t, &settings, d.stage),
        rotting: view.rotting,
        facts,
        contacts,
        history,
        moves: move_choices(t, &settings, d.stage),
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
        Some(reason) => (Some(DealStage::LOST), Some(reason.to_string())),
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

/// One line of the stages form.
pub(super) struct StageRow {
    /// Empty on the lines for new stages.
    pub key: String,
    pub name: String,
    pub probability: String,
    pub order: String,
}

#[derive(Template)]
#[template(path = "ui/pipeline_settings.html")]
pub(super) struct PipelineSettingsPage {
    pub(super) c: Chrome,
    pub(super) stages: Vec<StageRow>,
    pub(super) lost_reasons: String,
    pub(super) rotting_days: String,
    pub(super) currency: String,
    pub(super) can_edit: bool,
    pub(super) errors: Vec<String>,
}

/// Blank lines offered for new stages under the existing ones.
const NEW_STAGE_LINES: usize = 2;

/// The form as the settings fill it, with blank lines for new stages.
fn settings_rows(t: &Texts, settings: &PipelineSettings) -> Vec<StageRow> {
    let mut rows: Vec<StageRow> = settings
        .stages
        .iter()
        .enumerate()
        .map(|(i, st)| StageRow {
            key: st.key.to_string(),
            name: deal_stage_label(t, settings, st.key),
            probability: st.probability.to_string(),
            order: (i + 1).to_string(),
        })
        .collect();
    let n = rows.len();
    rows.extend((0..NEW_STAGE_LINES).map(|j| StageRow {
        key: String::new(),
        name: String::new(),
        probability: String::new(),
        order: (n + j + 1).to_string(),
    }));
    rows
}

async fn pipeline_settings_page(
    s: &Signed,
    settings: &PipelineSettings,
    errors: Vec<String>,
    notice: Option<String>,
) -> Response {
    let t = s.lang.texts();
    let mut c = s.chrome("pipeline");
    c.notice = notice;
    render(PipelineSettingsPage {
        c,
        stages: settings_rows(t, settings),
        lost_reasons: settings.lost_reasons.join("\n"),
        rotting_days: settings.rotting_days.to_string(),
        currency: settings.currency.clone(),
        can_edit: s.p().user.role.allows(leadgate_core::access::Permission::ManageSettings),
        errors,
    })
}

#[derive(Deserialize)]
pub(super) struct DoneQuery {
    done: Option<String>,
}

/// The pipeline's stages, probabilities, lost reasons, rotting days and currency: a form for
/// admins, read-only for the others.
pub(super) async fn pipeline_settings(
    State(state): State<AppState>,
    s: Signed,
    Query(q): Query<DoneQuery>,
) -> Response {
    let settings = match state.app.pipeline_settings(s.p()).await {
        Ok(x) => x,
        Err(e) => return app_error(&s, e),
    };
    let notice =
        (q.done.as_deref() == Some("saved")).then(|| s.lang.texts().pipeline_settings_saved.to_string());
    pipeline_settings_page(&s, &settings, Vec::new(), notice).await
}

/// What went wrong with a posted settings form, in the reader's language, naming the stage line
/// at fault.
fn settings_errors(
    lang: Lang,
    submitted: &PipelineSettings,
    errors: &leadgate_core::validation::ValidationErrors,
) -> Vec<String> {
    let t = lang.texts();
    errors
        .errors
        .iter()
        .map(|e| {
            let f = e.field.as_str();
            let stage = f
                .strip_prefix("stages[")
                .and_then(|rest| rest.split(']').next())
                .and_then(|i| i.parse::<usize>().ok())
                .and_then(|i| submitted.stages.get(i))
                .map(|st| deal_stage_label(t, submitted, st.key));
            let words = match f {
                _ if f.ends_with(".key") => t.err_stage_key,
                _ if f.ends_with(".name") => t.err_stage_name,
                _ if f.ends_with(".probability") => t.err_stage_probability,
                "stages" if e.message.contains("open deal") => t.err_stage_in_use,
                "stages" => t.err_stages_count,
                _ if f.starts_with("lost_reasons") => t.err_lost_reasons,
                "rotting_days" => t.err_rotting_days,
                "currency" => t.err_currency,
                _ => return format!("{f}{} {}", t.colon, e.message),
            };
            // English readers get the exact message too (it names counts and keys).
            let detail = if lang == Lang::En { format!(" ({})", e.message) } else { String::new() };
            match stage {
                Some(name) => format!("{name}{} {words}{detail}", t.colon),
                None => format!("{words}{detail}"),
            }
        })
        .collect()
}

/// The settings a posted form asks for. Lines without a name are skipped; a new line's key is
/// made from its name (`Démo faite`: `demo_faite`); lines are ordered by their order number.
fn settings_from_form(t: &Texts, form: &Posted) -> Result<PipelineSettings, Vec<String>> {
    let value = |name: &str| form.value(name);
    let mut bad = Vec::new();
    let mut lines = Vec::new();
    for i in 0..=leadgate_core::pipeline::MAX_STAGES + NEW_STAGE_LINES {
        let (key, name) = (value(&format!("key_{i}")), value(&format!("name_{i}")));
        if (key.is_empty() && name.is_empty()) || !value(&format!("remove_{i}")).is_empty() {
            continue;
        }
        let stage = if key.is_empty() { DealStage::from_export(&name) } else { DealStage::parse(&key) };
        let Some(stage) = stage else {
            bad.push(format!("{name}{} {}", t.colon, t.err_stage_key));
            continue;
        };
        let Ok(probability) = value(&format!("probability_{i}")).parse::<u8>() else {
            bad.push(format!("{name}{} {}", t.colon, t.err_stage_probability));
            continue;
        };
        let order = value(&format!("order_{i}")).parse::<f64>().unwrap_or(i as f64 + 1.0);
        // A name equal to the built-in one in either language is no custom name.
        let builtin = [Lang::En, Lang::Fr]
            .iter()
            .any(|l| deal_stage_label(l.texts(), &PipelineSettings::default(), stage) == name);
        let custom = (!name.is_empty() && !builtin && name != stage.as_str()).then_some(name);
        lines.push((
            order,
            i,
            leadgate_core::pipeline::StageSetting { key: stage, name: custom, probability },
        ));
    }
    lines.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let rotting = value("rotting_days");
    let rotting_days = rotting.parse::<u32>().unwrap_or_else(|_| {
        bad.push(t.err_rotting_days.to_string());
        0
    });
    if !bad.is_empty() {
        return Err(bad);
    }
    Ok(PipelineSettings {
        stages: lines.into_iter().map(|(_, _, st)| st).collect(),
        lost_reasons: value("lost_reasons")
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(String::from)
            .collect(),
        rotting_days,
        currency: value("currency").to_uppercase(),
    })
}

pub(super) async fn pipeline_save_settings(
    State(state): State<AppState>,
    s: Signed,
    body: axum::body::Bytes,
) -> Response {
    let form = Posted::read(&body);
    if let Some(r) = s.refuse_forged(form.csrf()) {
        return r;
    }
    let t = s.lang.texts();
    let current = match state.app.pipeline_settings(s.p()).await {
        Ok(x) => x,
        Err(e) => return app_error(&s, e),
    };
    let settings = match settings_from_form(t, &form) {
        Ok(x) => x,
        Err(lines) => return refused(pipeline_settings_page(&s, &current, lines, None).await),
    };
    match state.app.set_pipeline_settings(s.p(), settings.clone()).await {
        Ok(_) => Redirect::to("/pipeline/settings?done=saved").into_response(),
        Err(AppError::Invalid(errors)) => {
            let lines = settings_errors(s.lang, &settings, &errors);
            refused(pipeline_settings_page(&s, &settings, lines, None).await)
        }
        Err(e) => app_error(&s, e),
    }
}
