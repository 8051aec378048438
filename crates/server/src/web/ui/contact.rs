//! The contact page and its actions.

use super::*;

pub(super) struct Row2 {
    pub a: String,
    pub b: String,
}

/// A line of the contact's identity, with where it leads (`mailto:`, `tel:`) when it can.
pub(super) struct IdentityLine {
    pub a: String,
    pub b: String,
    pub href: Option<String>,
}

pub(super) struct FitLine {
    pub label: String,
    pub evidence: String,
    pub points: String,
}

pub(super) struct EngagementLine {
    pub label: String,
    pub event: String,
    pub when: String,
    pub before: String,
    pub decay: String,
    pub cap: String,
    pub points: String,
}

pub(super) struct HistoryLine {
    pub from: &'static str,
    pub to: &'static str,
    pub when: String,
    pub who: String,
    pub why: String,
}

pub(super) struct CheckLine {
    pub code: &'static str,
    pub label: &'static str,
    pub answers: Vec<Choice>,
    pub note: String,
    pub set: String,
}

pub(super) struct FactorLine {
    pub label: String,
    pub effect: String,
    pub up: bool,
}

pub(super) struct EventLine {
    pub kind: String,
    pub when: String,
    pub detail: String,
}

#[derive(Template)]
#[template(path = "ui/contact.html")]
pub(super) struct ContactPage {
    pub(super) c: Chrome,
    pub(super) id: String,
    pub(super) name: String,
    pub(super) identity: Vec<IdentityLine>,
    pub(super) stage: &'static str,
    /// The score, unless the person objected to direct marketing (then `objected` says when).
    pub(super) score: Option<ScoreFields>,
    pub(super) objected: Option<String>,
    pub(super) probability: Option<String>,
    pub(super) model_version: String,
    pub(super) base_value: String,
    pub(super) factors: Vec<FactorLine>,
    pub(super) checklist: Vec<CheckLine>,
    pub(super) assignment: Vec<Row2>,
    pub(super) history: Vec<HistoryLine>,
    pub(super) events: Vec<EventLine>,
    pub(super) consents: Vec<Row2>,
    /// Consent changes asked for anonymously, waiting for the person's confirmation.
    pub(super) consent_requests: Vec<Row2>,
    /// An MQL sales has not accepted yet.
    pub(super) can_accept: bool,
    /// A lead in sales' hands (MQL or SQL), accepted or not.
    pub(super) can_reject: bool,
    pub(super) reasons: Vec<Choice>,
    /// The contact's deals and its role in each.
    pub(super) deals: Vec<ContactDealLine>,
    /// Whether the user may create deals (admins and sales).
    pub(super) can_deal: bool,
    /// Whether the user may export and erase the person's data (admins and marketing).
    pub(super) can_erase: bool,
    /// The person's preferences page, for the user to send them (admins and marketing).
    pub(super) preferences: Option<String>,
    /// The team's free notes, newest first: (who, when, text).
    pub(super) notes: Vec<(String, String, String)>,
    pub(super) deal_name: String,
    pub(super) roles: Vec<Choice>,
    /// Its role in the account's purchase, the decision maker it leads to, who leads to it.
    pub(super) buying_role: Option<&'static str>,
    pub(super) decision_maker: Option<Link>,
    pub(super) led_by: Vec<Link>,
    /// The role form: roles (with "unknown"), and the account's other contacts as decision makers.
    pub(super) role_choices: Vec<Choice>,
    pub(super) dm_choices: Vec<Choice>,
    pub(super) can_set_role: bool,
    /// The contact's company page.
    pub(super) account: Option<Link>,
    /// Its sequences (name; state or exit reason, and since when) and messages (step and date;
    /// state, human open, click).
    pub(super) enrolments: Vec<Row2>,
    pub(super) messages: Vec<Row2>,
    /// Sequences it may be enrolled in (for those who manage nurturing).
    pub(super) enrol_choices: Vec<Choice>,
}

/// A contact's sequences and messages as lines of its page, and the sequences it may join.
/// A contact's sequences and messages for its page: the lines of its nurture section, the
/// sequences it may join, and when and why it left each sequence it left (for its timeline).
struct NurtureLines {
    enrolments: Vec<Row2>,
    messages: Vec<Row2>,
    choices: Vec<Choice>,
    endings: Vec<(jiff::Timestamp, EventLine)>,
}

