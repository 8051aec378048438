//! The HTTP API, tested through a real server on an ephemeral port, on both databases. Each test
//! gets a fresh database and a `TestApp` with an admin key and typed helpers.

use std::sync::Arc;

use leadgate_app::{App, SystemClock};
use leadgate_server::AppState;
use leadgate_store::testing::{Backend, TestDb};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

const ADMIN_KEY: &str = "lg_test_admin_key_0123456789abcdef0123456789";

struct TestApp {
    base: String,
    http: reqwest::Client,
    app: App,
    db: Option<TestDb>,
    stop: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

/// A response reduced to what tests look at.
struct Reply {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

impl Reply {
    fn field_errors(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|a| a.iter().map(|e| e["field"].as_str().unwrap_or_default().to_string()).collect())
            .unwrap_or_default()
    }

    fn is_problem(&self) -> bool {
        self.headers.get("content-type").and_then(|v| v.to_str().ok()) == Some("application/problem+json")
            && self.body["status"].as_u64() == Some(u64::from(self.status.as_u16()))
            && self.body["detail"].as_str().is_some_and(|d| !d.is_empty())
    }
}

async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, Arc::new(SystemClock)).await
}

async fn spawn_app_with(backend: Backend, clock: Arc<dyn leadgate_app::Clock>) -> TestApp {
    spawn_app_configured(backend, clock, |app| app).await
}

async fn spawn_app_configured(
    backend: Backend,
    clock: Arc<dyn leadgate_app::Clock>,
    configure: impl FnOnce(App) -> App,
) -> TestApp {
    let db = TestDb::new(backend).await;
    let app = configure(App::new(db.store.clone(), clock));
    app.bootstrap_admin("admin@test.example", Some(ADMIN_KEY)).await.expect("bootstrap admin");
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = oneshot::channel::<()>();
    // The tests call the API at machine speed, far past a key's quota; the quotas have their
    // own tests (`trust::api_keys_have_a_quota…`).
    let state = AppState::new(app.clone()).with_web(leadgate_server::WebConfig {
        rate_limits: leadgate_server::ratelimit::RateLimits { api_key: None, ..Default::default() },
        ..Default::default()
    });
    let server = tokio::spawn(leadgate_server::serve(listener, state, async {
        let _ = stopped.await;
    }));
    TestApp { base, http: reqwest::Client::new(), app, db: Some(db), stop: Some(stop), server: Some(server) }
}

impl TestApp {
    async fn send(&self, method: Method, path: &str, key: Option<&str>, body: Option<Value>) -> Reply {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(k) = key {
            req = req.bearer_auth(k);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        into_reply(req.send().await.expect("request sent")).await
    }

    async fn get(&self, path: &str) -> Reply {
        self.send(Method::GET, path, Some(ADMIN_KEY), None).await
    }

    async fn post(&self, path: &str, body: Value) -> Reply {
        self.send(Method::POST, path, Some(ADMIN_KEY), Some(body)).await
    }

    async fn patch(&self, path: &str, body: Value) -> Reply {
        self.send(Method::PATCH, path, Some(ADMIN_KEY), Some(body)).await
    }

    async fn delete(&self, path: &str) -> Reply {
        self.send(Method::DELETE, path, Some(ADMIN_KEY), None).await
    }

    async fn raw(&self, method: Method, path: &str, content_type: &str, body: Vec<u8>) -> Reply {
        let req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(ADMIN_KEY)
            .header("content-type", content_type)
            .body(body);
        into_reply(req.send().await.unwrap()).await
    }

    async fn post_with_key(&self, path: &str, idempotency_key: &str, body: Value) -> Reply {
        let req = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(ADMIN_KEY)
            .header("idempotency-key", idempotency_key)
            .json(&body);
        into_reply(req.send().await.unwrap()).await
    }

    /// A new user with `role` and an API key of theirs.
    async fn user_key(&self, email: &str, role: &str) -> String {
        let user = self.post("/api/v1/users", json!({"email": email, "role": role})).await;
        assert_eq!(user.status, StatusCode::CREATED, "{}", user.body);
        let key = self.post("/api/v1/api-keys", json!({"name": "test", "user_id": user.body["id"]})).await;
        assert_eq!(key.status, StatusCode::CREATED, "{}", key.body);
        key.body["key"].as_str().unwrap().to_string()
    }

    async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(h) = self.server.take() {
            h.await.unwrap().unwrap();
        }
        if let Some(db) = self.db.take() {
            db.cleanup().await;
        }
    }
}

async fn into_reply(resp: reqwest::Response) -> Reply {
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = resp.bytes().await.unwrap();
    let body =
        if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).unwrap_or(Value::Null) };
    Reply { status, headers, body }
}

/// Runs each test on SQLite and on PostgreSQL, as `<name>::sqlite` and `<name>::postgres`.
macro_rules! api_tests {
    ($(async fn $name:ident($t:ident) $body:block)*) => {$(
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[tokio::test]
            async fn sqlite() {
                let $t = spawn_app(Backend::Sqlite).await;
                $body;
                $t.stop().await;
            }
            #[tokio::test]
            async fn postgres() {
                let $t = spawn_app(Backend::Postgres).await;
                $body;
                $t.stop().await;
            }
        }
    )*};
}

