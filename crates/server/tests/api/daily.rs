//! The rep's and the marketer's day in the web UI (issue 22): tasks that say whom they are about,
//! grouped by when they are due.

use super::pipeline::{agreement_to_team, rep};
use super::*;

capture_tests! {
    async fn tasks_name_their_contact_and_company_and_come_overdue_first(t, clock) {
        agreement_to_team(&t).await;
        let (rep_id, rep_key) = rep(&t, "rep@x.example", None).await;
        t.send(Method::PUT, &format!("/api/v1/users/{rep_id}/password"), Some(ADMIN_KEY), Some(json!({"password": "correct horse battery"}))).await;
        let company = t.post("/api/v1/companies", json!({"name": "Acme Industries"})).await.body["id"].as_str().unwrap().to_string();
        let lead = t.post("/api/v1/contacts", json!({"email": "ada@acme.example", "first_name": "Ada", "last_name": "Byron", "company_id": company})).await.body["id"].as_str().unwrap().to_string();
        assert_eq!(t.post(&format!("/api/v1/contacts/{lead}/lifecycle"), json!({"to": "mql"})).await.status, StatusCode::OK);
        let other = t.post("/api/v1/contacts", json!({"email": "bob@beta.example"})).await.body["id"].as_str().unwrap().to_string();
        assert_eq!(t.post(&format!("/api/v1/contacts/{other}/lifecycle"), json!({"to": "mql"})).await.status, StatusCode::OK);
        for (contact, due) in [(&lead, "2026-11-23T09:00:00Z"), (&lead, "2026-11-24T15:00:00Z"), (&other, "2026-11-26T09:00:00Z")] {
            let r = t.send(Method::POST, "/api/v1/tasks", Some(&rep_key), Some(json!({"contact_id": contact, "kind": "email", "title": "Send the brochure", "due_at": due}))).await;
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        }
        let api = t.send(Method::GET, "/api/v1/tasks", Some(&rep_key), None).await;
        let named: Vec<(&str, Option<&str>)> = api.body.as_array().unwrap().iter().map(|x| (x["contact_name"].as_str().unwrap(), x["company_name"].as_str())).collect();
        assert!(named.contains(&("Ada Byron", Some("Acme Industries"))) && named.contains(&("bob@beta.example", None)), "{named:?}");

        let token = t.app.sign_in("rep@x.example", "correct horse battery").await.unwrap();
        let html = t.http.get(format!("{}/tasks", t.base)).header("cookie", format!("lg_session={token}")).send().await.unwrap().text().await.unwrap();
        let overdue = html.find("Overdue (1)").expect("the overdue group");
        let today = html.find("Today (1)").expect("today");
        // The two first-contact tasks are due tomorrow (600 working minutes from 10:00).
        let later = html.find("Later (3)").expect("later");
        assert!(overdue < today && today < later, "overdue, then today, then later");
        assert!(html.contains(&format!("<a href=\"/contacts/{lead}\">Ada Byron</a></td><td>Acme Industries</td>")), "{html}");
        clock.advance(jiff::SignedDuration::from_hours(12));
        let html = t.http.get(format!("{}/tasks", t.base)).header("cookie", format!("lg_session={token}")).send().await.unwrap().text().await.unwrap();
        assert!(html.contains("Overdue (2)") && !html.contains("Today (") && html.contains("Later (3)"), "the day went by: {html}");
    }
}

