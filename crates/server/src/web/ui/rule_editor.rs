//! One scoring rule in a form: its label (or knock-out reason), points, event kind and caps, and
//! its condition as groups of lines ("field, test, value"; every line of a group holds, groups
//! are alternatives). A condition nested in another way stays JSON-only and is kept as it is.
//! The rule set with this rule changed goes through the same checks, preview and save as the
//! JSON editor.

use leadgate_core::scoring::condition::{Clause, ConditionDoc, Op};
use serde_json::Value as Json;

use super::rules::{PreviewView, compile_rules, form_number, json_number, preview_of, shown};
use super::*;
use leadgate_core::validation::FieldError;

/// Which list of the rule set a rule is in.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Section {
    Fit,
    Engagement,
    Knockout,
}

impl Section {
    fn parse(s: &str) -> Option<Section> {
        match s {
            "fit" => Some(Section::Fit),
            "engagement" => Some(Section::Engagement),
            "knockout" => Some(Section::Knockout),
            _ => None,
        }
    }

    fn key(self) -> &'static str {
        match self {
            Section::Fit => "fit",
            Section::Engagement => "engagement",
            Section::Knockout => "knockout",
        }
    }

    /// The rule list in the rule set's JSON.
    fn list(self, doc: &mut Json) -> &mut Json {
        match self {
            Section::Fit => &mut doc["fit"]["rules"],
            Section::Engagement => &mut doc["engagement"]["rules"],
            Section::Knockout => &mut doc["knockouts"],
        }
    }
}

/// The tests a line offers, each also negated.
const OPS: [(Op, &str); 6] = [
    (Op::Equals, "equals"),
    (Op::OneOf, "one_of"),
    (Op::Contains, "contains"),
    (Op::Matches, "matches"),
    (Op::Range, "range"),
    (Op::IsMissing, "is_missing"),
];

fn op_label(t: &Texts, key: &str) -> &'static str {
    match key {
        "equals" => t.op_equals,
        "not_equals" => t.op_not_equals,
        "one_of" => t.op_one_of,
        "not_one_of" => t.op_not_one_of,
        "contains" => t.op_contains,
        "not_contains" => t.op_not_contains,
        "matches" => t.op_matches,
        "not_matches" => t.op_not_matches,
        "range" => t.op_range,
        "not_range" => t.op_not_range,
        "is_missing" => t.op_is_missing,
        _ => t.op_not_is_missing,
    }
}

/// A line of the condition as the form shows it.
#[derive(Clone, Default)]
pub(super) struct Line {
    pub field: String,
    /// `equals`, `not_equals`, …
    pub op: String,
    pub value: String,
}

pub(super) struct LineView {
    pub number: usize,
    /// The fields offered, the line's own selected (one not offered is added, as written).
    pub fields: Vec<Choice>,
    pub ops: Vec<Choice>,
    pub value: String,
}

pub(super) struct GroupView {
    pub title: String,
    pub lines: Vec<LineView>,
}

#[derive(Template)]
#[template(path = "ui/rule_edit.html")]
pub(super) struct RuleEditPage {
    pub c: Chrome,
    pub title: String,
    pub section: &'static str,
    /// Empty for a new rule.
    pub index: String,
    pub label: String,
    pub points: String,
    pub kinds: Vec<Choice>,
    pub daily_cap: String,
    pub lifetime_cap: String,
    pub explain: &'static str,
    pub groups: Vec<GroupView>,
    /// The condition nests beyond groups of lines: edited as JSON only.
    pub nested: bool,
    pub errors: Vec<String>,
    pub preview: Option<PreviewView>,
    pub comment: String,
}

fn line_of(c: &Clause) -> Line {
    let d = &c.test;
    let key = d.op.and_then(|op| OPS.iter().find(|(o, _)| *o == op)).map_or("equals", |(_, k)| *k);
    let value = match d.op {
        Some(Op::OneOf) => d.values.iter().flatten().map(shown).collect::<Vec<_>>().join(", "),
        Some(Op::Range) => {
            let end = |x: Option<f64>| x.map(|x| shown(&serde_json::json!(x))).unwrap_or_default();
            format!("{} – {}", end(d.min), end(d.max)).trim().to_string()
        }
        Some(Op::IsMissing) => String::new(),
        _ => d.value.as_ref().map(shown).unwrap_or_default(),
    };
    Line {
        field: d.field.clone().unwrap_or_default(),
        op: if c.negated { format!("not_{key}") } else { key.to_string() },
        value,
    }
}

