//! The account page: language, time zone and password.

use super::*;

#[derive(Template)]
#[template(path = "ui/account.html")]
pub(super) struct AccountPage {
    pub(super) c: Chrome,
    pub(super) email: String,
    pub(super) languages: Vec<Choice>,
    /// The zone the user chose (empty: the browser's).
    pub(super) time_zone: String,
    /// What an empty choice means: "Your browser's (Europe/Paris)".
    pub(super) browser_zone: String,
    pub(super) zones: Vec<String>,
    pub(super) error: Option<String>,
}

impl AccountPage {
    fn of(s: &Signed, error: Option<String>) -> AccountPage {
        let t = s.lang.texts();
        let mut c = s.chrome("account");
        c.notice = None;
        let browser = s.zone.iana_name().unwrap_or("UTC");
        AccountPage {
            c,
            email: s.who.principal.user.email.clone(),
            languages: choices(
                &[("", t.language_browser), ("en", "English"), ("fr", "Français")],
                Some(s.who.language.as_deref().unwrap_or("")),
            ),
            time_zone: s.who.time_zone.clone().unwrap_or_default(),
            browser_zone: t.time_zone_browser.replace("{zone}", browser),
            zones: jiff::tz::db().available().map(|z| z.as_str().to_string()).collect(),
            error,
        }
    }
}

pub(super) async fn account(s: Signed, Query(n): Query<NoticeQuery>) -> Response {
    let t = s.lang.texts();
    let mut page = AccountPage::of(&s, None);
    page.c.notice =
        n.done.map(|d| if d == "password" { t.password_changed.to_string() } else { t.done.to_string() });
    render(page)
}

#[derive(Deserialize)]
pub(super) struct PasswordForm {
    #[serde(rename = "_csrf")]
    pub(super) csrf: String,
    pub(super) password: String,
    pub(super) repeat: String,
    #[serde(default)]
    pub(super) current: String,
    /// A checkbox: present when ticked.
    #[serde(default)]
    pub(super) revoke_api_keys: Option<String>,
}

pub(super) async fn change_password(
    State(state): State<AppState>,
    s: Signed,
    headers: HeaderMap,
    Form(f): Form<PasswordForm>,
) -> Response {
    if let Some(r) = s.refuse_forged(&f.csrf) {
        return r;
    }
    let t = s.lang.texts();
    let page_with = |error: String| refused(render(AccountPage::of(&s, Some(error))));
    if f.password != f.repeat {
        return page_with(t.passwords_differ.into());
    }
    let change = leadgate_app::web::PasswordChange {
        password: &f.password,
        current: Some(f.current.as_str()),
        revoke_api_keys: f.revoke_api_keys.is_some(),
    };
    match state.app.change_password(s.p(), s.p().user.id, change).await {
        Ok(()) => {
            // Changing the password signed every session out, this one included: sign in again
            // quietly so the user stays where they are.
            match state.app.sign_in(&s.p().user.email, &f.password).await {
                Ok(token) => {
                    let mut r = Redirect::to("/account?done=password").into_response();
                    if let Some(v) = session_cookie(&state, &headers, &token) {
                        r.headers_mut().insert(header::SET_COOKIE, v);
                    }
                    r
                }
                Err(_) => Redirect::to("/login").into_response(),
            }
        }
        Err(AppError::Invalid(e)) => page_with(field_errors_text(s.lang, &e.errors)),
        Err(e) => app_error(&s, e),
    }
}

#[derive(Deserialize)]
pub(super) struct LanguageForm {
    #[serde(rename = "_csrf")]
    pub(super) csrf: String,
    pub(super) language: String,
}

pub(super) async fn change_language(
    State(state): State<AppState>,
    s: Signed,
    Form(f): Form<LanguageForm>,
) -> Response {
    if let Some(r) = s.refuse_forged(&f.csrf) {
        return r;
    }
    let lang = Some(f.language.as_str()).filter(|l| !l.is_empty());
    match state.app.set_language(s.p(), lang).await {
        Ok(()) => Redirect::to("/account?done=1").into_response(),
        Err(e) => app_error(&s, e),
    }
}

#[derive(Deserialize)]
pub(super) struct TimeZoneForm {
    #[serde(rename = "_csrf")]
    pub(super) csrf: String,
    #[serde(default)]
    pub(super) time_zone: String,
}

pub(super) async fn change_time_zone(
    State(state): State<AppState>,
    s: Signed,
    Form(f): Form<TimeZoneForm>,
) -> Response {
    if let Some(r) = s.refuse_forged(&f.csrf) {
        return r;
    }
    let zone = Some(f.time_zone.trim()).filter(|z| !z.is_empty());
    match state.app.set_time_zone(s.p(), zone).await {
        Ok(()) => Redirect::to("/account?done=1").into_response(),
        Err(AppError::Invalid(_)) => {
            let t = s.lang.texts();
            let error = format!(
                "{}{} {}",
                t.time_zone,
                t.colon,
                t.err_time_zone.replace("{zone}", f.time_zone.trim())
            );
            refused(render(AccountPage::of(&s, Some(error))))
        }
        Err(e) => app_error(&s, e),
    }
}
