//! A rep's queue and tasks.

use super::*;

pub(super) struct QueueLine {
    pub contact: String,
    pub name: String,
    pub company: String,
    pub temperature: &'static str,
    pub temperature_code: &'static str,
    pub grade: String,
    pub probability: String,
    pub due: String,
    pub left: String,
    pub sla: &'static str,
    pub late: bool,
    pub why: String,
}

#[derive(Template)]
#[template(path = "ui/queue.html")]
pub(super) struct QueuePage {
    pub(super) c: Chrome,
    pub(super) lines: Vec<QueueLine>,
    /// Whose queue (for those who may look at others': managers and admins).
    pub(super) whose: Vec<Choice>,
    pub(super) total: usize,
    pub(super) page: usize,
    pub(super) pages: usize,
    /// The query string of this queue, without the page (for the page links).
    pub(super) base: String,
}

#[derive(Deserialize)]
pub(super) struct QueueQuery {
    /// A rep's id, or `unassigned`.
    of: Option<String>,
    page: Option<usize>,
}

/// Leads a queue page shows.
const QUEUE_PAGE: usize = 50;

pub(super) fn duration_words(lang: Lang, secs: i64) -> String {
    let (h, m) = (secs.abs() / 3600, (secs.abs() % 3600) / 60);
    let s = if h > 0 { format!("{h} h {m:02}") } else { format!("{m} min") };
    if secs < 0 {
        match lang {
            Lang::En => format!("{s} late"),
            Lang::Fr => format!("{s} de retard"),
        }
    } else {
        s
    }
}

pub(super) async fn queue(State(state): State<AppState>, s: Signed, Query(q): Query<QueueQuery>) -> Response {
    let t = s.lang.texts();
    let of = q.of.as_deref().filter(|o| !o.is_empty());
    let (rep, unassigned) = match of {
        Some("unassigned") => (None, true),
        Some(id) => match id.parse::<UserId>() {
            Ok(r) => (Some(r), false),
            Err(_) => return s.error(StatusCode::NOT_FOUND, t.not_found),
        },
        None => (None, false),
    };
    let items = match state.app.lead_queue(s.p(), rep, unassigned).await {
        Ok(i) => i,
        Err(e) => return app_error(&s, e),
    };
    // Whose queues this user may open: their own, the reps they manage (all for admins and
    // marketing), the unassigned queue when allowed. Each is checked by the use case itself.
    let mut whose = vec![Choice { value: String::new(), label: t.queue_mine.into(), selected: of.is_none() }];
    let sales: Vec<_> = state
        .app
        .user_directory(s.p())
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|u| {
            u.role == leadgate_core::access::Role::Sales && u.disabled_at.is_none() && u.id != s.p().user.id
        })
        .collect();
    let mut asked: Vec<Option<UserId>> = sales.iter().map(|u| Some(u.id)).collect();
    asked.push(None);
    for q in state.app.openable_queues(s.p(), &asked).await.unwrap_or_default() {
        match q.and_then(|id| sales.iter().find(|u| u.id == id)) {
            Some(u) => {
                let id = u.id.to_string();
                let label = u.name.clone().unwrap_or_else(|| u.email.clone());
                whose.push(Choice { selected: of == Some(id.as_str()), value: id, label });
            }
            None => whose.push(Choice {
                value: "unassigned".into(),
                label: t.sla_unassigned.into(),
                selected: unassigned,
            }),
        }
    }
    let total = items.len();
    let pages = total.div_ceil(QUEUE_PAGE).max(1);
    let page = q.page.unwrap_or(1).clamp(1, pages);
    let mut lines = Vec::with_capacity(QUEUE_PAGE);
    for a in items.into_iter().skip((page - 1) * QUEUE_PAGE).take(QUEUE_PAGE) {
        let now = a.now.clone();
        let code = now.as_ref().and_then(|n| n.temperature).map_or("none", |x| x.as_str());
        lines.push(QueueLine {
            contact: a.contact_id.to_string(),
            name: now.as_ref().map(|n| n.contact_name.clone()).unwrap_or_default(),
            company: now.as_ref().and_then(|n| n.company_name.clone()).unwrap_or_default(),
            temperature: temperature_label(t, code),
            temperature_code: code,
            grade: now.as_ref().and_then(|n| n.grade.clone()).unwrap_or_else(|| "—".into()),
            probability: now.as_ref().and_then(|n| n.probability).map_or("—".into(), |p| s.lang.percent(p)),
            due: a.due_at.map_or("—".into(), |d| s.datetime(d)),
            left: a.seconds_left.map_or("—".into(), |x| duration_words(s.lang, x)),
            late: a.seconds_left.is_some_and(|x| x < 0),
            // An accepted lead stays in the queue while the rep works it.
            sla: if a.accepted_at.is_some() { t.lead_accepted } else { sla_label(t, a.sla) },
            why: assignment_words(s.lang, a.rule.as_deref(), a.rep_id.is_some(), &a.why),
        });
    }
    let base = of.map_or(String::new(), |o| format!("of={}&", urlencode(o)));
    render(QueuePage { c: s.chrome("queue"), lines, whose, total, page, pages, base })
}

pub(super) struct TaskLine {
    pub id: String,
    pub contact: String,
    pub who: String,
    pub company: String,
    pub kind: &'static str,
    pub title: String,
    pub due: String,
    pub overdue: bool,
}

#[derive(Template)]
#[template(path = "ui/tasks.html")]
pub(super) struct TasksPage {
    pub(super) c: Chrome,
    /// Overdue, due today, later: what to do first comes first.
    pub(super) groups: Vec<(&'static str, Vec<TaskLine>)>,
}

pub(super) async fn tasks(State(state): State<AppState>, s: Signed) -> Response {
    let t = s.lang.texts();
    let items = match state.app.tasks(s.p(), None, false).await {
        Ok(i) => i,
        Err(e) => return app_error(&s, e),
    };
    let today = jiff::tz::TimeZone::UTC.to_datetime(state.app.now()).date();
    let mut groups: Vec<(&'static str, Vec<TaskLine>)> =
        vec![(t.overdue, Vec::new()), (t.tasks_today, Vec::new()), (t.tasks_later, Vec::new())];
    for x in items {
        let group = if x.overdue {
            0
        } else if jiff::tz::TimeZone::UTC.to_datetime(x.due_at).date() == today {
            1
        } else {
            2
        };
        groups[group].1.push(TaskLine {
            id: x.id.to_string(),
            contact: x.contact_id.to_string(),
            who: x.contact_name.clone().unwrap_or_default(),
            company: x.company_name.clone().unwrap_or_default(),
            kind: match x.kind {
                TaskKind::Call => t.kind_call,
                TaskKind::Email => t.kind_email,
                TaskKind::Meeting => t.kind_meeting,
            },
            title: task_words(s.lang, &x.title),
            due: s.datetime(x.due_at),
            overdue: x.overdue,
        });
    }
    groups.retain(|(_, lines)| !lines.is_empty());
    render(TasksPage { c: s.chrome("tasks"), groups })
}

pub(super) async fn task_done(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
    Form(f): Form<CsrfForm>,
) -> Response {
    let id: TaskId = match s.accept(&f.csrf, &id) {
        Ok(id) => id,
        Err(refused) => return *refused,
    };
    match state.app.complete_task(s.p(), id).await {
        Ok(_) => Redirect::to("/tasks").into_response(),
        Err(e) => app_error(&s, e),
    }
}
