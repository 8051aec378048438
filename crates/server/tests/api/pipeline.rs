//! The pipeline (issue 23): deals created, edited, moved back and forth and closed through the
//! API, with their history, their effect on their contacts' lifecycle, the board, the settings,
//! and who may act on whose deal.

use super::*;

/// A rep whose team gets every lead (round-robin), with its key.
pub(super) async fn rep(t: &TestApp, email: &str, manager: Option<&str>) -> (String, String) {
    let (id, key) = sales_user(t, email).await;
    let mut profile = json!({"team": "inside"});
    if let Some(m) = manager {
        profile["manager_id"] = json!(m);
    }
    let r = t.send(Method::PUT, &format!("/api/v1/reps/{id}"), Some(ADMIN_KEY), Some(profile)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    (id, key)
}

/// A contact made an SQL: an MQL accepted by `key`'s rep with a complete checklist.
async fn sql(t: &TestApp, email: &str, key: &str) -> String {
    let c =
        t.post("/api/v1/contacts", json!({"email": email, "source": "Google", "campaign": "spring"})).await;
    let id = c.body["id"].as_str().unwrap().to_string();
    assert_eq!(
        t.post(&format!("/api/v1/contacts/{id}/lifecycle"), json!({"to": "mql"})).await.status,
        StatusCode::OK
    );
    let r = t.send(Method::POST, &format!("/api/v1/contacts/{id}/route"), Some(ADMIN_KEY), None).await;
    assert!(r.status.is_success(), "{}", r.body);
    let accepted = t.send(Method::POST, &format!("/api/v1/contacts/{id}/accept"), Some(key), None).await;
    assert_eq!(accepted.status, StatusCode::OK, "{}", accepted.body);
    for criterion in ["need", "budget", "authority", "timing"] {
        let a = t
            .send(
                Method::PUT,
                &format!("/api/v1/contacts/{id}/checklist/{criterion}"),
                Some(key),
                Some(json!({"answer": "yes"})),
            )
            .await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    }
    assert_eq!(stage_of(t, &id).await, "sql");
    id
}

async fn stage_of(t: &TestApp, id: &str) -> String {
    t.get(&format!("/api/v1/contacts/{id}")).await.body["lifecycle_stage"].as_str().unwrap().to_string()
}

pub(super) async fn agreement_to_team(t: &TestApp) {
    let agreement = json!({
        "routing": [{"name": "inside", "assign": {"strategy": "round_robin", "team": "inside"}}],
        "first_touch": {"hot_minutes": 600, "warm_minutes": 600, "cold_minutes": 600},
        "reminder_minutes": 15, "on_breach": "flag", "recycle_days": 30, "follow_up_days": 2
    });
    let saved = t.send(Method::PUT, "/api/v1/agreement", Some(ADMIN_KEY), Some(agreement)).await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
}

fn moves(detail: &Value) -> Vec<(Value, Value)> {
    detail["history"].as_array().unwrap().iter().map(|c| (c["from"].clone(), c["to"].clone())).collect()
}

api_tests! {
    async fn a_deal_runs_from_an_sql_to_signature_and_its_buyers_become_customers(t) {
        agreement_to_team(&t).await;
        let (ada, ada_key) = rep(&t, "ada@sales.example", None).await;
        let buyer = sql(&t, "ceo@acme.example", &ada_key).await;
        let helper = t.post("/api/v1/contacts", json!({"email": "assistant@acme.example"})).await.body["id"].as_str().unwrap().to_string();
        let created = t.send(Method::POST, "/api/v1/deals", Some(&ada_key), Some(json!({
            "name": "Acme — 40 seats", "value": 48000, "expected_close_on": "2027-03-31", "product": "GTX Pro",
            "contacts": [{"contact_id": buyer, "role": "decision_maker"}, {"contact_id": helper, "role": "intermediary"}],
        }))).await;
        assert_eq!(created.status, StatusCode::NOT_FOUND, "the assistant is nobody's lead: not one Ada reads: {}", created.body);
        let created = t.send(Method::POST, "/api/v1/deals", Some(&ada_key), Some(json!({
            "name": "Acme — 40 seats", "value": 48000, "expected_close_on": "2027-03-31", "product": "GTX Pro",
            "contacts": [{"contact_id": buyer, "role": "decision_maker"}],
        }))).await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        let d = &created.body;
        let id = d["id"].as_str().unwrap().to_string();
        assert_eq!((d["stage"].as_str(), d["owner_id"].as_str()), (Some("first_contact"), Some(ada.as_str())), "a rep's deal is its own");
        assert_eq!((d["source"].as_str(), d["campaign"].as_str()), (Some("Google"), Some("spring")), "inherited from the contact");
        assert_eq!((d["probability"].as_u64(), d["weighted_value"].as_f64(), d["currency"].as_str()), (Some(10), Some(4800.0), Some("EUR")));
        assert_eq!(stage_of(&t, &buyer).await, "opportunity", "opening a deal makes the SQL an opportunity");
        let lifecycle = t.get(&format!("/api/v1/contacts/{buyer}/lifecycle")).await;
        let last = lifecycle.body["history"].as_array().unwrap().last().unwrap().clone();
        assert_eq!(last["actor"]["kind"], "deal", "{last}");
        // The admin adds the assistant as an intermediary.
        let patched = t.send(Method::PATCH, &format!("/api/v1/deals/{id}"), Some(ADMIN_KEY), Some(json!({
            "contacts": [{"contact_id": buyer, "role": "decision_maker"}, {"contact_id": helper, "role": "intermediary"}],
        }))).await;
        assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
        assert_eq!(patched.body["contacts"].as_array().unwrap().len(), 2);
        // Forward, back, forward: every move is kept.
        for to in ["qualification", "proposal", "qualification", "negotiation"] {
            let m = t.send(Method::POST, &format!("/api/v1/deals/{id}/moves"), Some(&ada_key), Some(json!({"to": to}))).await;
            assert_eq!(m.status, StatusCode::OK, "{to}: {}", m.body);
        }
        let same = t.send(Method::POST, &format!("/api/v1/deals/{id}/moves"), Some(&ada_key), Some(json!({"to": "negotiation"}))).await;
        assert_eq!(same.field_errors(), vec!["to"]);
        let won = t.send(Method::POST, &format!("/api/v1/deals/{id}/moves"), Some(&ada_key), Some(json!({"to": "won", "note": "signed today"}))).await;
        assert_eq!(won.status, StatusCode::OK, "{}", won.body);
        assert_eq!(moves(&won.body), vec![
            (Value::Null, json!("first_contact")),
            (json!("first_contact"), json!("qualification")),
            (json!("qualification"), json!("proposal")),
            (json!("proposal"), json!("qualification")),
            (json!("qualification"), json!("negotiation")),
            (json!("negotiation"), json!("won")),
        ]);
        assert_eq!(won.body["history"][5]["note"], "signed today");
        assert!(won.body["closed_on"].is_string());
        assert_eq!(won.body["probability"], 100);
        assert_eq!(stage_of(&t, &buyer).await, "customer", "the buyer bought");
        assert_eq!(stage_of(&t, &helper).await, "lead", "an intermediary keeps its stage");
        let of_contact = t.get(&format!("/api/v1/contacts/{buyer}/deals")).await;
        assert_eq!((of_contact.body[0]["role"].as_str(), of_contact.body[0]["deal"]["stage"].as_str()), (Some("decision_maker"), Some("won")));
        // A customer who leaves is churned, with the reason; a new deal won brings it back.
        let churn = t.post(&format!("/api/v1/contacts/{buyer}/lifecycle"), json!({"to": "churned"})).await;
        assert_eq!(churn.field_errors(), vec!["reason"]);
        let churn = t.post(&format!("/api/v1/contacts/{buyer}/lifecycle"), json!({"to": "churned", "reason": "moved to a competitor"})).await;
        assert_eq!(churn.status, StatusCode::OK, "{}", churn.body);
        let again = t.post("/api/v1/deals", json!({"name": "Acme — renewal", "contacts": [{"contact_id": buyer, "role": "decision_maker"}]})).await;
        let again_id = again.body["id"].as_str().unwrap().to_string();
        assert_eq!(again.body["owner_id"], json!(null), "the churned contact is nobody's lead any more");
        t.post(&format!("/api/v1/deals/{again_id}/moves"), json!({"to": "won"})).await;
        assert_eq!(stage_of(&t, &buyer).await, "customer");
    }

    async fn a_lost_deal_needs_a_reason_and_may_send_its_contacts_back_to_nurturing(t) {
        agreement_to_team(&t).await;
        let (_, ada_key) = rep(&t, "ada@sales.example", None).await;
        let a = sql(&t, "a@buyer.example", &ada_key).await;
        let b = sql(&t, "b@buyer.example", &ada_key).await;
        let deal = |name: &str, contacts: Value| {
            let t = &t;
            let key = ada_key.clone();
            let name = name.to_string();
            async move {
                let r = t.send(Method::POST, "/api/v1/deals", Some(&key), Some(json!({"name": name, "contacts": contacts}))).await;
                assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
                r.body["id"].as_str().unwrap().to_string()
            }
        };
        let one = deal("One", json!([{"contact_id": a, "role": "decision_maker"}, {"contact_id": b, "role": "user"}])).await;
        let _two = deal("Two", json!([{"contact_id": b, "role": "decision_maker"}])).await;
        let path = format!("/api/v1/deals/{one}/moves");
        let lose = |body: Value| t.send(Method::POST, &path, Some(&ada_key), Some(body));
        let no_reason = lose(json!({"to": "lost"})).await;
        assert_eq!(no_reason.field_errors(), vec!["lost_reason"]);
        assert!(no_reason.body.to_string().contains("competitor"), "names the reasons: {}", no_reason.body);
        let unknown = lose(json!({"to": "lost", "lost_reason": "bad luck"})).await;
        assert_eq!(unknown.field_errors(), vec!["lost_reason"]);
        let lost = lose(json!({"to": "lost", "lost_reason": "Competitor", "nurture": true})).await;
        assert_eq!(lost.status, StatusCode::OK, "{}", lost.body);
        assert_eq!(lost.body["lost_reason"], "competitor", "the pipeline's spelling");
        assert_eq!(lost.body["history"].as_array().unwrap().last().unwrap()["lost_reason"], "competitor");
        assert_eq!(stage_of(&t, &a).await, "nurturing", "back to marketing");
        assert_eq!(stage_of(&t, &b).await, "opportunity", "another deal is open with it");
        // The team's own reasons.
        let mut settings = t.get("/api/v1/settings/pipeline").await.body;
        settings["lost_reasons"] = json!(["price", "went with Brand X"]);
        assert_eq!(settings["stages"][3]["key"], "proposal");
        settings["stages"][3]["probability"] = json!(60);
        let bad = t.send(Method::PUT, "/api/v1/settings/pipeline", Some(ADMIN_KEY), Some(json!({"stages": settings["stages"], "lost_reasons": [], "rotting_days": 0, "currency": "euro"}))).await;
        assert_eq!(bad.field_errors(), vec!["lost_reasons", "rotting_days", "currency"]);
        let saved = t.send(Method::PUT, "/api/v1/settings/pipeline", Some(ADMIN_KEY), Some(settings)).await;
        assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
        let reopened = lose(json!({"to": "proposal"})).await;
        assert_eq!((reopened.body["probability"].as_u64(), reopened.body["lost_reason"].is_null()), (Some(60), true), "{}", reopened.body);
        assert!(reopened.body["closed_on"].is_null());
        assert_eq!(lose(json!({"to": "lost", "lost_reason": "competitor"})).await.field_errors(), vec!["lost_reason"]);
        assert_eq!(lose(json!({"to": "lost", "lost_reason": "Went with brand x"})).await.status, StatusCode::OK);
    }

    async fn a_team_sets_its_own_stages_and_deals_follow_them(t) {
        // Rename one, add a demo stage, drop awareness: in the settings' order.
        let stages = json!([
            {"key": "first_contact", "name": "Premier appel", "probability": 10},
            {"key": "demo", "name": "Demo done", "probability": 30},
            {"key": "qualification", "probability": 40},
            {"key": "proposal", "probability": 50},
            {"key": "negotiation", "probability": 80}
        ]);
        let mut settings = t.get("/api/v1/settings/pipeline").await.body;
        settings["stages"] = stages.clone();
        let saved = t.send(Method::PUT, "/api/v1/settings/pipeline", Some(ADMIN_KEY), Some(settings.clone())).await;
        assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
        let d = t.post("/api/v1/deals", json!({"name": "Acme", "value": 1000.0})).await;
        assert_eq!((d.status, d.body["stage"].as_str()), (StatusCode::CREATED, Some("first_contact")), "{}", d.body);
        let id = d.body["id"].as_str().unwrap().to_string();
        let moves = format!("/api/v1/deals/{id}/moves");
        let demo = t.post(&moves, json!({"to": "demo"})).await;
        assert_eq!((demo.status, demo.body["probability"].as_u64()), (StatusCode::OK, Some(30)), "{}", demo.body);
        // A stage the pipeline lacks is refused, naming the ones it has.
        let gone = t.post(&moves, json!({"to": "awareness"})).await;
        assert_eq!(gone.field_errors(), vec!["to"]);
        assert!(gone.body.to_string().contains("first_contact, demo, qualification"), "{}", gone.body);
        let bad_key = t.post(&moves, json!({"to": "Demo Done!"})).await;
        assert_eq!(bad_key.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad_key.body);
        assert!(t.post("/api/v1/deals", json!({"name": "B", "stage": "awareness"})).await.field_errors() == vec!["stage"]);
        let board = t.get("/api/v1/pipeline/board").await.body;
        let order: Vec<&str> = board["columns"].as_array().unwrap().iter().map(|c| c["stage"].as_str().unwrap()).collect();
        assert_eq!(order, ["first_contact", "demo", "qualification", "proposal", "negotiation", "won", "lost"]);
        // A stage holding an open deal cannot be removed; once the deal moves on, it can.
        let mut without_demo = settings.clone();
        without_demo["stages"] = json!([stages[0], stages[2], stages[3], stages[4]]);
        let refused = t.send(Method::PUT, "/api/v1/settings/pipeline", Some(ADMIN_KEY), Some(without_demo.clone())).await;
        assert_eq!(refused.field_errors(), vec!["stages"]);
        assert!(refused.body.to_string().contains("1 open deal(s) are in `demo`"), "{}", refused.body);
        assert_eq!(t.post(&moves, json!({"to": "won"})).await.status, StatusCode::OK);
        let removed = t.send(Method::PUT, "/api/v1/settings/pipeline", Some(ADMIN_KEY), Some(without_demo)).await;
        assert_eq!(removed.status, StatusCode::OK, "{}", removed.body);
        // Its history still says where the deal went.
        let deal = t.get(&format!("/api/v1/deals/{id}")).await.body;
        let path: Vec<&str> = deal["history"].as_array().unwrap().iter().map(|h| h["to"].as_str().unwrap()).collect();
        assert_eq!(path, ["first_contact", "demo", "won"]);
        // Keys are checked whole: a closed stage or a twin is refused at its place.
        settings["stages"] = json!([{"key": "won", "probability": 10}, {"key": "demo", "probability": 10}, {"key": "demo", "probability": 101}]);
        let twice = t.send(Method::PUT, "/api/v1/settings/pipeline", Some(ADMIN_KEY), Some(settings)).await;
        assert_eq!(twice.field_errors(), vec!["stages[0].key", "stages[2].key", "stages[2].probability"]);
    }

    async fn an_imported_deal_must_be_in_a_stage_the_pipeline_has(t) {
        let csv = b"opportunity_id,sales_agent,product,account,deal_stage,engage_date,close_date,close_value\n\
O1,Rep,GTX,Alpha,Demo,2026-06-01,,\nO2,Rep,GTX,Beta,Engaging,2026-06-01,,\n";
        async fn run(t: &TestApp, csv: &[u8]) -> (Value, String) {
            let up = upload(t, "deals.csv", csv).await;
            let started = t.post("/api/v1/imports", json!({"upload_id": up.body["id"], "entity": "deals", "preset": "maven-crm"})).await;
            assert_eq!(started.status, StatusCode::ACCEPTED, "{}", started.body);
            assert!(t.app.run_one_job("test-worker").await.unwrap());
            let job = started.body["id"].as_str().unwrap().to_string();
            let status = t.get(&format!("/api/v1/imports/{job}")).await;
            assert_eq!(status.body["state"], "succeeded", "{}", status.body);
            let r = t.http.get(format!("{}/api/v1/imports/{job}/rejects", t.base)).bearer_auth(ADMIN_KEY).send().await.unwrap();
            (status.body["summary"].clone(), r.text().await.unwrap())
        }
        let (summary, rejects) = run(&t, csv).await;
        assert_eq!((summary["created"].as_u64(), summary["rejected"].as_u64()), (Some(1), Some(1)), "{summary}");
        assert!(rejects.contains("2,deal_stage,demo,\"is not a stage of the pipeline: one of awareness,"), "{rejects}");
        let mut settings = t.get("/api/v1/settings/pipeline").await.body;
        settings["stages"].as_array_mut().unwrap().insert(2, json!({"key": "demo", "probability": 30}));
        assert_eq!(t.send(Method::PUT, "/api/v1/settings/pipeline", Some(ADMIN_KEY), Some(settings)).await.status, StatusCode::OK);
        let (summary, _) = run(&t, csv).await;
        assert_eq!((summary["created"].as_u64(), summary["rejected"].as_u64()), (Some(1), Some(0)), "{summary}");
        let demo = t.get("/api/v1/deals?stage=demo").await;
        assert_eq!(demo.body["items"][0]["external_id"], "O1", "{}", demo.body);
    }

    async fn the_stages_are_set_in_a_form_with_each_mistake_named_at_its_stage(t) {
        let (token, csrf) = crate::nurture::admin_session(&t).await;
        let browser = crate::nurture::no_redirects();
        let post = |fields: Vec<(&'static str, &'static str)>, lang: &'static str| {
            let mut form = fields;
            form.push(("_csrf", &csrf));
            let req = browser.post(format!("{}/pipeline/settings", t.base)).header("cookie", format!("lg_session={token}"))
                .header("accept-language", lang)
                .header("content-type", "application/x-www-form-urlencoded").body(serde_urlencoded::to_string(&form).unwrap());
            async move {
                let r = req.send().await.unwrap();
                (r.status(), r.text().await.unwrap())
            }
        };
        let (status, html) = crate::analytics::page(&t, "/pipeline/settings", "fr").await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("Étapes et motifs") && html.contains("name=\"key_4\" value=\"negotiation\""), "{html}");
        let common = [("lost_reasons", "price\r\nBrand X"), ("rotting_days", "10"), ("currency", "usd")];
        // Rename first contact, move qualification first, drop awareness, add "Démo faite".
        let mut form = vec![
            ("key_0", "awareness"), ("name_0", "Awareness"), ("probability_0", "5"), ("order_0", "1"), ("remove_0", "yes"),
            ("key_1", "first_contact"), ("name_1", "Premier appel"), ("probability_1", "12"), ("order_1", "3"),
            ("key_2", "qualification"), ("name_2", "Qualification"), ("probability_2", "20"), ("order_2", "2"),
            ("key_3", "proposal"), ("name_3", "Proposition sur mesure"), ("probability_3", "50"), ("order_3", "5"),
            ("key_4", "negotiation"), ("name_4", "Negotiation"), ("probability_4", "75"), ("order_4", "6"),
            ("name_5", "Démo faite"), ("probability_5", "150"), ("order_5", "4"),
        ];
        form.extend(common);
        let (status, html) = post(form.clone(), "fr").await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
        assert!(html.contains("Démo faite\u{a0}: la probabilité est un pourcentage de 0 à 100"), "named at its stage, in French: {html}");
        let fixed: Vec<_> = form.into_iter().map(|(k, v)| if k == "probability_5" { (k, "30") } else { (k, v) }).collect();
        let (status, html) = post(fixed, "fr").await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
        let saved = t.get("/api/v1/settings/pipeline").await.body;
        let keys: Vec<&str> = saved["stages"].as_array().unwrap().iter().map(|s| s["key"].as_str().unwrap()).collect();
        assert_eq!(keys, ["qualification", "first_contact", "demo_faite", "proposal", "negotiation"]);
        assert_eq!(saved["stages"][1]["name"], "Premier appel");
        assert!(saved["stages"][0]["name"].is_null() && saved["stages"][3]["name"].is_null(), "the built-in names stay translated: {saved}");
        assert_eq!((saved["stages"][2]["probability"].as_u64(), saved["currency"].as_str(), saved["rotting_days"].as_u64()), (Some(30), Some("USD"), Some(10)));
        assert_eq!(saved["lost_reasons"], json!(["price", "Brand X"]));
        // The board follows, in the reader's language.
        let (_, board) = crate::analytics::page(&t, "/pipeline", "fr").await;
        let at = |needle: &str| board.find(needle).unwrap_or_else(|| panic!("{needle} on the board: {board}"));
        assert!(at("Qualification") < at("Premier appel") && at("Premier appel") < at("Démo faite") && at("Démo faite") < at("Proposition sur mesure"));
        // Removing a stage that holds an open deal is refused in words.
        let d = t.post("/api/v1/deals", json!({"name": "Acme", "stage": "demo_faite"})).await;
        assert_eq!(d.status, StatusCode::CREATED, "{}", d.body);
        let (status, html) = post(vec![
            ("key_0", "qualification"), ("name_0", "Qualification"), ("probability_0", "20"),
            ("key_1", "demo_faite"), ("name_1", "Démo faite"), ("probability_1", "30"), ("remove_1", "yes"),
        ].into_iter().chain(common).collect(), "en").await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html.contains("open deals are still in a removed stage") && html.contains("`demo_faite`"), "{html}");
    }

    async fn the_board_counts_and_weighs_every_stage(t) {
        for (name, value, to) in [("A", 1000.0, None), ("B", 3000.0, Some("proposal")), ("C", 5000.0, Some("proposal")), ("D", 7000.0, Some("won"))] {
            let d = t.post("/api/v1/deals", json!({"name": name, "value": value})).await;
            assert_eq!(d.status, StatusCode::CREATED, "{}", d.body);
            if let Some(to) = to {
                let id = d.body["id"].as_str().unwrap();
                assert_eq!(t.post(&format!("/api/v1/deals/{id}/moves"), json!({"to": to})).await.status, StatusCode::OK);
            }
        }
        let board = t.get("/api/v1/pipeline/board").await;
        assert_eq!(board.status, StatusCode::OK, "{}", board.body);
        let column = |stage: &str| board.body["columns"].as_array().unwrap().iter().find(|c| c["stage"] == stage).unwrap().clone();
        let proposal = column("proposal");
        assert_eq!((proposal["deals"].as_i64(), proposal["value"].as_f64(), proposal["weighted_value"].as_f64()), (Some(2), Some(8000.0), Some(4000.0)));
        assert_eq!(proposal["cards"].as_array().unwrap().len(), 2);
        assert_eq!(column("first_contact")["deals"], 1);
        assert_eq!((column("won")["deals"].as_i64(), column("won")["weighted_value"].as_f64()), (Some(1), Some(7000.0)));
        assert_eq!(column("negotiation")["deals"], 0);
        let open = t.get("/api/v1/deals?open=true").await;
        assert_eq!(open.body["items"].as_array().unwrap().len(), 3);
        let page = t.get("/api/v1/deals?limit=2").await;
        let next = page.body["next_cursor"].as_str().unwrap().to_string();
        let rest = t.get(&format!("/api/v1/deals?limit=2&cursor={next}")).await;
        let names: Vec<&str> = page.body["items"].as_array().unwrap().iter().chain(rest.body["items"].as_array().unwrap()).map(|d| d["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["D", "C", "B", "A"], "newest first, every deal once");
        let bad = t.post("/api/v1/deals", json!({"name": "", "value": -5, "stage": "won", "currency": "eur"})).await;
        assert_eq!(bad.field_errors(), vec!["name", "stage", "value", "currency"]);
    }

    async fn a_rep_acts_on_its_own_and_its_reports_deals_only(t) {
        agreement_to_team(&t).await;
        let (lead_rep, boss_key) = rep(&t, "boss@sales.example", None).await;
        let (_, ada_key) = rep(&t, "ada@sales.example", Some(&lead_rep)).await;
        let (bob, bob_key) = rep(&t, "bob@sales.example", None).await;
        let mkt = t.user_key("mkt@x.example", "marketing").await;
        let ada_deal = t.send(Method::POST, "/api/v1/deals", Some(&ada_key), Some(json!({"name": "Ada's"}))).await;
        let id = ada_deal.body["id"].as_str().unwrap().to_string();
        let moved = |key: &str, to: &str| {
            let (t, key, id, to) = (&t, key.to_string(), id.clone(), to.to_string());
            async move { t.send(Method::POST, &format!("/api/v1/deals/{id}/moves"), Some(&key), Some(json!({"to": to}))).await.status }
        };
        assert_eq!(moved(&bob_key, "proposal").await, StatusCode::FORBIDDEN, "Bob reads his team's deals but does not move them");
        assert_eq!(moved(&boss_key, "proposal").await, StatusCode::OK, "Ada's manager does");
        assert_eq!(moved(&mkt, "negotiation").await, StatusCode::FORBIDDEN, "marketing reads deals, does not run them");
        assert_eq!(t.send(Method::GET, &format!("/api/v1/deals/{id}"), Some(&mkt), None).await.status, StatusCode::OK);
        let give = t.send(Method::PATCH, &format!("/api/v1/deals/{id}"), Some(&ada_key), Some(json!({"owner_id": bob}))).await;
        assert_eq!(give.status, StatusCode::FORBIDDEN, "a rep gives deals only to itself or its reports");
        // Reps who see only their own leads see only their own deals.
        let vis = t.send(Method::PUT, "/api/v1/settings/lead-visibility", Some(ADMIN_KEY), Some(json!({"reps_see": "own", "unassigned": false}))).await;
        assert_eq!(vis.status, StatusCode::OK);
        assert_eq!(t.send(Method::GET, &format!("/api/v1/deals/{id}"), Some(&bob_key), None).await.status, StatusCode::NOT_FOUND);
        let listed = t.send(Method::GET, "/api/v1/deals", Some(&bob_key), None).await;
        assert_eq!(listed.body["items"].as_array().unwrap().len(), 0);
        let boss_list = t.send(Method::GET, "/api/v1/deals", Some(&boss_key), None).await;
        assert_eq!(boss_list.body["items"].as_array().unwrap().len(), 1, "a manager sees its reports' deals");
        let board = t.send(Method::GET, "/api/v1/pipeline/board", Some(&bob_key), None).await;
        assert!(board.body["columns"].as_array().unwrap().iter().all(|c| c["deals"] == 0), "{}", board.body);
        assert_eq!(t.send(Method::DELETE, &format!("/api/v1/deals/{id}"), Some(&bob_key), None).await.status, StatusCode::NOT_FOUND);
        assert_eq!(t.send(Method::DELETE, &format!("/api/v1/deals/{id}"), Some(&ada_key), None).await.status, StatusCode::NO_CONTENT);
    }
}

api_tests! {
    async fn the_board_and_the_deal_page_work_with_plain_forms(t) {
        let me = t.get("/api/v1/me").await.body["id"].as_str().unwrap().to_string();
        t.send(Method::PUT, &format!("/api/v1/users/{me}/password"), Some(ADMIN_KEY), Some(json!({"password": "correct horse battery"}))).await;
        let token = t.app.sign_in("admin@test.example", "correct horse battery").await.unwrap();
        let csrf = t.app.web_session(&token).await.unwrap().csrf;
        let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let get = |path: String, lang: &'static str| {
            let req = browser.get(format!("{}{path}", t.base)).header("cookie", format!("lg_session={token}")).header("accept-language", lang);
            async move {
                let r = req.send().await.unwrap();
                (r.status(), r.text().await.unwrap())
            }
        };
        let post = |path: String, fields: Vec<(&'static str, String)>| {
            let mut form = fields;
            form.push(("_csrf", csrf.clone()));
            let req = browser.post(format!("{}{path}", t.base)).header("cookie", format!("lg_session={token}"))
                .header("content-type", "application/x-www-form-urlencoded").body(serde_urlencoded::to_string(&form).unwrap());
            async move {
                let r = req.send().await.unwrap();
                let to = r.headers().get("location").map(|l| l.to_str().unwrap().to_string()).unwrap_or_default();
                (r.status(), to, r.text().await.unwrap())
            }
        };
        let contact = t.post("/api/v1/contacts", json!({"email": "ceo@acme.example", "first_name": "Ada"})).await.body["id"].as_str().unwrap().to_string();

        // Created from the contact's page, a value typed the French way is read.
        let (_, html) = get(format!("/contacts/{contact}"), "en").await;
        assert!(html.contains(&format!("action=\"/contacts/{contact}/deals\"")), "the contact page offers a new deal");
        let (status, _, html) = post(format!("/contacts/{contact}/deals"), vec![("name", "Acme — 40 seats".into()), ("value", "douze".into())]).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html.contains("must be a number"), "{html}");
        let (status, to, _) = post(format!("/contacts/{contact}/deals"), vec![
            ("name", "Acme — 40 seats".into()), ("value", "48 000,75".into()), ("expected_close_on", "2027-03-31".into()), ("role", "decision_maker".into()),
        ]).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let deal = to.strip_prefix("/deals/").expect("to the deal's page").to_string();
        let api = t.get(&format!("/api/v1/deals/{deal}")).await;
        assert_eq!(api.body["value"], 48000.75);
        assert_eq!(api.body["contacts"][0]["role"], "decision_maker");

        // On the board, in its column, with a form per card; moved from there, back to the board.
        let (status, html) = get("/pipeline".into(), "en").await;
        assert_eq!(status, StatusCode::OK);
        let column = &html[html.find("id=\"h-first_contact\"").expect("a column per stage")..];
        let column = &column[..column.find("</section>").unwrap()];
        assert!(column.contains("Acme — 40 seats") && column.contains("48,001 EUR"), "{column}");
        assert!(column.contains("value=\"lost:price\""), "a loss is offered with its reasons: {column}");
        let (_, later) = get("/pipeline?from=2099-01-01".into(), "en").await;
        assert!(!later.contains("Acme — 40 seats"), "the period filter keeps deals created in it");
        let (_, today) = get("/pipeline?from=2020-01-01&to=2099-12-31".into(), "en").await;
        assert!(today.contains("Acme — 40 seats"));
        t.post("/api/v1/events", json!({"contact_id": contact, "kind": "quote_request"})).await;
        let (status, to, _) = post(format!("/deals/{deal}/move"), vec![("to", "proposal".into()), ("back", "board".into())]).await;
        assert_eq!((status, to.as_str()), (StatusCode::SEE_OTHER, "/pipeline"));
        let (status, to, _) = post(format!("/deals/{deal}/move"), vec![("to", "lost:price".into()), ("note", "too dear".into())]).await;
        assert_eq!((status, to), (StatusCode::SEE_OTHER, format!("/deals/{deal}")));
        let (status, html) = get(format!("/deals/{deal}"), "fr").await;
        assert_eq!(status, StatusCode::OK);
        for words in ["Proposition sur mesure", "Perdue", "price — too dear", "Premier contact", "Décideur", "Ada", "Chronologie", "Demande de devis"] {
            assert!(html.contains(words), "{words} on the deal's page: {html}");
        }
        let history = t.get(&format!("/api/v1/deals/{deal}")).await;
        assert_eq!(moves(&history.body).len(), 3, "created, moved, lost: {}", history.body);

        // Edited from its page; an unknown stage is refused with a message.
        let (status, _, _) = post(format!("/deals/{deal}/edit"), vec![("name", "Acme — 50 seats".into()), ("value", "".into()), ("product", "GTX Pro".into())]).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let edited = t.get(&format!("/api/v1/deals/{deal}")).await;
        assert_eq!((edited.body["name"].as_str(), edited.body["value"].is_null(), edited.body["product"].as_str()), (Some("Acme — 50 seats"), true, Some("GTX Pro")));
        let (status, _, _) = post(format!("/deals/{deal}/move"), vec![("to", "signed".into())]).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    }
}

