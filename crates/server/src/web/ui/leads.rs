//! The lead inbox: filters, saved views, bulk actions, CSV export.

use super::*;

/// One line of the inbox, ready to show.
pub(super) struct LeadLine {
    pub id: String,
    pub name: String,
    pub email: String,
    pub company: String,
    pub stage: &'static str,
    pub temperature: &'static str,
    pub temperature_code: String,
    pub grade: String,
    pub engagement: String,
    pub probability: String,
    pub owner: String,
    pub created: String,
}

#[derive(Template)]
#[template(path = "ui/leads.html")]
pub(super) struct LeadsPage {
    pub(super) c: Chrome,
    pub(super) stages: Vec<Choice>,
    pub(super) temperatures: Vec<Choice>,
    pub(super) grades: Vec<Choice>,
    pub(super) source: String,
    pub(super) q: String,
    pub(super) owners: Vec<Choice>,
    pub(super) lines: Vec<LeadLine>,
    pub(super) previous: Option<String>,
    pub(super) next: Option<String>,
    pub(super) export_url: String,
    pub(super) here: String,
    pub(super) reps: Vec<Choice>,
    /// Active sequences, for the bulk enrolment (those who manage nurturing).
    pub(super) sequences: Vec<Choice>,
    /// The same, to filter by (the one chosen selected).
    pub(super) sequence_filter: Vec<Choice>,
    pub(super) bulk_message: Option<String>,
    pub(super) views: Vec<ViewLink>,
    pub(super) query: String,
    pub(super) headings: Vec<SortHeading>,
    /// "1,234 leads" match the filters.
    pub(super) total: String,
    /// Stages a selection can be moved to.
    pub(super) move_stages: Vec<Choice>,
}

pub(super) struct ViewLink {
    pub id: String,
    pub name: String,
    pub query: String,
}

#[derive(Deserialize, Default)]
pub(super) struct LeadsQuery {
    pub(super) stage: Option<String>,
    pub(super) temperature: Option<String>,
    pub(super) grade: Option<String>,
    pub(super) source: Option<String>,
    pub(super) owner: Option<String>,
    /// A nurture sequence's id: its contacts now.
    pub(super) sequence: Option<String>,
    /// A saved view's id: the leads added to it by hand.
    pub(super) view: Option<String>,
    pub(super) q: Option<String>,
    /// A column to sort by (`probability`, `created`…); default: what to do first.
    pub(super) sort: Option<String>,
    /// `asc` for smallest first.
    pub(super) dir: Option<String>,
    pub(super) page: Option<u32>,
    /// What the last bulk action did (set by its redirect).
    pub(super) done: Option<String>,
}

pub(super) fn nonempty(v: &Option<String>) -> Option<String> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(String::from)
}

/// The inbox filter a query asks for; values the page does not offer are ignored.
pub(super) fn inbox_filter(q: &LeadsQuery) -> InboxFilter {
    InboxFilter {
        stage: nonempty(&q.stage).filter(|v| LifecycleStage::parse(v).is_some()),
        temperature: nonempty(&q.temperature).filter(|v| matches!(v.as_str(), "hot" | "warm" | "cold")),
        grade: nonempty(&q.grade).filter(|v| matches!(v.as_str(), "A" | "B" | "C" | "D")),
        source: nonempty(&q.source),
        owner: nonempty(&q.owner).and_then(|o| o.parse::<UserId>().ok()),
        sequence: nonempty(&q.sequence)
            .and_then(|o| o.parse::<uuid::Uuid>().ok())
            .map(leadgate_core::ids::SequenceId),
        view: nonempty(&q.view).and_then(|v| v.parse::<uuid::Uuid>().ok()),
        text: nonempty(&q.q),
        open_only: true,
        sort: nonempty(&q.sort).and_then(|v| InboxSort::parse(&v)).unwrap_or_default(),
        ascending: q.dir.as_deref() == Some("asc"),
        ..Default::default()
    }
}

/// The query string of a filter (without the page).
pub(super) fn filter_query(f: &InboxFilter) -> String {
    let mut u = String::new();
    for (k, v) in [
        ("stage", &f.stage),
        ("temperature", &f.temperature),
        ("grade", &f.grade),
        ("source", &f.source),
        ("q", &f.text),
    ] {
        if let Some(v) = v {
            let _ = write!(u, "{k}={}&", urlencode(v));
        }
    }
    if let Some(o) = f.owner {
        let _ = write!(u, "owner={o}&");
    }
    if let Some(q) = f.sequence {
        let _ = write!(u, "sequence={q}&");
    }
    if let Some(v) = f.view {
        let _ = write!(u, "view={v}&");
    }
    if f.sort != InboxSort::Priority {
        let _ = write!(u, "sort={}&dir={}&", f.sort.as_str(), if f.ascending { "asc" } else { "desc" });
    }
    u
}