api_tests! {
    async fn health_and_openapi_are_served(t) {
        let health = t.send(Method::GET, "/healthz", None, None).await;
        assert_eq!(health.status, StatusCode::OK);
        let doc = t.send(Method::GET, "/api/openapi.json", None, None).await;
        assert_eq!(doc.status, StatusCode::OK);
        assert_eq!(doc.body["openapi"], "3.1.0");
        for path in ["/api/v1/contacts", "/api/v1/contacts/{id}", "/api/v1/contacts/{id}/timeline", "/api/v1/companies",
                     "/api/v1/events", "/api/v1/events/batch", "/api/v1/custom-fields", "/api/v1/api-keys", "/api/v1/users"] {
            assert!(doc.body["paths"][path].is_object(), "{path} is described");
        }
        // Shared problems are referenced from every operation.
        assert_eq!(doc.body["paths"]["/api/v1/contacts"]["post"]["responses"]["422"]["$ref"], "#/components/responses/Problem422");
        assert!(doc.body["components"]["securitySchemes"]["api_key"].is_object());
    }

    async fn requests_without_a_valid_key_get_401_and_no_data(t) {
        t.post("/api/v1/contacts", json!({"email": "secret@x.example"})).await;
        for key in [None, Some("nope"), Some("lg_0000000000000000000000000000000000000000000000000"), Some(&ADMIN_KEY[..20])] {
            let r = t.send(Method::GET, "/api/v1/contacts", key, None).await;
            assert_eq!(r.status, StatusCode::UNAUTHORIZED, "key {key:?}");
            assert!(r.is_problem());
            assert!(!r.body.to_string().contains("secret@x.example"));
            assert!(r.headers.contains_key("www-authenticate"));
        }
        let r = t.http.get(format!("{}/api/v1/contacts", t.base)).header("authorization", "Basic abc").send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }

    async fn roles_are_enforced_on_every_endpoint(t) {
        let sales = t.user_key("rep@x.example", "sales").await;
        let marketing = t.user_key("mkt@x.example", "marketing").await;
        let c = t.post("/api/v1/contacts", json!({"email": "lead@x.example"})).await;
        let id = c.body["id"].as_str().unwrap().to_string();
        // Sales reads and edits only the leads it may (see the access matrix test): a contact
        // never handed to sales is not its business; it does not delete or declare fields.
        assert_eq!(t.send(Method::GET, &format!("/api/v1/contacts/{id}"), Some(&sales), None).await.status, StatusCode::NOT_FOUND);
        assert_eq!(t.send(Method::PATCH, &format!("/api/v1/contacts/{id}"), Some(&sales), Some(json!({"job_title": "CFO"}))).await.status, StatusCode::NOT_FOUND);
        assert_eq!(t.send(Method::PATCH, &format!("/api/v1/contacts/{id}"), Some(&marketing), Some(json!({"job_title": "CFO"}))).await.status, StatusCode::OK);
        let denied = t.send(Method::DELETE, &format!("/api/v1/contacts/{id}"), Some(&sales), None).await;
        assert_eq!(denied.status, StatusCode::FORBIDDEN);
        assert!(denied.is_problem());
        assert!(denied.body["detail"].as_str().unwrap().contains("sales"));
        let field = json!({"entity": "contact", "key": "budget", "label": "Budget", "type": "number"});
        assert_eq!(t.send(Method::POST, "/api/v1/custom-fields", Some(&sales), Some(field.clone())).await.status, StatusCode::FORBIDDEN);
        assert_eq!(t.send(Method::POST, "/api/v1/custom-fields", Some(&marketing), Some(field)).await.status, StatusCode::CREATED);
        // Only admins manage users.
        assert_eq!(t.send(Method::GET, "/api/v1/users", Some(&marketing), None).await.status, StatusCode::FORBIDDEN);
        assert_eq!(t.send(Method::POST, "/api/v1/users", Some(&marketing), Some(json!({"email": "z@x.example", "role": "admin"}))).await.status, StatusCode::FORBIDDEN);
        // Everyone sees themselves.
        let me = t.send(Method::GET, "/api/v1/me", Some(&sales), None).await;
        assert_eq!(me.body["role"], "sales");
    }

    async fn contacts_crud(t) {
        let created = t.post("/api/v1/contacts", json!({
            "email": "Ada@Example.com", "first_name": "Ada", "last_name": "Lovelace",
            "job_title": "Head of Engineering", "country": "France", "source": "trade fair", "campaign": "Salon 2026"
        })).await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        let id = created.body["id"].as_str().unwrap().to_string();
        assert_eq!(created.headers["location"], format!("/api/v1/contacts/{id}").as_str());
        assert_eq!(created.body["lifecycle_stage"], "lead");

        let read = t.get(&format!("/api/v1/contacts/{id}")).await;
        assert_eq!(read.status, StatusCode::OK);
        assert_eq!(read.body, created.body, "what was answered at creation is what is stored");

        let patched = t.patch(&format!("/api/v1/contacts/{id}"), json!({"job_title": null, "phone": "+33 1 23 45 67 89"})).await;
        assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
        assert_eq!(patched.body["job_title"], Value::Null);
        assert_eq!(patched.body["phone"], "+33 1 23 45 67 89");
        assert_eq!(patched.body["first_name"], "Ada", "absent fields are kept");

        assert_eq!(t.delete(&format!("/api/v1/contacts/{id}")).await.status, StatusCode::NO_CONTENT);
        let gone = t.get(&format!("/api/v1/contacts/{id}")).await;
        assert_eq!(gone.status, StatusCode::NOT_FOUND);
        assert!(gone.is_problem());
        assert_eq!(t.delete(&format!("/api/v1/contacts/{id}")).await.status, StatusCode::NOT_FOUND);
    }

    async fn every_client_mistake_is_a_4xx_problem(t) {
        t.post("/api/v1/contacts", json!({"email": "taken@x.example"})).await;
        let cases: Vec<(Reply, StatusCode, Option<&str>)> = vec![
            (t.post("/api/v1/contacts", json!({"email": "TAKEN@x.example"})).await, StatusCode::CONFLICT, Some("email")),
            (t.post("/api/v1/contacts", json!({"email": "not an email"})).await, StatusCode::UNPROCESSABLE_ENTITY, Some("email")),
            (t.post("/api/v1/contacts", json!({"email": "a@x.example", "colour": "red"})).await, StatusCode::UNPROCESSABLE_ENTITY, Some("colour")),
            (t.post("/api/v1/contacts", json!({"email": 42})).await, StatusCode::UNPROCESSABLE_ENTITY, Some("email")),
            (t.post("/api/v1/contacts", json!({"do_not_email": "yes", "email": "b@x.example"})).await, StatusCode::UNPROCESSABLE_ENTITY, Some("do_not_email")),
            (t.post("/api/v1/contacts", json!({})).await, StatusCode::UNPROCESSABLE_ENTITY, Some("email")),
            (t.post("/api/v1/contacts", json!([1, 2])).await, StatusCode::UNPROCESSABLE_ENTITY, Some("body")),
            (t.post("/api/v1/companies", json!({"domain": "x.example"})).await, StatusCode::UNPROCESSABLE_ENTITY, Some("body")),
            (t.post("/api/v1/contacts", json!({"email": "c@x.example", "company_id": "0192f7a4-5c1e-7b3a-9d2e-4f6a8b0c1d2e"})).await, StatusCode::UNPROCESSABLE_ENTITY, Some("company_id")),
            (t.post("/api/v1/contacts", json!({"email": "d@x.example", "custom": {"nope": 1}})).await, StatusCode::UNPROCESSABLE_ENTITY, Some("custom.nope")),
            (t.raw(Method::POST, "/api/v1/contacts", "application/json", b"{\"email\": ".to_vec()).await, StatusCode::BAD_REQUEST, None),
            (t.raw(Method::POST, "/api/v1/contacts", "application/json", b"{\"email\": \"a@b.co\"} trailing".to_vec()).await, StatusCode::BAD_REQUEST, None),
            (t.raw(Method::POST, "/api/v1/contacts", "text/plain", b"{}".to_vec()).await, StatusCode::UNSUPPORTED_MEDIA_TYPE, None),
            (t.raw(Method::POST, "/api/v1/contacts", "application/json", vec![b' '; 9 * 1024 * 1024]).await, StatusCode::PAYLOAD_TOO_LARGE, None),
            (t.get("/api/v1/contacts/not-a-uuid").await, StatusCode::UNPROCESSABLE_ENTITY, Some("id")),
            (t.get("/api/v1/contacts/0192f7a4-5c1e-7b3a-9d2e-4f6a8b0c1d2e").await, StatusCode::NOT_FOUND, None),
            (t.get("/api/v1/contacts?cursor=zzzz").await, StatusCode::UNPROCESSABLE_ENTITY, Some("cursor")),
            (t.get("/api/v1/contacts?limit=0").await, StatusCode::UNPROCESSABLE_ENTITY, Some("limit")),
            (t.get("/api/v1/contacts?limit=abc").await, StatusCode::UNPROCESSABLE_ENTITY, Some("query")),
            (t.get("/api/v1/contacts?stage=mql").await, StatusCode::UNPROCESSABLE_ENTITY, Some("query")),
            (t.get("/api/v1/contacts?created_after=yesterday").await, StatusCode::UNPROCESSABLE_ENTITY, Some("query")),
            (t.get("/api/v1/nowhere").await, StatusCode::NOT_FOUND, None),
            (t.send(Method::PUT, "/api/v1/contacts", Some(ADMIN_KEY), Some(json!({}))).await, StatusCode::METHOD_NOT_ALLOWED, None),
            (t.post("/api/v1/events", json!({"kind": "page_view"})).await, StatusCode::UNPROCESSABLE_ENTITY, Some("contact_id")),
            (t.post("/api/v1/events", json!({"kind": "page_view", "contact_id": "0192f7a4-5c1e-7b3a-9d2e-4f6a8b0c1d2e"})).await, StatusCode::UNPROCESSABLE_ENTITY, Some("contact_id")),
            (t.post("/api/v1/events", json!({"kind": "page_view", "email": "e@x.example", "occurred_at": "2999-01-01T00:00:00Z"})).await, StatusCode::UNPROCESSABLE_ENTITY, Some("occurred_at")),
            (t.post("/api/v1/events", json!({"kind": "page_view", "email": "e@x.example", "occurred_at": "last tuesday"})).await, StatusCode::UNPROCESSABLE_ENTITY, Some("occurred_at")),
            (t.post("/api/v1/events/batch", json!({"events": []})).await, StatusCode::UNPROCESSABLE_ENTITY, Some("events")),
            (t.post_with_key("/api/v1/contacts", "", json!({"email": "f@x.example"})).await, StatusCode::UNPROCESSABLE_ENTITY, Some("Idempotency-Key")),
            // NUL and control characters: PostgreSQL refuses NUL, SQLite would store it; both refuse.
            (t.post("/api/v1/contacts", json!({"email": "g@x.example", "last_name": "a\u{0}b"})).await, StatusCode::UNPROCESSABLE_ENTITY, Some("last_name")),
            (t.post("/api/v1/custom-fields", json!({"entity": "contact", "key": "k", "label": "\u{0}", "type": "text"})).await, StatusCode::UNPROCESSABLE_ENTITY, Some("label")),
            (t.post("/api/v1/custom-fields", json!({"entity": "contact", "key": "k", "label": "K", "type": "text", "extra": 1})).await, StatusCode::UNPROCESSABLE_ENTITY, Some("extra")),
            (t.post("/api/v1/users", json!({"email": "h@x.example", "name": "x\u{0}", "role": "sales"})).await, StatusCode::UNPROCESSABLE_ENTITY, Some("name")),
            (t.get("/api/v1/contacts?q=%00").await, StatusCode::UNPROCESSABLE_ENTITY, Some("query")),
            (t.delete("/api/v1/custom-fields/contact/a%00b").await, StatusCode::NOT_FOUND, None),
        ];
        for (i, (reply, status, field)) in cases.iter().enumerate() {
            assert_eq!(reply.status, *status, "case {i}: {}", reply.body);
            assert!(reply.is_problem(), "case {i} is a problem document: {} {:?}", reply.body, reply.headers);
            if let Some(f) = field {
                assert!(reply.field_errors().iter().any(|e| e == f), "case {i} names `{f}`: {}", reply.body);
            }
        }
    }

    async fn hostile_and_unicode_text_is_stored_verbatim(t) {
        let names = ["Robert'); DROP TABLE contacts;--", "Zoë Ünïcödé 数学 🚀", "<script>alert(1)</script>", "%_\\"];
        for (i, name) in names.iter().enumerate() {
            let r = t.post("/api/v1/contacts", json!({"email": format!("u{i}@x.example"), "last_name": name})).await;
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
            assert_eq!(r.body["last_name"], *name);
        }
        let all = t.get("/api/v1/contacts?limit=10").await;
        assert_eq!(all.body["items"].as_array().unwrap().len(), 4);
        let search = t.get("/api/v1/contacts?q=%25_%5C").await;
        assert_eq!(search.body["items"].as_array().unwrap().len(), 1, "LIKE wildcards are literal: {}", search.body);
        let search = t.get("/api/v1/contacts?q=z%C3%8B").await;
        assert_eq!(search.status, StatusCode::OK);
    }

    async fn contacts_are_listed_with_filters_and_cursor(t) {
        let acme = t.post("/api/v1/companies", json!({"name": "Acme", "domain": "acme.example", "sector": "Technology", "employees": 120})).await;
        assert_eq!(acme.status, StatusCode::CREATED, "{}", acme.body);
        let acme_id = acme.body["id"].as_str().unwrap().to_string();
        for i in 0..7 {
            let r = t.post("/api/v1/contacts", json!({
                "email": format!("p{i}@acme.example"),
                "first_name": format!("Person{i}"),
                "source": if i % 2 == 0 { "Google" } else { "Referral" },
                "company_id": if i < 3 { Value::String(acme_id.clone()) } else { Value::Null },
            })).await;
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        }
        let mut seen = Vec::new();
        let mut url = "/api/v1/contacts?limit=3".to_string();
        loop {
            let page = t.get(&url).await;
            assert_eq!(page.status, StatusCode::OK);
            seen.extend(page.body["items"].as_array().unwrap().iter().map(|c| c["email"].as_str().unwrap().to_string()));
            match page.body["next_cursor"].as_str() {
                Some(c) => url = format!("/api/v1/contacts?limit=3&cursor={c}"),
                None => break,
            }
        }
        assert_eq!(seen, (0..7).map(|i| format!("p{i}@acme.example")).collect::<Vec<_>>());
        let google = t.get("/api/v1/contacts?source=Google").await;
        assert_eq!(google.body["items"].as_array().unwrap().len(), 4);
        let at_acme = t.get(&format!("/api/v1/contacts?company_id={acme_id}&source=Google")).await;
        assert_eq!(at_acme.body["items"].as_array().unwrap().len(), 2);
        let by_email = t.get("/api/v1/contacts?email=P3@ACME.example").await;
        assert_eq!(by_email.body["items"][0]["first_name"], "Person3");
        let leads = t.get("/api/v1/contacts?lifecycle_stage=lead&q=person").await;
        assert_eq!(leads.body["items"].as_array().unwrap().len(), 7);
        let none = t.get("/api/v1/contacts?created_before=2000-01-01T00:00:00Z").await;
        assert_eq!(none.body["items"].as_array().unwrap().len(), 0);
        let companies = t.get("/api/v1/companies?sector=technology").await;
        assert_eq!(companies.body["items"][0]["domain"], "acme.example");
    }

    async fn custom_fields_are_typed(t) {
        let decl = t.post("/api/v1/custom-fields", json!({"entity": "contact", "key": "plan", "label": "Plan", "type": "choice", "choices": ["basic", "pro"]})).await;
        assert_eq!(decl.status, StatusCode::CREATED, "{}", decl.body);
        let dup = t.post("/api/v1/custom-fields", json!({"entity": "contact", "key": "plan", "label": "Plan", "type": "text"})).await;
        assert_eq!(dup.status, StatusCode::CONFLICT);
        let bad_decl = t.post("/api/v1/custom-fields", json!({"entity": "contact", "key": "Bad Key", "label": "", "type": "number"})).await;
        assert_eq!(bad_decl.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(bad_decl.field_errors(), vec!["key".to_string(), "label".to_string()]);
        t.post("/api/v1/custom-fields", json!({"entity": "contact", "key": "renewal", "label": "Renewal", "type": "date"})).await;

        let ok = t.post("/api/v1/contacts", json!({"email": "c@x.example", "custom": {"plan": "pro", "renewal": "2027-03-31"}})).await;
        assert_eq!(ok.status, StatusCode::CREATED, "{}", ok.body);
        let bad = t.post("/api/v1/contacts", json!({"email": "not valid", "custom": {"plan": "gold", "renewal": 3}})).await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        let mut fields = bad.field_errors();
        fields.sort();
        assert_eq!(fields, vec!["custom.plan", "custom.renewal", "email"], "core and custom problems together");
        let id = ok.body["id"].as_str().unwrap();
        let cleared = t.patch(&format!("/api/v1/contacts/{id}"), json!({"custom": {"plan": null}})).await;
        assert_eq!(cleared.body["custom"], json!({"renewal": "2027-03-31"}));
        let list = t.get("/api/v1/custom-fields?entity=contact").await;
        assert_eq!(list.body.as_array().unwrap().len(), 2);
        assert_eq!(t.delete("/api/v1/custom-fields/contact/plan").await.status, StatusCode::NO_CONTENT);
        assert_eq!(t.delete("/api/v1/custom-fields/contact/plan").await.status, StatusCode::NOT_FOUND);
        assert_eq!(t.delete("/api/v1/custom-fields/widget/plan").await.status, StatusCode::UNPROCESSABLE_ENTITY);
    }

    async fn events_are_recorded_once_and_shown_newest_first(t) {
        let single = t.post("/api/v1/events", json!({"email": "New@Lead.example", "kind": "white_paper_downloaded", "source": "LinkedIn", "campaign": "Q4", "occurred_at": "2026-01-02T10:00:00Z"})).await;
        assert_eq!(single.status, StatusCode::CREATED, "{}", single.body);
        let contact = single.body["contact_id"].as_str().unwrap().to_string();
        let lead = t.get(&format!("/api/v1/contacts/{contact}")).await;
        assert_eq!(lead.body["email"], "New@Lead.example");
        assert_eq!(lead.body["source"], "LinkedIn", "an unknown e-mail becomes a lead with the event's source");

        let batch: Vec<Value> = (0..50).map(|i| json!({
            "id": format!("0192f7a4-5c1e-7b3a-9d2e-{i:012x}"),
            "contact_id": contact,
            "kind": if i == 49 { "quote_request" } else { "page_view" },
            "occurred_at": format!("2026-01-03T10:{:02}:00Z", i),
            "source": "Google",
            "properties": {"url": format!("/page/{i}")}
        })).collect();
        let first = t.post("/api/v1/events/batch", json!({"events": batch})).await;
        assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
        assert_eq!(first.body["recorded"], 50);
        let retry = t.post("/api/v1/events/batch", json!({"events": batch})).await;
        assert_eq!(retry.status, StatusCode::CREATED);
        assert_eq!(retry.body["recorded"], 0);
        assert_eq!(retry.body["duplicates"], 50);

        let mut changed = batch[0].clone();
        changed["kind"] = json!("demo_request");
        let clash = t.post("/api/v1/events", changed).await;
        assert_eq!(clash.status, StatusCode::CONFLICT, "{}", clash.body);

        let lead = t.get(&format!("/api/v1/contacts/{contact}")).await;
        assert_eq!(lead.body["last_touch_source"], "Google");

        let page = t.get(&format!("/api/v1/contacts/{contact}/timeline?limit=20")).await;
        let items = page.body["items"].as_array().unwrap();
        assert_eq!(items.len(), 20);
        assert_eq!(items[0]["kind"], "quote_request", "newest first");
        assert_eq!(items[0]["properties"]["url"], "/page/49");
        let cursor = page.body["next_cursor"].as_str().unwrap();
        let rest = t.get(&format!("/api/v1/contacts/{contact}/timeline?limit=100&cursor={cursor}")).await;
        assert_eq!(rest.body["items"].as_array().unwrap().len(), 31);
        assert_eq!(rest.body["items"][30]["kind"], "white_paper_downloaded");
        assert!(rest.body.get("next_cursor").is_none());
        assert_eq!(t.get("/api/v1/contacts/0192f7a4-5c1e-7b3a-9d2e-4f6a8b0c1d2e/timeline").await.status, StatusCode::NOT_FOUND);
    }

    async fn a_bad_event_rejects_the_whole_batch_with_its_index(t) {
        let events = json!({"events": [
            {"email": "ok@x.example", "kind": "page_view"},
            {"email": "broken", "kind": "page_view"},
            {"email": "ok2@x.example", "kind": "page_view", "properties": {"blob": "x".repeat(20_000)}},
        ]});
        let r = t.post("/api/v1/events/batch", events).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(r.field_errors(), vec!["events[1].email", "events[2].properties"]);
        let none = t.get("/api/v1/contacts").await;
        assert_eq!(none.body["items"].as_array().unwrap().len(), 0, "nothing was recorded");
        let too_many: Vec<Value> = (0..1001).map(|_| json!({"email": "a@x.example", "kind": "page_view"})).collect();
        let r = t.post("/api/v1/events/batch", json!({"events": too_many})).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.body["detail"].as_str().unwrap().contains("at most 1000"));
        let dup_ids = json!({"events": [
            {"id": "0192f7a4-5c1e-7b3a-9d2e-000000000001", "email": "a@x.example", "kind": "page_view"},
            {"id": "0192f7a4-5c1e-7b3a-9d2e-000000000001", "email": "a@x.example", "kind": "quote_request"},
        ]});
        let r = t.post("/api/v1/events/batch", dup_ids).await;
        assert_eq!(r.field_errors(), vec!["events[1].id"]);
    }

    async fn idempotency_keys_replay_the_first_answer(t) {
        let body = json!({"events": [{"email": "idem@x.example", "kind": "demo_request"}]});
        let first = t.post_with_key("/api/v1/events/batch", "retry-1", body.clone()).await;
        assert_eq!(first.status, StatusCode::CREATED);
        assert!(!first.headers.contains_key("idempotent-replayed"));
        let again = t.post_with_key("/api/v1/events/batch", "retry-1", body.clone()).await;
        assert_eq!(again.status, StatusCode::CREATED);
        assert_eq!(again.headers["idempotent-replayed"], "true");
        assert_eq!(again.body, first.body, "the same answer, same event ids");
        let contact = first.body["events"][0]["contact_id"].as_str().unwrap();
        let timeline = t.get(&format!("/api/v1/contacts/{contact}/timeline")).await;
        assert_eq!(timeline.body["items"].as_array().unwrap().len(), 1, "recorded once");
        let other = t.post_with_key("/api/v1/events/batch", "retry-1", json!({"events": [{"email": "idem@x.example", "kind": "quote_request"}]})).await;
        assert_eq!(other.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(other.field_errors(), vec!["Idempotency-Key"]);
        let c1 = t.post_with_key("/api/v1/contacts", "create-1", json!({"email": "once@x.example"})).await;
        let c2 = t.post_with_key("/api/v1/contacts", "create-1", json!({"email": "once@x.example"})).await;
        assert_eq!(c1.status, StatusCode::CREATED);
        assert_eq!(c2.status, StatusCode::CREATED, "a replay, not a duplicate-email conflict");
        assert_eq!(c1.body["id"], c2.body["id"]);
    }

    async fn api_keys_are_listed_by_prefix_and_revocable(t) {
        let created = t.post("/api/v1/api-keys", json!({"name": "crm-sync"})).await;
        assert_eq!(created.status, StatusCode::CREATED);
        let key = created.body["key"].as_str().unwrap().to_string();
        assert!(key.starts_with("lg_"));
        let id = created.body["api_key"]["id"].as_str().unwrap().to_string();
        assert_eq!(t.send(Method::GET, "/api/v1/me", Some(&key), None).await.status, StatusCode::OK);
        let list = t.get("/api/v1/api-keys").await;
        let text = list.body.to_string();
        assert!(text.contains(&key[..12]), "prefix shown");
        assert!(!text.contains(&key[12..]), "secret never listed");
        let revoked = t.delete(&format!("/api/v1/api-keys/{id}")).await;
        assert_eq!(revoked.status, StatusCode::OK);
        assert!(revoked.body["revoked_at"].is_string());
        let after = t.send(Method::GET, "/api/v1/me", Some(&key), None).await;
        assert_eq!(after.status, StatusCode::UNAUTHORIZED);
        assert!(after.body["detail"].as_str().unwrap().contains("revoked"));
        // A sales rep cannot revoke the admin's key (and is not told it exists).
        let sales = t.user_key("rep@x.example", "sales").await;
        let keys = t.get("/api/v1/api-keys").await;
        let admin_key_id = keys.body.as_array().unwrap().iter().find(|k| k["name"] == "bootstrap").unwrap()["id"].as_str().unwrap().to_string();
        let r = t.send(Method::DELETE, &format!("/api/v1/api-keys/{admin_key_id}"), Some(&sales), None).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        let own = t.send(Method::GET, "/api/v1/api-keys", Some(&sales), None).await;
        assert_eq!(own.body.as_array().unwrap().len(), 1, "a rep lists only their keys");
    }

    async fn metrics_count_requests_and_report_the_database(t) {
        t.get("/api/v1/contacts").await;
        t.get("/api/v1/contacts/not-an-id").await;
        let r = t.http.get(format!("{}/metrics", t.base)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let text = r.text().await.unwrap();
        assert!(text.contains("leadgate_http_requests_total{method=\"GET\",route=\"/api/v1/contacts\",status=\"200\"} 1"), "{text}");
        assert!(text.contains("route=\"/api/v1/contacts/{id}\",status=\"422\"} 1"), "{text}");
        assert!(text.contains("leadgate_http_request_duration_seconds_bucket"));
        assert!(text.contains("leadgate_db_up 1"));
        assert!(text.contains("leadgate_jobs{state=\"queued\"} 0"));
    }

    async fn request_ids_are_echoed(t) {
        let r = t.http.get(format!("{}/api/v1/contacts", t.base)).header("x-request-id", "abc-123").send().await.unwrap();
        assert_eq!(r.headers()["x-request-id"], "abc-123");
        let problem: Value = r.json().await.unwrap();
        assert_eq!(problem["request_id"], "abc-123");
        let r = t.get("/healthz").await;
        assert!(r.headers["x-request-id"].len() >= 16, "made up when absent");
    }

    async fn companies_crud(t) {
        let c = t.post("/api/v1/companies", json!({"name": "Betasoloin", "domain": "https://www.betasoloin.example/", "employees": 495, "annual_revenue": 251.41e6, "country": "United States", "sector": "medical"})).await;
        assert_eq!(c.status, StatusCode::CREATED, "{}", c.body);
        assert_eq!(c.body["domain"], "betasoloin.example");
        let id = c.body["id"].as_str().unwrap().to_string();
        let p = t.patch(&format!("/api/v1/companies/{id}"), json!({"employees": 500, "sector": null})).await;
        assert_eq!(p.body["employees"], 500);
        assert_eq!(p.body["sector"], Value::Null);
        let bad = t.patch(&format!("/api/v1/companies/{id}"), json!({"employees": -1, "name": ""})).await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        let contact = t.post("/api/v1/contacts", json!({"email": "x@betasoloin.example", "company_id": id})).await;
        assert_eq!(contact.status, StatusCode::CREATED);
        assert_eq!(t.delete(&format!("/api/v1/companies/{id}")).await.status, StatusCode::NO_CONTENT);
        let orphan = t.get(&format!("/api/v1/contacts/{}", contact.body["id"].as_str().unwrap())).await;
        assert_eq!(orphan.body["company_id"], Value::Null);
    }
}

#[tokio::test]
async fn bootstrap_key_is_ignored_once_an_admin_exists() {
    let t = spawn_app(Backend::Sqlite).await;
    let again = t
        .app
        .bootstrap_admin("other@test.example", Some("lg_another_bootstrap_key_0123456789abcdef"))
        .await
        .unwrap();
    assert!(again.is_none());
    let r = t.send(Method::GET, "/api/v1/me", Some("lg_another_bootstrap_key_0123456789abcdef"), None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    t.stop().await;
}

fn hundredths(v: &Value) -> i64 {
    (v.as_f64().expect("a number") * 100.0).round() as i64
}

/// A CTO at a 250-person software company in France: fit grade A under the default rules.
async fn ideal_contact(t: &TestApp, email: &str) -> String {
    let co = t.post("/api/v1/companies", json!({"name": "Acme", "sector": "Software", "employees": 250, "annual_revenue": 12e6, "country": "France"})).await;
    assert_eq!(co.status, StatusCode::CREATED, "{}", co.body);
    let c = t
        .post(
            "/api/v1/contacts",
            json!({"email": email, "job_title": "CTO", "country": "France", "company_id": co.body["id"]}),
        )
        .await;
    assert_eq!(c.status, StatusCode::CREATED, "{}", c.body);
    c.body["id"].as_str().unwrap().to_string()
}

api_tests! {
    async fn an_event_rescores_its_contact_in_the_same_request(t) {
        let id = ideal_contact(&t, "cto@acme.example").await;
        let before = t.get(&format!("/api/v1/contacts/{id}")).await;
        assert_eq!(before.body["score"]["fit_grade"], "A");
        assert_eq!(before.body["lifecycle_stage"], "lead", "fit alone is not enough: engagement is 0");
        let e = t.post("/api/v1/events", json!({"contact_id": id, "kind": "quote_request"})).await;
        assert_eq!(e.status, StatusCode::CREATED);
        let after = t.get(&format!("/api/v1/contacts/{id}")).await;
        assert_eq!(after.body["score"]["temperature"], "hot");
        assert_eq!(after.body["score"]["engagement"], 50.0);
        assert_eq!(after.body["lifecycle_stage"], "mql", "the next read sees the transition");
        let life = t.get(&format!("/api/v1/contacts/{id}/lifecycle")).await;
        let last = &life.body["history"].as_array().unwrap().last().unwrap().clone();
        assert_eq!((last["from"].as_str(), last["to"].as_str()), (Some("lead"), Some("mql")));
        assert_eq!(last["actor"]["kind"], "rule");
        assert_eq!(last["actor"]["rule"], "mql-threshold");
        assert!(last["actor"]["rules_version"].is_i64());
        assert!(last["reason"].as_str().unwrap().contains("fit grade A"));
    }

    async fn the_explanation_adds_up_exactly(t) {
        let id = ideal_contact(&t, "sum@acme.example").await;
        let kinds = ["page_view", "email_opened", "white_paper_downloaded", "webinar_attended"];
        let events: Vec<Value> = (0..40).map(|i| json!({
            "contact_id": id,
            "kind": kinds[i % 4],
            "occurred_at": format!("2026-{:02}-{:02}T10:00:00Z", 1 + (i % 9), 1 + i % 27),
            "properties": {"url": if i % 3 == 0 { "/pricing" } else { "/blog" }}
        })).chain((0..8).map(|i| json!({
            // Eight views in an hour: the page-view rule's daily cap (5 points) cuts in.
            "contact_id": id, "kind": "page_view", "occurred_at": format!("2026-10-10T10:0{i}:00Z"),
            "properties": {"url": "/blog"}
        }))).collect();
        let r = t.post("/api/v1/events/batch", json!({"events": events})).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        let x = t.get(&format!("/api/v1/contacts/{id}/score")).await;
        assert_eq!(x.status, StatusCode::OK, "{}", x.body);
        let fit_sum: i64 = x.body["fit"]["contributions"].as_array().unwrap().iter().map(|c| hundredths(&c["points"])).sum();
        assert_eq!(fit_sum, hundredths(&x.body["fit"]["points"]));
        let contributions = x.body["engagement"]["contributions"].as_array().unwrap();
        assert!(contributions.len() > 10);
        let eng_sum: i64 = contributions.iter().map(|c| hundredths(&c["points"])).sum();
        assert_eq!(eng_sum, hundredths(&x.body["engagement"]["score"]), "the sum shown is the score shown");
        assert!(contributions.iter().any(|c| c["cap_applied"] == "daily" || c["cap_applied"] == "lifetime"));
        assert!(contributions.iter().all(|c| c["decay_factor"].as_f64().unwrap() <= 1.0));
        assert_eq!(x.body["stage_profile"]["has_bought"], false);
        assert!(x.body["temperature"]["reason"].as_str().unwrap().len() > 10);
        assert!(x.body["rules_version"].is_i64());
    }

    async fn illegal_moves_are_refused_with_the_allowed_ones(t) {
        let c = t.post("/api/v1/contacts", json!({"email": "m@acme.example"})).await;
        let id = c.body["id"].as_str().unwrap();
        let r = t.post(&format!("/api/v1/contacts/{id}/lifecycle"), json!({"to": "sql"})).await;
        assert_eq!(r.status, StatusCode::CONFLICT);
        assert!(r.is_problem());
        assert_eq!(r.body["allowed_moves"], json!(["mql", "nurturing", "disqualified", "intermediary"]));
        assert!(r.body["detail"].as_str().unwrap().contains("sales accepts"));
        let r = t.post(&format!("/api/v1/contacts/{id}/lifecycle"), json!({"to": "disqualified"})).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "a disqualification needs a reason");
        let r = t.post(&format!("/api/v1/contacts/{id}/lifecycle"), json!({"to": "disqualified", "reason": "Bought from a competitor"})).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(r.body["stage"], "disqualified");
        let h = r.body["history"].as_array().unwrap().last().unwrap().clone();
        assert_eq!(h["actor"]["kind"], "user");
        assert_eq!(h["reason"], "Bought from a competitor");
        // It can come back.
        let r = t.post(&format!("/api/v1/contacts/{id}/lifecycle"), json!({"to": "lead"})).await;
        assert_eq!(r.body["stage"], "lead");
        let bad = t.post(&format!("/api/v1/contacts/{id}/lifecycle"), json!({"to": "prospect"})).await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    }

    async fn sales_acceptance_and_a_complete_checklist_make_a_prospect(t) {
        let sales = t.user_key("rep@acme.example", "sales").await;
        let marketing = t.user_key("mkt@acme.example", "marketing").await;
        let id = ideal_contact(&t, "buyer@acme.example").await;
        let not_mql = t.send(Method::POST, &format!("/api/v1/contacts/{id}/accept"), Some(&sales), None).await;
        assert_eq!(not_mql.status, StatusCode::CONFLICT, "only MQLs can be accepted");
        t.post("/api/v1/events", json!({"contact_id": id, "kind": "demo_request"})).await;
        let denied = t.send(Method::POST, &format!("/api/v1/contacts/{id}/accept"), Some(&marketing), None).await;
        assert_eq!(denied.status, StatusCode::FORBIDDEN, "marketing does not accept on sales' behalf");
        let accepted = t.send(Method::POST, &format!("/api/v1/contacts/{id}/accept"), Some(&sales), None).await;
        assert_eq!(accepted.status, StatusCode::OK, "{}", accepted.body);
        assert_eq!(accepted.body["stage"], "mql", "accepted, but the checklist is not complete yet");
        assert_eq!(accepted.body["sales_accepted"], true);
        for (i, criterion) in ["need", "budget", "authority", "timing"].iter().enumerate() {
            let r = t.send(Method::PUT, &format!("/api/v1/contacts/{id}/checklist/{criterion}"), Some(&sales), Some(json!({"answer": "yes", "note": format!("call {i}")}))).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.body);
            let expected = if i < 3 { "mql" } else { "sql" };
            assert_eq!(r.body["stage"], expected, "after {criterion}");
            assert_eq!(r.body["checklist"][criterion]["answer"], "yes");
            assert_eq!(r.body["checklist"][criterion]["note"], format!("call {i}"));
            assert!(r.body["checklist"][criterion]["set_by"].is_string());
        }
        let x = t.get(&format!("/api/v1/contacts/{id}/score")).await;
        assert_eq!(x.body["stage_profile"]["needs_known"], true);
        assert_eq!(x.body["stage_profile"]["conversion_process_started"], true);
        // Authority "no" later: an intermediary, not a prospect.
        let r = t.send(Method::PUT, &format!("/api/v1/contacts/{id}/checklist/authority"), Some(&sales), Some(json!({"answer": "no"}))).await;
        assert_eq!(r.body["stage"], "intermediary");
        let bad = t.send(Method::PUT, &format!("/api/v1/contacts/{id}/checklist/mood"), Some(&sales), Some(json!({"answer": "yes"}))).await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    }

    async fn a_rejected_lead_is_recycled_not_requalified_at_once(t) {
        let sales = t.user_key("rep@acme.example", "sales").await;
        let id = ideal_contact(&t, "later@acme.example").await;
        t.post("/api/v1/events", json!({"contact_id": id, "kind": "quote_request"})).await;
        let r = t.send(Method::POST, &format!("/api/v1/contacts/{id}/reject"), Some(&sales), Some(json!({"reason": "other"}))).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "`other` needs a note");
        let r = t.send(Method::POST, &format!("/api/v1/contacts/{id}/reject"), Some(&sales), Some(json!({"reason": "no_budget"}))).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(r.body["stage"], "nurturing");
        t.post("/api/v1/events", json!({"contact_id": id, "kind": "demo_request"})).await;
        let again = t.get(&format!("/api/v1/contacts/{id}")).await;
        assert_eq!(again.body["lifecycle_stage"], "nurturing", "within the recycling period");
        let id2 = ideal_contact(&t, "noauth@acme.example").await;
        t.post("/api/v1/events", json!({"contact_id": id2, "kind": "quote_request"})).await;
        let r = t.send(Method::POST, &format!("/api/v1/contacts/{id2}/reject"), Some(&sales), Some(json!({"reason": "no_authority"}))).await;
        assert_eq!(r.body["stage"], "intermediary");
        assert_eq!(r.body["checklist"]["authority"]["answer"], "no");
    }

    async fn knockouts_disqualify_with_the_reason(t) {
        let c = t.post("/api/v1/contacts", json!({"email": "someone@gmail.com", "job_title": "CEO"})).await;
        assert_eq!(c.body["lifecycle_stage"], "disqualified");
        assert_eq!(c.body["score"]["knockouts"], json!(["personal-email"]));
        let id = c.body["id"].as_str().unwrap();
        let life = t.get(&format!("/api/v1/contacts/{id}/lifecycle")).await;
        assert_eq!(life.body["history"][0]["reason"], "knock-out: Personal e-mail address, not a company one");
    }

    async fn a_rules_change_rescores_everyone_in_a_job(t) {
        let id = ideal_contact(&t, "rules@acme.example").await;
        let current = t.get("/api/v1/scoring/rules").await;
        assert_eq!(current.status, StatusCode::OK);
        let mut rules = current.body["rules"].clone();
        let bad = {
            let mut r = rules.clone();
            r["fit"]["rules"][0]["when"]["op"] = json!("matches");
            r["fit"]["rules"][0]["when"]["value"] = json!("(unclosed");
            r
        };
        let refused = t.send(Method::PUT, "/api/v1/scoring/rules", Some(ADMIN_KEY), Some(bad)).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(refused.field_errors(), vec!["fit.rules[0].when.value"]);
        let typo = t.send(Method::PUT, "/api/v1/scoring/rules", Some(ADMIN_KEY), Some(json!({"fit": 3}))).await;
        assert_eq!(typo.field_errors(), vec!["fit"]);
        let sales = t.user_key("rep@acme.example", "sales").await;
        assert_eq!(t.send(Method::PUT, "/api/v1/scoring/rules", Some(&sales), Some(rules.clone())).await.status, StatusCode::FORBIDDEN);

        // Decision makers now count 40 points instead of 25.
        rules["fit"]["rules"][0]["points"] = json!(40);
        let changed = t.send(Method::PUT, "/api/v1/scoring/rules?comment=more%20weight%20on%20titles", Some(ADMIN_KEY), Some(rules)).await;
        assert_eq!(changed.status, StatusCode::ACCEPTED, "{}", changed.body);
        let version = changed.body["version"].as_i64().unwrap();
        let job = changed.body["rescore_job"].as_str().unwrap().to_string();
        assert!(t.app.run_one_job("test-worker").await.unwrap(), "the rescore job was due");
        let status = t.get(&format!("/api/v1/jobs/{job}")).await;
        assert_eq!(status.body["state"], "succeeded", "{}", status.body);
        assert_eq!(status.body["progress_done"], status.body["progress_total"]);
        let after = t.get(&format!("/api/v1/contacts/{id}")).await;
        assert_eq!(after.body["score"]["rules_version"], version);
        assert_eq!(after.body["score"]["fit_points"], 40.0 + 20.0 + 10.0 + 15.0 + 10.0);
    }
}