async fn nurture_lines(state: &AppState, s: &Signed, id: ContactId) -> NurtureLines {
    let t = s.lang.texts();
    let Ok(n) = state.app.contact_nurture(s.p(), id).await else {
        return NurtureLines {
            enrolments: Vec::new(),
            messages: Vec::new(),
            choices: Vec::new(),
            endings: Vec::new(),
        };
    };
    let endings = n
        .enrolments
        .iter()
        .filter_map(|e| {
            let ended = e.enrolment.ended_at?;
            let why = match e.enrolment.exit_reason {
                Some(r) => super::nurture::exit_label(t, r),
                None => t.exit_completed,
            };
            let line = EventLine {
                kind: t.timeline_left_sequence.to_string(),
                when: s.datetime(ended),
                detail: format!("{} · {why}", e.sequence_name),
            };
            Some((ended, line))
        })
        .collect();
    let enrolments = n
        .enrolments
        .iter()
        .map(|e| {
            let status = match e.enrolment.exit_reason {
                Some(r) => super::nurture::exit_label(t, r),
                None if e.enrolment.state == "completed" => t.exit_completed,
                None => t.seq_enrolled_now,
            };
            let since = s.datetime(e.enrolment.ended_at.unwrap_or(e.enrolment.enrolled_at));
            Row2 { a: e.sequence_name.clone(), b: format!("{status} · {since}") }
        })
        .collect();
    let messages = n
        .messages
        .iter()
        .map(|m| {
            let mut b = super::nurture::message_label(t, m.state).to_string();
            if m.human_opened_at.is_some() {
                b.push_str(&format!(" · {}", t.msg_opened_human));
            }
            if m.clicked_at.is_some() {
                b.push_str(&format!(" · {}", t.msg_clicked));
            }
            Row2 { a: format!("{} · {}", m.step_key, s.datetime(m.sent_at.unwrap_or(m.reserved_at))), b }
        })
        .collect();
    NurtureLines { enrolments, messages, choices: super::nurture::active_sequences(state, s).await, endings }
}

pub(super) struct Link {
    pub id: String,
    pub name: String,
}

pub(super) struct ContactDealLine {
    pub id: String,
    pub name: String,
    pub stage: String,
    pub value: String,
    pub role: &'static str,
}

