//! The page's own `Query` and `Form` extractors: axum's answer a request they cannot read
//! (`?page=-1`, a form missing a field) with a plain-text framework message, which a browser
//! shows as a bare page. These answer the error page of the UI instead, in the user's language,
//! with the navigation when the user is signed in.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::Response;
use serde::de::DeserializeOwned;

use super::{Signed, browser_lang, error_page};
use crate::AppState;

/// A page's query string, read as `T`.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequestParts<AppState> for Query<T> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(Query(v)),
            Err(e) => Err(refusal(parts, state, |t| t.bad_address, &e.body_text()).await),
        }
    }
}

/// A posted form, read as `T`.
pub struct Form<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequest<AppState> for Form<T> {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = request.into_parts();
        let copy = Request::from_parts(parts.clone(), body);
        match axum::Form::<T>::from_request(copy, state).await {
            Ok(axum::Form(v)) => Ok(Form(v)),
            Err(e) => Err(refusal(&mut parts, state, |t| t.bad_form, &e.body_text()).await),
        }
    }
}

/// The error page for a request the page cannot read, with the reason.
async fn refusal(
    parts: &mut Parts,
    state: &AppState,
    text: fn(&super::Texts) -> &'static str,
    detail: &str,
) -> Response {
    page_error(parts, state, StatusCode::BAD_REQUEST, |t| text(t).replace("{detail}", detail)).await
}

/// An error as a page: inside the UI for a signed-in user, else the plain page with a way to
/// sign in.
pub(crate) async fn page_error(
    parts: &mut Parts,
    state: &AppState,
    status: StatusCode,
    message: impl Fn(&super::Texts) -> String,
) -> Response {
    let has_session = super::session_token(state, &parts.headers).is_some();
    if has_session && let Ok(s) = Signed::from_request_parts(parts, state).await {
        return s.error(status, &message(s.lang.texts()));
    }
    let lang = browser_lang(&parts.headers);
    error_page(lang, status, &message(lang.texts()))
}
