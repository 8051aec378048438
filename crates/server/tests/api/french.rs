//! No English left on a French page (issue 22): every page of the web UI, with data on it, is
//! read in French, and a text node that is one of the UI's English texts, or an English sentence
//! written in code rather than in the translation table, fails the test with where it is.

use super::*;

/// The texts a reader sees: text nodes (scripts, styles and textareas left out), and the labels given in
/// attributes (`aria-label`, `placeholder`, `title`), entities decoded.
fn visible_texts(html: &str) -> Vec<String> {
    let mut html = html.to_string();
    // A textarea holds a document being edited (a rule set's JSON): the user's data, not words
    // of the UI.
    for tag in ["script", "style", "textarea"] {
        while let Some(start) = html.find(&format!("<{tag}")) {
            let end =
                html[start..].find(&format!("</{tag}>")).map_or(html.len(), |e| start + e + tag.len() + 3);
            html.replace_range(start..end, " ");
        }
    }
    let decode = |s: &str| {
        s.replace("&#38;", "&")
            .replace("&amp;", "&")
            .replace("&#39;", "'")
            .replace("&#34;", "\"")
            .replace("&quot;", "\"")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&nbsp;", "\u{a0}")
            .replace("&#60;", "<")
            .replace("&#62;", ">")
    };
    let mut out = Vec::new();
    for piece in html.split('<').skip(1) {
        let (tag, text) = piece.split_once('>').unwrap_or((piece, ""));
        for attribute in ["aria-label=\"", "placeholder=\"", "title=\""] {
            if let Some(rest) = tag.split(attribute).nth(1) {
                out.push(decode(rest.split('"').next().unwrap_or_default()));
            }
        }
        out.push(decode(text));
    }
    out.into_iter().map(|t| t.trim().to_string()).filter(|t| !t.is_empty()).collect()
}

/// Words that mark an English sentence (two of them in one text).
const ENGLISH_WORDS: &[&str] = &[
    "the", "and", "with", "your", "this", "from", "that", "have", "are", "was", "will", "been", "which",
    "there", "their", "would", "should", "into", "only", "when", "what", "must", "give", "pick", "each",
    "not",
];

/// Why a text on a French page is English, if it is.
fn english(text: &str) -> Option<String> {
    use leadgate_server::web::i18n::{ALL_KEYS, PRESET_FR};
    if let Some((en, _)) = PRESET_FR.iter().find(|(en, _)| *en == text) {
        return Some(format!("a built-in rule's English wording: {en}"));
    }
    let is_french = |s: &str| ALL_KEYS.iter().any(|(_, _, fr)| *fr == s);
    if let Some((key, en, _)) =
        ALL_KEYS.iter().find(|(_, en, fr)| *en == text && en != fr && en.chars().count() >= 4)
    {
        if !is_french(en) {
            return Some(format!("the English of `{key}`: {en}"));
        }
    }
    let words: std::collections::BTreeSet<String> = text
        .split(|c: char| !c.is_ascii_alphabetic())
        .map(str::to_ascii_lowercase)
        .filter(|w| ENGLISH_WORDS.contains(&w.as_str()))
        .collect();
    (words.len() >= 2).then(|| {
        format!("an English sentence ({}): {text}", words.into_iter().collect::<Vec<_>>().join(", "))
    })
}