capture_tests! {
    async fn the_queue_puts_what_to_do_next_first_and_a_manager_opens_a_reps_queue(t, clock) {
        agreement_to_team(&t).await;
        let (rep_id, rep_key) = rep(&t, "rep@x.example", None).await;
        let lead = |email: &'static str| {
            let t = &t;
            async move {
                let id = t.post("/api/v1/contacts", json!({"email": email, "first_name": email.split('@').next().unwrap()})).await.body["id"].as_str().unwrap().to_string();
                assert_eq!(t.post(&format!("/api/v1/contacts/{id}/lifecycle"), json!({"to": "mql"})).await.status, StatusCode::OK);
                id
            }
        };
        let late = lead("late@x.example").await;
        clock.advance(jiff::SignedDuration::from_hours(48));
        let calm = lead("calm@x.example").await;
        let keen = lead("keen@x.example").await;
        t.post("/api/v1/events", json!({"kind": "quote_request", "contact_id": keen})).await;
        let queue = t.send(Method::GET, "/api/v1/queue", Some(&rep_key), None).await;
        let order: Vec<&str> = queue.body.as_array().unwrap().iter().map(|a| a["contact_id"].as_str().unwrap()).collect();
        assert_eq!(order, [late.as_str(), keen.as_str(), calm.as_str()], "overdue, then hot, then cold: {}", queue.body);
        assert_eq!(queue.body[1]["now"]["temperature"], "hot");
        assert_eq!(queue.body[1]["now"]["contact_name"], "keen");

        let me = t.get("/api/v1/me").await.body["id"].as_str().unwrap().to_string();
        t.send(Method::PUT, &format!("/api/v1/users/{me}/password"), Some(ADMIN_KEY), Some(json!({"password": "correct horse battery"}))).await;
        let token = t.app.sign_in("admin@test.example", "correct horse battery").await.unwrap();
        let html = t.http.get(format!("{}/queue?of={rep_id}", t.base)).header("cookie", format!("lg_session={token}")).send().await.unwrap().text().await.unwrap();
        let at = |name: &str| html.find(&format!(">{name}</a>")).unwrap_or_else(|| panic!("{name} in {html}"));
        assert!(at("late") < at("keen") && at("keen") < at("calm"), "the page keeps the order");
        assert!(html.contains("<strong>3</strong>") && html.contains("value=\"unassigned\""), "a count, and the unassigned queue to pick");
        let mine = t.http.get(format!("{}/queue", t.base)).header("cookie", format!("lg_session={token}")).send().await.unwrap().text().await.unwrap();
        assert!(!mine.contains(">late</a>"), "the admin's own queue is empty");
    }
}

