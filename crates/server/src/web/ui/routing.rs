//! The sales agreement's routing rules as a form: for each rule, which leads it takes (countries,
//! sectors, company size, sources, temperatures, grades) and who gets them (a rep, a team in turn
//! or by load, reps by weight), in order, with a blank line to add one.

use leadgate_core::handoff::{Assignee, LeadConditions, RepWeight, RoutingRule};
use leadgate_core::scoring::FitGrade;

use super::*;

/// A rep a rule may hand leads to.
pub(super) struct RepChoice {
    pub id: UserId,
    pub name: String,
}

/// One rule in the form (the last line is blank, to add a rule).
pub(super) struct RouteLine {
    pub order: String,
    pub name: String,
    pub countries: String,
    pub sectors: String,
    pub sources: String,
    pub min_employees: String,
    pub max_employees: String,
    pub temperatures: Vec<Choice>,
    pub grades: Vec<Choice>,
    pub strategies: Vec<Choice>,
    pub reps: Vec<Choice>,
    pub team: String,
    /// (rep id, name, weight; empty when not weighted).
    pub weights: Vec<(String, String, String)>,
    pub is_new: bool,
}

const STRATEGIES: [&str; 4] = ["rep", "round_robin", "least_loaded", "weighted"];
const TEMPERATURES: [(Temperature, &str); 3] =
    [(Temperature::Hot, "hot"), (Temperature::Warm, "warm"), (Temperature::Cold, "cold")];
const GRADES: [FitGrade; 4] = [FitGrade::A, FitGrade::B, FitGrade::C, FitGrade::D];

fn strategy_label<'t>(t: &'t Texts, key: &str) -> &'t str {
    match key {
        "rep" => t.routing_to_rep,
        "round_robin" => t.routing_round_robin,
        "least_loaded" => t.routing_least_loaded,
        _ => t.routing_weighted,
    }
}

/// The form's lines for the rules in force, then a blank one.
pub(super) fn route_lines(t: &Texts, rules: &[RoutingRule], reps: &[RepChoice]) -> Vec<RouteLine> {
    let blank = RoutingRule {
        name: String::new(),
        when: LeadConditions::default(),
        assign: Assignee::RoundRobin { team: String::new() },
    };
    rules
        .iter()
        .map(|r| (r, false))
        .chain(std::iter::once((&blank, true)))
        .enumerate()
        .map(|(i, (rule, is_new))| {
            let w = &rule.when;
            let (strategy, rep, team, weights): (&str, Option<UserId>, &str, &[RepWeight]) =
                match &rule.assign {
                    Assignee::Rep { user_id } => ("rep", Some(*user_id), "", &[]),
                    Assignee::RoundRobin { team } => ("round_robin", None, team, &[]),
                    Assignee::LeastLoaded { team } => ("least_loaded", None, team, &[]),
                    Assignee::Weighted { weights } => ("weighted", None, "", weights),
                };
            let mut rep_choices =
                vec![Choice { value: String::new(), label: "—".into(), selected: rep.is_none() }];
            rep_choices.extend(reps.iter().map(|r| Choice {
                value: r.id.to_string(),
                label: r.name.clone(),
                selected: rep == Some(r.id),
            }));
            RouteLine {
                order: (i + 1).to_string(),
                name: rule.name.clone(),
                countries: w.countries.join(", "),
                sectors: w.sectors.join(", "),
                sources: w.sources.join(", "),
                min_employees: w.min_employees.map(|n| n.to_string()).unwrap_or_default(),
                max_employees: w.max_employees.map(|n| n.to_string()).unwrap_or_default(),
                temperatures: TEMPERATURES
                    .iter()
                    .map(|(temp, key)| Choice {
                        value: (*key).into(),
                        label: super::temperature_label(t, key).into(),
                        selected: w.temperatures.contains(temp),
                    })
                    .collect(),
                grades: GRADES
                    .iter()
                    .map(|g| Choice {
                        value: g.as_str().into(),
                        label: g.as_str().into(),
                        selected: w.grades.contains(g),
                    })
                    .collect(),
                strategies: STRATEGIES
                    .iter()
                    .map(|k| Choice {
                        value: (*k).into(),
                        label: strategy_label(t, k).into(),
                        selected: *k == strategy,
                    })
                    .collect(),
                reps: rep_choices,
                team: team.to_string(),
                weights: reps
                    .iter()
                    .map(|r| {
                        let weight = weights.iter().find(|x| x.user_id == r.id).map(|x| x.weight.to_string());
                        (r.id.to_string(), r.name.clone(), weight.unwrap_or_default())
                    })
                    .collect(),
                is_new,
            }
        })
        .collect()
}

