//! The import wizard.

use super::*;

pub(super) struct ImportPreviewView {
    pub upload_id: String,
    pub entity: String,
    pub preset: String,
    pub missing: String,
    pub map: String,
    pub outcome_column: String,
    pub outcome_positive: String,
    pub overwrite: bool,
    pub summary: String,
    pub columns: Vec<Row3>,
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

#[derive(Template)]
#[template(path = "ui/import.html")]
pub(super) struct ImportPage {
    pub(super) c: Chrome,
    pub(super) error: Option<String>,
    pub(super) preview: Option<ImportPreviewView>,
    pub(super) job: Option<JobNotice>,
    pub(super) rejects_url: Option<String>,
    /// Values kept because they changed in Leadgate since the last import, in words.
    pub(super) kept: Option<String>,
    /// The built-in scoring rules made for the imported file, offered when others are active.
    pub(super) suggested_rules: Option<String>,
}

pub(super) async fn import_page(
    State(state): State<AppState>,
    s: Signed,
    Query(q): Query<ModelQuery>,
) -> Response {
    let t = s.lang.texts();
    let (mut job, mut rejects_url, mut kept, mut suggested_rules) = (None, None, None, None);
    if let Some(id) = q.job.as_deref().and_then(|j| j.parse::<leadgate_core::ids::JobId>().ok()) {
        match state.app.job(s.p(), id).await {
            Ok(j) => {
                let n = |x: i64| s.lang.number(x as f64, 0);
                let running = t
                    .importing
                    .replace("{done}", &n(j.progress_done))
                    .replace("{total}", &j.progress_total.map_or("…".into(), n));
                let result =
                    |k: &str| j.result.as_ref().and_then(|r| r.get(k)).and_then(|v| v.as_i64()).unwrap_or(0);
                let done = t
                    .imported
                    .replace("{created}", &n(result("created")))
                    .replace("{updated}", &n(result("updated")))
                    .replace("{unchanged}", &n(result("unchanged")))
                    .replace("{rejected}", &n(result("rejected")));
                let notice = job_notice(s.lang, &j, running, &done, t.import_failed, state.app.now());
                if !notice.running && result("rejected") > 0 {
                    rejects_url = Some(format!("/import/jobs/{id}/rejects.csv"));
                }
                let kept_fields =
                    j.result.as_ref().and_then(|r| r.get("kept_fields")).and_then(|v| v.as_object());
                if !notice.running
                    && let Some(fields) = kept_fields.filter(|f| !f.is_empty())
                {
                    let total: i64 = fields.values().filter_map(|v| v.as_i64()).sum();
                    let names: Vec<String> =
                        fields.iter().map(|(k, v)| format!("{k} {}", v.as_i64().unwrap_or(0))).collect();
                    kept =
                        Some(t.kept_edited.replace("{n}", &n(total)).replace("{fields}", &names.join(", ")));
                }
                if !notice.running && s.p().user.role.allows(leadgate_core::access::Permission::ManageScoring)
                {
                    suggested_rules = j
                        .result
                        .as_ref()
                        .and_then(|r| r.get("suggested_rules"))
                        .and_then(|v| v.as_str())
                        .map(String::from);
                }
                job = Some(notice);
            }
            Err(e) => return app_error(&s, e),
        }
    }
    render(ImportPage {
        c: s.chrome("import"),
        error: None,
        preview: None,
        job,
        rejects_url,
        kept,
        suggested_rules,
    })
}

pub(super) async fn import_upload(
    State(state): State<AppState>,
    s: Signed,
    mut multipart: axum::extract::Multipart,
) -> Response {
    let (mut csrf, mut entity, mut preset, mut file) =
        (String::new(), String::from("contacts"), String::new(), None);
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => return s.error(StatusCode::BAD_REQUEST, &e.body_text()),
        };
        let name = field.name().unwrap_or_default().to_string();
        let file_name = field.file_name().map(String::from);
        let Ok(bytes) = field.bytes().await else {
            return s.error(StatusCode::PAYLOAD_TOO_LARGE, s.lang.texts().file);
        };
        match name.as_str() {
            "_csrf" => csrf = String::from_utf8_lossy(&bytes).into_owned(),
            "entity" => entity = String::from_utf8_lossy(&bytes).into_owned(),
            "preset" => preset = String::from_utf8_lossy(&bytes).into_owned(),
            "file" => file = Some((file_name.unwrap_or_else(|| "upload.csv".into()), bytes.to_vec())),
            _ => {}
        }
    }
    if let Some(r) = s.refuse_forged(&csrf) {
        return r;
    }
    let Some((name, content)) = file else {
        return app_error(&s, AppError::invalid("file", "choose a CSV file"));
    };
    match state.app.upload(s.p(), &name, content).await {
        Ok(up) => Redirect::to(&format!(
            "/import/{}?entity={}&preset={}",
            up.id,
            urlencode(&entity),
            urlencode(&preset)
        ))
        .into_response(),
        Err(e) => render(ImportPage {
            c: s.chrome("import"),
            error: Some(problem_text(s.lang, &e)),
            preview: None,
            job: None,
            rejects_url: None,
            kept: None,
            suggested_rules: None,
        }),
    }
}