/// A value typed on a line as the rules write it: true/false (and yes/no for the do-not
/// fields), a number, or text.
fn literal(field: &str, text: &str) -> Json {
    let lower = text.to_lowercase();
    let yes_no = field.starts_with("do_not_");
    match lower.as_str() {
        "true" => return Json::Bool(true),
        "false" => return Json::Bool(false),
        "yes" | "oui" if yes_no => return Json::Bool(true),
        "no" | "non" if yes_no => return Json::Bool(false),
        _ => {}
    }
    text.parse::<f64>().ok().and_then(json_number).unwrap_or_else(|| Json::String(text.to_string()))
}

/// "10 – 500", "10..500", "10 to 500", "– 500", "10 –": the two ends, either may be missing.
fn range(text: &str) -> Option<(Option<f64>, Option<f64>)> {
    let mut t = text.to_string();
    for sep in ["..", "–", "—", " to ", " à ", " - "] {
        t = t.replace(sep, "|");
    }
    let end = |x: &str| -> Result<Option<f64>, ()> {
        let x = x.replace([' ', '\u{a0}', '\u{202f}'], "").replace(',', ".");
        if x.is_empty() { Ok(None) } else { x.parse::<f64>().map(Some).map_err(|_| ()) }
    };
    let parts: Vec<&str> = t.split('|').collect();
    let (min, max) = match parts.as_slice() {
        [one] => (end(one).ok()?, None),
        [a, b] => (end(a).ok()?, end(b).ok()?),
        _ => return None,
    };
    (min.is_some() || max.is_some()).then_some((min, max))
}

/// The clause a line describes, or what is wrong with it (`n`: its number on the page).
fn clause_of(t: &Texts, line: &Line, n: usize) -> Result<Clause, String> {
    let number = |text: &str| text.replace("{n}", &n.to_string());
    let (negated, key) = match line.op.strip_prefix("not_") {
        Some(k) => (true, k),
        None => (false, line.op.as_str()),
    };
    let Some((op, _)) = OPS.iter().find(|(_, k)| *k == key) else {
        return Err(number(t.rule_line_incomplete));
    };
    if line.field.is_empty() {
        return Err(number(t.rule_line_incomplete));
    }
    let mut test = ConditionDoc { field: Some(line.field.clone()), op: Some(*op), ..ConditionDoc::default() };
    let value = line.value.trim();
    if value.is_empty() && *op != Op::IsMissing {
        return Err(number(t.rule_line_value));
    }
    match op {
        Op::Equals => test.value = Some(literal(&line.field, value)),
        Op::Contains | Op::Matches => test.value = Some(Json::String(value.to_string())),
        Op::OneOf => {
            test.values = Some(
                value
                    .split(',')
                    .map(str::trim)
                    .filter(|v| !v.is_empty())
                    .map(|v| literal(&line.field, v))
                    .collect(),
            )
        }
        Op::Range => match range(value) {
            Some((min, max)) => (test.min, test.max) = (min, max),
            None => return Err(number(t.rule_line_range)),
        },
        Op::IsMissing => {}
    }
    Ok(Clause { negated, test })
}

/// The groups of lines a form sent (`g{group}_{line}_field`, `_op`, `_value`), blank lines left
/// out.
fn lines_from_form(form: &Posted) -> Vec<Vec<Line>> {
    let mut groups = Vec::new();
    let mut g = 0;
    while form.has(&format!("g{g}_0_field")) {
        let mut lines = Vec::new();
        let mut l = 0;
        while form.has(&format!("g{g}_{l}_field")) {
            let get = |name: &str| form.value(&format!("g{g}_{l}_{name}"));
            // A field typed by hand (an event property) wins over the list's choice.
            let other = get("other");
            let field = if other.is_empty() { get("field") } else { other };
            let line = Line { field, op: get("op"), value: get("value") };
            if !line.field.is_empty() || !line.value.is_empty() {
                lines.push(line);
            }
            l += 1;
        }
        groups.push(lines);
        g += 1;
    }
    groups
}