pub(super) async fn contact(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
    Query(n): Query<NoticeQuery>,
) -> Response {
    let t = s.lang.texts();
    let Ok(id) = id.parse::<ContactId>() else {
        return s.error(StatusCode::NOT_FOUND, t.not_found);
    };
    let app = &state.app;
    let p = s.p();
    let detail = match app.contact_detail(p, id).await {
        Ok(d) => d,
        Err(e) => return app_error(&s, e),
    };
    let explanation = match detail.contact.objected_at {
        Some(_) => Ok(None),
        None => app.explain(p, id).await.map(Some),
    };
    let (explanation, lifecycle, timeline, consents) = match (
        explanation,
        app.lifecycle(p, id).await,
        app.timeline(p, id, 50, None).await,
        app.consents(p, id).await,
    ) {
        (Ok(a), Ok(b), Ok(c), Ok(d)) => (a, b, c, d),
        (Err(e), ..) | (_, Err(e), ..) | (_, _, Err(e), _) | (.., Err(e)) => return app_error(&s, e),
    };
    let prediction = app.contact_prediction(p, id).await.ok();
    let NurtureLines { enrolments, messages, choices: enrol_choices, endings } =
        nurture_lines(&state, &s, id).await;
    let names = user_names(&state, p).await;
    let c = &detail.contact;
    let company = match c.company_id {
        Some(cid) => app.get_company(p, cid).await.ok().map(|co| co.name),
        None => None,
    };
    let company_label = company.clone();
    let dash = || "—".to_string();
    let line = |a: &str, b: String| IdentityLine { a: a.into(), b, href: None };
    let identity = vec![
        IdentityLine {
            a: t.email.into(),
            b: c.email.as_ref().map_or_else(dash, |e| e.to_string()),
            href: c.email.as_ref().map(|e| format!("mailto:{e}")),
        },
        IdentityLine {
            a: t.phone.into(),
            b: c.phone.clone().unwrap_or_else(dash),
            // Dialable: the digits and a leading +, whatever the spaces and dots typed.
            href: c.phone.as_deref().map(|p| {
                let digits: String = p.chars().filter(|ch| ch.is_ascii_digit() || *ch == '+').collect();
                format!("tel:{digits}")
            }),
        },
        line(t.job_title, c.job_title.clone().unwrap_or_else(dash)),
        line(t.col_company, company.unwrap_or_else(dash)),
        line(t.country, c.country.clone().unwrap_or_else(dash)),
        line(t.filter_source, c.source.clone().unwrap_or_else(dash)),
        line(t.col_created, s.datetime(c.created_at)),
    ];
    // A person who objected to direct marketing is not profiled: no score is computed to show.
    let objected = c.objected_at.map(|at| t.objected_note.replace("{when}", &s.datetime(at)));
    let score = explanation.as_ref().map(|x| score_fields(&s, x));
    let (probability, model_version, base_value, factors) = match &prediction {
        Some(pv) => (
            Some(s.lang.percent(pv.probability)),
            pv.model_version.to_string(),
            s.lang.number(pv.base_value, 2),
            pv.factors
                .iter()
                .filter(|f| f.contribution.abs() >= 0.01)
                .take(12)
                .map(|f| FactorLine {
                    label: match f.label.strip_suffix(" is missing") {
                        Some(field) => format!("{field}{}", t.is_missing),
                        None => f.label.clone(),
                    },
                    effect: format!(
                        "{}{}",
                        if f.contribution > 0.0 { "+" } else { "" },
                        s.lang.number(f.contribution, 2)
                    ),
                    up: f.contribution > 0.0,
                })
                .collect(),
        ),
        None => (None, String::new(), String::new(), Vec::new()),
    };
    let answers = |a: Answer| {
        let code = match a {
            Answer::Unknown => "unknown",
            Answer::Yes => "yes",
            Answer::No => "no",
        };
        choices(&[("unknown", t.unknown), ("yes", t.yes), ("no", t.no)], Some(code))
    };
    let check = |code: &'static str, label: &'static str, item: &ChecklistItem| CheckLine {
        code,
        label,
        answers: answers(item.answer),
        note: item.note.clone().unwrap_or_default(),
        set: match (item.set_by, item.set_at) {
            (Some(u), Some(at)) => {
                format!("{}, {}", names.get(&u).cloned().unwrap_or_else(|| u.to_string()), s.datetime(at))
            }
            _ => String::new(),
        },
    };
    let cl = &lifecycle.checklist;
    let checklist = vec![
        check("need", t.need, &cl.need),
        check("budget", t.budget, &cl.budget),
        check("authority", t.authority, &cl.authority),
        check("timing", t.timing, &cl.timing),
    ];
    let assignment = match &detail.assignment {
        Some(a) => vec![
            Row2 {
                a: t.rep.into(),
                b: a.rep_id.map_or(t.nobody.to_string(), |r| {
                    names.get(&r).cloned().unwrap_or_else(|| r.to_string())
                }),
            },
            Row2 {
                a: t.why.into(),
                b: assignment_words(s.lang, a.rule.as_deref(), a.rep_id.is_some(), &a.why),
            },
            Row2 { a: t.due.into(), b: a.due_at.map_or_else(dash, |d| s.datetime(d)) },
            Row2 { a: "SLA".into(), b: sla_label(t, a.sla).into() },
            Row2 { a: t.accepted_on.into(), b: a.accepted_at.map_or_else(dash, |d| s.datetime(d)) },
        ],
        None => Vec::new(),
    };
    let history = lifecycle
        .history
        .iter()
        .rev()
        .map(|h| HistoryLine {
            from: stage_label(t, h.from),
            to: stage_label(t, h.to),
            when: s.datetime(h.at),
            who: match &h.actor {
                Actor::User { user_id } => names.get(user_id).cloned().unwrap_or_else(|| user_id.to_string()),
                Actor::Rule { rule, rules_version } => format!("{rule} (v{rules_version})"),
                Actor::Import => t.by_import.into(),
                Actor::Deal { .. } => t.by_deal.into(),
            },
            why: transition_words(s.lang, &h.actor, &h.reason),
        })
        .collect();
    // The timeline shows the newest events; the ends of sequences within that span join them.
    let oldest_shown =
        if timeline.next_cursor.is_some() { timeline.items.last().map(|e| e.occurred_at) } else { None };
    let mut dated: Vec<(jiff::Timestamp, EventLine)> =
        endings.into_iter().filter(|(at, _)| oldest_shown.is_none_or(|o| *at >= o)).collect();
    dated.extend(timeline.items.iter().map(|e| {
        (
            e.occurred_at,
            EventLine {
                kind: crate::web::i18n::event_kind(t, e.kind.as_str()),
                when: s.datetime(e.occurred_at),
                detail: e
                    .properties
                    .iter()
                    .take(3)
                    .map(|(k, v)| {
                        format!("{k}: {}", v.as_str().map(String::from).unwrap_or_else(|| v.to_string()))
                    })
                    .chain(e.source.iter().map(|src| format!("{}: {src}", t.filter_source.to_lowercase())))
                    .collect::<Vec<_>>()
                    .join(" · "),
            },
        )
    }));
    dated.sort_by(|a, b| b.0.cmp(&a.0));
    let events: Vec<EventLine> = dated.into_iter().map(|(_, line)| line).collect();
    let purpose_name = |p: leadgate_core::form::Purpose| -> String {
        serde_json::to_value(p).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default()
    };
    let consent_requests = app
        .consent_requests(p, id)
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.status == leadgate_core::form::ConsentRequestStatus::Pending)
        .map(|r| Row2 {
            a: format!(
                "{} — {}",
                purpose_name(r.purpose),
                if r.granted { t.consent_grant_requested } else { t.consent_withdrawal_requested }
            ),
            b: format!("{} · {} · {}", s.datetime(r.requested_at), r.text, r.ip.clone().unwrap_or_default()),
        })
        .collect();
    let consents = consents
        .iter()
        .map(|r| Row2 {
            a: format!("{} — {}", purpose_name(r.purpose), if r.granted { t.granted } else { t.refused }),
            b: format!("{} · {} · {}", s.datetime(r.at), r.text, r.ip.clone().unwrap_or_default()),
        })
        .collect();
    let reasons = choices(
        &[
            ("not_a_fit", t.reason_not_a_fit),
            ("no_budget", t.reason_no_budget),
            ("no_authority", t.reason_no_authority),
            ("bad_data", t.reason_bad_data),
            ("duplicate", t.reason_duplicate),
            ("unreachable", t.reason_unreachable),
            ("other", t.reason_other),
        ],
        None,
    );
    let stages = stage_names(&state, &s).await;
    let deals = app
        .deals_of_contact(p, id)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|cd| ContactDealLine {
            id: cd.deal.deal.id.to_string(),
            name: cd.deal.deal.name.clone(),
            stage: deal_stage_label(t, &stages, cd.deal.deal.stage),
            value: money(s.lang, cd.deal.deal.value, &cd.deal.deal.currency),
            role: role_label(t, cd.role),
        })
        .collect();
    let company_name = match c.company_id {
        Some(company) => app.get_company(p, company).await.map(|co| co.name).ok(),
        None => None,
    };
    // The company's name, never the person's: a deal outlives its contacts' erasure.
    let deal_name = company_name.unwrap_or_default();
    let role = app.buying_role(p, id).await.ok();
    let link = |contact: ContactId| async move {
        let name = app.get_contact(p, contact).await.map(|x| x.display_name()).ok()?;
        Some(Link { id: contact.to_string(), name })
    };
    let decision_maker = match role.as_ref().and_then(|r| r.decision_maker_id) {
        Some(dm) => link(dm).await,
        None => None,
    };
    let mut led_by = Vec::new();
    for other in role.as_ref().map(|r| r.led_by.clone()).unwrap_or_default() {
        led_by.extend(link(other).await);
    }
    let current_role = role.as_ref().and_then(|r| r.role);
    let mut role_choices =
        vec![Choice { value: String::new(), label: t.unknown.into(), selected: current_role.is_none() }];
    role_choices.extend(leadgate_core::pipeline::ContactRole::ALL.iter().map(|&r| Choice {
        value: r.as_str().into(),
        label: role_label(t, r).into(),
        selected: current_role == Some(r),
    }));
    let mut dm_choices =
        vec![Choice { value: String::new(), label: t.none.into(), selected: decision_maker.is_none() }];
    if let Some(company) = c.company_id {
        for m in app.buying_group(p, company).await.unwrap_or_default() {
            if m.contact_id != id {
                dm_choices.push(Choice {
                    selected: role.as_ref().and_then(|r| r.decision_maker_id) == Some(m.contact_id),
                    value: m.contact_id.to_string(),
                    label: m.name,
                });
            }
        }
    }
    let mut chrome = s.chrome("leads");
    chrome.notice = match (&n.done, n.not_enrolled.as_deref()) {
        (_, Some(code)) => {
            // An unknown code reads "already in it".
            let reason = leadgate_core::nurture::ExitReason::parse(code)
                .map_or(t.exit_already, |r| super::nurture::exit_label(t, r));
            Some(t.contact_not_enrolled.replace("{reason}", reason))
        }
        (Some(d), None) if d == "enrolled" => Some(t.contact_enrolled.to_string()),
        (Some(_), None) => Some(t.done.to_string()),
        (None, None) => None,
    };
    render(ContactPage {
        c: chrome,
        id: id.to_string(),
        name: c.display_name(),
        identity,
        stage: stage_label(t, c.lifecycle_stage),
        score,
        objected,
        probability,
        model_version,
        base_value,
        factors,
        checklist,
        assignment,
        history,
        events,
        consents,
        consent_requests,
        can_accept: c.lifecycle_stage == LifecycleStage::Mql && !lifecycle.sales_accepted,
        can_reject: matches!(c.lifecycle_stage, LifecycleStage::Mql | LifecycleStage::Sql),
        reasons,
        deals,
        can_deal: p.user.role.allows(leadgate_core::access::Permission::ManageDeals),
        can_erase: p.user.role.allows(leadgate_core::access::Permission::ManagePersonalData),
        preferences: app.preferences_token(p, id).await.ok().map(|token| format!("/p/{token}")),
        notes: app
            .notes(p, id)
            .await
            .unwrap_or_default()
            .into_iter()
            .map(|n| (n.author.unwrap_or_else(|| "—".into()), s.datetime(n.created_at), n.body))
            .collect(),
        deal_name,
        roles: deal_role_choices(t),
        buying_role: current_role.map(|r| role_label(t, r)),
        decision_maker,
        led_by,
        role_choices,
        dm_choices,
        can_set_role: p.user.role.allows(leadgate_core::access::Permission::EditLeads),
        account: c.company_id.zip(company_label).map(|(cid, name)| Link { id: cid.to_string(), name }),
        enrolments,
        messages,
        enrol_choices,
    })
}

