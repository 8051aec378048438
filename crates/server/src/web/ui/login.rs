//! Sign-in and sign-out.

use super::*;

#[derive(Template)]
#[template(path = "ui/login.html")]
pub(super) struct LoginPage {
    pub(super) t: &'static Texts,
    pub(super) lang: &'static str,
    pub(super) error: Option<&'static str>,
    pub(super) next: String,
    pub(super) email: String,
}

#[derive(Deserialize)]
pub(super) struct LoginQuery {
    pub(super) next: Option<String>,
    pub(super) expired: Option<String>,
}

pub(super) async fn login_page(headers: HeaderMap, Query(q): Query<LoginQuery>) -> Response {
    let lang = browser_lang(&headers);
    let t = lang.texts();
    render(LoginPage {
        t,
        lang: lang.code(),
        error: q.expired.is_some().then_some(t.session_expired),
        next: safe_next(q.next.as_deref()),
        email: String::new(),
    })
}

#[derive(Deserialize)]
pub(super) struct LoginForm {
    pub(super) email: String,
    pub(super) password: String,
    pub(super) next: Option<String>,
}

/// Whether a form post came from a page of this server (no cross-site sign-in).
pub(super) fn same_origin(headers: &HeaderMap) -> bool {
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let origin =
        headers.get(header::ORIGIN).or_else(|| headers.get(header::REFERER)).and_then(|v| v.to_str().ok());
    match (host, origin) {
        (Some(host), Some(origin)) => {
            let rest = origin.split("://").nth(1).unwrap_or("");
            rest.split('/').next() == Some(host)
        }
        // Browsers send Origin on every POST; its absence means a non-browser client, which
        // cannot ride a victim's cookies.
        (_, None) => true,
        (None, Some(_)) => false,
    }
}

pub(super) async fn login(
    State(state): State<AppState>,
    extensions: axum::http::Extensions,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let lang = browser_lang(&headers);
    let t = lang.texts();
    let next = safe_next(form.next.as_deref());
    if !same_origin(&headers) {
        return error_page(lang, StatusCode::FORBIDDEN, t.form_expired);
    }
    match state
        .app
        .sign_in_from(&form.email, &form.password, crate::web::client_info(&extensions, &headers).0)
        .await
    {
        Ok(token) => {
            let mut r = Redirect::to(&next).into_response();
            if let Some(v) = session_cookie(&state, &headers, &token) {
                r.headers_mut().insert(header::SET_COOKIE, v);
            }
            r
        }
        Err(AppError::Unauthenticated(_)) => {
            let mut r = render(LoginPage {
                t,
                lang: lang.code(),
                error: Some(t.wrong_credentials),
                next,
                email: form.email,
            });
            *r.status_mut() = StatusCode::UNAUTHORIZED;
            r
        }
        Err(AppError::TooManyAttempts { retry_after_secs }) => {
            let mut r = render(LoginPage {
                t,
                lang: lang.code(),
                error: Some(t.sign_in_locked),
                next,
                email: form.email,
            });
            *r.status_mut() = StatusCode::TOO_MANY_REQUESTS;
            if let Ok(v) = header::HeaderValue::from_str(&retry_after_secs.to_string()) {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
            r
        }
        Err(e) => error_page(lang, StatusCode::SERVICE_UNAVAILABLE, &e.to_string()),
    }
}

#[derive(Deserialize)]
pub(super) struct CsrfForm {
    #[serde(rename = "_csrf")]
    pub(super) csrf: String,
}

pub(super) async fn logout(
    State(state): State<AppState>,
    s: Signed,
    headers: HeaderMap,
    Form(f): Form<CsrfForm>,
) -> Response {
    if let Some(r) = s.refuse_forged(&f.csrf) {
        return r;
    }
    if let Some(token) = session_token(&state, &headers) {
        let _ = state.app.sign_out(token).await;
    }
    let mut r = Redirect::to("/login").into_response();
    r.headers_mut().insert(header::SET_COOKIE, cleared_cookie(&state));
    r
}
