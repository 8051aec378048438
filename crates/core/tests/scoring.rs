//! Scoring, qualification and lifecycle: worked examples that pin the meaning of each rule, and
//! property tests for the invariants (determinism, sums that add up exactly, decay monotone in
//! time, caps that hold, no illegal transition reachable).

use jiff::{SignedDuration, Timestamp};
use leadgate_core::company::Company;
use leadgate_core::contact::Contact;
use leadgate_core::email::Email;
use leadgate_core::event::{Event, EventKind};
use leadgate_core::ids::{CompanyId, ContactId, EventId};
use leadgate_core::lifecycle::{
    self, LifecycleFacts, LifecycleStage, automatic_move, check_manual, is_legal, manual_targets,
};
use leadgate_core::qualification::{Answer, Checklist, Criterion};
use leadgate_core::scoring::fields::Prospect;
use leadgate_core::scoring::ledger::Stale;
use leadgate_core::scoring::{Cap, FitGrade, Ledger, Points, ScoringRules, Temperature, score, standing};
use proptest::prelude::*;
use serde_json::json;
use uuid::Uuid;

fn now() -> Timestamp {
    "2026-11-24T12:00:00Z".parse().unwrap()
}

fn contact(email: &str, job_title: Option<&str>, country: Option<&str>) -> Contact {
    Contact {
        id: ContactId(Uuid::from_u128(1)),
        email: Some(Email::parse(email).unwrap()),
        first_name: Some("Ada".into()),
        last_name: None,
        phone: None,
        job_title: job_title.map(String::from),
        company_id: Some(CompanyId(Uuid::from_u128(2))),
        country: country.map(String::from),
        city: None,
        external_id: None,
        lifecycle_stage: LifecycleStage::Lead,
        objected_at: None,
        source: None,
        campaign: None,
        last_touch_source: None,
        last_touch_campaign: None,
        do_not_email: false,
        do_not_call: false,
        custom: Default::default(),
        score: None,
        created_at: now(),
        updated_at: now(),
    }
}

fn company(employees: i64, sector: &str) -> Company {
    Company {
        id: CompanyId(Uuid::from_u128(2)),
        name: "Acme".into(),
        domain: Some("acme.example".into()),
        sector: Some(sector.into()),
        employees: Some(employees),
        annual_revenue: Some(12e6),
        country: Some("France".into()),
        external_id: None,
        custom: Default::default(),
        created_at: now(),
        updated_at: now(),
    }
}

fn event(n: u128, kind: EventKind, days_ago: f64, url: Option<&str>) -> Event {
    let at = now() - SignedDuration::from_secs_f64(days_ago * 86_400.0);
    Event {
        id: EventId(Uuid::from_u128(1000 + n)),
        contact_id: ContactId(Uuid::from_u128(1)),
        kind,
        occurred_at: at,
        received_at: at,
        source: None,
        campaign: None,
        properties: url.map(|u| json!({"url": u}).as_object().unwrap().clone()).unwrap_or_default(),
    }
}

#[test]
fn a_decision_maker_at_a_target_company_is_grade_a_with_every_point_explained() {
    let rules = ScoringRules::default_b2b();
    let c = contact("ada@acme.example", Some("CTO"), Some("France"));
    let co = company(250, "Software");
    let card = score(&rules, Prospect { contact: &c, company: Some(&co) }, &[], now());
    let rules_hit: Vec<&str> = card.fit.contributions.iter().map(|c| c.rule.as_str()).collect();
    assert_eq!(
        rules_hit,
        ["decision-maker", "company-size-core", "revenue", "target-sector", "served-country"]
    );
    assert_eq!(card.fit.points, Points::whole(25 + 20 + 10 + 15 + 10));
    assert_eq!(card.fit.grade, FitGrade::A);
    let cto = &card.fit.contributions[0].evidence[0];
    assert_eq!((cto.field.as_str(), cto.value.as_str()), ("job_title", "CTO"));
    assert!(card.knockouts.is_empty());
    assert_eq!(card.temperature.level, Temperature::Cold);
}