/// What the page shows of a contact's score: the stage profile, fit and engagement line by
/// line, and the temperature with its reason.
pub(super) struct ScoreFields {
    pub(super) profile: Vec<Row2>,
    pub(super) fit_total: String,
    pub(super) grade: String,
    pub(super) fit_lines: Vec<FitLine>,
    pub(super) engagement_total: String,
    pub(super) half_life: String,
    pub(super) engagement_lines: Vec<EngagementLine>,
    pub(super) temperature: &'static str,
    pub(super) temperature_code: String,
    pub(super) temperature_reason: String,
    pub(super) knockouts: Vec<String>,
}

fn score_fields(s: &Signed, x: &leadgate_app::scoring::Explanation) -> ScoreFields {
    let t = s.lang.texts();
    let yn = |b: bool| if b { t.yes } else { t.no }.to_string();
    let sp = &x.stage_profile;
    let interest = match sp.interest_shown {
        leadgate_core::qualification::Interest::Weak => t.interest_weak,
        leadgate_core::qualification::Interest::Real => t.interest_real,
        leadgate_core::qualification::Interest::High => t.interest_high,
    };
    let profile = vec![
        Row2 { a: t.has_bought.into(), b: yn(sp.has_bought) },
        Row2 { a: t.needs_known.into(), b: yn(sp.needs_known) },
        Row2 { a: t.interest_shown.into(), b: interest.into() },
        Row2 { a: t.process_started.into(), b: yn(sp.conversion_process_started) },
    ];
    let sc = &x.scorecard;
    // Points are exact hundredths; written the user's way (0,25 in French).
    let pts = |p: leadgate_core::scoring::Points| s.lang.number(p.as_f64(), 2);
    let evidence = |ev: &[leadgate_core::scoring::condition::Evidence]| {
        ev.iter().map(|e| format!("{} = {}", e.field, e.value)).collect::<Vec<_>>().join(", ")
    };
    let fit_lines = sc
        .fit
        .contributions
        .iter()
        .map(|f| FitLine {
            label: s.lang.rule_words(&f.label),
            evidence: evidence(&f.evidence),
            points: pts(f.points),
        })
        .collect();
    let engagement_lines = sc
        .engagement
        .contributions
        .iter()
        .map(|e| EngagementLine {
            label: s.lang.rule_words(&e.label),
            event: crate::web::i18n::event_kind(t, e.kind.as_str()),
            when: s.datetime(e.occurred_at),
            before: pts(e.points_before_decay),
            decay: format!("× {}", s.lang.number(e.decay_factor, 3)),
            cap: match e.cap_applied {
                Some(Cap::Daily) => t.cap_daily.into(),
                Some(Cap::Lifetime) => t.cap_lifetime.into(),
                None => String::new(),
            },
            points: pts(e.points),
        })
        .collect();
    let temperature_code = match sc.temperature.level {
        Temperature::Hot => "hot",
        Temperature::Warm => "warm",
        Temperature::Cold => "cold",
    };
    ScoreFields {
        profile,
        fit_total: pts(sc.fit.points),
        grade: sc.fit.grade.as_str().to_string(),
        fit_lines,
        engagement_total: pts(sc.engagement.score),
        half_life: s.lang.number(sc.engagement.half_life_days, 0),
        engagement_lines,
        temperature: temperature_label(t, temperature_code),
        temperature_code: temperature_code.into(),
        temperature_reason: temperature_words(s.lang, &sc.temperature.cause),
        knockouts: sc
            .knockouts
            .iter()
            .map(|k| format!("{}: {}", k.rule, s.lang.rule_words(&k.reason)))
            .collect(),
    }
}