#[derive(Deserialize, Default)]
pub(super) struct ImportQuery {
    pub(super) entity: Option<String>,
    pub(super) preset: Option<String>,
    pub(super) missing: Option<String>,
    pub(super) map: Option<String>,
    pub(super) outcome_column: Option<String>,
    pub(super) outcome_positive: Option<String>,
    /// `1` (a ticked box): overwrite values changed in Leadgate since the last import.
    pub(super) overwrite: Option<String>,
}

pub(super) fn import_request(
    upload: uuid::Uuid,
    q: &ImportQuery,
) -> Result<leadgate_app::import::ImportRequest, AppError> {
    let mut map = std::collections::BTreeMap::new();
    for (i, line) in q.map.as_deref().unwrap_or_default().lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let Some((field, column)) = line.split_once('=') else {
            return Err(AppError::invalid(
                format!("map line {}", i + 1),
                "write field=Column, e.g. email=Courriel",
            ));
        };
        map.insert(field.trim().to_string(), column.trim().to_string());
    }
    let outcome = match (nonempty(&q.outcome_column), nonempty(&q.outcome_positive)) {
        (Some(column), Some(positive)) => Some(leadgate_app::import::OutcomeColumn { column, positive }),
        (None, None) => None,
        _ => return Err(AppError::invalid("outcome", "give both the column and its value when converted")),
    };
    Ok(leadgate_app::import::ImportRequest {
        upload_id: upload,
        entity: nonempty(&q.entity).unwrap_or_else(|| "contacts".into()),
        map,
        preset: nonempty(&q.preset),
        types: Default::default(),
        missing: q
            .missing
            .as_deref()
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|m| !m.is_empty())
            .map(String::from)
            .collect(),
        outcome,
        overwrite: q.overwrite.as_deref().is_some_and(|v| !v.is_empty()),
    })
}

pub(super) async fn import_preview(
    State(state): State<AppState>,
    s: Signed,
    Path(upload): Path<String>,
    Query(q): Query<ImportQuery>,
) -> Response {
    let t = s.lang.texts();
    let Ok(upload) = upload.parse::<uuid::Uuid>() else {
        return s.error(StatusCode::NOT_FOUND, t.not_found);
    };
    let page = |error: Option<String>, preview: Option<ImportPreviewView>| {
        render(ImportPage {
            c: s.chrome("import"),
            error,
            preview,
            job: None,
            rejects_url: None,
            kept: None,
            suggested_rules: None,
        })
    };
    let request = match import_request(upload, &q) {
        Ok(r) => r,
        Err(e) => return page(Some(problem_text(s.lang, &e)), None),
    };
    let base = ImportPreviewView {
        upload_id: upload.to_string(),
        entity: request.entity.clone(),
        preset: request.preset.clone().unwrap_or_default(),
        missing: request.missing.join(", "),
        map: q.map.clone().unwrap_or_default(),
        outcome_column: q.outcome_column.clone().unwrap_or_default(),
        outcome_positive: q.outcome_positive.clone().unwrap_or_default(),
        overwrite: request.overwrite,
        summary: String::new(),
        columns: Vec::new(),
        headers: Vec::new(),
        rows: Vec::new(),
    };
    match state.app.preview_import(s.p(), &request).await {
        Ok(p) => {
            let columns: Vec<Row3> = p
                .columns
                .iter()
                .map(|c| {
                    let target = c["target"].as_str().unwrap_or_default();
                    let b = if target == "custom" {
                        format!(
                            "custom.{} ({})",
                            c["key"].as_str().unwrap_or_default(),
                            c["field_type"].as_str().unwrap_or_default()
                        )
                    } else {
                        target.to_string()
                    };
                    Row3 {
                        a: c["header"].as_str().unwrap_or_default().to_string(),
                        b,
                        c: c["chosen_by"].as_str().unwrap_or_default().to_string(),
                    }
                })
                .collect();
            let headers = columns.iter().map(|c| c.a.clone()).collect();
            let summary =
                t.rows_in_file.replace("{n}", &s.lang.number(p.rows as f64, 0)).replace("{d}", &p.delimiter);
            page(None, Some(ImportPreviewView { summary, columns, headers, rows: p.sample, ..base }))
        }
        Err(e) => page(Some(problem_text(s.lang, &e)), Some(base)),
    }
}