#[test]
fn a_quote_request_makes_a_lead_hot_at_once() {
    let rules = ScoringRules::default_b2b();
    let c = contact("ada@acme.example", None, None);
    let events = [event(1, EventKind::QuoteRequest, 0.01, None)];
    let card = score(&rules, Prospect { contact: &c, company: None }, &events, now());
    assert_eq!(card.temperature.level, Temperature::Hot);
    assert!(card.temperature.reason.contains("quote_request"), "{}", card.temperature.reason);
}

#[test]
fn three_pricing_visits_in_a_week_make_a_lead_hot() {
    let rules = ScoringRules::default_b2b();
    let c = contact("ada@acme.example", None, None);
    let two: Vec<Event> = (0..2).map(|i| event(i, EventKind::PageView, i as f64, Some("/pricing"))).collect();
    let card = score(&rules, Prospect { contact: &c, company: None }, &two, now());
    assert_ne!(card.temperature.level, Temperature::Hot);
    let three: Vec<Event> =
        (0..3).map(|i| event(i, EventKind::PageView, i as f64, Some("https://x.example/Pricing"))).collect();
    let card = score(&rules, Prospect { contact: &c, company: None }, &three, now());
    assert_eq!(card.temperature.level, Temperature::Hot);
    assert!(card.temperature.reason.contains("3 pricing page visits"));
}

#[test]
fn engagement_decays_by_half_each_half_life() {
    let rules = ScoringRules::default_b2b();
    let c = contact("ada@acme.example", None, None);
    let fresh = [event(1, EventKind::QuoteRequest, 0.0, None)];
    let month_old = [event(1, EventKind::QuoteRequest, 30.0, None)];
    let two_months = [event(1, EventKind::QuoteRequest, 60.0, None)];
    let p = Prospect { contact: &c, company: None };
    assert_eq!(score(&rules, p, &fresh, now()).engagement.score, Points::whole(50));
    assert_eq!(score(&rules, p, &month_old, now()).engagement.score, Points::whole(25));
    assert_eq!(score(&rules, p, &two_months, now()).engagement.score, Points::from_hundredths(1250));
}

#[test]
fn the_first_matching_rule_scores_an_event_and_caps_hold() {
    let rules = ScoringRules::default_b2b();
    let c = contact("ada@acme.example", None, None);
    // Eight pricing views on one day: 10 points each, capped at 20 a day.
    let same_day: Vec<Event> =
        (0..8).map(|i| event(i, EventKind::PageView, 2.0 + i as f64 * 0.001, Some("/pricing"))).collect();
    let card = score(&rules, Prospect { contact: &c, company: None }, &same_day, now());
    let before: Vec<Points> =
        card.engagement.contributions.iter().rev().map(|c| c.points_before_decay).collect();
    assert_eq!(&before[..3], &[Points::whole(10), Points::whole(10), Points::ZERO]);
    assert!(
        card.engagement.contributions.iter().all(|c| c.rule == "pricing-page"),
        "not the generic page-view rule"
    );
    let capped = card.engagement.contributions.iter().filter(|c| c.cap_applied == Some(Cap::Daily)).count();
    assert_eq!(capped, 6);
    // Careers pages count against buying, and their lifetime cap stops at -20.
    let careers: Vec<Event> =
        (0..5).map(|i| event(i, EventKind::PageView, 10.0 + i as f64, Some("/careers/dev"))).collect();
    let card = score(&rules, Prospect { contact: &c, company: None }, &careers, now());
    let total_before: Points = card.engagement.contributions.iter().map(|c| c.points_before_decay).sum();
    assert_eq!(total_before, Points::whole(-20));
}

#[test]
fn knockouts_say_why() {
    let rules = ScoringRules::default_b2b();
    let gmail = contact("ada@gmail.com", Some("Étudiante en master"), Some("Brazil"));
    let card = score(&rules, Prospect { contact: &gmail, company: None }, &[], now());
    let ids: Vec<&str> = card.knockouts.iter().map(|k| k.rule.as_str()).collect();
    assert_eq!(ids, ["personal-email", "student", "country-not-served"]);
    assert_eq!(card.knockouts[0].evidence[0].value, "gmail.com");
}