capture_tests! {
    async fn the_contact_page_puts_actions_first_and_saves_the_whole_checklist_at_once(t, clock) {
        let me = t.get("/api/v1/me").await.body["id"].as_str().unwrap().to_string();
        t.send(Method::PUT, &format!("/api/v1/users/{me}/password"), Some(ADMIN_KEY), Some(json!({"password": "correct horse battery"}))).await;
        let id = t.post("/api/v1/contacts", json!({"email": "ada@acme.example"})).await.body["id"].as_str().unwrap().to_string();
        let token = t.app.sign_in("admin@test.example", "correct horse battery").await.unwrap();
        let csrf = t.app.web_session(&token).await.unwrap().csrf;
        let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let page = browser.get(format!("{}/contacts/{id}", t.base)).header("cookie", format!("lg_session={token}")).send().await.unwrap().text().await.unwrap();
        let at = |h: &str| page.find(&format!("id=\"{h}\"")).unwrap_or_else(|| panic!("{h}"));
        assert!(at("h-actions") < at("h-score") && at("h-actions") < at("h-checklist"), "what to do comes before the ledger");
        assert_eq!(page.matches(&format!("action=\"/contacts/{id}/checklist\"")).count(), 1, "one form for the four criteria");
        let save = |form: Vec<(&'static str, &'static str)>| {
            let mut form: Vec<(&str, String)> = form.into_iter().map(|(k, v)| (k, v.to_string())).collect();
            form.push(("_csrf", csrf.clone()));
            let req = browser.post(format!("{}/contacts/{id}/checklist", t.base)).header("cookie", format!("lg_session={token}"))
                .header("content-type", "application/x-www-form-urlencoded").body(serde_urlencoded::to_string(&form).unwrap());
            async move { req.send().await.unwrap().status() }
        };
        assert!(save(vec![("answer_need", "yes"), ("note_need", "needs a CRM"), ("answer_budget", "no"), ("answer_authority", "unknown"), ("answer_timing", "unknown")]).await.is_redirection());
        let first = t.get(&format!("/api/v1/contacts/{id}/lifecycle")).await.body["checklist"].clone();
        assert_eq!((first["need"]["answer"].as_str(), first["need"]["note"].as_str(), first["budget"]["answer"].as_str()), (Some("yes"), Some("needs a CRM"), Some("no")), "{first}");
        clock.advance(jiff::SignedDuration::from_hours(1));
        assert!(save(vec![("answer_need", "yes"), ("note_need", "needs a CRM"), ("answer_budget", "yes"), ("answer_authority", "unknown"), ("answer_timing", "unknown")]).await.is_redirection());
        let second = t.get(&format!("/api/v1/contacts/{id}/lifecycle")).await.body["checklist"].clone();
        assert_eq!(second["budget"]["answer"], "yes");
        assert_eq!(second["need"]["set_at"], first["need"]["set_at"], "an unchanged answer keeps when it was given");
        assert_ne!(second["budget"]["set_at"], first["budget"]["set_at"]);
        // Free notes, from the page, newest first with their author.
        for body in ["Prefers e-mail", "Budget next quarter"] {
            let form = serde_urlencoded::to_string([("_csrf", csrf.as_str()), ("body", body)]).unwrap();
            let r = browser.post(format!("{}/contacts/{id}/notes", t.base)).header("cookie", format!("lg_session={token}"))
                .header("content-type", "application/x-www-form-urlencoded").body(form).send().await.unwrap();
            assert!(r.status().is_redirection());
            clock.advance(jiff::SignedDuration::from_secs(60));
        }
        let page = browser.get(format!("{}/contacts/{id}", t.base)).header("cookie", format!("lg_session={token}")).send().await.unwrap().text().await.unwrap();
        let (newer, older) = (page.find("Budget next quarter").unwrap(), page.find("Prefers e-mail").unwrap());
        assert!(newer < older, "newest first");
        let empty = serde_urlencoded::to_string([("_csrf", csrf.as_str()), ("body", "  ")]).unwrap();
        let r = browser.post(format!("{}/contacts/{id}/notes", t.base)).header("cookie", format!("lg_session={token}"))
            .header("content-type", "application/x-www-form-urlencoded").body(empty).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
}

api_tests! {
    async fn a_marketer_enters_a_phone_request_in_the_ui(t) {
        t.post("/api/v1/users", json!({"email": "mkt@x.example", "role": "marketing", "password": "correct horse battery"})).await;
        let token = t.app.sign_in("mkt@x.example", "correct horse battery").await.unwrap();
        let csrf = t.app.web_session(&token).await.unwrap().csrf;
        let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let form = browser.get(format!("{}/contacts/new", t.base)).header("cookie", format!("lg_session={token}")).send().await.unwrap();
        assert_eq!(form.status(), StatusCode::OK);
        assert!(form.text().await.unwrap().contains("name=\"channel\""));
        let post = |fields: Vec<(&'static str, &'static str)>, lang: &'static str| {
            let mut fields: Vec<(&str, String)> = fields.into_iter().map(|(k, v)| (k, v.to_string())).collect();
            fields.push(("_csrf", csrf.clone()));
            let req = browser.post(format!("{}/contacts/new", t.base)).header("cookie", format!("lg_session={token}"))
                .header("accept-language", lang).header("content-type", "application/x-www-form-urlencoded")
                .body(serde_urlencoded::to_string(&fields).unwrap());
            async move { req.send().await.unwrap() }
        };
        let r = post(vec![("channel", "phone"), ("kind", "quote_request"), ("first_name", "Vera"), ("email", "vera@fair.example"), ("company", "Fairco"), ("note", "wants 3 lines")], "en").await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let id = r.headers()["location"].to_str().unwrap().trim_start_matches("/contacts/").split('?').next().unwrap().to_string();
        let c = t.get(&format!("/api/v1/contacts/{id}")).await;
        assert_eq!((c.body["first_name"].as_str(), c.body["source"].as_str()), (Some("Vera"), Some("phone")), "{}", c.body);
        let tl = t.get(&format!("/api/v1/contacts/{id}/timeline")).await;
        assert_eq!(tl.body["items"][0]["kind"], "quote_request");
        assert_eq!(tl.body["items"][0]["properties"]["note"], "wants 3 lines", "{}", tl.body);
        // Mistakes come back on the form, kept as typed.
        let r = post(vec![("channel", "phone"), ("email", "not-an-address"), ("first_name", "Bob")], "en").await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let html = r.text().await.unwrap();
        assert!(html.contains("role=\"alert\"") && html.contains("value=\"Bob\""), "{html}");
        // A rep may not (requests are recorded by marketing and admins).
        t.post("/api/v1/users", json!({"email": "rep@x.example", "role": "sales", "password": "correct horse battery"})).await;
        let rep = t.app.sign_in("rep@x.example", "correct horse battery").await.unwrap();
        let leads = browser.get(format!("{}/leads", t.base)).header("cookie", format!("lg_session={rep}")).send().await.unwrap().text().await.unwrap();
        assert!(!leads.contains("href=\"/contacts/new\""));
    }
}