/// Why a stage changed, in the user's language. Rules' reasons are rebuilt from the rule that
/// moved the contact; people's reasons are their own words, except the ones the product writes.
pub(super) fn transition_words(lang: Lang, actor: &Actor, reason: &str) -> String {
    let t = lang.texts();
    if lang == Lang::En {
        return reason.to_string();
    }
    match actor {
        Actor::Rule { rule, .. } => match rule.as_str() {
            "mql-threshold" => t.rule_mql.into(),
            "checklist-authority" => t.rule_authority.into(),
            "fit-floor" => t.rule_fit_floor.into(),
            "requalified" => t.rule_requalified.into(),
            "sales-accepted" => t.rule_sales_accepted.into(),
            r if r.starts_with("knockout:") => {
                format!("{} : {}", t.rule_knockout, lang.rule_words(reason.trim_start_matches("knock-out: ")))
            }
            _ => reason.to_string(),
        },
        _ if reason == "moved by hand" => t.moved_by_hand.into(),
        _ => match reason.strip_prefix("rejected by sales: ") {
            Some(rest) => {
                let (code, note) =
                    rest.split_once(" (").map_or((rest, None), |(c, n)| (c, Some(n.trim_end_matches(')'))));
                let words = match code {
                    "not a fit" => t.reason_not_a_fit,
                    "no budget" => t.reason_no_budget,
                    "no authority" => t.reason_no_authority,
                    "bad data" => t.reason_bad_data,
                    "duplicate" => t.reason_duplicate,
                    "unreachable" => t.reason_unreachable,
                    _ => t.reason_other,
                };
                match note {
                    Some(n) => format!("{} : {words} ({n})", t.rejected_by_sales),
                    None => format!("{} : {words}", t.rejected_by_sales),
                }
            }
            None => reason.to_string(),
        },
    }
}