/// Regression (issue 18, item 5): a rule true because a condition is *not* met showed
/// `phone = (condition not met)`; the evidence is the value that made it true.
#[test]
fn negated_conditions_show_the_values_that_made_the_rule_true() {
    let rules = ScoringRules::default_b2b();
    let mut c = contact("ada@acme.example", Some("CTO"), Some("Brazil"));
    c.phone = Some("+33 6 12 34 56 78".into());
    let card = score(&rules, Prospect { contact: &c, company: None }, &[], now());
    let phone =
        card.fit.contributions.iter().find(|f| f.rule == "reachable-by-phone").expect("the phone rule holds");
    let shown: Vec<(&str, &str)> =
        phone.evidence.iter().map(|e| (e.field.as_str(), e.value.as_str())).collect();
    assert_eq!(shown, [("phone", "+33 6 12 34 56 78")]);
    // `not missing` and `not one of` both read the country: it is shown once, with its value.
    let country =
        card.knockouts.iter().find(|k| k.rule == "country-not-served").expect("Brazil is not served");
    let shown: Vec<(&str, &str)> =
        country.evidence.iter().map(|e| (e.field.as_str(), e.value.as_str())).collect();
    assert_eq!(shown, [("country", "Brazil")]);
}

/// The evidence of a condition under `not`, for every shape: the items that settle it, never a
/// placeholder, and the truth unchanged.
#[test]
fn negations_of_all_any_and_not_explain_with_values() {
    let mut c = contact("ada@acme.example", Some("CTO"), Some("Brazil"));
    c.phone = Some("+33 1".into());
    let check = |when: serde_json::Value, holds: bool, expected: &[(&str, &str)]| {
        let mut doc: serde_json::Value =
            serde_json::from_str(include_str!("../src/scoring/presets/b2b.json")).unwrap();
        doc["fit"]["rules"] = json!([{"id": "r", "label": "r", "when": when, "points": 1}]);
        let rules = ScoringRules::from_json(&doc.to_string()).unwrap_or_else(|e| panic!("{e}"));
        let card = score(&rules, Prospect { contact: &c, company: None }, &[], now());
        let hit = card.fit.contributions.iter().find(|f| f.rule == "r");
        assert_eq!(hit.is_some(), holds, "{when}");
        if let Some(hit) = hit {
            let shown: Vec<(&str, &str)> =
                hit.evidence.iter().map(|e| (e.field.as_str(), e.value.as_str())).collect();
            assert_eq!(shown, expected, "{when}");
        }
    };
    let is_fr = json!({"field": "country", "op": "equals", "value": "France"});
    let has_phone = json!({"not": {"field": "phone", "op": "is_missing"}});
    let cto = json!({"field": "job_title", "op": "equals", "value": "CTO"});
    // not(all): the one item that fails.
    check(json!({"not": {"all": [cto, is_fr]}}), true, &[("country", "Brazil")]);
    // not(any): every item, each failing.
    check(
        json!({"not": {"any": [is_fr, {"field": "city", "op": "equals", "value": "Lyon"}]}}),
        true,
        &[("country", "Brazil"), ("city", "(missing)")],
    );
    // not(not x) is x.
    check(json!({"not": {"not": cto}}), true, &[("job_title", "CTO")]);
    // A negation inside any.
    check(json!({"any": [is_fr, has_phone]}), true, &[("phone", "+33 1")]);
    // Still false when it is.
    check(json!({"not": cto}), false, &[]);
}

