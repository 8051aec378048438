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
        // By probability: the predicted leads by the probability index, then the others (here all).
        let (_, html) = page("/leads?source=fair&sort=probability&dir=desc", "en").await;
        assert!(html.contains(">Ada</a>") && html.contains(">Béa</a>") && html.contains(">Cyril</a>") && !html.contains(">Zed</a>"), "{html}");
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

capture_tests! {
    async fn the_dashboard_charts_temperatures_day_by_day_and_the_agreement_per_week_and_rep(t, clock) {
        let (_, html) = crate::analytics::page(&t, "/dashboard?from=2020-01-01&to=2020-01-31", "en").await;
        assert!(html.contains("no day of this period is recorded yet"), "nothing recorded in 2020");
        assert!(html.contains("aria-label=\"First-touch deadlines met, per week\"") && html.contains("aria-label=\"First-touch deadlines met, per rep\""));
        for email in ["a@x.example", "b@x.example"] {
            t.post("/api/v1/contacts", json!({"email": email})).await;
        }
        let hot = t.post("/api/v1/contacts", json!({"email": "hot@x.example"})).await.body["id"].as_str().unwrap().to_string();
        t.post("/api/v1/events/batch", json!({"events": [{"contact_id": hot, "kind": "quote_request", "occurred_at": leadgate_app::clock::Clock::now(&*clock).to_string()}]})).await;
        assert!(t.app.record_temperature_day().await.unwrap(), "today recorded");
        assert!(!t.app.record_temperature_day().await.unwrap(), "at most once an hour");
        // The next day, one more lead: yesterday keeps its record, today is counted live.
        clock.advance(jiff::SignedDuration::from_hours(24));
        t.post("/api/v1/contacts", json!({"email": "c@x.example"})).await;
        let (_, html) = crate::analytics::page(&t, "/dashboard", "fr").await;
        assert!(html.contains("aria-label=\"Leads ouverts par température, jour après jour\""), "{html}");
        let yesterday = html.find("<td class=\"num\">1 / 0 / 2</td>").expect("yesterday's record");
        let today = html.find("<td class=\"num\">1 / 0 / 3</td>").expect("today, live");
        assert!(today < yesterday, "newest first in the table");
    }
}

