//! Regression tests for defects found by using the product end to end (issue 18), each named
//! after what it protects and run on both databases.

use super::*;

/// Imports `csv` as contacts through the API and runs the job; returns the job's summary.
async fn import_contacts(t: &TestApp, csv: &[u8]) -> Value {
    import_contacts_with(t, csv, json!({})).await
}

/// [`import_contacts`] with more options of the request (`{"overwrite": true}`).
async fn import_contacts_with(t: &TestApp, csv: &[u8], options: Value) -> Value {
    let up = upload(t, "contacts.csv", csv).await;
    assert_eq!(up.status, StatusCode::CREATED, "{}", up.body);
    let mut request = json!({"upload_id": up.body["id"], "entity": "contacts"});
    request.as_object_mut().unwrap().extend(options.as_object().unwrap().clone());
    let started = t.post("/api/v1/imports", request).await;
    assert_eq!(started.status, StatusCode::ACCEPTED, "{}", started.body);
    assert!(t.app.run_one_job("test-worker").await.unwrap());
    let status = t.get(&format!("/api/v1/imports/{}", started.body["id"].as_str().unwrap())).await;
    assert_eq!(status.body["state"], "succeeded", "{}", status.body);
    status.body["summary"].clone()
}

fn emails_of(list: &Reply) -> Vec<String> {
    let mut v: Vec<String> = list.body["items"]
        .as_array()
        .unwrap_or_else(|| panic!("a list: {}", list.body))
        .iter()
        .map(|c| c["email"].as_str().unwrap_or_default().to_string())
        .collect();
    v.sort();
    v
}

api_tests! {
    async fn reimport_matches_companies_whatever_the_case_and_accents_of_their_names(t) {
        let file = "Email,Company\nemile@ecole.example,École Supérieure\nbea@batiment.example,Bâtiment Œuvre\n";
        let first = import_contacts(&t, file.as_bytes()).await;
        assert_eq!(first["companies_created"], 2, "{first}");
        let again = import_contacts(&t, file.as_bytes()).await;
        assert_eq!(again["companies_created"], 0, "{again}");
        // Another file spelling the same companies in capitals and without accents.
        let shouted = "Email,Company\nzoe@ecole.example,ÉCOLE SUPÉRIEURE\nluc@batiment.example,batiment oeuvre\n";
        let third = import_contacts(&t, shouted.as_bytes()).await;
        assert_eq!(third["companies_created"], 0, "{third}");
        let companies = t.get("/api/v1/companies?limit=50").await;
        let names: Vec<&str> = companies.body["items"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
        assert_eq!(names.len(), 2, "one company per name: {names:?}");
        let contacts = t.get("/api/v1/contacts?limit=50").await;
        let company_of = |email: &str| {
            contacts.body["items"].as_array().unwrap().iter().find(|c| c["email"] == email).unwrap()["company_id"].clone()
        };
        assert_eq!(company_of("emile@ecole.example"), company_of("zoe@ecole.example"));
        assert_eq!(company_of("bea@batiment.example"), company_of("luc@batiment.example"));
    }

    async fn search_ignores_accents_and_case_and_finds_company_names(t) {
        let co = t.post("/api/v1/companies", json!({"name": "Société Générale d'Études"})).await;
        assert_eq!(co.status, StatusCode::CREATED, "{}", co.body);
        for body in [
            json!({"email": "zoe@lefevre.example", "first_name": "Zoé", "last_name": "Lefèvre"}),
            json!({"email": "ana@else.example", "first_name": "Ana", "last_name": "Lefebvre", "company_id": co.body["id"]}),
        ] {
            let r = t.post("/api/v1/contacts", body).await;
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        }
        for (q, expected) in [
            ("zoe", vec!["zoe@lefevre.example"]),
            ("lefevre", vec!["zoe@lefevre.example"]),
            ("LEFÈVRE", vec!["zoe@lefevre.example"]),
            ("zoé lef", vec!["zoe@lefevre.example"]),
            ("generale", vec!["ana@else.example"]),
            ("etudes", vec!["ana@else.example"]),
        ] {
            let r = t.get(&format!("/api/v1/contacts?q={}", urlencode(q))).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.body);
            assert_eq!(emails_of(&r), expected, "q={q}");
        }
        let companies = t.get(&format!("/api/v1/companies?q={}", urlencode("GENERALE"))).await;
        assert_eq!(companies.body["items"].as_array().map(Vec::len), Some(1), "{}", companies.body);
    }
}