async fn upload(t: &TestApp, name: &str, body: &[u8]) -> Reply {
    let req = t
        .http
        .post(format!("{}/api/v1/uploads?name={name}", t.base))
        .bearer_auth(ADMIN_KEY)
        .header("content-type", "text/csv")
        .body(body.to_vec());
    into_reply(req.send().await.unwrap()).await
}

api_tests! {
    async fn csv_imports_run_as_jobs_with_a_preview_and_a_rejects_report(t) {
        let csv = b"Courriel,Pr\xc3\xa9nom,Visits\nada@acme.example,Ada,12\nbad-email,Bob,3\ngrace@acme.example,Grace,x\n";
        let up = upload(&t, "leads.csv", csv).await;
        assert_eq!(up.status, StatusCode::CREATED, "{}", up.body);
        let id = up.body["id"].as_str().unwrap().to_string();
        let preview = t.post("/api/v1/imports/preview", json!({"upload_id": id, "entity": "contacts"})).await;
        assert_eq!(preview.status, StatusCode::OK, "{}", preview.body);
        assert_eq!(preview.body["rows"], 3);
        let targets: Vec<&str> = preview.body["columns"].as_array().unwrap().iter().map(|c| c["target"].as_str().unwrap()).collect();
        assert_eq!(targets, ["email", "first_name", "custom"]);
        assert_eq!(preview.body["sample"][0][0], "ada@acme.example");
        let bad = t.post("/api/v1/imports/preview", json!({"upload_id": id, "entity": "contacts", "map": {"email": "Mail"}})).await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(bad.body["detail"].as_str().unwrap().contains("the columns are: Courriel, Prénom, Visits"), "{}", bad.body);

        let started = t.post("/api/v1/imports", json!({"upload_id": id, "entity": "contacts", "types": {"Visits": "number"}})).await;
        assert_eq!(started.status, StatusCode::ACCEPTED, "{}", started.body);
        let job = started.body["id"].as_str().unwrap().to_string();
        assert_eq!(started.body["state"], "queued");
        assert!(t.app.run_one_job("test-worker").await.unwrap());
        let status = t.get(&format!("/api/v1/imports/{job}")).await;
        assert_eq!(status.body["state"], "succeeded", "{}", status.body);
        assert_eq!(status.body["summary"]["created"], 1);
        assert_eq!(status.body["summary"]["rejected"], 2);
        let r = t.http.get(format!("{}/api/v1/imports/{job}/rejects", t.base)).bearer_auth(ADMIN_KEY).send().await.unwrap();
        assert_eq!(r.headers()["content-type"], "text/csv; charset=utf-8");
        let report = r.text().await.unwrap();
        assert!(report.starts_with("line,column,value,reason\r\n3,Courriel,bad-email,"), "{report}");
        assert!(report.contains("4,Visits,x,"), "{report}");
        // Imported contacts are scored as they are written, and the stored score is the one
        // the explanation gives.
        let list = t.get("/api/v1/contacts").await;
        let ada = &list.body["items"][0];
        assert_eq!(ada["email"], "ada@acme.example", "{}", list.body);
        let stored = &ada["score"];
        assert!(stored["fit_grade"].is_string(), "scored on import: {ada}");
        let x = t.get(&format!("/api/v1/contacts/{}/score", ada["id"].as_str().unwrap())).await;
        assert_eq!(hundredths(&stored["fit_points"]), hundredths(&x.body["fit"]["points"]), "{}", x.body);
        assert_eq!(stored["temperature"], x.body["temperature"]["level"], "{}", x.body);
        assert_eq!(ada["lifecycle_stage"], x.body["lifecycle_stage"]);
        let none = t.get("/api/v1/imports/0192f7a4-5c1e-7b3a-9d2e-4f6a8b0c1d2e").await;
        assert_eq!(none.status, StatusCode::NOT_FOUND);
        let empty = upload(&t, "e.csv", b"").await;
        assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
        let unknown = t.post("/api/v1/imports", json!({"upload_id": "0192f7a4-5c1e-7b3a-9d2e-4f6a8b0c1d2e", "entity": "contacts"})).await;
        assert_eq!(unknown.field_errors(), vec!["upload_id"]);
        let entity = t.post("/api/v1/imports", json!({"upload_id": id, "entity": "widgets"})).await;
        assert_eq!(entity.field_errors(), vec!["entity"]);
    }

    async fn requests_entered_by_hand_become_contacts_and_events(t) {
        let r = t.post("/api/v1/requests", json!({
            "channel": "trade_fair",
            "contact": {"email": "visitor@fair.example", "first_name": "Vera", "job_title": "Plant Director"},
            "company": "Fairco",
            "campaign": "Salon Industrie 2026",
            "note": "wants a quote for 3 lines"
        })).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        assert_eq!(r.body["contact_created"], true);
        assert_eq!(r.body["contact"]["source"], "trade fair");
        assert_eq!(r.body["contact"]["campaign"], "Salon Industrie 2026");
        let id = r.body["contact"]["id"].as_str().unwrap().to_string();
        let again = t.post("/api/v1/requests", json!({
            "channel": "phone", "kind": "quote_request",
            "contact": {"email": "VISITOR@fair.example", "phone": "+33 6 12 34 56 78"}
        })).await;
        assert_eq!(again.body["contact_created"], false);
        assert_eq!(again.body["contact"]["id"], id.as_str());
        assert_eq!(again.body["contact"]["phone"], "+33 6 12 34 56 78", "completed");
        assert_eq!(again.body["contact"]["first_name"], "Vera", "not overwritten");
        assert_eq!(again.body["contact"]["score"]["temperature"], "hot", "a quote request by phone is an intent signal");
        let tl = t.get(&format!("/api/v1/contacts/{id}/timeline")).await;
        let kinds: Vec<&str> = tl.body["items"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["quote_request", "trade_fair_visit"]);
        assert_eq!(tl.body["items"][1]["properties"]["note"], "wants a quote for 3 lines");
        assert_eq!(tl.body["items"][0]["source"], "phone");
        let bad = t.post("/api/v1/requests", json!({"channel": "phone", "contact": {"email": "nope"}})).await;
        assert_eq!(bad.field_errors(), vec!["contact.email"]);
        let future = t.post("/api/v1/requests", json!({"channel": "phone", "contact": {"email": "z@fair.example"}, "occurred_at": "2999-01-01T00:00:00Z"})).await;
        assert_eq!(future.status, StatusCode::UNPROCESSABLE_ENTITY);
        let none = t.get("/api/v1/contacts?email=z@fair.example").await;
        assert_eq!(none.body["items"].as_array().unwrap().len(), 0, "nothing half-written");
    }
}

