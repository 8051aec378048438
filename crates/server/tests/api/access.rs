//! The access matrix: every operation on a lead or a user's work, through the API and through
//! the web UI, × every role (admin, marketing, a rep, its teammate, its manager, a rep of
//! another team) × whose object it is (the actor's own, a teammate's, a report's, another
//! team's, waiting unassigned, never handed to sales), asserting allowed or refused — and that
//! a refused change changed nothing. The expectations are the README's role table.

use super::*;

/// How the actor stands to the lead (or the user whose work it asks for).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Rel {
    /// Held by the actor (for admin and marketing: held by a rep).
    Own,
    /// Held by a rep of the actor's team.
    Teammate,
    /// Held by a rep the actor manages.
    Report,
    /// Held by a rep of another team.
    Stranger,
    /// Handed to sales, waiting for a rep.
    Unassigned,
    /// Never handed to sales.
    NotHanded,
}

/// What an operation needs, which decides who may do it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Read,
    Change,
    /// Accept or reject: sales' decision (a rep may take an unassigned lead).
    Work,
    /// Rights of marketing and admins, whatever the lead.
    Marketing,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Actor {
    Admin,
    Marketing,
    /// A rep (team "inside", managed by `Manager`).
    Ada,
    /// Ada's teammate.
    Bob,
    /// Ada's manager.
    Manager,
    /// A rep of another team.
    Cid,
}

impl Actor {
    fn is_sales(self) -> bool {
        matches!(self, Actor::Ada | Actor::Bob | Actor::Manager | Actor::Cid)
    }
}

/// Whether `actor` may do an operation of `class` on an object in `rel` (visibility: reps read
/// their team's leads and the unassigned queue, the default).
fn allowed(class: Class, actor: Actor, rel: Rel) -> bool {
    if !actor.is_sales() {
        return match class {
            Class::Work => actor == Actor::Admin,
            _ => true,
        };
    }
    match class {
        Class::Read => matches!(rel, Rel::Own | Rel::Teammate | Rel::Report | Rel::Unassigned),
        Class::Change => matches!(rel, Rel::Own | Rel::Report),
        Class::Work => matches!(rel, Rel::Own | Rel::Report | Rel::Unassigned),
        Class::Marketing => false,
    }
}

/// The relations worth testing for an actor: for sales, who holds the lead decides; admin and
/// marketing act on any (a rep's lead stands for all).
fn relations(actor: Actor) -> &'static [Rel] {
    match actor {
        Actor::Admin | Actor::Marketing => &[Rel::Own, Rel::Unassigned, Rel::NotHanded],
        Actor::Ada => &[Rel::Own, Rel::Unassigned, Rel::NotHanded],
        Actor::Bob => &[Rel::Teammate, Rel::Unassigned],
        Actor::Manager => &[Rel::Report, Rel::Own],
        Actor::Cid => &[Rel::Stranger],
    }
}

const ACTORS: [Actor; 6] =
    [Actor::Admin, Actor::Marketing, Actor::Ada, Actor::Bob, Actor::Manager, Actor::Cid];

struct World {
    admin: leadgate_app::Principal,
    keys: HashMap<&'static str, String>,
    ids: HashMap<&'static str, String>,
    sessions: HashMap<&'static str, (String, String)>,
    /// A client that does not follow redirects (a UI form answers 303 when done).
    browser: reqwest::Client,
}

use std::collections::HashMap;

fn name(a: Actor) -> &'static str {
    match a {
        Actor::Admin => "admin",
        Actor::Marketing => "marketing",
        Actor::Ada => "ada",
        Actor::Bob => "bob",
        Actor::Manager => "manager",
        Actor::Cid => "cid",
    }
}

const PASSWORD: &str = "correct horse battery staple";