api_tests! {
    async fn import_preview_shows_the_rows_of_windows_1252_files(t) {
        // "Prénom" and "André" in Windows-1252, as old Excel exports write them; a choice
        // column whose values are in Windows-1252 too.
        let latin1 = b"Courriel;Pr\xe9nom;Statut\nada@acme.example;Andr\xe9;Int\xe9ress\xe9\nbob@acme.example;Bob;Froid\n";
        let utf8 = "Courriel;Prénom;Statut\nada@acme.example;André;Intéressé\nbob@acme.example;Bob;Froid\n";
        let mut samples = Vec::new();
        for file in [&latin1[..], utf8.as_bytes()] {
            let up = upload(&t, "leads.csv", file).await;
            assert_eq!(up.status, StatusCode::CREATED, "{}", up.body);
            let preview = t.post("/api/v1/imports/preview", json!({"upload_id": up.body["id"], "entity": "contacts"})).await;
            assert_eq!(preview.status, StatusCode::OK, "{}", preview.body);
            samples.push((preview.body["sample"].clone(), preview.body["decoded_as"].clone()));
        }
        assert_eq!(samples[0].0, json!([["ada@acme.example", "André", "Intéressé"], ["bob@acme.example", "Bob", "Froid"]]));
        assert_eq!(samples[0].0, samples[1].0, "both encodings preview alike");
        assert_eq!(samples[0].1, "windows-1252");
        assert_eq!(samples[1].1, Value::Null);
    }
}

capture_tests! {
    async fn a_form_refuses_posts_from_origins_it_does_not_list_whatever_the_content_type(t, clock) {
        let created = t.post("/api/v1/forms", contact_form()).await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        let token = form_token(&t, "contact-us").await;
        clock.advance(jiff::SignedDuration::from_secs(10));
        let body = format!("email=victim%40evil.example&_lg_token={token}");
        let multipart = format!("--b\r\nContent-Disposition: form-data; name=\"email\"\r\n\r\nvictim@evil.example\r\n--b\r\nContent-Disposition: form-data; name=\"_lg_token\"\r\n\r\n{token}\r\n--b--\r\n");
        let json_body = json!({"email": "victim@evil.example", "_lg_token": token}).to_string();
        for (content_type, payload, accept) in [
            ("application/x-www-form-urlencoded", body.clone(), "text/html"),
            ("text/plain", body.clone(), "text/html"),
            ("multipart/form-data; boundary=b", multipart, "text/html"),
            ("application/json", json_body.clone(), "application/json"),
            ("application/json", json_body, "*/*"),
        ] {
            let r = t.http.post(format!("{}/f/contact-us/submit", t.base))
                .header("origin", "https://evil.example")
                .header("content-type", content_type)
                .header("accept", accept)
                .body(payload)
                .send().await.unwrap();
            assert_eq!(r.status(), StatusCode::FORBIDDEN, "{content_type} from another origin");
        }
        let none = t.get("/api/v1/contacts?q=victim").await;
        assert_eq!(none.body["items"], json!([]), "nothing stored");
        let form = t.get(&format!("/api/v1/forms/{}", created.body["id"].as_str().unwrap())).await;
        assert_eq!(form.body["rejected"]["origin_not_allowed"], 5, "{}", form.body);
        // The listed origin and the hosted page itself are accepted, whatever the content type.
        for (origin, email) in [("https://www.customer.example", "ok1@customer.example"), (t.base.as_str(), "ok2@customer.example")] {
            // A token serves one submission.
            let token = form_token(&t, "contact-us").await;
            clock.advance(jiff::SignedDuration::from_secs(10));
            let r = t.http.post(format!("{}/f/contact-us/submit", t.base))
                .header("origin", origin)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(format!("email={}&_lg_token={token}", email.replace('@', "%40")))
                .send().await.unwrap();
            assert_eq!(r.status(), StatusCode::OK, "from {origin}");
        }
        let ok = t.get("/api/v1/contacts?q=customer.example").await;
        assert_eq!(emails_of(&ok), ["ok1@customer.example", "ok2@customer.example"]);
    }
}

