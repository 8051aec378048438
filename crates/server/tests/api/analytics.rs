//! Analytics (issue 23): the funnel counts imported customers and each step once, whatever the
//! spelling of a source; deal figures on the Maven CRM sample match what a spreadsheet computes
//! from the file; every table downloads as CSV.

use std::collections::HashMap;

use super::*;

fn maven(file: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/datasets/maven-crm")
        .join(file);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

async fn import(t: &TestApp, entity: &str, name: &str, body: &[u8], options: Value) {
    let up = upload(t, name, body).await;
    assert_eq!(up.status, StatusCode::CREATED, "{}", up.body);
    let mut request = json!({"upload_id": up.body["id"], "entity": entity});
    request.as_object_mut().unwrap().extend(options.as_object().unwrap().clone());
    let started = t.post("/api/v1/imports", request).await;
    assert_eq!(started.status, StatusCode::ACCEPTED, "{}", started.body);
    assert!(t.app.run_one_job("test-worker").await.unwrap());
    let status = t.get(&format!("/api/v1/imports/{}", started.body["id"].as_str().unwrap())).await;
    assert_eq!(status.body["state"], "succeeded", "{}", status.body);
}

async fn csv(t: &TestApp, path: &str) -> (StatusCode, String, String) {
    let r = t.http.get(format!("{}{path}", t.base)).bearer_auth(ADMIN_KEY).send().await.unwrap();
    let status = r.status();
    let kind = r.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    (status, kind, r.text().await.unwrap())
}

/// A page of the UI as the workspace's admin sees it, in `lang`.
pub(super) async fn page(t: &TestApp, path: &str, lang: &str) -> (StatusCode, String) {
    let me = t.get("/api/v1/me").await.body["id"].as_str().unwrap().to_string();
    t.send(
        Method::PUT,
        &format!("/api/v1/users/{me}/password"),
        Some(ADMIN_KEY),
        Some(json!({"password": "correct horse battery"})),
    )
    .await;
    let token = t.app.sign_in("admin@test.example", "correct horse battery").await.unwrap();
    let r = t
        .http
        .get(format!("{}{path}", t.base))
        .header("cookie", format!("lg_session={token}"))
        .header("accept-language", lang)
        .send()
        .await
        .unwrap();
    (r.status(), r.text().await.unwrap())
}

/// The median the way a spreadsheet's MEDIAN computes it, written independently of the product.
fn median(mut v: Vec<i64>) -> f64 {
    v.sort();
    let n = v.len();
    if n % 2 == 1 { v[n / 2] as f64 } else { (v[n / 2 - 1] + v[n / 2]) as f64 / 2.0 }
}

fn days(a: &str, b: &str) -> i64 {
    let (a, b): (jiff::civil::Date, jiff::civil::Date) = (a.parse().unwrap(), b.parse().unwrap());
    (b - a).get_days() as i64
}

api_tests! {
    async fn deal_figures_of_the_maven_sample_match_the_file(t) {
        import(&t, "companies", "accounts.csv", &maven("accounts.csv"), json!({"preset": "maven-crm"})).await;
        let pipeline = maven("sales_pipeline.csv");
        import(&t, "deals", "sales_pipeline.csv", &pipeline, json!({"preset": "maven-crm"})).await;

        // The figures, computed from the file alone.
        let text = String::from_utf8(pipeline).unwrap();
        let rows: Vec<Vec<&str>> = text.lines().skip(1).map(|l| l.split(',').collect()).collect();
        let closed: Vec<&Vec<&str>> = rows.iter().filter(|r| r[4] == "Won" || r[4] == "Lost").collect();
        let won: Vec<&&Vec<&str>> = closed.iter().filter(|r| r[4] == "Won").collect();
        let won_value: f64 = won.iter().map(|r| r[7].parse::<f64>().unwrap()).sum();
        let mut by_agent: HashMap<&str, (i64, i64, f64)> = HashMap::new();
        for r in &closed {
            let e = by_agent.entry(r[1]).or_default();
            if r[4] == "Won" {
                e.0 += 1;
                e.2 += r[7].parse::<f64>().unwrap();
            } else {
                e.1 += 1;
            }
        }

        let report = t.get("/api/v1/analytics/deals?from=2016-01-01&to=2017-12-31").await;
        assert_eq!(report.status, StatusCode::OK, "{}", report.body);
        let total = &report.body["total"];
        assert_eq!(total["won"], won.len() as i64);
        assert_eq!(total["lost"], (closed.len() - won.len()) as i64);
        assert_eq!((won.len(), closed.len()), (4238, 6711), "the sample's counts");
        assert!((total["win_rate"].as_f64().unwrap() - 4238.0 / 6711.0).abs() < 1e-12, "{total}");
        assert_eq!(total["won_value"].as_f64().unwrap(), won_value);
        let won_days = median(won.iter().map(|r| days(r[5], r[6])).collect());
        let lost_days =
            median(closed.iter().filter(|r| r[4] == "Lost").map(|r| days(r[5], r[6])).collect());
        assert_eq!(total["median_days_to_win"].as_f64().unwrap(), won_days, "{total}");
        assert_eq!(total["median_days_to_lose"].as_f64().unwrap(), lost_days, "{total}");

        let owners = t.get("/api/v1/analytics/deals?from=2016-01-01&to=2017-12-31&by=owner").await;
        let lines = owners.body["lines"].as_array().unwrap();
        assert_eq!(lines.len(), by_agent.len());
        for line in lines {
            let (w, l, v) = by_agent[line["group"].as_str().unwrap()];
            assert_eq!((line["won"].as_i64().unwrap(), line["lost"].as_i64().unwrap()), (w, l), "{line}");
            assert!((line["won_value"].as_f64().unwrap() - v).abs() < 1e-6, "{line}");
        }
        // `GTXPro` in the pipeline is the product sheet's `GTX Pro`: one product, not two.
        let products = t.get("/api/v1/analytics/deals?from=2016-01-01&to=2017-12-31&by=product").await;
        let names: Vec<&str> =
            products.body["lines"].as_array().unwrap().iter().map(|l| l["group"].as_str().unwrap()).collect();
        assert_eq!(names.len(), 7, "{names:?}");
        let gtx_pro = closed.iter().filter(|r| r[2] == "GTXPro" && r[4] == "Won").count() as i64;
        let line = products.body["lines"].as_array().unwrap().iter().find(|l| l["group"] == "GTXPro").unwrap();
        assert_eq!(line["won"], gtx_pro);
        // By sector: the deals of the 1,425 rows without an account fall in the "none" line.
        let sectors = t.get("/api/v1/analytics/deals?from=2016-01-01&to=2017-12-31&by=sector").await;
        let sum: i64 = sectors.body["lines"].as_array().unwrap().iter().map(|l| l["won"].as_i64().unwrap()).sum();
        assert_eq!(sum, 4238);
        // By month: twelve months of 2017, in order.
        let months = t.get("/api/v1/analytics/deals?from=2017-01-01&to=2017-12-31&by=month").await;
        let names: Vec<&str> =
            months.body["lines"].as_array().unwrap().iter().map(|l| l["group"].as_str().unwrap()).collect();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted);
        assert!(names.iter().all(|m| m.starts_with("2017-")), "{names:?}");

        // The same table as CSV, the total last.
        let (status, kind, body) = csv(&t, "/api/v1/analytics/deals?from=2016-01-01&to=2017-12-31&by=owner&format=csv").await;
        assert_eq!(status, StatusCode::OK);
        assert!(kind.starts_with("text/csv"), "{kind}");
        let last = body.lines().last().unwrap();
        assert!(last.starts_with("total,4238,2473,"), "{body}");
        assert_eq!(body.lines().count(), by_agent.len() + 2);

        // The reports page shows the same figures, written per language, and downloads the
        // same table.
        let path = "/reports?report=deals&by=owner&from=2016-01-01&to=2017-12-31";
        let (status, html) = page(&t, path, "en").await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("63.2%") && html.contains("Darcel Schlecht") && html.contains("<svg"), "{html}");
        let (_, html) = page(&t, path, "fr").await;
        assert!(html.contains("63,2\u{a0}%") && html.contains("Taux de gain"), "{html}");
        let (status, csv) = page(&t, "/reports.csv?report=deals&by=owner&from=2016-01-01&to=2017-12-31", "en").await;
        assert_eq!((status, csv), (StatusCode::OK, body.clone()));
        // For a French user, laid out as French Excel opens it: a byte-order mark, `;`, decimal
        // commas; the same cells otherwise.
        let (_, fr) = page(&t, "/reports.csv?report=deals&by=owner&from=2016-01-01&to=2017-12-31", "fr").await;
        let fr = fr.strip_prefix('\u{feff}').expect("a byte-order mark");
        let last = fr.lines().last().unwrap();
        assert!(last.starts_with("total;4238;2473;") && last.contains(";0,63"), "{last}");
        assert_eq!(fr.lines().count(), body.lines().count());
        for report in ["funnel", "stages", "forecast", "churn", "sla"] {
            let (status, html) = page(&t, &format!("/reports?report={report}"), "fr").await;
            assert_eq!(status, StatusCode::OK, "{report}: {html}");
            assert!(html.contains("id=\"h-report\""), "{report}");
        }
    }

    async fn a_deal_model_without_signal_says_so_and_is_not_activated(t) {
        // Maven CRM's deals: product, agent and account tell won from lost no better than
        // chance (LightGBM, logistic regression and naive Bayes all score AUC ≈ 0.50).
        import(&t, "companies", "accounts.csv", &maven("accounts.csv"), json!({"preset": "maven-crm"})).await;
        import(&t, "deals", "sales_pipeline.csv", &maven("sales_pipeline.csv"), json!({"preset": "maven-crm"})).await;
        let started = t.post("/api/v1/deal-models", json!({})).await;
        assert_eq!(started.status, StatusCode::ACCEPTED, "{}", started.body);
        assert!(t.app.run_one_job("test-worker").await.unwrap());
        let job = t.get(&format!("/api/v1/jobs/{}", started.body["id"].as_str().unwrap())).await;
        assert_eq!(job.body["state"], "succeeded", "{}", job.body);
        let models = t.get("/api/v1/deal-models").await;
        let m = &models.body[0];
        assert_eq!((m["won"].as_i64(), m["lost"].as_i64()), (Some(4238), Some(2473)), "{m}");
        assert_eq!(m["found_signal"], false, "{m}");
        assert_eq!(m["active"], false, "{m}");
        assert!(m["verdict"].as_str().unwrap().starts_with("No signal"), "{m}");
        assert!((m["auc_mean"].as_f64().unwrap() - 0.5).abs() < 0.04, "{m}");
        assert!(!m["fields_used"].as_array().unwrap().iter().any(|f| f == "value"), "the final value would leak the outcome: {m}");
        let refused = t.post("/api/v1/deal-models/1/activate", json!({})).await;
        assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.body);
        assert!(refused.body["detail"].as_str().unwrap().contains("No signal"), "{}", refused.body);
        // So an open deal has no probability to show, and says why.
        let open = t.get("/api/v1/deals?open=true&limit=1").await;
        let id = open.body["items"][0]["id"].as_str().unwrap();
        let p = t.get(&format!("/api/v1/deals/{id}/prediction")).await;
        assert_eq!(p.status, StatusCode::CONFLICT, "{}", p.body);
        // The model page says it too, in the reader's language.
        for (lang, words) in [("en", "No signal: from product, rep, source and company"), ("fr", "Aucun signal : à partir du produit")] {
            let (status, html) = page(&t, "/model", lang).await;
            assert_eq!(status, StatusCode::OK);
            assert!(html.contains(words) && html.contains("action=\"/model/deals/train\""), "{lang}: {html}");
        }
    }

    async fn a_deal_model_with_signal_is_activated_and_explains_open_deals(t) {
        // 300 closed deals where the product decides (nine in ten Alpha deals won, one in ten
        // Beta deals), and open deals of each.
        let mut csv = String::from("opportunity_id,sales_agent,product,account,deal_stage,engage_date,close_date,close_value\n");
        for i in 0..300 {
            let alpha = i % 2 == 0;
            let won = if alpha { i % 10 != 0 } else { i % 10 == 1 };
            csv.push_str(&format!(
                "D{i},Rep {},{},,{},2026-01-05,2026-03-01,{}\n",
                i % 3,
                if alpha { "Alpha" } else { "Beta" },
                if won { "Won" } else { "Lost" },
                if won { 1000 } else { 0 }
            ));
        }
        csv.push_str("O1,Rep 0,Alpha,,Engaging,2026-06-01,,\nO2,Rep 0,Beta,,Engaging,2026-06-01,,\n");
        import(&t, "deals", "deals.csv", csv.as_bytes(), json!({"preset": "maven-crm"})).await;
        let started = t.post("/api/v1/deal-models", json!({"seed": 7})).await;
        assert_eq!(started.status, StatusCode::ACCEPTED, "{}", started.body);
        assert!(t.app.run_one_job("test-worker").await.unwrap());
        let m = t.get("/api/v1/deal-models").await.body[0].clone();
        assert_eq!((m["found_signal"].as_bool(), m["active"].as_bool()), (Some(true), Some(true)), "{m}");
        assert!(m["auc_lower"].as_f64().unwrap() > 0.7, "{m}");
        let (_, html) = page(&t, "/model", "fr").await;
        assert!(html.contains("Il classe les affaires gagnées devant les perdues mieux que le hasard"), "{html}");
        let open = t.get("/api/v1/deals?open=true").await;
        let prob = |product: &str| {
            let id = open.body["items"].as_array().unwrap().iter().find(|d| d["product"] == product).unwrap()["id"].as_str().unwrap().to_string();
            let t = &t;
            async move { t.get(&format!("/api/v1/deals/{id}/prediction")).await }
        };
        let alpha = prob("Alpha").await;
        assert_eq!(alpha.status, StatusCode::OK, "{}", alpha.body);
        let beta = prob("Beta").await;
        assert!(alpha.body["probability"].as_f64().unwrap() > 0.7, "{}", alpha.body);
        assert!(beta.body["probability"].as_f64().unwrap() < 0.3, "{}", beta.body);
        let top = &alpha.body["factors"][0];
        assert!(top["label"].as_str().unwrap().contains("Alpha") && top["contribution"].as_f64().unwrap() > 0.0, "{}", alpha.body);
    }

    async fn the_x_education_funnel_by_source_matches_the_files_converted_column(t) {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/datasets/x-education/Leads.csv");
        let file = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        // The figures, from the file alone: leads and converted leads per source, sources
        // compared without case or surrounding spaces (`Google` and `google` are one).
        let mut expected: HashMap<String, (i64, i64)> = HashMap::new();
        let mut reader = csv::Reader::from_reader(file.as_slice());
        let headers = reader.headers().unwrap().clone();
        let column = |name: &str| headers.iter().position(|h| h == name).unwrap();
        let (source, converted) = (column("Lead Source"), column("Converted"));
        for row in reader.records() {
            let row = row.unwrap();
            let key = row[source].trim().to_lowercase();
            let e = expected.entry(key).or_default();
            e.0 += 1;
            e.1 += i64::from(&row[converted] == "1");
        }
        import(&t, "contacts", "Leads.csv", &file, json!({"preset": "x-education"})).await;
        let f = t.get("/api/v1/analytics/funnel?from=2026-01-01&to=2030-01-01&by=source").await;
        assert_eq!(f.status, StatusCode::OK, "{}", f.body);
        let lines = f.body["lines"].as_array().unwrap();
        assert_eq!(lines.len(), expected.len(), "{}", f.body);
        for line in lines {
            let key = line["group"].as_str().unwrap_or("").trim().to_lowercase();
            let (leads, customers) = expected[&key];
            assert_eq!((line["leads"].as_i64(), line["customer"].as_i64()), (Some(leads), Some(customers)), "{line}");
        }
        assert_eq!(f.body["total"]["customer"], 3561);
    }

    async fn reports_refuse_bad_periods_and_unknown_groupings(t) {
        let r = t.get("/api/v1/analytics/funnel?from=2026-02-01&to=2026-01-01").await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        assert!(r.body.to_string().contains("from"), "{}", r.body);
        let r = t.get("/api/v1/analytics/deals?by=colour").await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        assert!(r.body.to_string().contains("owner"), "the choices are named: {}", r.body);
        let r = t.get("/api/v1/analytics/churn?from=1900-01-01").await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        let r = t.get("/api/v1/analytics/stages?from=yesterday").await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    }
}