api_tests! {
    async fn no_english_is_left_on_a_french_page(t) {
        // Data on every page: a scored lead with a timeline, a company, a deal, a sequence, an
        // import's preview and job, a saved view.
        let company = t.post("/api/v1/companies", json!({"name": "Acme Industries", "sector": "Software"})).await.body["id"].as_str().unwrap().to_string();
        let contact = t.post("/api/v1/contacts", json!({"email": "hana@acme.example", "first_name": "Hana", "job_title": "CEO", "phone": "+33 6 12 34 56 78", "company_id": company})).await.body["id"].as_str().unwrap().to_string();
        let now = "2026-11-24T10:05:00Z";
        t.post("/api/v1/events/batch", json!({"events": [
            {"contact_id": contact, "kind": "page_view", "occurred_at": now, "properties": {"url": "https://example.com/pricing"}},
            {"contact_id": contact, "kind": "quote_request", "occurred_at": now}
        ]})).await;
        let deal = t.post("/api/v1/deals", json!({"name": "Acme — 40 seats", "value": 12000.0, "company_id": company, "contacts": [{"contact_id": contact, "role": "decision_maker"}]})).await.body["id"].as_str().unwrap().to_string();
        let (sequence, _) = crate::nurture::recycle_sequence(&t).await;
        let templates = t.get("/api/v1/email-templates").await.body;
        let template = templates.as_array().or(templates["items"].as_array()).unwrap()[0]["id"].as_str().unwrap().to_string();
        let up = upload(&t, "salon.csv", b"email,first_name\nana@salon.example,Ana\nnot-an-email,Bob\n").await;
        let upload_id = up.body["id"].as_str().unwrap().to_string();
        let job = t.post("/api/v1/imports", json!({"upload_id": upload_id, "entity": "contacts"})).await.body["id"].as_str().unwrap().to_string();
        assert!(t.app.run_one_job("test-worker").await.unwrap());
        let up2 = upload(&t, "second.csv", b"email,first_name\nzoe@salon.example,Zoe\n").await;
        let preview = up2.body["id"].as_str().unwrap().to_string();

        let (token, _) = crate::nurture::admin_session(&t).await;
        let mut pages: Vec<String> = [
            "/leads", "/leads?sort=probability&dir=desc", "/leads?source=nowhere", "/contacts/new", "/pipeline", "/pipeline/settings",
            "/dashboard", "/queue", "/tasks", "/import", "/rules", "/model", "/nurture", "/privacy", "/privacy/audit", "/companies", "/forms",
            "/admin/users", "/admin/handoff", "/admin/webhooks", "/account",
            "/rules/edit?section=fit&index=0", "/rules/edit?section=engagement&index=0", "/rules/edit?section=knockout",
        ].map(String::from).to_vec();
        for kind in ["funnel", "deals", "stages", "forecast", "churn", "sla"] {
            pages.push(format!("/reports?report={kind}"));
        }
        pages.extend([
            format!("/contacts/{contact}"), format!("/companies/{company}"), format!("/deals/{deal}"),
            format!("/nurture/sequences/{sequence}"), format!("/nurture/templates/{template}"),
            format!("/import/{preview}"), format!("/import?job={job}"),
        ]);
        let mut found = Vec::new();
        for path in &pages {
            let r = t.http.get(format!("{}{path}", t.base)).header("cookie", format!("lg_session={token}"))
                .header("accept-language", "fr-FR,fr;q=0.9").send().await.unwrap();
            assert_eq!(r.status(), StatusCode::OK, "{path}");
            for text in visible_texts(&r.text().await.unwrap()) {
                if let Some(why) = english(&text) {
                    found.push(format!("{path}: {why}"));
                }
            }
        }
        found.dedup();
        // The built-in rules speak French too (not only "no English").
        let html = t.http.get(format!("{}/contacts/{contact}", t.base)).header("cookie", format!("lg_session={token}"))
            .header("accept-language", "fr").send().await.unwrap().text().await.unwrap();
        assert!(html.contains("Le poste montre un pouvoir de décision") && html.contains("Un numéro de téléphone est connu"), "{html}");
        assert!(found.is_empty(), "{} English texts on French pages:\n{}", found.len(), found.join("\n"));
    }
}

#[test]
fn an_english_label_or_sentence_is_told_from_french_and_from_data() {
    assert!(english("Win probability").is_some(), "a UI text in English");
    assert!(english("Probabilité de gain").is_none());
    assert!(english("Acme — 40 seats").is_none(), "data");
    assert!(english("Job title shows decision power").is_some(), "a built-in rule's label");
    assert!(english("Give the view a name with at most 80 characters").is_some(), "a sentence from code");
    assert_eq!(
        visible_texts("<p title=\"Hi &amp; bye\">a<script>let x = 'the and';</script><b> b </b></p>"),
        ["Hi & bye", "a", "b"]
    );
}