/// The groups as the page shows them: each with a blank line to add one, and a blank group.
fn group_views(t: &Texts, groups: &[Vec<Line>], fields: &[(String, String)]) -> Vec<GroupView> {
    let mut n = 0;
    groups
        .iter()
        .filter(|g| !g.is_empty())
        .chain(std::iter::once(&Vec::new()))
        .enumerate()
        .map(|(i, lines)| {
            let title =
                if i == 0 { t.rule_group } else { t.rule_or_group }.replace("{n}", &(i + 1).to_string());
            let lines = lines
                .iter()
                .cloned()
                .chain(std::iter::once(Line::default()))
                .map(|line| {
                    n += 1;
                    let ops = OPS
                        .iter()
                        .flat_map(|(_, k)| [k.to_string(), format!("not_{k}")])
                        .map(|k| Choice { label: op_label(t, &k).into(), selected: k == line.op, value: k })
                        .collect();
                    let mut choices = vec![Choice {
                        value: String::new(),
                        label: "—".into(),
                        selected: line.field.is_empty(),
                    }];
                    choices.extend(fields.iter().map(|(name, words)| Choice {
                        value: name.clone(),
                        label: words.clone(),
                        selected: *name == line.field,
                    }));
                    if !choices.iter().any(|c| c.selected) {
                        choices.push(Choice {
                            value: line.field.clone(),
                            label: line.field.clone(),
                            selected: true,
                        });
                    }
                    LineView { number: n, fields: choices, ops, value: line.value }
                })
                .collect();
            GroupView { title, lines }
        })
        .collect()
}

/// The condition a rule has, as lines; `None` when it nests beyond them.
fn lines_of(when: Option<&ConditionDoc>) -> Option<Vec<Vec<Line>>> {
    match when {
        None => Some(Vec::new()),
        Some(doc) => doc.to_groups().map(|gs| gs.iter().map(|g| g.iter().map(line_of).collect()).collect()),
    }
}

/// The rule's condition in words, for the rules page: "Job title contains cto or …".
pub(super) fn describe(lang: Lang, section: Section, when: Option<&ConditionDoc>) -> String {
    let t = lang.texts();
    let Some(groups) = lines_of(when) else { return "JSON".into() };
    if groups.is_empty() {
        return if section == Section::Engagement { t.rule_every_event.into() } else { "—".into() };
    }
    let fields = if section == Section::Engagement {
        super::super::i18n::EVENT_CONDITION_FIELDS
    } else {
        super::super::i18n::CONTACT_CONDITION_FIELDS
    };
    let words = |name: &str| {
        fields
            .iter()
            .find(|(n, _, _)| *n == name)
            .map_or(name.to_string(), |(_, en, fr)| if lang == Lang::Fr { fr } else { en }.to_string())
    };
    groups
        .iter()
        .map(|g| {
            g.iter()
                .map(|l| format!("{} {} {}", words(&l.field), op_label(t, &l.op), l.value).trim().to_string())
                .collect::<Vec<_>>()
                .join(&format!(" {} ", t.rule_and))
        })
        .collect::<Vec<_>>()
        .join(&format!(" ; {} ", t.rule_or))
}

/// Where the edited rule sits in the rule set, to tell the set's checks at the form's fields.
struct RuleAt<'a> {
    section: Section,
    index: usize,
    numbers: &'a [Vec<usize>],
}

impl RuleAt<'_> {
    /// The checks' errors on this rule at its fields (a condition's at its line number), in the
    /// reader's language; errors elsewhere in the rule set as their path says.
    fn errors(&self, lang: Lang, errors: &[FieldError]) -> Vec<String> {
        let t = lang.texts();
        let prefix = match self.section {
            Section::Fit => format!("fit.rules[{}]", self.index),
            Section::Engagement => format!("engagement.rules[{}]", self.index),
            Section::Knockout => format!("knockouts[{}]", self.index),
        };
        errors
            .iter()
            .map(|e| {
                let words = match lang {
                    Lang::Fr => {
                        super::super::i18n::message_fr(&e.message).unwrap_or_else(|| e.message.clone())
                    }
                    Lang::En => e.message.clone(),
                };
                let Some(rest) = e.field.strip_prefix(&prefix) else {
                    return field_errors_text(lang, std::slice::from_ref(e));
                };
                let field = match rest {
                    ".points" => t.points,
                    ".label" | ".reason" | ".id" => {
                        if self.section == Section::Knockout {
                            t.knockout_reason
                        } else {
                            t.form_label
                        }
                    }
                    ".daily_cap" => t.rules_daily_cap,
                    ".lifetime_cap" => t.rules_lifetime_cap,
                    ".kind" => t.rules_event_kind,
                    _ => match rest.strip_prefix(".when").and_then(|w| self.line(w)) {
                        Some(n) => {
                            return t
                                .rule_line_error
                                .replace("{n}", &n.to_string())
                                .replace("{message}", &words);
                        }
                        None => t.rule_condition,
                    },
                };
                format!("{field}{} {words}", t.colon)
            })
            .collect()
    }

    /// The page's line a path inside the condition points at: `.any[g]` picks a group,
    /// `.all[l]` a line of it (one group, or one line, is written without them).
    fn line(&self, path: &str) -> Option<usize> {
        let mut rest = path;
        let mut index = |key: &str| -> Option<usize> {
            let tail = rest.strip_prefix(key)?;
            let (n, after) = tail.split_once(']')?;
            rest = after;
            n.parse().ok()
        };
        let group = index(".any[").unwrap_or(0);
        let line = index(".all[").unwrap_or(0);
        self.numbers.get(group)?.get(line).copied()
    }
}

