//! Trust (issue 19): background work that one bad input cannot stop, the same behaviour on both
//! databases under concurrency and with text PostgreSQL refuses, disk-full reporting, and
//! webhook targets that a proxy or an IPv6 form cannot smuggle inside.

use super::*;

/// Starts this app's job runner; stop it with the returned sender.
pub(super) fn start_runner(t: &TestApp) -> (tokio::sync::watch::Sender<bool>, tokio::task::JoinHandle<()>) {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let app = t.app.clone();
    let runner = tokio::spawn(async move { app.run_jobs("test-runner".into(), stopped).await });
    (stop, runner)
}

async fn enqueue(t: &TestApp, kind: &str, payload: Value, max_attempts: i64) -> String {
    let now = t.app.now();
    let mut tx = t.app.store.begin().await.unwrap();
    let job = tx
        .enqueue_job(
            leadgate_store::jobs::NewJob {
                id: leadgate_core::ids::JobId(uuid::Uuid::now_v7()),
                kind: kind.into(),
                payload,
                run_at: now,
                max_attempts,
                created_by: None,
            },
            now,
        )
        .await
        .unwrap();
    tx.commit().await.unwrap();
    job.id.to_string()
}

async fn wait_for_job(t: &TestApp, id: &str, done: &[&str]) -> Value {
    for _ in 0..300 {
        let job = t.get(&format!("/api/v1/jobs/{id}")).await;
        if done.contains(&job.body["state"].as_str().unwrap_or_default()) {
            return job.body;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("job {id} did not end");
}

api_tests! {
    async fn a_job_that_panics_fails_alone_and_the_runner_goes_on(t) {
        let (stop, runner) = start_runner(&t);
        let bad = enqueue(&t, "test.panic", json!({"message": "simulated bug in a job"}), 1).await;
        let parked = wait_for_job(&t, &bad, &["parked", "failed", "succeeded"]).await;
        assert_eq!(parked["state"], "parked", "{parked}");
        assert!(parked["last_error"].as_str().unwrap().contains("simulated bug in a job"), "{parked}");
        // The runner goes on: the next job runs.
        let rules = t.send(Method::PUT, "/api/v1/scoring/rules", Some(ADMIN_KEY),
            Some(serde_json::from_str(include_str!("../../../core/src/scoring/presets/b2b.json")).unwrap())).await;
        assert_eq!(rules.status, StatusCode::ACCEPTED, "{}", rules.body);
        let rescore = wait_for_job(&t, rules.body["rescore_job"].as_str().unwrap(), &["succeeded", "failed", "parked"]).await;
        assert_eq!(rescore["state"], "succeeded", "{rescore}");
        // And says so.
        let health = t.send(Method::GET, "/healthz", None, None).await;
        assert_eq!(health.status, StatusCode::OK, "{}", health.body);
        assert_eq!(health.body["job_runner"], "running");
        assert_eq!(health.body["job_panics"], 1);
        assert!(health.body["last_panic"].as_str().unwrap().contains("simulated bug"));
        let metrics = t.http.get(format!("{}/metrics", t.base)).send().await.unwrap().text().await.unwrap();
        assert!(metrics.contains("leadgate_job_panics_total 1"), "{metrics}");
        assert!(metrics.contains("leadgate_jobs{state=\"parked\"} 1"), "{metrics}");
        assert!(metrics.contains("leadgate_job_runner_up 1"), "{metrics}");
        stop.send(true).unwrap();
        runner.await.unwrap();
        let stopped = t.send(Method::GET, "/healthz", None, None).await;
        assert_eq!(stopped.body["job_runner"], "stopped");
    }

    async fn values_that_would_overflow_date_arithmetic_are_refused_at_validation(t) {
        let mut agreement = json!({"routing": [], "first_touch": {"hot_minutes": 4294967295u32, "warm_minutes": 480, "cold_minutes": 1440},
            "reminder_minutes": 15, "on_breach": "flag", "recycle_days": 30, "follow_up_days": 2});
        let r = t.send(Method::PUT, "/api/v1/agreement", Some(ADMIN_KEY), Some(agreement.clone())).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        assert_eq!(r.field_errors(), vec!["first_touch.hot_minutes"]);
        agreement["first_touch"]["hot_minutes"] = json!(60);
        agreement["reminder_minutes"] = json!(4294967295u32);
        agreement["routing"] = json!([{"name": "nul\u{0}name", "assign": {"strategy": "round_robin", "team": "x"}}]);
        let r = t.send(Method::PUT, "/api/v1/agreement", Some(ADMIN_KEY), Some(agreement.clone())).await;
        assert_eq!(r.field_errors(), vec!["routing[0].name", "reminder_minutes"], "{}", r.body);
        // 10,000 routing rules, a 1 MB name: refused with a clear error, not stored.
        agreement["reminder_minutes"] = json!(15);
        agreement["routing"] = json!((0..10_000).map(|i| json!({"name": format!("r{i}"), "assign": {"strategy": "round_robin", "team": "x"}})).collect::<Vec<_>>());
        assert_eq!(t.send(Method::PUT, "/api/v1/agreement", Some(ADMIN_KEY), Some(agreement.clone())).await.field_errors(), vec!["routing"]);
        agreement["routing"] = json!([{"name": "x".repeat(1_000_000), "assign": {"strategy": "round_robin", "team": "x"}}]);
        assert_eq!(t.send(Method::PUT, "/api/v1/agreement", Some(ADMIN_KEY), Some(agreement)).await.field_errors(), vec!["routing[0].name"]);
        // A working day shorter than half an hour, a task due in year 0, a period before time.
        let (rep, _) = sales_user(&t, "rep@sales.example").await;
        let r = t.send(Method::PUT, &format!("/api/v1/reps/{rep}"), Some(ADMIN_KEY), Some(json!({"working_hours": {"time_zone": "UTC", "days": ["monday"], "start": "09:00", "end": "09:01"}}))).await;
        assert_eq!(r.field_errors(), vec!["working_hours.end"], "{}", r.body);
        let c = t.post("/api/v1/contacts", json!({"email": "due@x.example"})).await;
        let task = t.post("/api/v1/tasks", json!({"contact_id": c.body["id"], "kind": "call", "title": "x", "due_at": "0000-01-01T00:00:00Z"})).await;
        assert_eq!(task.field_errors(), vec!["due_at"], "{}", task.body);
        let metrics = t.get("/api/v1/handoff/metrics?to=-009999-01-02T00:00:00Z").await;
        assert_eq!(metrics.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", metrics.body);
    }

    async fn concurrent_accept_and_reject_of_one_lead_never_fail_with_a_server_error(t) {
        let mut leads = Vec::new();
        for i in 0..20 {
            let c = t.post("/api/v1/contacts", json!({"email": format!("race{i}@x.example")})).await;
            let id = c.body["id"].as_str().unwrap().to_string();
            assert_eq!(t.post(&format!("/api/v1/contacts/{id}/lifecycle"), json!({"to": "mql"})).await.status, StatusCode::OK);
            leads.push(id);
        }
        let mut statuses = Vec::new();
        for id in &leads {
            let (accept_path, reject_path) = (format!("/api/v1/contacts/{id}/accept"), format!("/api/v1/contacts/{id}/reject"));
            let accept = t.send(Method::POST, &accept_path, Some(ADMIN_KEY), None);
            let reject = t.send(Method::POST, &reject_path, Some(ADMIN_KEY), Some(json!({"reason": "no_budget"})));
            let (a, r) = tokio::join!(accept, reject);
            statuses.push((a.status, r.status, a.body, r.body));
        }
        for (a, r, ab, rb) in &statuses {
            for (s, b) in [(a, ab), (r, rb)] {
                assert!(s.is_success() || *s == StatusCode::CONFLICT, "{s}: {b}");
            }
        }
        // Each lead ends in one consistent state: nurturing (rejected last) or still an accepted MQL.
        for id in &leads {
            let l = t.get(&format!("/api/v1/contacts/{id}/lifecycle")).await.body;
            let ok = (l["stage"] == "nurturing" && l["sales_accepted"] == false) || (l["stage"] == "mql" && l["sales_accepted"] == true);
            assert!(ok, "{l}");
        }
    }

    async fn text_postgresql_cannot_store_is_refused_on_both_databases(t) {
        // Fields validation knows about answer with the field…
        let r = t.post("/api/v1/webhooks", json!({"url": "https://hooks.example.com/x", "event_types": ["*"], "description": "a\u{0}b"})).await;
        assert_eq!(r.field_errors(), vec!["description"], "{}", r.body);
        // …and any other text reaching storage is refused the same way on both databases.
        let mut tx = t.app.store.begin().await.unwrap();
        let err = tx.put_setting("probe", "nul\u{0}inside").await.unwrap_err();
        assert!(matches!(err, leadgate_store::StoreError::InvalidText), "{err}");
    }
}

handoff_tests! {
    async fn webhooks_never_go_through_a_proxy_from_the_environment(t, _clock) {
        // A proxy that does not exist: a delivery through it would fail.
        // SAFETY: nextest runs each test in its own process; nothing else reads these here.
        unsafe {
            std::env::set_var("HTTP_PROXY", "http://127.0.0.1:9");
            std::env::set_var("HTTPS_PROXY", "http://127.0.0.1:9");
            std::env::set_var("ALL_PROXY", "http://127.0.0.1:9");
        }
        let receiver = webhook_receiver(0).await;
        let hook = t.post("/api/v1/webhooks", json!({"url": receiver.url, "event_types": ["contact.created"]})).await;
        assert_eq!(hook.status, StatusCode::CREATED, "{}", hook.body);
        t.post("/api/v1/contacts", json!({"email": "direct@x.example"})).await;
        assert_eq!(t.app.deliver_webhooks().await.unwrap(), 1);
        assert_eq!(receiver.seen.lock().unwrap().len(), 1, "delivered directly, not to the proxy");
    }
}

api_tests! {
    async fn internal_webhook_targets_are_refused_at_subscription_in_every_spelling(t) {
        for url in ["https://localhost./hook", "https://LOCALHOST./hook", "https://intranet/hook", "https://db.internal/hook",
                    "http://[::127.0.0.1]/hook", "http://[64:ff9b::a9fe:a9fe]/hook", "http://[2002:7f00:1::1]/hook",
                    "http://[fec0::1]/hook", "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/hook"] {
            let r = t.post("/api/v1/webhooks", json!({"url": url, "event_types": ["*"]})).await;
            assert_eq!(r.field_errors(), vec!["url"], "{url}: {}", r.body);
        }
        let ok = t.post("/api/v1/webhooks", json!({"url": "https://hooks.example.com./x", "event_types": ["*"]})).await;
        assert_eq!(ok.status, StatusCode::CREATED, "{}", ok.body);
    }
}

#[tokio::test]
async fn a_full_disk_is_named_in_answers_and_in_healthz() {
    // SQLite stops growing a database at max_page_count, answering SQLITE_FULL as on a full disk.
    let t = spawn_app(Backend::Sqlite).await;
    let c = t.post("/api/v1/contacts", json!({"email": "before@x.example"})).await;
    assert_eq!(c.status, StatusCode::CREATED);
    {
        let mut tx = t.app.store.begin().await.unwrap();
        let pages: i64 = tx.fetch_one("PRAGMA page_count", vec![]).await.unwrap().get(0).unwrap();
        tx.fetch_all(&format!("PRAGMA max_page_count = {pages}"), vec![]).await.unwrap();
        tx.commit().await.unwrap();
    }
    let mut refused = None;
    for i in 0..200 {
        let r = t.post("/api/v1/contacts", json!({"email": format!("full{i}@x.example"), "first_name": "x".repeat(190), "last_name": "y".repeat(190), "job_title": "z".repeat(190), "city": "w".repeat(190)})).await;
        if r.status != StatusCode::CREATED {
            refused = Some(r);
            break;
        }
    }
    let refused = refused.expect("the database filled up");
    assert_eq!(refused.status, StatusCode::INSUFFICIENT_STORAGE, "{}", refused.body);
    assert!(
        refused.body["detail"].as_str().unwrap().contains("disk holding the database is full"),
        "{}",
        refused.body
    );
    let health = t.send(Method::GET, "/healthz", None, None).await;
    assert_eq!(health.status, StatusCode::SERVICE_UNAVAILABLE, "{}", health.body);
    assert_eq!(health.body["status"], "disk full");
    // Reads still work.
    assert_eq!(
        t.get(&format!("/api/v1/contacts/{}", c.body["id"].as_str().unwrap())).await.status,
        StatusCode::OK
    );
    // Space again: the next write clears it.
    {
        let mut tx = t.app.store.begin().await.unwrap();
        tx.fetch_all("PRAGMA max_page_count = 1073741823", vec![]).await.unwrap();
        tx.commit().await.unwrap();
    }
    assert_eq!(
        t.post("/api/v1/contacts", json!({"email": "after@x.example"})).await.status,
        StatusCode::CREATED
    );
    assert_eq!(t.send(Method::GET, "/healthz", None, None).await.status, StatusCode::OK);
    t.stop().await;
}

/// A server whose web configuration is `web` (public URL, metrics token).
async fn spawn_with_web(backend: Backend, web: leadgate_server::WebConfig) -> TestApp {
    let db = TestDb::new(backend).await;
    let app = App::new(db.store.clone(), Arc::new(SystemClock));
    app.bootstrap_admin("admin@test.example", Some(ADMIN_KEY)).await.expect("bootstrap admin");
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = oneshot::channel::<()>();
    let state = AppState::new(app.clone()).with_web(web);
    let server = tokio::spawn(leadgate_server::serve(listener, state, async {
        let _ = stopped.await;
    }));
    TestApp { base, http: reqwest::Client::new(), app, db: Some(db), stop: Some(stop), server: Some(server) }
}

api_tests! {
    async fn pages_and_exports_carry_the_headers_that_protect_them(t) {
        let me = t.get("/api/v1/me").await.body["id"].as_str().unwrap().to_string();
        t.send(Method::PUT, &format!("/api/v1/users/{me}/password"), Some(ADMIN_KEY), Some(json!({"password": "correct horse battery"}))).await;
        let token = t.app.sign_in("admin@test.example", "correct horse battery").await.unwrap();
        for path in ["/leads", "/leads.csv", "/login", "/api/v1/contacts"] {
            let r = t.http.get(format!("{}{path}", t.base)).header("cookie", format!("lg_session={token}")).bearer_auth(ADMIN_KEY).send().await.unwrap();
            let h = r.headers();
            assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
            assert_eq!(h["x-frame-options"], "DENY", "{path}");
            assert!(h["content-security-policy"].to_str().unwrap().contains("frame-ancestors 'none'"), "{path}");
            assert_eq!(h["referrer-policy"], "same-origin", "{path}");
            assert_eq!(h["cache-control"], "no-store", "{path}: personal data is not cached");
        }
        // The tracker script may be cached; the hosted form may be framed by the sites it lists.
        let js = t.http.get(format!("{}/t.js", t.base)).send().await.unwrap();
        assert_ne!(js.headers()["cache-control"], "no-store");
        assert_eq!(t.post("/api/v1/forms", contact_form()).await.status, StatusCode::CREATED);
        let page = t.http.get(format!("{}/f/contact-us", t.base)).send().await.unwrap();
        assert_eq!(page.headers()["content-security-policy"], "frame-ancestors 'self' https://www.customer.example");
    }
}

#[tokio::test]
async fn behind_a_public_https_address_the_session_cookie_is_secure_and_host_bound() {
    let web = leadgate_server::WebConfig {
        public_url: Some(leadgate_server::WebConfig::parse_public_url("https://leads.example.com").unwrap()),
        ..Default::default()
    };
    let t = spawn_with_web(Backend::Sqlite, web).await;
    let me = t.get("/api/v1/me").await.body["id"].as_str().unwrap().to_string();
    t.send(
        Method::PUT,
        &format!("/api/v1/users/{me}/password"),
        Some(ADMIN_KEY),
        Some(json!({"password": "correct horse battery"})),
    )
    .await;
    let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let r = browser
        .post(format!("{}/login", t.base))
        .header("origin", &t.base)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("email=admin%40test.example&password=correct+horse+battery")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(
        cookie.starts_with("__Host-lg_session=") && cookie.contains("; Secure") && cookie.contains("Path=/"),
        "{cookie}"
    );
    assert!(!cookie.contains("Domain"), "{cookie}");
    let token = cookie.trim_start_matches("__Host-lg_session=").split(';').next().unwrap();
    let page = browser
        .get(format!("{}/leads", t.base))
        .header("cookie", format!("__Host-lg_session={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK, "the prefixed cookie is the session");
    assert!(leadgate_server::WebConfig::parse_public_url("https://leads.example.com/crm").is_err());
    assert!(leadgate_server::WebConfig::parse_public_url("ftp://leads.example.com").is_err());
    t.stop().await;
}

#[tokio::test]
async fn metrics_can_require_a_token() {
    let web = leadgate_server::WebConfig {
        metrics_token: Some("0123456789abcdef-metrics".into()),
        ..Default::default()
    };
    let t = spawn_with_web(Backend::Sqlite, web).await;
    let anonymous = t.http.get(format!("{}/metrics", t.base)).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let wrong = t
        .http
        .get(format!("{}/metrics", t.base))
        .bearer_auth("0123456789abcdef-metricz")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let right = t
        .http
        .get(format!("{}/metrics", t.base))
        .bearer_auth("0123456789abcdef-metrics")
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), StatusCode::OK);
    assert!(right.text().await.unwrap().contains("leadgate_db_up 1"));
    t.stop().await;
}

api_tests! {
    async fn files_requests_and_error_lists_have_sizes_they_cannot_exceed(t) {
        // A file of 100,000 columns declares nothing and says why.
        let header: Vec<String> = (0..100_000).map(|i| format!("c{i}")).collect();
        let wide = format!("Email,{}\na@b.example,{}\n", header.join(","), vec!["1"; 100_000].join(","));
        let up = upload(&t, "wide.csv", wide.as_bytes()).await;
        assert_eq!(up.status, StatusCode::CREATED, "{}", up.body);
        let preview = t.post("/api/v1/imports/preview", json!({"upload_id": up.body["id"], "entity": "contacts"})).await;
        assert_eq!(preview.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", preview.body);
        assert!(preview.body["detail"].as_str().unwrap().contains("at most 500 can be imported"), "{}", preview.body);
        // 300 new columns would pass the 200 custom fields a workspace may have.
        let header: Vec<String> = (0..300).map(|i| format!("Extra {i}")).collect();
        let many = format!("Email,{}\na@b.example,{}\n", header.join(","), vec!["x"; 300].join(","));
        let up = upload(&t, "many.csv", many.as_bytes()).await;
        let started = t.post("/api/v1/imports", json!({"upload_id": up.body["id"], "entity": "contacts"})).await;
        assert_eq!(started.status, StatusCode::ACCEPTED, "{}", started.body);
        assert!(t.app.run_one_job("test-worker").await.unwrap());
        let job = t.get(&format!("/api/v1/imports/{}", started.body["id"].as_str().unwrap())).await;
        assert_eq!(job.body["state"], "failed", "{}", job.body);
        assert!(job.body["last_error"].as_str().unwrap().contains("a workspace may have 200"), "{}", job.body);
        assert!(t.get("/api/v1/custom-fields").await.body.as_array().unwrap().is_empty(), "nothing declared");
        // Unknown fields of an import request are refused like every other body's.
        let unknown = t.post("/api/v1/imports", json!({"upload_id": up.body["id"], "entity": "contacts", "sheet": 2})).await;
        assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", unknown.body);
        // A thousand faults are answered with the first hundred and a count.
        let events: Vec<Value> = (0..1000).map(|_| json!({"email": "not-an-address", "kind": "page_view"})).collect();
        let bad = t.post("/api/v1/events/batch", json!({"events": events})).await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        let errors = bad.body["errors"].as_array().unwrap();
        assert_eq!(errors.len(), 101, "{}", bad.body);
        assert!(errors[100]["message"].as_str().unwrap().contains("900 more"), "{}", errors[100]);
    }
}

api_tests! {
    async fn every_creating_request_honours_its_idempotency_key(t) {
        let c = t.post("/api/v1/contacts", json!({"email": "idem@x.example"})).await;
        let cid = c.body["id"].as_str().unwrap().to_string();
        let me = t.get("/api/v1/me").await.body["id"].as_str().unwrap().to_string();
        let twice = async |path: &str, body: Value, key: &str| {
            let send = || t.http.post(format!("{}{path}", t.base)).bearer_auth(ADMIN_KEY).header("idempotency-key", key).json(&body).send();
            let first = send().await.unwrap();
            let (s1, b1) = (first.status(), first.text().await.unwrap());
            let second = send().await.unwrap();
            let replayed = second.headers().get("idempotent-replayed").map(|v| v.to_str().unwrap().to_string());
            let (s2, b2) = (second.status(), second.text().await.unwrap());
            assert!(s1.is_success(), "{path}: {s1} {b1}");
            assert_eq!((s2, b2.as_str(), replayed.as_deref()), (s1, b1.as_str(), Some("true")), "{path}");
        };
        twice("/api/v1/tasks", json!({"contact_id": cid, "kind": "call", "title": "Once", "due_at": "2026-12-24T10:00:00Z"}), "k-task").await;
        twice(&format!("/api/v1/contacts/{cid}/touches"), json!({"kind": "call", "outcome": "reached"}), "k-touch").await;
        twice(&format!("/api/v1/contacts/{cid}/consents"), json!({"purpose": "newsletter", "granted": true, "text": "News", "version": "1"}), "k-consent").await;
        twice("/api/v1/webhooks", json!({"url": "https://hooks.example.com/x", "event_types": ["*"]}), "k-hook").await;
        twice("/api/v1/custom-fields", json!({"entity": "contact", "key": "plan", "label": "Plan", "type": "text"}), "k-field").await;
        twice("/api/v1/requests", json!({"channel": "phone", "contact": {"email": "caller@x.example"}}), "k-request").await;
        twice("/api/v1/users", json!({"email": "once@x.example", "role": "sales"}), "k-user").await;
        twice("/api/v1/forms", json!({"slug": "once", "title": "Once", "fields": [{"name": "email", "label": "E-mail", "maps_to": "email", "required": true}]}), "k-form").await;
        // One effect each.
        assert_eq!(t.get(&format!("/api/v1/tasks?assignee_id={me}")).await.body.as_array().unwrap().iter().filter(|x| x["title"] == "Once").count(), 1);
        assert_eq!(t.get(&format!("/api/v1/contacts/{cid}/timeline")).await.body["items"].as_array().unwrap().iter().filter(|e| e["kind"] == "call_logged").count(), 1);
        assert_eq!(t.get(&format!("/api/v1/contacts/{cid}/consents")).await.body.as_array().unwrap().len(), 1);
        assert_eq!(t.get("/api/v1/webhooks").await.body.as_array().unwrap().len(), 1);
        assert_eq!(t.get("/api/v1/users").await.body.as_array().unwrap().iter().filter(|u| u["email"] == "once@x.example").count(), 1);
        // A created API key's secret is shown once: a retry is told, never given it again.
        let key = || t.http.post(format!("{}/api/v1/api-keys", t.base)).bearer_auth(ADMIN_KEY).header("idempotency-key", "k-api-key").json(&json!({"name": "ci"})).send();
        assert_eq!(key().await.unwrap().status(), StatusCode::CREATED);
        let again = key().await.unwrap();
        assert_eq!(again.status(), StatusCode::CONFLICT);
        assert!(!again.text().await.unwrap().contains("lg_"), "no secret in the answer");
        assert_eq!(t.get("/api/v1/api-keys").await.body.as_array().unwrap().iter().filter(|k| k["name"] == "ci").count(), 1);
        // The same key for another request is refused; a refused request frees its key.
        let other = t.http.post(format!("{}/api/v1/tasks", t.base)).bearer_auth(ADMIN_KEY).header("idempotency-key", "k-task")
            .json(&json!({"contact_id": cid, "kind": "call", "title": "Other", "due_at": "2026-12-24T10:00:00Z"})).send().await.unwrap();
        assert_eq!(other.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let bad = || t.http.post(format!("{}/api/v1/tasks", t.base)).bearer_auth(ADMIN_KEY).header("idempotency-key", "k-bad")
            .json(&json!({"contact_id": cid, "kind": "call", "title": "", "due_at": "2026-12-24T10:00:00Z"})).send();
        assert_eq!(bad().await.unwrap().status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(bad().await.unwrap().status(), StatusCode::UNPROCESSABLE_ENTITY, "refused again, not replayed as a success");
    }
}

/// Posts the sign-in form as a browser on this machine would.
async fn sign_in_form(t: &TestApp, email: &str, password: &str) -> reqwest::Response {
    let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let body = format!("email={}&password={}", urlencoding(email), urlencoding(password));
    browser
        .post(format!("{}/login", t.base))
        .header("origin", &t.base)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap()
}

fn urlencoding(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

pub(super) async fn give_admin_password(t: &TestApp, password: &str) {
    let me = t.get("/api/v1/me").await.body["id"].as_str().unwrap().to_string();
    let set = t
        .send(
            Method::PUT,
            &format!("/api/v1/users/{me}/password"),
            Some(ADMIN_KEY),
            Some(json!({"password": password})),
        )
        .await;
    assert_eq!(set.status, StatusCode::NO_CONTENT, "{}", set.body);
}

capture_tests! {
    async fn a_password_guesser_is_locked_out_even_with_the_right_password(t, clock) {
        give_admin_password(&t, "correct horse battery staple").await;
        let (mut checked, mut refused) = (0, 0);
        for i in 0..200 {
            let r = sign_in_form(&t, "admin@test.example", &format!("guess number {i}")).await;
            match r.status() {
                StatusCode::UNAUTHORIZED => checked += 1,
                StatusCode::TOO_MANY_REQUESTS => {
                    refused += 1;
                    let wait: i64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
                    assert!((1..=15).contains(&wait), "{wait}");
                }
                other => panic!("attempt {i}: {other}"),
            }
        }
        assert_eq!((checked, refused), (6, 194), "five free mistakes, then locked after the sixth");
        let right = sign_in_form(&t, "admin@test.example", "correct horse battery staple").await;
        assert_eq!(right.status(), StatusCode::TOO_MANY_REQUESTS, "locked even for the right password");
        assert!(right.text().await.unwrap().contains("Too many failed attempts"));
        // The same e-mail in another spelling is the same account.
        let other_case = sign_in_form(&t, "ADMIN@test.example", "correct horse battery staple").await;
        assert_eq!(other_case.status(), StatusCode::TOO_MANY_REQUESTS);
        // The wait doubles with each failure after it ends.
        clock.advance(jiff::SignedDuration::from_secs(16));
        assert_eq!(sign_in_form(&t, "admin@test.example", "one more guess").await.status(), StatusCode::UNAUTHORIZED);
        clock.advance(jiff::SignedDuration::from_secs(16));
        let r = sign_in_form(&t, "admin@test.example", "correct horse battery staple").await;
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS, "30 s now");
        clock.advance(jiff::SignedDuration::from_secs(15));
        let r = sign_in_form(&t, "admin@test.example", "correct horse battery staple").await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "the lock ends");
        // A success starts the count again.
        assert_eq!(sign_in_form(&t, "admin@test.example", "mistyped").await.status(), StatusCode::UNAUTHORIZED);
    }

    async fn one_address_spraying_many_accounts_is_locked_out(t, clock) {
        give_admin_password(&t, "correct horse battery staple").await;
        for i in 0..20 {
            let r = sign_in_form(&t, &format!("user{i}@test.example"), "Summer2026!").await;
            assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "attempt {i}");
        }
        assert_eq!(sign_in_form(&t, "user20@test.example", "Summer2026!").await.status(), StatusCode::UNAUTHORIZED);
        let r = sign_in_form(&t, "admin@test.example", "correct horse battery staple").await;
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS, "the address is locked after 21 failures");
        // The API and the CLI, which sign in with keys, are not affected; the lock ends.
        assert_eq!(t.get("/api/v1/me").await.status, StatusCode::OK);
        clock.advance(jiff::SignedDuration::from_secs(61));
        let r = sign_in_form(&t, "admin@test.example", "correct horse battery staple").await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
    }
}

api_tests! {
    async fn changing_ones_own_password_takes_the_current_one_and_a_hard_to_guess_one(t) {
        let me = t.get("/api/v1/me").await.body["id"].as_str().unwrap().to_string();
        let path = format!("/api/v1/users/{me}/password");
        let common = t.send(Method::PUT, &path, Some(ADMIN_KEY), Some(json!({"password": "password123"}))).await;
        assert_eq!(common.field_errors(), vec!["password"]);
        assert!(common.body.to_string().contains("too easy to guess"), "{}", common.body);
        let own_email = t.send(Method::PUT, &path, Some(ADMIN_KEY), Some(json!({"password": "admin@test.example"}))).await;
        assert_eq!(own_email.field_errors(), vec!["password"]);
        // The first password needs no current one.
        give_admin_password(&t, "correct horse battery staple").await;
        let without = t.send(Method::PUT, &path, Some(ADMIN_KEY), Some(json!({"password": "plum otter grammar"}))).await;
        assert_eq!(without.field_errors(), vec!["current_password"], "{}", without.body);
        let wrong = t.send(Method::PUT, &path, Some(ADMIN_KEY),
            Some(json!({"password": "plum otter grammar", "current_password": "not it at all"}))).await;
        assert_eq!(wrong.field_errors(), vec!["current_password"]);
        // Revoking the other keys keeps the one in use.
        let other = t.post("/api/v1/api-keys", json!({"name": "laptop"})).await;
        assert_eq!(other.status, StatusCode::CREATED, "{}", other.body);
        let other_secret = other.body["key"].as_str().unwrap().to_string();
        assert_eq!(t.send(Method::GET, "/api/v1/me", Some(&other_secret), None).await.status, StatusCode::OK);
        let ok = t.send(Method::PUT, &path, Some(ADMIN_KEY), Some(json!({
            "password": "plum otter grammar", "current_password": "correct horse battery staple", "revoke_api_keys": true,
        }))).await;
        assert_eq!(ok.status, StatusCode::NO_CONTENT, "{}", ok.body);
        assert_eq!(t.send(Method::GET, "/api/v1/me", Some(&other_secret), None).await.status, StatusCode::UNAUTHORIZED);
        assert_eq!(t.get("/api/v1/me").await.status, StatusCode::OK, "the key in use stays");
        assert!(t.app.sign_in("admin@test.example", "plum otter grammar").await.is_ok());
    }
}

fn limits(api_key: &str, anonymous: &str, form: &str) -> leadgate_server::ratelimit::RateLimits {
    use leadgate_server::ratelimit::Quota;
    leadgate_server::ratelimit::RateLimits {
        api_key: Quota::parse(api_key).unwrap(),
        api_anonymous: Quota::parse(anonymous).unwrap(),
        form: Quota::parse(form).unwrap(),
        ..Default::default()
    }
}

#[tokio::test]
async fn api_keys_have_a_quota_and_are_told_where_they_stand() {
    let web = leadgate_server::WebConfig { rate_limits: limits("5/1m", "3/1m", "off"), ..Default::default() };
    let t = spawn_with_web(Backend::Sqlite, web).await;
    let rep = t.user_key("rep@test.example", "sales").await;
    let header =
        |r: &reqwest::Response, name: &str| r.headers().get(name).map(|v| v.to_str().unwrap().to_string());
    // The rep's key was made with the admin's: the admin has 3 left of 5.
    let mut remaining = Vec::new();
    for _ in 0..3 {
        let r = t.http.get(format!("{}/api/v1/me", t.base)).bearer_auth(ADMIN_KEY).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(header(&r, "ratelimit-policy").unwrap(), "\"api-key\";q=5;w=60");
        remaining.push(header(&r, "ratelimit").unwrap());
    }
    assert!(remaining[0].starts_with("\"api-key\";r=2;t="), "{remaining:?}");
    assert!(remaining[2].starts_with("\"api-key\";r=0;t="), "{remaining:?}");
    let over = t.get("/api/v1/me").await;
    assert_eq!(over.status, StatusCode::TOO_MANY_REQUESTS, "{}", over.body);
    assert_eq!(over.body["type"].as_str().unwrap().rsplit('/').next(), Some("rate-limited"));
    assert!(over.body["detail"].as_str().unwrap().contains("5 requests every 60 seconds"), "{}", over.body);
    let r = t.http.get(format!("{}/api/v1/me", t.base)).bearer_auth(ADMIN_KEY).send().await.unwrap();
    let wait: u64 = header(&r, "retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    // Another key has its own quota; the public pages are not the API's.
    assert_eq!(t.send(Method::GET, "/api/v1/me", Some(&rep), None).await.status, StatusCode::OK);
    assert_eq!(t.http.get(format!("{}/healthz", t.base)).send().await.unwrap().status(), StatusCode::OK);
    t.stop().await;
}

#[tokio::test]
async fn guessing_api_keys_from_one_address_is_throttled() {
    let web = leadgate_server::WebConfig { rate_limits: limits("off", "3/1m", "off"), ..Default::default() };
    let t = spawn_with_web(Backend::Sqlite, web).await;
    for i in 0..3 {
        let guess = format!("lg_{i:0>48}");
        assert_eq!(
            t.send(Method::GET, "/api/v1/me", Some(&guess), None).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    let next = t
        .send(Method::GET, "/api/v1/me", Some("lg_000000000000000000000000000000000000000000000009"), None)
        .await;
    assert_eq!(next.status, StatusCode::TOO_MANY_REQUESTS, "{}", next.body);
    assert_eq!(t.send(Method::GET, "/api/v1/me", None, None).await.status, StatusCode::TOO_MANY_REQUESTS);
    t.stop().await;
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_visitor_has_its_own_form_quota() {
    let submit = |t: &TestApp, forwarded: &'static str| {
        let req = t
            .http
            .post(format!("{}/f/contact-us/submit", t.base))
            .header("x-forwarded-for", forwarded)
            .header("content-type", "application/x-www-form-urlencoded")
            .body("email=a%40b.example");
        async move { req.send().await.unwrap() }
    };
    // Without --trusted-proxy, the header is the client's word: everyone is the peer.
    let web = leadgate_server::WebConfig { rate_limits: limits("off", "off", "2/1m"), ..Default::default() };
    let t = spawn_with_web(Backend::Sqlite, web).await;
    assert_eq!(t.post("/api/v1/forms", contact_form()).await.status, StatusCode::CREATED);
    let statuses: Vec<u16> =
        [submit(&t, "203.0.113.1").await, submit(&t, "203.0.113.2").await, submit(&t, "203.0.113.3").await]
            .iter()
            .map(|r| r.status().as_u16())
            .collect();
    assert_eq!(statuses[2], 429, "{statuses:?}");
    t.stop().await;
    let web = leadgate_server::WebConfig {
        rate_limits: limits("off", "off", "2/1m"),
        trusted_proxies: vec!["127.0.0.1".parse().unwrap()],
        ..Default::default()
    };
    let t = spawn_with_web(Backend::Sqlite, web).await;
    assert_eq!(t.post("/api/v1/forms", contact_form()).await.status, StatusCode::CREATED);
    for visitor in ["203.0.113.1", "203.0.113.2", "203.0.113.3"] {
        assert_ne!(submit(&t, visitor).await.status(), StatusCode::TOO_MANY_REQUESTS, "{visitor}");
    }
    submit(&t, "203.0.113.1").await;
    let third = submit(&t, "6.6.6.6, 203.0.113.1").await;
    assert_eq!(
        third.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "what the visitor wrote to the left is not believed"
    );
    assert!(third.headers().contains_key("retry-after"));
    t.stop().await;
}

/// Renders the form, waits as a person would, and submits `fields` with the page's token.
async fn fill_in(
    t: &TestApp,
    clock: &leadgate_app::ManualClock,
    fields: &[(&str, &str)],
) -> (reqwest::Response, String) {
    let token = form_token(t, "contact-us").await;
    clock.advance(jiff::SignedDuration::from_secs(10));
    let mut all = fields.to_vec();
    all.push(("_lg_token", &token));
    (post_form(t, "contact-us", &all, None).await, token)
}

async fn rejected(t: &TestApp, form_id: &str) -> Value {
    t.get(&format!("/api/v1/forms/{form_id}")).await.body["rejected"].clone()
}

capture_tests! {
    async fn a_form_token_serves_one_submission(t, clock) {
        let form = t.post("/api/v1/forms", contact_form()).await.body["id"].as_str().unwrap().to_string();
        let (r, token) = fill_in(&t, &clock, &[("email", "first@customer.example")]).await;
        assert_eq!(r.status(), StatusCode::OK);
        // Seven: the address's own limit (ten a minute) is not what this test is about.
        for i in 0..7 {
            let email = format!("replay{i}@customer.example");
            let r = post_form(&t, "contact-us", &[("email", &email), ("_lg_token", &token)], None).await;
            assert_eq!(r.status(), StatusCode::OK, "a replay is thanked like a person, and learns nothing");
        }
        let stored = t.get("/api/v1/contacts?q=customer.example").await;
        assert_eq!(stored.body["items"].as_array().unwrap().len(), 1, "{}", stored.body);
        assert_eq!(rejected(&t, &form).await["token_reused"], 7);
        // A refused submission (a typo) leaves the token usable: the person corrects and sends.
        let token = form_token(&t, "contact-us").await;
        clock.advance(jiff::SignedDuration::from_secs(10));
        let typo = post_form(&t, "contact-us", &[("email", "nope"), ("_lg_token", &token)], None).await;
        assert_eq!(typo.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let fixed = post_form(&t, "contact-us", &[("email", "second@customer.example"), ("_lg_token", &token)], None).await;
        assert_eq!(fixed.status(), StatusCode::OK);
        assert_eq!(t.get("/api/v1/contacts?q=second@customer").await.body["items"].as_array().unwrap().len(), 1);
        // Used tokens are forgotten once they would have expired anyway.
        clock.advance(jiff::SignedDuration::from_hours(25));
        assert!(t.app.purge_idempotency_keys().await.unwrap() >= 2);
    }

    async fn an_anonymous_submission_cannot_change_an_existing_contacts_consent_or_data(t, clock) {
        let form = t.post("/api/v1/forms", contact_form()).await.body["id"].as_str().unwrap().to_string();
        let made = t.post("/api/v1/contacts", json!({"email": "ceo@customer.example", "first_name": "Grace"})).await;
        let id = made.body["id"].as_str().unwrap().to_string();
        let granted = t.post(&format!("/api/v1/contacts/{id}/consents"),
            json!({"purpose": "newsletter", "granted": true, "text": "Newsletter, agreed by phone", "version": "phone"})).await;
        assert_eq!(granted.status, StatusCode::CREATED);
        // Someone types her e-mail: unticks the newsletter, ticks being called by sales.
        let (r, _) = fill_in(&t, &clock, &[
            ("email", "CEO@customer.example"), ("first_name", "Mallory"), ("consent_commercial_prospecting", "on"),
        ]).await;
        assert_eq!(r.status(), StatusCode::OK);
        let contact = t.get(&format!("/api/v1/contacts/{id}")).await;
        assert_eq!(contact.body["first_name"], "Grace", "stored values are never changed by a form");
        let consents = t.get(&format!("/api/v1/contacts/{id}/consents")).await;
        assert_eq!(consents.body.as_array().unwrap().len(), 1, "consent unchanged: {}", consents.body);
        assert_eq!(consents.body[0]["granted"], true);
        let requests = t.get(&format!("/api/v1/contacts/{id}/consent-requests")).await;
        let requests = requests.body.as_array().unwrap().clone();
        assert_eq!(requests.len(), 2, "{requests:?}");
        let news = requests.iter().find(|r| r["purpose"] == "newsletter").unwrap();
        assert_eq!((news["granted"].as_bool(), news["status"].as_str()), (Some(false), Some("pending")));
        assert_eq!(news["ip"], "127.0.0.1");
        let sales = requests.iter().find(|r| r["purpose"] == "commercial_prospecting").unwrap();
        assert_eq!(sales["granted"], true);
        assert_eq!(sales["text"], "A sales rep may contact me about my request");
        // The same answers as the stored state ask nothing.
        let (_, _) = fill_in(&t, &clock, &[("email", "ceo@customer.example"), ("consent_newsletter", "on")]).await;
        let again = t.get(&format!("/api/v1/contacts/{id}/consent-requests")).await;
        assert_eq!(again.body.as_array().unwrap().len(), 2, "{}", again.body);
        // A new contact's own answers are its consent.
        fill_in(&t, &clock, &[("email", "new@customer.example"), ("consent_newsletter", "on")]).await;
        let new = t.get("/api/v1/contacts?email=new@customer.example").await.body["items"][0]["id"].as_str().unwrap().to_string();
        let own = t.get(&format!("/api/v1/contacts/{new}/consents")).await;
        assert_eq!(own.body.as_array().unwrap().len(), 2);
        assert_eq!(rejected(&t, &form).await, json!({}));
    }

    async fn one_email_is_submitted_a_few_times_an_hour_at_most(t, clock) {
        let form = t.post("/api/v1/forms", contact_form()).await.body["id"].as_str().unwrap().to_string();
        for _ in 0..5 {
            let (r, _) = fill_in(&t, &clock, &[("email", "target@customer.example")]).await;
            assert_eq!(r.status(), StatusCode::OK);
        }
        let id = t.get("/api/v1/contacts?email=target@customer.example").await.body["items"][0]["id"].as_str().unwrap().to_string();
        let events = || async { t.get(&format!("/api/v1/contacts/{id}/timeline")).await.body["items"].as_array().unwrap().len() };
        assert_eq!(events().await, 5);
        fill_in(&t, &clock, &[("email", "target@customer.example")]).await;
        assert_eq!(events().await, 5, "the sixth in an hour pushes nothing");
        assert_eq!(rejected(&t, &form).await["email_rate_limited"], 1);
        clock.advance(jiff::SignedDuration::from_hours(1));
        fill_in(&t, &clock, &[("email", "target@customer.example")]).await;
        assert_eq!(events().await, 6);
    }
}

#[tokio::test]
async fn a_form_accepts_so_many_submissions_from_all_addresses_together() {
    let web = leadgate_server::WebConfig {
        rate_limits: leadgate_server::ratelimit::RateLimits {
            form: None,
            form_total: leadgate_server::ratelimit::Quota::parse("2/1m").unwrap(),
            ..Default::default()
        },
        ..Default::default()
    };
    let t = spawn_with_web(Backend::Sqlite, web).await;
    let form = t.post("/api/v1/forms", contact_form()).await.body["id"].as_str().unwrap().to_string();
    for _ in 0..2 {
        assert_ne!(
            post_form(&t, "contact-us", &[("email", "x@y.example")], None).await.status(),
            StatusCode::TOO_MANY_REQUESTS
        );
    }
    let third = post_form(&t, "contact-us", &[("email", "x@y.example")], None).await;
    assert_eq!(third.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(rejected(&t, &form).await["form_rate_limited"], 1);
    t.stop().await;
}

api_tests! {
    async fn an_import_job_taken_over_mid_file_counts_each_row_once(t) {
        let mut csv = String::from("Email,First name\n");
        for i in 0..10 {
            csv.push_str(&format!("row{i}@import.example,Row {i}\n"));
        }
        let up = upload(&t, "rows.csv", csv.as_bytes()).await;
        let started = t.post("/api/v1/imports", json!({"upload_id": up.body["id"], "entity": "contacts"})).await;
        let job = started.body["id"].as_str().unwrap().to_string();
        // A first worker committed the chunk of lines 2–6 (five new contacts) with its
        // checkpoint, then stopped: what another worker then finds.
        for i in 0..5 {
            t.post("/api/v1/contacts", json!({"email": format!("row{i}@import.example"), "first_name": format!("Row {i}")})).await;
        }
        let counts = json!({"rows": 5, "created": 5, "updated": 0, "unchanged": 0, "rejected": 0, "companies_created": 0,
            "delimiter": ",", "decoded_as": null, "custom_fields": [], "resumed_after_line": null, "kept_fields": {}});
        let mut tx = t.app.store.begin().await.unwrap();
        tx.execute(
            "UPDATE jobs SET checkpoint = $2, progress_done = 5 WHERE id = $1",
            vec![uuid::Uuid::parse_str(&job).unwrap().into(), json!({"line": 6, "summary": counts}).to_string().into()],
        ).await.unwrap();
        tx.commit().await.unwrap();
        assert!(t.app.run_one_job("second-worker").await.unwrap());
        let done = t.get(&format!("/api/v1/imports/{job}")).await;
        assert_eq!(done.body["state"], "succeeded", "{}", done.body);
        assert_eq!(done.body["summary"]["rows"], 10, "{}", done.body);
        assert_eq!(done.body["summary"]["created"], 10, "the first worker's five and the second's five");
        assert_eq!(done.body["summary"]["resumed_after_line"], 6);
        let stored = t.get("/api/v1/contacts?q=import.example&limit=50").await;
        assert_eq!(stored.body["items"].as_array().unwrap().len(), 10);
    }
}