/// A column heading of the inbox: a link that sorts by it (largest first, then smallest first
/// on a second click), and which way the page is sorted now.
pub(super) struct SortHeading {
    pub label: &'static str,
    pub href: String,
    /// `ascending`, `descending` or `none` (the `aria-sort` value).
    pub state: &'static str,
    pub numeric: bool,
}

fn sort_headings(t: &Texts, f: &InboxFilter) -> Vec<SortHeading> {
    let unsorted = InboxFilter { sort: InboxSort::Priority, ascending: false, ..f.clone() };
    let base = filter_query(&unsorted);
    [
        (InboxSort::Name, t.col_contact, false),
        (InboxSort::Company, t.col_company, false),
        (InboxSort::Stage, t.col_stage, false),
        (InboxSort::Priority, t.col_temperature, false),
        (InboxSort::Grade, t.col_grade, false),
        (InboxSort::Engagement, t.col_engagement, true),
        (InboxSort::Probability, t.col_probability, true),
        (InboxSort::Owner, t.col_owner, false),
        (InboxSort::Created, t.col_created, false),
    ]
    .into_iter()
    .map(|(sort, label, numeric)| {
        let current = f.sort == sort;
        let state = match (current, f.ascending) {
            (false, _) => "none",
            (true, true) => "ascending",
            (true, false) => "descending",
        };
        // The priority order has one direction: what to do first.
        let href = match sort {
            InboxSort::Priority => format!("/leads?{base}"),
            _ => {
                let dir = if current && !f.ascending { "asc" } else { "desc" };
                format!("/leads?{base}sort={}&dir={dir}", sort.as_str())
            }
        };
        SortHeading { label, href, state, numeric }
    })
    .collect()
}

