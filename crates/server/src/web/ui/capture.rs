//! Capture in the UI: web forms (a list, a new form, a line editor for its fields and consent
//! checkboxes, its address and embed code) and custom fields (declared and deleted), which the
//! API alone managed before.

use leadgate_core::custom_field::{CustomFieldDefinition, FieldEntity, FieldType};
use leadgate_core::form::{ConsentItem, FormDefinition, FormField, FormFieldType, Purpose};

use super::*;

pub(super) struct FormLine {
    pub id: String,
    pub title: String,
    pub url: String,
    pub submissions: String,
}

pub(super) struct FieldLine {
    pub entity: &'static str,
    /// `contact` or `company`, and the key alone: the delete form's address.
    pub entity_code: &'static str,
    pub bare_key: String,
    pub key: String,
    pub label: String,
    pub field_type: &'static str,
    pub choices: String,
}

#[derive(Template)]
#[template(path = "ui/forms.html")]
pub(super) struct FormsPage {
    c: Chrome,
    forms: Vec<FormLine>,
    fields: Vec<FieldLine>,
    field_types: Vec<Choice>,
    can_edit: bool,
    errors: Vec<String>,
}

fn field_type_label(t: &Texts, f: FieldType) -> &'static str {
    match f {
        FieldType::Text => t.type_text,
        FieldType::Number => t.type_number,
        FieldType::Boolean => t.type_boolean,
        FieldType::Date => t.type_date,
        FieldType::Choice => t.type_choice,
    }
}

async fn forms_page(state: &AppState, s: &Signed, errors: Vec<String>, notice: Option<String>) -> Response {
    let t = s.lang.texts();
    let forms = match state.app.forms(s.p()).await {
        Ok(f) => f,
        Err(e) => return app_error(s, e),
    };
    let fields = state.app.custom_fields(s.p(), None).await.unwrap_or_default();
    let mut c = s.chrome("forms");
    c.notice = notice;
    let failed = !errors.is_empty();
    let page = render(FormsPage {
        c,
        forms: forms
            .into_iter()
            .map(|f| FormLine {
                id: f.id.to_string(),
                title: f.definition.title,
                url: f.url,
                submissions: s.lang.number(f.submissions as f64, 0),
            })
            .collect(),
        fields: fields
            .into_iter()
            .map(|f| FieldLine {
                entity: match f.entity {
                    FieldEntity::Contact => t.entity_contact,
                    FieldEntity::Company => t.entity_company,
                },
                entity_code: f.entity.as_str(),
                bare_key: f.key.clone(),
                key: format!("{}.{}", f.entity.as_str(), f.key),
                label: f.label,
                field_type: field_type_label(t, f.field_type),
                choices: f.choices.join(", "),
            })
            .collect(),
        field_types: [
            FieldType::Text,
            FieldType::Number,
            FieldType::Boolean,
            FieldType::Date,
            FieldType::Choice,
        ]
        .into_iter()
        .map(|f| Choice { value: f.as_str().into(), label: field_type_label(t, f).into(), selected: false })
        .collect(),
        can_edit: s.p().user.role.allows(leadgate_core::access::Permission::ManageForms),
        errors,
    });
    if failed { refused(page) } else { page }
}

pub(super) async fn forms(
    State(state): State<AppState>,
    s: Signed,
    Query(n): Query<NoticeQuery>,
) -> Response {
    let notice = n.done.map(|_| s.lang.texts().done.to_string());
    forms_page(&state, &s, Vec::new(), notice).await
}

#[derive(Deserialize)]
pub(super) struct NewFormForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    title: String,
}

