//! A rep's queue and tasks.

use super::*;

pub(super) struct QueueLine {
    pub contact: String,
    pub name: String,
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
}

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

pub(super) async fn queue(State(state): State<AppState>, s: Signed) -> Response {
    let t = s.lang.texts();
    let items = match state.app.lead_queue(s.p(), None, false).await {
        Ok(i) => i,
        Err(e) => return app_error(&s, e),
    };
    let mut lines = Vec::with_capacity(items.len());
    for a in items {
        let name =
            state.app.get_contact(s.p(), a.contact_id).await.map(|c| c.display_name()).unwrap_or_default();
        lines.push(QueueLine {
            contact: a.contact_id.to_string(),
            name,
            due: a.due_at.map_or("—".into(), |d| s.lang.datetime(d)),
            left: a.seconds_left.map_or("—".into(), |x| duration_words(s.lang, x)),
            late: a.seconds_left.is_some_and(|x| x < 0),
            // An accepted lead stays in the queue while the rep works it.
            sla: if a.accepted_at.is_some() { t.lead_accepted } else { sla_label(t, a.sla) },
            why: assignment_words(s.lang, a.rule.as_deref(), a.rep_id.is_some(), &a.why),
        });
    }
    render(QueuePage { c: s.chrome("queue"), lines })
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
            due: s.lang.datetime(x.due_at),
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