capture_tests! {
    async fn retrying_an_event_is_safe_whatever_fields_were_defaulted(t, clock) {
        let id = "0192f7a4-5c1e-7b3a-9d2e-00000000e404";
        // No time, no source, no properties: every defaulted field.
        let event = json!({"id": id, "email": "retry@acme.example", "kind": "quote_request"});
        let first = t.post("/api/v1/events", event.clone()).await;
        assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
        clock.advance(jiff::SignedDuration::from_secs(3));
        let again = t.post("/api/v1/events", event.clone()).await;
        assert_eq!(again.status, StatusCode::CREATED, "a retry is not a conflict: {}", again.body);
        assert_eq!(again.body["duplicate"], true, "{}", again.body);
        // A time finer than storage keeps, sent twice, is the same event too.
        let precise = json!({"id": "0192f7a4-5c1e-7b3a-9d2e-00000000e405", "email": "retry@acme.example",
            "kind": "page_view", "occurred_at": "2026-11-24T09:00:00.123456789Z"});
        assert_eq!(t.post("/api/v1/events", precise.clone()).await.status, StatusCode::CREATED);
        let replay = t.post("/api/v1/events", precise).await;
        assert_eq!(replay.status, StatusCode::CREATED, "{}", replay.body);
        assert_eq!(replay.body["duplicate"], true, "{}", replay.body);
        // Content the sender gave still has to match.
        let mut other = event;
        other["kind"] = json!("demo_request");
        assert_eq!(t.post("/api/v1/events", other).await.status, StatusCode::CONFLICT);
        let timed = json!({"id": id, "email": "retry@acme.example", "kind": "quote_request", "occurred_at": "2026-11-01T10:00:00Z"});
        assert_eq!(t.post("/api/v1/events", timed).await.status, StatusCode::CONFLICT);
        let timeline = t.get(&format!("/api/v1/contacts/{}/timeline", first.body["contact_id"].as_str().unwrap())).await;
        assert_eq!(timeline.body["items"].as_array().unwrap().len(), 2, "{}", timeline.body);
    }
}

/// A rep working 09:00–17:00 UTC on weekdays who gets every lead, and the agreement's budgets
/// (minutes) for hot, warm and cold leads.
async fn one_rep_gets_everything(t: &TestApp, budgets: (u32, u32, u32)) -> (String, String) {
    let (rep, key) = sales_user(t, "rep@sales.example").await;
    let r = t.send(Method::PUT, &format!("/api/v1/reps/{rep}"), Some(ADMIN_KEY), Some(json!({
        "working_hours": {"time_zone": "UTC", "days": ["monday", "tuesday", "wednesday", "thursday", "friday"], "start": "09:00", "end": "17:00"}
    }))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let agreement = json!({
        "routing": [{"name": "all", "assign": {"strategy": "rep", "user_id": rep}}],
        "first_touch": {"hot_minutes": budgets.0, "warm_minutes": budgets.1, "cold_minutes": budgets.2},
        "reminder_minutes": 15, "on_breach": "flag", "recycle_days": 30, "follow_up_days": 2
    });
    let saved = t.send(Method::PUT, "/api/v1/agreement", Some(ADMIN_KEY), Some(agreement)).await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    (rep, key)
}

/// A new contact made an MQL by hand (routed to the rep); its id.
async fn new_mql(t: &TestApp, email: &str) -> String {
    let c = t.post("/api/v1/contacts", json!({"email": email})).await;
    assert_eq!(c.status, StatusCode::CREATED, "{}", c.body);
    let id = c.body["id"].as_str().unwrap().to_string();
    let moved = t.post(&format!("/api/v1/contacts/{id}/lifecycle"), json!({"to": "mql"})).await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.body);
    id
}

fn open_tasks(list: &Reply) -> Vec<String> {
    list.body
        .as_array()
        .unwrap_or_else(|| panic!("tasks: {}", list.body))
        .iter()
        .filter(|t| t["done_at"].is_null())
        .map(|t| t["purpose"].as_str().unwrap_or("by hand").to_string())
        .collect()
}