fn contact_form() -> Value {
    json!({
        "slug": "contact-us",
        "title": "Contact us",
        "fields": [
            {"name": "email", "label": "E-mail", "type": "email", "required": true, "maps_to": "email"},
            {"name": "first_name", "label": "First name", "maps_to": "first_name"},
            {"name": "company", "label": "Company", "maps_to": "company"},
            {"name": "message", "label": "Message", "type": "textarea"}
        ],
        "event_kind": "quote_request",
        "campaign": "spring-2026",
        "consents": [
            {"purpose": "newsletter", "text": "Send me the monthly newsletter", "version": "2026-11"},
            {"purpose": "commercial_prospecting", "text": "A sales rep may contact me about my request", "version": "2026-11"}
        ],
        "allowed_origins": ["https://www.customer.example"]
    })
}

/// The signed token of a freshly rendered hosted form page.
async fn form_token(t: &TestApp, slug: &str) -> String {
    let html = t.http.get(format!("{}/f/{slug}", t.base)).send().await.unwrap().text().await.unwrap();
    let start = html.find("name=\"_lg_token\" value=\"").expect("token in page")
        + "name=\"_lg_token\" value=\"".len();
    html[start..start + html[start..].find('"').unwrap()].to_string()
}

async fn post_form(
    t: &TestApp,
    slug: &str,
    fields: &[(&str, &str)],
    json_from: Option<&str>,
) -> reqwest::Response {
    let mut req = t
        .http
        .post(format!("{}/f/{slug}/submit", t.base))
        .header("user-agent", "TestBrowser/1.0")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(serde_urlencoded::to_string(fields).unwrap());
    if let Some(origin) = json_from {
        req = req.header("accept", "application/json").header("origin", origin);
    }
    req.send().await.unwrap()
}