/// Why a lead went to its rep, in the user's language (the English sentence names every
/// refusal; other languages name the rule).
pub(super) fn assignment_words(lang: Lang, rule: Option<&str>, assigned: bool, why: &str) -> String {
    let t = lang.texts();
    match (lang, rule, assigned) {
        (Lang::En, ..) => why.to_string(),
        (_, Some("by hand"), _) => t.routed_by_hand.into(),
        (_, Some(rule), true) => format!("{} « {rule} »", t.routed_by_rule),
        _ => t.no_eligible_rep.into(),
    }
}

/// A task title the product wrote, in the user's language (people's own titles stay theirs).
pub(super) fn task_words(lang: Lang, title: &str) -> String {
    let t = lang.texts();
    if lang == Lang::En {
        title.to_string()
    } else if title == "First contact with this new lead" {
        t.task_first_contact.into()
    } else if title.starts_with("Follow up: no reply") {
        t.task_follow_up.into()
    } else if title.ends_with("missed the first-touch deadline on this lead") {
        t.task_manager.into()
    } else if let Some(kind) =
        title.strip_prefix("Reach the decision maker: an intermediary of theirs made a ")
    {
        let kind = crate::web::i18n::event_kind(t, &kind.replace(' ', "_")).to_lowercase();
        t.task_reach_decision_maker.replace("{kind}", &kind)
    } else {
        title.to_string()
    }
}