api_tests! {
    async fn the_inbox_sorts_by_any_column_counts_its_matches_and_moves_a_selection(t) {
        for (email, first) in [("cy@x.example", "Cyril"), ("ada@x.example", "Ada"), ("bea@x.example", "Béa")] {
            assert_eq!(t.post("/api/v1/contacts", json!({"email": email, "first_name": first, "source": "fair"})).await.status, StatusCode::CREATED);
        }
        assert_eq!(t.post("/api/v1/contacts", json!({"email": "zed@x.example", "first_name": "Zed", "source": "web"})).await.status, StatusCode::CREATED);
        let (token, csrf) = crate::nurture::admin_session(&t).await;
        let page = |path: &'static str, lang: &'static str| {
            let req = t.http.get(format!("{}{path}", t.base)).header("cookie", format!("lg_session={token}")).header("accept-language", lang);
            async move {
                let r = req.send().await.unwrap();
                (r.status(), r.text().await.unwrap())
            }
        };
        let (status, html) = page("/leads?source=fair&sort=name&dir=asc", "en").await;
        assert_eq!(status, StatusCode::OK);
        let at = |html: &str, needle: &str| html.find(needle).unwrap_or_else(|| panic!("{needle}: {html}"));
        assert!(at(&html, ">Ada</a>") < at(&html, ">Béa</a>") && at(&html, ">Béa</a>") < at(&html, ">Cyril</a>"), "by name, A to Z");
        assert!(!html.contains(">Zed</a>"), "the filter still applies");
        assert!(html.contains("3 leads match"), "the total of the filter: {html}");
        assert!(html.contains("aria-sort=\"ascending\"><a href=\"/leads?source=fair&#38;sort=name&#38;dir=desc\">"), "a second click reverses: {html}");
        assert!(html.contains("href=\"/leads.csv?source=fair&#38;sort=name&#38;dir=asc&#38;\""), "the export keeps the order");
        let (_, html) = page("/leads?source=fair&sort=name&dir=desc", "fr").await;
        assert!(at(&html, ">Cyril</a>") < at(&html, ">Ada</a>"), "Z to A");
        assert!(html.contains("3 leads correspondent"), "{html}");
        let (_, html) = page("/leads?source=nowhere", "fr").await;
        assert!(html.contains("0 lead correspond"), "French takes the singular for 0: {html}");
        let (_, html) = page("/leads?sort=bogus", "en").await;
        assert!(html.contains("4 leads match"), "an unknown sort is the default order");

        // Two of them moved to MQL at once; an illegal move is named, not hidden.
        let ids: Vec<String> = t.get("/api/v1/contacts?limit=10").await.body["items"].as_array().unwrap().iter()
            .filter(|c| c["source"] == "fair").map(|c| c["id"].as_str().unwrap().to_string()).collect();
        let mut form: Vec<(&str, &str)> = vec![("_csrf", &csrf), ("action", "move"), ("stage", "mql"), ("back", "/leads")];
        form.extend(ids[..2].iter().map(|id| ("ids", id.as_str())));
        let r = crate::nurture::no_redirects().post(format!("{}/leads/bulk", t.base)).header("cookie", format!("lg_session={token}"))
            .header("content-type", "application/x-www-form-urlencoded").body(serde_urlencoded::to_string(&form).unwrap()).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        for id in &ids[..2] {
            assert_eq!(t.get(&format!("/api/v1/contacts/{id}")).await.body["lifecycle_stage"], "mql");
        }
        assert_eq!(t.get(&format!("/api/v1/contacts/{}", ids[2])).await.body["lifecycle_stage"], "lead");
        let mut form: Vec<(&str, &str)> = vec![("_csrf", &csrf), ("action", "move"), ("stage", "churned"), ("back", "/leads")];
        form.push(("ids", ids[2].as_str()));
        let r = crate::nurture::no_redirects().post(format!("{}/leads/bulk", t.base)).header("cookie", format!("lg_session={token}"))
            .header("content-type", "application/x-www-form-urlencoded").body(serde_urlencoded::to_string(&form).unwrap()).send().await.unwrap();
        let to = r.headers()["location"].to_str().unwrap().to_string();
        assert!(to.contains("done="), "the refusal is told: {to}");
        assert_eq!(t.get(&format!("/api/v1/contacts/{}", ids[2])).await.body["lifecycle_stage"], "lead");
    }
}

