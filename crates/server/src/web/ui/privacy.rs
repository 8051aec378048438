//! Personal data in the UI: the retention rule (who is due, erase them now), erasure of a list of
//! e-mails with its receipt, the audit log (admins), and a person's export and erasure from their
//! contact page.

use leadgate_app::privacy::{ErasureReceipt, RetentionReport};
use leadgate_core::access::Permission;
use leadgate_store::privacy::AuditFilter;

use super::*;

pub(super) struct DueLine {
    pub id: String,
    pub email: String,
}

#[derive(Template)]
#[template(path = "ui/privacy.html")]
pub(super) struct PrivacyPage {
    c: Chrome,
    retention: String,
    due: String,
    due_lines: Vec<DueLine>,
    receipt: Option<String>,
    invalid: Vec<String>,
    can_audit: bool,
}

async fn privacy_page(
    state: &AppState,
    s: &Signed,
    receipt: Option<&ErasureReceipt>,
    purged: Option<&RetentionReport>,
) -> Response {
    let t = s.lang.texts();
    let report = match state.app.retention_due(s.p()).await {
        Ok(r) => r,
        Err(e) => return app_error(s, e),
    };
    let mut c = s.chrome("privacy");
    if let Some(p) = purged {
        c.notice = Some(t.purged.replace("{n}", &s.lang.number(p.due as f64, 0)));
    }
    let receipt_text = receipt.map(|r| {
        t.erase_receipt
            .replace("{erased}", &s.lang.number(r.erased as f64, 0))
            .replace("{asked}", &s.lang.number(r.asked as f64, 0))
            .replace("{absent}", &s.lang.number(r.already_absent as f64, 0))
            .replace("{suppressed}", &s.lang.number(r.newly_suppressed as f64, 0))
    });
    render(PrivacyPage {
        c,
        retention: if report.retention_days == 0 {
            t.retention_off.to_string()
        } else {
            t.retention_text
                .replace("{days}", &s.lang.number(f64::from(report.retention_days), 0))
                .replace("{cutoff}", &s.datetime(report.cutoff))
                .replace("{grace}", &leadgate_app::privacy::GRACE_DAYS.to_string())
        },
        due: s.lang.number(report.due as f64, 0),
        due_lines: report
            .sample
            .into_iter()
            .map(|d| DueLine { id: d.id.to_string(), email: d.email.unwrap_or_else(|| d.id.to_string()) })
            .collect(),
        receipt: receipt_text,
        invalid: receipt
            .map(|r| {
                r.invalid
                    .iter()
                    .map(|b| {
                        t.not_an_email.replace("{line}", &b.line.to_string()).replace("{value}", &b.value)
                    })
                    .collect()
            })
            .unwrap_or_default(),
        can_audit: s.p().user.role.allows(Permission::ReadAuditLog),
    })
}

pub(super) async fn privacy(State(state): State<AppState>, s: Signed) -> Response {
    privacy_page(&state, &s, None, None).await
}

#[derive(Deserialize)]
pub(super) struct EraseListForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    emails: String,
}

pub(super) async fn privacy_erase(
    State(state): State<AppState>,
    s: Signed,
    Form(f): Form<EraseListForm>,
) -> Response {
    if let Some(r) = s.refuse_forged(&f.csrf) {
        return r;
    }
    match state.app.erase_emails(s.p(), &f.emails).await {
        Ok(receipt) => privacy_page(&state, &s, Some(&receipt), None).await,
        Err(e) => app_error(&s, e),
    }
}

pub(super) async fn privacy_purge(
    State(state): State<AppState>,
    s: Signed,
    Form(f): Form<CsrfForm>,
) -> Response {
    if let Some(r) = s.refuse_forged(&f.csrf) {
        return r;
    }
    match state.app.purge(s.p()).await {
        Ok(report) => privacy_page(&state, &s, None, Some(&report)).await,
        Err(e) => app_error(&s, e),
    }
}

pub(super) struct AuditLine {
    pub when: String,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub ip: String,
    pub detail: String,
}

#[derive(Template)]
#[template(path = "ui/audit.html")]
pub(super) struct AuditPage {
    c: Chrome,
    action: String,
    actor: String,
    lines: Vec<AuditLine>,
    csv: String,
}

#[derive(Deserialize)]
pub(super) struct AuditQuery {
    action: Option<String>,
    actor: Option<String>,
}

fn audit_filter(q: &AuditQuery) -> AuditFilter {
    let some = |v: &Option<String>| v.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_string);
    AuditFilter { action: some(&q.action), actor: some(&q.actor), ..Default::default() }
}

pub(super) async fn audit(State(state): State<AppState>, s: Signed, Query(q): Query<AuditQuery>) -> Response {
    let page = match state.app.audit_log(s.p(), &audit_filter(&q), 200, None).await {
        Ok(p) => p,
        Err(e) => return app_error(&s, e),
    };
    let query = serde_urlencoded::to_string([
        ("action", q.action.clone().unwrap_or_default()),
        ("actor", q.actor.clone().unwrap_or_default()),
    ])
    .unwrap_or_default();
    render(AuditPage {
        c: s.chrome("privacy"),
        action: q.action.unwrap_or_default(),
        actor: q.actor.unwrap_or_default(),
        lines: page
            .items
            .into_iter()
            .map(|e| AuditLine {
                when: s.datetime(e.at),
                actor: e.actor,
                action: e.action,
                target: e.target.unwrap_or_default(),
                ip: e.ip.unwrap_or_default(),
                detail: if e.detail.as_object().is_some_and(|o| o.is_empty()) {
                    String::new()
                } else {
                    e.detail.to_string()
                },
            })
            .collect(),
        csv: format!("/privacy/audit.csv?{query}"),
    })
}

pub(super) async fn audit_csv(
    State(state): State<AppState>,
    s: Signed,
    Query(q): Query<AuditQuery>,
) -> Response {
    match state.app.audit_csv(s.p(), &audit_filter(&q), 100_000).await {
        Ok(body) => csv_download(s.lang, "audit-log.csv", body),
        Err(e) => app_error(&s, e),
    }
}

pub(super) async fn contact_export(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
) -> Response {
    let Ok(id) = id.parse::<ContactId>() else {
        return s.error(StatusCode::NOT_FOUND, s.lang.texts().not_found);
    };
    match state.app.export_person_zip(s.p(), id).await {
        Ok(zip) => crate::api::privacy::zip_download(zip, &format!("contact-{id}.zip")),
        Err(e) => app_error(&s, e),
    }
}

pub(super) async fn contact_object(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
    Form(f): Form<CsrfForm>,
) -> Response {
    contact_button(&s, &id, &f.csrf, |id| state.app.record_objection(s.p(), id)).await
}

#[derive(Deserialize)]
pub(super) struct EraseForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    confirm: Option<String>,
}

pub(super) async fn contact_erase(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
    Form(f): Form<EraseForm>,
) -> Response {
    let id: ContactId = match s.accept(&f.csrf, &id) {
        Ok(id) => id,
        Err(r) => return *r,
    };
    if f.confirm.as_deref() != Some("yes") {
        return s.error(StatusCode::UNPROCESSABLE_ENTITY, s.lang.texts().erase_unconfirmed);
    }
    match state.app.erase_contact(s.p(), id).await {
        Ok(_) => {
            Redirect::to(&format!("/leads?done={}", urlencode(s.lang.texts().erased_notice))).into_response()
        }
        Err(e) => app_error(&s, e),
    }
}