handoff_tests! {
    async fn the_first_touch_closes_the_first_contact_task(t, clock) {
        let (_, key) = one_rep_gets_everything(&t, (60, 480, 1440)).await;
        clock.set("2026-11-24T10:00:00Z".parse().unwrap());
        // Through the touches endpoint.
        let a = new_mql(&t, "a@buyer.example").await;
        assert_eq!(open_tasks(&t.send(Method::GET, "/api/v1/tasks", Some(&key), None).await), ["first_contact"]);
        let touch = t.send(Method::POST, &format!("/api/v1/contacts/{a}/touches"), Some(&key),
            Some(json!({"kind": "call", "outcome": "reached"}))).await;
        assert_eq!(touch.status, StatusCode::CREATED, "{}", touch.body);
        assert_eq!(touch.body["first_touch"], true);
        assert!(open_tasks(&t.send(Method::GET, "/api/v1/tasks", Some(&key), None).await).is_empty(), "nothing left to do");
        // Through a logged-call event.
        let b = new_mql(&t, "b@buyer.example").await;
        let call = t.post("/api/v1/events", json!({"contact_id": b, "kind": "call_logged"})).await;
        assert_eq!(call.status, StatusCode::CREATED, "{}", call.body);
        assert!(open_tasks(&t.send(Method::GET, "/api/v1/tasks", Some(&key), None).await).is_empty());
        // An unanswered call leaves a follow-up, which the next touch closes.
        let c = new_mql(&t, "c@buyer.example").await;
        let first = t.send(Method::POST, &format!("/api/v1/contacts/{c}/touches"), Some(&key),
            Some(json!({"kind": "call", "outcome": "no_reply"}))).await;
        assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
        assert_eq!(open_tasks(&t.send(Method::GET, "/api/v1/tasks", Some(&key), None).await), ["follow_up"]);
        let second = t.send(Method::POST, &format!("/api/v1/contacts/{c}/touches"), Some(&key),
            Some(json!({"kind": "email", "outcome": "reached"}))).await;
        assert_eq!(second.status, StatusCode::CREATED, "{}", second.body);
        assert!(open_tasks(&t.send(Method::GET, "/api/v1/tasks", Some(&key), None).await).is_empty());
        // A task a person made is theirs to close.
        let d = new_mql(&t, "d@buyer.example").await;
        let mine = t.send(Method::POST, "/api/v1/tasks", Some(&key),
            Some(json!({"contact_id": d, "kind": "meeting", "title": "Demo", "due_at": "2026-11-26T10:00:00Z"}))).await;
        assert_eq!(mine.status, StatusCode::CREATED, "{}", mine.body);
        t.send(Method::POST, &format!("/api/v1/contacts/{d}/touches"), Some(&key), Some(json!({"kind": "call", "outcome": "reached"}))).await;
        assert_eq!(open_tasks(&t.send(Method::GET, "/api/v1/tasks", Some(&key), None).await), ["by hand"]);
        // Nothing falls due afterwards.
        clock.set("2026-11-25T12:00:00Z".parse().unwrap());
        let tasks_due = t.app.run_timers().await.unwrap();
        assert_eq!(tasks_due, 0, "no closed task falls due");
    }

    async fn an_accepted_lead_stays_with_its_rep_and_in_their_work_lists(t, clock) {
        let (rep, key) = one_rep_gets_everything(&t, (60, 480, 1440)).await;
        let cid = new_mql(&t, "keep@buyer.example").await;
        clock.advance(jiff::SignedDuration::from_mins(5));
        let accepted = t.send(Method::POST, &format!("/api/v1/contacts/{cid}/accept"), Some(&key), None).await;
        assert_eq!(accepted.status, StatusCode::OK, "{}", accepted.body);
        assert_eq!(accepted.body["sales_accepted"], true);
        // Still the rep's: in their queue (as accepted), owner in the inbox, counted in their load.
        let queue = t.send(Method::GET, "/api/v1/queue", Some(&key), None).await;
        let line = &queue.body[0];
        assert_eq!(line["contact_id"], json!(cid), "{}", queue.body);
        assert_eq!(line["outcome"], "accepted");
        assert!(line["accepted_at"].is_string() && line["closed_at"].is_null(), "{line}");
        assert_eq!(line["sla"], "met", "accepting is a first touch in time");
        let contact = t.get(&format!("/api/v1/contacts/{cid}")).await;
        assert_eq!(contact.body["assignment"]["rep_id"], json!(rep), "{}", contact.body);
        let admin = t.app.authenticate(ADMIN_KEY).await.unwrap();
        let owner = leadgate_store::web::InboxFilter { owner: Some(rep.parse().unwrap()), ..Default::default() };
        let owned = t.app.inbox(&admin, &owner, 50, 0).await.unwrap();
        assert_eq!(owned.len(), 1, "the inbox shows the rep as owner");
        let reps = t.get("/api/v1/reps").await;
        assert_eq!(reps.body[0]["open"], 1, "{}", reps.body);
        assert!(open_tasks(&t.send(Method::GET, "/api/v1/tasks", Some(&key), None).await).is_empty(), "accepting did the first contact");
        // Accepting again changes nothing; rejecting later ends the ownership.
        let again = t.send(Method::POST, &format!("/api/v1/contacts/{cid}/accept"), Some(&key), None).await;
        assert_eq!(again.status, StatusCode::OK, "{}", again.body);
        let rejected = t.send(Method::POST, &format!("/api/v1/contacts/{cid}/reject"), Some(&key), Some(json!({"reason": "no_budget"}))).await;
        assert_eq!(rejected.status, StatusCode::OK, "{}", rejected.body);
        let queue = t.send(Method::GET, "/api/v1/queue", Some(&key), None).await;
        assert_eq!(queue.body, json!([]));
        let history = t.get(&format!("/api/v1/contacts/{cid}/assignments")).await;
        assert_eq!(history.body.as_array().unwrap().len(), 1, "{}", history.body);
        assert_eq!(history.body[0]["outcome"], "rejected");
        assert!(history.body[0]["accepted_at"].is_string());
    }

    async fn a_lead_turning_hot_before_its_first_touch_gets_the_hot_deadline(t, clock) {
        let receiver = webhook_receiver(0).await;
        let hook = t.post("/api/v1/webhooks", json!({"url": receiver.url, "event_types": ["lead.deadline_changed"]})).await;
        assert_eq!(hook.status, StatusCode::CREATED, "{}", hook.body);
        let (_, key) = one_rep_gets_everything(&t, (60, 480, 1440)).await;
        clock.set("2026-11-24T10:00:00Z".parse().unwrap());
        let cid = new_mql(&t, "warming@buyer.example").await;
        let before = t.get(&format!("/api/v1/contacts/{cid}/assignments")).await;
        assert_eq!(before.body[0]["temperature"], "cold", "{}", before.body);
        assert_eq!(before.body[0]["due_at"], "2026-11-27T10:00:00Z", "three working days");
        // An hour later it asks for a quote: hot. 60 working minutes from now.
        clock.set("2026-11-24T11:00:00Z".parse().unwrap());
        let quote = t.post("/api/v1/events", json!({"contact_id": cid, "kind": "quote_request"})).await;
        assert_eq!(quote.status, StatusCode::CREATED, "{}", quote.body);
        let after = t.get(&format!("/api/v1/contacts/{cid}/assignments")).await;
        let a = &after.body[0];
        assert_eq!(a["temperature"], "hot", "{a}");
        assert_eq!(a["due_at"], "2026-11-24T12:00:00Z");
        assert_eq!(a["retimed_at"], "2026-11-24T11:00:00Z");
        let tasks = t.send(Method::GET, "/api/v1/tasks", Some(&key), None).await;
        assert_eq!(tasks.body[0]["due_at"], "2026-11-24T12:00:00Z", "the first-contact task moved too");
        assert_eq!(t.app.deliver_webhooks().await.unwrap(), 1);
        let seen = receiver.seen.lock().unwrap().clone();
        let body: Value = serde_json::from_slice(&seen[0].1).unwrap();
        assert_eq!(body["type"], "lead.deadline_changed", "{body}");
        assert_eq!(body["data"]["previous_due_at"], "2026-11-27T10:00:00Z", "{body}");
        // A touched lead keeps its deadline whatever happens next.
        let other = new_mql(&t, "touched@buyer.example").await;
        t.send(Method::POST, &format!("/api/v1/contacts/{other}/touches"), Some(&key), Some(json!({"kind": "call", "outcome": "reached"}))).await;
        t.post("/api/v1/events", json!({"contact_id": other, "kind": "quote_request"})).await;
        let kept = t.get(&format!("/api/v1/contacts/{other}/assignments")).await;
        assert!(kept.body[0]["retimed_at"].is_null(), "{}", kept.body);
    }
}