api_tests! {
    async fn every_time_is_shown_in_the_readers_time_zone_with_the_zone_named(t) {
        let contact = t.post("/api/v1/contacts", json!({"email": "ada@x.example"})).await.body["id"].as_str().unwrap().to_string();
        let event = json!({"contact_id": contact, "kind": "page_view", "occurred_at": "2026-11-24T10:05:00Z"});
        assert!(t.post("/api/v1/events", event).await.status.is_success());
        let (token, csrf) = crate::nurture::admin_session(&t).await;
        let page = |path: String, lang: &'static str, cookie: &'static str| {
            let req = t.http.get(format!("{}{path}", t.base)).header("cookie", format!("lg_session={token}{cookie}")).header("accept-language", lang);
            async move { req.send().await.unwrap().text().await.unwrap() }
        };
        let contact_page = format!("/contacts/{contact}");
        // No zone chosen and no browser cookie: UTC, and it says so.
        assert!(page(contact_page.clone(), "en", "").await.contains("Nov 24, 2026, 10:05 UTC"));
        // The browser's zone (the cookie the pages set) when the user chose none.
        assert!(page(contact_page.clone(), "en", "; lg_tz=America%2FNew_York").await.contains("Nov 24, 2026, 05:05 EST"));
        let form = |zone: &'static str| {
            let body = serde_urlencoded::to_string([("_csrf", csrf.as_str()), ("time_zone", zone)]).unwrap();
            crate::nurture::no_redirects().post(format!("{}/account/time-zone", t.base)).header("cookie", format!("lg_session={token}"))
                .header("accept-language", "fr").header("content-type", "application/x-www-form-urlencoded").body(body).send()
        };
        let bad = form("Mars/Olympus").await.unwrap();
        assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(bad.text().await.unwrap().contains("« Mars/Olympus » n&#39;est pas un fuseau horaire"));
        assert_eq!(form("Europe/Paris").await.unwrap().status(), StatusCode::SEE_OTHER);
        // The user's own zone wins over the browser's, in French too.
        let html = page(contact_page.clone(), "fr", "; lg_tz=America%2FNew_York").await;
        assert!(html.contains("24 nov. 2026, 11:05 CET"), "{html}");
        assert!(page("/account".into(), "fr", "").await.contains("value=\"Europe/Paris\""));
        assert_eq!(form("").await.unwrap().status(), StatusCode::SEE_OTHER, "back to the browser's");
        assert!(page(contact_page, "en", "").await.contains("10:05 UTC"));
    }
}