#[test]
fn x_education_rules_read_imported_fields() {
    let rules = ScoringRules::x_education();
    let mut c = contact("lead@x.example", None, Some("India"));
    c.custom = json!({
        "what_is_your_current_occupation": "Working Professional",
        "total_time_spent_on_website": 1532,
        "total_visits": 6,
        "last_activity": "SMS Sent",
        "lead_origin": "Landing Page Submission"
    })
    .as_object()
    .unwrap()
    .clone();
    let card = score(&rules, Prospect { contact: &c, company: None }, &[], now());
    assert_eq!(card.fit.points, Points::whole(30 + 25 + 5 + 20));
    assert_eq!(card.fit.grade, FitGrade::A);
}

fn facts<'a>(
    stage: LifecycleStage,
    card: &'a leadgate_core::scoring::Standing,
    checklist: &'a Checklist,
    accepted: bool,
) -> LifecycleFacts<'a> {
    LifecycleFacts {
        stage,
        standing: card,
        checklist,
        sales_accepted: accepted,
        stage_set_by_user: false,
        recycle_until: None,
    }
}

#[test]
fn lifecycle_rules_move_leads_forward_and_say_why() {
    let rules = ScoringRules::default_b2b();
    let c = contact("ada@acme.example", Some("CTO"), Some("France"));
    let co = company(250, "Software");
    let hot = [event(1, EventKind::DemoRequest, 1.0, None)];
    let card = score(&rules, Prospect { contact: &c, company: Some(&co) }, &hot, now()).standing();
    let mut checklist = Checklist::default();
    let mv = automatic_move(&facts(LifecycleStage::Lead, &card, &checklist, false), &rules, now()).unwrap();
    assert_eq!(mv.to, LifecycleStage::Mql);
    assert_eq!(mv.rule, "mql-threshold");
    // An MQL accepted by sales waits for the checklist, then becomes SQL.
    assert_eq!(automatic_move(&facts(LifecycleStage::Mql, &card, &checklist, true), &rules, now()), None);
    for cr in Criterion::ALL {
        checklist.get_mut(cr).answer = Answer::Yes;
    }
    let mv = automatic_move(&facts(LifecycleStage::Mql, &card, &checklist, true), &rules, now()).unwrap();
    assert_eq!(mv.to, LifecycleStage::Sql);
    // Authority "no" makes an intermediary, even of an SQL.
    checklist.authority.answer = Answer::No;
    let mv = automatic_move(&facts(LifecycleStage::Sql, &card, &checklist, true), &rules, now()).unwrap();
    assert_eq!(mv.to, LifecycleStage::Intermediary);
    // A recycled lead does not come back before its period ends.
    let cl = Checklist::default();
    let mut f = facts(LifecycleStage::Nurturing, &card, &cl, false);
    f.recycle_until = Some(now() + SignedDuration::from_hours(24));
    assert_eq!(automatic_move(&f, &rules, now()), None);
}

#[test]
fn knockouts_disqualify_unless_a_person_decided_otherwise() {
    let rules = ScoringRules::default_b2b();
    let c = contact("ada@gmail.com", Some("CTO"), Some("France"));
    let card = score(&rules, Prospect { contact: &c, company: None }, &[], now()).standing();
    let cl = Checklist::default();
    let mv = automatic_move(&facts(LifecycleStage::Lead, &card, &cl, false), &rules, now()).unwrap();
    assert_eq!(mv.to, LifecycleStage::Disqualified);
    assert_eq!(mv.rule, "knockout:personal-email");
    let mut f = facts(LifecycleStage::Lead, &card, &cl, false);
    f.stage_set_by_user = true;
    assert_eq!(
        automatic_move(&f, &rules, now()),
        None,
        "a person requalified it: the rule does not undo that"
    );
}

#[test]
fn illegal_manual_moves_are_refused_with_the_allowed_ones() {
    let err = check_manual(LifecycleStage::Lead, LifecycleStage::Sql).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("sales accepts"), "{text}");
    assert!(text.contains("mql, nurturing, disqualified, intermediary"), "{text}");
    assert!(
        check_manual(LifecycleStage::Customer, LifecycleStage::Lead)
            .unwrap_err()
            .to_string()
            .contains("from `customer` it can move to: churned")
    );
    assert!(
        check_manual(LifecycleStage::Disqualified, LifecycleStage::Lead).is_ok(),
        "a disqualified lead can come back"
    );
}

