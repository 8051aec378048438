//! The storage test suite. Every test here runs twice, on SQLite and on PostgreSQL
//! (`storage_tests!`), because the two backends must behave identically.

use std::collections::HashSet;

use jiff::{SignedDuration, Timestamp};
use leadgate_core::access::Role;
use leadgate_core::company::CompanyDraft;
use leadgate_core::contact::ContactDraft;
use leadgate_core::custom_field::{CustomFieldDefinition, FieldEntity, FieldType};
use leadgate_core::email::Email;
use leadgate_core::event::{Event, EventKind};
use leadgate_core::filter::{CompanyFilter, ContactFilter};
use leadgate_core::ids::{ApiKeyId, CompanyId, ContactId, EventId, JobId, UserId};
use leadgate_core::lifecycle::LifecycleStage;
use leadgate_core::lifecycle::{Actor, Transition};
use leadgate_core::pipeline::DealStage;
use leadgate_core::qualification::{Answer, ChecklistItem, Criterion};
use leadgate_core::scoring::rules::EventNeeds;
use leadgate_core::scoring::{FitGrade, Points, ScoreSummary, Temperature};
use leadgate_store::contacts::Touch;
use leadgate_store::cursor::Cursor;
use leadgate_store::idempotency::StoredResponse;
use leadgate_store::imports::ContactToInsert;
use leadgate_store::jobs::{JobState, Lease, NewJob};
use leadgate_store::scoring::{ContactSet, ScoreUpdate};
use leadgate_store::{Store, StoreError, storage_tests};
use serde_json::json;
use uuid::Uuid;

#[path = "storage/nurture.rs"]
mod nurture;