capture_tests! {
    async fn the_funnel_counts_imported_customers_and_each_step_once(t, clock) {
        // An imported history: two of three contacts converted (the x-education case).
        let file = "Email,Lead Source,Converted\na@x.example,Google,1\nb@x.example,google ,1\nc@x.example,Salon,0\n";
        import(&t, "contacts", "leads.csv", file.as_bytes(),
            json!({"map": {"source": "Lead Source"}, "outcome": {"column": "Converted", "positive": "1"}})).await;
        // A new lead moved to MQL, back to lead, and to MQL again: one MQL.
        let c = t.post("/api/v1/contacts", json!({"email": "d@x.example", "source": "Google"})).await;
        let id = c.body["id"].as_str().unwrap();
        for to in ["mql", "lead", "mql"] {
            let r = t.post(&format!("/api/v1/contacts/{id}/lifecycle"), json!({"to": to, "reason": "test"})).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        }

        let today = "2026-11-24";
        let f = t.get(&format!("/api/v1/analytics/funnel?from={today}&to={today}&by=source")).await;
        assert_eq!(f.status, StatusCode::OK, "{}", f.body);
        let total = &f.body["total"];
        assert_eq!((total["leads"].as_i64(), total["mql"].as_i64(), total["customer"].as_i64()), (Some(4), Some(3), Some(2)), "{total}");
        let google = &f.body["lines"][0];
        assert_eq!(google["group"], "Google", "spellings merged: {}", f.body);
        assert_eq!((google["leads"].as_i64(), google["customer"].as_i64()), (Some(3), Some(2)));
        assert_eq!(google["conversion_rate"].as_f64(), Some(2.0 / 3.0));

        // A month later: the cohort of that day is unchanged; the activity of the new month
        // holds only what happened in it.
        clock.advance(jiff::SignedDuration::from_hours(24 * 31));
        let all = t.get("/api/v1/contacts?limit=50").await;
        let imported = all.body["items"].as_array().unwrap().iter().find(|c| c["email"] == "c@x.example").unwrap();
        let r = t.post(&format!("/api/v1/contacts/{}/lifecycle", imported["id"].as_str().unwrap()), json!({"to": "mql", "reason": "test"})).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        t.post("/api/v1/contacts", json!({"email": "e@x.example"})).await;
        let cohort = t.get(&format!("/api/v1/analytics/funnel?from={today}&to={today}")).await;
        assert_eq!(cohort.body["total"]["leads"], 4);
        assert_eq!(cohort.body["total"]["mql"], 4, "the cohort follows its contacts: {}", cohort.body);
        let activity = t.get("/api/v1/analytics/funnel?from=2026-12-01&to=2026-12-31&mode=activity").await;
        let a = &activity.body["total"];
        assert_eq!((a["leads"].as_i64(), a["mql"].as_i64(), a["customer"].as_i64()), (Some(1), Some(1), Some(0)), "{a}");
        let (status, _, body) = csv(&t, "/api/v1/analytics/funnel?from=2026-11-24&to=2026-11-24&by=source&format=csv").await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.starts_with("group,leads,mql,sql,opportunity,customer,"), "{body}");
        assert!(body.contains("\r\nGoogle,3,3,2,2,2,"), "{body}");
    }

    async fn churn_counts_customers_who_leave_per_month(t, clock) {
        let mut ids = Vec::new();
        for i in 0..4 {
            let c = t.post("/api/v1/contacts", json!({"email": format!("c{i}@x.example"), "lifecycle_stage": "customer"})).await;
            assert_eq!(c.status, StatusCode::CREATED, "{}", c.body);
            ids.push(c.body["id"].as_str().unwrap().to_string());
        }
        clock.advance(jiff::SignedDuration::from_hours(24 * 10));
        let r = t.post(&format!("/api/v1/contacts/{}/lifecycle", ids[0]), json!({"to": "churned", "reason": "went to a competitor"})).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let churn = t.get("/api/v1/analytics/churn?from=2026-11-01&to=2026-12-31").await;
        assert_eq!(churn.status, StatusCode::OK, "{}", churn.body);
        let lines = churn.body["lines"].as_array().unwrap();
        assert_eq!(lines.len(), 2);
        assert_eq!((lines[0]["customers_at_start"].as_i64(), lines[0]["churned"].as_i64()), (Some(0), Some(0)));
        assert_eq!((lines[1]["customers_at_start"].as_i64(), lines[1]["churned"].as_i64()), (Some(4), Some(1)), "{}", churn.body);
        assert_eq!(lines[1]["churn_rate"].as_f64(), Some(0.25));
    }
}