#[derive(Deserialize)]
pub(super) struct RuleQuery {
    pub(super) section: String,
    pub(super) index: Option<String>,
}

/// The fields suggested for a section: built-in ones and the workspace's custom fields.
async fn field_choices(state: &AppState, s: &Signed, section: Section) -> Vec<(String, String)> {
    use super::super::i18n::{CONTACT_CONDITION_FIELDS, EVENT_CONDITION_FIELDS};
    let fr = s.lang == Lang::Fr;
    let table =
        if section == Section::Engagement { EVENT_CONDITION_FIELDS } else { CONTACT_CONDITION_FIELDS };
    let mut out: Vec<(String, String)> =
        table.iter().map(|(n, en, f)| (n.to_string(), if fr { f } else { en }.to_string())).collect();
    if section != Section::Engagement {
        for f in state.app.custom_fields(s.p(), None).await.unwrap_or_default() {
            let prefix = match f.entity {
                leadgate_core::custom_field::FieldEntity::Contact => "custom.",
                leadgate_core::custom_field::FieldEntity::Company => "company.custom.",
            };
            out.push((format!("{prefix}{}", f.key), f.label));
        }
    }
    out
}

/// What the page shows for a rule: typed values, or those of the rule in force.
struct Typed {
    label: String,
    points: String,
    kind: String,
    daily_cap: String,
    lifetime_cap: String,
    groups: Option<Vec<Vec<Line>>>,
    comment: String,
}

fn typed_of(section: Section, rule: &Json) -> Typed {
    let text = |k: &str| rule[k].as_str().unwrap_or_default().to_string();
    let number = |k: &str| shown(&rule[k]);
    let when: Option<ConditionDoc> = serde_json::from_value(rule["when"].clone()).ok();
    Typed {
        label: if section == Section::Knockout {
            text("reason")
        } else {
            rule["label"].as_str().or(rule["id"].as_str()).unwrap_or_default().to_string()
        },
        points: number("points"),
        kind: text("kind"),
        daily_cap: number("daily_cap"),
        lifetime_cap: number("lifetime_cap"),
        groups: lines_of(when.as_ref()),
        comment: String::new(),
    }
}