fn t(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn new_id() -> Uuid {
    Uuid::now_v7()
}

async fn add_contact(store: &Store, draft: ContactDraft, now: Timestamp) -> leadgate_core::contact::Contact {
    let mut tx = store.begin().await.unwrap();
    let c = tx.insert_contact(ContactId(new_id()), draft.validate().unwrap(), now).await.unwrap();
    tx.commit().await.unwrap();
    c
}

fn draft(email: &str) -> ContactDraft {
    ContactDraft { email: Some(email.into()), ..Default::default() }
}

fn event(contact: ContactId, kind: EventKind, at: Timestamp) -> Event {
    Event {
        id: EventId(new_id()),
        contact_id: contact,
        kind,
        occurred_at: at,
        received_at: at,
        source: Some("web".into()),
        campaign: None,
        properties: json!({"url": "/pricing", "tags": ["a", "é"]}).as_object().unwrap().clone(),
    }
}

storage_tests! {
    async fn contacts_round_trip_with_every_field(store) {
        let now = t("2026-03-01T10:00:00.123456Z");
        let d = ContactDraft {
            email: Some("Ada@Example.com".into()),
            first_name: Some("Ada".into()),
            last_name: Some("Lovelace — 数学".into()),
            phone: Some("+44 20 7946 0000".into()),
            job_title: Some("CTO".into()),
            country: Some("United Kingdom".into()),
            city: Some("London".into()),
            external_id: Some("crm-1".into()),
            source: Some("trade fair".into()),
            campaign: Some("Salon 2026".into()),
            do_not_call: Some(true),
            custom: Some(json!({"budget": 1200.5}).as_object().unwrap().clone()),
            ..Default::default()
        };
        let created = add_contact(&store, d, now).await;
        let mut s = store.read().await.unwrap();
        let read = s.get_contact(created.id).await.unwrap().expect("stored");
        assert_eq!(read, created);
        assert_eq!(read.created_at, now, "microseconds survive the round trip");
        assert_eq!(read.last_touch_source.as_deref(), Some("trade fair"));
        assert!(read.do_not_call && !read.do_not_email);
        let by_email = s.find_contact_by_email(&Email::parse("ADA@example.COM").unwrap()).await.unwrap();
        assert_eq!(by_email.map(|c| c.id), Some(created.id));
        let by_ext = s.find_contact_by_external_id("crm-1").await.unwrap();
        assert_eq!(by_ext.map(|c| c.id), Some(created.id));
        assert!(s.get_contact(ContactId(new_id())).await.unwrap().is_none());
    }

    async fn email_is_unique_case_insensitively(store) {
        let now = t("2026-03-01T10:00:00Z");
        add_contact(&store, draft("ada@example.com"), now).await;
        let mut tx = store.begin().await.unwrap();
        let err = tx
            .insert_contact(ContactId(new_id()), draft("ADA@Example.com").validate().unwrap(), now)
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Conflict { field: "email" }), "{err:?}");
        drop(tx);
        // The failed transaction left nothing behind and the store is still usable.
        add_contact(&store, draft("grace@example.com"), now).await;
        let mut s = store.read().await.unwrap();
        assert_eq!(s.count_contacts().await.unwrap(), 2);
    }

    async fn external_id_is_unique(store) {
        let now = t("2026-03-01T10:00:00Z");
        let d = ContactDraft { external_id: Some("X-1".into()), ..Default::default() };
        add_contact(&store, d.clone(), now).await;
        let mut tx = store.begin().await.unwrap();
        let err = tx.insert_contact(ContactId(new_id()), d.validate().unwrap(), now).await.unwrap_err();
        assert!(matches!(err, StoreError::Conflict { field: "external_id" }), "{err:?}");
    }

    async fn update_and_delete_contacts(store) {
        let now = t("2026-03-01T10:00:00Z");
        let c = add_contact(&store, draft("a@example.com"), now).await;
        let mut changed = c.clone();
        changed.first_name = Some("Ada".into());
        changed.email = Some(Email::parse("ada@example.org").unwrap());
        changed.updated_at = now + SignedDuration::from_secs(5);
        let mut tx = store.begin().await.unwrap();
        assert!(tx.update_contact(&changed).await.unwrap());
        tx.commit().await.unwrap();
        let mut s = store.read().await.unwrap();
        assert_eq!(s.get_contact(c.id).await.unwrap(), Some(changed.clone()));
        // The old e-mail is free again, the new one is found.
        assert!(s.find_contact_by_email(&Email::parse("a@example.com").unwrap()).await.unwrap().is_none());
        let mut tx = store.begin().await.unwrap();
        assert!(tx.delete_contact(c.id).await.unwrap());
        assert!(!tx.delete_contact(c.id).await.unwrap());
        assert!(!tx.update_contact(&changed).await.unwrap());
        tx.commit().await.unwrap();
    }

    async fn contacts_are_filtered_and_paged(store) {
        let base = t("2026-01-01T00:00:00Z");
        let mut tx = store.begin().await.unwrap();
        let acme = tx
            .insert_company(CompanyId(new_id()), CompanyDraft { name: "Acme".into(), ..Default::default() }.validate().unwrap(), base)
            .await
            .unwrap();
        for i in 0..25 {
            let d = ContactDraft {
                email: Some(format!("person{i}@example.com")),
                first_name: Some(if i % 5 == 0 { "Zoë".into() } else { format!("P{i}") }),
                source: Some(if i % 2 == 0 { "Google".into() } else { "Referral".into() }),
                company_id: if i < 10 { Some(acme.id) } else { None },
                lifecycle_stage: Some(if i % 3 == 0 { LifecycleStage::Customer } else { LifecycleStage::Lead }),
                ..Default::default()
            };
            tx.insert_contact(ContactId(new_id()), d.validate().unwrap(), base + SignedDuration::from_hours(i)).await.unwrap();
        }
        tx.commit().await.unwrap();
        let mut s = store.read().await.unwrap();

        // Pages of 10 cover everything once, in creation order.
        let mut seen = Vec::new();
        let mut cursor = None;
        loop {
            let page = s.list_contacts(&ContactFilter::default(), 10, cursor).await.unwrap();
            seen.extend(page.items.iter().map(|c| c.id));
            match page.next_cursor {
                Some(c) => cursor = Some(Cursor::decode(&c).unwrap()),
                None => break,
            }
        }
        assert_eq!(seen.len(), 25);
        let mut sorted = seen.clone();
        sorted.sort();
        assert_eq!(seen, sorted);

        let count = async |f: ContactFilter| {
            let mut s = store.read().await.unwrap();
            s.list_contacts(&f, 100, None).await.unwrap().items.len()
        };
        assert_eq!(count(ContactFilter { source: Some("Google".into()), ..Default::default() }).await, 13);
        assert_eq!(count(ContactFilter { company_id: Some(acme.id), ..Default::default() }).await, 10);
        assert_eq!(count(ContactFilter { lifecycle_stage: Some(LifecycleStage::Customer), ..Default::default() }).await, 9);
        assert_eq!(count(ContactFilter { email: Some("PERSON7@example.com".into()), ..Default::default() }).await, 1);
        assert_eq!(count(ContactFilter { text: Some("zoë".into()), ..Default::default() }).await, 5);
        assert_eq!(count(ContactFilter { text: Some("PERSON1".into()), ..Default::default() }).await, 11);
        // LIKE wildcards typed by a user are matched literally.
        assert_eq!(count(ContactFilter { text: Some("%".into()), ..Default::default() }).await, 0);
        assert_eq!(count(ContactFilter { text: Some("_".into()), ..Default::default() }).await, 0);
        assert_eq!(
            count(ContactFilter {
                created_after: Some(base + SignedDuration::from_hours(5)),
                created_before: Some(base + SignedDuration::from_hours(10)),
                ..Default::default()
            })
            .await,
            5
        );
        assert_eq!(
            count(ContactFilter { source: Some("Google".into()), company_id: Some(acme.id), ..Default::default() }).await,
            5
        );
    }

    async fn companies_round_trip_and_filter(store) {
        let now = t("2026-02-01T00:00:00Z");
        let mut tx = store.begin().await.unwrap();
        let d = CompanyDraft {
            name: "Acme Corporation".into(),
            domain: Some("https://www.acme.example/about".into()),
            sector: Some("Technology".into()),
            employees: Some(2822),
            annual_revenue: Some(1_100.04e6),
            country: Some("United States".into()),
            external_id: Some("acme".into()),
            custom: None,
        };
        let acme = tx.insert_company(CompanyId(new_id()), d.validate().unwrap(), now).await.unwrap();
        let beta = CompanyDraft { name: "Betasoloin".into(), sector: Some("medical".into()), ..Default::default() };
        tx.insert_company(CompanyId(new_id()), beta.validate().unwrap(), now).await.unwrap();
        tx.commit().await.unwrap();
        let mut tx = store.begin().await.unwrap();
        let same_external = CompanyDraft { name: "Other".into(), external_id: Some("acme".into()), ..Default::default() };
        let err = tx.insert_company(CompanyId(new_id()), same_external.validate().unwrap(), now).await.unwrap_err();
        assert!(matches!(err, StoreError::Conflict { field: "external_id" }));
        drop(tx);
        let mut s = store.read().await.unwrap();
        let read = s.get_company(acme.id).await.unwrap().unwrap();
        assert_eq!(read, acme);
        assert_eq!(read.domain.as_deref(), Some("acme.example"));
        let techs = s.list_companies(&CompanyFilter { sector: Some("TECHNOLOGY".into()), ..Default::default() }, 10, None).await.unwrap();
        assert_eq!(techs.items.len(), 1);
        let text = s.list_companies(&CompanyFilter { text: Some("acme.ex".into()), ..Default::default() }, 10, None).await.unwrap();
        assert_eq!(text.items.len(), 1);
        let found = s.find_company_by_external_id("acme").await.unwrap();
        assert_eq!(found.map(|c| c.id), Some(acme.id));
    }

    async fn deleting_a_company_keeps_its_contacts(store) {
        let now = t("2026-02-01T00:00:00Z");
        let mut tx = store.begin().await.unwrap();
        let co = tx.insert_company(CompanyId(new_id()), CompanyDraft { name: "Gone".into(), ..Default::default() }.validate().unwrap(), now).await.unwrap();
        let c = tx.insert_contact(ContactId(new_id()), ContactDraft { company_id: Some(co.id), ..draft("x@gone.example") }.validate().unwrap(), now).await.unwrap();
        tx.commit().await.unwrap();
        let mut tx = store.begin().await.unwrap();
        assert!(tx.delete_company(co.id).await.unwrap());
        tx.commit().await.unwrap();
        let mut s = store.read().await.unwrap();
        let after = s.get_contact(c.id).await.unwrap().expect("contact kept");
        assert_eq!(after.company_id, None);
    }

    async fn a_contact_cannot_point_at_a_missing_company(store) {
        let now = t("2026-02-01T00:00:00Z");
        let mut tx = store.begin().await.unwrap();
        let err = tx
            .insert_contact(ContactId(new_id()), ContactDraft { company_id: Some(CompanyId(new_id())), ..draft("x@y.example") }.validate().unwrap(), now)
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::MissingReference), "{err:?}");
    }

    async fn events_insert_once_and_page_newest_first(store) {
        let base = t("2026-04-01T00:00:00Z");
        let c = add_contact(&store, draft("ev@example.com"), base).await;
        let events: Vec<Event> = (0..1200)
            .map(|i| event(c.id, if i % 2 == 0 { EventKind::PageView } else { EventKind::Custom("podcast_listened".into()) }, base + SignedDuration::from_secs(i / 3)))
            .collect();
        let mut tx = store.begin().await.unwrap();
        let inserted = tx.insert_events(&events).await.unwrap();
        assert_eq!(inserted.len(), 1200);
        // Same ids again: nothing new.
        let again = tx.insert_events(&events[100..300]).await.unwrap();
        assert!(again.is_empty());
        tx.commit().await.unwrap();

        let mut s = store.read().await.unwrap();
        assert_eq!(s.count_events().await.unwrap(), 1200);
        let fetched = s.get_events(&[events[7].id, EventId(new_id())]).await.unwrap();
        assert_eq!(fetched, vec![events[7].clone()]);

        // Newest first, ties on occurred_at broken by id, every event exactly once across pages.
        let mut seen = Vec::new();
        let mut cursor = None;
        loop {
            let page = s.timeline(c.id, 250, cursor).await.unwrap();
            seen.extend(page.items.iter().map(|e| (e.occurred_at, e.id)));
            match page.next_cursor {
                Some(next) => cursor = Some(Cursor::decode(&next).unwrap()),
                None => break,
            }
        }
        assert_eq!(seen.len(), 1200);
        let mut expected = seen.clone();
        expected.sort_by(|a, b| b.cmp(a));
        assert_eq!(seen, expected);
        assert_eq!(seen.iter().map(|(_, id)| *id).collect::<HashSet<_>>().len(), 1200);

        let all = s.events_of_contact(c.id).await.unwrap();
        assert_eq!(all.len(), 1200);
        assert!(all.windows(2).all(|w| (w[0].occurred_at, w[0].id) <= (w[1].occurred_at, w[1].id)));
    }

    async fn deleting_a_contact_deletes_its_timeline(store) {
        let now = t("2026-04-01T00:00:00Z");
        let c = add_contact(&store, draft("gone@example.com"), now).await;
        let mut tx = store.begin().await.unwrap();
        tx.insert_events(&[event(c.id, EventKind::QuoteRequest, now)]).await.unwrap();
        tx.delete_contact(c.id).await.unwrap();
        tx.commit().await.unwrap();
        let mut s = store.read().await.unwrap();
        assert_eq!(s.count_events().await.unwrap(), 0);
    }

    async fn contacts_are_found_by_email_keys_and_ids(store) {
        let now = t("2026-04-01T00:00:00Z");
        let a = add_contact(&store, draft("A@x.example"), now).await;
        let b = add_contact(&store, draft("b@x.example"), now).await;
        let mut s = store.read().await.unwrap();
        let found = s.contact_ids_by_email_keys(&["a@x.example".into(), "b@x.example".into(), "c@x.example".into()]).await.unwrap();
        assert_eq!(found.len(), 2);
        assert_eq!(found["a@x.example"], a.id);
        let ids = s.existing_contact_ids(&[a.id, b.id, ContactId(new_id())]).await.unwrap();
        assert_eq!(ids, HashSet::from([a.id, b.id]));
    }

    async fn last_touch_only_moves_forward(store) {
        let now = t("2026-04-01T00:00:00Z");
        let c = add_contact(&store, ContactDraft { source: Some("Google".into()), ..draft("t@x.example") }, now).await;
        let other = add_contact(&store, draft("o@x.example"), now).await;
        let mut tx = store.begin().await.unwrap();
        let newer = Touch { contact: c.id, source: Some("Newsletter"), campaign: Some("Spring"), at: now + SignedDuration::from_hours(2) };
        let for_other = Touch { contact: other.id, source: Some("Ads"), campaign: None, at: now };
        tx.record_last_touches(&[newer, for_other], now).await.unwrap();
        let older = Touch { contact: c.id, source: Some("Late"), campaign: None, at: now + SignedDuration::from_hours(1) };
        tx.record_last_touches(&[older], now).await.unwrap();
        tx.commit().await.unwrap();
        let mut s = store.read().await.unwrap();
        let after = s.get_contact(c.id).await.unwrap().unwrap();
        assert_eq!(after.source.as_deref(), Some("Google"), "first touch never changes");
        assert_eq!(after.last_touch_source.as_deref(), Some("Newsletter"));
        assert_eq!(after.last_touch_campaign.as_deref(), Some("Spring"));
        let other = s.get_contact(other.id).await.unwrap().unwrap();
        assert_eq!(other.last_touch_source.as_deref(), Some("Ads"));
    }

    async fn custom_fields_are_declared_once_per_entity(store) {
        let now = t("2026-04-01T00:00:00Z");
        let def = CustomFieldDefinition { entity: FieldEntity::Contact, key: "plan".into(), label: "Plan".into(), field_type: FieldType::Choice, choices: vec!["basic".into(), "pro".into()] };
        let mut tx = store.begin().await.unwrap();
        tx.insert_custom_field(&def, now).await.unwrap();
        tx.insert_custom_field(&CustomFieldDefinition { entity: FieldEntity::Company, ..def.clone() }, now).await.unwrap();
        let err = tx.insert_custom_field(&def, now).await.unwrap_err();
        assert!(matches!(err, StoreError::Conflict { field: "key" }), "{err:?}");
        drop(tx);
        let mut tx = store.begin().await.unwrap();
        tx.insert_custom_field(&def, now).await.unwrap();
        tx.commit().await.unwrap();
        let mut s = store.read().await.unwrap();
        assert_eq!(s.custom_fields(Some(FieldEntity::Contact)).await.unwrap(), vec![def.clone()]);
        assert_eq!(s.custom_fields(None).await.unwrap().len(), 1);
        let mut tx = store.begin().await.unwrap();
        assert!(tx.delete_custom_field(FieldEntity::Contact, "plan").await.unwrap());
        assert!(!tx.delete_custom_field(FieldEntity::Contact, "plan").await.unwrap());
        tx.commit().await.unwrap();
    }

    async fn users_and_api_keys(store) {
        let now = t("2026-04-01T00:00:00Z");
        let mut tx = store.begin().await.unwrap();
        assert!(!tx.has_admin().await.unwrap());
        let admin = tx.insert_user(UserId(new_id()), &Email::parse("Admin@X.example").unwrap(), Some("Admin"), Role::Admin, None, now).await.unwrap();
        let err = tx.insert_user(UserId(new_id()), &Email::parse("admin@x.example").unwrap(), None, Role::Sales, None, now).await.unwrap_err();
        assert!(matches!(err, StoreError::Conflict { field: "email" }));
        drop(tx);
        let mut tx = store.begin().await.unwrap();
        let admin = tx.insert_user(admin.id, &Email::parse("Admin@X.example").unwrap(), Some("Admin"), Role::Admin, None, now).await.unwrap();
        let key = tx.insert_api_key(ApiKeyId(new_id()), admin.id, "ci", "abcd1234", &[1, 2, 3, 255], now).await.unwrap();
        tx.commit().await.unwrap();
        let mut s = store.read().await.unwrap();
        assert!(s.has_admin().await.unwrap());
        let stored = s.find_api_key("abcd1234").await.unwrap().expect("found by prefix");
        assert_eq!(stored.key, key);
        assert_eq!(stored.secret_hash, vec![1, 2, 3, 255]);
        assert_eq!(stored.user, admin);
        assert!(s.find_api_key("nope").await.unwrap().is_none());
        let mut tx = store.begin().await.unwrap();
        tx.touch_api_key(key.id, now + SignedDuration::from_secs(10)).await.unwrap();
        assert!(tx.revoke_api_key(key.id, now + SignedDuration::from_secs(20)).await.unwrap());
        assert!(tx.revoke_api_key(key.id, now + SignedDuration::from_secs(30)).await.unwrap());
        tx.commit().await.unwrap();
        let keys = s.list_api_keys(Some(admin.id)).await.unwrap();
        assert_eq!(keys[0].last_used_at, Some(now + SignedDuration::from_secs(10)));
        assert_eq!(keys[0].revoked_at, Some(now + SignedDuration::from_secs(20)), "first revocation kept");
        assert_eq!(s.list_users().await.unwrap(), vec![admin]);
    }

    async fn idempotent_responses_are_kept_per_user(store) {
        let now = t("2026-04-01T00:00:00Z");
        let user = UserId(new_id());
        let resp = StoredResponse { operation: "events.batch".into(), request_hash: "h1".into(), status: 201, body: "{\"ok\":true}".into() };
        let mut tx = store.begin().await.unwrap();
        tx.store_idempotent_response(user, "k1", &resp, now).await.unwrap();
        tx.commit().await.unwrap();
        let mut s = store.read().await.unwrap();
        assert_eq!(s.find_idempotent_response(user, "k1").await.unwrap(), Some(resp));
        assert_eq!(s.find_idempotent_response(UserId(new_id()), "k1").await.unwrap(), None);
        let mut tx = store.begin().await.unwrap();
        assert_eq!(tx.purge_idempotency_keys(now + SignedDuration::from_secs(1)).await.unwrap(), 1);
        tx.commit().await.unwrap();
    }

    async fn jobs_are_claimed_once_and_reclaimed_after_lease_expiry(store) {
        let now = t("2026-05-01T00:00:00Z");
        let mut tx = store.begin().await.unwrap();
        let due = tx.enqueue_job(NewJob { id: JobId(new_id()), kind: "import".into(), payload: json!({"file": "a.csv"}), run_at: now, max_attempts: 3, created_by: None }, now).await.unwrap();
        tx.enqueue_job(NewJob { id: JobId(new_id()), kind: "import".into(), payload: json!({}), run_at: now + SignedDuration::from_hours(1), max_attempts: 3, created_by: None }, now).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(due.state, JobState::Queued);

        let lease = now + SignedDuration::from_secs(60);
        let mut tx = store.begin().await.unwrap();
        assert!(tx.claim_job("w1", &["other"], lease, now).await.unwrap().is_none(), "kind filter");
        let claimed = tx.claim_job("w1", &["import"], lease, now).await.unwrap().expect("due job claimed");
        assert_eq!(claimed.id, due.id);
        assert_eq!(claimed.state, JobState::Running);
        assert_eq!(claimed.attempts, 1);
        assert!(tx.claim_job("w2", &["import"], lease, now).await.unwrap().is_none(), "claimed once, the other is not due");
        tx.commit().await.unwrap();

        // Progress extends the lease; a stranger cannot report progress.
        let mut tx = store.begin().await.unwrap();
        let w1 = Lease::of(&claimed, "w1");
        let stranger = Lease { owner: "w2".into(), ..w1.clone() };
        assert!(tx.job_progress(&w1, 50, Some(100), Some("c50"), now + SignedDuration::from_secs(120), now).await.unwrap());
        assert!(!tx.job_progress(&stranger, 60, Some(100), None, now + SignedDuration::from_secs(120), now).await.unwrap());
        tx.commit().await.unwrap();

        // The worker dies: after the lease expires another takes the job over, with its progress.
        let later = now + SignedDuration::from_secs(121);
        let mut tx = store.begin().await.unwrap();
        let taken = tx.claim_job("w2", &["import"], later + SignedDuration::from_secs(60), later).await.unwrap().expect("reclaimed");
        assert_eq!(taken.id, due.id);
        assert_eq!(taken.attempts, 2);
        assert_eq!(taken.progress_done, 50);
        assert_eq!(taken.checkpoint.as_deref(), Some("c50"), "resumes where it stopped");
        assert!(!tx.finish_job(&w1, &json!({}), later).await.unwrap(), "the old owner lost it");
        assert!(!tx.extend_lease(&w1, later + SignedDuration::from_secs(60), later).await.unwrap());
        assert!(tx.finish_job(&Lease::of(&taken, "w2"), &json!({"created": 100}), later).await.unwrap());
        tx.commit().await.unwrap();
        let mut s = store.read().await.unwrap();
        let done = s.get_job(due.id).await.unwrap().unwrap();
        assert_eq!(done.state, JobState::Succeeded);
        assert_eq!(done.result, Some(json!({"created": 100})));
        assert_eq!(done.finished_at, Some(later));
        let counts = s.job_counts().await.unwrap();
        assert!(counts.contains(&(JobState::Succeeded, 1)) && counts.contains(&(JobState::Queued, 1)));
    }

    async fn a_worker_paused_past_its_lease_writes_nothing_even_when_it_claims_again(store) {
        let now = t("2026-05-01T00:00:00Z");
        let mut tx = store.begin().await.unwrap();
        let job = tx.enqueue_job(NewJob { id: JobId(new_id()), kind: "import".into(), payload: json!({}), run_at: now, max_attempts: 5, created_by: None }, now).await.unwrap();
        let first = tx.claim_job("w", &["import"], now + SignedDuration::from_secs(10), now).await.unwrap().unwrap();
        tx.commit().await.unwrap();
        let paused = Lease::of(&first, "w");
        // The same worker (same name) claims the job again once its lease ran out: a new attempt,
        // a new token. The paused step of the first attempt is fenced out.
        let later = now + SignedDuration::from_secs(11);
        let mut tx = store.begin().await.unwrap();
        let again = tx.claim_job("w", &["import"], later + SignedDuration::from_secs(10), later).await.unwrap().unwrap();
        assert_eq!((again.id, again.attempts), (job.id, 2));
        assert!(!tx.job_progress(&paused, 99, None, Some("stale"), later + SignedDuration::from_secs(60), later).await.unwrap());
        assert!(!tx.finish_job(&paused, &json!({"stale": true}), later).await.unwrap());
        assert!(!tx.fail_job(&paused, "stale", None, later).await.unwrap());
        assert!(!tx.park_job(&paused, "stale", later).await.unwrap());
        let current = Lease::of(&again, "w");
        assert!(tx.extend_lease(&current, later + SignedDuration::from_secs(60), later).await.unwrap());
        assert!(tx.finish_job(&current, &json!({"ok": true}), later).await.unwrap());
        tx.commit().await.unwrap();
        let done = store.read().await.unwrap().get_job(job.id).await.unwrap().unwrap();
        assert_eq!((done.state, done.result, done.checkpoint), (JobState::Succeeded, Some(json!({"ok": true})), None));
    }

    async fn failed_jobs_retry_then_give_up(store) {
        let now = t("2026-05-01T00:00:00Z");
        let mut tx = store.begin().await.unwrap();
        let job = tx.enqueue_job(NewJob { id: JobId(new_id()), kind: "deliver".into(), payload: json!({}), run_at: now, max_attempts: 2, created_by: None }, now).await.unwrap();
        let lease = now + SignedDuration::from_secs(30);
        let first = tx.claim_job("w", &["deliver"], lease, now).await.unwrap().unwrap();
        let retry_at = now + SignedDuration::from_secs(10);
        assert!(tx.fail_job(&Lease::of(&first, "w"), "timeout", Some(retry_at), now).await.unwrap());
        assert!(tx.claim_job("w", &["deliver"], lease, now).await.unwrap().is_none(), "not before retry_at");
        let second = tx.claim_job("w", &["deliver"], lease, retry_at).await.unwrap().expect("due again");
        assert!(tx.fail_job(&Lease::of(&second, "w"), "refused", None, retry_at).await.unwrap());
        tx.commit().await.unwrap();
        let mut s = store.read().await.unwrap();
        let failed = s.get_job(job.id).await.unwrap().unwrap();
        assert_eq!(failed.state, JobState::Failed);
        assert_eq!(failed.last_error.as_deref(), Some("refused"));
        assert_eq!(failed.attempts, 2);
    }

    async fn concurrent_claimers_never_share_a_job(store) {
        let now = t("2026-05-01T00:00:00Z");
        let mut tx = store.begin().await.unwrap();
        for _ in 0..40 {
            tx.enqueue_job(NewJob { id: JobId(new_id()), kind: "k".into(), payload: json!({}), run_at: now, max_attempts: 1, created_by: None }, now).await.unwrap();
        }
        tx.commit().await.unwrap();
        let mut workers = Vec::new();
        for w in 0..4 {
            let store = store.clone();
            workers.push(tokio::spawn(async move {
                let owner = format!("w{w}");
                let mut mine = Vec::new();
                loop {
                    let mut tx = store.begin().await.unwrap();
                    let job = tx.claim_job(&owner, &["k"], now + SignedDuration::from_secs(60), now).await.unwrap();
                    tx.commit().await.unwrap();
                    match job {
                        Some(j) => mine.push(j.id),
                        None => break,
                    }
                }
                mine
            }));
        }
        let mut all = Vec::new();
        for w in workers {
            all.extend(w.await.unwrap());
        }
        assert_eq!(all.len(), 40);
        assert_eq!(all.iter().collect::<HashSet<_>>().len(), 40, "no job claimed twice");
    }

    async fn reopening_is_harmless(store) {
        // Migrations already applied are skipped; the schema version is the latest.
        let mut s = store.read().await.unwrap();
        let v: Option<i64> = s.fetch_one("SELECT MAX(version) FROM schema_migrations", vec![]).await.unwrap().get(0).unwrap();
        assert_eq!(v, Some(leadgate_store::latest_version()));
        store.ping().await.unwrap();
    }
}

