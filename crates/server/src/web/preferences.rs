//! The person's own preferences page (`/p/{token}`, from a link given to them): each purpose
//! they agreed to, withdrawn in one click, and an objection to all direct marketing. No account
//! and no cookie: the signed link is the key, and a POST changes what it says at once (as a
//! one-click unsubscribe must). In the browser's language.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use leadgate_app::AppError;
use leadgate_app::privacy::{PreferenceChange, Preferences};
use leadgate_core::form::Purpose;

use super::client_info;
use super::i18n::Lang;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/p/{token}", get(page).post(change))
}

struct PurposeLine {
    value: &'static str,
    label: &'static str,
    granted: bool,
}

#[derive(Template)]
#[template(path = "preferences_page.html")]
struct PreferencesPage {
    lang: &'static str,
    t: &'static super::i18n::Texts,
    purposes: Vec<PurposeLine>,
    objected: bool,
    do_not_email: bool,
    done: Option<&'static str>,
}

fn lang_of(headers: &axum::http::HeaderMap) -> Lang {
    Lang::from_accept_language(headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()))
}

fn render(
    lang: Lang,
    status: StatusCode,
    prefs: Option<&Preferences>,
    done: Option<&'static str>,
) -> Response {
    let t = lang.texts();
    let body = match prefs {
        Some(p) => PreferencesPage {
            lang: lang.code(),
            t,
            purposes: p
                .purposes
                .iter()
                .map(|(purpose, granted)| PurposeLine {
                    value: purpose.as_str(),
                    label: match purpose {
                        Purpose::Newsletter => t.purpose_newsletter,
                        Purpose::CommercialProspecting => t.purpose_prospecting,
                    },
                    granted: *granted,
                })
                .collect(),
            objected: p.objected,
            do_not_email: p.do_not_email,
            done,
        }
        .render(),
        None => Ok(format!(
            "<!doctype html><html lang=\"{}\"><title>Leadgate</title><p>{}</p></html>",
            lang.code(),
            t.preferences_gone
        )),
    };
    let mut r = match body {
        Ok(html) => (status, Html(html)).into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    };
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r.headers_mut().insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    r
}

fn failed(lang: Lang, e: AppError) -> Response {
    match e {
        AppError::NotFound { .. } => render(lang, StatusCode::NOT_FOUND, None, None),
        other => crate::problem::ApiError::from(other).into_response(),
    }
}

async fn page(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: axum::http::HeaderMap,
) -> Response {
    let lang = lang_of(&headers);
    match state.app.preferences(&token).await {
        Ok(p) => render(lang, StatusCode::OK, Some(&p), None),
        Err(e) => failed(lang, e),
    }
}

async fn change(State(state): State<AppState>, Path(token): Path<String>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let lang = lang_of(&parts.headers);
    let (_, client) = client_info(&parts.extensions, &parts.headers);
    let Ok(bytes) = axum::body::to_bytes(body, 4096).await else {
        return render(lang, StatusCode::PAYLOAD_TOO_LARGE, None, None);
    };
    let form: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes).unwrap_or_default();
    let asked = form.iter().find(|(k, _)| k == "change").map(|(_, v)| v.as_str()).unwrap_or_default();
    let change = match asked {
        "object" => PreferenceChange::Object,
        other => match other.strip_prefix("withdraw:").and_then(Purpose::parse) {
            Some(p) => PreferenceChange::Withdraw(p),
            None => {
                return match state.app.preferences(&token).await {
                    Ok(p) => render(lang, StatusCode::UNPROCESSABLE_ENTITY, Some(&p), None),
                    Err(e) => failed(lang, e),
                };
            }
        },
    };
    match state.app.change_preferences(&token, change, &client).await {
        Ok(p) => render(lang, StatusCode::OK, Some(&p), Some(lang.texts().preferences_saved)),
        Err(e) => failed(lang, e),
    }
}