/// The routing rules the form describes, in the order typed, and each mistake named with its
/// rule (the rules then hold what could be read, to show the form again as typed).
pub(super) fn rules_from_form(t: &Texts, form: &Posted) -> (Vec<RoutingRule>, Vec<String>) {
    let mut bad = Vec::new();
    let mut rules: Vec<(f64, usize, RoutingRule)> = Vec::new();
    let mut next = 0;
    while form.has(&format!("route_{next}_name")) {
        let i = next;
        next += 1;
        let field = |name: &str| form.value(&format!("route_{i}_{name}"));
        let values = |name: &str| -> Vec<String> {
            let key = format!("route_{i}_{name}");
            form.iter().filter(|(k, _)| *k == key).map(|(_, v)| v.clone()).collect()
        };
        let name = field("name");
        let is_new = !field("new").is_empty();
        if (is_new && name.is_empty()) || !field("remove").is_empty() {
            continue;
        }
        let shown = if name.is_empty() { format!("{} {}", t.routing_rule, i + 1) } else { name.clone() };
        let mut problem = |label: &str, what: &str| bad.push(format!("{shown} — {label}{} {what}", t.colon));
        let list = |raw: String| -> Vec<String> {
            raw.split([',', ';', '\n']).map(str::trim).filter(|x| !x.is_empty()).map(String::from).collect()
        };
        let mut count = |name: &str, label: &str| -> Option<i64> {
            let raw = field(name).replace([' ', '\u{a0}', '\u{202f}'], "");
            if raw.is_empty() {
                return None;
            }
            raw.parse::<i64>().map_err(|_| problem(label, t.not_a_number)).ok()
        };
        let min_employees = count("min_employees", t.routing_min_employees);
        let max_employees = count("max_employees", t.routing_max_employees);
        let order = field("order").replace(',', ".").parse::<f64>().unwrap_or((i + 1) as f64);
        let temperatures = values("temperature")
            .iter()
            .filter_map(|v| TEMPERATURES.iter().find(|(_, k)| k == v).map(|(temp, _)| *temp))
            .collect();
        let grades =
            values("grade").iter().filter_map(|v| GRADES.into_iter().find(|g| g.as_str() == v)).collect();
        let team = field("team");
        let assign = match field("strategy").as_str() {
            // No rep picked: named, and the rule kept with nobody (no rep has the nil id) so
            // the form comes back as typed.
            "rep" => Assignee::Rep {
                user_id: field("rep").parse::<UserId>().unwrap_or_else(|_| {
                    problem(t.routing_assign, t.routing_pick_rep);
                    UserId(uuid::Uuid::nil())
                }),
            },
            "least_loaded" => Assignee::LeastLoaded { team },
            "weighted" => {
                let prefix = format!("route_{i}_weight_");
                let mut weights = Vec::new();
                for (key, raw) in form.iter() {
                    let Some(id) = key.strip_prefix(&prefix) else { continue };
                    let raw = raw.trim();
                    if raw.is_empty() {
                        continue;
                    }
                    match (id.parse::<UserId>(), raw.parse::<u32>()) {
                        // A weight of 0 is no share, as an empty one.
                        (Ok(_), Ok(0)) => {}
                        (Ok(user_id), Ok(weight)) => weights.push(RepWeight { user_id, weight }),
                        _ => problem(t.routing_weights, t.not_a_number),
                    }
                }
                Assignee::Weighted { weights }
            }
            _ => Assignee::RoundRobin { team },
        };
        let when = LeadConditions {
            countries: list(field("countries")),
            sectors: list(field("sectors")),
            min_employees,
            max_employees,
            sources: list(field("sources")),
            temperatures,
            grades,
        };
        rules.push((order, i, RoutingRule { name, when, assign }));
    }
    rules.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    (rules.into_iter().map(|(_, _, r)| r).collect(), bad)
}

/// The agreement's refusals of routing rules told at the rule (by its name) and the form's
/// field, in the reader's language; other errors as their path says.
pub(super) fn errors_at_rules(
    lang: Lang,
    rules: &[RoutingRule],
    errors: &[leadgate_core::validation::FieldError],
) -> Vec<String> {
    let t = lang.texts();
    errors
        .iter()
        .map(|e| {
            let at = e.field.strip_prefix("routing[").and_then(|r| r.split_once(']'));
            let Some((i, rest)) = at.and_then(|(i, rest)| Some((i.parse::<usize>().ok()?, rest))) else {
                return field_errors_text(lang, std::slice::from_ref(e));
            };
            let rule = rules
                .get(i)
                .map(|r| r.name.clone())
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| format!("{} {}", t.routing_rule, i + 1));
            let field = [
                (".name", t.routing_name),
                (".assign.team", t.routing_team_hint),
                (".assign.weights", t.routing_weights),
                (".assign.user_id", t.routing_rep_hint),
                (".when.countries", t.routing_countries),
                (".when.sectors", t.routing_sectors),
                (".when.sources", t.routing_sources),
                (".when.min_employees", t.routing_min_employees),
                (".when.max_employees", t.routing_max_employees),
            ]
            .iter()
            .find(|(path, _)| rest.starts_with(path))
            .map_or(t.routing_assign, |(_, words)| *words);
            let words = match lang {
                Lang::Fr => super::super::i18n::message_fr(&e.message).unwrap_or_else(|| e.message.clone()),
                Lang::En => e.message.clone(),
            };
            format!("{rule} — {field}{} {words}", t.colon)
        })
        .collect()
}