macro_rules! capture_tests {
    ($(async fn $name:ident($t:ident, $clock:ident) $body:block)*) => {$(
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            async fn run(backend: Backend) {
                let $clock = Arc::new(leadgate_app::ManualClock::new("2026-11-24T10:00:00Z".parse().unwrap()));
                let $t = spawn_app_with(backend, $clock.clone()).await;
                $body;
                $t.stop().await;
            }
            #[tokio::test]
            async fn sqlite() { run(Backend::Sqlite).await }
            #[tokio::test]
            async fn postgres() { run(Backend::Postgres).await }
        }
    )*};
}

capture_tests! {
    async fn forms_capture_contacts_with_consent_proof_and_refuse_spam(t, clock) {
        let created = t.post("/api/v1/forms", contact_form()).await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        assert!(created.body["embed_snippet"].as_str().unwrap().contains("/f/contact-us/embed.js"));
        let form_id = created.body["id"].as_str().unwrap().to_string();
        assert_eq!(t.post("/api/v1/forms", contact_form()).await.status, StatusCode::CONFLICT);
        let mut bad = contact_form();
        bad["fields"][0]["maps_to"] = json!("shoe_size");
        bad["slug"] = json!("Bad Slug");
        let refused = t.post("/api/v1/forms", bad).await;
        assert_eq!(refused.field_errors(), vec!["slug", "fields[0].maps_to", "fields"]);

        let page = t.http.get(format!("{}/f/contact-us", t.base)).send().await.unwrap();
        assert_eq!(page.headers()["content-type"], "text/html; charset=utf-8");
        let html = page.text().await.unwrap();
        assert!(html.contains("<label for=\"f-email\">E-mail *</label>") && html.contains("Send me the monthly newsletter"), "{html}");

        // Submitted at once: a robot. Counted, nothing stored, and the robot is thanked anyway.
        let token = form_token(&t, "contact-us").await;
        let r = post_form(&t, "contact-us", &[("email", "bot@spam.example"), ("_lg_token", &token)], None).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert!(r.text().await.unwrap().contains("Thank you"));
        clock.advance(jiff::SignedDuration::from_secs(10));
        let r = post_form(&t, "contact-us", &[("email", "bot@spam.example"), ("_lg_token", &token), ("_lg_hp", "http://spam")], None).await;
        assert_eq!(r.status(), StatusCode::OK);
        let r = post_form(&t, "contact-us", &[("email", "bot@spam.example"), ("_lg_token", "123.forged")], None).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(t.get("/api/v1/contacts?email=bot@spam.example").await.body["items"].as_array().unwrap().len(), 0);

        // A person: errors are shown on the page, then the contact is created.
        let r = post_form(&t, "contact-us", &[("email", "not-an-address"), ("_lg_token", &token)], None).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().await.unwrap().contains("E-mail: has no `@`"));
        let r = post_form(&t, "contact-us", &[
            ("email", "Ada@Customer.example"), ("first_name", "Ada"), ("company", "Customer Inc"),
            ("message", "Please quote 3 licences"), ("consent_newsletter", "on"), ("_lg_token", &token),
        ], None).await;
        assert_eq!(r.status(), StatusCode::OK);
        let c = t.get("/api/v1/contacts?email=ada@customer.example").await;
        let contact = c.body["items"][0].clone();
        assert_eq!(contact["source"], "web form");
        assert_eq!(contact["campaign"], "spring-2026");
        assert_eq!(contact["score"]["temperature"], "hot", "the form records a quote request");
        let id = contact["id"].as_str().unwrap();
        let tl = t.get(&format!("/api/v1/contacts/{id}/timeline")).await;
        assert_eq!(tl.body["items"][0]["kind"], "quote_request");
        assert_eq!(tl.body["items"][0]["properties"]["message"], "Please quote 3 licences");
        assert_eq!(tl.body["items"][0]["properties"]["form"], "contact-us");
        let consents = t.get(&format!("/api/v1/contacts/{id}/consents")).await;
        let records = consents.body.as_array().unwrap();
        assert_eq!(records.len(), 2, "one per purpose, refusals included");
        let news = records.iter().find(|r| r["purpose"] == "newsletter").unwrap();
        assert_eq!((news["granted"].as_bool(), news["version"].as_str()), (Some(true), Some("2026-11")));
        assert_eq!(news["text"], "Send me the monthly newsletter");
        assert_eq!(news["source"], "form");
        assert_eq!(news["user_agent"], "TestBrowser/1.0");
        assert_eq!(news["ip"], "127.0.0.1");
        let sales = records.iter().find(|r| r["purpose"] == "commercial_prospecting").unwrap();
        assert_eq!(sales["granted"], false);

        // Withdrawal through the API is one call and immediate.
        let w = t.post(&format!("/api/v1/contacts/{id}/consents"), json!({"purpose": "newsletter", "granted": false, "text": "Unsubscribed by phone", "version": "phone"})).await;
        assert_eq!(w.status, StatusCode::CREATED, "{}", w.body);
        let consents = t.get(&format!("/api/v1/contacts/{id}/consents")).await;
        assert_eq!(consents.body.as_array().unwrap().last().unwrap()["granted"], false);

        let stats = t.get(&format!("/api/v1/forms/{form_id}")).await;
        assert_eq!(stats.body["submissions"], 1);
        assert_eq!(stats.body["rejected"], json!({"too_fast": 1, "honeypot": 1, "bad_token": 1}));
    }

    async fn embedded_forms_answer_json_to_allowed_origins_only(t, clock) {
        t.post("/api/v1/forms", contact_form()).await;
        let js = t.http.get(format!("{}/f/contact-us/embed.js", t.base)).send().await.unwrap();
        assert_eq!(js.headers()["content-type"], "text/javascript; charset=utf-8");
        let js = js.text().await.unwrap();
        assert!(js.contains("\"slug\":\"contact-us\"") && !js.contains("__FORM__"), "filled in");
        let token = form_token(&t, "contact-us").await;
        clock.advance(jiff::SignedDuration::from_secs(5));
        let r = post_form(&t, "contact-us", &[("email", "x@y.example"), ("_lg_token", &token)], Some("https://evil.example")).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let r = post_form(&t, "contact-us", &[("email", "nope"), ("_lg_token", &token)], Some("https://www.customer.example")).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(r.headers()["access-control-allow-origin"], "https://www.customer.example");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["errors"][0]["field"], "email");
        let r = post_form(&t, "contact-us", &[("email", "x@y.example"), ("_lg_token", &token)], Some("https://www.customer.example")).await;
        assert_eq!(r.status(), StatusCode::OK);
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["ok"], true);
        // Ten a minute per address, then refused (and counted).
        let mut last = StatusCode::OK;
        for _ in 0..10 {
            last = post_form(&t, "contact-us", &[("email", "x@y.example"), ("_lg_token", &token)], Some("https://www.customer.example")).await.status();
        }
        assert_eq!(last, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(t.http.get(format!("{}/f/nope", t.base)).send().await.unwrap().status(), StatusCode::NOT_FOUND);
    }

    async fn tracked_page_views_join_the_contact_when_the_visitor_identifies(t, clock) {
        let js = t.http.get(format!("{}/t.js", t.base)).send().await.unwrap();
        assert!(js.text().await.unwrap().contains("lg_vid"));
        let visitor = "3f2a9c1e-0000-4000-8000-00000000abcd";
        let views = json!({"visitor": visitor, "views": [
            {"url": "https://www.customer.example/pricing?utm_source=linkedin&utm_campaign=launch", "title": "Pricing", "referrer": "https://www.linkedin.com/"},
            {"url": "https://www.customer.example/pricing", "title": "Pricing"},
            {"url": "https://www.customer.example/blog/how-to", "title": "How to"}
        ]});
        let r = t.http.post(format!("{}/t/collect", t.base)).header("content-type", "text/plain").body(views.to_string()).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
        assert_eq!(r.headers()["access-control-allow-origin"], "*");
        let bad = t.http.post(format!("{}/t/collect", t.base)).body(json!({"visitor": "x", "views": []}).to_string()).send().await.unwrap();
        assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let bad = t.http.post(format!("{}/t/collect", t.base)).body(json!({"visitor": visitor, "views": [{"url": "javascript:x"}]}).to_string()).send().await.unwrap();
        assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);

        t.post("/api/v1/forms", contact_form()).await;
        let token = form_token(&t, "contact-us").await;
        clock.advance(jiff::SignedDuration::from_secs(30));
        let r = post_form(&t, "contact-us", &[("email", "visitor@customer.example"), ("_lg_token", &token), ("_lg_visitor", visitor)], None).await;
        assert_eq!(r.status(), StatusCode::OK);
        let c = t.get("/api/v1/contacts?email=visitor@customer.example").await;
        let id = c.body["items"][0]["id"].as_str().unwrap().to_string();
        let tl = t.get(&format!("/api/v1/contacts/{id}/timeline")).await;
        let kinds: Vec<&str> = tl.body["items"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["quote_request", "page_view", "page_view", "page_view"], "earlier views merged");
        let first_view = &tl.body["items"][3];
        assert_eq!(first_view["source"], "linkedin");
        assert_eq!(first_view["campaign"], "launch");
        let x = t.get(&format!("/api/v1/contacts/{id}/score")).await;
        assert!(x.body["engagement"]["contributions"].as_array().unwrap().iter().any(|c| c["rule"] == "pricing-page"), "merged views are scored");

        // Later views of the identified visitor go straight to the contact.
        clock.advance(jiff::SignedDuration::from_secs(60));
        let more = json!({"visitor": visitor, "views": [{"url": "https://www.customer.example/pricing", "title": "Pricing"}]});
        t.http.post(format!("{}/t/collect", t.base)).body(more.to_string()).send().await.unwrap();
        let tl = t.get(&format!("/api/v1/contacts/{id}/timeline")).await;
        assert_eq!(tl.body["items"].as_array().unwrap().len(), 5);

        // A tracked e-mail link identifies another browser.
        let token = t.get(&format!("/api/v1/contacts/{id}/tracking-token")).await.body["token"].as_str().unwrap().to_string();
        let other = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee";
        let views = json!({"visitor": other, "identify": token, "views": [{"url": "https://www.customer.example/demo?lg_cid=x"}]});
        t.http.post(format!("{}/t/collect", t.base)).body(views.to_string()).send().await.unwrap();
        let tl = t.get(&format!("/api/v1/contacts/{id}/timeline")).await;
        assert_eq!(tl.body["items"].as_array().unwrap().len(), 6);
        let forged = json!({"visitor": "bbbbbbbb-bbbb-4ccc-8ddd-eeeeeeeeeeee", "identify": format!("{}.00000000000000000000000000000000", id.replace('-', "")), "views": [{"url": "https://x.example/"}]});
        t.http.post(format!("{}/t/collect", t.base)).body(forged.to_string()).send().await.unwrap();
        let tl = t.get(&format!("/api/v1/contacts/{id}/timeline")).await;
        assert_eq!(tl.body["items"].as_array().unwrap().len(), 6, "a forged token identifies nobody");
    }
}