api_tests! {
    async fn a_rep_profile_is_edited_in_a_form_with_the_json_as_an_advanced_view(t) {
        let (rep_id, _) = super::pipeline::rep(&t, "rep@x.example", None).await;
        let (token, csrf) = crate::nurture::admin_session(&t).await;
        let post = |fields: Vec<(&'static str, &'static str)>| {
            let mut form: Vec<(&str, &str)> = fields;
            form.push(("_csrf", &csrf));
            let req = crate::nurture::no_redirects().post(format!("{}/admin/reps/{rep_id}", t.base)).header("cookie", format!("lg_session={token}"))
                .header("accept-language", "fr").header("content-type", "application/x-www-form-urlencoded").body(serde_urlencoded::to_string(&form).unwrap());
            async move {
                let r = req.send().await.unwrap();
                (r.status(), r.text().await.unwrap())
            }
        };
        let html = t.http.get(format!("{}/admin/handoff", t.base)).header("cookie", format!("lg_session={token}")).send().await.unwrap().text().await.unwrap();
        assert!(html.contains(&format!("name=\"team\" value=\"inside\"")) && html.contains(&format!("id=\"zone-{rep_id}\"")), "a form, not only JSON");
        let fields = vec![
            ("team", "field"), ("countries", "France, Belgium"), ("sectors", ""), ("min_employees", "50"), ("max_employees", ""),
            ("capacity", "20"), ("time_zone", "Europe/Paris"), ("start", "08:30"), ("end", "17:30"), ("day", "monday"), ("day", "friday"),
        ];
        let (status, _) = post(fields.clone()).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let reps = t.get("/api/v1/reps").await.body;
        let profile = reps.as_array().unwrap().iter().find(|r| r["user_id"] == rep_id.as_str()).unwrap()["profile"].clone();
        assert_eq!(profile["countries"], json!(["France", "Belgium"]));
        assert_eq!((profile["team"].as_str(), profile["min_employees"].as_i64(), profile["capacity"].as_u64()), (Some("field"), Some(50), Some(20)));
        assert_eq!(profile["working_hours"], json!({"time_zone": "Europe/Paris", "days": ["monday", "friday"], "start": "08:30", "end": "17:30"}));
        assert_eq!(profile["available"], false, "unticked: away");
        // A mistake is told in the reader's language, and nothing changes.
        let mut bad = fields.clone();
        bad.push(("capacity", "lots"));
        bad.retain(|(k, v)| !(*k == "capacity" && *v == "20"));
        let (status, html) = post(bad).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html.contains("Prospects ouverts au plus\u{a0}: Pas un nombre entier"), "{html}");
        // The JSON stays available.
        let (status, _) = post(vec![("profile", r#"{"team": "inside", "capacity": 7}"#)]).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let reps = t.get("/api/v1/reps").await.body;
        let profile = &reps.as_array().unwrap().iter().find(|r| r["user_id"] == rep_id.as_str()).unwrap()["profile"];
        assert_eq!(profile["capacity"], 7);
    }
}

api_tests! {
    async fn the_rules_keep_their_history_and_an_earlier_version_is_restored_in_one_click(t) {
        let mut rules = t.get("/api/v1/scoring/rules").await.body["rules"].clone();
        rules["fit"]["rules"][0]["points"] = json!(30);
        let saved = t.send(Method::PUT, "/api/v1/scoring/rules?comment=first%20try", Some(ADMIN_KEY), Some(rules.clone())).await;
        assert_eq!(saved.status, StatusCode::ACCEPTED, "{}", saved.body);
        let first = t.get("/api/v1/scoring/rules").await.body;
        rules["fit"]["rules"][0]["points"] = json!(40);
        let changed = t.send(Method::PUT, "/api/v1/scoring/rules?comment=more%20weight%20on%20titles", Some(ADMIN_KEY), Some(rules)).await;
        assert_eq!(changed.status, StatusCode::ACCEPTED, "{}", changed.body);
        let (token, csrf) = crate::nurture::admin_session(&t).await;
        let html = t.http.get(format!("{}/rules", t.base)).header("cookie", format!("lg_session={token}")).send().await.unwrap().text().await.unwrap();
        assert!(html.contains("<td>more weight on titles</td>") && html.contains("In force"), "who, when, why: {html}");
        let old = first["version"].as_i64().unwrap().to_string();
        let form = serde_urlencoded::to_string([("_csrf", csrf.as_str()), ("action", "restore"), ("version", old.as_str())]).unwrap();
        let r = crate::nurture::no_redirects().post(format!("{}/rules", t.base)).header("cookie", format!("lg_session={token}"))
            .header("content-type", "application/x-www-form-urlencoded").body(form).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert!(r.headers()["location"].to_str().unwrap().starts_with("/rules?job="), "everyone is rescored");
        let now = t.get("/api/v1/scoring/rules").await.body;
        assert_eq!(now["rules"], first["rules"], "the earlier rules are back");
        assert_eq!(now["version"].as_i64(), Some(first["version"].as_i64().unwrap() + 2), "as a new version: history only grows");
        let html = t.http.get(format!("{}/rules", t.base)).header("cookie", format!("lg_session={token}")).send().await.unwrap().text().await.unwrap();
        assert!(html.contains(&format!("<td>restored version {old}</td>")), "{html}");
    }
}

api_tests! {
    async fn the_agreement_keeps_who_when_and_why_and_an_earlier_version_comes_back_in_one_click(t) {
        let (token, csrf) = crate::nurture::admin_session(&t).await;
        let post = |fields: Vec<(&'static str, String)>| {
            let mut form = fields;
            form.push(("_csrf", csrf.clone()));
            let req = crate::nurture::no_redirects().post(format!("{}/admin/handoff", t.base)).header("cookie", format!("lg_session={token}"))
                .header("content-type", "application/x-www-form-urlencoded").body(serde_urlencoded::to_string(&form).unwrap());
            async move { req.send().await.unwrap().status() }
        };
        let mut agreement = t.get("/api/v1/agreement").await.body["agreement"].clone();
        agreement["reminder_minutes"] = json!(15);
        assert_eq!(post(vec![("agreement", agreement.to_string()), ("comment", "remind sooner".into())]).await, StatusCode::SEE_OTHER);
        let first = t.get("/api/v1/agreement").await.body;
        agreement["reminder_minutes"] = json!(45);
        assert_eq!(post(vec![("agreement", agreement.to_string()), ("comment", "too many reminders".into())]).await, StatusCode::SEE_OTHER);
        let html = t.http.get(format!("{}/admin/handoff", t.base)).header("cookie", format!("lg_session={token}")).send().await.unwrap().text().await.unwrap();
        assert!(html.contains("<td>too many reminders</td>") && html.contains("<td>remind sooner</td>"), "why, with who and when: {html}");
        let version = first["version"].as_i64().unwrap().to_string();
        assert_eq!(post(vec![("action", "restore".into()), ("version", version.clone())]).await, StatusCode::SEE_OTHER);
        let now = t.get("/api/v1/agreement").await.body;
        assert_eq!(now["agreement"]["reminder_minutes"], 15, "{now}");
        assert_eq!(now["version"].as_i64(), Some(first["version"].as_i64().unwrap() + 2));
        let html = t.http.get(format!("{}/admin/handoff", t.base)).header("cookie", format!("lg_session={token}")).send().await.unwrap().text().await.unwrap();
        assert!(html.contains(&format!("<td>restored version {version}</td>")));
        assert_eq!(post(vec![("action", "restore".into()), ("version", "999".into())]).await, StatusCode::NOT_FOUND);
    }
}

api_tests! {
    async fn a_marketer_builds_a_form_and_declares_a_field_without_the_api(t) {
        let (token, csrf) = crate::nurture::admin_session(&t).await;
        let post = |path: String, fields: Vec<(&'static str, &'static str)>| {
            let mut form: Vec<(&str, &str)> = fields;
            form.push(("_csrf", &csrf));
            let req = crate::nurture::no_redirects().post(format!("{}{path}", t.base)).header("cookie", format!("lg_session={token}"))
                .header("content-type", "application/x-www-form-urlencoded").body(serde_urlencoded::to_string(&form).unwrap());
            async move {
                let r = req.send().await.unwrap();
                let to = r.headers().get("location").map(|l| l.to_str().unwrap().to_string()).unwrap_or_default();
                (r.status(), to, r.text().await.unwrap())
            }
        };
        // A custom field first, so the form can send a value to it.
        let (status, _, _) = post("/fields".into(), vec![("entity", "contact"), ("key", "budget_eur"), ("label", "Budget (€)"), ("type", "number")]).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let (status, _, html) = post("/fields".into(), vec![("entity", "contact"), ("key", "Budget!"), ("label", "x"), ("type", "number")]).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
        let fields = t.get("/api/v1/custom-fields").await.body;
        assert!(fields.to_string().contains("budget_eur"), "{fields}");
        let (status, to, _) = post("/forms".into(), vec![("title", "Salon 2027")]).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let id = to.strip_prefix("/forms/").expect("to the editor").to_string();
        let html = t.http.get(format!("{}/forms/{id}", t.base)).header("cookie", format!("lg_session={token}")).send().await.unwrap().text().await.unwrap();
        assert!(html.contains("value=\"salon-2027\"") && html.contains("<option value=\"custom.budget_eur\">"), "slug made from the title, custom fields offered: {html}");
        let (status, _, html) = post(format!("/forms/{id}"), vec![
            ("title", "Salon 2027"), ("slug", "salon-2027"), ("event_kind", "quote_request"), ("submit_label", "Send"), ("success_message", "Thanks"),
            ("field_0_name", "email"), ("field_0_label", "E-mail"), ("field_0_type", "email"), ("field_0_required", "yes"), ("field_0_maps_to", "email"),
            ("field_1_name", "budget"), ("field_1_label", "Budget"), ("field_1_type", "text"), ("field_1_maps_to", "custom.budget_eur"),
            ("consent_0_purpose", "newsletter"), ("consent_0_text", "Send me the newsletter"), ("consent_0_version", "2"),
            ("origins", "https://www.example.com"),
        ]).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
        let api = t.get(&format!("/api/v1/forms/{id}")).await.body;
        assert_eq!(api["event_kind"], "quote_request");
        assert_eq!(api["fields"][1]["maps_to"], "custom.budget_eur");
        assert_eq!(api["consents"][0], json!({"purpose": "newsletter", "text": "Send me the newsletter", "version": "2"}));
        assert_eq!(api["allowed_origins"], json!(["https://www.example.com"]));
        // A bad slug comes back at its field, the page as typed.
        let (status, _, html) = post(format!("/forms/{id}"), vec![("title", "Salon 2027"), ("slug", "Salon 2027!"), ("field_0_name", "email"), ("field_0_type", "email")]).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html.contains("slug: must be 1 to 64 lower-case letters"), "{html}");
        // A field no longer wanted goes in one click.
        post("/fields".into(), vec![("entity", "company"), ("key", "fleet_size"), ("label", "Fleet"), ("type", "number")]).await;
        assert!(t.get("/api/v1/custom-fields").await.body.to_string().contains("fleet_size"));
        let (status, _, _) = post("/fields/company/fleet_size/delete".into(), vec![]).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert!(!t.get("/api/v1/custom-fields").await.body.to_string().contains("fleet_size"));
    }
}

api_tests! {
    async fn the_agreements_deadlines_and_breach_action_are_set_in_a_form_and_keep_the_routing(t) {
        super::pipeline::agreement_to_team(&t).await;
        let (token, csrf) = crate::nurture::admin_session(&t).await;
        let post = |fields: Vec<(&'static str, &'static str)>| {
            let mut form: Vec<(&str, &str)> = fields;
            form.push(("_csrf", &csrf));
            let req = crate::nurture::no_redirects().post(format!("{}/admin/handoff", t.base)).header("cookie", format!("lg_session={token}"))
                .header("accept-language", "fr").header("content-type", "application/x-www-form-urlencoded").body(serde_urlencoded::to_string(&form).unwrap());
            async move {
                let r = req.send().await.unwrap();
                (r.status(), r.text().await.unwrap())
            }
        };
        let terms = vec![
            ("action", "terms"), ("hot_minutes", "30"), ("warm_minutes", "240"), ("cold_minutes", "960"), ("reminder_minutes", "10"),
            ("on_breach", "notify_manager"), ("recycle_days", "45"), ("follow_up_days", "3"), ("comment", "tighter for hot leads"),
        ];
        let (status, _) = post(terms.clone()).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let a = t.get("/api/v1/agreement").await.body["agreement"].clone();
        assert_eq!(a["first_touch"]["hot_minutes"], 30);
        assert_eq!((a["on_breach"].as_str(), a["recycle_days"].as_u64(), a["follow_up_days"].as_u64()), (Some("notify_manager"), Some(45), Some(3)));
        assert_eq!(a["routing"][0]["name"], "inside", "the routing rules are kept");
        let html = t.http.get(format!("{}/admin/handoff", t.base)).header("cookie", format!("lg_session={token}")).send().await.unwrap().text().await.unwrap();
        assert!(html.contains("<td>tighter for hot leads</td>"));
        let mut bad = terms.clone();
        bad[1] = ("hot_minutes", "une heure");
        let (status, html) = post(bad).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html.contains("Premier contact d&#39;un lead chaud sous (minutes ouvrées)\u{a0}: Pas un nombre entier"), "{html}");
        assert_eq!(t.get("/api/v1/agreement").await.body["agreement"]["first_touch"]["hot_minutes"], 30, "nothing changed");
    }
}