fn arb_event() -> impl Strategy<Value = (u8, f64, u8)> {
    (0u8..19, 0.0f64..400.0, 0u8..4)
}

fn build_events(specs: &[(u8, f64, u8)]) -> Vec<Event> {
    let kinds = leadgate_core::event::BUILT_IN_KINDS;
    let urls = [None, Some("/pricing"), Some("/careers"), Some("/blog/post")];
    specs
        .iter()
        .enumerate()
        .map(|(i, (k, days, u))| event(i as u128, kinds[*k as usize].1.clone(), *days, urls[*u as usize]))
        .collect()
}

proptest! {
    #[test]
    fn scores_are_deterministic_and_sums_are_exact(specs in prop::collection::vec(arb_event(), 0..80), shuffle in any::<u64>()) {
        let rules = ScoringRules::default_b2b();
        let c = contact("ada@acme.example", Some("Head of IT"), Some("Germany"));
        let co = company(80, "manufacturing");
        let p = Prospect { contact: &c, company: Some(&co) };
        let events = build_events(&specs);
        let a = score(&rules, p, &events, now());
        // Same data in another order: same scorecard.
        let mut shuffled = events.clone();
        let n = shuffled.len();
        if n > 1 { shuffled.rotate_left((shuffle % n as u64) as usize); }
        let b = score(&rules, p, &shuffled, now());
        prop_assert_eq!(&a, &b);
        let fit_sum: Points = a.fit.contributions.iter().map(|c| c.points).sum();
        prop_assert_eq!(fit_sum, a.fit.points);
        let eng_sum: Points = a.engagement.contributions.iter().map(|c| c.points).sum();
        prop_assert_eq!(eng_sum, a.engagement.score);
        prop_assert_eq!(a.engagement.contributions.len() + a.engagement.unscored_events, events.len());
    }

    #[test]
    fn positive_engagement_only_decays_as_time_passes(specs in prop::collection::vec(arb_event(), 0..60), later in 0.0f64..200.0) {
        let mut rules_doc = ScoringRules::default_b2b().doc;
        rules_doc.engagement.rules.retain(|r| r.points > Points::ZERO);
        let rules = ScoringRules::compile(rules_doc).unwrap();
        let c = contact("ada@acme.example", None, None);
        let p = Prospect { contact: &c, company: None };
        let events = build_events(&specs);
        let t1 = now();
        let t2 = now() + SignedDuration::from_secs_f64(later * 86_400.0);
        prop_assert!(score(&rules, p, &events, t2).engagement.score <= score(&rules, p, &events, t1).engagement.score);
    }

    #[test]
    fn caps_hold_per_day_and_for_life(specs in prop::collection::vec(arb_event(), 0..120)) {
        let rules = ScoringRules::default_b2b();
        let c = contact("ada@acme.example", None, None);
        let events = build_events(&specs);
        let card = score(&rules, Prospect { contact: &c, company: None }, &events, now());
        for r in &rules.doc.engagement.rules {
            let mine: Vec<_> = card.engagement.contributions.iter().filter(|c| c.rule == r.id).collect();
            if let Some(cap) = r.lifetime_cap {
                let total: Points = mine.iter().map(|c| c.points_before_decay.abs()).sum();
                prop_assert!(total <= cap, "{} lifetime {} > {}", r.id, total, cap);
            }
            if let Some(cap) = r.daily_cap {
                let mut per_day = std::collections::HashMap::<i64, Points>::new();
                for c in &mine {
                    *per_day.entry(c.occurred_at.as_microsecond().div_euclid(86_400_000_000)).or_default() += c.points_before_decay.abs();
                }
                prop_assert!(per_day.values().all(|v| *v <= cap), "{} daily cap broken", r.id);
            }
            for c in &mine {
                prop_assert!(c.points_before_decay.abs() <= r.points.abs());
            }
        }
    }

    #[test]
    fn no_illegal_transition_is_reachable(
        start in 0usize..9,
        steps in prop::collection::vec((0u8..3, 0usize..9, prop::collection::vec(arb_event(), 0..6), 0u8..3, any::<bool>(), any::<bool>()), 1..40),
    ) {
        let rules = ScoringRules::default_b2b();
        let mut stage = LifecycleStage::ALL[start];
        let emails = ["ada@acme.example", "ada@gmail.com", "x@competitor.example"];
        let mut checklist = Checklist::default();
        for (action, target, specs, email, accepted, by_user) in steps {
            let before = stage;
            match action {
                // A person asks for a move: it happens only if allowed.
                0 => {
                    let to = LifecycleStage::ALL[target];
                    if check_manual(stage, to).is_ok() { stage = to; }
                }
                // The checklist changes.
                1 => {
                    let cr = Criterion::ALL[target % 4];
                    checklist.get_mut(cr).answer = [Answer::Unknown, Answer::Yes, Answer::No][email as usize];
                }
                // Events arrive and the rules run.
                _ => {
                    let c = contact(emails[email as usize], Some("CEO"), Some("France"));
                    let co = company(300, "software");
                    let card = score(&rules, Prospect { contact: &c, company: Some(&co) }, &build_events(&specs), now()).standing();
                    let f = LifecycleFacts { stage, standing: &card, checklist: &checklist, sales_accepted: accepted, stage_set_by_user: by_user, recycle_until: None };
                    if let Some(mv) = automatic_move(&f, &rules, now()) { stage = mv.to; }
                }
            }
            prop_assert!(before == stage || is_legal(before, stage), "{before} -> {stage} is not legal");
            prop_assert!(!(before != LifecycleStage::Mql && stage == LifecycleStage::Sql && before != stage), "SQL only from MQL");
        }
    }
}