fn summary(version: i64, engagement: i64, at: Timestamp) -> ScoreSummary {
    ScoreSummary {
        fit_points: Points::from_hundredths(4550),
        fit_grade: FitGrade::B,
        engagement: Points::from_hundredths(engagement),
        temperature: Temperature::Warm,
        temperature_reason: "engagement 25.00 is at or above the warm threshold 20.00".into(),
        knockouts: vec!["student".into(), "competitor".into()],
        rules_version: version,
        scored_at: at,
    }
}

storage_tests! {
    async fn a_saved_view_holds_leads_added_by_hand_and_forgets_the_erased(store) {
        let now = t("2026-06-01T00:00:00Z");
        let a = add_contact(&store, draft("a@list.example"), now).await;
        let b = add_contact(&store, draft("b@list.example"), now).await;
        let outside = add_contact(&store, draft("c@list.example"), now).await;
        let mut tx = store.begin().await.unwrap();
        let user = tx.insert_user(UserId(new_id()), &Email::parse("rep@list.example").unwrap(), None, Role::Sales, None, now).await.unwrap();
        let view = new_id();
        tx.save_view(view, user.id, "Salon 2027", &format!("view={view}"), now).await.unwrap();
        let unknown = ContactId(new_id());
        assert_eq!(tx.add_to_view(view, &[a.id, b.id, unknown], now).await.unwrap(), 2, "an unknown id is not added");
        assert_eq!(tx.add_to_view(view, &[a.id], now).await.unwrap(), 0, "already in");
        assert_eq!(tx.view_named(user.id, "Salon 2027").await.unwrap().map(|v| v.id), Some(view));
        tx.commit().await.unwrap();
        let filter = leadgate_store::web::InboxFilter { view: Some(view), ..Default::default() };
        let mut s = store.read().await.unwrap();
        let mut shown: Vec<ContactId> = s.inbox(&filter, 50, 0).await.unwrap().iter().map(|r| r.id).collect();
        shown.sort();
        let mut expected = vec![a.id, b.id];
        expected.sort();
        assert_eq!(shown, expected, "{outside:?} is not in the view");
        assert_eq!(s.inbox_count(&filter).await.unwrap(), 2);
        drop(s);
        let mut tx = store.begin().await.unwrap();
        tx.erase_contacts(&[a.id], now).await.unwrap();
        tx.commit().await.unwrap();
        let mut s = store.read().await.unwrap();
        let shown: Vec<ContactId> = s.inbox(&filter, 50, 0).await.unwrap().iter().map(|r| r.id).collect();
        assert_eq!(shown, vec![b.id], "an erased person leaves the views they were in");
        drop(s);
        let mut tx = store.begin().await.unwrap();
        assert!(tx.delete_view(view, user.id).await.unwrap());
        tx.commit().await.unwrap();
        let mut s = store.read().await.unwrap();
        assert!(s.inbox(&filter, 50, 0).await.unwrap().is_empty(), "the members go with their view");
    }

    async fn the_inbox_sorted_by_any_column_pages_through_every_open_lead_in_that_order(store) {
        use leadgate_store::web::{InboxFilter, InboxSort};
        let now = t("2026-06-01T00:00:00Z");
        let mut tx = store.begin().await.unwrap();
        let emile = tx.insert_company(CompanyId(new_id()), CompanyDraft { name: "Émile SA".into(), ..Default::default() }.validate().unwrap(), now).await.unwrap();
        let acme = tx.insert_company(CompanyId(new_id()), CompanyDraft { name: "acme".into(), ..Default::default() }.validate().unwrap(), now).await.unwrap();
        let zoe = tx.insert_user(UserId(new_id()), &Email::parse("zoe@team.example").unwrap(), Some("Zoé"), Role::Sales, None, now).await.unwrap();
        let bea = tx.insert_user(UserId(new_id()), &Email::parse("bea@team.example").unwrap(), None, Role::Sales, None, now).await.unwrap();
        tx.commit().await.unwrap();
        // (first name, last name, e-mail, stage, grade, company, owner)
        type Spec = (Option<&'static str>, Option<&'static str>, Option<&'static str>, &'static str, Option<&'static str>, Option<CompanyId>, Option<UserId>);
        let specs: [Spec; 9] = [
            (Some("bob"), None, Some("b1@x.example"), "lead", Some("B"), Some(emile.id), Some(zoe.id)),
            (Some("Ada"), None, Some("a1@x.example"), "mql", Some("A"), Some(acme.id), None),
            (None, Some("Zed"), Some("z1@x.example"), "lead", None, None, Some(bea.id)),
            (None, None, Some("carol@x.example"), "nurturing", Some("D"), Some(acme.id), None),
            (None, None, None, "sql", Some("B"), None, None),
            (Some("ada"), None, Some("a2@x.example"), "visitor", Some("C"), Some(emile.id), Some(zoe.id)),
            (Some("Eve"), None, Some("e1@x.example"), "lead", Some("A"), None, None),
            (Some("Cy"), None, Some("c1@x.example"), "customer", Some("A"), Some(acme.id), None),
            (Some("Bob"), None, Some("b2@x.example"), "intermediary", Some("B"), None, Some(bea.id)),
        ];
        let mut leads = Vec::new();
        for (i, (first, last, email, stage, grade, company, owner)) in specs.iter().enumerate() {
            let d = ContactDraft {
                email: email.map(String::from),
                first_name: first.map(String::from),
                last_name: last.map(String::from),
                external_id: Some(format!("ext-{i}")),
                company_id: *company,
                ..Default::default()
            };
            let c = add_contact(&store, d, now).await;
            let mut tx = store.begin().await.unwrap();
            tx.execute("UPDATE contacts SET lifecycle_stage = $2 WHERE id = $1", vec![c.id.into(), (*stage).into()]).await.unwrap();
            tx.execute("UPDATE contact_scores SET fit_grade = $2 WHERE contact_id = $1", vec![c.id.into(), grade.map(String::from).into()]).await.unwrap();
            // Scored ones (a grade) have a temperature and an engagement; equal engagements tie.
            if grade.is_some() {
                let temperature = ["hot", "warm", "cold"][i % 3];
                tx.execute("UPDATE contact_scores SET temperature = $2, engagement = $3 WHERE contact_id = $1", vec![c.id.into(), temperature.into(), ((i % 4) as i64 * 100).into()]).await.unwrap();
            }
            if let Some(rep) = owner {
                tx.execute(
                    "INSERT INTO assignments (id, contact_id, rep_id, rule, why, assigned_at) VALUES ($1, $2, $3, 'test', 'test', $4)",
                    vec![new_id().into(), c.id.into(), (*rep).into(), now.into()],
                ).await.unwrap();
            }
            tx.commit().await.unwrap();
            leads.push((c.id, *first, *last, *email, *stage, *grade, *company, *owner));
        }
        let stages = ["visitor", "lead", "mql", "sql", "opportunity", "customer", "nurturing", "intermediary", "disqualified", "churned"];
        let names = [(emile.id, "emile sa"), (acme.id, "acme")];
        let reps = [(zoe.id, "zoé"), (bea.id, "bea@team.example")];
        let open: Vec<_> = leads.iter().filter(|l| l.4 != "customer").cloned().collect();
        let engagement = |i: usize| specs[i].4.map(|_| format!("{:04}", (i % 4) * 100));
        for sort in [InboxSort::Name, InboxSort::Company, InboxSort::Stage, InboxSort::Grade, InboxSort::Owner, InboxSort::Engagement] {
            for ascending in [true, false] {
                // The order the page promises: the column's value (empty last either way), then
                // the contact, in the same direction.
                let key = |l: &(ContactId, Option<&str>, Option<&str>, Option<&str>, &str, Option<&str>, Option<CompanyId>, Option<UserId>)| -> Option<String> {
                    match sort {
                        InboxSort::Name => l.1.or(l.2).or(l.3).map(str::to_lowercase),
                        InboxSort::Company => l.6.map(|c| names.iter().find(|n| n.0 == c).unwrap().1.to_string()),
                        InboxSort::Stage => Some(format!("{:02}", stages.iter().position(|s| *s == l.4).unwrap())),
                        InboxSort::Grade => l.5.map(String::from),
                        InboxSort::Engagement => engagement(leads.iter().position(|x| x.0 == l.0).unwrap()),
                        _ => l.7.map(|u| reps.iter().find(|r| r.0 == u).unwrap().1.to_string()),
                    }
                };
                let mut expected = open.clone();
                expected.sort_by(|a, b| {
                    let by_key = match (key(a), key(b)) {
                        (Some(x), Some(y)) if ascending => x.cmp(&y),
                        (Some(x), Some(y)) => y.cmp(&x),
                        (x, y) => y.is_none().cmp(&x.is_none()).reverse(),
                    };
                    by_key.then(if ascending { a.0.cmp(&b.0) } else { b.0.cmp(&a.0) })
                });
                let expected: Vec<ContactId> = expected.iter().map(|l| l.0).collect();
                let filter = InboxFilter { sort, ascending, open_only: true, ..Default::default() };
                let mut s = store.read().await.unwrap();
                let mut shown = Vec::new();
                // Pages of two, so pages start inside and across the walks.
                for page in 0..10 {
                    let rows = s.inbox(&filter, 2, page * 2).await.unwrap();
                    shown.extend(rows.iter().map(|r| r.id));
                }
                assert_eq!(shown, expected, "{sort:?}, ascending: {ascending}");
            }
        }
    }

    async fn rules_are_versioned(store) {
        let now = t("2026-06-01T00:00:00Z");
        let mut tx = store.begin().await.unwrap();
        assert_eq!(tx.latest_rules_version().await.unwrap(), 0);
        assert!(tx.latest_rules().await.unwrap().is_none());
        assert_eq!(tx.insert_rules("{\"v\":1}", Some("first"), None, now).await.unwrap(), 1);
        assert_eq!(tx.insert_rules("{\"v\":2}", None, Some(UserId(new_id())), now).await.unwrap(), 2);
        tx.commit().await.unwrap();
        let mut s = store.read().await.unwrap();
        let latest = s.latest_rules().await.unwrap().unwrap();
        assert_eq!((latest.version, latest.document.as_str()), (2, "{\"v\":2}"));
        assert_eq!(s.rules_version(1).await.unwrap().unwrap().comment.as_deref(), Some("first"));
        let versions: Vec<i64> = s.list_rules_versions().await.unwrap().iter().map(|v| v.version).collect();
        assert_eq!(versions, vec![2, 1]);
    }

    async fn scores_and_rule_driven_stages_are_saved_in_bulk(store) {
        let now = t("2026-06-01T00:00:00Z");
        let a = add_contact(&store, draft("a@s.example"), now).await;
        let b = add_contact(&store, draft("b@s.example"), now).await;
        let mut tx = store.begin().await.unwrap();
        tx.set_stage(b.id, LifecycleStage::Nurturing, true, now).await.unwrap();
        let updates = vec![
            ScoreUpdate { contact: a.id, score: summary(3, 2512, now), stage: Some(LifecycleStage::Mql), ledger: vec![1, 2, 3] },
            ScoreUpdate { contact: b.id, score: summary(3, -150, now), stage: None, ledger: vec![] },
        ];
        tx.save_scores(&updates, now + SignedDuration::from_secs(1)).await.unwrap();
        tx.commit().await.unwrap();
        let mut s = store.read().await.unwrap();
        let a2 = s.get_contact(a.id).await.unwrap().unwrap();
        assert_eq!(a2.score, Some(summary(3, 2512, now)));
        assert_eq!(a2.lifecycle_stage, LifecycleStage::Mql);
        let b2 = s.get_contact(b.id).await.unwrap().unwrap();
        assert_eq!(b2.lifecycle_stage, LifecycleStage::Nurturing, "no stage given: kept");
        assert_eq!(b2.score.unwrap().engagement, Points::from_hundredths(-150));
        let inputs = s.scoring_inputs(&[b.id, a.id]).await.unwrap();
        let flags: Vec<(ContactId, bool)> = inputs.iter().map(|i| (i.contact.id, i.stage_set_by_user)).collect();
        assert!(flags.contains(&(b.id, true)) && flags.contains(&(a.id, false)));
        let ledger_a = inputs.iter().find(|i| i.contact.id == a.id).unwrap().ledger.clone();
        assert_eq!(ledger_a.as_deref(), Some(&[1u8, 2, 3][..]));
    }

    async fn checklists_and_history_are_kept(store) {
        let now = t("2026-06-01T00:00:00Z");
        let c = add_contact(&store, draft("q@s.example"), now).await;
        let user = UserId(new_id());
        let mut tx = store.begin().await.unwrap();
        let item = ChecklistItem { answer: Answer::Yes, set_by: Some(user), set_at: Some(now), note: Some("has a project".into()) };
        tx.set_checklist_item(c.id, Criterion::Need, &item).await.unwrap();
        tx.set_checklist_item(c.id, Criterion::Authority, &ChecklistItem { answer: Answer::No, ..item.clone() }).await.unwrap();
        tx.set_checklist_item(c.id, Criterion::Authority, &ChecklistItem { answer: Answer::Yes, note: None, ..item.clone() }).await.unwrap();
        let t1 = Transition { contact_id: c.id, from: LifecycleStage::Lead, to: LifecycleStage::Mql, at: now, actor: Actor::Rule { rule: "mql-threshold".into(), rules_version: 4 }, reason: "fit A".into() };
        let t2 = Transition { contact_id: c.id, from: LifecycleStage::Mql, to: LifecycleStage::Nurturing, at: now + SignedDuration::from_secs(5), actor: Actor::User { user_id: user }, reason: "not now".into() };
        tx.insert_transitions(&[t2.clone(), t1.clone()]).await.unwrap();
        tx.set_sales_decision(c.id, Some((user, now)), Some(now + SignedDuration::from_hours(1))).await.unwrap();
        tx.commit().await.unwrap();
        let mut s = store.read().await.unwrap();
        let cl = s.checklist_of(c.id).await.unwrap();
        assert_eq!(cl.need, item);
        assert_eq!(cl.authority.answer, Answer::Yes);
        assert_eq!(cl.authority.note, None, "replaced, not merged");
        assert_eq!(cl.budget, ChecklistItem::default());
        assert_eq!(s.transitions_of(c.id).await.unwrap(), vec![t1, t2], "in time order");
        let input = s.scoring_inputs(&[c.id]).await.unwrap().pop().unwrap();
        assert!(input.sales_accepted);
        assert_eq!(input.recycle_until, Some(now + SignedDuration::from_hours(1)));
    }

    async fn scoring_inputs_bring_company_and_events(store) {
        let now = t("2026-06-01T00:00:00Z");
        let mut tx = store.begin().await.unwrap();
        let co = tx.insert_company(CompanyId(new_id()), CompanyDraft { name: "Acme".into(), employees: Some(80), ..Default::default() }.validate().unwrap(), now).await.unwrap();
        let with = tx.insert_contact(ContactId(new_id()), ContactDraft { company_id: Some(co.id), ..draft("w@s.example") }.validate().unwrap(), now).await.unwrap();
        let without = tx.insert_contact(ContactId(new_id()), draft("wo@s.example").validate().unwrap(), now).await.unwrap();
        tx.insert_events(&[event(with.id, EventKind::PageView, now), event(with.id, EventKind::QuoteRequest, now - SignedDuration::from_hours(1))]).await.unwrap();
        tx.commit().await.unwrap();
        let mut s = store.read().await.unwrap();
        let inputs = s.scoring_inputs(&[with.id, without.id, ContactId(new_id())]).await.unwrap();
        assert_eq!(inputs.len(), 2, "unknown ids are skipped");
        let w = inputs.iter().find(|i| i.contact.id == with.id).unwrap();
        assert_eq!(w.company.as_ref().map(|c| c.id), Some(co.id));
        assert!(w.ledger.is_none(), "never scored");
        let timelines = s.events_of_contacts(&[with.id, without.id]).await.unwrap();
        assert_eq!(timelines[&with.id].iter().map(|e| e.kind.clone()).collect::<Vec<_>>(), vec![EventKind::QuoteRequest, EventKind::PageView]);
        assert!(!timelines.contains_key(&without.id));
        let wo = inputs.iter().find(|i| i.contact.id == without.id).unwrap();
        assert!(wo.company.is_none());
        let page1 = s.contact_ids_after(None, 1).await.unwrap();
        let page2 = s.contact_ids_after(Some(page1[0]), 5).await.unwrap();
        assert_eq!(page1.len() + page2.len(), 2);
        assert_eq!(s.contact_ids_of_company(co.id).await.unwrap(), vec![with.id]);
    }

    async fn a_span_reads_exactly_the_contacts_between_its_ends(store) {
        let now = t("2026-06-01T00:00:00Z");
        let mut tx = store.begin().await.unwrap();
        let mut ids = Vec::new();
        for i in 0..7 {
            let c = tx.insert_contact(ContactId(new_id()), draft(&format!("span{i}@s.example")).validate().unwrap(), now).await.unwrap();
            tx.insert_events(&[event(c.id, EventKind::PageView, now), event(c.id, EventKind::FormSubmitted, now - SignedDuration::from_hours(2))]).await.unwrap();
            let item = ChecklistItem { answer: Answer::Yes, set_by: None, set_at: Some(now), note: Some(format!("note {i}")) };
            tx.set_checklist_item(c.id, Criterion::Need, &item).await.unwrap();
            ids.push(c.id);
        }
        // Scored under rules version 3, except the first contact (version 2).
        let updates: Vec<ScoreUpdate> = ids
            .iter()
            .enumerate()
            .map(|(i, &id)| ScoreUpdate { contact: id, score: summary(if i == 0 { 2 } else { 3 }, 100, now), stage: None, ledger: vec![i as u8 + 1] })
            .collect();
        tx.save_scores(&updates, now).await.unwrap();
        tx.commit().await.unwrap();
        let mut s = store.read().await.unwrap();
        // The database's own order of ids, which walks and spans follow.
        let ordered = s.contact_ids_after(None, 100).await.unwrap();
        assert_eq!(ordered.iter().copied().collect::<HashSet<_>>(), ids.iter().copied().collect::<HashSet<_>>());
        // Where spans of three end: the third contact after the start, or the last one.
        assert_eq!(s.span_end(None, 3).await.unwrap(), Some(ordered[2]));
        assert_eq!(s.span_end(Some(ordered[2]), 3).await.unwrap(), Some(ordered[5]));
        assert_eq!(s.span_end(Some(ordered[5]), 3).await.unwrap(), Some(ordered[6]), "fewer than three left");
        assert_eq!(s.span_end(Some(ordered[6]), 3).await.unwrap(), None, "past the end");
        assert_eq!(s.span_end(None, 100).await.unwrap(), Some(ordered[6]));
        for (after, last) in [(None, ordered[2]), (Some(ordered[2]), ordered[5]), (Some(ordered[5]), ordered[6])] {
            let span = ContactSet::Span { after, last };
            let first = after.map_or(0, |a| ordered.iter().position(|&id| id == a).unwrap() + 1);
            let end = ordered.iter().position(|&id| id == last).unwrap() + 1;
            let expected: HashSet<ContactId> = ordered[first..end].iter().copied().collect();
            let inputs = s.scoring_inputs_of(span, 3).await.unwrap();
            assert_eq!(inputs.iter().map(|i| i.contact.id).collect::<HashSet<_>>(), expected, "contacts of {span:?}");
            for input in &inputs {
                assert_eq!(input.checklist.need.answer, Answer::Yes, "checklist of {}", input.contact.id);
                // Only ledgers of the version asked for are read.
                let i = ids.iter().position(|&id| id == input.contact.id).unwrap();
                let ledger = (i > 0).then(|| vec![i as u8 + 1]);
                assert_eq!(input.ledger, ledger, "ledger of contact {i}");
            }
            let other = s.scoring_inputs_of(span, 4).await.unwrap();
            assert!(other.iter().all(|i| i.ledger.is_none()), "no ledger of version 4 in {span:?}");
            let timelines = s.timelines(span, &EventNeeds::everything()).await.unwrap();
            assert_eq!(timelines.keys().copied().collect::<HashSet<_>>(), expected, "timelines of {span:?}");
            for timeline in timelines.values() {
                let kinds: Vec<EventKind> = timeline.iter().map(|e| e.kind.clone()).collect();
                assert_eq!(kinds, vec![EventKind::FormSubmitted, EventKind::PageView], "oldest first");
            }
            // Read in bulk (on PostgreSQL, a binary COPY) or by id (rows through the driver): the
            // same events, NULL campaign and non-ASCII properties included.
            let mut in_bulk: Vec<_> = timelines.values().flatten().cloned().collect();
            in_bulk.sort_by_key(|e| e.id);
            let mut by_id = s.get_events(&in_bulk.iter().map(|e| e.id).collect::<Vec<_>>()).await.unwrap();
            by_id.sort_by_key(|e| e.id);
            assert_eq!(in_bulk, by_id);
            // Read with only what scoring rules need: the same events, stripped to that.
            for needs in [
                EventNeeds { source: false, campaign: false, properties: Some(["url".to_string()].into()) },
                EventNeeds { source: true, campaign: false, properties: Some(Default::default()) },
                EventNeeds { source: false, campaign: true, properties: Some(["tags".to_string(), "absent".to_string()].into()) },
            ] {
                let lean = s.timelines(span, &needs).await.unwrap();
                for (contact, timeline) in &timelines {
                    let mut stripped = timeline.clone();
                    stripped.iter_mut().for_each(|e| needs.strip(e));
                    assert_eq!(lean[contact], stripped, "{needs:?}");
                }
            }
        }
    }
}

storage_tests! {
    async fn contacts_are_inserted_and_found_in_bulk(store) {
        let now = t("2026-07-01T00:00:00Z");
        let new: Vec<(ContactId, leadgate_core::contact::NewContact)> = (0..1200)
            .map(|i| {
                let d = ContactDraft {
                    email: (i % 2 == 0).then(|| format!("Bulk{i}@X.example")),
                    external_id: Some(format!("ext-{i}")),
                    source: (i % 3 == 0).then(|| "fair".to_string()),
                    ..Default::default()
                };
                (ContactId(new_id()), d.validate().unwrap())
            })
            .collect();
        let mut rows: Vec<ContactToInsert> = new
            .iter()
            .map(|(id, c)| ContactToInsert { contact: c.clone().into_contact(*id, now), stage_changed_at: None, outcome: None })
            .collect();
        // One arrives already scored, moved by a rule and labelled: all in the same row write.
        let score = ScoreSummary {
            fit_points: Points::from_hundredths(4050),
            fit_grade: FitGrade::B,
            engagement: Points::from_hundredths(0),
            temperature: Temperature::Cold,
            temperature_reason: "no engagement yet".into(),
            knockouts: vec!["ko-student".into()],
            rules_version: 3,
            scored_at: now,
        };
        rows[5].contact.score = Some(score.clone());
        rows[5].contact.lifecycle_stage = LifecycleStage::Nurturing;
        rows[5].stage_changed_at = Some(now);
        rows[5].outcome = Some(true);
        let mut tx = store.begin().await.unwrap();
        tx.insert_contacts(&rows, now).await.unwrap();
        tx.set_outcomes(&[(new[0].0, true), (new[1].0, false)], now).await.unwrap();
        tx.commit().await.unwrap();
        let mut s = store.read().await.unwrap();
        assert_eq!(s.count_contacts().await.unwrap(), 1200);
        let by_ext = s.contacts_by_external_ids(&["ext-3".into(), "ext-1199".into(), "nope".into()]).await.unwrap();
        assert_eq!(by_ext.len(), 2);
        assert_eq!(by_ext["ext-3"].last_touch_source.as_deref(), Some("fair"), "first touch is the last touch");
        let by_mail = s.contacts_by_email_keys(&["bulk4@x.example".into()]).await.unwrap();
        assert_eq!(by_mail["bulk4@x.example"].external_id.as_deref(), Some("ext-4"));
        let outcomes: Vec<(Option<String>,)> = {
            let rows = s.fetch_all("SELECT outcome FROM contacts WHERE outcome IS NOT NULL ORDER BY outcome", vec![]).await.unwrap();
            rows.iter().map(|r| (r.get(0).unwrap(),)).collect()
        };
        assert_eq!(outcomes, vec![(Some("converted".to_string()),), (Some("converted".to_string()),), (Some("not_converted".to_string()),)]);
        let scored = s.get_contact(new[5].0).await.unwrap().unwrap();
        assert_eq!(scored.score, Some(score));
        assert_eq!(scored.lifecycle_stage, LifecycleStage::Nurturing);
        assert_eq!(scored, rows[5].contact, "what was computed before the write is what is stored");
        assert_eq!(s.get_contact(new[6].0).await.unwrap().unwrap().score, None);
    }

    async fn companies_are_found_by_name_and_deals_upserted(store) {
        let now = t("2026-07-01T00:00:00Z");
        let mut tx = store.begin().await.unwrap();
        let acme = tx.insert_company(CompanyId(new_id()), CompanyDraft { name: "Acme Corp".into(), ..Default::default() }.validate().unwrap(), now).await.unwrap();
        let ids = tx.company_ids_by_names(&["ACME corp".into(), "Nobody".into()]).await.unwrap();
        assert_eq!(ids.get("acme corp"), Some(&acme.id));
        assert_eq!(ids.len(), 1);
        let deal = |stage| leadgate_store::pipeline::ImportedDeal {
            external_id: "D-1".into(),
            name: "Acme Corp — GTX Pro".into(),
            company_id: Some(acme.id),
            stage,
            owner_name: Some("Moses Frase".into()),
            product: Some("GTX Pro".into()),
            value: Some(4514.0),
            engaged_on: Some("2016-10-25".parse().unwrap()),
            closed_on: None,
            custom: Default::default(),
        };
        assert_eq!(tx.upsert_deals(&[deal(DealStage::QUALIFICATION)], now).await.unwrap(), (1, 0, 0));
        assert_eq!(tx.upsert_deals(&[deal(DealStage::QUALIFICATION)], now).await.unwrap(), (0, 0, 1));
        assert_eq!(tx.upsert_deals(&[deal(DealStage::WON)], now).await.unwrap(), (0, 1, 0));
        tx.commit().await.unwrap();
        let mut s = store.read().await.unwrap();
        let filter = leadgate_store::pipeline::DealFilter { company_id: Some(acme.id), ..Default::default() };
        let deals = s.list_deals(&filter, 10, None).await.unwrap();
        assert_eq!(deals.len(), 1);
        assert_eq!(deals[0].stage, DealStage::WON);
        let history: Vec<_> = s.stage_changes(deals[0].id).await.unwrap().iter().map(|c| (c.from, c.to)).collect();
        assert_eq!(history, [(None, DealStage::QUALIFICATION), (Some(DealStage::QUALIFICATION), DealStage::WON)], "an import's stage change is recorded");
        assert_eq!(deals[0].engaged_on.unwrap().to_string(), "2016-10-25");
        assert_eq!(s.companies_by_names(&["acme CORP".into()]).await.unwrap()["acme corp"].id, acme.id);
    }

    async fn uploads_progress_and_rejects_are_kept(store) {
        let now = t("2026-07-01T00:00:00Z");
        let job = JobId(new_id());
        let up = new_id();
        let mut tx = store.begin().await.unwrap();
        tx.insert_upload(up, "leads.csv", b"a,b\n1,2\n".to_vec(), None, now).await.unwrap();
        tx.save_import_progress("fp1", "contacts", "leads.csv", 1001, &json!({"created": 1000}), false, now).await.unwrap();
        tx.save_import_progress("fp1", "contacts", "leads.csv", 2001, &json!({"created": 2000}), false, now).await.unwrap();
        let reject = leadgate_core::import::Reject { line: 7, column: "Email".into(), value: "x".into(), reason: "bad".into() };
        tx.insert_rejects(job, std::slice::from_ref(&reject)).await.unwrap();
        tx.commit().await.unwrap();
        let mut s = store.read().await.unwrap();
        assert_eq!(s.get_upload(up).await.unwrap(), Some(("leads.csv".to_string(), b"a,b\n1,2\n".to_vec())));
        let p = s.import_progress("fp1").await.unwrap().unwrap();
        assert_eq!((p.last_line, p.counts["created"].as_i64(), p.finished_at), (2001, Some(2000), None));
        assert_eq!(s.rejects_of(job).await.unwrap(), vec![reject]);
        let mut tx = store.begin().await.unwrap();
        tx.delete_upload(up).await.unwrap();
        tx.clear_rejects(job).await.unwrap();
        tx.commit().await.unwrap();
        assert!(s.get_upload(up).await.unwrap().is_none());
        assert!(s.rejects_of(job).await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn reopening_an_existing_sqlite_file_keeps_the_data() {
    let db = leadgate_store::testing::TestDb::sqlite().await;
    let now = t("2026-05-01T00:00:00Z");
    add_contact(&db.store, draft("keep@x.example"), now).await;
    db.store.close().await;
    let reopened = Store::open(&db.config, now).await.unwrap();
    let mut s = reopened.read().await.unwrap();
    assert_eq!(s.count_contacts().await.unwrap(), 1);
    drop(s);
    reopened.close().await;
    db.cleanup().await;
}

/// Commits wake the checkpoint thread, which copies the log back into the database file without
/// any commit doing it (the writer's own threshold is 20,000 pages, never reached here).
#[tokio::test]
async fn sqlite_checkpoints_the_log_in_the_background() {
    let db = leadgate_store::testing::TestDb::sqlite().await;
    let now = t("2026-05-01T00:00:00Z");
    let before = db.store.wal_checkpoints().expect("SQLite");
    for i in 0..5 {
        add_contact(&db.store, draft(&format!("c{i}@x.example")), now).await;
    }
    let waited = std::time::Instant::now();
    while db.store.wal_checkpoints().unwrap() == before {
        assert!(waited.elapsed() < std::time::Duration::from_secs(10), "no checkpoint after 10 s");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let mut s = db.store.read().await.unwrap();
    assert_eq!(s.count_contacts().await.unwrap(), 5);
    drop(s);
    db.cleanup().await;
}

storage_tests! {
    async fn models_are_versioned_with_one_active(store) {
        use leadgate_store::models::NewModel;
        let now = t("2026-08-01T00:00:00Z");
        let model = |family: &str| NewModel {
            family: family.into(),
            options: json!({"request": {"exclude": ["Tags"]}}),
            report: json!({"auc": 0.9}),
            model: "{\"m\": 1}".into(),
            trained_by: None,
            trained_at: now,
            training_ms: 1200,
        };
        let mut tx = store.begin().await.unwrap();
        assert_eq!(tx.active_model_version().await.unwrap(), None);
        assert_eq!(tx.insert_model(&model("gbdt")).await.unwrap(), 1);
        assert_eq!(tx.insert_model(&model("linear")).await.unwrap(), 2);
        assert!(tx.activate_model(1).await.unwrap());
        assert!(tx.activate_model(2).await.unwrap());
        assert!(!tx.activate_model(9).await.unwrap(), "no such version");
        tx.commit().await.unwrap();
        let mut s = store.read().await.unwrap();
        assert_eq!(s.active_model_version().await.unwrap(), Some(2), "one active: the last activated");
        let list = s.list_models().await.unwrap();
        assert_eq!(list.iter().map(|m| (m.version, m.active)).collect::<Vec<_>>(), vec![(2, true), (1, false)]);
        assert_eq!(list[1].family, "gbdt");
        assert_eq!(list[1].options["request"]["exclude"][0], "Tags");
        assert_eq!(list[1].training_ms, 1200);
        assert_eq!(s.model_json(1).await.unwrap().as_deref(), Some("{\"m\": 1}"));
        assert_eq!(s.get_model(3).await.unwrap(), None);
    }

    async fn predictions_are_replaced_and_the_queue_is_taken_once(store) {
        use leadgate_store::models::StoredPrediction;
        let now = t("2026-08-01T00:00:00Z");
        let a = add_contact(&store, draft("a@p.example"), now).await;
        let b = add_contact(&store, draft("b@p.example"), now).await;
        let p = |c: ContactId, v: i64, prob: f64| StoredPrediction { contact: c, model_version: v, probability: prob, raw_score: prob.ln(), predicted_at: now };
        let mut tx = store.begin().await.unwrap();
        tx.save_predictions(&[p(a.id, 1, 0.2), p(b.id, 1, 0.7)]).await.unwrap();
        tx.save_predictions(&[p(a.id, 2, 0.4)]).await.unwrap();
        tx.queue_predictions(&[a.id, b.id, a.id], now).await.unwrap();
        tx.queue_predictions(&[b.id], now + SignedDuration::from_secs(1)).await.unwrap();
        tx.commit().await.unwrap();
        let mut s = store.read().await.unwrap();
        assert_eq!(s.prediction(a.id).await.unwrap(), Some(p(a.id, 2, 0.4)));
        assert_eq!(s.count_predictions(1).await.unwrap(), 1);
        assert_eq!(s.prediction_queue_len().await.unwrap(), 2, "a contact is queued once");
        drop(s);
        let mut tx = store.begin().await.unwrap();
        let first = tx.take_prediction_queue(1).await.unwrap();
        assert_eq!(first.len(), 1);
        let rest = tx.take_prediction_queue(10).await.unwrap();
        assert_eq!(rest.len(), 1);
        assert_ne!(first, rest);
        assert!(tx.take_prediction_queue(10).await.unwrap().is_empty());
        drop(tx); // rolls back
        let mut s = store.read().await.unwrap();
        assert_eq!(s.prediction_queue_len().await.unwrap(), 2, "a rolled-back take leaves the queue as it was");
        drop(s);
        let mut tx = store.begin().await.unwrap();
        tx.delete_contact(b.id).await.unwrap();
        tx.commit().await.unwrap();
        let mut s = store.read().await.unwrap();
        assert_eq!(s.prediction(b.id).await.unwrap(), None, "erasing a contact erases its prediction");
    }

    async fn prediction_facts_bring_outcome_company_deals_and_timeline_up_to_a_cutoff(store) {
        let now = t("2026-08-01T00:00:00Z");
        let mut tx = store.begin().await.unwrap();
        let co = tx.insert_company(CompanyId(new_id()), CompanyDraft { name: "Acme".into(), sector: Some("software".into()), ..Default::default() }.validate().unwrap(), now).await.unwrap();
        let c = tx.insert_contact(ContactId(new_id()), ContactDraft { company_id: Some(co.id), ..draft("f@p.example") }.validate().unwrap(), now).await.unwrap();
        let lone = tx.insert_contact(ContactId(new_id()), draft("lone@p.example").validate().unwrap(), now).await.unwrap();
        tx.set_outcomes(&[(c.id, true)], now).await.unwrap();
        let day = SignedDuration::from_hours(24);
        tx.insert_events(&[
            event(c.id, EventKind::PageView, now - day * 100),
            event(c.id, EventKind::PageView, now - day * 40),
            event(c.id, EventKind::PageView, now - day * 10),
            event(c.id, EventKind::QuoteRequest, now - day * 5),
            event(c.id, EventKind::QuoteRequest, now + day), // after the cutoff: not seen
        ]).await.unwrap();
        let deal = |id: &str, stage| leadgate_store::pipeline::ImportedDeal {
            external_id: id.into(), name: id.into(), company_id: Some(co.id), stage, owner_name: None, product: None, value: None,
            engaged_on: None, closed_on: None, custom: Default::default(),
        };
        tx.upsert_deals(&[deal("D1", DealStage::WON), deal("D2", DealStage::LOST), deal("D3", DealStage::PROPOSAL)], now).await.unwrap();
        tx.execute(
            "INSERT INTO deal_contacts (deal_id, contact_id, role) SELECT id, $1, 'decision_maker' FROM deals",
            vec![leadgate_store::driver::Arg::from(c.id)],
        ).await.unwrap();
        tx.commit().await.unwrap();

        let mut s = store.read().await.unwrap();
        let facts = s.prediction_facts(&[lone.id, c.id, ContactId(new_id())]).await.unwrap();
        assert_eq!(facts.len(), 2, "unknown ids are skipped");
        let f = facts.iter().find(|f| f.contact.id == c.id).unwrap();
        assert_eq!(f.outcome, Some(true));
        assert_eq!(f.outcome_at, Some(now));
        assert_eq!(f.company.as_ref().and_then(|c| c.sector.as_deref()), Some("software"));
        assert_eq!((f.deals_won, f.deals_lost, f.deals), (1, 1, 3));
        let l = facts.iter().find(|f| f.contact.id == lone.id).unwrap();
        assert_eq!((l.outcome, l.company.is_none(), l.deals), (None, true, 0));

        let counts = s.timeline_counts(&[(c.id, now), (lone.id, now)]).await.unwrap();
        assert!(!counts.contains_key(&lone.id));
        let kinds = &counts[&c.id];
        assert_eq!(kinds.len(), 2);
        let views = kinds.iter().find(|k| k.kind == "page_view").unwrap();
        assert_eq!((views.last_30_days, views.last_90_days, views.total), (1, 2, 3));
        assert_eq!(views.last_at, now - day * 10);
        let quotes = kinds.iter().find(|k| k.kind == "quote_request").unwrap();
        assert_eq!(quotes.total, 1, "the event after the cutoff is not counted");
        let earlier = s.timeline_counts(&[(c.id, now - day * 50)]).await.unwrap();
        assert_eq!(earlier[&c.id].iter().map(|k| k.total).sum::<i64>(), 1);
    }

    async fn a_deduplicated_job_is_queued_once_until_it_finishes(store) {
        let now = t("2026-08-01T00:00:00Z");
        let job = || NewJob { id: JobId(new_id()), kind: "train".into(), payload: json!({}), run_at: now, max_attempts: 3, created_by: None };
        let mut tx = store.begin().await.unwrap();
        let first = tx.enqueue_job_once(job(), "scheduled", now).await.unwrap().expect("queued");
        assert!(tx.enqueue_job_once(job(), "scheduled", now).await.unwrap().is_none(), "already queued");
        assert!(tx.enqueue_job_once(job(), "other", now).await.unwrap().is_some(), "another key");
        let claimed = tx.claim_job("w", &["train"], now + SignedDuration::from_secs(60), now).await.unwrap().unwrap();
        assert!(tx.enqueue_job_once(job(), "scheduled", now).await.unwrap().is_none(), "still running");
        tx.finish_job(&Lease::of(&claimed, "w"), &json!({}), now).await.unwrap();
        if claimed.id == first.id {
            assert!(tx.enqueue_job_once(job(), "scheduled", now).await.unwrap().is_some(), "finished: may run again");
        }
        tx.commit().await.unwrap();
    }

    async fn a_sender_paused_past_its_claim_cannot_undo_a_delivery(store) {
        use leadgate_core::ids::{DeliveryId, WebhookId};
        use leadgate_store::handoff::{AttemptOutcome, WebhookRecord};
        let now = t("2026-08-01T00:00:00Z");
        let hook = WebhookRecord {
            id: WebhookId(new_id()),
            url: "https://hooks.example/in".into(),
            description: None,
            event_types: vec!["*".into()],
            secrets: vec!["whsec_test".into()],
            active: true,
            created_at: now,
        };
        let mut tx = store.begin().await.unwrap();
        tx.insert_webhook(&hook).await.unwrap();
        tx.queue_deliveries("x", &[hook.id], &[(None, "{}".into())], &mut || DeliveryId(new_id()), now).await.unwrap();
        // A claims it and stalls; its claim runs out and B claims, sends and records it.
        let a = tx.claim_deliveries(now, now + SignedDuration::from_secs(10), 10).await.unwrap();
        assert_eq!(a.len(), 1);
        assert!(tx.claim_deliveries(now, now + SignedDuration::from_secs(10), 10).await.unwrap().is_empty(), "claimed");
        let later = now + SignedDuration::from_secs(11);
        let b = tx.claim_deliveries(later, later + SignedDuration::from_secs(10), 10).await.unwrap();
        assert_eq!(b[0].0.id, a[0].0.id);
        let id = b[0].0.id;
        assert!(tx.record_attempt(id, 1, later, Some(200), 5, None, AttemptOutcome::Delivered).await.unwrap());
        // A wakes up, its send failed: it must not put the delivered message back in the queue.
        let retry = later + SignedDuration::from_secs(30);
        assert!(!tx.record_attempt(id, 1, later, None, 9_000, Some("timeout"), AttemptOutcome::RetryAt(retry)).await.unwrap());
        let d = tx.get_delivery(id).await.unwrap().unwrap();
        assert_eq!((d.attempts, d.delivered_at), (1, Some(later)));
        assert!(tx.claim_deliveries(retry, retry, 10).await.unwrap().is_empty(), "delivered, not pending");
        tx.commit().await.unwrap();
    }

    async fn many_webhook_messages_are_queued_in_a_few_statements(store) {
        use leadgate_core::ids::{DeliveryId, WebhookId};
        use leadgate_store::handoff::WebhookRecord;
        let now = t("2026-08-01T00:00:00Z");
        let mut tx = store.begin().await.unwrap();
        let hook = |types: &[&str]| WebhookRecord {
            id: WebhookId(new_id()),
            url: "https://hooks.example/in".into(),
            description: None,
            event_types: types.iter().map(|t| t.to_string()).collect(),
            secrets: vec!["whsec_test".into()],
            active: true,
            created_at: now,
        };
        let (all, moves, other) = (hook(&["*"]), hook(&["lifecycle.changed"]), hook(&["lead.assigned"]));
        for w in [&all, &moves, &other] {
            tx.insert_webhook(w).await.unwrap();
        }
        let mut targets = tx.webhook_subscribers("lifecycle.changed").await.unwrap();
        targets.sort();
        let mut expected = vec![all.id, moves.id];
        expected.sort();
        assert_eq!(targets, expected, "subscribed by name or with *");
        // 700 messages × 2 subscribers × 8 values: more than one statement's worth.
        // Ten of them about one contact, whose deletion erases them below.
        let about = ContactId(new_id());
        let payloads: Vec<(Option<ContactId>, String)> =
            (0..700).map(|i| ((i < 10).then_some(about), format!("{{\"n\":{i}}}"))).collect();
        let queued = tx.queue_deliveries("lifecycle.changed", &targets, &payloads, &mut || DeliveryId(new_id()), now).await.unwrap();
        assert_eq!(queued, 1_400);
        for w in [&all, &moves] {
            let kept = tx.deliveries_of(w.id, 1_000).await.unwrap();
            assert_eq!(kept.len(), 700, "every message reached every subscriber");
            let mut seen: Vec<&str> = kept.iter().map(|d| d.payload.as_str()).collect();
            seen.sort();
            seen.dedup();
            assert_eq!(seen.len(), 700);
        }
        assert!(tx.deliveries_of(other.id, 10).await.unwrap().is_empty());
        assert_eq!(tx.queue_deliveries("lifecycle.changed", &[], &payloads, &mut || DeliveryId(new_id()), now).await.unwrap(), 0);
        // Erasing a contact's messages: their payload goes, not yet sent they are cancelled.
        tx.erase_contacts(&[about], now).await.unwrap();
        tx.erase_contacts(&[about], now).await.unwrap();
        let kept = tx.deliveries_of(all.id, 1_000).await.unwrap();
        let erased: Vec<_> = kept.iter().filter(|d| d.payload == "{\"erased\":true}").collect();
        assert_eq!(erased.len(), 10);
        assert!(erased.iter().all(|d| d.state == "cancelled"));
        assert!(!tx.redeliver(erased[0].id, DeliveryId(new_id()), now).await.unwrap(), "an erased message is never sent again");
        tx.commit().await.unwrap();
    }

    async fn a_snapshot_read_knows_whether_anything_was_committed_since(store) {
        let now = t("2026-08-01T00:00:00Z");
        let a = add_contact(&store, draft("a@example.com"), now).await;
        let (mut reader, mark) = store.read_snapshot().await.unwrap();
        // A writer's own commit after the snapshot keeps it good for that writer only.
        let mut tx = store.begin().await.unwrap();
        tx.set_stage(a.id, LifecycleStage::Nurturing, true, now).await.unwrap();
        let own = tx.commit_marked().await.unwrap();
        let mut tx = store.begin().await.unwrap();
        assert!(tx.unchanged_since(&mark, &[own]).await.unwrap(), "only the writer's own commit since");
        assert!(!tx.unchanged_since(&mark, &[]).await.unwrap(), "someone else's commit since");
        drop(tx);
        // Anyone else's commit spoils it, own commits or not.
        add_contact(&store, draft("b@example.com"), now).await;
        let mut tx = store.begin().await.unwrap();
        assert!(!tx.unchanged_since(&mark, &[own]).await.unwrap(), "a contact was added since");
        drop(tx);
        // The reader still sees the data as it was when its snapshot began.
        assert_eq!(reader.count_contacts().await.unwrap(), 1);
        let before = reader.get_contact(a.id).await.unwrap().unwrap();
        assert_eq!(before.lifecycle_stage, a.lifecycle_stage);
        drop(reader);
        // A fresh snapshot with nothing after it is good; a rolled-back write changes nothing.
        let (_reader, mark) = store.read_snapshot().await.unwrap();
        let mut tx = store.begin().await.unwrap();
        tx.set_stage(a.id, LifecycleStage::Lead, true, now).await.unwrap();
        drop(tx);
        let mut tx = store.begin().await.unwrap();
        assert!(tx.unchanged_since(&mark, &[]).await.unwrap(), "nothing committed since");
    }
}

/// Two stores on one SQLite file stand for two processes (the CLI rescoring while the server
/// records events): the other one's commits must spoil a snapshot too, though they do not go
/// through this process's writer.
#[tokio::test]
async fn another_process_commit_spoils_a_sqlite_snapshot() {
    let db = leadgate_store::testing::TestDb::new(leadgate_store::testing::Backend::Sqlite).await;
    let now = t("2026-08-01T00:00:00Z");
    let other = Store::open(&db.config, now).await.unwrap();
    add_contact(&db.store, draft("a@example.com"), now).await;
    let (_reader, mark) = db.store.read_snapshot().await.unwrap();
    let mut tx = db.store.begin().await.unwrap();
    assert!(tx.unchanged_since(&mark, &[]).await.unwrap());
    drop(tx);
    add_contact(&other, draft("b@example.com"), now).await;
    let mut tx = db.store.begin().await.unwrap();
    assert!(!tx.unchanged_since(&mark, &[]).await.unwrap(), "the other process added a contact");
    drop(tx);
    other.close().await;
    db.cleanup().await;
}

/// The SQLite database and its directory are readable by their owner only: they hold every
/// contact.
#[cfg(unix)]
#[tokio::test]
async fn sqlite_files_are_private_to_their_owner() {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(format!("leadgate-private-{}", uuid::Uuid::now_v7()));
    let path = dir.join("data").join("leadgate.sqlite3");
    let store = leadgate_store::Store::open(
        &leadgate_store::StoreConfig::Sqlite { path: path.clone() },
        jiff::Timestamp::now(),
    )
    .await
    .unwrap();
    let mut tx = store.begin().await.unwrap();
    tx.put_setting("probe", "x").await.unwrap();
    tx.commit().await.unwrap();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(path.parent().unwrap()), 0o700);
    let wal = path.with_file_name("leadgate.sqlite3-wal");
    if wal.exists() {
        assert_eq!(mode(&wal), 0o600);
    }
    store.close().await;
    let _ = std::fs::remove_dir_all(dir);
}
