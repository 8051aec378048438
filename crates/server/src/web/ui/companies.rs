//! The companies list (by name, searchable, with their contacts and open deals), and a
//! company's page: who it is, its buying group (each contact's role in the purchase, its
//! decision maker, who holds its lead) and its deals.

use leadgate_app::pipeline::DealQuery;
use leadgate_core::ids::CompanyId;

use super::*;

pub(super) struct MemberLine {
    pub id: String,
    pub name: String,
    pub job_title: String,
    pub role: &'static str,
    pub leads_to: String,
    pub stage: String,
    pub owner: String,
}

pub(super) struct CompanyDealLine {
    pub id: String,
    pub name: String,
    pub stage: String,
    pub value: String,
    pub owner: String,
}

#[derive(Template)]
#[template(path = "ui/company.html")]
pub(super) struct CompanyPage {
    c: Chrome,
    name: String,
    facts: Vec<Row2>,
    members: Vec<MemberLine>,
    deals: Vec<CompanyDealLine>,
}

pub(super) async fn company_page(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
) -> Response {
    let t = s.lang.texts();
    let Ok(id) = id.parse::<CompanyId>() else {
        return s.error(StatusCode::NOT_FOUND, t.not_found);
    };
    let company = match state.app.get_company(s.p(), id).await {
        Ok(c) => c,
        Err(e) => return app_error(&s, e),
    };
    let group = match state.app.buying_group(s.p(), id).await {
        Ok(g) => g,
        Err(e) => return app_error(&s, e),
    };
    let names = user_names(&state, s.p()).await;
    let dash = || "—".to_string();
    let facts = vec![
        Row2 { a: t.by_sector.into(), b: company.sector.clone().unwrap_or_else(dash) },
        Row2 { a: t.country.into(), b: company.country.clone().unwrap_or_else(dash) },
        Row2 {
            a: t.employees.into(),
            b: company.employees.map_or_else(dash, |n| s.lang.number(n as f64, 0)),
        },
        Row2 { a: t.domain.into(), b: company.domain.clone().unwrap_or_else(dash) },
    ];
    let name_of = |contact: ContactId| group.iter().find(|m| m.contact_id == contact).map(|m| m.name.clone());
    let members = group
        .iter()
        .map(|m| MemberLine {
            id: m.contact_id.to_string(),
            name: m.name.clone(),
            job_title: m.job_title.clone().unwrap_or_default(),
            role: m.role.map_or(t.unknown, |r| pipeline::role_label(t, r)),
            leads_to: m.decision_maker_id.and_then(name_of).unwrap_or_default(),
            stage: LifecycleStage::parse(&m.lifecycle_stage)
                .map_or_else(|| m.lifecycle_stage.clone(), |st| stage_label(t, st).into()),
            owner: m.owner_id.and_then(|o| names.get(&o).cloned()).unwrap_or_default(),
        })
        .collect();
    let stages = pipeline::stage_names(&state, &s).await;
    let query = DealQuery { company_id: Some(id), ..Default::default() };
    let deals = match state.app.list_deals(s.p(), &query, 100, None).await {
        Ok(page) => page
            .items
            .into_iter()
            .map(|d| CompanyDealLine {
                id: d.deal.id.to_string(),
                name: d.deal.name.clone(),
                stage: pipeline::deal_stage_label(t, &stages, d.deal.stage),
                value: pipeline::money(s.lang, d.deal.value, &d.deal.currency),
                owner: d.owner.clone().unwrap_or_default(),
            })
            .collect(),
        Err(e) => return app_error(&s, e),
    };
    render(CompanyPage { c: s.chrome("leads"), name: company.name, facts, members, deals })
}

pub(super) struct CompanyListLine {
    pub id: String,
    pub name: String,
    pub sector: String,
    pub country: String,
    pub employees: String,
    pub contacts: String,
    pub open_deals: String,
}

#[derive(Template)]
#[template(path = "ui/companies.html")]
pub(super) struct CompaniesPage {
    c: Chrome,
    q: String,
    lines: Vec<CompanyListLine>,
    previous: Option<String>,
    next: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct CompaniesQuery {
    q: Option<String>,
    page: Option<u32>,
}

pub(super) async fn companies(
    State(state): State<AppState>,
    s: Signed,
    Query(q): Query<CompaniesQuery>,
) -> Response {
    let text = nonempty(&q.q);
    let page = q.page.unwrap_or(0).min(10_000);
    let rows = match state.app.company_lines(s.p(), text.as_deref(), PAGE + 1, page * PAGE).await {
        Ok(r) => r,
        Err(e) => return app_error(&s, e),
    };
    let has_next = rows.len() > PAGE as usize;
    let dash = || "—".to_string();
    let lines = rows
        .into_iter()
        .take(PAGE as usize)
        .map(|l| CompanyListLine {
            id: l.company.id.to_string(),
            name: l.company.name,
            sector: l.company.sector.unwrap_or_else(dash),
            country: l.company.country.unwrap_or_else(dash),
            employees: l.company.employees.map_or_else(dash, |n| s.lang.number(n as f64, 0)),
            contacts: s.lang.number(l.contacts as f64, 0),
            open_deals: s.lang.number(l.open_deals as f64, 0),
        })
        .collect();
    let base = match &text {
        Some(t) => format!("/companies?q={}&", urlencode(t)),
        None => "/companies?".to_string(),
    };
    render(CompaniesPage {
        c: s.chrome("leads"),
        q: text.unwrap_or_default(),
        lines,
        previous: (page > 0).then(|| format!("{base}page={}", page - 1)),
        next: has_next.then(|| format!("{base}page={}", page + 1)),
    })
}