/// A new form with the fields most forms start from; its editor opens next.
pub(super) async fn forms_new(
    State(state): State<AppState>,
    s: Signed,
    Form(f): Form<NewFormForm>,
) -> Response {
    if let Some(r) = s.refuse_forged(&f.csrf) {
        return r;
    }
    let t = s.lang.texts();
    let title = f.title.trim().to_string();
    let mut slug = leadgate_core::import::field_key(&title).replace('_', "-");
    slug.truncate(60);
    let field = |name: &str, label: &str, field_type, required| FormField {
        name: name.into(),
        label: label.into(),
        field_type,
        required,
        options: Vec::new(),
        maps_to: Some(name.into()),
    };
    let def = FormDefinition {
        slug,
        title,
        description: None,
        fields: vec![
            field("email", t.form_default_email, FormFieldType::Email, true),
            field("first_name", t.form_default_first_name, FormFieldType::Text, false),
            field("company", t.form_default_company, FormFieldType::Text, false),
        ],
        event_kind: leadgate_core::event::EventKind::FormSubmitted,
        campaign: None,
        consents: Vec::new(),
        allowed_origins: Vec::new(),
        submit_label: t.form_default_submit.into(),
        success_message: t.form_default_thanks.into(),
    };
    match state.app.create_form(s.p(), def).await {
        Ok(v) => Redirect::to(&format!("/forms/{}", v.id)).into_response(),
        Err(AppError::Invalid(e)) => {
            forms_page(&state, &s, vec![problem_text(s.lang, &AppError::Invalid(e))], None).await
        }
        Err(e) => app_error(&s, e),
    }
}

#[derive(Deserialize)]
pub(super) struct NewFieldForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    entity: String,
    key: String,
    label: String,
    #[serde(rename = "type")]
    field_type: String,
    #[serde(default)]
    choices: String,
}

pub(super) async fn fields_new(
    State(state): State<AppState>,
    s: Signed,
    Form(f): Form<NewFieldForm>,
) -> Response {
    if let Some(r) = s.refuse_forged(&f.csrf) {
        return r;
    }
    let (Some(entity), Some(field_type)) = (FieldEntity::parse(&f.entity), FieldType::parse(&f.field_type))
    else {
        return forms_page(&state, &s, vec![s.lang.texts().err_field.replace("{field}", "type")], None).await;
    };
    let def = CustomFieldDefinition {
        entity,
        key: f.key.trim().to_string(),
        label: f.label.trim().to_string(),
        field_type,
        choices: f
            .choices
            .split([',', '\n'])
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(String::from)
            .collect(),
    };
    match state.app.declare_custom_field(s.p(), def).await {
        Ok(_) => Redirect::to("/forms?done=field").into_response(),
        Err(e @ (AppError::Invalid(_) | AppError::Conflict { .. } | AppError::StateConflict(_))) => {
            forms_page(&state, &s, vec![problem_text(s.lang, &e)], None).await
        }
        Err(e) => app_error(&s, e),
    }
}

pub(super) async fn fields_delete(
    State(state): State<AppState>,
    s: Signed,
    Path((entity, key)): Path<(String, String)>,
    Form(f): Form<CsrfForm>,
) -> Response {
    if let Some(r) =
        s.refuse_forged(&f.csrf).or_else(|| s.refuse_role(leadgate_core::access::Permission::ManageFields))
    {
        return r;
    }
    let Some(entity) = FieldEntity::parse(&entity) else {
        return s.error(StatusCode::NOT_FOUND, s.lang.texts().not_found);
    };
    match state.app.delete_custom_field(s.p(), entity, &key).await {
        Ok(()) => Redirect::to("/forms?done=field").into_response(),
        Err(e) => app_error(&s, e),
    }
}

/// One line of a form's field editor.
pub(super) struct FieldRow {
    pub name: String,
    pub label: String,
    pub types: Vec<Choice>,
    pub required: bool,
    pub maps_to: Vec<Choice>,
    pub options: String,
}

/// One consent checkbox line.
pub(super) struct ConsentRow {
    pub purposes: Vec<Choice>,
    pub text: String,
    pub version: String,
}

#[derive(Template)]
#[template(path = "ui/form_editor.html")]
pub(super) struct FormEditorPage {
    c: Chrome,
    id: String,
    url: String,
    embed: String,
    submissions: String,
    title: String,
    slug: String,
    description: String,
    campaign: String,
    event_kind: String,
    origins: String,
    submit_label: String,
    success_message: String,
    fields: Vec<FieldRow>,
    consents: Vec<ConsentRow>,
    can_edit: bool,
    errors: Vec<String>,
}

/// Blank lines under a form's fields and consents, for new ones.
const NEW_LINES: usize = 3;