api_tests! {
    async fn a_selection_of_leads_is_added_to_a_saved_view_that_then_shows_them(t) {
        let mut ids = Vec::new();
        for email in ["ana@fair.example", "bob@fair.example", "cy@web.example"] {
            ids.push(t.post("/api/v1/contacts", json!({"email": email})).await.body["id"].as_str().unwrap().to_string());
        }
        let (token, csrf) = crate::nurture::admin_session(&t).await;
        let bulk = |pairs: Vec<(&'static str, String)>, lang: &'static str| {
            let mut form = pairs;
            form.push(("_csrf", csrf.clone()));
            form.push(("back", "/leads".into()));
            let req = crate::nurture::no_redirects().post(format!("{}/leads/bulk", t.base)).header("cookie", format!("lg_session={token}"))
                .header("accept-language", lang).header("content-type", "application/x-www-form-urlencoded").body(serde_urlencoded::to_string(&form).unwrap());
            async move {
                let r = req.send().await.unwrap();
                let to = r.headers().get("location").map(|l| l.to_str().unwrap().to_string()).unwrap_or_default();
                (r.status(), to)
            }
        };
        let page = |path: String, lang: &'static str| {
            let req = t.http.get(format!("{}{path}", t.base)).header("cookie", format!("lg_session={token}")).header("accept-language", lang);
            async move { req.send().await.unwrap().text().await.unwrap() }
        };
        let (status, to) = bulk(vec![("ids", ids[0].clone()), ("ids", ids[1].clone()), ("action", "add_to_view".into()), ("view_name", "Salon 2027".into())], "en").await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let html = page(to.clone(), "en").await;
        assert!(html.contains("2 leads added to the view “Salon 2027”."), "{to}: {html}");
        let view = html.split("<a href=\"/leads?view=").nth(1).and_then(|x| x.split('"').next()).unwrap_or_else(|| panic!("the view is listed: {html}")).to_string();
        assert!(html.contains(r#"<option value="Salon 2027">"#), "offered for the next additions");
        let shown = page(format!("/leads?view={view}"), "en").await;
        assert!(shown.contains("ana@fair.example") && shown.contains("bob@fair.example") && !shown.contains("cy@web.example"), "{shown}");
        assert!(shown.contains("2 leads match"));
        // One more, one already in: the count says what was added, in French too.
        let (_, to) = bulk(vec![("ids", ids[1].clone()), ("ids", ids[2].clone()), ("action", "add_to_view".into()), ("view_name", "Salon 2027".into())], "fr").await;
        let html = page(to, "fr").await;
        assert!(html.contains("1 lead ajouté à la vue « Salon 2027 »."), "{html}");
        assert!(page(format!("/leads?view={view}"), "en").await.contains("3 leads match"));
        // Filters and a hand-picked view combine; a view of filters keeps its name to itself.
        assert!(page(format!("/leads?view={view}&q=fair"), "en").await.contains("2 leads match"));
        let save = crate::nurture::no_redirects().post(format!("{}/leads/views", t.base)).header("cookie", format!("lg_session={token}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(serde_urlencoded::to_string([("_csrf", csrf.as_str()), ("name", "Hot ones"), ("query", "temperature=hot")]).unwrap()).send().await.unwrap();
        assert_eq!(save.status(), StatusCode::SEE_OTHER);
        let (_, to) = bulk(vec![("ids", ids[0].clone()), ("action", "add_to_view".into()), ("view_name", "Hot ones".into())], "en").await;
        let html = page(to, "en").await;
        assert!(html.contains("a saved view of filters has this name; choose another name"), "{html}");
        let (_, to) = bulk(vec![("ids", ids[0].clone()), ("action", "add_to_view".into()), ("view_name", " ".into())], "en").await;
        assert!(page(to, "en").await.contains("give the view a name"));
    }
}

api_tests! {
    async fn the_routing_rules_are_set_in_a_form_in_order_with_their_reps_and_teams(t) {
        agreement_to_team(&t).await;
        let (ada, _) = rep(&t, "ada@sales.example", None).await;
        let (token, csrf) = crate::nurture::admin_session(&t).await;
        let post = |fields: Vec<(String, String)>| {
            let mut form = fields;
            form.push(("_csrf".into(), csrf.clone()));
            let req = crate::nurture::no_redirects().post(format!("{}/admin/routing", t.base)).header("cookie", format!("lg_session={token}"))
                .header("accept-language", "fr").header("content-type", "application/x-www-form-urlencoded").body(serde_urlencoded::to_string(&form).unwrap());
            async move {
                let r = req.send().await.unwrap();
                (r.status(), r.text().await.unwrap())
            }
        };
        let owned = |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<Vec<_>>();
        let html = t.http.get(format!("{}/admin/handoff", t.base)).header("cookie", format!("lg_session={token}")).send().await.unwrap().text().await.unwrap();
        assert!(html.contains(r#"name="route_0_name" value="inside""#) && html.contains(r#"name="route_1_new""#), "the rule in force, then a blank one: {html}");
        assert!(html.contains(&format!(r#"<option value="{ada}">ada@sales.example</option>"#)), "reps offered by name");
        // A new rule put first: French hot and warm A leads of 50 people or more go to Ada.
        let mut form = owned(&[
            ("route_0_order", "2"), ("route_0_name", "inside"), ("route_0_strategy", "round_robin"), ("route_0_team", "inside"),
            ("route_1_new", "yes"), ("route_1_order", "1"), ("route_1_name", "France chaud"), ("route_1_countries", "FR, BE"),
            ("route_1_min_employees", "50"), ("route_1_temperature", "hot"), ("route_1_temperature", "warm"), ("route_1_grade", "A"),
            ("route_1_strategy", "rep"), ("comment", "la France à Ada"),
        ]);
        form.push(("route_1_rep".into(), ada.clone()));
        let (status, html) = post(form.clone()).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
        let a = t.get("/api/v1/agreement").await.body["agreement"].clone();
        assert_eq!(a["routing"][0], json!({
            "name": "France chaud",
            "when": {"countries": ["FR", "BE"], "sectors": [], "min_employees": 50, "max_employees": null, "sources": [], "temperatures": ["hot", "warm"], "grades": ["A"]},
            "assign": {"strategy": "rep", "user_id": ada},
        }));
        assert_eq!(a["routing"][1]["assign"], json!({"strategy": "round_robin", "team": "inside"}));
        assert_eq!(a["first_touch"]["hot_minutes"], 600, "the terms are kept");
        // Weights per rep; a rule removed in one click.
        let (status, _) = post(owned(&[
            ("route_0_name", "France chaud"), ("route_0_strategy", "weighted"), (&format!("route_0_weight_{ada}"), "3"),
            ("route_1_name", "inside"), ("route_1_remove", "yes"), ("route_1_strategy", "round_robin"), ("route_1_team", "inside"),
        ])).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let a = t.get("/api/v1/agreement").await.body["agreement"].clone();
        assert_eq!(a["routing"].as_array().unwrap().len(), 1);
        assert_eq!(a["routing"][0]["assign"], json!({"strategy": "weighted", "weights": [{"user_id": ada, "weight": 3}]}));
        // Mistakes named with their rule, in French, the form as typed, nothing saved.
        let (status, html) = post(owned(&[
            ("route_0_name", "Grands comptes"), ("route_0_min_employees", "beaucoup"), ("route_0_strategy", "rep"), ("route_0_rep", ""),
        ])).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html.contains("Grands comptes — Entreprise d&#39;au moins (salariés)\u{a0}: Pas un nombre entier"), "{html}");
        assert!(html.contains("Grands comptes — Confier à\u{a0}: choisissez le commercial"), "{html}");
        assert!(html.contains(r#"name="route_0_name" value="Grands comptes""#), "shown again as typed");
        let (status, html) = post(owned(&[
            ("route_0_name", "Double"), ("route_0_strategy", "round_robin"), ("route_0_team", "inside"),
            ("route_1_name", "Double"), ("route_1_strategy", "least_loaded"), ("route_1_team", "inside"),
        ])).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "the agreement's own checks answer too: {html}");
        assert!(html.contains("Double — Nom de la règle\u{a0}: `Double` est déjà le nom d&#39;une règle précédente"), "at the rule and its field, in French: {html}");
        assert_eq!(t.get("/api/v1/agreement").await.body["agreement"]["routing"][0]["name"], "France chaud", "nothing changed");
    }
}

api_tests! {
    async fn a_rules_condition_is_built_in_a_form_as_groups_of_lines_and_each_mistake_named_at_its_line(t) {
        let (token, csrf) = crate::nurture::admin_session(&t).await;
        let post = |fields: Vec<(&'static str, &'static str)>, lang: &'static str| {
            let mut form: Vec<(&str, &str)> = fields;
            form.push(("_csrf", &csrf));
            let req = crate::nurture::no_redirects().post(format!("{}/rules/edit", t.base)).header("cookie", format!("lg_session={token}"))
                .header("accept-language", lang).header("content-type", "application/x-www-form-urlencoded").body(serde_urlencoded::to_string(&form).unwrap());
            async move {
                let r = req.send().await.unwrap();
                let to = r.headers().get("location").map(|l| l.to_str().unwrap().to_string()).unwrap_or_default();
                (r.status(), to, r.text().await.unwrap())
            }
        };
        let page = |path: String| {
            let req = t.http.get(format!("{}{path}", t.base)).header("cookie", format!("lg_session={token}"));
            async move {
                let r = req.send().await.unwrap();
                (r.status(), r.text().await.unwrap())
            }
        };
        let (_, html) = page("/rules".into()).await;
        assert!(html.contains("/rules/edit?section=fit&amp;index=0") && html.contains("/rules/edit?section=knockout&amp;index=0"), "each rule links to its form: {html}");
        let before = t.get("/api/v1/scoring/rules").await.body["rules"].clone();
        let fit_count = before["fit"]["rules"].as_array().unwrap().len();
        // "(title and country) or (size and a phone)": two groups of two lines.
        let rule = vec![
            ("section", "fit"), ("index", ""), ("label", "Décideur francophone"), ("points", "15"),
            ("g0_0_field", "job_title"), ("g0_0_op", "matches"), ("g0_0_value", "(?i)directeur|ceo"),
            ("g0_1_field", "country"), ("g0_1_op", "one_of"), ("g0_1_value", "FR, BE"),
            ("g0_2_field", ""), ("g0_2_op", "equals"), ("g0_2_value", ""),
            ("g1_0_field", "company.employees"), ("g1_0_op", "range"), ("g1_0_value", "50 – 500"),
            ("g1_1_field", "phone"), ("g1_1_op", "not_is_missing"), ("g1_1_value", ""),
            ("comment", "francophone decision makers"),
        ];
        // "More lines": the form as typed with a blank line in each group and a blank group.
        let (status, _, html) = post([rule.clone(), vec![("action", "more")]].concat(), "en").await;
        assert_eq!(status, StatusCode::OK, "{html}");
        assert!(html.contains(r#"name="g1_2_field"><option value="" selected>"#) && html.contains(r#"name="g2_0_field"><option value="" selected>"#), "{html}");
        let (status, _, html) = post([rule.clone(), vec![("action", "preview")]].concat(), "en").await;
        assert_eq!(status, StatusCode::OK, "{html}");
        assert!(html.contains("id=\"preview\"") && html.contains(r#"value="50 – 500""#), "a preview, the form as typed: {html}");
        let (status, to, html) = post([rule.clone(), vec![("action", "save")]].concat(), "en").await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
        assert!(to.starts_with("/rules?job="), "everyone is rescored");
        let after = t.get("/api/v1/scoring/rules").await.body["rules"].clone();
        let added = &after["fit"]["rules"][fit_count];
        assert_eq!((added["id"].as_str(), added["label"].as_str(), added["points"].as_f64()), (Some("decideur-francophone"), Some("Décideur francophone"), Some(15.0)));
        assert_eq!(added["when"], json!({"any": [
            {"all": [{"field": "job_title", "op": "matches", "value": "(?i)directeur|ceo"}, {"field": "country", "op": "one_of", "values": ["FR", "BE"]}]},
            {"all": [{"field": "company.employees", "op": "range", "min": 50.0, "max": 500.0}, {"not": {"field": "phone", "op": "is_missing"}}]},
        ]}));
        // Read back as the same lines.
        let (status, html) = page(format!("/rules/edit?section=fit&index={fit_count}")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains(r#"name="g0_1_value" value="FR, BE""#) && html.contains(r#"name="g1_0_value" value="50 – 500""#), "{html}");
        assert!(html.contains(r#"<option value="not_is_missing" selected>is filled in</option>"#), "{html}");
        assert!(html.contains(r#"<option value="company.employees" selected>Company: employees</option>"#), "fields by their words: {html}");
        // Mistakes: in French at their line; the core's own checks in English at their line's path.
        let (status, _, html) = post(vec![
            ("section", "fit"), ("label", "x"), ("points", "dix"), ("g0_0_field", "country"), ("g0_0_op", "equals"), ("g0_0_value", ""),
            ("g0_1_field", "company.employees"), ("g0_1_op", "range"), ("g0_1_value", "beaucoup"), ("action", "save"),
        ], "fr").await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        for expected in ["ligne 1 : ce test demande une valeur", "ligne 2 : écrivez un intervalle sous la forme 10 – 500", "Points\u{a0}: Pas un nombre entier"] {
            assert!(html.contains(&expected.replace('\'', "&#39;")), "{expected}: {html}");
        }
        assert!(html.contains(r#"name="g0_1_value" value="beaucoup""#), "shown again as typed");
        let (status, _, html) = post(vec![("section", "fit"), ("label", "x"), ("points", "1"), ("g0_0_field", "shoe_size"), ("g0_0_op", "equals"), ("g0_0_value", "42"), ("action", "save")], "en").await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html.contains("line 1: `shoe_size` is not a known field"), "{html}");
        // The rule set's own checks, at the line they refuse, in French too.
        let (status, _, html) = post(vec![
            ("section", "fit"), ("label", "x"), ("points", "50000"), ("g0_0_field", "country"), ("g0_0_op", "equals"), ("g0_0_value", "FR"),
            ("g1_0_field", "country"), ("g1_0_op", "equals"), ("g1_0_value", "BE"), ("g1_1_field", "job_title"), ("g1_1_op", "matches"), ("g1_1_value", "(unclosed"),
            ("action", "save"),
        ], "fr").await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html.contains("ligne 3 : n&#39;est pas une expression régulière valide"), "{html}");
        assert!(html.contains("Points\u{a0}: doit être entre -10000 et 10000"), "{html}");
        // An engagement rule without a line counts every event of its kind; a knock-out; a delete.
        let (status, _, html) = post(vec![("section", "engagement"), ("label", "Demo asked"), ("points", "30"), ("kind", "demo_request"), ("daily_cap", ""), ("lifetime_cap", "60"), ("g0_0_field", ""), ("g0_0_op", "equals"), ("g0_0_value", ""), ("action", "save")], "en").await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
        let rules = t.get("/api/v1/scoring/rules").await.body["rules"].clone();
        let demo = rules["engagement"]["rules"].as_array().unwrap().last().unwrap().clone();
        assert_eq!(demo, json!({"id": "demo-asked", "label": "Demo asked", "kind": "demo_request", "points": 30.0, "lifetime_cap": 60.0}));
        let (status, _, html) = post(vec![("section", "engagement"), ("label", "Pro plan viewed"), ("points", "5"), ("kind", "page_view"), ("g0_0_field", ""), ("g0_0_other", "property.plan"), ("g0_0_op", "equals"), ("g0_0_value", "pro"), ("action", "save")], "en").await;
        assert_eq!(status, StatusCode::SEE_OTHER, "an event property typed by hand: {html}");
        let rules = t.get("/api/v1/scoring/rules").await.body["rules"].clone();
        assert_eq!(rules["engagement"]["rules"].as_array().unwrap().last().unwrap()["when"], json!({"field": "property.plan", "op": "equals", "value": "pro"}));
        let (status, _, _) = post(vec![("section", "knockout"), ("label", "A competitor"), ("g0_0_field", "email_domain"), ("g0_0_op", "equals"), ("g0_0_value", "rival.example"), ("action", "save")], "en").await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let knockouts = t.get("/api/v1/scoring/rules").await.body["rules"]["knockouts"].as_array().unwrap().clone();
        let last = knockouts.len() - 1;
        assert_eq!(knockouts[last]["when"], json!({"field": "email_domain", "op": "equals", "value": "rival.example"}));
        let index = last.to_string();
        let (status, _, _) = post(vec![("section", "knockout"), ("index", &*index.leak()), ("action", "delete")], "en").await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert_eq!(t.get("/api/v1/scoring/rules").await.body["rules"]["knockouts"].as_array().unwrap().len(), last, "deleted");
        // A condition nested beyond groups of lines stays JSON-only and is kept when the label changes.
        let mut rules = t.get("/api/v1/scoring/rules").await.body["rules"].clone();
        let nested = json!({"not": {"all": [{"field": "country", "op": "equals", "value": "FR"}, {"field": "city", "op": "equals", "value": "Paris"}]}});
        rules["fit"]["rules"][0]["when"] = nested.clone();
        assert_eq!(t.send(Method::PUT, "/api/v1/scoring/rules", Some(ADMIN_KEY), Some(rules)).await.status, StatusCode::ACCEPTED);
        let (_, html) = page("/rules/edit?section=fit&index=0".into()).await;
        assert!(html.contains("nests more deeply than the form can show") && !html.contains("name=\"g0_0_field\""), "{html}");
        let (status, _, _) = post(vec![("section", "fit"), ("index", "0"), ("label", "Outside Paris"), ("points", "5"), ("action", "save")], "en").await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let first = t.get("/api/v1/scoring/rules").await.body["rules"]["fit"]["rules"][0].clone();
        assert_eq!((first["label"].as_str(), &first["when"]), (Some("Outside Paris"), &nested));
    }
}

api_tests! {
    async fn the_rules_points_and_thresholds_are_set_in_a_form_with_a_preview(t) {
        let before = t.get("/api/v1/scoring/rules").await.body["rules"].clone();
        let (token, csrf) = crate::nurture::admin_session(&t).await;
        let post = |fields: Vec<(&'static str, &'static str)>| {
            let mut form: Vec<(&str, &str)> = fields;
            form.push(("_csrf", &csrf));
            let req = crate::nurture::no_redirects().post(format!("{}/rules/weights", t.base)).header("cookie", format!("lg_session={token}"))
                .header("accept-language", "fr").header("content-type", "application/x-www-form-urlencoded").body(serde_urlencoded::to_string(&form).unwrap());
            async move {
                let r = req.send().await.unwrap();
                let to = r.headers().get("location").map(|l| l.to_str().unwrap().to_string()).unwrap_or_default();
                (r.status(), to, r.text().await.unwrap())
            }
        };
        let html = t.http.get(format!("{}/rules", t.base)).header("cookie", format!("lg_session={token}")).send().await.unwrap().text().await.unwrap();
        let first = before["fit"]["rules"][0]["points"].as_f64().unwrap().to_string();
        assert!(html.contains(&format!("name=\"fit_0_points\" value=\"{first}\"")), "the points in force in the form: {html}");
        let change = vec![("fit_0_points", "42,5"), ("grade_a", "70"), ("mql_min_fit_grade", "A"), ("comment", "titles weigh more")];
        let (status, _, html) = post([change.clone(), vec![("action", "preview")]].concat()).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("id=\"preview\""), "a preview on the real leads first: {html}");
        let (status, to, _) = post([change.clone(), vec![("action", "save")]].concat()).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert!(to.starts_with("/rules?job="), "everyone is rescored");
        let after = t.get("/api/v1/scoring/rules").await.body["rules"].clone();
        assert_eq!(after["fit"]["rules"][0]["points"], 42.5);
        assert_eq!((after["fit"]["grades"]["a"].as_f64(), after["lifecycle"]["mql_min_fit_grade"].as_str()), (Some(70.0), Some("A")));
        assert_eq!(after["fit"]["rules"][0]["when"], before["fit"]["rules"][0]["when"], "conditions untouched");
        assert_eq!(after["engagement"], before["engagement"], "what the form did not change stays");
        let (status, _, html) = post(vec![("grade_b", "beaucoup"), ("action", "save")]).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html.contains("Note\u{a0}: Pas un nombre entier") || html.contains("Pas un nombre entier"), "{html}");
    }
}

api_tests! {
    async fn marketing_reads_the_agreement_without_save_buttons_it_cannot_use(t) {
        crate::trust::give_admin_password(&t, "correct horse battery").await;
        t.post("/api/v1/users", json!({"email": "mkt@x.example", "role": "marketing", "password": "correct horse battery"})).await;
        let page = |email: &'static str| {
            let t = &t;
            async move {
                let token = t.app.sign_in(email, "correct horse battery").await.unwrap();
                let r = t.http.get(format!("{}/admin/handoff", t.base)).header("cookie", format!("lg_session={token}")).send().await.unwrap();
                (r.status(), r.text().await.unwrap())
            }
        };
        let (status, html) = page("mkt@x.example").await;
        assert_eq!(status, StatusCode::OK, "marketing reads the agreement");
        assert!(html.contains("id=\"t-hot\"") && !html.contains(">Save</button>") && !html.contains(">Restore</button>"), "{html}");
        assert!(html.contains("Only an administrator can change these settings."));
        let (_, html) = page("admin@test.example").await;
        assert!(html.contains(">Save</button>"), "the admin can save");
    }
}