#[test]
fn damaged_ledgers_are_refused_not_misread() {
    let rules = ScoringRules::default_b2b();
    let events = build_events(&[(11, 1.0, 0), (0, 0.5, 1)]);
    let bytes = Ledger::from_events(&rules, 3, &events).to_bytes();
    assert!(Ledger::from_bytes(&bytes).is_some());
    assert!(Ledger::from_bytes(&bytes[..bytes.len() - 1]).is_none());
    assert!(Ledger::from_bytes(&[bytes.clone(), vec![0]].concat()).is_none());
    assert!(Ledger::from_bytes(b"{\"version\":3}").is_none());
    assert!(Ledger::from_bytes(&[]).is_none());
}

proptest! {
    #[test]
    fn the_ledger_extended_event_by_event_gives_the_explained_score(
        specs in prop::collection::vec(arb_event(), 0..80),
        split in 0usize..80,
        later in 0.0f64..500.0,
    ) {
        let rules = ScoringRules::default_b2b();
        let c = contact("ada@acme.example", Some("Head of IT"), Some("Germany"));
        let p = Prospect { contact: &c, company: None };
        let mut events = build_events(&specs);
        events.sort_by_key(|e| (e.occurred_at, e.id));
        let cut = split.min(events.len());
        // Built in two steps (what ingest does), through JSON (what storage does).
        let first = Ledger::from_events(&rules, 7, &events[..cut]);
        let mut stored = Ledger::from_bytes(&first.to_bytes()).unwrap();
        prop_assert_eq!(&stored, &first);
        stored.extend(&rules, 7, &events[cut..]).unwrap();
        let at = now() + SignedDuration::from_secs_f64(later * 86_400.0);
        let full = score(&rules, p, &events, at).standing();
        prop_assert_eq!(&standing(&rules, p, &stored, at), &full);
        // Pruning forgets only what no longer counts.
        stored.prune(&rules, at);
        prop_assert_eq!(standing(&rules, p, &stored, at), full);
        // An older event, or another rules version, cannot extend it.
        if let Some(oldest) = events.first() {
            let mut again = Ledger::from_events(&rules, 7, &events);
            prop_assert_eq!(again.extend(&rules, 7, std::slice::from_ref(oldest)), Err(Stale::OutOfOrder));
            prop_assert_eq!(again.extend(&rules, 8, &[]), Err(Stale::RulesChanged));
        }
    }
}