/// Why a contact has its temperature, in the user's language.
pub(super) fn temperature_words(lang: Lang, cause: &leadgate_core::scoring::TemperatureCause) -> String {
    use leadgate_core::scoring::TemperatureCause as C;
    let t = lang.texts();
    let days = |d: f64| lang.number(d, 0);
    let points = |p: &leadgate_core::scoring::Points| lang.number(p.as_f64(), 2);
    let day = |on: &str| on.parse::<jiff::civil::Date>().map_or(on.to_string(), |d| lang.date(d));
    match cause {
        C::Intent { event_kind, on, within_days } => t
            .why_intent
            .replace("{kind}", &crate::web::i18n::event_kind(t, event_kind).to_lowercase())
            .replace("{on}", &day(on))
            .replace("{days}", &days(*within_days)),
        C::PricingVisits { visits, within_days } => {
            t.why_pricing.replace("{visits}", &visits.to_string()).replace("{days}", &days(*within_days))
        }
        C::HotEngagement { engagement, threshold } => {
            t.why_hot.replace("{e}", &points(engagement)).replace("{x}", &points(threshold))
        }
        C::WarmEngagement { engagement, threshold } => {
            t.why_warm.replace("{e}", &points(engagement)).replace("{x}", &points(threshold))
        }
        C::RecentActivity { days: d, label, on } => {
            t.why_recent.replace("{days}", &days(*d)).replace("{label}", label).replace("{on}", &day(on))
        }
        C::Cold { engagement, threshold } => {
            t.why_cold.replace("{e}", &points(engagement)).replace("{x}", &points(threshold))
        }
    }
}

#[derive(Deserialize)]
pub(super) struct NoticeQuery {
    pub(super) done: Option<String>,
    /// Why the contact was not enrolled (an exit reason's code; the page words it).
    #[serde(default)]
    pub(super) not_enrolled: Option<String>,
}

pub(super) fn back_to(id: ContactId) -> Response {
    Redirect::to(&format!("/contacts/{id}?done=1")).into_response()
}

#[derive(Deserialize)]
/// The whole checklist, one Save: each criterion's answer and note.
pub(super) struct ChecklistForm {
    #[serde(rename = "_csrf")]
    pub(super) csrf: String,
    pub(super) answer_need: Option<String>,
    pub(super) note_need: Option<String>,
    pub(super) answer_budget: Option<String>,
    pub(super) note_budget: Option<String>,
    pub(super) answer_authority: Option<String>,
    pub(super) note_authority: Option<String>,
    pub(super) answer_timing: Option<String>,
    pub(super) note_timing: Option<String>,
}

pub(super) async fn contact_checklist(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
    Form(f): Form<ChecklistForm>,
) -> Response {
    let id: ContactId = match s.accept(&f.csrf, &id) {
        Ok(id) => id,
        Err(refused) => return *refused,
    };
    let current = match state.app.lifecycle(s.p(), id).await {
        Ok(l) => l.checklist,
        Err(e) => return app_error(&s, e),
    };
    let asked = [
        (Criterion::Need, &f.answer_need, &f.note_need, &current.need),
        (Criterion::Budget, &f.answer_budget, &f.note_budget, &current.budget),
        (Criterion::Authority, &f.answer_authority, &f.note_authority, &current.authority),
        (Criterion::Timing, &f.answer_timing, &f.note_timing, &current.timing),
    ];
    // Only what changed is saved: an untouched answer keeps who gave it and when.
    for (criterion, answer, note, was) in asked {
        let Some(answer) = answer.as_deref() else { continue };
        let answer = match answer {
            "yes" => Answer::Yes,
            "no" => Answer::No,
            _ => Answer::Unknown,
        };
        let note = note.as_deref().map(str::trim).filter(|n| !n.is_empty());
        if answer == was.answer && note == was.note.as_deref() {
            continue;
        }
        if let Err(e) = state.app.set_checklist(s.p(), id, criterion, answer, note).await {
            return app_error(&s, e);
        }
    }
    back_to(id)
}

#[derive(Deserialize)]
pub(super) struct TouchForm {
    #[serde(rename = "_csrf")]
    pub(super) csrf: String,
    pub(super) kind: String,
    pub(super) outcome: String,
    pub(super) note: Option<String>,
}

pub(super) async fn contact_touch(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
    Form(f): Form<TouchForm>,
) -> Response {
    let id: ContactId = match s.accept(&f.csrf, &id) {
        Ok(id) => id,
        Err(refused) => return *refused,
    };
    let kind = match f.kind.as_str() {
        "email" => TaskKind::Email,
        "meeting" => TaskKind::Meeting,
        _ => TaskKind::Call,
    };
    let outcome = if f.outcome == "no_reply" { TouchOutcome::NoReply } else { TouchOutcome::Reached };
    let touch = NewTouch { kind, outcome, note: f.note.filter(|n| !n.trim().is_empty()) };
    match state.app.log_touch(s.p(), id, touch).await {
        Ok(_) => back_to(id),
        Err(e) => app_error(&s, e),
    }
}