capture_tests! {
    async fn sla_compliance_per_rep_and_week_and_the_funnel_by_product(t, clock) {
        let (rep, rep_key) = sales_user(&t, "ada@sales.example").await;
        let r = t.send(Method::PUT, &format!("/api/v1/reps/{rep}"), Some(ADMIN_KEY), Some(json!({"team": "inside"}))).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let agreement = json!({
            "routing": [{"name": "inside", "assign": {"strategy": "round_robin", "team": "inside"}}],
            "first_touch": {"hot_minutes": 60, "warm_minutes": 60, "cold_minutes": 60},
            "reminder_minutes": 15, "on_breach": "flag", "recycle_days": 30, "follow_up_days": 2
        });
        assert_eq!(t.send(Method::PUT, "/api/v1/agreement", Some(ADMIN_KEY), Some(agreement)).await.status, StatusCode::OK);
        let mut ids = Vec::new();
        for email in ["one@x.example", "two@x.example"] {
            let id = t.post("/api/v1/contacts", json!({"email": email})).await.body["id"].as_str().unwrap().to_string();
            // Becoming an MQL routes the lead (to Ada, the team's only rep).
            assert_eq!(t.post(&format!("/api/v1/contacts/{id}/lifecycle"), json!({"to": "mql"})).await.status, StatusCode::OK);
            ids.push(id);
        }
        clock.advance(jiff::SignedDuration::from_mins(30));
        let touch = t.send(Method::POST, &format!("/api/v1/contacts/{}/touches", ids[0]), Some(&rep_key), Some(json!({"kind": "call", "outcome": "reached"}))).await;
        assert!(touch.status.is_success(), "{}", touch.body);
        clock.advance(jiff::SignedDuration::from_hours(48));
        let sla = t.get("/api/v1/analytics/sla?from=2026-11-01&to=2026-11-30").await;
        assert_eq!(sla.status, StatusCode::OK, "{}", sla.body);
        let ada = &sla.body["lines"][0];
        assert_eq!(ada["group"], "ada@sales.example");
        assert_eq!((ada["handed"].as_i64(), ada["met"].as_i64(), ada["missed"].as_i64()), (Some(2), Some(1), Some(1)), "{ada}");
        assert_eq!(ada["compliance"].as_f64(), Some(0.5));
        assert_eq!(ada["median_minutes_to_first_touch"].as_f64(), Some(30.0));
        let weeks = t.get("/api/v1/analytics/sla?from=2026-11-01&to=2026-11-30&by=week").await;
        assert_eq!(weeks.body["lines"][0]["group"], "2026-W48", "{}", weeks.body);

        // By product: a contact counts under each product of its deals, `GTXPro` = `GTX Pro`.
        for (name, product) in [("A", "GTX Pro"), ("B", "GTXPro")] {
            let d = t.post("/api/v1/deals", json!({"name": name, "product": product, "contacts": [{"contact_id": ids[0], "role": "decision_maker"}]})).await;
            assert_eq!(d.status, StatusCode::CREATED, "{}", d.body);
        }
        let f = t.get("/api/v1/analytics/funnel?from=2026-11-24&to=2026-11-24&by=product").await;
        let lines = f.body["lines"].as_array().unwrap();
        assert_eq!(lines.len(), 2, "{}", f.body);
        assert_eq!((lines[0]["group"].as_str(), lines[0]["leads"].as_i64()), (Some("GTX Pro"), Some(1)), "{}", f.body);
        assert_eq!((lines[1]["group"].clone(), lines[1]["leads"].as_i64()), (Value::Null, Some(1)), "no deal: {}", f.body);
        assert_eq!(f.body["total"]["leads"], 2, "the total counts each contact once: {}", f.body);
        assert_eq!(f.body["visitors"], 0);
    }
}