#[test]
fn every_manual_target_is_legal_and_customers_leave_only_by_churning() {
    for from in LifecycleStage::ALL {
        for to in manual_targets(from) {
            assert!(is_legal(from, *to));
        }
    }
    assert_eq!(manual_targets(LifecycleStage::Customer), [LifecycleStage::Churned]);
    for from in LifecycleStage::ALL {
        if from != LifecycleStage::Customer {
            assert!(is_legal(from, LifecycleStage::Customer), "a won deal makes a {from} a customer");
        }
    }
    assert!(!is_legal(LifecycleStage::Lead, LifecycleStage::Sql));
    let _ = lifecycle::Actor::Import;
}

/// The default rules plus rules that read an event's source, campaign and a second property.
fn rules_reading_source_campaign_and_properties() -> ScoringRules {
    let mut doc = serde_json::to_value(ScoringRules::default_b2b().doc).unwrap();
    let extra = json!([
        { "id": "paid-search", "kind": "page_view", "points": 7,
          "when": { "all": [
            { "field": "source", "op": "equals", "value": "google" },
            { "field": "property.utm_medium", "op": "equals", "value": "cpc" }
          ] } },
        { "id": "spring-campaign", "points": 4,
          "when": { "field": "campaign", "op": "contains", "value": "spring" } }
    ]);
    let rules = doc["engagement"]["rules"].as_array_mut().unwrap();
    for (i, rule) in extra.as_array().unwrap().iter().enumerate() {
        rules.insert(i, rule.clone());
    }
    ScoringRules::compile(serde_json::from_value(doc).unwrap()).unwrap()
}

#[test]
fn rules_say_which_event_fields_they_read() {
    let needs = ScoringRules::default_b2b().event_needs();
    assert!(!needs.source && !needs.campaign);
    assert_eq!(needs.properties, Some(["url".to_string()].into()), "the pricing and careers pages");
    let needs = rules_reading_source_campaign_and_properties().event_needs();
    assert!(needs.source && needs.campaign);
    assert_eq!(needs.properties, Some(["url".to_string(), "utm_medium".to_string()].into()));
}

proptest! {
    /// A rescore reads of each event only what the rules read (`ScoringRules::event_needs`): the
    /// ledger walked over events stripped to that is the one walked over whole events.
    #[test]
    fn events_stripped_to_what_the_rules_read_score_the_same(
        specs in prop::collection::vec(arb_event(), 0..80),
        extras in prop::collection::vec((0u8..3, 0u8..3, 0u8..3), 80),
    ) {
        for rules in [ScoringRules::default_b2b(), rules_reading_source_campaign_and_properties()] {
            let needs = rules.event_needs();
            let mut events = build_events(&specs);
            for (e, &(source, campaign, medium)) in events.iter_mut().zip(&extras) {
                e.source = [None, Some("Google"), Some("LinkedIn")][source as usize].map(String::from);
                e.campaign = [None, Some("Spring sale"), Some("Autumn")][campaign as usize].map(String::from);
                if let Some(medium) = [None, Some("cpc"), Some("email")][medium as usize] {
                    e.properties.insert("utm_medium".into(), json!(medium));
                }
                e.properties.insert("title".into(), json!("A page title nobody scores"));
            }
            let mut stripped = events.clone();
            for e in &mut stripped {
                needs.strip(e);
            }
            prop_assert!(stripped.iter().all(|e| !e.properties.contains_key("title")));
            let whole = Ledger::from_events(&rules, 1, &events);
            let lean = Ledger::from_events(&rules, 1, &stripped);
            prop_assert_eq!(whole.to_bytes(), lean.to_bytes());
        }
    }
}