/// Where a form field's value can go on the contact: the built-in fields and the custom ones.
fn targets(t: &Texts, custom: &[CustomFieldDefinition], chosen: Option<&str>) -> Vec<Choice> {
    let mut out =
        vec![Choice { value: String::new(), label: t.form_event_only.into(), selected: chosen.is_none() }];
    let built_in = ["email", "first_name", "last_name", "phone", "job_title", "company", "country", "city"];
    let custom_keys =
        custom.iter().filter(|f| f.entity == FieldEntity::Contact).map(|f| format!("custom.{}", f.key));
    for key in built_in.iter().map(|k| k.to_string()).chain(custom_keys) {
        out.push(Choice { selected: chosen == Some(key.as_str()), label: key.clone(), value: key });
    }
    out
}

fn editor(
    state_custom: &[CustomFieldDefinition],
    t: &Texts,
    def: &FormDefinition,
) -> (Vec<FieldRow>, Vec<ConsentRow>) {
    let types = |chosen: FormFieldType| {
        FormFieldType::ALL
            .iter()
            .map(|ft| Choice {
                value: ft.as_str().into(),
                label: ft.as_str().into(),
                selected: *ft == chosen,
            })
            .collect::<Vec<_>>()
    };
    let mut fields: Vec<FieldRow> = def
        .fields
        .iter()
        .map(|f| FieldRow {
            name: f.name.clone(),
            label: f.label.clone(),
            types: types(f.field_type),
            required: f.required,
            maps_to: targets(t, state_custom, f.maps_to.as_deref()),
            options: f.options.join(", "),
        })
        .collect();
    fields.extend((0..NEW_LINES).map(|_| FieldRow {
        name: String::new(),
        label: String::new(),
        types: types(FormFieldType::Text),
        required: false,
        maps_to: targets(t, state_custom, None),
        options: String::new(),
    }));
    let purposes = |chosen: Option<Purpose>| {
        let mut out = vec![Choice { value: String::new(), label: "—".into(), selected: chosen.is_none() }];
        out.extend(Purpose::ALL.iter().map(|p| Choice {
            value: p.as_str().into(),
            label: match p {
                Purpose::CommercialProspecting => t.purpose_prospecting.into(),
                Purpose::Newsletter => t.purpose_newsletter.into(),
            },
            selected: chosen == Some(*p),
        }));
        out
    };
    let mut consents: Vec<ConsentRow> = def
        .consents
        .iter()
        .map(|c| ConsentRow {
            purposes: purposes(Some(c.purpose)),
            text: c.text.clone(),
            version: c.version.clone(),
        })
        .collect();
    consents.push(ConsentRow { purposes: purposes(None), text: String::new(), version: "1".into() });
    (fields, consents)
}

async fn form_editor(
    state: &AppState,
    s: &Signed,
    id: uuid::Uuid,
    edited: Option<FormDefinition>,
    errors: Vec<String>,
    notice: Option<String>,
) -> Response {
    let view = match state.app.form(s.p(), id).await {
        Ok(v) => v,
        Err(e) => return app_error(s, e),
    };
    let custom = state.app.custom_fields(s.p(), Some(FieldEntity::Contact)).await.unwrap_or_default();
    let def = edited.unwrap_or(view.definition);
    let (fields, consents) = editor(&custom, s.lang.texts(), &def);
    let mut c = s.chrome("forms");
    c.notice = notice;
    let failed = !errors.is_empty();
    let page = render(FormEditorPage {
        c,
        id: id.to_string(),
        url: view.url,
        embed: view.embed_snippet,
        submissions: s.lang.number(view.submissions as f64, 0),
        title: def.title,
        slug: def.slug,
        description: def.description.unwrap_or_default(),
        campaign: def.campaign.unwrap_or_default(),
        event_kind: def.event_kind.as_str().to_string(),
        origins: def.allowed_origins.join("\n"),
        submit_label: def.submit_label,
        success_message: def.success_message,
        fields,
        consents,
        can_edit: s.p().user.role.allows(leadgate_core::access::Permission::ManageForms),
        errors,
    });
    if failed { refused(page) } else { page }
}

pub(super) async fn form_page(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
    Query(n): Query<NoticeQuery>,
) -> Response {
    let Ok(id) = id.parse::<uuid::Uuid>() else {
        return s.error(StatusCode::NOT_FOUND, s.lang.texts().not_found);
    };
    let notice = n.done.map(|_| s.lang.texts().done.to_string());
    form_editor(&state, &s, id, None, Vec::new(), notice).await
}