pub(super) async fn leads(State(state): State<AppState>, s: Signed, Query(q): Query<LeadsQuery>) -> Response {
    let t = s.lang.texts();
    let filter = inbox_filter(&q);
    let (stage, temperature, grade, owner) =
        (filter.stage.clone(), filter.temperature.clone(), filter.grade.clone(), filter.owner);
    let page = q.page.unwrap_or(0).min(10_000);
    let rows = match state.app.inbox(s.p(), &filter, PAGE + 1, page * PAGE).await {
        Ok(r) => r,
        Err(e) => return app_error(&s, e),
    };
    let total = match state.app.inbox_count(s.p(), &filter).await {
        Ok(n) => n,
        Err(e) => return app_error(&s, e),
    };
    let names = user_names(&state, s.p()).await;
    let has_next = rows.len() > PAGE as usize;
    let lines = rows
        .into_iter()
        .take(PAGE as usize)
        .map(|r| {
            let name = match (&r.first_name, &r.last_name) {
                (None, None) => {
                    r.email.clone().or_else(|| r.external_id.clone()).unwrap_or_else(|| r.id.to_string())
                }
                (f, l) => format!("{} {}", f.as_deref().unwrap_or(""), l.as_deref().unwrap_or(""))
                    .trim()
                    .to_string(),
            };
            LeadLine {
                id: r.id.to_string(),
                name,
                email: r.email.unwrap_or_default(),
                company: r.company.unwrap_or_default(),
                stage: LifecycleStage::parse(&r.stage).map_or("—", |st| stage_label(t, st)),
                temperature: temperature_label(t, r.temperature.as_deref().unwrap_or("")),
                temperature_code: r.temperature.unwrap_or_default(),
                grade: r.grade.unwrap_or_else(|| "—".into()),
                engagement: r.engagement.map_or("—".into(), |e| s.lang.number(e as f64 / 100.0, 1)),
                probability: r.probability.map_or("—".into(), |p| s.lang.percent(p)),
                owner: r.owner.map_or(t.nobody.to_string(), |o| {
                    names.get(&o).cloned().unwrap_or_else(|| o.to_string())
                }),
                created: s.datetime(r.created_at),
            }
        })
        .collect();
    let base = format!("/leads?{}", filter_query(&filter));
    let all_stages: Vec<(String, &str)> = [
        LifecycleStage::Lead,
        LifecycleStage::Mql,
        LifecycleStage::Sql,
        LifecycleStage::Opportunity,
        LifecycleStage::Customer,
        LifecycleStage::Nurturing,
        LifecycleStage::Disqualified,
        LifecycleStage::Intermediary,
        LifecycleStage::Visitor,
    ]
    .iter()
    .map(|st| (st.as_str().to_string(), stage_label(t, *st)))
    .collect();
    let stage_opts: Vec<(&str, &str)> = all_stages.iter().map(|(v, l)| (v.as_str(), *l)).collect();
    let mut owner_list: Vec<(String, String)> =
        names.iter().map(|(id, n)| (id.to_string(), n.clone())).collect();
    owner_list.sort_by(|a, b| a.1.cmp(&b.1));
    let owner_opts: Vec<(&str, &str)> = owner_list.iter().map(|(v, l)| (v.as_str(), l.as_str())).collect();
    let owner_code = owner.map(|o| o.to_string());
    let sequences = active_sequences(&state, &s).await;
    let in_sequence = filter.sequence.map(|q| q.to_string());
    let sequence_filter = sequences
        .iter()
        .map(|c| Choice { selected: Some(&c.value) == in_sequence.as_ref(), ..c.clone() })
        .collect();
    render(LeadsPage {
        c: s.chrome("leads"),
        stages: choices(&stage_opts, stage.as_deref()),
        temperatures: choices(&[("hot", t.hot), ("warm", t.warm), ("cold", t.cold)], temperature.as_deref()),
        grades: choices(&[("A", "A"), ("B", "B"), ("C", "C"), ("D", "D")], grade.as_deref()),
        source: nonempty(&q.source).unwrap_or_default(),
        q: nonempty(&q.q).unwrap_or_default(),
        owners: choices(&owner_opts, owner_code.as_deref()),
        lines,
        previous: (page > 0).then(|| format!("{base}page={}", page - 1)),
        next: has_next.then(|| format!("{base}page={}", page + 1)),
        export_url: format!("/leads.csv?{}", filter_query(&filter)),
        here: format!("{base}page={page}"),
        reps: rep_choices(&state, s.p()).await,
        sequences,
        sequence_filter,
        bulk_message: q.done.clone(),
        views: state
            .app
            .saved_views(s.p())
            .await
            .unwrap_or_default()
            .into_iter()
            .map(|v| ViewLink { id: v.id.to_string(), name: v.name, query: v.query })
            .collect(),
        query: filter_query(&filter),
        headings: sort_headings(t, &filter),
        total: leads_count(s.lang, total),
        move_stages: [
            LifecycleStage::Lead,
            LifecycleStage::Mql,
            LifecycleStage::Nurturing,
            LifecycleStage::Intermediary,
            LifecycleStage::Customer,
            LifecycleStage::Churned,
        ]
        .iter()
        .map(|st| Choice { value: st.as_str().into(), label: stage_label(t, *st).into(), selected: false })
        .collect(),
    })
}

/// "1 lead", "1,234 leads" / "0 lead", "1 234 leads" (French takes the singular for 0 and 1);
/// past the counted cap, "more than 10,000 leads".
fn leads_count(lang: Lang, n: i64) -> String {
    let t = lang.texts();
    let cap = leadgate_store::web::INBOX_COUNT_CAP;
    if n > cap {
        return t.leads_count_more.replace("{n}", &lang.number(cap as f64, 0));
    }
    let words = if lang.singular(n) { t.leads_count_one } else { t.leads_count_many };
    words.replace("{n}", &lang.number(n as f64, 0))
}

#[derive(Deserialize)]
pub(super) struct ViewForm {
    #[serde(rename = "_csrf")]
    pub(super) csrf: String,
    pub(super) name: String,
    pub(super) query: String,
}

pub(super) async fn save_view(State(state): State<AppState>, s: Signed, Form(f): Form<ViewForm>) -> Response {
    if let Some(r) = s.refuse_forged(&f.csrf) {
        return r;
    }
    // Stored as the filters' own query string, rebuilt from a parsed filter so only known
    // filters are kept.
    let parsed: LeadsQuery = serde_urlencoded_query(&f.query);
    let query = filter_query(&inbox_filter(&parsed));
    match state.app.save_view(s.p(), &f.name, &query).await {
        Ok(()) => Redirect::to(&format!("/leads?{query}")).into_response(),
        Err(e) => app_error(&s, e),
    }
}