pub(super) async fn contact_accept(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
    Form(f): Form<CsrfForm>,
) -> Response {
    contact_button(&s, &id, &f.csrf, |id| state.app.accept_lead(s.p(), id)).await
}

/// A one-button form of a contact's page: the CSRF token and the id checked, `act` run, and
/// back to the page (or the page's error).
pub(super) async fn contact_button<T, Fut>(
    s: &Signed,
    raw_id: &str,
    csrf: &str,
    act: impl FnOnce(ContactId) -> Fut,
) -> Response
where
    Fut: std::future::Future<Output = Result<T, AppError>>,
{
    let id: ContactId = match s.accept(csrf, raw_id) {
        Ok(id) => id,
        Err(refused) => return *refused,
    };
    match act(id).await {
        Ok(_) => back_to(id),
        Err(e) => app_error(s, e),
    }
}

#[derive(Deserialize)]
pub(super) struct RejectForm {
    #[serde(rename = "_csrf")]
    pub(super) csrf: String,
    pub(super) reason: String,
    pub(super) note: Option<String>,
}

pub(super) async fn contact_reject(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
    Form(f): Form<RejectForm>,
) -> Response {
    let id: ContactId = match s.accept(&f.csrf, &id) {
        Ok(id) => id,
        Err(refused) => return *refused,
    };
    let Ok(reason) = serde_json::from_value::<RejectReason>(serde_json::Value::String(f.reason.clone()))
    else {
        return app_error(&s, AppError::invalid("reason", "pick a reason from the list"));
    };
    match state.app.reject_lead(s.p(), id, reason, f.note.as_deref().filter(|n| !n.trim().is_empty())).await {
        Ok(_) => back_to(id),
        Err(e) => app_error(&s, e),
    }
}

#[derive(Deserialize)]
pub(super) struct MoveForm {
    #[serde(rename = "_csrf")]
    pub(super) csrf: String,
    pub(super) to: String,
    pub(super) reason: Option<String>,
}

pub(super) async fn contact_move(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
    Form(f): Form<MoveForm>,
) -> Response {
    let id: ContactId = match s.accept(&f.csrf, &id) {
        Ok(id) => id,
        Err(refused) => return *refused,
    };
    let Some(to) = LifecycleStage::parse(&f.to) else {
        return app_error(&s, AppError::invalid("to", "is not a lifecycle stage"));
    };
    match state.app.move_contact(s.p(), id, to, f.reason.as_deref()).await {
        Ok(_) => back_to(id),
        Err(e) => app_error(&s, e),
    }
}

#[derive(Deserialize)]
pub(super) struct BuyingRoleForm {
    #[serde(rename = "_csrf")]
    pub(super) csrf: String,
    pub(super) role: String,
    pub(super) decision_maker: Option<String>,
}

/// `POST /contacts/{id}/buying-role`: the contact's role in the purchase and its decision maker.
pub(super) async fn contact_buying_role(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
    Form(f): Form<BuyingRoleForm>,
) -> Response {
    let id: ContactId = match s.accept(&f.csrf, &id) {
        Ok(id) => id,
        Err(refused) => return *refused,
    };
    let role = match f.role.as_str() {
        "" => None,
        code => match leadgate_core::pipeline::ContactRole::parse(code) {
            Some(r) => Some(r),
            None => return app_error(&s, AppError::invalid("role", "is not a role in the purchase")),
        },
    };
    let decision_maker_id =
        f.decision_maker.as_deref().filter(|d| !d.is_empty()).and_then(|d| d.parse().ok());
    let change = leadgate_app::pipeline::BuyingRoleChange { role, decision_maker_id };
    match state.app.set_buying_role(s.p(), id, change).await {
        Ok(_) => back_to(id),
        Err(e) => app_error(&s, e),
    }
}

#[derive(Deserialize)]
pub(super) struct NoteForm {
    #[serde(rename = "_csrf")]
    pub(super) csrf: String,
    pub(super) body: String,
}

pub(super) async fn contact_note(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
    Form(f): Form<NoteForm>,
) -> Response {
    contact_button(&s, &id, &f.csrf, |id| state.app.add_note(s.p(), id, &f.body)).await
}