/// A CSV of `n` leads with an outcome column; `signal` makes visits and channel predict it,
/// otherwise the outcome is a coin toss (seeded).
fn history_csv(n: usize, signal: bool, seed: u64) -> String {
    let mut csv = String::from("Email,Visits,Channel,Converted\n");
    let mut x = seed;
    let mut next = move || {
        x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        x >> 33
    };
    for i in 0..n {
        let visits = next() % 20;
        let channel = ["fair", "web", "ads"][(next() % 3) as usize];
        let noise = next() % 10 == 0;
        let converted = if signal { (visits >= 10 && channel != "ads") != noise } else { next() % 2 == 0 };
        csv.push_str(&format!("lead{i}.{seed}@history.example,{visits},{channel},{}\n", u8::from(converted)));
    }
    csv
}

async fn import_history(t: &TestApp, csv: &str) {
    let up = upload(t, "history.csv", csv.as_bytes()).await;
    let id = up.body["id"].as_str().unwrap().to_string();
    let started = t
        .post("/api/v1/imports", json!({"upload_id": id, "entity": "contacts", "outcome": {"column": "Converted", "positive": "1"}}))
        .await;
    assert_eq!(started.status, StatusCode::ACCEPTED, "{}", started.body);
    while t.app.run_one_job("test-worker").await.unwrap() {}
}

api_tests! {
    async fn models_train_as_jobs_and_explain_each_lead(t) {
        // Too little history: the job is refused (not retried) with what is missing.
        let r = t.post("/api/v1/models/train", json!({})).await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
        let job = r.body["id"].as_str().unwrap().to_string();
        assert!(t.app.run_one_job("test-worker").await.unwrap());
        let status = t.get(&format!("/api/v1/jobs/{job}")).await;
        assert_eq!(status.body["state"], "failed", "{}", status.body);
        assert!(status.body["last_error"].as_str().unwrap().contains("more needed"), "{}", status.body);

        import_history(&t, &history_csv(400, true, 1)).await;
        let typo = t.post("/api/v1/models/train", json!({"exclude": ["Chanel"]})).await;
        assert_eq!(typo.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", typo.body);
        let message = typo.body["errors"][0]["message"].as_str().unwrap();
        assert!(message.starts_with("no field is named `Chanel`; the fields are: Campaign, Channel,"), "{message}");
        let bad = t.post("/api/v1/models/train", json!({"horizon_days": 0, "family": "forest"})).await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);

        let r = t.post("/api/v1/models/train", json!({"exclude": ["channel"], "seed": 3})).await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
        let job = r.body["id"].as_str().unwrap().to_string();
        while t.app.run_one_job("test-worker").await.unwrap() {}
        let status = t.get(&format!("/api/v1/jobs/{job}")).await;
        assert_eq!(status.body["state"], "succeeded", "{}", status.body);
        assert_eq!(status.body["result"]["model_version"], 1);

        let models = t.get("/api/v1/models").await;
        assert_eq!(models.status, StatusCode::OK);
        let m = &models.body[0];
        assert_eq!((m["version"].as_i64(), m["active"].as_bool()), (Some(1), Some(true)));
        assert_eq!(m["outcomes"]["converted"].as_u64().unwrap() + m["outcomes"]["not_converted"].as_u64().unwrap(), 400);
        assert!(m["quality"]["roc_auc"].as_f64().unwrap() > 0.7, "visits predict: {m}");
        assert_eq!(m["report"]["fields_excluded"], json!(["Channel"]));
        assert_eq!(m["request"]["exclude"], json!(["channel"]));
        assert_eq!(m["report"]["candidates"][0]["test"]["calibration"].as_array().unwrap().len(), 10);
        let used: Vec<&str> = m["report"]["fields_used"].as_array().unwrap().iter().map(|f| f.as_str().unwrap()).collect();
        assert!(used.contains(&"Visits") && !used.contains(&"Channel"), "{used:?}");
        assert!(!used.iter().any(|f| f.eq_ignore_ascii_case("converted")), "the outcome is never an input: {used:?}");

        // Every lead has a stored probability; one lead's is explained exactly.
        let list = t.get("/api/v1/contacts?limit=1").await;
        let id = list.body["items"][0]["id"].as_str().unwrap().to_string();
        let p = t.get(&format!("/api/v1/contacts/{id}/prediction")).await;
        assert_eq!(p.status, StatusCode::OK, "{}", p.body);
        let probability = p.body["probability"].as_f64().unwrap();
        assert!(probability > 0.0 && probability < 1.0);
        let sum: f64 = p.body["factors"].as_array().unwrap().iter().map(|f| f["contribution"].as_f64().unwrap()).sum();
        let raw = p.body["raw_score"].as_f64().unwrap();
        assert!((p.body["base_value"].as_f64().unwrap() + sum - raw).abs() < 1e-9, "contributions add up: {}", p.body);
        assert!(p.body["factors"].as_array().unwrap().iter().any(|f| f["label"].as_str().unwrap().starts_with("Visits = ")), "{}", p.body);
        assert!(p.body["stored_at"].is_string(), "the predict job stored it: {}", p.body);

        // New activity queues the lead; the runner predicts it again between jobs.
        let e = t.post("/api/v1/events", json!({"contact_id": id, "kind": "demo_request"})).await;
        assert_eq!(e.status, StatusCode::CREATED, "{}", e.body);
        assert_eq!(t.app.refresh_predictions().await.unwrap(), 1);
        assert_eq!(t.app.refresh_predictions().await.unwrap(), 0, "queue drained");

        // A second version, not activated, then activated by hand.
        let r = t.post("/api/v1/models/train", json!({"family": "linear", "activate": false})).await;
        assert_eq!(r.status, StatusCode::ACCEPTED);
        while t.app.run_one_job("test-worker").await.unwrap() {}
        let v2 = t.get("/api/v1/models/2").await;
        assert_eq!((v2.body["family"].as_str(), v2.body["active"].as_bool()), (Some("linear"), Some(false)), "{}", v2.body);
        let act = t.post("/api/v1/models/2/activate", json!({})).await;
        assert_eq!(act.status, StatusCode::OK, "{}", act.body);
        assert_eq!(t.get("/api/v1/models/1").await.body["active"], false);
        assert_eq!(t.get(&format!("/api/v1/contacts/{id}/prediction")).await.body["model_version"], 2);
        assert_eq!(t.post("/api/v1/models/9/activate", json!({})).await.status, StatusCode::NOT_FOUND);
        assert_eq!(t.get("/api/v1/models/abc").await.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(t.get("/api/v1/contacts/0192f7a4-5c1e-7b3a-9d2e-4f6a8b0c1d2e/prediction").await.status, StatusCode::NOT_FOUND);
    }

    async fn a_model_of_coin_tosses_ranks_at_chance(t) {
        let none = t.get("/api/v1/contacts?limit=1").await;
        assert_eq!(none.body["items"].as_array().unwrap().len(), 0);
        import_history(&t, &history_csv(600, false, 2)).await;
        let list = t.get("/api/v1/contacts?limit=1").await;
        let id = list.body["items"][0]["id"].as_str().unwrap().to_string();
        let p = t.get(&format!("/api/v1/contacts/{id}/prediction")).await;
        assert_eq!(p.status, StatusCode::CONFLICT, "no model yet: {}", p.body);
        let r = t.post("/api/v1/models/train", json!({})).await;
        assert_eq!(r.status, StatusCode::ACCEPTED);
        while t.app.run_one_job("test-worker").await.unwrap() {}
        let m = &t.get("/api/v1/models").await.body[0];
        let auc = m["quality"]["roc_auc"].as_f64().unwrap();
        assert!((auc - 0.5).abs() < 0.15, "labels unrelated to the fields: AUC {auc}");
    }
}

capture_tests! {
    async fn retraining_is_scheduled_once_when_the_model_is_old(t, clock) {
        let day = jiff::SignedDuration::from_hours(24);
        assert_eq!(t.app.schedule_retraining(day * 7).await.unwrap(), None, "no model yet: a person trains the first");
        import_history(&t, &history_csv(300, true, 5)).await;
        let r = t.post("/api/v1/models/train", json!({"exclude": ["channel"], "seed": 9})).await;
        assert_eq!(r.status, StatusCode::ACCEPTED);
        while t.app.run_one_job("test-worker").await.unwrap() {}
        clock.advance(day * 6);
        assert_eq!(t.app.schedule_retraining(day * 7).await.unwrap(), None, "not due yet");
        clock.advance(day * 2);
        let job = t.app.schedule_retraining(day * 7).await.unwrap().expect("due after a week");
        assert_eq!(t.app.schedule_retraining(day * 7).await.unwrap(), None, "queued once, however many servers ask");
        while t.app.run_one_job("test-worker").await.unwrap() {}
        let status = t.get(&format!("/api/v1/jobs/{job}")).await;
        assert_eq!(status.body["state"], "succeeded", "{}", status.body);
        let v2 = t.get("/api/v1/models/2").await;
        assert_eq!(v2.body["request"]["exclude"], json!(["channel"]), "retrained with the last settings");
        assert_eq!(v2.body["active"], true);
        assert_eq!(t.app.schedule_retraining(day * 7).await.unwrap(), None, "fresh again");
    }
}

/// A webhook receiver on loopback: answers 500 to the first `failures` requests, then 200, and
/// keeps every request's headers and body.
type Seen = Arc<std::sync::Mutex<Vec<(reqwest::header::HeaderMap, Vec<u8>)>>>;

struct Receiver {
    url: String,
    seen: Seen,
}

async fn webhook_receiver(failures: usize) -> Receiver {
    use axum::body::Bytes;
    use axum::http::HeaderMap;
    let seen: Seen = Arc::default();
    let count = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (s, c) = (seen.clone(), count.clone());
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let (s, c) = (s.clone(), c.clone());
            async move {
                let n = c.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                s.lock().unwrap().push((headers, body.to_vec()));
                if n < failures {
                    axum::http::StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    axum::http::StatusCode::OK
                }
            }
        }),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Receiver { url, seen }
}

async fn sales_user(t: &TestApp, email: &str) -> (String, String) {
    let user = t.post("/api/v1/users", json!({"email": email, "role": "sales", "name": email})).await;
    assert_eq!(user.status, StatusCode::CREATED, "{}", user.body);
    let id = user.body["id"].as_str().unwrap().to_string();
    let key = t.post("/api/v1/api-keys", json!({"name": "test", "user_id": id})).await;
    (id, key.body["key"].as_str().unwrap().to_string())
}

macro_rules! handoff_tests {
    ($(async fn $name:ident($t:ident, $clock:ident) $body:block)*) => {$(
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            async fn run(backend: Backend) {
                let $clock = Arc::new(leadgate_app::ManualClock::new("2026-11-24T10:00:00Z".parse().unwrap()));
                let $t = spawn_app_configured(backend, $clock.clone(), |app| {
                    app.with_webhook_policy(leadgate_app::webhooks::WebhookPolicy { allow_private: true })
                })
                .await;
                $body;
                $t.stop().await;
            }
            #[tokio::test]
            async fn sqlite() { run(Backend::Sqlite).await }
            #[tokio::test]
            async fn postgres() { run(Backend::Postgres).await }
        }
    )*};
}