/// The form a posted editor describes: lines without a name are skipped; an unknown type or
/// event kind is named.
fn definition_from_form(t: &Texts, form: &Posted) -> Result<FormDefinition, Vec<String>> {
    let value = |name: &str| form.value(name);
    let optional = |name: &str| Some(value(name)).filter(|v| !v.is_empty());
    let mut bad = Vec::new();
    let mut fields = Vec::new();
    for i in 0..leadgate_core::form::MAX_FORM_FIELDS + NEW_LINES {
        let name = value(&format!("field_{i}_name"));
        if name.is_empty() {
            continue;
        }
        let Some(field_type) = FormFieldType::parse(&value(&format!("field_{i}_type"))) else {
            bad.push(t.err_field.replace("{field}", &name));
            continue;
        };
        fields.push(FormField {
            label: optional(&format!("field_{i}_label")).unwrap_or_else(|| name.clone()),
            name,
            field_type,
            required: !value(&format!("field_{i}_required")).is_empty(),
            options: value(&format!("field_{i}_options"))
                .split(',')
                .map(str::trim)
                .filter(|o| !o.is_empty())
                .map(String::from)
                .collect(),
            maps_to: optional(&format!("field_{i}_maps_to")),
        });
    }
    let mut consents = Vec::new();
    for j in 0..Purpose::ALL.len() + NEW_LINES {
        let (purpose, text) = (value(&format!("consent_{j}_purpose")), value(&format!("consent_{j}_text")));
        if purpose.is_empty() && text.is_empty() {
            continue;
        }
        match Purpose::parse(&purpose) {
            Some(purpose) => consents.push(ConsentItem {
                purpose,
                text,
                version: optional(&format!("consent_{j}_version")).unwrap_or_else(|| "1".into()),
            }),
            None => bad.push(t.err_field.replace("{field}", t.form_consents)),
        }
    }
    let kind = value("event_kind");
    let event_kind = match kind.parse::<leadgate_core::event::EventKind>() {
        Ok(k) => k,
        Err(_) if kind.is_empty() => leadgate_core::event::EventKind::FormSubmitted,
        Err(_) => {
            bad.push(t.err_field.replace("{field}", t.form_event_kind));
            leadgate_core::event::EventKind::FormSubmitted
        }
    };
    if !bad.is_empty() {
        return Err(bad);
    }
    Ok(FormDefinition {
        slug: value("slug"),
        title: value("title"),
        description: optional("description"),
        fields,
        event_kind,
        campaign: optional("campaign"),
        consents,
        allowed_origins: value("origins")
            .lines()
            .map(str::trim)
            .filter(|o| !o.is_empty())
            .map(String::from)
            .collect(),
        submit_label: value("submit_label"),
        success_message: value("success_message"),
    })
}

pub(super) async fn form_save(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let (form, id): (Posted, uuid::Uuid) =
        match s.posted_about(&body, &id, leadgate_core::access::Permission::ManageForms) {
            Ok(posted) => posted,
            Err(refused) => return *refused,
        };
    let t = s.lang.texts();
    if form.iter().any(|(k, v)| k == "action" && v == "delete") {
        return match state.app.delete_form(s.p(), id).await {
            Ok(()) => Redirect::to("/forms?done=deleted").into_response(),
            Err(e) => app_error(&s, e),
        };
    }
    let def = match definition_from_form(t, &form) {
        Ok(d) => d,
        Err(bad) => return form_editor(&state, &s, id, None, bad, None).await,
    };
    match state.app.update_form(s.p(), id, def.clone()).await {
        Ok(_) => Redirect::to(&format!("/forms/{id}?done=saved")).into_response(),
        Err(e @ (AppError::Invalid(_) | AppError::Conflict { .. })) => {
            let errors = match &e {
                AppError::Invalid(v) if s.lang == Lang::En => {
                    v.errors.iter().map(|x| format!("{}{} {}", x.field, t.colon, x.message)).collect()
                }
                _ => vec![problem_text(s.lang, &e)],
            };
            form_editor(&state, &s, id, Some(def), errors, None).await
        }
        Err(e) => app_error(&s, e),
    }
}