#[derive(Deserialize)]
pub(super) struct ImportForm {
    #[serde(rename = "_csrf")]
    pub(super) csrf: String,
    pub(super) action: String,
    #[serde(flatten)]
    pub(super) query: ImportQueryForm,
}

#[derive(Deserialize)]
pub(super) struct ImportQueryForm {
    pub(super) entity: Option<String>,
    pub(super) preset: Option<String>,
    pub(super) missing: Option<String>,
    pub(super) map: Option<String>,
    pub(super) outcome_column: Option<String>,
    pub(super) outcome_positive: Option<String>,
    pub(super) overwrite: Option<String>,
}

pub(super) async fn import_submit(
    State(state): State<AppState>,
    s: Signed,
    Path(upload): Path<String>,
    Form(f): Form<ImportForm>,
) -> Response {
    if let Some(r) = s.refuse_forged(&f.csrf) {
        return r;
    }
    let Ok(upload) = upload.parse::<uuid::Uuid>() else {
        return s.error(StatusCode::NOT_FOUND, s.lang.texts().not_found);
    };
    let q = ImportQuery {
        entity: f.query.entity,
        preset: f.query.preset,
        missing: f.query.missing,
        map: f.query.map,
        outcome_column: f.query.outcome_column,
        outcome_positive: f.query.outcome_positive,
        overwrite: f.query.overwrite,
    };
    // A refused run falls through to the preview, which shows why beside the mapping.
    if f.action == "run"
        && let Ok(request) = import_request(upload, &q)
    {
        match state.app.start_import(s.p(), request).await {
            Ok(job) => return Redirect::to(&format!("/import?job={}", job.id)).into_response(),
            Err(AppError::Forbidden { .. }) => {
                return s.error(StatusCode::FORBIDDEN, s.lang.texts().not_allowed);
            }
            Err(_) => {}
        }
    }
    let mut url = format!("/import/{upload}?");
    for (k, v) in [
        ("entity", &q.entity),
        ("preset", &q.preset),
        ("missing", &q.missing),
        ("map", &q.map),
        ("outcome_column", &q.outcome_column),
        ("outcome_positive", &q.outcome_positive),
        ("overwrite", &q.overwrite),
    ] {
        if let Some(v) = v {
            let _ = write!(url, "{k}={}&", urlencode(v));
        }
    }
    Redirect::to(&url).into_response()
}

pub(super) async fn import_rejects_csv(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
) -> Response {
    let Ok(id) = id.parse::<leadgate_core::ids::JobId>() else {
        return s.error(StatusCode::NOT_FOUND, s.lang.texts().not_found);
    };
    let rejects = match state.app.import_rejects(s.p(), id).await {
        Ok(r) => r,
        Err(e) => return app_error(&s, e),
    };
    match leadgate_app::export::rejects_csv(&rejects) {
        Ok(bytes) => csv_download(s.lang, "rejects.csv", bytes),
        Err(e) => app_error(&s, e),
    }
}