handoff_tests! {
    async fn leads_are_routed_timed_in_working_hours_reassigned_on_breach_and_announced(t, clock) {
        let at = |s: &str| -> jiff::Timestamp { s.parse().unwrap() };
        let receiver = webhook_receiver(1).await;
        let hook = t.post("/api/v1/webhooks", json!({"url": receiver.url, "event_types": ["*"]})).await;
        assert_eq!(hook.status, StatusCode::CREATED, "{}", hook.body);
        let secret = hook.body["secret"].as_str().unwrap().to_string();
        let hook_id = hook.body["id"].as_str().unwrap().to_string();

        let (ada, ada_key) = sales_user(&t, "ada@sales.example").await;
        let (bob, bob_key) = sales_user(&t, "bob@sales.example").await;
        for id in [&ada, &bob] {
            let r = t.send(Method::PUT, &format!("/api/v1/reps/{id}"), Some(ADMIN_KEY), Some(json!({
                "team": "inside", "capacity": 5,
                "working_hours": {"time_zone": "UTC", "days": ["monday", "tuesday", "wednesday", "thursday", "friday"], "start": "09:00", "end": "17:00"}
            }))).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        }
        let agreement = json!({
            "routing": [{"name": "inside sales", "assign": {"strategy": "round_robin", "team": "inside"}}],
            "first_touch": {"hot_minutes": 60, "warm_minutes": 60, "cold_minutes": 60},
            "reminder_minutes": 15, "on_breach": "reassign", "recycle_days": 30, "follow_up_days": 2
        });
        let refused = t.send(Method::PUT, "/api/v1/agreement", Some(&ada_key), Some(agreement.clone())).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "reps do not set the agreement");
        let saved = t.send(Method::PUT, "/api/v1/agreement", Some(ADMIN_KEY), Some(agreement)).await;
        assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
        assert_eq!(saved.body["version"], 1);

        // Friday 16:30 UTC: the lead becomes an MQL half an hour before the weekend.
        clock.set(at("2026-11-27T16:30:00Z"));
        let contact = t.post("/api/v1/contacts", json!({"email": "lead@buyer.example"})).await;
        let cid = contact.body["id"].as_str().unwrap().to_string();
        let moved = t.post(&format!("/api/v1/contacts/{cid}/lifecycle"), json!({"to": "mql"})).await;
        assert_eq!(moved.status, StatusCode::OK, "{}", moved.body);
        let first = t.get(&format!("/api/v1/contacts/{cid}/assignments")).await;
        let a = &first.body[0];
        assert_eq!(a["rep_id"], json!(ada), "round-robin: neither had a lead, ties go by id: {}", first.body);
        assert_eq!(a["rule"], "inside sales");
        assert!(a["why"].as_str().unwrap().contains("round-robin"), "{a}");
        // 30 working minutes on Friday, 30 on Monday.
        assert_eq!(a["due_at"], "2026-11-30T09:30:00Z");
        assert_eq!(a["remind_at"], "2026-11-30T09:15:00Z");
        let sla = t.get("/api/v1/handoff/sla").await;
        assert_eq!((sla.body["on_track"].as_u64(), sla.body["breached"].as_u64()), (Some(1), Some(0)), "{}", sla.body);
        assert_eq!(sla.body["by_rep"][&ada], json!([1, 0, 0]));
        let queue = t.send(Method::GET, "/api/v1/queue", Some(&ada_key), None).await;
        assert_eq!(queue.body.as_array().unwrap().len(), 1, "{}", queue.body);
        assert_eq!(queue.body[0]["sla"], "on_track");
        // contact.created, lifecycle.changed, lead.assigned; the receiver fails the first one.
        assert_eq!(t.app.deliver_webhooks().await.unwrap(), 3);
        assert_eq!(t.app.deliver_webhooks().await.unwrap(), 0, "the failed one waits for its backoff");
        clock.set(at("2026-11-27T16:31:00Z"));
        assert_eq!(t.app.deliver_webhooks().await.unwrap(), 1, "retried after 30 s");

        // Nothing fires over the weekend; the reminder on Monday, then the breach moves the lead.
        clock.set(at("2026-11-29T12:00:00Z"));
        assert_eq!(t.app.run_timers().await.unwrap(), 0);
        clock.set(at("2026-11-30T09:20:00Z"));
        assert_eq!(t.app.run_timers().await.unwrap(), 1, "the reminder");
        assert_eq!(t.app.run_timers().await.unwrap(), 0, "fired once");
        clock.set(at("2026-11-30T09:31:00Z"));
        // The breach reassigns the lead; the missed first-contact task goes with it, so only
        // the breach fires.
        assert_eq!(t.app.run_timers().await.unwrap(), 1, "the breach");
        let after = t.get(&format!("/api/v1/contacts/{cid}/assignments")).await;
        let list = after.body.as_array().unwrap();
        assert_eq!(list.len(), 2, "{}", after.body);
        assert_eq!(list[0]["outcome"], "reassigned");
        assert_eq!(list[0]["sla"], "missed");
        assert!(list[0]["breached_at"].is_string());
        assert_eq!(list[1]["rep_id"], json!(bob), "the next eligible rep, never the one who missed it");
        assert_eq!(list[1]["due_at"], "2026-11-30T10:31:00Z");

        // Bob calls, nobody answers: the clock stops and a follow-up falls due two working days on.
        clock.set(at("2026-11-30T09:40:00Z"));
        let touch = t.send(Method::POST, &format!("/api/v1/contacts/{cid}/touches"), Some(&bob_key),
            Some(json!({"kind": "call", "outcome": "no_reply", "note": "voicemail"}))).await;
        assert_eq!(touch.status, StatusCode::CREATED, "{}", touch.body);
        assert_eq!(touch.body["first_touch"], true);
        assert_eq!(touch.body["follow_up"]["due_at"], "2026-12-02T09:40:00Z");
        let tasks = t.send(Method::GET, "/api/v1/tasks", Some(&bob_key), None).await;
        let titles: Vec<&str> = tasks.body.as_array().unwrap().iter().map(|t| t["title"].as_str().unwrap()).collect();
        assert_eq!(titles.len(), 1, "the first touch closed the first-contact task; the follow-up is open: {titles:?}");
        assert_eq!(tasks.body[0]["purpose"], "follow_up");

        // Bob rejects it: back to nurturing, recycled after the agreement's 30 days.
        let rejected = t.send(Method::POST, &format!("/api/v1/contacts/{cid}/reject"), Some(&bob_key),
            Some(json!({"reason": "no_budget"}))).await;
        assert_eq!(rejected.status, StatusCode::OK, "{}", rejected.body);
        assert_eq!(rejected.body["stage"], "nurturing");
        let closed = t.get(&format!("/api/v1/contacts/{cid}/assignments")).await;
        assert_eq!(closed.body[1]["outcome"], "rejected");
        assert_eq!(closed.body[1]["sla"], "met");
        let tasks = t.send(Method::GET, "/api/v1/tasks", Some(&bob_key), None).await;
        assert_eq!(tasks.body.as_array().unwrap().len(), 0, "a rejected lead leaves no open tasks");

        let m = t.get("/api/v1/handoff/metrics?from=2026-11-27T00:00:00Z&to=2026-12-01T00:00:00Z").await;
        assert_eq!(m.status, StatusCode::OK, "{}", m.body);
        assert_eq!(m.body["assigned"], 2);
        assert_eq!(m.body["decided"], 2);
        assert_eq!(m.body["touched_in_time"], 1);
        assert_eq!(m.body["compliance"], 0.5);
        assert_eq!(m.body["rejections"], json!({"no_budget": 1}));
        assert_eq!(m.body["recycled_now"], json!({"nurturing": 1}));
        assert_eq!(m.body["median_minutes_to_first_touch_by_rep"][&bob], 9.0);

        // Webhooks: every message signed; the first answer (500) is retried after backoff.
        while t.app.deliver_webhooks().await.unwrap() > 0 {}
        let log = t.get(&format!("/api/v1/webhooks/{hook_id}/deliveries")).await;
        let deliveries = log.body.as_array().unwrap();
        let types: std::collections::BTreeSet<&str> = deliveries.iter().map(|d| d["event_type"].as_str().unwrap()).collect();
        for expected in ["contact.created", "lifecycle.changed", "lead.assigned", "sla.warning", "sla.breached"] {
            assert!(types.contains(expected), "{expected} missing from {types:?}");
        }
        assert!(deliveries.iter().all(|d| d["state"] == "delivered"), "{}", log.body);
        let retried: Vec<&Value> = deliveries.iter().filter(|d| d["attempts"] == 2).collect();
        assert_eq!(retried.len(), 1, "{}", log.body);
        assert_eq!(retried[0]["log"][0]["status"], 500);
        assert_eq!(retried[0]["log"][1]["status"], 200);
        let seen = receiver.seen.lock().unwrap().clone();
        assert_eq!(seen.len(), deliveries.len() + 1);
        for (headers, body) in &seen {
            let sig = headers["leadgate-signature"].to_str().unwrap();
            let ts: i64 = sig.split(',').next().unwrap().trim_start_matches("t=").parse().unwrap();
            assert!(leadgate_app::webhooks::verify_signature(sig, &secret, body, ts, 300), "{sig}");
            assert!(!leadgate_app::webhooks::verify_signature(sig, "whsec_wrong", body, ts, 300));
        }

        // Manual redelivery sends it again as a new delivery.
        let first_id = deliveries[0]["id"].as_str().unwrap();
        let again = t.post(&format!("/api/v1/webhook-deliveries/{first_id}/redeliver"), json!({})).await;
        assert_eq!(again.status, StatusCode::ACCEPTED, "{}", again.body);
        assert_eq!(t.app.deliver_webhooks().await.unwrap(), 1);
        assert_eq!(receiver.seen.lock().unwrap().len(), seen.len() + 1);
    }

    async fn a_rules_change_routes_many_leads_at_once_as_if_one_by_one(t, clock) {
        let _ = &clock;
        let receiver = webhook_receiver(0).await;
        let hook = t.post("/api/v1/webhooks", json!({"url": receiver.url, "event_types": ["lifecycle.changed", "lead.assigned"]})).await;
        assert_eq!(hook.status, StatusCode::CREATED, "{}", hook.body);
        let hook_id = hook.body["id"].as_str().unwrap().to_string();
        let (ada, _) = sales_user(&t, "ada@sales.example").await;
        let (bob, _) = sales_user(&t, "bob@sales.example").await;
        for id in [&ada, &bob] {
            let r = t.send(Method::PUT, &format!("/api/v1/reps/{id}"), Some(ADMIN_KEY), Some(json!({"team": "inside", "capacity": 2}))).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        }
        let mut agreement = t.get("/api/v1/agreement").await.body["agreement"].clone();
        agreement["routing"] = json!([{"name": "inside sales", "assign": {"strategy": "round_robin", "team": "inside"}}]);
        assert_eq!(t.send(Method::PUT, "/api/v1/agreement", Some(ADMIN_KEY), Some(agreement)).await.status, StatusCode::OK);
        let mut leads = Vec::new();
        for i in 0..5 {
            let c = t.post("/api/v1/contacts", json!({"email": format!("buyer{i}@acme.example")})).await;
            assert_eq!(c.body["lifecycle_stage"], "lead", "{}", c.body);
            leads.push(c.body["id"].as_str().unwrap().to_string());
        }

        // Any grade, no engagement needed: the rescore job makes all five MQLs in one batch.
        let mut rules = t.get("/api/v1/scoring/rules").await.body["rules"].clone();
        rules["lifecycle"]["mql_min_fit_grade"] = json!("D");
        rules["lifecycle"]["mql_min_engagement"] = json!(0);
        let changed = t.send(Method::PUT, "/api/v1/scoring/rules", Some(ADMIN_KEY), Some(rules)).await;
        assert_eq!(changed.status, StatusCode::ACCEPTED, "{}", changed.body);
        while t.app.run_one_job("test-worker").await.unwrap() {}

        let mut by_rep: std::collections::BTreeMap<String, usize> = Default::default();
        let mut waiting = Vec::new();
        for id in &leads {
            let shown = t.get(&format!("/api/v1/contacts/{id}")).await;
            assert_eq!(shown.body["lifecycle_stage"], "mql", "{}", shown.body);
            let list = t.get(&format!("/api/v1/contacts/{id}/assignments")).await;
            assert_eq!(list.body.as_array().unwrap().len(), 1, "routed once: {}", list.body);
            match list.body[0]["rep_id"].as_str() {
                Some(rep) => *by_rep.entry(rep.to_string()).or_default() += 1,
                None => waiting.push(list.body[0]["why"].as_str().unwrap().to_string()),
            }
        }
        // Round-robin alternates and each rep's capacity of two holds within the batch.
        assert_eq!(by_rep, [(ada.clone(), 2), (bob.clone(), 2)].into_iter().collect(), "{waiting:?}");
        assert_eq!(waiting.len(), 1);
        assert!(waiting[0].contains("at capacity"), "{}", waiting[0]);
        for rep in [&ada, &bob] {
            let tasks = t.get(&format!("/api/v1/tasks?assignee_id={rep}")).await;
            let titles: Vec<&str> = tasks.body.as_array().unwrap().iter().map(|t| t["title"].as_str().unwrap()).collect();
            assert_eq!(titles, ["First contact with this new lead"; 2], "one task per lead received");
        }

        // One message per move and per assignment, in the same transaction as the moves.
        while t.app.deliver_webhooks().await.unwrap() > 0 {}
        let log = t.get(&format!("/api/v1/webhooks/{hook_id}/deliveries")).await;
        let count = |kind: &str| log.body.as_array().unwrap().iter().filter(|d| d["event_type"] == kind).count();
        assert_eq!((count("lifecycle.changed"), count("lead.assigned")), (5, 5), "{}", log.body);
        assert_eq!(receiver.seen.lock().unwrap().len(), 10);
    }

    async fn no_eligible_rep_leaves_the_lead_visibly_unassigned(t, clock) {
        let _ = &clock;
        let (ada, _) = sales_user(&t, "ada@sales.example").await;
        let r = t.send(Method::PUT, &format!("/api/v1/reps/{ada}"), Some(ADMIN_KEY), Some(json!({"countries": ["France"]}))).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let mut agreement = t.get("/api/v1/agreement").await.body["agreement"].clone();
        agreement["routing"] = json!([{"name": "France", "assign": {"strategy": "rep", "user_id": ada}}]);
        assert_eq!(t.send(Method::PUT, "/api/v1/agreement", Some(ADMIN_KEY), Some(agreement)).await.status, StatusCode::OK);
        let c = t.post("/api/v1/contacts", json!({"email": "x@germany.example", "country": "Germany"})).await;
        let cid = c.body["id"].as_str().unwrap().to_string();
        t.post(&format!("/api/v1/contacts/{cid}/lifecycle"), json!({"to": "mql"})).await;
        let queue = t.get("/api/v1/queue?unassigned=true").await;
        assert_eq!(queue.body.as_array().unwrap().len(), 1, "{}", queue.body);
        let why = queue.body[0]["why"].as_str().unwrap();
        assert!(why.contains("does not cover Germany"), "{why}");
        assert_eq!(queue.body[0]["sla"], "unassigned");
        let shown = t.get(&format!("/api/v1/contacts/{cid}")).await;
        assert_eq!(shown.body["email"], "x@germany.example", "{}", shown.body);
        assert_eq!(shown.body["assignment"]["why"], queue.body[0]["why"]);
        assert!(shown.body["assignment"]["rep_id"].is_null());
        // A person can still hand it to a rep of their choice; the deadline runs from then.
        let admin_principal = t.app.authenticate(ADMIN_KEY).await.unwrap();
        let by_hand = t.app.assign_to(&admin_principal, cid.parse().unwrap(), ada.parse().unwrap()).await.unwrap();
        assert_eq!(by_hand.rep_id.map(|r| r.to_string()), Some(ada.clone()));
        assert_eq!(by_hand.rule.as_deref(), Some("by hand"));
        assert!(by_hand.why.contains("assigned the lead to"), "{}", by_hand.why);
        assert!(by_hand.due_at.is_some());
        assert!(t.get("/api/v1/queue?unassigned=true").await.body.as_array().unwrap().is_empty());
        // Routing again looks for someone else: the only rep already has it, so nobody is left.
        let again = t.post(&format!("/api/v1/contacts/{cid}/route"), json!({})).await;
        assert_eq!(again.status, StatusCode::OK, "{}", again.body);
        assert!(again.body["rep_id"].is_null(), "{}", again.body);
        assert!(again.body["why"].as_str().unwrap().contains("already had this lead"), "{}", again.body);

        // Bad input names the field; a non-sales user cannot be a rep.
        let bad = t.send(Method::PUT, "/api/v1/agreement", Some(ADMIN_KEY), Some(json!({
            "routing": [{"name": "x", "assign": {"strategy": "rep", "user_id": "0192f7a4-5c1e-7b3a-9d2e-4f6a8b0c1d2e"}}],
            "first_touch": {"hot_minutes": 0, "warm_minutes": 60, "cold_minutes": 60},
            "reminder_minutes": 15, "on_breach": "flag", "recycle_days": 30, "follow_up_days": 2
        }))).await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
        assert_eq!(bad.field_errors(), vec!["first_touch.hot_minutes"]);
        let admin = t.get("/api/v1/users").await.body.as_array().unwrap()[0]["id"].as_str().unwrap().to_string();
        let not_sales = t.send(Method::PUT, &format!("/api/v1/reps/{admin}"), Some(ADMIN_KEY), Some(json!({}))).await;
        assert_eq!(not_sales.status, StatusCode::CONFLICT, "{}", not_sales.body);
        let bad_hours = t.send(Method::PUT, &format!("/api/v1/reps/{ada}"), Some(ADMIN_KEY),
            Some(json!({"working_hours": {"time_zone": "Mars/Base", "days": ["monday"], "start": "09:00", "end": "17:00"}}))).await;
        assert_eq!(bad_hours.field_errors(), vec!["working_hours.time_zone"]);
    }
}