capture_tests! {
    async fn time_in_stage_and_the_forecast_follow_the_deals_moves(t, clock) {
        let d = t.post("/api/v1/deals", json!({"name": "Acme", "value": 10000, "expected_close_on": "2026-12-15"})).await;
        assert_eq!(d.status, StatusCode::CREATED, "{}", d.body);
        let id = d.body["id"].as_str().unwrap().to_string();
        let mv = |to: &'static str, days: i64| {
            clock.advance(jiff::SignedDuration::from_hours(24 * days));
            let (t, id) = (&t, id.clone());
            async move {
                let r = t.post(&format!("/api/v1/deals/{id}/moves"), json!({"to": to})).await;
                assert_eq!(r.status, StatusCode::OK, "{}", r.body);
            }
        };
        // first contact 2 days, proposal 4 days, back to first contact 6 days, then negotiation.
        mv("proposal", 2).await;
        mv("first_contact", 4).await;
        mv("negotiation", 6).await;
        let stages = t.get("/api/v1/analytics/stages?from=2026-11-01&to=2026-12-31").await;
        assert_eq!(stages.status, StatusCode::OK, "{}", stages.body);
        let line = |stage: &str| stages.body["lines"].as_array().unwrap().iter().find(|l| l["stage"] == stage).unwrap().clone();
        let first = line("first_contact");
        assert_eq!((first["deals"].as_i64(), first["median_days"].as_f64()), (Some(2), Some(4.0)), "two stays, 2 and 6 days: {first}");
        assert_eq!((line("proposal")["deals"].as_i64(), line("proposal")["average_days"].as_f64()), (Some(1), Some(4.0)));
        assert_eq!(line("negotiation")["deals"], 0, "still running");

        let forecast = t.get("/api/v1/analytics/forecast?from=2026-12-01&to=2027-01-31").await;
        let december = &forecast.body["lines"][0];
        assert_eq!(december["month"], "2026-12");
        assert_eq!((december["open_deals"].as_i64(), december["pipeline_value"].as_f64()), (Some(1), Some(10000.0)));
        assert_eq!(december["weighted_value"].as_f64(), Some(7500.0), "negotiation: 75 % by default: {december}");
    }
}

