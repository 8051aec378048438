//! Personal data (issue 20): a person's export, erasure that leaves nothing of them in any table
//! and keeps them from coming back, bulk erasure with its receipt, the retention rule, and the
//! audit log.

use super::pipeline::{agreement_to_team, rep};
use super::*;

/// Every row of the test's database, as text.
async fn every_row(t: &TestApp) -> Vec<(String, String)> {
    leadgate_store::testing::every_row(&t.db.as_ref().unwrap().store).await
}

fn hex(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

capture_tests! {
    async fn erasing_a_person_leaves_nothing_of_them_in_any_table(t, clock) {
        // A person with every kind of data Leadgate keeps.
        let hook = t.post("/api/v1/webhooks", json!({"url": "https://hooks.example/in", "event_types": ["*"]})).await;
        assert_eq!(hook.status, StatusCode::CREATED, "{}", hook.body);
        agreement_to_team(&t).await;
        let (_, rep_key) = rep(&t, "rep@sales.example", None).await;
        let email = "Ada.Lovelace@Acme.example";
        let created = t.post_with_key("/api/v1/contacts", "create-ada", json!({
            "email": email, "first_name": "Augusta", "last_name": "Lovelacewxyz", "phone": "+33 6 11 22 33 44",
            "job_title": "Head of engines"
        })).await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        let id = created.body["id"].as_str().unwrap().to_string();
        let visitor = "3f2a9c1e-0000-4000-8000-00000000abcd";
        let views = json!({"visitor": visitor, "views": [{"url": "https://www.acme.example/pricing?who=ada.lovelace@acme.example"}]});
        t.http.post(format!("{}/t/collect", t.base)).body(views.to_string()).send().await.unwrap();
        let form_id = t.post("/api/v1/forms", contact_form()).await.body["id"].as_str().unwrap().to_string();
        let token = form_token(&t, "contact-us").await;
        clock.advance(jiff::SignedDuration::from_secs(30));
        let r = post_form(&t, "contact-us", &[("email", email), ("message", "Call Augusta Lovelacewxyz"), ("consent_newsletter", "on"), ("_lg_token", &token), ("_lg_visitor", visitor)], None).await;
        assert_eq!(r.status(), StatusCode::OK);
        let event = t.post_with_key("/api/v1/events", "ada-event", json!({"kind": "demo_request", "email": email, "properties": {"note": "for ada.lovelace@acme.example"}})).await;
        assert!(event.status.is_success(), "{}", event.body);
        // A nurture message reserved for them, and a bounce naming them that matched nothing.
        let tpl = t.post("/api/v1/email-templates", json!({"name": "Hello", "subject": "Hi {{ first_name }}", "html": "<p>Hi</p>"})).await;
        let seq = t.post("/api/v1/sequences", json!({"name": "Welcome", "steps": [{"key": "hello", "type": "send", "template": tpl.body["id"]}]})).await;
        let enrolled = t.post(&format!("/api/v1/sequences/{}/enrolments", seq.body["id"].as_str().unwrap()), json!({"contacts": [id]})).await;
        assert_eq!(enrolled.body["enrolled"], 1, "{}", enrolled.body);
        t.app.evaluate_enrolments().await.unwrap();
        let stray = format!("Subject: Undeliverable\r\n\r\n550 5.1.1 <{email}>: mailbox unavailable\r\n");
        assert_eq!(t.raw(Method::POST, "/api/v1/bounces", "message/rfc822", stray.into_bytes()).await.body["outcome"], "unmatched");
        assert_eq!(t.post(&format!("/api/v1/contacts/{id}/lifecycle"), json!({"to": "mql"})).await.status, StatusCode::OK);
        let routed = t.send(Method::POST, &format!("/api/v1/contacts/{id}/route"), Some(ADMIN_KEY), None).await;
        assert!(routed.status.is_success(), "{}", routed.body);
        assert_eq!(t.send(Method::POST, &format!("/api/v1/contacts/{id}/accept"), Some(&rep_key), None).await.status, StatusCode::OK);
        let touch = t.send(Method::POST, &format!("/api/v1/contacts/{id}/touches"), Some(&rep_key), Some(json!({"kind": "call", "outcome": "reached", "note": "Augusta asked for a demo"}))).await;
        assert!(touch.status.is_success(), "{}", touch.body);
        let checklist = t.send(Method::PUT, &format!("/api/v1/contacts/{id}/checklist/need"), Some(&rep_key), Some(json!({"answer": "yes", "note": "Lovelacewxyz needs it"}))).await;
        assert_eq!(checklist.status, StatusCode::OK, "{}", checklist.body);
        let deal = t.post("/api/v1/deals", json!({"name": "Acme engines", "contacts": [{"contact_id": id, "role": "decision_maker"}]})).await;
        assert_eq!(deal.status, StatusCode::CREATED, "{}", deal.body);
        let role = t.send(Method::PUT, &format!("/api/v1/contacts/{id}/buying-role"), Some(ADMIN_KEY), Some(json!({"role": "decision_maker"}))).await;
        assert_eq!(role.status, StatusCode::OK, "{}", role.body);
        let consent = t.post(&format!("/api/v1/contacts/{id}/consents"), json!({"purpose": "newsletter", "granted": false, "text": "Ada said no by phone", "version": "phone"})).await;
        assert_eq!(consent.status, StatusCode::CREATED, "{}", consent.body);
        let note = t.send(Method::POST, &format!("/api/v1/contacts/{id}/notes"), Some(&rep_key), Some(json!({"body": "Augusta Lovelacewxyz prefers mornings"}))).await;
        assert_eq!(note.status, StatusCode::CREATED, "{}", note.body);
        let file = format!("email,first_name\r\nbob@acme.example,Bob\r\n{email},Augusta\r\n");
        assert_eq!(upload(&t, "later.csv", file.as_bytes()).await.status, StatusCode::CREATED);

        // The export holds all of it, and is recorded.
        let doc = t.get(&format!("/api/v1/contacts/{id}/export?format=json")).await;
        assert_eq!(doc.status, StatusCode::OK, "{}", doc.body);
        assert_eq!(doc.body["contact"]["email"], email);
        assert_eq!(doc.body["company"]["name"], Value::Null);
        assert!(doc.body["events"].as_array().unwrap().len() >= 3, "{}", doc.body["events"]);
        assert_eq!(doc.body["consents"].as_array().unwrap().len(), 1, "recorded by phone");
        assert_eq!(doc.body["consent_requests"].as_array().unwrap().len(), 1, "the newsletter ticked on the form, to be confirmed");
        assert_eq!(doc.body["deals"].as_array().unwrap().len(), 1);
        assert_eq!(doc.body["buying_role"]["role"], "decision_maker");
        assert_eq!(doc.body["notes"][0]["body"], "Augusta Lovelacewxyz prefers mornings");
        assert_eq!(doc.body["sequences"][0]["sequence_name"], "Welcome", "{}", doc.body["sequences"]);
        assert_eq!(doc.body["email_messages"][0]["step_key"], "hello");
        assert_eq!(doc.body["notes"][0]["author"], "rep@sales.example");
        assert!(!doc.body["tasks"].as_array().unwrap().is_empty(), "the first-contact task");
        assert!(!doc.body["assignments"].as_array().unwrap().is_empty());
        assert!(doc.body["score"]["fit"].is_object());
        assert_eq!(doc.body["lifecycle"]["checklist"]["need"]["answer"], "yes", "{}", doc.body["lifecycle"]);
        let zip = t.http.get(format!("{}/api/v1/contacts/{id}/export", t.base)).bearer_auth(ADMIN_KEY).send().await.unwrap();
        assert_eq!(zip.headers()["content-type"], "application/zip");
        let bytes = zip.bytes().await.unwrap();
        assert!(bytes.starts_with(b"PK\x03\x04"));
        for name in ["person.json", "contact.csv", "events.csv", "consents.csv", "deals.csv", "tasks.csv", "sequences.csv", "email_messages.csv"] {
            assert!(bytes.windows(name.len()).any(|w| w == name.as_bytes()), "{name} in the zip");
        }

        let needles = [
            email.to_lowercase(), "augusta".into(), "lovelacewxyz".into(), "+33 6 11 22 33 44".into(), id.clone(),
            id.replace('-', ""), hex(&email.to_lowercase()), hex("Lovelacewxyz").to_lowercase(),
        ];
        let found = |rows: &[(String, String)]| -> Vec<String> {
            rows.iter()
                .filter(|(table, row)| {
                    // The one message whose point is the id: subscribers are told who was erased.
                    !(table == "webhook_deliveries" && row.contains("contact.erased"))
                })
                .filter_map(|(table, row)| needles.iter().find(|n| row.contains(n.as_str())).map(|n| format!("{table}: `{n}` in {row}")))
                .collect()
        };
        assert!(!found(&every_row(&t).await).is_empty(), "the scan finds the person before the erasure");

        let receipt = t.send(Method::POST, &format!("/api/v1/contacts/{id}/erasure"), Some(ADMIN_KEY), None).await;
        assert_eq!(receipt.status, StatusCode::OK, "{}", receipt.body);
        assert_eq!(receipt.body["erased"], 1);
        assert_eq!(receipt.body["newly_suppressed"], 1);
        assert!(receipt.body["mentions_scrubbed"].as_u64().unwrap() >= 2, "stored answers and the file's line: {}", receipt.body);
        let left = found(&every_row(&t).await);
        assert!(left.is_empty(), "left after the erasure:\n{}", left.join("\n"));
        assert_eq!(t.get(&format!("/api/v1/contacts/{id}")).await.status, StatusCode::NOT_FOUND);
        let rows = every_row(&t).await;
        let told: Vec<_> = rows.iter().filter(|(table, row)| table == "webhook_deliveries" && row.contains("contact.erased")).collect();
        assert_eq!(told.len(), 1, "one contact.erased message");
        assert!(told[0].1.contains(&id) && !told[0].1.contains("lovelace"), "the id only: {}", told[0].1);
        assert!(rows.iter().any(|(table, row)| table == "uploads" && row.contains(&hex("bob@acme.example"))), "other lines of the file stay");

        // Nothing brings them back.
        let again = t.post("/api/v1/contacts", json!({"email": email.to_uppercase()})).await;
        assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
        assert!(again.body["detail"].as_str().unwrap().contains("asked to be erased"), "{}", again.body);
        let event = t.post("/api/v1/events", json!({"kind": "page_view", "email": email})).await;
        assert_eq!(event.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", event.body);
        assert!(event.field_errors().iter().any(|f| f.ends_with("email")), "{}", event.body);
        let request = t.post("/api/v1/requests", json!({"channel": "phone", "contact": {"email": email}})).await;
        assert_eq!(request.status, StatusCode::CONFLICT, "{}", request.body);
        let token = form_token(&t, "contact-us").await;
        clock.advance(jiff::SignedDuration::from_secs(30));
        let r = post_form(&t, "contact-us", &[("email", email), ("_lg_token", &token)], None).await;
        assert_eq!(r.status(), StatusCode::OK, "thanked like anyone: the page tells nobody who asked to be erased");
        let form = t.get(&format!("/api/v1/forms/{form_id}")).await;
        assert_eq!(form.body["rejected"]["suppressed"], 1, "{}", form.body);
        let up = upload(&t, "again.csv", format!("email,first_name\n{email},Augusta\nnew@acme.example,New\n").as_bytes()).await;
        let job = t.post("/api/v1/imports", json!({"upload_id": up.body["id"], "entity": "contacts"})).await;
        assert!(t.app.run_one_job("test-worker").await.unwrap());
        let status = t.get(&format!("/api/v1/imports/{}", job.body["id"].as_str().unwrap())).await;
        assert_eq!((status.body["summary"]["created"].as_u64(), status.body["summary"]["rejected"].as_u64()), (Some(1), Some(1)), "{}", status.body);
        let report = t.http.get(format!("{}/api/v1/imports/{}/rejects", t.base, job.body["id"].as_str().unwrap())).bearer_auth(ADMIN_KEY).send().await.unwrap().text().await.unwrap();
        assert!(report.contains("asked to be erased") && !report.to_lowercase().contains("lovelace"), "{report}");
        assert!(t.get("/api/v1/contacts?email=ada.lovelace@acme.example").await.body["items"].as_array().unwrap().is_empty());

        // The audit log says who exported and erased, without saying whom any more.
        let log = t.get("/api/v1/audit-log?action=contact").await;
        let actions: Vec<&str> = log.body["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
        assert!(actions.contains(&"contact.erased") && actions.contains(&"contact.exported"), "{actions:?}");
        assert!(log.body["items"].as_array().unwrap().iter().all(|e| e["actor"] == "admin@test.example"));
    }
}

api_tests! {
    async fn a_list_of_emails_is_erased_with_a_receipt(t) {
        for e in ["one@x.example", "two@x.example"] {
            assert_eq!(t.post("/api/v1/contacts", json!({"email": e})).await.status, StatusCode::CREATED);
        }
        let receipt = t.post("/api/v1/erasures", json!({"emails": ["ONE@x.example", "two@x.example", "gone@x.example", "not an address", "one@x.example"]})).await;
        assert_eq!(receipt.status, StatusCode::OK, "{}", receipt.body);
        assert_eq!(receipt.body["asked"], 3, "duplicates count once: {}", receipt.body);
        assert_eq!(receipt.body["erased"], 2);
        assert_eq!(receipt.body["already_absent"], 1);
        assert_eq!(receipt.body["newly_suppressed"], 3, "an absent person is suppressed all the same");
        assert_eq!(receipt.body["invalid"], json!([{"line": 4, "value": "not an address"}]), "{}", receipt.body);
        // Someone never recorded as a contact is still scrubbed from files waiting for import.
        assert_eq!(upload(&t, "later.csv", b"email\nnever@x.example\nkept@x.example\n").await.status, StatusCode::CREATED);
        let never = t.post("/api/v1/erasures", json!({"emails": ["never@x.example"]})).await;
        assert_eq!((never.body["erased"].as_u64(), never.body["mentions_scrubbed"].as_u64()), (Some(0), Some(1)), "{}", never.body);
        let again = t.post("/api/v1/erasures", json!({"emails": ["gone@x.example"]})).await;
        assert_eq!((again.body["erased"].as_u64(), again.body["newly_suppressed"].as_u64()), (Some(0), Some(0)));
        assert_eq!(t.post("/api/v1/contacts", json!({"email": "gone@x.example"})).await.status, StatusCode::CONFLICT);
        // Nor given to another contact.
        let other = t.post("/api/v1/contacts", json!({"email": "other@x.example"})).await.body["id"].as_str().unwrap().to_string();
        let moved = t.patch(&format!("/api/v1/contacts/{other}"), json!({"email": "Gone@x.example"})).await;
        assert_eq!(moved.status, StatusCode::CONFLICT, "{}", moved.body);
        let empty = t.post("/api/v1/erasures", json!({"emails": []})).await;
        assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
        let sneaky = t.post("/api/v1/erasures", json!({"emails": ["a@x.example\nb@x.example"]})).await;
        assert_eq!(sneaky.field_errors(), vec!["emails[0]"]);
        // Sales may not erase; marketing may, and may not read the audit log.
        let sales = t.user_key("rep@x.example", "sales").await;
        let r = t.send(Method::POST, "/api/v1/erasures", Some(&sales), Some(json!({"emails": ["a@x.example"]}))).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        let marketing = t.user_key("m@x.example", "marketing").await;
        let r = t.send(Method::POST, "/api/v1/erasures", Some(&marketing), Some(json!({"emails": ["a@x.example"]}))).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(t.send(Method::GET, "/api/v1/audit-log", Some(&marketing), None).await.status, StatusCode::FORBIDDEN);
        // The audit log lists the erasures, the users and keys made, in CSV too.
        let log = t.get("/api/v1/audit-log").await;
        let actions: Vec<&str> = log.body["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
        assert_eq!(actions.iter().filter(|a| **a == "contact.erased").count(), 4, "{actions:?}");
        assert!(actions.contains(&"user.created") && actions.contains(&"api_key.created"), "{actions:?}");
        let by_marketing = t.get("/api/v1/audit-log?actor=m@x.example").await;
        assert_eq!(by_marketing.body["items"].as_array().unwrap().len(), 1);
        let csv = t.http.get(format!("{}/api/v1/audit-log?format=csv&action=user", t.base)).bearer_auth(ADMIN_KEY).send().await.unwrap();
        assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
        let csv = csv.text().await.unwrap();
        assert!(csv.starts_with("at,actor,action,target,ip,detail\r\n") && csv.contains("user.created,rep@x.example"), "{csv}");
        assert!(!csv.contains("api_key.created"), "filtered by family");
    }
}

capture_tests! {
    async fn the_retention_rule_erases_who_has_been_silent_for_three_years(t, clock) {
        let old = t.post("/api/v1/contacts", json!({"email": "old@x.example"})).await.body["id"].as_str().unwrap().to_string();
        let opened = t.post("/api/v1/contacts", json!({"email": "opened@x.example"})).await.body["id"].as_str().unwrap().to_string();
        let clicked = t.post("/api/v1/contacts", json!({"email": "clicked@x.example"})).await.body["id"].as_str().unwrap().to_string();
        let customer = t.post("/api/v1/contacts", json!({"email": "customer@x.example", "lifecycle_stage": "customer"})).await;
        assert_eq!(customer.status, StatusCode::CREATED, "{}", customer.body);
        clock.advance(jiff::SignedDuration::from_hours(24 * 365 * 2));
        // An open is not a contact coming from the person; a click is.
        t.post("/api/v1/events", json!({"kind": "email_opened", "contact_id": opened})).await;
        t.post("/api/v1/events", json!({"kind": "email_clicked", "contact_id": clicked})).await;
        clock.advance(jiff::SignedDuration::from_hours(24 * 366));
        let due = t.get("/api/v1/retention").await;
        assert_eq!(due.status, StatusCode::OK, "{}", due.body);
        assert_eq!(due.body["retention_days"], 1095);
        assert_eq!(due.body["due"], 2, "{}", due.body);
        assert_eq!(due.body["erased"], false);
        let mut sample: Vec<&str> = due.body["sample"].as_array().unwrap().iter().map(|c| c["email"].as_str().unwrap()).collect();
        sample.sort();
        assert_eq!(sample, ["old@x.example", "opened@x.example"]);
        assert_eq!(t.get(&format!("/api/v1/contacts/{old}")).await.status, StatusCode::OK, "a dry run changes nothing");
        let purged = t.send(Method::POST, "/api/v1/retention/purge", Some(ADMIN_KEY), None).await;
        assert_eq!((purged.body["due"].as_u64(), purged.body["erased"].as_bool()), (Some(2), Some(true)), "{}", purged.body);
        assert_eq!(t.get(&format!("/api/v1/contacts/{old}")).await.status, StatusCode::NOT_FOUND);
        assert_eq!(t.get(&format!("/api/v1/contacts/{clicked}")).await.status, StatusCode::OK);
        assert_eq!(t.get("/api/v1/retention").await.body["due"], 0);
        assert_eq!(t.post("/api/v1/contacts", json!({"email": "old@x.example"})).await.status, StatusCode::CONFLICT, "an old file does not bring them back");
        // Reaching out again is a new contact coming from them: welcome back.
        let back = t.post("/api/v1/events", json!({"kind": "demo_request", "email": "old@x.example"})).await;
        assert!(back.status.is_success(), "{}", back.body);
        assert_eq!(t.get("/api/v1/contacts?email=old@x.example").await.body["items"].as_array().unwrap().len(), 1);

        // The daily pass lists before it erases: someone just past the period stays a month.
        let late = t.post("/api/v1/contacts", json!({"email": "late@x.example"})).await.body["id"].as_str().unwrap().to_string();
        clock.advance(jiff::SignedDuration::from_hours(24 * 1096));
        assert_eq!(t.get("/api/v1/retention").await.body["due"], 3, "late, clicked, and the one who came back: silent since");
        let pass = |t: &TestApp| {
            let (stop, runner) = super::trust::start_runner(t);
            async move {
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                stop.send(true).unwrap();
                runner.await.unwrap();
            }
        };
        pass(&t).await;
        assert_eq!(t.get(&format!("/api/v1/contacts/{late}")).await.status, StatusCode::OK, "listed, not erased yet");
        clock.advance(jiff::SignedDuration::from_hours(24 * 31));
        pass(&t).await;
        assert_eq!(t.get(&format!("/api/v1/contacts/{late}")).await.status, StatusCode::NOT_FOUND, "erased after the grace");
    }
}

api_tests! {
    async fn the_personal_data_pages_work_for_the_roles_they_are_for(t) {
        let me = t.get("/api/v1/me").await.body["id"].as_str().unwrap().to_string();
        t.send(Method::PUT, &format!("/api/v1/users/{me}/password"), Some(ADMIN_KEY), Some(json!({"password": "correct horse battery"}))).await;
        let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let mut sessions = Vec::new();
        for (email, role) in [("admin@test.example", None), ("mkt@x.example", Some("marketing")), ("rep@x.example", Some("sales"))] {
            if let Some(role) = role {
                t.post("/api/v1/users", json!({"email": email, "role": role, "password": "correct horse battery"})).await;
            }
            // Through the sign-in form, so the audit log records where from.
            let r = browser.post(format!("{}/login", t.base)).header("origin", &t.base)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(serde_urlencoded::to_string([("email", email), ("password", "correct horse battery")]).unwrap())
                .send().await.unwrap();
            let cookie = r.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();
            let token = cookie.split_once('=').unwrap().1.to_string();
            let csrf = t.app.web_session(&token).await.unwrap().csrf;
            sessions.push((cookie, csrf));
        }
        let failed = browser.post(format!("{}/login", t.base)).header("origin", &t.base)
            .header("content-type", "application/x-www-form-urlencoded")
            .body("email=mkt%40x.example&password=wrong+guess+here").send().await.unwrap();
        assert_eq!(failed.status(), StatusCode::UNAUTHORIZED);
        let page = |i: usize, path: &str| {
            let (cookie, _) = sessions[i].clone();
            let url = format!("{}{path}", t.base);
            let browser = browser.clone();
            async move {
                let r = browser.get(url).header("cookie", cookie).send().await.unwrap();
                (r.status(), r.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()), r.bytes().await.unwrap())
            }
        };
        let c = t.post("/api/v1/contacts", json!({"email": "ada@acme.example", "first_name": "Ada"})).await;
        let id = c.body["id"].as_str().unwrap().to_string();

        // Admins and marketing see the page and the contact's actions; sales neither.
        let (status, _, html) = page(1, "/privacy").await;
        let html = String::from_utf8_lossy(&html);
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("href=\"/privacy\" aria-current=\"page\"") && html.contains("1,095 days"), "{html}");
        assert!(!html.contains("/privacy/audit"), "marketing does not read the audit log");
        assert_eq!(page(2, "/privacy").await.0, StatusCode::FORBIDDEN);
        let (_, _, rep_leads) = page(2, "/leads").await;
        assert!(!String::from_utf8_lossy(&rep_leads).contains("href=\"/privacy\""), "not in a rep's navigation");
        let (_, _, contact) = page(1, &format!("/contacts/{id}")).await;
        assert!(String::from_utf8_lossy(&contact).contains(&format!("/contacts/{id}/export.zip")));
        let (status, ctype, zip) = page(1, &format!("/contacts/{id}/export.zip")).await;
        assert_eq!((status, ctype.as_deref()), (StatusCode::OK, Some("application/zip")));
        assert!(zip.starts_with(b"PK\x03\x04"));
        assert_eq!(page(2, &format!("/contacts/{id}/export.zip")).await.0, StatusCode::FORBIDDEN);

        // Erasing needs the box ticked.
        let (cookie, csrf) = sessions[1].clone();
        let post = |path: String, form: Vec<(&'static str, String)>| {
            let browser = browser.clone();
            let cookie = cookie.clone();
            let url = format!("{}{path}", t.base);
            async move {
                browser.post(url).header("cookie", cookie).header("content-type", "application/x-www-form-urlencoded")
                    .body(serde_urlencoded::to_string(&form).unwrap()).send().await.unwrap()
            }
        };
        let r = post(format!("/contacts/{id}/erase"), vec![("_csrf", csrf.clone())]).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let r = post(format!("/contacts/{id}/erase"), vec![("_csrf", csrf.clone()), ("confirm", "yes".into())]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert!(r.headers()["location"].to_str().unwrap().starts_with("/leads?done="));
        assert_eq!(t.get(&format!("/api/v1/contacts/{id}")).await.status, StatusCode::NOT_FOUND);
        // A list, in French: the receipt in French.
        let r = post("/account/language".into(), vec![("_csrf", csrf.clone()), ("language", "fr".into())]).await;
        assert!(r.status().is_redirection(), "{}", r.status());
        let r = post("/privacy/erase".into(), vec![("_csrf", csrf.clone()), ("emails", "email\nada@acme.example\nbob@acme.example\nnope\n".into())]).await;
        let html = r.text().await.unwrap();
        assert!(html.contains("0 effacés sur 2 demandés (2 déjà absents) ; 1 nouvellement dans la liste d’exclusion."), "{html}");
        assert!(html.contains("Ligne 4 : « nope » n’est pas une adresse e-mail"), "the line that is not an address is named: {html}");

        // The audit log, for admins: sign-ins with their address, the failed one, the erasures.
        let (status, _, html) = page(0, "/privacy/audit?action=user").await;
        let html = String::from_utf8_lossy(&html);
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("user.signed_in") && html.contains("user.sign_in_failed") && html.contains("127.0.0.1"), "{html}");
        assert!(!html.contains("contact.erased"), "filtered");
        assert_eq!(page(1, "/privacy/audit").await.0, StatusCode::FORBIDDEN);
        let (status, ctype, csv) = page(0, "/privacy/audit.csv?action=contact").await;
        assert_eq!((status, ctype.as_deref()), (StatusCode::OK, Some("text/csv; charset=utf-8")));
        let csv = String::from_utf8_lossy(&csv);
        assert_eq!(csv.matches("contact.erased").count(), 2, "{csv}");
        // Bulk actions of the inbox are audited too.
        let b = t.post("/api/v1/contacts", json!({"email": "bulk@acme.example"})).await.body["id"].as_str().unwrap().to_string();
        let r = post("/leads/bulk".into(), vec![("_csrf", csrf.clone()), ("ids", b), ("action", "disqualify".into()), ("reason", "duplicate".into())]).await;
        assert!(r.status().is_redirection());
        let log = t.get("/api/v1/audit-log?action=contacts.bulk_action").await;
        assert_eq!(log.body["items"][0]["detail"], json!({"action": "disqualify", "done": 1, "refused": 0}), "{}", log.body);
        assert_eq!(log.body["items"][0]["actor"], "mkt@x.example");
    }
}

api_tests! {
    async fn objection_withdrawal_unsubscribe_and_do_not_call_take_effect_at_once(t) {
        // An objection: no marketing, no call, no score, no prediction, and it stays so.
        let id = t.post("/api/v1/contacts", json!({"email": "obj@x.example", "job_title": "CEO"})).await.body["id"].as_str().unwrap().to_string();
        assert!(t.get(&format!("/api/v1/contacts/{id}")).await.body["score"].is_object(), "scored before");
        let r = t.send(Method::POST, &format!("/api/v1/contacts/{id}/objection"), Some(ADMIN_KEY), None).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert!(r.body["objected_at"].is_string());
        assert_eq!((r.body["do_not_email"].as_bool(), r.body["do_not_call"].as_bool()), (Some(true), Some(true)));
        assert!(r.body["score"].is_null(), "{}", r.body);
        let x = t.get(&format!("/api/v1/contacts/{id}/score")).await;
        assert_eq!(x.status, StatusCode::CONFLICT);
        assert!(x.body["detail"].as_str().unwrap().contains("objected"), "{}", x.body);
        assert!(t.post("/api/v1/events", json!({"kind": "demo_request", "contact_id": id})).await.status.is_success());
        let after = t.get(&format!("/api/v1/contacts/{id}")).await;
        assert!(after.body["score"].is_null() && after.body["lifecycle_stage"] == "lead", "an event does not profile them again: {}", after.body);
        // Still listed (with the leads not scored), and their data still exported.
        let inbox = t.app.inbox(&t.app.authenticate(ADMIN_KEY).await.unwrap(), &Default::default(), 50, 0).await.unwrap();
        assert!(inbox.iter().any(|r| r.id.to_string() == id && r.temperature.is_none()), "{inbox:?}");
        let export = t.get(&format!("/api/v1/contacts/{id}/export?format=json")).await;
        assert_eq!(export.status, StatusCode::OK, "{}", export.body);
        assert_eq!(export.body["score"]["scored"], false);
        let marketing = t.user_key("m@x.example", "marketing").await;
        let sales = t.user_key("s@x.example", "sales").await;
        let r = t.send(Method::POST, &format!("/api/v1/contacts/{id}/objection"), Some(&sales), None).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        let r = t.send(Method::POST, &format!("/api/v1/contacts/{id}/objection"), Some(&marketing), None).await;
        assert_eq!(r.body["objected_at"], after.body["objected_at"], "a second objection keeps the first date");

        // An unsubscribe event, and the withdrawal of the only consent given, stop e-mail.
        let u = t.post("/api/v1/contacts", json!({"email": "u@x.example"})).await.body["id"].as_str().unwrap().to_string();
        t.post("/api/v1/events", json!({"kind": "unsubscribed", "contact_id": u})).await;
        assert_eq!(t.get(&format!("/api/v1/contacts/{u}")).await.body["do_not_email"], true);
        let w = t.post("/api/v1/contacts", json!({"email": "w@x.example"})).await.body["id"].as_str().unwrap().to_string();
        let consent = |granted: bool, purpose: &str| json!({"purpose": purpose, "granted": granted, "text": "Newsletter", "version": "1"});
        t.post(&format!("/api/v1/contacts/{w}/consents"), consent(false, "newsletter")).await;
        assert_eq!(t.get(&format!("/api/v1/contacts/{w}")).await.body["do_not_email"], false, "refusing what was never given is not a withdrawal");
        t.post(&format!("/api/v1/contacts/{w}/consents"), consent(true, "newsletter")).await;
        t.post(&format!("/api/v1/contacts/{w}/consents"), consent(true, "commercial_prospecting")).await;
        t.post(&format!("/api/v1/contacts/{w}/consents"), consent(false, "newsletter")).await;
        assert_eq!(t.get(&format!("/api/v1/contacts/{w}")).await.body["do_not_email"], false, "prospecting still granted");
        t.post(&format!("/api/v1/contacts/{w}/consents"), consent(false, "commercial_prospecting")).await;
        assert_eq!(t.get(&format!("/api/v1/contacts/{w}")).await.body["do_not_email"], true);

        // Do-not-call: the agreement proposes an e-mail instead of a call, a call is refused.
        super::pipeline::agreement_to_team(&t).await;
        let (_, rep_key) = super::pipeline::rep(&t, "rep@x.example", None).await;
        let d = t.post("/api/v1/contacts", json!({"email": "dnc@x.example", "do_not_call": true})).await.body["id"].as_str().unwrap().to_string();
        assert_eq!(t.post(&format!("/api/v1/contacts/{d}/lifecycle"), json!({"to": "mql"})).await.status, StatusCode::OK);
        let routed = t.get(&format!("/api/v1/contacts/{d}/assignments")).await;
        assert!(routed.body[0]["rep_id"].is_string(), "routed when it became an MQL: {}", routed.body);
        let tasks = t.get(&format!("/api/v1/tasks?assignee_id={}&include_done=true", routed.body[0]["rep_id"].as_str().unwrap())).await;
        let first = tasks.body.as_array().unwrap().iter().find(|x| x["contact_id"] == d.as_str()).unwrap_or_else(|| panic!("a first-contact task: {}", tasks.body));
        assert_eq!(first["kind"], "email", "{first}");
        let call = t.send(Method::POST, &format!("/api/v1/contacts/{d}/touches"), Some(&rep_key), Some(json!({"kind": "call", "outcome": "reached"}))).await;
        assert_eq!(call.status, StatusCode::CONFLICT, "{}", call.body);
        assert!(call.body["detail"].as_str().unwrap().contains("asked not to be called"));
        let mail = t.send(Method::POST, &format!("/api/v1/contacts/{d}/touches"), Some(&rep_key), Some(json!({"kind": "email", "outcome": "reached"}))).await;
        assert!(mail.status.is_success(), "{}", mail.body);
        let task = t.send(Method::POST, "/api/v1/tasks", Some(&rep_key), Some(json!({"contact_id": d, "kind": "call", "title": "Call back", "due_at": "2026-12-24T10:00:00Z"}))).await;
        assert_eq!(task.status, StatusCode::CONFLICT, "{}", task.body);
    }
}

api_tests! {
    async fn a_person_withdraws_or_objects_in_one_click_from_their_preferences_page(t) {
        let id = t.post("/api/v1/contacts", json!({"email": "pref@x.example"})).await.body["id"].as_str().unwrap().to_string();
        t.post(&format!("/api/v1/contacts/{id}/consents"), json!({"purpose": "newsletter", "granted": true, "text": "Newsletter", "version": "1"})).await;
        let link = t.get(&format!("/api/v1/contacts/{id}/preferences-link")).await;
        let path = link.body["path"].as_str().unwrap().to_string();
        assert!(path.starts_with("/p/"), "{}", link.body);
        // No account, no cookie: the link is the key. In the browser's language.
        let page = t.http.get(format!("{}{path}", t.base)).header("accept-language", "fr-FR,fr;q=0.9").send().await.unwrap();
        assert_eq!(page.status(), StatusCode::OK);
        let html = page.text().await.unwrap();
        assert!(html.contains("Vos préférences") && html.contains("La lettre d’information") && html.contains("withdraw:newsletter"), "{html}");
        let r = t.http.post(format!("{}{path}", t.base)).header("content-type", "application/x-www-form-urlencoded")
            .header("user-agent", "MailClient/2").body("change=withdraw%3Anewsletter").send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "a one-click POST, no redirect");
        assert!(r.text().await.unwrap().contains("Done: it takes effect now."));
        let contact = t.get(&format!("/api/v1/contacts/{id}")).await;
        assert_eq!(contact.body["do_not_email"], true, "the only purpose granted was withdrawn");
        let consents = t.get(&format!("/api/v1/contacts/{id}/consents")).await;
        let last = consents.body.as_array().unwrap().last().unwrap().clone();
        assert_eq!((last["granted"].as_bool(), last["source"].as_str(), last["user_agent"].as_str()), (Some(false), Some("preferences"), Some("MailClient/2")), "{last}");
        assert_eq!(last["ip"], "127.0.0.1");
        let r = t.http.post(format!("{}{path}", t.base)).header("content-type", "application/x-www-form-urlencoded").body("change=object").send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert!(t.get(&format!("/api/v1/contacts/{id}")).await.body["objected_at"].is_string());
        let log = t.get("/api/v1/audit-log?actor=the%20person%20(preferences%20page)").await;
        let actions: Vec<&str> = log.body["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
        assert_eq!(actions, ["contact.objected", "consent.withdrawn"]);
        // Nonsense is refused; a forged or stale link leads nowhere.
        let r = t.http.post(format!("{}{path}", t.base)).header("content-type", "application/x-www-form-urlencoded").body("change=withdraw%3Ashoes").send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let forged = format!("/p/{}.00000000000000000000000000000000", id.replace('-', ""));
        assert_eq!(t.http.get(format!("{}{forged}", t.base)).send().await.unwrap().status(), StatusCode::NOT_FOUND);
        let tracking = t.get(&format!("/api/v1/contacts/{id}/tracking-token")).await.body["token"].as_str().unwrap().to_string();
        assert_eq!(t.http.get(format!("{}/p/{tracking}", t.base)).send().await.unwrap().status(), StatusCode::NOT_FOUND, "a tracking token is not a preferences link");
        t.send(Method::POST, &format!("/api/v1/contacts/{id}/erasure"), Some(ADMIN_KEY), None).await;
        assert_eq!(t.http.get(format!("{}{path}", t.base)).send().await.unwrap().status(), StatusCode::NOT_FOUND);
        let sales = t.user_key("s@x.example", "sales").await;
        assert_eq!(t.send(Method::GET, &format!("/api/v1/contacts/{id}/preferences-link"), Some(&sales), None).await.status, StatusCode::FORBIDDEN);
    }
}

/// The retention rule set to anonymise: the people go, the figures of their period stay.
async fn anonymising_keeps_the_figures_of_past_periods(backend: Backend) {
    let clock = Arc::new(leadgate_app::ManualClock::new("2022-03-01T10:00:00Z".parse().unwrap()));
    let policy = leadgate_core::privacy::RetentionPolicy { days: 1095, anonymise: true };
    let t = spawn_app_configured(backend, clock.clone(), |app| app.with_retention(Some(policy))).await;
    let mut ids = Vec::new();
    for (i, stage) in ["lead", "mql", "mql"].into_iter().enumerate() {
        let c = t.post("/api/v1/contacts", json!({"email": format!("old{i}@fair.example"), "first_name": "Ottilie", "last_name": "Anciennexyz", "phone": "+33 1 23 45 67 89", "source": "Trade fair"})).await;
        let id = c.body["id"].as_str().unwrap().to_string();
        if stage == "mql" {
            assert_eq!(
                t.post(
                    &format!("/api/v1/contacts/{id}/lifecycle"),
                    json!({"to": "mql", "reason": "Ottilie asked for a call"})
                )
                .await
                .status,
                StatusCode::OK
            );
        }
        t.post("/api/v1/events", json!({"kind": "page_view", "contact_id": id, "properties": {"url": "https://x.example/?who=Anciennexyz"}})).await;
        assert_eq!(
            t.post(&format!("/api/v1/contacts/{id}/notes"), json!({"body": "Ottilie Anciennexyz called"}))
                .await
                .status,
            StatusCode::CREATED
        );
        ids.push(id);
    }
    let funnel = || t.get("/api/v1/analytics/funnel?from=2022-01-01&to=2022-12-31&by=source");
    let before = funnel().await.body;
    assert_eq!(
        (before["total"]["leads"].as_u64(), before["total"]["mql"].as_u64()),
        (Some(3), Some(2)),
        "{before}"
    );
    clock.advance(jiff::SignedDuration::from_hours(24 * 1100));
    let report = t.send(Method::POST, "/api/v1/retention/purge", Some(ADMIN_KEY), None).await;
    assert_eq!(
        (report.body["due"].as_u64(), report.body["anonymised"].as_bool()),
        (Some(3), Some(true)),
        "{}",
        report.body
    );
    assert_eq!(funnel().await.body, before, "the funnel of 2022 is unchanged");
    for id in &ids {
        assert_eq!(t.get(&format!("/api/v1/contacts/{id}")).await.status, StatusCode::NOT_FOUND);
    }
    assert!(t.get("/api/v1/contacts").await.body["items"].as_array().unwrap().is_empty(), "not listed");
    let rows = every_row(&t).await;
    for needle in ["old0@fair.example", "ottilie", "anciennexyz", "+33 1 23 45 67 89"] {
        let found: Vec<_> = rows.iter().filter(|(_, row)| row.contains(needle)).collect();
        assert!(found.is_empty(), "`{needle}` left after anonymisation: {found:?}");
    }
    assert_eq!(t.get("/api/v1/retention").await.body["due"], 0, "an anonymised row is never due again");
    assert_eq!(
        t.post("/api/v1/contacts", json!({"email": "old1@fair.example"})).await.status,
        StatusCode::CONFLICT
    );
    let log = t.get("/api/v1/audit-log?action=contact.anonymised").await;
    assert_eq!(log.body["items"][0]["detail"]["contacts"], 3, "{}", log.body);
    t.stop().await;
}

#[tokio::test]
async fn anonymising_keeps_the_figures_of_past_periods_on_sqlite() {
    anonymising_keeps_the_figures_of_past_periods(Backend::Sqlite).await;
}

#[tokio::test]
async fn anonymising_keeps_the_figures_of_past_periods_on_postgres() {
    anonymising_keeps_the_figures_of_past_periods(Backend::Postgres).await;
}

/// With retention off, nobody is due and a purge is refused with the reason.
async fn retention_off(backend: Backend) {
    let t = spawn_app_configured(backend, Arc::new(SystemClock), |app| app.with_retention(None)).await;
    let due = t.get("/api/v1/retention").await;
    assert_eq!(
        (due.body["retention_days"].as_u64(), due.body["due"].as_u64()),
        (Some(0), Some(0)),
        "{}",
        due.body
    );
    let purge = t.send(Method::POST, "/api/v1/retention/purge", Some(ADMIN_KEY), None).await;
    assert_eq!(purge.status, StatusCode::CONFLICT);
    assert!(purge.body["detail"].as_str().unwrap().contains("retention is off"), "{}", purge.body);
    t.stop().await;
}

#[tokio::test]
async fn retention_off_erases_nobody_on_sqlite() {
    retention_off(Backend::Sqlite).await;
}

#[tokio::test]
async fn retention_off_erases_nobody_on_postgres() {
    retention_off(Backend::Postgres).await;
}