/// The inbox filters from a query string (unknown keys ignored).
pub(super) fn serde_urlencoded_query(q: &str) -> LeadsQuery {
    let mut out = LeadsQuery::default();
    for (k, v) in url::form_urlencoded::parse(q.as_bytes()) {
        let v = Some(v.into_owned());
        match k.as_ref() {
            "stage" => out.stage = v,
            "temperature" => out.temperature = v,
            "grade" => out.grade = v,
            "source" => out.source = v,
            "owner" => out.owner = v,
            "sequence" => out.sequence = v,
            "view" => out.view = v,
            "q" => out.q = v,
            "sort" => out.sort = v,
            "dir" => out.dir = v,
            _ => {}
        }
    }
    out
}

pub(super) async fn delete_view(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
    Form(f): Form<CsrfForm>,
) -> Response {
    let id: uuid::Uuid = match s.accept(&f.csrf, &id) {
        Ok(id) => id,
        Err(refused) => return *refused,
    };
    match state.app.delete_view(s.p(), id).await {
        Ok(()) => Redirect::to("/leads").into_response(),
        Err(e) => app_error(&s, e),
    }
}

pub(super) async fn rep_choices(state: &AppState, p: &Principal) -> Vec<Choice> {
    let mut reps: Vec<(String, String)> = state
        .app
        .reps(p)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|r| (r.user_id.to_string(), r.name))
        .collect();
    reps.sort_by(|a, b| a.1.cmp(&b.1));
    reps.into_iter().map(|(value, label)| Choice { value, label, selected: false }).collect()
}

/// A CSV file to download from the UI (`name` is ours, never the user's): for a French user,
/// laid out as French Excel opens it (`;`, decimal commas, a byte-order mark).
pub(super) fn csv_download(lang: Lang, name: &str, body: Vec<u8>) -> Response {
    let body = match lang {
        Lang::Fr => match leadgate_app::export::for_french_excel(&body) {
            Ok(b) => b,
            Err(e) => {
                tracing::error!(error = %e, "could not lay a CSV file out for French Excel");
                body
            }
        },
        Lang::En => body,
    };
    crate::api::csv_download(body, name)
}

pub(super) async fn leads_csv(
    State(state): State<AppState>,
    s: Signed,
    Query(q): Query<LeadsQuery>,
) -> Response {
    let rows = match state.app.inbox_export(s.p(), &inbox_filter(&q), 100_000).await {
        Ok(r) => r,
        Err(e) => return app_error(&s, e),
    };
    let names = user_names(&state, s.p()).await;
    let mut out = leadgate_app::export::CsvExport::new(Vec::new());
    let header = [
        "id",
        "email",
        "first_name",
        "last_name",
        "company",
        "stage",
        "temperature",
        "fit_grade",
        "engagement",
        "probability",
        "owner",
        "source",
        "created_at",
    ];
    if let Err(e) = out.row(header) {
        return app_error(&s, e);
    }
    for r in rows {
        let cells = [
            r.id.to_string(),
            r.email.unwrap_or_default(),
            r.first_name.unwrap_or_default(),
            r.last_name.unwrap_or_default(),
            r.company.unwrap_or_default(),
            r.stage,
            r.temperature.unwrap_or_default(),
            r.grade.unwrap_or_default(),
            r.engagement.map(|e| format!("{:.2}", e as f64 / 100.0)).unwrap_or_default(),
            r.probability.map(|p| format!("{p:.4}")).unwrap_or_default(),
            r.owner.and_then(|o| names.get(&o).cloned()).unwrap_or_default(),
            r.source.unwrap_or_default(),
            r.created_at.to_string(),
        ];
        if let Err(e) = out.row(cells.iter().map(String::as_str)) {
            return app_error(&s, e);
        }
    }
    match out.finish() {
        Ok(bytes) => csv_download(s.lang, "leads.csv", bytes),
        Err(e) => app_error(&s, e),
    }
}