api_tests! {
    async fn a_refused_new_user_is_not_created(t) {
        let bad = t.post("/api/v1/users", json!({"email": "sam@team.example", "role": "sales", "password": "short"})).await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
        assert_eq!(bad.field_errors(), vec!["password"]);
        let all = t.post("/api/v1/users", json!({"email": "not-an-email", "name": "a\u{0}b", "role": "sales", "password": "short"})).await;
        assert_eq!(all.field_errors(), vec!["email", "name", "password"], "every problem at once");
        let users = t.get("/api/v1/users").await;
        assert!(!users.body.to_string().contains("sam@team.example"), "nobody was created: {}", users.body);
        let ok = t.post("/api/v1/users", json!({"email": "sam@team.example", "role": "sales", "password": "correct horse battery"})).await;
        assert_eq!(ok.status, StatusCode::CREATED, "{}", ok.body);
        assert!(t.app.sign_in("sam@team.example", "correct horse battery").await.is_ok(), "the password was set with the user");
    }
}

api_tests! {
    async fn reimporting_keeps_values_changed_in_leadgate_since_the_last_import(t) {
        let file = b"Email,Country,City\nada@acme.example,France,Lyon\nbob@acme.example,France,Paris\n";
        let first = import_contacts(&t, file).await;
        assert_eq!(first["created"], 2, "{first}");
        let ada = t.get("/api/v1/contacts?email=ada@acme.example").await.body["items"][0]["id"].as_str().unwrap().to_string();
        let edited = t.patch(&format!("/api/v1/contacts/{ada}"), json!({"country": "Belgium"})).await;
        assert_eq!(edited.status, StatusCode::OK, "{}", edited.body);
        // The same file again: the correction stays and is reported; nothing else changes.
        let again = import_contacts(&t, file).await;
        assert_eq!(again["kept_fields"], json!({"country": 1}), "{again}");
        assert_eq!(again["unchanged"], 2, "{again}");
        assert_eq!(t.get(&format!("/api/v1/contacts/{ada}")).await.body["country"], "Belgium");
        // A newer file updates what nobody changed.
        let newer = b"Email,Country,City\nada@acme.example,France,Grenoble\nbob@acme.example,Spain,Madrid\n";
        let third = import_contacts(&t, newer).await;
        assert_eq!(third["updated"], 2, "{third}");
        let ada_now = t.get(&format!("/api/v1/contacts/{ada}")).await;
        assert_eq!((ada_now.body["country"].as_str(), ada_now.body["city"].as_str()), (Some("Belgium"), Some("Grenoble")));
        // Overwriting takes the file's value.
        let forced = import_contacts_with(&t, newer, json!({"overwrite": true})).await;
        assert_eq!(forced["kept_fields"], json!({}), "{forced}");
        assert_eq!(t.get(&format!("/api/v1/contacts/{ada}")).await.body["country"], "France");
    }
}