api_tests! {
    async fn companies_have_a_list_by_name_with_their_contacts_and_open_deals(t) {
        let mut ids = Vec::new();
        for (name, sector) in [("Zeta Labs", "Biotech"), ("Ácme Industries", "Software"), ("Beta Foods", "Retail")] {
            ids.push(t.post("/api/v1/companies", json!({"name": name, "sector": sector})).await.body["id"].as_str().unwrap().to_string());
        }
        for email in ["a@acme.example", "b@acme.example"] {
            assert_eq!(t.post("/api/v1/contacts", json!({"email": email, "company_id": ids[1]})).await.status, StatusCode::CREATED);
        }
        for (name, to) in [("Open deal", None), ("Won deal", Some("won"))] {
            let d = t.post("/api/v1/deals", json!({"name": name, "company_id": ids[1]})).await.body["id"].as_str().unwrap().to_string();
            if let Some(to) = to {
                assert_eq!(t.post(&format!("/api/v1/deals/{d}/moves"), json!({"to": to})).await.status, StatusCode::OK);
            }
        }
        let (status, html) = crate::analytics::page(&t, "/companies", "en").await;
        assert_eq!(status, StatusCode::OK);
        let at = |needle: &str| html.find(needle).unwrap_or_else(|| panic!("{needle}: {html}"));
        assert!(at(">Ácme Industries<") < at(">Beta Foods<") && at(">Beta Foods<") < at(">Zeta Labs<"), "by name, accents aside");
        assert!(html.contains(&format!("<a href=\"/companies/{}\">Ácme Industries</a></td><td>Software</td><td>—</td><td class=\"num\">—</td><td class=\"num\">2</td><td class=\"num\">1</td>", ids[1])), "2 contacts, 1 open deal: {html}");
        let (_, found) = crate::analytics::page(&t, "/companies?q=beta", "en").await;
        assert!(found.contains(">Beta Foods<") && !found.contains(">Zeta Labs<"), "searched by name");
        let (_, none) = crate::analytics::page(&t, "/companies?q=nothing-like-it", "fr").await;
        assert!(none.contains("Aucune entreprise ne correspond."));
    }
}

api_tests! {
    async fn the_dashboard_charts_temperatures_day_by_day_and_the_agreement_per_week_and_rep(t) {
        let (_, html) = crate::analytics::page(&t, "/dashboard", "en").await;
        assert!(html.contains("no day of this period is recorded yet"), "no history before the first record");
        assert!(html.contains("aria-label=\"First-touch deadlines met, per week\"") && html.contains("aria-label=\"First-touch deadlines met, per rep\""));
        for email in ["a@x.example", "b@x.example"] {
            t.post("/api/v1/contacts", json!({"email": email})).await;
        }
        let hot = t.post("/api/v1/contacts", json!({"email": "hot@x.example"})).await.body["id"].as_str().unwrap().to_string();
        t.post("/api/v1/events/batch", json!({"events": [{"contact_id": hot, "kind": "quote_request", "occurred_at": jiff::Timestamp::now().to_string()}]})).await;
        assert!(t.app.record_temperature_day().await.unwrap(), "today recorded");
        assert!(!t.app.record_temperature_day().await.unwrap(), "once a day");
        let (_, html) = crate::analytics::page(&t, "/dashboard", "fr").await;
        assert!(html.contains("aria-label=\"Leads ouverts par température, jour après jour\""), "{html}");
        assert!(html.contains("<td class=\"num\">1 / 0 / 2</td>"), "today's counts in the table (the quote request made one hot): {html}");
    }
}