/// A bulk action on the checked rows of the inbox: assign to a rep, or disqualify with a reason.
pub(super) async fn leads_bulk(
    State(state): State<AppState>,
    s: Signed,
    body: axum::body::Bytes,
) -> Response {
    let t = s.lang.texts();
    let mut csrf = String::new();
    let (mut ids, mut action, mut rep, mut reason, mut back, mut sequence, mut stage, mut view_name) = (
        Vec::new(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
    );
    for (k, v) in url::form_urlencoded::parse(&body) {
        match k.as_ref() {
            "_csrf" => csrf = v.into_owned(),
            "ids" => ids.extend(v.parse::<ContactId>().ok()),
            "action" => action = v.into_owned(),
            "rep" => rep = v.into_owned(),
            "reason" => reason = v.into_owned(),
            "back" => back = v.into_owned(),
            "sequence" => sequence = v.into_owned(),
            "stage" => stage = v.into_owned(),
            "view_name" => view_name = v.into_owned(),
            _ => {}
        }
    }
    if let Some(r) = s.refuse_forged(&csrf) {
        return r;
    }
    let back = safe_next(Some(back.as_str()).filter(|b| b.starts_with("/leads")));
    let with_message = |message: &str| {
        let sep = if back.contains('?') { "&" } else { "?" };
        Redirect::to(&format!("{back}{sep}done={}", urlencode(message))).into_response()
    };
    if ids.is_empty() {
        return with_message(t.nothing_selected);
    }
    if action == "add_to_view" {
        return match state.app.add_to_saved_view(s.p(), &view_name, &ids).await {
            Ok((view, added)) => {
                let words = if s.lang.singular(added as i64) { t.view_added_one } else { t.view_added_many };
                with_message(
                    &words.replace("{n}", &s.lang.number(added as f64, 0)).replace("{name}", &view.name),
                )
            }
            Err(e) => with_message(&problem_text(s.lang, &e)),
        };
    }
    if action == "enrol" {
        // One request for the selection: the receipt says who was enrolled and why others not.
        let Ok(sequence) = sequence.parse::<leadgate_core::ids::SequenceId>() else {
            return with_message(t.not_found);
        };
        return match state.app.enrol(s.p(), sequence, &ids).await {
            Ok(r) => {
                let mut parts =
                    vec![format!("{}{} {}", t.contact_enrolled.trim_end_matches('.'), t.colon, r.enrolled)];
                if r.already > 0 {
                    parts.push(format!("{}{} {}", t.exit_already, t.colon, r.already));
                }
                for (reason, n) in &r.refused {
                    let label = leadgate_core::nurture::ExitReason::parse(reason)
                        .map_or(reason.as_str(), |x| super::nurture::exit_label(t, x));
                    parts.push(format!("{label}{} {n}", t.colon));
                }
                with_message(&parts.join(" · "))
            }
            Err(e) => with_message(&problem_text(s.lang, &e)),
        };
    }
    let mut refused: Vec<String> = Vec::new();
    let mut done = 0;
    for id in &ids {
        let result = match action.as_str() {
            "assign" => match rep.parse::<UserId>() {
                Ok(r) => state.app.assign_to(s.p(), *id, r).await.map(|_| ()),
                Err(_) => Err(AppError::invalid("rep", "pick a rep")),
            },
            "disqualify" => state
                .app
                .move_contact(s.p(), *id, LifecycleStage::Disqualified, Some(reason.as_str()))
                .await
                .map(|_| ()),
            // A stage change is each lead's own legal move: one that cannot go there is named.
            "move" => match LifecycleStage::parse(&stage) {
                Some(to) => state.app.move_contact(s.p(), *id, to, None).await.map(|_| ()),
                None => Err(AppError::invalid("stage", "pick a stage")),
            },
            _ => Err(AppError::invalid("action", "pick an action")),
        };
        // Each row is decided alone (a rep's own leads go, another rep's are refused) and the
        // message says which were refused and why.
        match result {
            Ok(()) => done += 1,
            Err(e) => refused.push(problem_text(s.lang, &e)),
        }
    }
    refused.dedup();
    if done > 0 {
        let detail = serde_json::json!({ "action": action, "done": done, "refused": ids.len() - done });
        if let Err(e) = state.app.audit_bulk(s.p(), detail).await {
            tracing::error!(error = %e, "could not record the bulk action in the audit log");
        }
    }
    let message = if refused.is_empty() {
        t.bulk_done.replace("{n}", &done.to_string())
    } else {
        let head =
            t.bulk_partly.replace("{n}", &done.to_string()).replace("{m}", &(ids.len() - done).to_string());
        format!("{head} {}", refused.join("; "))
    };
    with_message(&message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_saved_view_keeps_every_filter_of_the_inbox() {
        let (owner, sequence, view) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
        let query = format!(
            "stage=mql&temperature=hot&grade=A&source=fair&q=ana&owner={owner}&sequence={sequence}&view={view}&sort=name&dir=asc&"
        );
        let saved = filter_query(&inbox_filter(&serde_urlencoded_query(&query)));
        let pairs = |q: &str| {
            let mut v: Vec<String> = q.split('&').filter(|p| !p.is_empty()).map(String::from).collect();
            v.sort();
            v
        };
        assert_eq!(pairs(&saved), pairs(&query));
    }
}