api_tests! {
    async fn a_running_import_is_followed_live_without_reloading_the_page(t) {
        let up = upload(&t, "people.csv", b"email,first_name\na@x.example,Ann\nb@x.example,Bo\nc@x.example,Cy\n").await;
        assert_eq!(up.status, StatusCode::CREATED, "{}", up.body);
        let started = t.post("/api/v1/imports", json!({"upload_id": up.body["id"], "entity": "contacts"})).await;
        assert_eq!(started.status, StatusCode::ACCEPTED, "{}", started.body);
        let job = started.body["id"].as_str().unwrap().to_string();

        // Queued: the page shows a progress bar its script keeps current; no full-page refresh
        // unless scripts are off.
        let (status, html) = page(&t, &format!("/import?job={job}"), "en").await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains(&format!("data-job=\"{job}\"")) && html.contains("<progress"), "{html}");
        assert!(html.contains("<noscript><meta http-equiv=\"refresh\""), "{html}");
        let (status, body) = page(&t, &format!("/jobs/{job}/progress"), "en").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let running: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(running["running"], true, "{running}");

        assert!(t.app.run_one_job("test-worker").await.unwrap());
        // A CSV's size is known once read: the count alone, then 100 %.
        for (lang, counts) in [("en", "3 done"), ("fr", "3 traités")] {
            let (_, body) = page(&t, &format!("/jobs/{job}/progress"), lang).await;
            let done: Value = serde_json::from_str(&body).unwrap();
            assert_eq!((done["running"].as_bool(), done["percent"].as_u64()), (Some(false), Some(100)), "{done}");
            assert_eq!(done["counts"], counts, "{done}");
        }
        let (_, html) = page(&t, &format!("/import?job={job}"), "en").await;
        assert!(!html.contains("data-job=") && !html.contains("http-equiv=\"refresh\""), "finished: no more polling");
        let (status, _) = page(&t, "/jobs/not-a-job/progress", "en").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
}