async fn world(t: &TestApp) -> World {
    let admin = t.app.authenticate(ADMIN_KEY).await.unwrap();
    let mut keys = HashMap::new();
    let mut ids = HashMap::new();
    keys.insert("admin", ADMIN_KEY.to_string());
    ids.insert("admin", admin.user.id.to_string());
    for (n, role) in [
        ("marketing", "marketing"),
        ("ada", "sales"),
        ("bob", "sales"),
        ("manager", "sales"),
        ("cid", "sales"),
    ] {
        let user = t
            .post(
                "/api/v1/users",
                json!({"email": format!("{n}@team.example"), "name": n, "role": role, "password": PASSWORD}),
            )
            .await;
        assert_eq!(user.status, StatusCode::CREATED, "{}", user.body);
        let id = user.body["id"].as_str().unwrap().to_string();
        let key = t.post("/api/v1/api-keys", json!({"name": "matrix", "user_id": id})).await;
        keys.insert(n, key.body["key"].as_str().unwrap().to_string());
        ids.insert(n, id);
    }
    let hours = json!({"time_zone": "UTC", "days": ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"], "start": "00:00", "end": "23:59"});
    for (n, team, manager) in [
        ("ada", "inside", Some("manager")),
        ("bob", "Inside", None),
        ("cid", "field", None),
        ("manager", "leads", None),
    ] {
        let mut profile = json!({"team": team, "working_hours": hours});
        if let Some(m) = manager {
            profile["manager_id"] = json!(ids[m]);
        }
        let r =
            t.send(Method::PUT, &format!("/api/v1/reps/{}", ids[n]), Some(ADMIN_KEY), Some(profile)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    let mut sessions = HashMap::new();
    for n in ["admin", "marketing", "ada", "bob", "manager", "cid"] {
        let email = if n == "admin" { "admin@test.example".to_string() } else { format!("{n}@team.example") };
        if n == "admin" {
            let r = t
                .send(
                    Method::PUT,
                    &format!("/api/v1/users/{}/password", ids["admin"]),
                    Some(ADMIN_KEY),
                    Some(json!({"password": PASSWORD})),
                )
                .await;
            assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
        }
        let token = t.app.sign_in(&email, PASSWORD).await.unwrap_or_else(|e| panic!("{n}: {e}"));
        let csrf = t.app.web_session(&token).await.unwrap().csrf;
        sessions.insert(n, (token, csrf));
    }
    let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    World { admin, keys, ids, sessions, browser }
}

/// A fresh lead in `rel` to `actor` (a rep's MQL, one waiting unassigned, or a plain lead).
async fn lead(t: &TestApp, w: &World, actor: Actor, rel: Rel, n: usize) -> String {
    let c = t
        .post("/api/v1/contacts", json!({"email": format!("lead{n}@buyer.example"), "first_name": "Lead"}))
        .await;
    assert_eq!(c.status, StatusCode::CREATED, "{}", c.body);
    let id = c.body["id"].as_str().unwrap().to_string();
    if rel == Rel::NotHanded {
        return id;
    }
    // No routing rules: an MQL waits in the unassigned queue.
    let mql = t.post(&format!("/api/v1/contacts/{id}/lifecycle"), json!({"to": "mql"})).await;
    assert_eq!(mql.status, StatusCode::OK, "{}", mql.body);
    let holder = match (actor, rel) {
        (_, Rel::Unassigned) => None,
        (Actor::Admin | Actor::Marketing, Rel::Own) => Some("ada"),
        (a, Rel::Own) => Some(name(a)),
        (_, Rel::Teammate | Rel::Report | Rel::Stranger) => Some("ada"),
        (_, Rel::NotHanded) => unreachable!(),
    };
    if let Some(h) = holder {
        t.app.assign_to(&w.admin, id.parse().unwrap(), w.ids[h].parse().unwrap()).await.unwrap();
    }
    id
}

/// What an admin sees of a lead: enough to tell whether a refused change changed anything.
async fn state_of(t: &TestApp, w: &World, id: &str) -> Value {
    let contact = t.get(&format!("/api/v1/contacts/{id}")).await.body;
    let timeline = t.get(&format!("/api/v1/contacts/{id}/timeline")).await.body["items"].clone();
    let lifecycle = t.get(&format!("/api/v1/contacts/{id}/lifecycle")).await.body;
    let assignments = t.get(&format!("/api/v1/contacts/{id}/assignments")).await.body;
    let consents = t.get(&format!("/api/v1/contacts/{id}/consents")).await.body;
    let buying_role = t.get(&format!("/api/v1/contacts/{id}/buying-role")).await.body;
    let mut tasks = Vec::new();
    for user in w.ids.values() {
        let list = t.get(&format!("/api/v1/tasks?assignee_id={user}&include_done=true")).await.body;
        tasks.extend(list.as_array().into_iter().flatten().filter(|x| x["contact_id"] == id).cloned());
    }
    tasks.sort_by_key(|x| x["id"].as_str().unwrap_or_default().to_string());
    json!({"contact": contact, "timeline": timeline, "lifecycle": lifecycle, "assignments": assignments,
           "consents": consents, "tasks": tasks, "buying_role": buying_role})
}

/// One operation of the matrix: its class and how to send it for a lead.
struct Op {
    label: &'static str,
    class: Class,
    /// Changes the lead (a fresh one per cell, and a refusal must leave it as it was).
    changes: bool,
    /// Which relations it applies to (a state the operation needs).
    skip_not_handed: bool,
}

const API_OPS: &[Op] = &[
    Op { label: "GET /contacts/{id}", class: Class::Read, changes: false, skip_not_handed: false },
    Op { label: "GET /contacts/{id}/timeline", class: Class::Read, changes: false, skip_not_handed: false },
    Op { label: "GET /contacts/{id}/score", class: Class::Read, changes: false, skip_not_handed: false },
    Op { label: "GET /contacts/{id}/lifecycle", class: Class::Read, changes: false, skip_not_handed: false },
    Op {
        label: "GET /contacts/{id}/assignments",
        class: Class::Read,
        changes: false,
        skip_not_handed: false,
    },
    Op { label: "GET /contacts/{id}/consents", class: Class::Read, changes: false, skip_not_handed: false },
    Op {
        label: "GET /contacts/{id}/consent-requests",
        class: Class::Read,
        changes: false,
        skip_not_handed: false,
    },
    Op { label: "GET /contacts/{id}/deals", class: Class::Read, changes: false, skip_not_handed: false },
    Op {
        label: "GET /contacts/{id}/buying-role",
        class: Class::Read,
        changes: false,
        skip_not_handed: false,
    },
    Op {
        label: "PUT /contacts/{id}/buying-role",
        class: Class::Change,
        changes: true,
        skip_not_handed: false,
    },
    Op {
        label: "GET /contacts/{id}/tracking-token",
        class: Class::Read,
        changes: false,
        skip_not_handed: false,
    },
    Op { label: "PATCH /contacts/{id}", class: Class::Change, changes: true, skip_not_handed: false },
    Op { label: "POST /contacts/{id}/touches", class: Class::Change, changes: true, skip_not_handed: false },
    Op { label: "GET /contacts/{id}/notes", class: Class::Read, changes: false, skip_not_handed: false },
    Op { label: "POST /contacts/{id}/notes", class: Class::Change, changes: true, skip_not_handed: false },
    Op {
        label: "PUT /contacts/{id}/checklist/need",
        class: Class::Change,
        changes: true,
        skip_not_handed: false,
    },
    Op { label: "POST /contacts/{id}/lifecycle", class: Class::Change, changes: true, skip_not_handed: true },
    Op { label: "POST /contacts/{id}/route", class: Class::Change, changes: true, skip_not_handed: true },
    Op { label: "POST /tasks", class: Class::Change, changes: true, skip_not_handed: false },
    Op { label: "POST /contacts/{id}/accept", class: Class::Work, changes: true, skip_not_handed: true },
    Op { label: "POST /contacts/{id}/reject", class: Class::Work, changes: true, skip_not_handed: true },
    Op {
        label: "POST /contacts/{id}/consents",
        class: Class::Marketing,
        changes: true,
        skip_not_handed: false,
    },
    Op { label: "UI GET /contacts/{id}", class: Class::Read, changes: false, skip_not_handed: false },
    Op { label: "UI POST /contacts/{id}/touch", class: Class::Change, changes: true, skip_not_handed: false },
    Op {
        label: "UI POST /contacts/{id}/checklist",
        class: Class::Change,
        changes: true,
        skip_not_handed: false,
    },
    Op { label: "UI POST /contacts/{id}/move", class: Class::Change, changes: true, skip_not_handed: true },
    Op { label: "UI POST /contacts/{id}/accept", class: Class::Work, changes: true, skip_not_handed: true },
    Op { label: "UI POST /contacts/{id}/reject", class: Class::Work, changes: true, skip_not_handed: true },
];

/// Sends `op` as `actor` on lead `id`; the status.
async fn send(t: &TestApp, w: &World, op: &Op, actor: Actor, id: &str) -> StatusCode {
    let key = Some(w.keys[name(actor)].as_str());
    let api = |m: Method, path: String, body: Option<Value>| async move {
        t.send(m, &path, key, body).await.status
    };
    let (token, csrf) = &w.sessions[name(actor)];
    let ui = |path: String, form: Vec<(&'static str, String)>| {
        let mut fields = form;
        fields.push(("_csrf", csrf.clone()));
        let req = w
            .browser
            .post(format!("{}{path}", t.base))
            .header("cookie", format!("lg_session={token}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(serde_urlencoded::to_string(&fields).unwrap());
        async move { req.send().await.unwrap().status() }
    };
    match op.label {
        "GET /contacts/{id}" => api(Method::GET, format!("/api/v1/contacts/{id}"), None).await,
        "GET /contacts/{id}/timeline" => api(Method::GET, format!("/api/v1/contacts/{id}/timeline"), None).await,
        "GET /contacts/{id}/score" => api(Method::GET, format!("/api/v1/contacts/{id}/score"), None).await,
        "GET /contacts/{id}/lifecycle" => api(Method::GET, format!("/api/v1/contacts/{id}/lifecycle"), None).await,
        "GET /contacts/{id}/assignments" => api(Method::GET, format!("/api/v1/contacts/{id}/assignments"), None).await,
        "GET /contacts/{id}/consents" => api(Method::GET, format!("/api/v1/contacts/{id}/consents"), None).await,
        "GET /contacts/{id}/consent-requests" => {
            api(Method::GET, format!("/api/v1/contacts/{id}/consent-requests"), None).await
        }
        "GET /contacts/{id}/deals" => api(Method::GET, format!("/api/v1/contacts/{id}/deals"), None).await,
        "GET /contacts/{id}/buying-role" => api(Method::GET, format!("/api/v1/contacts/{id}/buying-role"), None).await,
        "PUT /contacts/{id}/buying-role" => {
            api(Method::PUT, format!("/api/v1/contacts/{id}/buying-role"), Some(json!({"role": "user"}))).await
        }
        "GET /contacts/{id}/tracking-token" => api(Method::GET, format!("/api/v1/contacts/{id}/tracking-token"), None).await,
        "PATCH /contacts/{id}" => api(Method::PATCH, format!("/api/v1/contacts/{id}"), Some(json!({"job_title": "Changed"}))).await,
        "GET /contacts/{id}/notes" => api(Method::GET, format!("/api/v1/contacts/{id}/notes"), None).await,
        "POST /contacts/{id}/notes" => {
            api(Method::POST, format!("/api/v1/contacts/{id}/notes"), Some(json!({"body": "Called back"}))).await
        }
        "POST /contacts/{id}/touches" => {
            api(Method::POST, format!("/api/v1/contacts/{id}/touches"), Some(json!({"kind": "call", "outcome": "reached"}))).await
        }
        "PUT /contacts/{id}/checklist/need" => {
            api(Method::PUT, format!("/api/v1/contacts/{id}/checklist/need"), Some(json!({"answer": "yes"}))).await
        }
        "POST /contacts/{id}/lifecycle" => {
            api(Method::POST, format!("/api/v1/contacts/{id}/lifecycle"), Some(json!({"to": "disqualified", "reason": "matrix"}))).await
        }
        "POST /contacts/{id}/route" => api(Method::POST, format!("/api/v1/contacts/{id}/route"), None).await,
        "POST /tasks" => {
            api(Method::POST, "/api/v1/tasks".into(), Some(json!({"contact_id": id, "kind": "call", "title": "Call back", "due_at": "2026-12-24T10:00:00Z"}))).await
        }
        "POST /contacts/{id}/accept" => api(Method::POST, format!("/api/v1/contacts/{id}/accept"), None).await,
        "POST /contacts/{id}/reject" => {
            api(Method::POST, format!("/api/v1/contacts/{id}/reject"), Some(json!({"reason": "no_budget"}))).await
        }
        "POST /contacts/{id}/consents" => {
            api(Method::POST, format!("/api/v1/contacts/{id}/consents"), Some(json!({"purpose": "newsletter", "granted": true, "text": "Newsletter", "version": "1"}))).await
        }
        "UI GET /contacts/{id}" => {
            let r = w.browser.get(format!("{}/contacts/{id}", t.base)).header("cookie", format!("lg_session={token}")).send().await.unwrap();
            r.status()
        }
        "UI POST /contacts/{id}/touch" => {
            ui(format!("/contacts/{id}/touch"), vec![("kind", "call".into()), ("outcome", "reached".into())]).await
        }
        "UI POST /contacts/{id}/checklist" => {
            ui(format!("/contacts/{id}/checklist"), vec![("answer_need", "yes".into())]).await
        }
        "UI POST /contacts/{id}/move" => {
            ui(format!("/contacts/{id}/move"), vec![("to", "disqualified".into()), ("reason", "matrix".into())]).await
        }
        "UI POST /contacts/{id}/accept" => ui(format!("/contacts/{id}/accept"), vec![]).await,
        "UI POST /contacts/{id}/reject" => ui(format!("/contacts/{id}/reject"), vec![("reason", "no_budget".into())]).await,
        other => panic!("no way to send {other}"),
    }
}

fn is_allowed(status: StatusCode) -> bool {
    status.is_success() || status == StatusCode::SEE_OTHER
}

fn is_refused(status: StatusCode) -> bool {
    status == StatusCode::FORBIDDEN || status == StatusCode::NOT_FOUND
}

handoff_tests! {
    async fn every_operation_on_a_lead_is_allowed_or_refused_by_role_and_owner(t, _clock) {
        let w = world(&t).await;
        let mut failures = Vec::new();
        let mut n = 0;
        // Read-only operations share one lead per (actor, relation).
        let mut shared: HashMap<(&'static str, Rel), String> = HashMap::new();
        for actor in ACTORS {
            for &rel in relations(actor) {
                for op in API_OPS {
                    if op.skip_not_handed && rel == Rel::NotHanded {
                        continue;
                    }
                    let id = if op.changes {
                        n += 1;
                        lead(&t, &w, actor, rel, n).await
                    } else {
                        let k = (name(actor), rel);
                        match shared.get(&k) {
                            Some(id) => id.clone(),
                            None => {
                                n += 1;
                                let id = lead(&t, &w, actor, rel, n).await;
                                shared.insert(k, id.clone());
                                id
                            }
                        }
                    };
                    let before = if op.changes { Some(state_of(&t, &w, &id).await) } else { None };
                    let status = send(&t, &w, op, actor, &id).await;
                    let expected = allowed(op.class, actor, rel);
                    let ok = if expected { is_allowed(status) } else { is_refused(status) };
                    if !ok {
                        failures.push(format!("{} as {actor:?} on a {rel:?} lead: {status} (expected {})", op.label, if expected { "allowed" } else { "refused" }));
                    } else if !expected && let Some(before) = before {
                        let after = state_of(&t, &w, &id).await;
                        if after != before {
                            failures.push(format!("{} as {actor:?} on a {rel:?} lead was refused but changed it", op.label));
                        }
                    }
                }
            }
        }
        assert!(failures.is_empty(), "{} cells wrong:\n{}", failures.len(), failures.join("\n"));
    }

    async fn reps_reach_only_their_own_and_their_reports_work_lists_and_tasks(t, _clock) {
        let w = world(&t).await;
        let ada_lead = lead(&t, &w, Actor::Ada, Rel::Own, 1).await;
        let cid_lead = lead(&t, &w, Actor::Cid, Rel::Own, 2).await;
        let hidden = lead(&t, &w, Actor::Admin, Rel::NotHanded, 3).await;
        let waiting = lead(&t, &w, Actor::Admin, Rel::Unassigned, 4).await;
        let task = t.post("/api/v1/tasks", json!({"contact_id": ada_lead, "kind": "call", "title": "Ada's", "due_at": "2026-12-24T10:00:00Z", "assignee_id": w.ids["ada"]})).await;
        assert_eq!(task.status, StatusCode::CREATED, "{}", task.body);
        let task_id = task.body["id"].as_str().unwrap().to_string();
        let key = |n: &str| Some(w.keys[n].clone());
        // Queues and task lists: one's own, a report's, a teammate's (team visibility); not another team's.
        for (actor, whose, ok) in [("ada", "ada", true), ("manager", "ada", true), ("bob", "ada", true), ("cid", "ada", false), ("marketing", "ada", true)] {
            for path in [format!("/api/v1/queue?rep_id={}", w.ids[whose]), format!("/api/v1/tasks?assignee_id={}", w.ids[whose])] {
                let r = t.send(Method::GET, &path, key(actor).as_deref(), None).await;
                assert_eq!(r.status.is_success(), ok, "{actor} reading {path}: {}", r.status);
            }
        }
        // Completing a task: its assignee, its assignee's manager, marketing; not a teammate.
        for (actor, ok) in [("bob", false), ("cid", false), ("manager", true)] {
            let r = t.send(Method::POST, &format!("/api/v1/tasks/{task_id}/done"), key(actor).as_deref(), None).await;
            assert_eq!(is_allowed(r.status), ok, "{actor} completing Ada's task: {}", r.status);
            if !ok {
                assert!(is_refused(r.status), "{actor}: {}", r.status);
            }
        }
        // Giving a task to someone else: to oneself or one's reports only.
        let to_ada = json!({"contact_id": ada_lead, "kind": "call", "title": "x", "due_at": "2026-12-24T10:00:00Z", "assignee_id": w.ids["ada"]});
        assert_eq!(t.send(Method::POST, "/api/v1/tasks", key("manager").as_deref(), Some(to_ada.clone())).await.status, StatusCode::CREATED);
        let to_bob = json!({"contact_id": ada_lead, "kind": "call", "title": "x", "due_at": "2026-12-24T10:00:00Z", "assignee_id": w.ids["bob"]});
        assert_eq!(t.send(Method::POST, "/api/v1/tasks", key("ada").as_deref(), Some(to_bob)).await.status, StatusCode::FORBIDDEN);
        // The contact list shows a rep what it may read, nothing else.
        let listed = async |actor: &'static str| {
            let r = t.send(Method::GET, "/api/v1/contacts?limit=100", Some(w.keys[actor].as_str()), None).await;
            r.body["items"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap().to_string()).collect::<Vec<_>>()
        };
        let bob_sees = listed("bob").await;
        assert!(bob_sees.contains(&ada_lead) && bob_sees.contains(&waiting), "{bob_sees:?}");
        assert!(!bob_sees.contains(&cid_lead) && !bob_sees.contains(&hidden), "{bob_sees:?}");
        let cid_sees = listed("cid").await;
        assert!(cid_sees.contains(&cid_lead) && !cid_sees.contains(&ada_lead), "{cid_sees:?}");
        let admin = t.app.authenticate(ADMIN_KEY).await.unwrap();
        let bob = t.app.authenticate(&w.keys["bob"]).await.unwrap();
        let inbox: Vec<String> = t.app.inbox(&bob, &Default::default(), 100, 0).await.unwrap().into_iter().map(|r| r.id.to_string()).collect();
        assert!(inbox.contains(&ada_lead) && inbox.contains(&waiting) && !inbox.contains(&cid_lead) && !inbox.contains(&hidden), "{inbox:?}");
        // Own visibility: Bob no longer reads Ada's leads; All: he reads every contact.
        let r = t.send(Method::PUT, "/api/v1/settings/lead-visibility", Some(ADMIN_KEY), Some(json!({"reps_see": "own", "unassigned": false}))).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(t.send(Method::GET, &format!("/api/v1/contacts/{ada_lead}"), key("bob").as_deref(), None).await.status, StatusCode::NOT_FOUND);
        assert_eq!(t.send(Method::GET, &format!("/api/v1/contacts/{waiting}"), key("bob").as_deref(), None).await.status, StatusCode::NOT_FOUND);
        assert_eq!(t.send(Method::GET, &format!("/api/v1/contacts/{ada_lead}"), key("manager").as_deref(), None).await.status, StatusCode::OK, "a manager reads its reports' leads");
        assert_eq!(t.send(Method::POST, &format!("/api/v1/contacts/{waiting}/accept"), key("bob").as_deref(), None).await.status, StatusCode::NOT_FOUND, "the unassigned queue is hidden");
        assert!(t.app.inbox(&bob, &Default::default(), 100, 0).await.unwrap().is_empty());
        t.send(Method::PUT, "/api/v1/settings/lead-visibility", Some(ADMIN_KEY), Some(json!({"reps_see": "all", "unassigned": true}))).await;
        assert_eq!(t.send(Method::GET, &format!("/api/v1/contacts/{hidden}"), key("cid").as_deref(), None).await.status, StatusCode::OK);
        assert_eq!(t.send(Method::PATCH, &format!("/api/v1/contacts/{hidden}"), key("cid").as_deref(), Some(json!({"city": "Lyon"}))).await.status, StatusCode::FORBIDDEN, "reading is not changing");
        assert_eq!(t.send(Method::PUT, "/api/v1/settings/lead-visibility", key("marketing").as_deref(), Some(json!({"reps_see": "all", "unassigned": true}))).await.status, StatusCode::FORBIDDEN);
        let _ = admin;
    }

    async fn sales_has_no_powers_beyond_its_description(t, _clock) {
        let w = world(&t).await;
        let ada = Some(w.keys["ada"].as_str());
        let mine = lead(&t, &w, Actor::Ada, Rel::Own, 1).await;
        // No imports (and so no custom fields declared by them).
        let up = t.http.post(format!("{}/api/v1/uploads?name=x.csv", t.base)).bearer_auth(&w.keys["ada"]).header("content-type", "text/csv").body("Email,Plan\na@b.example,pro\n").send().await.unwrap();
        assert_eq!(up.status(), StatusCode::FORBIDDEN);
        // No consent recorded for anyone, not even on its own lead.
        let consent = json!({"purpose": "newsletter", "granted": true, "text": "Newsletter", "version": "1"});
        assert_eq!(t.send(Method::POST, &format!("/api/v1/contacts/{mine}/consents"), ada, Some(consent)).await.status, StatusCode::FORBIDDEN);
        // No customer (a training positive) created directly; a plain lead, yes.
        let customer = t.send(Method::POST, "/api/v1/contacts", ada, Some(json!({"email": "new@buyer.example", "lifecycle_stage": "customer"}))).await;
        assert_eq!(customer.status, StatusCode::FORBIDDEN, "{}", customer.body);
        let plain = t.send(Method::POST, "/api/v1/contacts", ada, Some(json!({"email": "new@buyer.example"}))).await;
        assert_eq!(plain.status, StatusCode::CREATED, "{}", plain.body);
        // No raw events through the API, no companies.
        assert_eq!(t.send(Method::POST, "/api/v1/events", ada, Some(json!({"contact_id": mine, "kind": "quote_request"}))).await.status, StatusCode::FORBIDDEN);
        assert_eq!(t.send(Method::POST, "/api/v1/companies", ada, Some(json!({"name": "Acme"}))).await.status, StatusCode::FORBIDDEN);
        // A rep moves its own lead only out of the sales stages, never back into them.
        let plain_id = plain.body["id"].as_str().unwrap();
        assert_eq!(t.send(Method::POST, &format!("/api/v1/contacts/{plain_id}/lifecycle"), ada, Some(json!({"to": "mql"}))).await.status, StatusCode::NOT_FOUND);
        // The UI's bulk "assign to me" takes nobody else's lead.
        let bob_lead = lead(&t, &w, Actor::Bob, Rel::Own, 2).await;
        let (token, csrf) = &w.sessions["ada"];
        let form = [("_csrf", csrf.as_str()), ("ids", bob_lead.as_str()), ("action", "assign"), ("rep", w.ids["ada"].as_str()), ("back", "/leads")];
        let r = w.browser.post(format!("{}/leads/bulk", t.base)).header("cookie", format!("lg_session={token}"))
            .header("content-type", "application/x-www-form-urlencoded").body(serde_urlencoded::to_string(form).unwrap()).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let a = t.get(&format!("/api/v1/contacts/{bob_lead}")).await;
        assert_eq!(a.body["assignment"]["rep_id"], json!(w.ids["bob"]), "still Bob's");
    }
}

const FORM: &str = r#"{"slug": "matrix", "title": "Matrix", "fields": [{"name": "email", "label": "E-mail", "maps_to": "email"}]}"#;

/// Operations that are not about one lead: who may call them is the role's business alone.
/// (method, path with `{id}`-style parameters, body, roles allowed: admin, marketing, sales).
const ROLE_OPS: &[(&str, &str, Option<&str>, [bool; 3])] = &[
    ("GET", "/api/v1/agreement", None, [true, true, true]),
    (
        "PUT",
        "/api/v1/agreement",
        Some(
            r#"{"routing": [], "first_touch": {"hot_minutes": 60, "warm_minutes": 480, "cold_minutes": 1440}, "reminder_minutes": 15, "on_breach": "flag", "recycle_days": 30, "follow_up_days": 2}"#,
        ),
        [true, false, false],
    ),
    ("GET", "/api/v1/api-keys", None, [true, true, true]),
    ("POST", "/api/v1/api-keys", Some(r#"{"name": "k"}"#), [true, true, true]),
    ("DELETE", "/api/v1/api-keys/{id}", None, [true, true, true]),
    ("GET", "/api/v1/companies", None, [true, true, true]),
    ("POST", "/api/v1/companies", Some(r#"{"name": "Acme"}"#), [true, true, false]),
    ("GET", "/api/v1/companies/{id}", None, [true, true, true]),
    ("DELETE", "/api/v1/companies/{id}", None, [true, true, false]),
    ("PATCH", "/api/v1/companies/{id}", Some(r#"{"name": "Acme"}"#), [true, true, false]),
    ("GET", "/api/v1/contacts", None, [true, true, true]),
    ("POST", "/api/v1/contacts", Some(r#"{"email": "role-op@x.example"}"#), [true, true, true]),
    ("DELETE", "/api/v1/contacts/{id}", None, [true, true, false]),
    ("GET", "/api/v1/custom-fields", None, [true, true, true]),
    (
        "POST",
        "/api/v1/custom-fields",
        Some(r#"{"entity": "contact", "key": "k", "label": "K", "type": "text"}"#),
        [true, true, false],
    ),
    ("DELETE", "/api/v1/custom-fields/{entity}/{key}", None, [true, true, false]),
    ("GET", "/api/v1/deals", None, [true, true, true]),
    ("POST", "/api/v1/deals", Some(r#"{"name": "Acme — 40 seats"}"#), [true, false, true]),
    ("GET", "/api/v1/deals/{id}", None, [true, true, true]),
    ("PATCH", "/api/v1/deals/{id}", Some(r#"{"name": "x"}"#), [true, false, true]),
    ("DELETE", "/api/v1/deals/{id}", None, [true, false, true]),
    ("POST", "/api/v1/deals/{id}/moves", Some(r#"{"to": "won"}"#), [true, false, true]),
    ("GET", "/api/v1/deals/{id}/prediction", None, [true, true, true]),
    ("GET", "/api/v1/companies/{id}/buying-group", None, [true, true, true]),
    ("GET", "/api/v1/pipeline/board", None, [true, true, true]),
    ("GET", "/api/v1/contacts/{id}/export", None, [true, true, false]),
    ("POST", "/api/v1/contacts/{id}/erasure", None, [true, true, false]),
    ("POST", "/api/v1/contacts/{id}/objection", None, [true, true, false]),
    ("GET", "/api/v1/contacts/{id}/preferences-link", None, [true, true, false]),
    ("POST", "/api/v1/erasures", Some(r#"{"emails": ["erased-op@x.example"]}"#), [true, true, false]),
    ("GET", "/api/v1/retention", None, [true, true, false]),
    ("POST", "/api/v1/retention/purge", None, [true, true, false]),
    ("GET", "/api/v1/audit-log", None, [true, false, false]),
    // Nurture: marketing's and the admin's; a rep reads its leads' messages.
    ("GET", "/api/v1/nurture/settings", None, [true, true, false]),
    ("PUT", "/api/v1/nurture/settings", Some(r#"{"tracking": true}"#), [true, true, false]),
    ("GET", "/api/v1/email-templates", None, [true, true, false]),
    (
        "POST",
        "/api/v1/email-templates",
        Some(r#"{"name": "T", "subject": "S", "html": "<p>x</p>"}"#),
        [true, true, false],
    ),
    ("GET", "/api/v1/email-templates/{id}", None, [true, true, false]),
    (
        "PUT",
        "/api/v1/email-templates/{id}",
        Some(r#"{"name": "T", "subject": "S", "html": "<p>x</p>"}"#),
        [true, true, false],
    ),
    (
        "POST",
        "/api/v1/email-templates/{id}/preview",
        Some(r#"{"contact": "0192f7a4-5c1e-7b3a-9d2e-4f6a8b0c1d2e"}"#),
        [true, true, false],
    ),
    ("POST", "/api/v1/email-templates/{id}/test", Some(r#"{"to": "t@x.example"}"#), [true, true, false]),
    ("GET", "/api/v1/sequences", None, [true, true, false]),
    ("POST", "/api/v1/sequences", Some(r#"{"name": "S", "steps": []}"#), [true, true, false]),
    ("GET", "/api/v1/sequences/{id}", None, [true, true, false]),
    ("PUT", "/api/v1/sequences/{id}", Some(r#"{"name": "S", "steps": []}"#), [true, true, false]),
    ("POST", "/api/v1/sequences/{id}/enrolments", Some(r#"{"contacts": []}"#), [true, true, false]),
    ("DELETE", "/api/v1/enrolments/{id}", None, [true, true, false]),
    ("GET", "/api/v1/contacts/{id}/nurture", None, [true, true, true]),
    ("GET", "/api/v1/email-messages", None, [true, true, false]),
    ("GET", "/api/v1/bounces", None, [true, true, false]),
    ("POST", "/api/v1/bounces", Some("{}"), [true, true, false]),
    ("GET", "/api/v1/settings/pipeline", None, [true, true, true]),
    // Team figures that name no lead: every role reads them.
    ("GET", "/api/v1/analytics/funnel", None, [true, true, true]),
    ("GET", "/api/v1/analytics/deals", None, [true, true, true]),
    ("GET", "/api/v1/analytics/stages", None, [true, true, true]),
    ("GET", "/api/v1/analytics/forecast", None, [true, true, true]),
    ("GET", "/api/v1/analytics/churn", None, [true, true, true]),
    ("GET", "/api/v1/analytics/sla", None, [true, true, true]),
    (
        "PUT",
        "/api/v1/settings/pipeline",
        Some(
            r#"{"stages": [{"key": "qualification", "probability": 25}], "lost_reasons": ["price"], "rotting_days": 14, "currency": "EUR"}"#,
        ),
        [true, false, false],
    ),
    ("POST", "/api/v1/events", Some(r#"{"email": "e@x.example", "kind": "page_view"}"#), [true, true, false]),
    ("POST", "/api/v1/events/batch", Some(r#"{"events": []}"#), [true, true, false]),
    ("GET", "/api/v1/forms", None, [true, true, true]),
    ("POST", "/api/v1/forms", Some(FORM), [true, true, false]),
    ("GET", "/api/v1/forms/{id}", None, [true, true, true]),
    ("PUT", "/api/v1/forms/{id}", Some(FORM), [true, true, false]),
    ("DELETE", "/api/v1/forms/{id}", None, [true, true, false]),
    ("GET", "/api/v1/handoff/metrics", None, [true, true, true]),
    ("GET", "/api/v1/handoff/sla", None, [true, true, true]),
    (
        "POST",
        "/api/v1/imports",
        Some(r#"{"upload_id": "0192f7a4-5c1e-7b3a-9d2e-4f6a8b0c1d2e", "entity": "contacts"}"#),
        [true, true, false],
    ),
    (
        "POST",
        "/api/v1/imports/preview",
        Some(r#"{"upload_id": "0192f7a4-5c1e-7b3a-9d2e-4f6a8b0c1d2e", "entity": "contacts"}"#),
        [true, true, false],
    ),
    ("GET", "/api/v1/imports/{id}", None, [true, true, false]),
    ("GET", "/api/v1/imports/{id}/rejects", None, [true, true, false]),
    ("GET", "/api/v1/jobs/{id}", None, [true, true, true]),
    ("GET", "/api/v1/me", None, [true, true, true]),
    ("GET", "/api/v1/models", None, [true, true, true]),
    ("POST", "/api/v1/models/train", Some(r#"{}"#), [true, true, false]),
    ("GET", "/api/v1/models/{version}", None, [true, true, true]),
    ("POST", "/api/v1/models/{version}/activate", None, [true, true, false]),
    ("GET", "/api/v1/deal-models", None, [true, true, true]),
    ("POST", "/api/v1/deal-models", Some(r#"{}"#), [true, true, false]),
    ("POST", "/api/v1/deal-models/{version}/activate", None, [true, true, false]),
    ("GET", "/api/v1/reps", None, [true, true, true]),
    ("PUT", "/api/v1/reps/{user_id}", Some(r#"{}"#), [true, false, false]),
    ("DELETE", "/api/v1/reps/{user_id}", None, [true, false, false]),
    (
        "POST",
        "/api/v1/requests",
        Some(r#"{"channel": "phone", "contact": {"email": "r@x.example"}}"#),
        [true, true, false],
    ),
    ("GET", "/api/v1/scoring/rules", None, [true, true, true]),
    (
        "PUT",
        "/api/v1/scoring/rules",
        Some(include_str!("../../../core/src/scoring/presets/b2b.json")),
        [true, true, false],
    ),
    ("GET", "/api/v1/tasks", None, [true, true, true]),
    ("POST", "/api/v1/uploads?name=x.csv", Some("Email\na@b.example\n"), [true, true, false]),
    ("GET", "/api/v1/users", None, [true, false, false]),
    ("POST", "/api/v1/users", Some(r#"{"email": "u@x.example", "role": "sales"}"#), [true, false, false]),
    ("PATCH", "/api/v1/users/{id}", Some(r#"{"role": "sales"}"#), [true, false, false]),
    (
        "PUT",
        "/api/v1/users/{id}/password",
        Some(r#"{"password": "correct horse battery"}"#),
        [true, false, false],
    ),
    ("POST", "/api/v1/webhook-deliveries/{id}/redeliver", None, [true, false, false]),
    ("GET", "/api/v1/webhooks", None, [true, false, false]),
    (
        "POST",
        "/api/v1/webhooks",
        Some(r#"{"url": "https://hooks.example.com/x", "event_types": ["*"]}"#),
        [true, false, false],
    ),
    ("GET", "/api/v1/webhooks/{id}", None, [true, false, false]),
    ("DELETE", "/api/v1/webhooks/{id}", None, [true, false, false]),
    ("PATCH", "/api/v1/webhooks/{id}", Some(r#"{"active": false}"#), [true, false, false]),
    ("GET", "/api/v1/webhooks/{id}/deliveries", None, [true, false, false]),
    ("POST", "/api/v1/webhooks/{id}/rotate-secret", None, [true, false, false]),
    ("GET", "/api/v1/settings/lead-visibility", None, [true, true, true]),
    (
        "PUT",
        "/api/v1/settings/lead-visibility",
        Some(r#"{"reps_see": "team", "unassigned": true}"#),
        [true, false, false],
    ),
];

/// Lead operations tested by the matrix above, and work lists by their own test.
const LEAD_PATHS: &[(&str, &str)] = &[
    ("GET", "/api/v1/contacts/{id}"),
    ("PATCH", "/api/v1/contacts/{id}"),
    ("GET", "/api/v1/contacts/{id}/timeline"),
    ("GET", "/api/v1/contacts/{id}/score"),
    ("GET", "/api/v1/contacts/{id}/lifecycle"),
    ("POST", "/api/v1/contacts/{id}/lifecycle"),
    ("GET", "/api/v1/contacts/{id}/assignments"),
    ("GET", "/api/v1/contacts/{id}/consents"),
    ("GET", "/api/v1/contacts/{id}/consent-requests"),
    ("GET", "/api/v1/contacts/{id}/deals"),
    ("GET", "/api/v1/contacts/{id}/buying-role"),
    ("PUT", "/api/v1/contacts/{id}/buying-role"),
    ("POST", "/api/v1/contacts/{id}/consents"),
    ("GET", "/api/v1/contacts/{id}/tracking-token"),
    ("GET", "/api/v1/contacts/{id}/prediction"),
    ("POST", "/api/v1/contacts/{id}/touches"),
    ("GET", "/api/v1/contacts/{id}/notes"),
    ("POST", "/api/v1/contacts/{id}/notes"),
    ("PUT", "/api/v1/contacts/{id}/checklist/{criterion}"),
    ("POST", "/api/v1/contacts/{id}/route"),
    ("POST", "/api/v1/contacts/{id}/accept"),
    ("POST", "/api/v1/contacts/{id}/reject"),
    ("POST", "/api/v1/tasks"),
    ("POST", "/api/v1/tasks/{id}/done"),
    ("GET", "/api/v1/queue"),
];

api_tests! {
    async fn every_api_operation_is_in_the_access_matrix_and_refused_to_the_roles_it_is_not_for(t) {
        let doc = t.get("/api/openapi.json").await.body;
        let mut missing = Vec::new();
        for (path, ops) in doc["paths"].as_object().unwrap() {
            for method in ops.as_object().unwrap().keys() {
                let m = method.to_uppercase();
                let known = ROLE_OPS.iter().any(|(om, op, _, _)| *om == m && op.split('?').next() == Some(path.as_str()))
                    || LEAD_PATHS.iter().any(|(lm, lp)| *lm == m && lp == path);
                if !known {
                    missing.push(format!("{m} {path}"));
                }
            }
        }
        assert!(missing.is_empty(), "operations missing from the access matrix: {missing:?}");
        // The prediction of a lead follows the read rule: 404 for a rep who may not read it.
        let rep = t.user_key("rep@x.example", "sales").await;
        let c = t.post("/api/v1/contacts", json!({"email": "p@x.example"})).await;
        let r = t.send(Method::GET, &format!("/api/v1/contacts/{}/prediction", c.body["id"].as_str().unwrap()), Some(&rep), None).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);

        let keys = [ADMIN_KEY.to_string(), t.user_key("mkt@x.example", "marketing").await, rep];
        let nil = "0192f7a4-5c1e-7b3a-9d2e-4f6a8b0c1d2e";
        let mut wrong = Vec::new();
        for (method, path, body, allowed) in ROLE_OPS {
            let path = path.replace("{id}", nil).replace("{user_id}", nil).replace("{version}", "1").replace("{entity}", "contact").replace("{key}", "k");
            for (i, key) in keys.iter().enumerate() {
                let mut req = t.http.request(method.parse().unwrap(), format!("{}{path}", t.base)).bearer_auth(key);
                if let Some(b) = body {
                    let ctype = if path.starts_with("/api/v1/uploads") { "text/csv" } else { "application/json" };
                    req = req.header("content-type", ctype).body(b.to_string());
                }
                let status = req.send().await.unwrap().status();
                let refused = status == StatusCode::FORBIDDEN;
                if refused == allowed[i] {
                    wrong.push(format!("{method} {path} as {}: {status}", ["admin", "marketing", "sales"][i]));
                }
            }
        }
        assert!(wrong.is_empty(), "{wrong:#?}");
    }
}

/// The web UI's forms that are not about one lead: (path, fields, roles allowed: admin,
/// marketing, sales). A refusal is a 403 page; anything else (a redirect, a page with the
/// form's errors) means the role got through.
type UiRoleOp = (&'static str, &'static [(&'static str, &'static str)], [bool; 3]);
const UI_ROLE_OPS: &[UiRoleOp] = &[
    ("/admin/users", &[("email", "ui@x.example"), ("role", "sales")], [true, false, false]),
    ("/admin/users/{id}", &[("action", "disable")], [true, false, false]),
    ("/admin/handoff", &[("agreement", "{}")], [true, false, false]),
    ("/admin/reps/{id}", &[("profile", "{}")], [true, false, false]),
    ("/admin/routing", &[("route_0_name", "x")], [true, false, false]),
    ("/admin/visibility", &[("reps_see", "team")], [true, false, false]),
    (
        "/admin/webhooks",
        &[("url", "https://hooks.example.com/x"), ("event_types", "lead.assigned")],
        [true, false, false],
    ),
    ("/admin/webhooks/{id}/delete", &[], [true, false, false]),
    ("/admin/deliveries/{id}/redeliver", &[], [true, false, false]),
    ("/rules", &[("rules", "{}"), ("action", "preview")], [true, true, false]),
    ("/rules/weights", &[("action", "preview")], [true, true, false]),
    ("/rules/edit", &[("section", "fit"), ("action", "preview")], [true, true, false]),
    ("/model/train", &[], [true, true, false]),
    ("/model/deals/train", &[], [true, true, false]),
    ("/import/{id}", &[("action", "run"), ("entity", "contacts")], [true, true, false]),
    (
        "/pipeline/settings",
        &[
            ("key_0", "first_contact"),
            ("name_0", "First contact"),
            ("probability_0", "10"),
            ("lost_reasons", "other"),
            ("rotting_days", "14"),
            ("currency", "EUR"),
        ],
        [true, false, false],
    ),
    ("/forms", &[("title", "Contact us")], [true, true, false]),
    (
        "/forms/{id}",
        &[
            ("title", "Contact us"),
            ("slug", "contact-us"),
            ("field_0_name", "email"),
            ("field_0_type", "email"),
        ],
        [true, true, false],
    ),
    (
        "/fields",
        &[("entity", "contact"), ("key", "budget"), ("label", "Budget"), ("type", "number")],
        [true, true, false],
    ),
    ("/fields/{entity}/{key}/delete", &[], [true, true, false]),
    ("/deals/{id}/move", &[("to", "won")], [true, false, true]),
    ("/deals/{id}/edit", &[("name", "A deal")], [true, false, true]),
    ("/contacts/{id}/deals", &[("name", "A deal")], [true, false, true]),
    ("/contacts/{id}/erase", &[("confirm", "yes")], [true, true, false]),
    ("/contacts/{id}/object", &[], [true, true, false]),
    ("/contacts/new", &[("channel", "phone"), ("email", "ui-new@x.example")], [true, true, false]),
    ("/privacy/erase", &[("emails", "ui-erased@x.example")], [true, true, false]),
    ("/privacy/purge", &[], [true, true, false]),
    (
        "/nurture/settings",
        &[
            ("from_hour", "9"),
            ("to_hour", "18"),
            ("day", "1"),
            ("cap_max", "1"),
            ("cap_hours", "24"),
            ("time_zone", "UTC"),
        ],
        [true, true, false],
    ),
    ("/nurture/sequences", &[("name", "UI sequence")], [true, true, false]),
    ("/nurture/sequences/{id}", &[("name", "S"), ("kind_0", "end")], [true, true, false]),
    ("/nurture/templates", &[("name", "UI template")], [true, true, false]),
    (
        "/nurture/templates/{id}",
        &[("name", "T"), ("language", "en"), ("subject", "S"), ("html", "<p>x</p>")],
        [true, true, false],
    ),
    ("/nurture/templates/{id}/test", &[("to", "t@x.example")], [true, true, false]),
    ("/contacts/{id}/enrol", &[("sequence", "0192f7a4-5c1e-7b3a-9d2e-4f6a8b0c1d2e")], [true, true, false]),
];

/// UI routes covered elsewhere: the lead matrix, the work-list and bulk tests, one's own account.
const UI_LEAD_ROUTES: &[&str] = &[
    "/",
    "/login",
    "/logout",
    "/leads",
    "/leads.csv",
    "/leads/bulk",
    "/leads/views",
    "/leads/views/{id}/delete",
    "/queue",
    "/tasks",
    "/tasks/{id}/done",
    "/dashboard",
    // Deals read as the API reads them (the deal access tests).
    "/pipeline",
    "/deals/{id}",
    "/companies",
    "/companies/{id}",
    // Forms and fields read as the API reads them (every role); their POSTs are in the table above.
    "/forms",
    // Team figures, as the API's analytics (every role).
    "/reports",
    "/reports.csv",
    "/import",
    "/import/jobs/{id}/rejects.csv",
    // Read as `GET /api/v1/jobs/{id}`: analytics::a_running_import_is_followed_live_without_reloading_the_page.
    "/jobs/{id}/progress",
    "/admin/webhooks",
    "/model",
    "/account",
    "/account/password",
    "/account/language",
    "/account/time-zone",
    "/contacts/{id}",
    "/contacts/{id}/checklist",
    "/contacts/{id}/touch",
    // As `POST /api/v1/contacts/{id}/notes` in the lead matrix.
    "/contacts/{id}/notes",
    "/contacts/{id}/accept",
    "/contacts/{id}/reject",
    "/contacts/{id}/move",
    // As `PUT /api/v1/contacts/{id}/buying-role` in the lead matrix.
    "/contacts/{id}/buying-role",
    // Personal data pages, by role: privacy::the_personal_data_pages_work_for_the_roles_they_are_for.
    "/contacts/{id}/export.zip",
    "/privacy",
    "/privacy/audit",
    "/privacy/audit.csv",
    // Read as the nurture API reads (sales refused): nurture::the_nurture_pages_work_in_both_languages.
    "/nurture",
];

api_tests! {
    async fn every_ui_form_is_in_the_access_matrix_and_refused_to_the_roles_it_is_not_for(t) {
        // Every route the UI declares is in one table or the other.
        let source = include_str!("../../src/web/ui/mod.rs");
        let mut missing = Vec::new();
        for part in source.split(".route(\"").skip(1) {
            let route = part.split('"').next().unwrap();
            let known = UI_ROLE_OPS.iter().any(|(p, _, _)| *p == route.replace("{upload}", "{id}"))
                || UI_LEAD_ROUTES.contains(&route.replace("{upload}", "{id}").as_str())
                || route.starts_with("/admin/users") || route.starts_with("/admin/handoff") || route == "/rules";
            if !known {
                missing.push(route.to_string());
            }
        }
        assert!(missing.is_empty(), "UI routes missing from the access matrix: {missing:?}");
        let mut sessions = Vec::new();
        let me = t.get("/api/v1/me").await.body["id"].as_str().unwrap().to_string();
        t.send(Method::PUT, &format!("/api/v1/users/{me}/password"), Some(ADMIN_KEY), Some(json!({"password": "correct horse battery"}))).await;
        for (email, role) in [("admin@test.example", None), ("mkt@x.example", Some("marketing")), ("rep@x.example", Some("sales"))] {
            if let Some(role) = role {
                t.post("/api/v1/users", json!({"email": email, "role": role, "password": "correct horse battery"})).await;
            }
            let token = t.app.sign_in(email, "correct horse battery").await.unwrap();
            let csrf = t.app.web_session(&token).await.unwrap().csrf;
            sessions.push((token, csrf));
        }
        let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let nil = "0192f7a4-5c1e-7b3a-9d2e-4f6a8b0c1d2e";
        let mut wrong = Vec::new();
        for (path, fields, allowed) in UI_ROLE_OPS {
            let path = path.replace("{id}", nil);
            for (i, (token, csrf)) in sessions.iter().enumerate() {
                let mut form: Vec<(&str, &str)> = fields.to_vec();
                form.push(("_csrf", csrf));
                let status = browser.post(format!("{}{path}", t.base)).header("cookie", format!("lg_session={token}"))
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(serde_urlencoded::to_string(&form).unwrap()).send().await.unwrap().status();
                if (status == StatusCode::FORBIDDEN) == allowed[i] {
                    wrong.push(format!("POST {path} as {}: {status}", ["admin", "marketing", "sales"][i]));
                }
            }
        }
        assert!(wrong.is_empty(), "{wrong:#?}");
    }
}

api_tests! {
    async fn a_rep_sees_only_the_menus_it_may_use_and_can_call_or_mail_a_contact_in_one_click(t) {
        let me = t.get("/api/v1/me").await.body["id"].as_str().unwrap().to_string();
        t.send(Method::PUT, &format!("/api/v1/users/{me}/password"), Some(ADMIN_KEY), Some(json!({"password": "correct horse battery"}))).await;
        let c = t.post("/api/v1/contacts", json!({"email": "ada@acme.example", "phone": "+33 (0)6 12.34.56.78"})).await;
        let id = c.body["id"].as_str().unwrap().to_string();
        let mut navs = Vec::new();
        for (email, role) in [("admin@test.example", None), ("mkt@x.example", Some("marketing")), ("rep@x.example", Some("sales"))] {
            if let Some(role) = role {
                t.post("/api/v1/users", json!({"email": email, "role": role, "password": "correct horse battery"})).await;
            }
            let token = t.app.sign_in(email, "correct horse battery").await.unwrap();
            let page = |path: String| {
                let req = t.http.get(format!("{}{path}", t.base)).header("cookie", format!("lg_session={token}"));
                async move { req.send().await.unwrap().text().await.unwrap() }
            };
            if role.is_none() {
                let html = page(format!("/contacts/{id}")).await;
                assert!(html.contains("href=\"mailto:ada@acme.example\"") && html.contains("href=\"tel:+330612345678\""), "{html}");
            }
            navs.push(page("/leads".into()).await.split("<main").next().unwrap().to_string());
        }
        for (i, who) in ["admin", "marketing", "sales"].into_iter().enumerate() {
            let shows = |href: &str| navs[i].contains(&format!("href=\"{href}\""));
            assert_eq!(shows("/import"), i < 2, "{who}: import");
            assert_eq!(shows("/rules"), i < 2, "{who}: rules");
            assert_eq!(shows("/model"), i < 2, "{who}: model");
            assert_eq!(shows("/privacy"), i < 2, "{who}: personal data");
            assert_eq!(shows("/admin/users"), i == 0, "{who}: administration");
            assert!(shows("/leads") && shows("/pipeline") && shows("/queue") && shows("/tasks"), "{who}: the daily pages");
        }
    }
}