capture_tests! {
    async fn the_first_touch_comes_from_the_visitors_utm_tags_and_from_later_events(t, clock) {
        // A visitor arrives from the newsletter, then fills a form: the newsletter is its first touch.
        let visitor = "5f2a9c1e-0000-4000-8000-0000000000aa";
        let views = json!({"visitor": visitor, "views": [
            {"url": "https://www.customer.example/?utm_source=newsletter&utm_campaign=dec-launch", "title": "Home"},
            {"url": "https://www.customer.example/pricing", "title": "Pricing"}
        ]});
        let r = t.http.post(format!("{}/t/collect", t.base)).body(views.to_string()).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
        assert_eq!(t.post("/api/v1/forms", contact_form()).await.status, StatusCode::CREATED);
        let token = form_token(&t, "contact-us").await;
        clock.advance(jiff::SignedDuration::from_secs(30));
        let r = post_form(&t, "contact-us", &[("email", "reader@customer.example"), ("_lg_token", &token), ("_lg_visitor", visitor)], None).await;
        assert_eq!(r.status(), StatusCode::OK);
        let c = &t.get("/api/v1/contacts?email=reader@customer.example").await.body["items"][0];
        assert_eq!((c["source"].as_str(), c["campaign"].as_str()), (Some("newsletter"), Some("dec-launch")), "{c}");
        assert_eq!(c["last_touch_source"], "web form", "{c}");
        // Without earlier views, the form is the first touch.
        let token = form_token(&t, "contact-us").await;
        clock.advance(jiff::SignedDuration::from_secs(30));
        post_form(&t, "contact-us", &[("email", "direct@customer.example"), ("_lg_token", &token)], None).await;
        let d = &t.get("/api/v1/contacts?email=direct@customer.example").await.body["items"][0];
        assert_eq!((d["source"].as_str(), d["campaign"].as_str()), (Some("web form"), Some("spring-2026")), "{d}");

        // A contact created without a source takes its first touch from its first event with one,
        // and keeps it.
        let bare = t.post("/api/v1/contacts", json!({"email": "bare@acme.example"})).await;
        let id = bare.body["id"].as_str().unwrap().to_string();
        assert!(bare.body["source"].is_null());
        t.post("/api/v1/events", json!({"contact_id": id, "kind": "page_view", "source": "Google", "campaign": "brand"})).await;
        clock.advance(jiff::SignedDuration::from_secs(60));
        t.post("/api/v1/events", json!({"contact_id": id, "kind": "page_view", "source": "Bing"})).await;
        let now = t.get(&format!("/api/v1/contacts/{id}")).await;
        assert_eq!((now.body["source"].as_str(), now.body["campaign"].as_str()), (Some("Google"), Some("brand")));
        assert_eq!(now.body["last_touch_source"], "Bing");
    }
}

