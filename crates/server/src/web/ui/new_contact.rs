//! Entering a contact by hand (a phone call, a trade-fair sheet, someone met): one form that
//! records the request as the API's manual requests do, on a new or an existing contact.

use leadgate_app::requests::{Channel, ManualRequest};
use leadgate_core::contact::ContactDraft;
use leadgate_core::event::EventKind;

use super::*;

#[derive(Template)]
#[template(path = "ui/contact_new.html")]
pub(super) struct NewContactPage {
    c: Chrome,
    channels: Vec<Choice>,
    kinds: Vec<Choice>,
    form: NewContactForm,
    error: Option<String>,
}

#[derive(Deserialize, Default, Clone)]
pub(super) struct NewContactForm {
    #[serde(rename = "_csrf", default)]
    csrf: String,
    #[serde(default)]
    channel: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    first_name: String,
    #[serde(default)]
    last_name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    job_title: String,
    #[serde(default)]
    company: String,
    #[serde(default)]
    country: String,
    #[serde(default)]
    campaign: String,
    #[serde(default)]
    note: String,
}

fn page(s: &Signed, form: NewContactForm, error: Option<String>) -> Response {
    let t = s.lang.texts();
    let channels = choices(
        &[
            ("phone", t.channel_phone),
            ("trade_fair", t.channel_trade_fair),
            ("email", t.channel_email),
            ("meeting", t.channel_meeting),
            ("other", t.channel_other),
        ],
        Some(if form.channel.is_empty() { "phone" } else { form.channel.as_str() }),
    );
    let kind_labels: Vec<(&'static str, String)> =
        ["", "information_request", "quote_request", "demo_request", "contact_sales_request"]
            .into_iter()
            .map(|k| {
                (
                    k,
                    if k.is_empty() {
                        t.kind_by_channel.to_string()
                    } else {
                        crate::web::i18n::event_kind(t, k)
                    },
                )
            })
            .collect();
    let kinds = kind_labels
        .into_iter()
        .map(|(value, label)| Choice { selected: value == form.kind, value: value.into(), label })
        .collect();
    let failed = error.is_some();
    let mut r = render(NewContactPage { c: s.chrome("leads"), channels, kinds, form, error });
    if failed {
        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    r
}

pub(super) async fn new_contact(s: Signed) -> Response {
    page(&s, NewContactForm::default(), None)
}

pub(super) async fn create_contact(
    State(state): State<AppState>,
    s: Signed,
    Form(f): Form<NewContactForm>,
) -> Response {
    if let Some(r) = s.refuse_forged(&f.csrf) {
        return r;
    }
    let text = |v: &str| Some(v.trim().to_string()).filter(|v| !v.is_empty());
    let channel = match f.channel.as_str() {
        "trade_fair" => Channel::TradeFair,
        "email" => Channel::Email,
        "meeting" => Channel::Meeting,
        "other" => Channel::Other,
        _ => Channel::Phone,
    };
    let request = ManualRequest {
        channel,
        kind: text(&f.kind).and_then(|k| k.parse::<EventKind>().ok()),
        contact: ContactDraft {
            email: text(&f.email),
            first_name: text(&f.first_name),
            last_name: text(&f.last_name),
            phone: text(&f.phone),
            job_title: text(&f.job_title),
            country: text(&f.country),
            ..Default::default()
        },
        company: text(&f.company),
        note: text(&f.note),
        occurred_at: None,
        campaign: text(&f.campaign),
    };
    match state.app.record_manual_request(s.p(), request).await {
        Ok(receipt) => Redirect::to(&format!("/contacts/{}?done=1", receipt.contact.id)).into_response(),
        Err(AppError::Forbidden { .. }) => s.error(StatusCode::FORBIDDEN, s.lang.texts().not_allowed),
        Err(e @ (AppError::Invalid(_) | AppError::Conflict { .. } | AppError::StateConflict(_))) => {
            let message = problem_text(s.lang, &e);
            page(&s, f, Some(message))
        }
        Err(e) => app_error(&s, e),
    }
}
