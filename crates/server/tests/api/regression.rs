//! Regression tests for defects found by using the product end to end (issue 18), each named
//! after what it protects and run on both databases.

use super::*;

/// Imports `csv` as contacts through the API and runs the job; returns the job's summary.
async fn import_contacts(t: &TestApp, csv: &[u8]) -> Value {
    let up = upload(t, "contacts.csv", csv).await;
    assert_eq!(up.status, StatusCode::CREATED, "{}", up.body);
    let started = t.post("/api/v1/imports", json!({"upload_id": up.body["id"], "entity": "contacts"})).await;
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

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}