handoff_tests! {
    async fn deleting_a_contact_erases_it_from_the_webhook_delivery_log(t, _clock) {
        let receiver = webhook_receiver(0).await;
        let hook = t.post("/api/v1/webhooks", json!({"url": receiver.url, "event_types": ["contact.created", "contact.updated"]})).await;
        assert_eq!(hook.status, StatusCode::CREATED, "{}", hook.body);
        let hook_id = hook.body["id"].as_str().unwrap().to_string();
        let gone = t.post("/api/v1/contacts", json!({"email": "forget.me@private.example", "first_name": "Oubli"})).await;
        let kept = t.post("/api/v1/contacts", json!({"email": "stay@private.example"})).await;
        let gone_id = gone.body["id"].as_str().unwrap().to_string();
        // One message delivered, one still waiting when the contact is deleted.
        assert_eq!(t.app.deliver_webhooks().await.unwrap(), 2);
        t.patch(&format!("/api/v1/contacts/{gone_id}"), json!({"last_name": "Moi"})).await;
        assert_eq!(t.delete(&format!("/api/v1/contacts/{gone_id}")).await.status, StatusCode::NO_CONTENT);
        let log = t.get(&format!("/api/v1/webhooks/{hook_id}/deliveries")).await;
        let text = log.body.to_string();
        assert!(!text.contains("forget.me") && !text.contains("Oubli") && !text.contains(&gone_id), "{text}");
        assert!(text.contains("stay@private.example"), "other contacts' messages stay: {text}");
        assert_eq!(t.app.deliver_webhooks().await.unwrap(), 0, "the waiting message about the deleted contact is cancelled");
        let erased = log.body.as_array().unwrap().iter().find(|d| d["payload"] == json!({"erased": true})).expect("an erased message").clone();
        let again = t.send(Method::POST, &format!("/api/v1/webhook-deliveries/{}/redeliver", erased["id"].as_str().unwrap()), Some(ADMIN_KEY), None).await;
        assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
        assert!(kept.body["id"].is_string());
    }
}

api_tests! {
    async fn every_error_a_browser_reaches_is_a_page_of_the_ui(t) {
        let page = |path: &str, cookie: Option<String>, lang: &str| {
            let mut req = t.http.get(format!("{}{path}", t.base)).header("accept", "text/html,application/xhtml+xml").header("accept-language", lang);
            if let Some(c) = cookie {
                req = req.header("cookie", format!("lg_session={c}"));
            }
            async move {
                let r = req.send().await.unwrap();
                let status = r.status();
                let ctype = r.headers()["content-type"].to_str().unwrap().to_string();
                (status, ctype, r.text().await.unwrap())
            }
        };
        // Not signed in: a page with a way to sign in, in the browser's language.
        let (status, ctype, html) = page("/nowhere", None, "fr-FR").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(ctype.starts_with("text/html"), "{ctype}");
        assert!(html.contains("pas de page à cette adresse.") && html.contains("href=\"/login\""), "{html}");
        // An API client still gets a problem document.
        let api = t.get("/api/v1/nowhere").await;
        assert_eq!(api.status, StatusCode::NOT_FOUND);
        assert!(api.is_problem());
        // Signed in: inside the UI, with the navigation.
        let me = t.get("/api/v1/me").await.body["id"].as_str().unwrap().to_string();
        t.send(Method::PUT, &format!("/api/v1/users/{me}/password"), Some(ADMIN_KEY), Some(json!({"password": "correct horse battery"}))).await;
        let admin = t.app.sign_in("admin@test.example", "correct horse battery").await.unwrap();
        let (status, _, html) = page("/nowhere", Some(admin.clone()), "en").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(html.contains("<header>") && html.contains("There is no page at this address."), "{html}");
        let (status, ctype, html) = page("/leads?page=-1", Some(admin.clone()), "en").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(ctype.starts_with("text/html") && html.contains("<header>") && html.contains("This address is not valid"), "{html}");
        let (_, _, html) = page("/leads?page=-1", Some(admin), "fr").await;
        assert!(html.contains("est pas valide") && html.contains("lang=\"fr\""), "{html}");
        // A refused page keeps the navigation.
        t.post("/api/v1/users", json!({"email": "rep@team.example", "role": "sales", "password": "correct horse battery"})).await;
        let rep = t.app.sign_in("rep@team.example", "correct horse battery").await.unwrap();
        let (status, _, html) = page("/admin/users", Some(rep), "en").await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert!(html.contains("<header>") && html.contains("role=\"alert\""), "{html}");
    }
}