api_tests! {
    async fn an_intermediary_asking_for_a_quote_leads_to_its_decision_maker(t) {
        agreement_to_team(&t).await;
        let (ada, ada_key) = rep(&t, "ada@sales.example", None).await;
        let acme = t.post("/api/v1/companies", json!({"name": "Acme"})).await.body["id"].as_str().unwrap().to_string();
        let other = t.post("/api/v1/companies", json!({"name": "Globex"})).await.body["id"].as_str().unwrap().to_string();
        let contact = |email: &'static str, company: String| {
            let t = &t;
            async move {
                let c = t.post("/api/v1/contacts", json!({"email": email, "first_name": email.split('@').next().unwrap(), "company_id": company})).await;
                assert_eq!(c.status, StatusCode::CREATED, "{}", c.body);
                c.body["id"].as_str().unwrap().to_string()
            }
        };
        let ceo = contact("ceo@acme.example", acme.clone()).await;
        let assistant = contact("assistant@acme.example", acme.clone()).await;
        let stranger = contact("cfo@globex.example", other).await;

        // The links are checked: a decision maker of the same account, not oneself.
        let put = |id: String, body: Value| {
            let t = &t;
            async move { t.send(Method::PUT, &format!("/api/v1/contacts/{id}/buying-role"), Some(ADMIN_KEY), Some(body)).await }
        };
        let r = put(assistant.clone(), json!({"role": "intermediary", "decision_maker_id": stranger})).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        assert!(r.body.to_string().contains("another company"), "{}", r.body);
        let r = put(assistant.clone(), json!({"role": "intermediary", "decision_maker_id": assistant})).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        let r = put(ceo.clone(), json!({"role": "decision_maker", "decision_maker_id": assistant})).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        let r = put(assistant.clone(), json!({"role": "intermediary", "decision_maker_id": ceo})).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);

        // Shown from both sides, and on the account: decision makers first.
        let ceo_role = t.get(&format!("/api/v1/contacts/{ceo}/buying-role")).await;
        assert_eq!(ceo_role.body["role"], "decision_maker", "the contact it points to decides: {}", ceo_role.body);
        assert_eq!(ceo_role.body["led_by"], json!([assistant]));
        let group = t.get(&format!("/api/v1/companies/{acme}/buying-group")).await;
        assert_eq!(group.status, StatusCode::OK, "{}", group.body);
        let roles: Vec<(&str, &str)> = group.body.as_array().unwrap().iter()
            .map(|m| (m["email"].as_str().unwrap(), m["role"].as_str().unwrap_or("?"))).collect();
        assert_eq!(roles, vec![("ceo@acme.example", "decision_maker"), ("assistant@acme.example", "intermediary")]);
        // A contact without an e-mail (a phone call) is a member too, named as it can be.
        let caller = t.post("/api/v1/contacts", json!({"phone": "+33 1 23 45 67 89", "first_name": "Noémie", "company_id": acme})).await;
        assert_eq!(caller.status, StatusCode::CREATED, "{}", caller.body);
        let group = t.get(&format!("/api/v1/companies/{acme}/buying-group")).await;
        assert_eq!(group.status, StatusCode::OK, "a member without an e-mail lists: {}", group.body);
        assert!(group.body.as_array().unwrap().iter().any(|m| m["name"] == "Noémie" && m["email"].is_null()), "{}", group.body);
        t.send(Method::DELETE, &format!("/api/v1/contacts/{}", caller.body["id"].as_str().unwrap()), Some(ADMIN_KEY), None).await;

        // The assistant asks for a quote: the decision maker, held by nobody, is routed (to Ada,
        // the team's rep), and Ada gets a task to reach the decision maker. Once.
        for _ in 0..2 {
            let e = t.post("/api/v1/events", json!({"contact_id": assistant, "kind": "quote_request"})).await;
            assert_eq!(e.status, StatusCode::CREATED, "{}", e.body);
        }
        let ceo_now = t.get(&format!("/api/v1/contacts/{ceo}")).await;
        assert_eq!(ceo_now.body["assignment"]["rep_id"], json!(ada), "{}", ceo_now.body);
        let tasks = t.send(Method::GET, "/api/v1/tasks", Some(&ada_key), None).await;
        let reach: Vec<&Value> = tasks.body.as_array().unwrap().iter()
            .filter(|x| x["title"].as_str().unwrap_or_default().starts_with("Reach the decision maker")).collect();
        assert_eq!(reach.len(), 1, "{}", tasks.body);
        assert_eq!(reach[0]["contact_id"], json!(ceo));
        let title = reach[0]["title"].as_str().unwrap();
        assert!(title.contains("quote request") && !title.contains("assistant"), "the intermediary is not named in another's task: {}", reach[0]);

        // The user of a product asking is not an intermediary: no task.
        let user = contact("user@acme.example", acme.clone()).await;
        put(user.clone(), json!({"role": "user"})).await;
        t.post("/api/v1/events", json!({"contact_id": user, "kind": "demo_request"})).await;
        let tasks = t.send(Method::GET, "/api/v1/tasks", Some(&ada_key), None).await;
        assert_eq!(tasks.body.as_array().unwrap().iter().filter(|x| x["title"].as_str().unwrap_or_default().starts_with("Reach")).count(), 1);

        // Both contact pages show the link, in the reader's language.
        let me = t.get("/api/v1/me").await.body["id"].as_str().unwrap().to_string();
        t.send(Method::PUT, &format!("/api/v1/users/{me}/password"), Some(ADMIN_KEY), Some(json!({"password": "correct horse battery"}))).await;
        let token = t.app.sign_in("admin@test.example", "correct horse battery").await.unwrap();
        let page = |id: String| {
            let req = t.http.get(format!("{}/contacts/{id}", t.base)).header("cookie", format!("lg_session={token}")).header("accept-language", "fr");
            async move { req.send().await.unwrap().text().await.unwrap() }
        };
        let html = page(assistant.clone()).await;
        assert!(html.contains("Décideur vers lequel il mène") && html.contains(&format!("href=\"/contacts/{ceo}\"")), "{html}");
        assert!(html.contains("Intermédiaire (prescripteur)"), "{html}");
        let html = page(ceo.clone()).await;
        assert!(html.contains("Joint par l&#39;intermédiaire de") && html.contains(&format!("href=\"/contacts/{assistant}\"")), "{html}");
        assert!(html.contains(&format!("href=\"/companies/{acme}\"")), "the contact links to its account: {html}");
        let req = t.http.get(format!("{}/companies/{acme}", t.base)).header("cookie", format!("lg_session={token}")).header("accept-language", "fr");
        let html = req.send().await.unwrap().text().await.unwrap();
        let group = &html[html.find("id=\"h-buying\"").expect("the buying group")..];
        let (ceo_at, assistant_at) = (group.find("ceo").unwrap(), group.find("assistant").unwrap());
        assert!(ceo_at < assistant_at && group.contains("Décideur") && group.contains("Intermédiaire"), "{group}");
    }
}