async fn page(
    state: &AppState,
    s: &Signed,
    section: Section,
    index: Option<usize>,
    typed: Typed,
    errors: Vec<String>,
    preview: Option<PreviewView>,
) -> Response {
    let t = s.lang.texts();
    let title = match (index, section) {
        (Some(_), _) => t.rule_edit_title.replace("{label}", &s.lang.rule_words(&typed.label)),
        (None, Section::Fit) => t.rule_new_fit.into(),
        (None, Section::Engagement) => t.rule_new_engagement.into(),
        (None, Section::Knockout) => t.rule_new_knockout.into(),
    };
    let mut kinds =
        vec![Choice { value: String::new(), label: t.rule_any_kind.into(), selected: typed.kind.is_empty() }];
    kinds.extend(leadgate_core::event::BUILT_IN_KINDS.iter().map(|(k, _)| Choice {
        value: k.to_string(),
        label: super::super::i18n::event_kind(t, k),
        selected: typed.kind == *k,
    }));
    if !typed.kind.is_empty() && !kinds.iter().any(|k| k.selected) {
        kinds.push(Choice { value: typed.kind.clone(), label: typed.kind.clone(), selected: true });
    }
    let failed = !errors.is_empty();
    let fields = field_choices(state, s, section).await;
    let mut r = render(RuleEditPage {
        c: s.chrome("rules"),
        title,
        section: section.key(),
        index: index.map(|i| i.to_string()).unwrap_or_default(),
        label: typed.label,
        points: typed.points,
        kinds,
        daily_cap: typed.daily_cap,
        lifetime_cap: typed.lifetime_cap,
        explain: match section {
            Section::Fit => t.rule_when_fit,
            Section::Engagement => t.rule_when_engagement,
            Section::Knockout => t.rule_when_knockout,
        },
        nested: typed.groups.is_none(),
        groups: group_views(t, typed.groups.as_deref().unwrap_or_default(), &fields),
        errors,
        preview,
        comment: typed.comment,
    });
    if failed {
        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    r
}

/// `GET /rules/edit?section=fit&index=2` (no index: a new rule).
pub(super) async fn rule_edit_page(
    State(state): State<AppState>,
    s: Signed,
    Query(q): Query<RuleQuery>,
) -> Response {
    if let Some(r) = s.refuse_role(leadgate_core::access::Permission::ManageScoring) {
        return r;
    }
    let Some(section) = Section::parse(&q.section) else {
        return s.error(StatusCode::NOT_FOUND, s.lang.texts().not_found);
    };
    let view = match state.app.scoring_rules(s.p()).await {
        Ok(v) => v,
        Err(e) => return app_error(&s, e),
    };
    let mut doc = serde_json::to_value(&view.rules).unwrap_or_default();
    let index = match q.index.as_deref().filter(|i| !i.is_empty()) {
        None => None,
        Some(i) => match i
            .parse::<usize>()
            .ok()
            .filter(|i| *i < section.list(&mut doc).as_array().map_or(0, Vec::len))
        {
            Some(i) => Some(i),
            None => return s.error(StatusCode::NOT_FOUND, s.lang.texts().not_found),
        },
    };
    let typed = match index {
        Some(i) => typed_of(section, &section.list(&mut doc)[i]),
        None => typed_of(section, &serde_json::json!({ "points": 10 })),
    };
    page(&state, &s, section, index, typed, Vec::new(), None).await
}

/// `POST /rules/edit`: previews, saves or deletes one rule.
pub(super) async fn rule_edit_submit(
    State(state): State<AppState>,
    s: Signed,
    body: axum::body::Bytes,
) -> Response {
    let form = match s.posted(&body, leadgate_core::access::Permission::ManageScoring) {
        Ok(form) => form,
        Err(refused) => return *refused,
    };
    let t = s.lang.texts();
    let Some(section) = Section::parse(&form.value("section")) else {
        return s.error(StatusCode::NOT_FOUND, t.not_found);
    };
    let view = match state.app.scoring_rules(s.p()).await {
        Ok(v) => v,
        Err(e) => return app_error(&s, e),
    };
    let mut doc = serde_json::to_value(&view.rules).unwrap_or_default();
    let count = section.list(&mut doc).as_array().map_or(0, Vec::len);
    let index = match form.value("index") {
        i if i.is_empty() => None,
        i => match i.parse::<usize>().ok().filter(|i| *i < count) {
            Some(i) => Some(i),
            // The rule was removed meanwhile (or the link is wrong).
            None => return s.error(StatusCode::NOT_FOUND, t.not_found),
        },
    };
    let action = form.value("action");
    if action == "delete" && index.is_none() {
        // A rule not saved yet has nothing to delete.
        return Redirect::to("/rules").into_response();
    }
    let in_force = index.map(|i| section.list(&mut doc)[i].clone());
    let lines = lines_from_form(&form);
    // A condition the form could not show is kept as it is.
    let nested = in_force.as_ref().is_some_and(|r| typed_of(section, r).groups.is_none());
    let typed = Typed {
        label: form.value("label"),
        points: form.value("points"),
        kind: form.value("kind"),
        daily_cap: form.value("daily_cap"),
        lifetime_cap: form.value("lifetime_cap"),
        groups: if nested { None } else { Some(lines.clone()) },
        comment: form.value("comment"),
    };
    if action == "more" {
        // More blank lines and a blank group: the form as typed, nothing checked yet.
        return page(&state, &s, section, index, typed, Vec::new(), None).await;
    }
    let mut bad = Vec::new();
    // The page's number of each line, by group, as the condition is written (empty groups
    // left out), to name a line when the rule set's checks refuse it.
    let mut numbers: Vec<Vec<usize>> = Vec::new();
    let mut rule = in_force.clone().unwrap_or_else(|| serde_json::json!({}));
    if action == "delete" {
        if let (Some(i), Some(list)) = (index, section.list(&mut doc).as_array_mut()) {
            list.remove(i);
        }
    } else {
        if !nested {
            let mut n = 0;
            let mut groups = Vec::new();
            for g in &lines {
                let mut clauses = Vec::new();
                let mut at = Vec::new();
                for line in g {
                    n += 1;
                    match clause_of(t, line, n) {
                        Ok(c) => {
                            clauses.push(c);
                            at.push(n);
                        }
                        Err(e) => bad.push(e),
                    }
                }
                if !clauses.is_empty() {
                    numbers.push(at);
                }
                groups.push(clauses);
            }
            match ConditionDoc::from_groups(groups) {
                Some(when) => rule["when"] = serde_json::to_value(when).unwrap_or_default(),
                None if section == Section::Engagement => {
                    if let Some(o) = rule.as_object_mut() {
                        o.remove("when");
                    }
                }
                None if bad.is_empty() => bad.push(t.rule_needs_line.to_string()),
                None => {}
            }
        }
        let label = typed.label.clone();
        let name = if section == Section::Knockout { "reason" } else { "label" };
        rule[name] = Json::String(label.clone());
        if rule["id"].as_str().is_none_or(str::is_empty) {
            let id = view.rules.new_rule_id(&label);
            rule["id"] = Json::String(id);
        }
        let mut number = |key: &str, label: &str, optional: bool| match form_number(&form.value(key)) {
            Ok(Some(x)) => rule[key] = x,
            Ok(None) if optional => {
                if let Some(o) = rule.as_object_mut() {
                    o.remove(key);
                }
            }
            Ok(None) | Err(()) => bad.push(format!("{label}{} {}", t.colon, t.not_a_number)),
        };
        if section != Section::Knockout {
            number("points", t.points, false);
        }
        if section == Section::Engagement {
            number("daily_cap", t.rules_daily_cap, true);
            number("lifetime_cap", t.rules_lifetime_cap, true);
            match typed.kind.as_str() {
                "" => {
                    if let Some(o) = rule.as_object_mut() {
                        o.remove("kind");
                    }
                }
                k => rule["kind"] = Json::String(k.to_string()),
            }
        }
        match (index, section.list(&mut doc).as_array_mut()) {
            (Some(i), Some(list)) => list[i] = rule,
            (None, Some(list)) => list.push(rule),
            (_, None) => *section.list(&mut doc) = Json::Array(vec![rule]),
        }
    }
    if !bad.is_empty() {
        return page(&state, &s, section, index, typed, bad, None).await;
    }
    let text = serde_json::to_string(&doc).unwrap_or_default();
    let at = RuleAt { section, index: index.unwrap_or(count), numbers: &numbers };
    let rules = match leadgate_core::scoring::ScoringRules::from_json(&text) {
        Ok(r) => r,
        Err(leadgate_core::scoring::RulesError::Invalid(e)) => {
            let errors = at.errors(s.lang, &e.errors);
            return page(&state, &s, section, index, typed, errors, None).await;
        }
        Err(_) => {
            let errors = compile_rules(s.lang, &text).err().unwrap_or_default();
            return page(&state, &s, section, index, typed, errors, None).await;
        }
    };
    if action == "save" || action == "delete" {
        let comment = Some(typed.comment.trim()).filter(|c| !c.is_empty());
        return match state.app.update_scoring_rules(s.p(), rules.doc.clone(), comment).await {
            Ok(change) => Redirect::to(&format!("/rules?job={}", change.rescore_job)).into_response(),
            Err(AppError::Invalid(e)) => {
                let errors = at.errors(s.lang, &e.errors);
                page(&state, &s, section, index, typed, errors, None).await
            }
            Err(e) => app_error(&s, e),
        };
    }
    match preview_of(&state, &s, rules).await {
        Ok(p) => page(&state, &s, section, index, typed, Vec::new(), Some(p)).await,
        Err(e) => app_error(&s, e),
    }
}