api_tests! {
    async fn every_csv_export_neutralises_formulas(t) {
        // A file whose refused rows hold formulas: the API's rejects report must not run them.
        let csv = "Email,Visits\n=HYPERLINK(\"http://evil.example\"),1\n@SUM(1),2\n+cmd|' /C calc'!A0,3\n";
        let up = upload(&t, "evil.csv", csv.as_bytes()).await;
        let started = t.post("/api/v1/imports", json!({"upload_id": up.body["id"], "entity": "contacts"})).await;
        assert!(t.app.run_one_job("test-worker").await.unwrap());
        let job = started.body["id"].as_str().unwrap();
        let report = t.http.get(format!("{}/api/v1/imports/{job}/rejects", t.base)).bearer_auth(ADMIN_KEY).send().await.unwrap().text().await.unwrap();
        for line in report.lines().skip(1) {
            let value = line.split(',').nth(2).unwrap_or_default().trim_start_matches('"');
            assert!(!value.starts_with(['=', '+', '-', '@']), "a raw formula in {report}");
        }
        assert!(report.contains("'=HYPERLINK") && report.contains("'@SUM(1)") && report.contains("'+cmd"), "{report}");
    }
}

api_tests! {
    async fn the_openapi_description_admits_the_values_the_scoring_rules_hold(t) {
        // Found by schemathesis: condition values (a regex, a list of sectors) were described
        // as objects, so every client generated from the description rejected the default rules.
        let doc = t.get("/api/openapi.json").await;
        let condition = &doc.body["components"]["schemas"]["ConditionDoc"]["properties"];
        let rules = t.get("/api/v1/scoring/rules").await;
        assert_eq!(rules.status, StatusCode::OK, "{}", rules.body);
        let mut seen = 0;
        let mut check = |schema: &Value, value: &Value| {
            let kind = match value {
                Value::String(_) => "string",
                Value::Number(_) => "number",
                Value::Bool(_) => "boolean",
                Value::Array(_) => "array",
                Value::Object(_) => "object",
                Value::Null => "null",
            };
            let allowed = match &schema["type"] {
                Value::Null => true,
                Value::String(one) => one == kind || (one == "number" && kind == "integer"),
                Value::Array(many) => many.iter().any(|t| t == kind),
                other => panic!("unexpected type {other}"),
            };
            assert!(allowed, "the description refuses a {kind} ({value}) at {schema}");
            seen += 1;
        };
        fn conditions<'a>(v: &'a Value, out: &mut Vec<&'a Value>) {
            match v {
                Value::Object(map) => {
                    if map.contains_key("op") {
                        out.push(v);
                    }
                    map.values().for_each(|child| conditions(child, out));
                }
                Value::Array(items) => items.iter().for_each(|child| conditions(child, out)),
                _ => {}
            }
        }
        let mut found = Vec::new();
        conditions(&rules.body, &mut found);
        for c in found {
            if let Some(value) = c.get("value") {
                check(&condition["value"], value);
            }
            for value in c.get("values").and_then(Value::as_array).into_iter().flatten() {
                check(&condition["values"]["items"], value);
            }
        }
        assert!(seen > 5, "the default rules hold condition values");
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}