api_tests! {
    async fn webhooks_to_internal_addresses_are_refused(t) {
        for url in ["http://127.0.0.1:9/hook", "http://169.254.169.254/latest/meta-data", "http://localhost:8080/x", "http://[::1]/x", "http://10.0.0.5/x"] {
            let r = t.post("/api/v1/webhooks", json!({"url": url, "event_types": ["lead.assigned"]})).await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{url}: {}", r.body);
            assert_eq!(r.field_errors(), vec!["url"], "{url}");
        }
        let r = t.post("/api/v1/webhooks", json!({"url": "ftp://example.com/x", "event_types": ["lead.created"]})).await;
        assert_eq!(r.field_errors(), vec!["url", "event_types[0]"]);
        let ok = t.post("/api/v1/webhooks", json!({"url": "https://hooks.example.com/leadgate", "event_types": ["lead.assigned"]})).await;
        assert_eq!(ok.status, StatusCode::CREATED, "{}", ok.body);
        assert!(ok.body["secret"].as_str().unwrap().starts_with("whsec_"));
        let id = ok.body["id"].as_str().unwrap();
        assert!(t.get(&format!("/api/v1/webhooks/{id}")).await.body.get("secret").is_none(), "the secret is shown once");
        let rotated = t.post(&format!("/api/v1/webhooks/{id}/rotate-secret"), json!({})).await;
        assert_eq!(rotated.body["secrets_in_use"], 2);
        let marketing = t.user_key("m@test.example", "marketing").await;
        let denied = t.send(Method::GET, "/api/v1/webhooks", Some(&marketing), None).await;
        assert_eq!(denied.status, StatusCode::FORBIDDEN);
    }
}

api_tests! {
    async fn the_inbox_lists_hot_then_warm_then_cold_on_every_filter(t) {
        let now = jiff::Timestamp::now().to_string();
        let mut ids = std::collections::HashMap::new();
        for (name, events) in [
            ("cold", vec![]),
            ("warm", vec![json!({"kind": "webinar_attended"}), json!({"kind": "content_downloaded"}), json!({"kind": "page_view", "properties": {"url": "https://x.example/pricing"}})]),
            ("hot", vec![json!({"kind": "quote_request"})]),
            ("hot2", vec![json!({"kind": "demo_request"}), json!({"kind": "page_view", "properties": {"url": "https://x.example/pricing"}})]),
        ] {
            let c = t.post("/api/v1/contacts", json!({"email": format!("{name}@inbox.example"), "first_name": name})).await;
            let id = c.body["id"].as_str().unwrap().to_string();
            let events: Vec<Value> = events
                .into_iter()
                .map(|mut e| {
                    e["contact_id"] = json!(id);
                    e["occurred_at"] = json!(now);
                    e
                })
                .collect();
            if !events.is_empty() {
                assert_eq!(t.post("/api/v1/events/batch", json!({"events": events})).await.status, StatusCode::CREATED);
            }
            ids.insert(name, id);
        }
        let principal = t.app.authenticate(ADMIN_KEY).await.unwrap();
        let names = |rows: Vec<leadgate_store::web::InboxRow>| -> Vec<String> {
            rows.into_iter().map(|r| r.first_name.unwrap_or_default()).collect()
        };
        let all = t.app.inbox(&principal, &Default::default(), 50, 0).await.unwrap();
        let temps: Vec<Option<String>> = all.iter().map(|r| r.temperature.clone()).collect();
        let order = names(all);
        assert_eq!(order.len(), 4);
        assert_eq!(&order[2..], ["warm", "cold"], "{order:?} {temps:?}");
        assert_eq!(order[0], "hot2", "among hot leads, the most engaged first: {order:?}");
        let page2 = t.app.inbox(&principal, &Default::default(), 2, 2).await.unwrap();
        assert_eq!(names(page2), ["warm", "cold"], "pages continue where the last stopped");
        // Every page is its slice of the whole list, wherever it starts and ends across the
        // temperatures (each temperature is read by its own query).
        for offset in 0..6 {
            for limit in 1..5 {
                let page = names(t.app.inbox(&principal, &Default::default(), limit, offset).await.unwrap());
                let (from, to) = ((offset as usize).min(4), ((offset + limit) as usize).min(4));
                assert_eq!(page, order[from..to], "limit {limit}, offset {offset}");
            }
        }
        let hot = leadgate_store::web::InboxFilter { temperature: Some("hot".into()), ..Default::default() };
        assert_eq!(names(t.app.inbox(&principal, &hot, 50, 0).await.unwrap()), ["hot2", "hot"]);
        let text = leadgate_store::web::InboxFilter { text: Some("WARM@inbox".into()), ..Default::default() };
        assert_eq!(names(t.app.inbox(&principal, &text, 50, 0).await.unwrap()), ["warm"]);
        let stage = leadgate_store::web::InboxFilter { stage: Some("customer".into()), ..Default::default() };
        assert!(t.app.inbox(&principal, &stage, 50, 0).await.unwrap().is_empty());
        // The page's default leaves out disqualified contacts (and customers).
        let cold = &ids["cold"];
        let moved = t.post(&format!("/api/v1/contacts/{cold}/lifecycle"), json!({"to": "disqualified", "reason": "student"})).await;
        assert_eq!(moved.status, StatusCode::OK, "{}", moved.body);
        let open = leadgate_store::web::InboxFilter { open_only: true, ..Default::default() };
        assert_eq!(names(t.app.inbox(&principal, &open, 50, 0).await.unwrap()), ["hot2", "hot", "warm"]);
        assert_eq!(t.app.inbox(&principal, &Default::default(), 50, 0).await.unwrap().len(), 4);
    }
}

handoff_tests! {
    async fn a_missed_deadline_gives_the_manager_a_task(t, clock) {
        let at = |s: &str| -> jiff::Timestamp { s.parse().unwrap() };
        let (ada, _) = sales_user(&t, "ada@sales.example").await;
        let manager = t.get("/api/v1/me").await.body["id"].as_str().unwrap().to_string();
        let r = t.send(Method::PUT, &format!("/api/v1/reps/{ada}"), Some(ADMIN_KEY), Some(json!({"manager_id": manager}))).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let mut agreement = t.get("/api/v1/agreement").await.body["agreement"].clone();
        agreement["routing"] = json!([{"name": "all", "assign": {"strategy": "rep", "user_id": ada}}]);
        agreement["on_breach"] = json!("notify_manager");
        assert_eq!(t.send(Method::PUT, "/api/v1/agreement", Some(ADMIN_KEY), Some(agreement)).await.status, StatusCode::OK);
        clock.set(at("2026-11-24T10:00:00Z"));
        let c = t.post("/api/v1/contacts", json!({"email": "late@buyer.example"})).await;
        let cid = c.body["id"].as_str().unwrap().to_string();
        t.post(&format!("/api/v1/contacts/{cid}/lifecycle"), json!({"to": "mql"})).await;
        assert!(t.get("/api/v1/tasks").await.body.as_array().unwrap().is_empty(), "the manager has nothing yet");
        // Cold lead: three working days (24 working hours) from Tuesday 10:00 is Friday 10:00.
        clock.set(at("2026-11-27T09:59:00Z"));
        assert_eq!(t.app.run_timers().await.unwrap(), 1, "only the reminder");
        clock.set(at("2026-11-27T10:00:00Z"));
        // The breach, the rep's first-contact task falling due, and the manager's new task.
        assert_eq!(t.app.run_timers().await.unwrap(), 3);
        let tasks = t.get("/api/v1/tasks").await;
        let list = tasks.body.as_array().unwrap();
        assert_eq!(list.len(), 1, "{}", tasks.body);
        assert_eq!(list[0]["contact_id"], json!(cid));
        assert!(list[0]["title"].as_str().unwrap().contains("missed the first-touch deadline"));
        let a = t.get(&format!("/api/v1/contacts/{cid}/assignments")).await;
        assert_eq!(a.body[0]["rep_id"], json!(ada), "the lead stays with the rep: the manager follows up");
        assert_eq!(a.body[0]["sla"], "breached");
    }
}

capture_tests! {
    async fn web_sessions_end_when_idle_and_are_forgotten(t, clock) {
        let me = t.get("/api/v1/me").await.body["id"].as_str().unwrap().to_string();
        let short = t.send(Method::PUT, &format!("/api/v1/users/{me}/password"), Some(ADMIN_KEY), Some(json!({"password": "short"}))).await;
        assert_eq!(short.field_errors(), vec!["password"]);
        let set = t.send(Method::PUT, &format!("/api/v1/users/{me}/password"), Some(ADMIN_KEY), Some(json!({"password": "correct horse battery"}))).await;
        assert_eq!(set.status, StatusCode::NO_CONTENT);
        assert!(t.app.sign_in("admin@test.example", "wrong horse battery").await.is_err());
        assert!(t.app.sign_in("nobody@test.example", "correct horse battery").await.is_err());
        let token = t.app.sign_in("ADMIN@test.example", "correct horse battery").await.unwrap();
        assert_eq!(t.app.web_session(&token).await.unwrap().principal.user.id.to_string(), me);
        clock.advance(jiff::SignedDuration::from_hours(11));
        assert!(t.app.web_session(&token).await.is_ok(), "used within the idle limit");
        clock.advance(jiff::SignedDuration::from_hours(13));
        assert_eq!(t.app.purge_expired_sessions().await.unwrap(), 1);
        let err = t.app.web_session(&token).await.unwrap_err();
        assert!(err.to_string().contains("sign in again"), "{err}");
        // A new password ends every other session.
        let a = t.app.sign_in("admin@test.example", "correct horse battery").await.unwrap();
        let principal = t.app.authenticate(ADMIN_KEY).await.unwrap();
        let change = leadgate_app::web::PasswordChange {
            password: "another good password",
            current: Some("correct horse battery"),
            revoke_api_keys: false,
        };
        t.app.change_password(&principal, principal.user.id, change).await.unwrap();
        assert!(t.app.web_session(&a).await.is_err());
    }
}

mod access;
mod analytics;
mod daily;
mod french;
mod nurture;
mod pipeline;
mod privacy;
mod regression;
mod trust;
