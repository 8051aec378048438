//! Nurture storage: the writes exactly-once sending rests on, on both databases.

use jiff::SignedDuration;
use leadgate_core::form::Purpose;
use leadgate_core::ids::{ContactId, EnrolmentId, MessageId, SequenceId, TemplateId};
use leadgate_core::nurture::bounce::BounceKind;
use leadgate_core::nurture::sequence::{Action, Step};
use leadgate_core::nurture::{ExitReason, MessageState, SequenceState, Trigger};
use leadgate_store::nurture::{Fence, NewMessage, SequenceRecord, TemplateRecord};
use leadgate_store::{Store, storage_tests};
use uuid::Uuid;

use super::{add_contact, draft, t};

async fn setup(store: &Store, reenrol: bool) -> (SequenceRecord, ContactId) {
    let now = t("2026-11-24T10:00:00Z");
    let template = TemplateRecord {
        id: TemplateId(Uuid::now_v7()),
        name: "Welcome".into(),
        language: "en".into(),
        subject: "Hello {{ first_name }}".into(),
        html: "<p>Hi</p>".into(),
        text: "Hi".into(),
        from_name: None,
        from_address: None,
        reply_to: None,
        created_at: now,
        updated_at: now,
    };
    let sequence = SequenceRecord {
        id: SequenceId(Uuid::now_v7()),
        name: "Recycle".into(),
        steps: vec![Step { key: "welcome".into(), action: Action::Send { template: template.id } }],
        purpose: Some(Purpose::Newsletter),
        trigger: Some(Trigger::RejectedBySales),
        reenrol,
        state: SequenceState::Active,
        created_at: now,
        updated_at: now,
    };
    let mut tx = store.begin().await.unwrap();
    tx.insert_template(&template).await.unwrap();
    tx.insert_sequence(&sequence).await.unwrap();
    tx.commit().await.unwrap();
    let contact = add_contact(store, draft("nurtured@example.com"), now).await;
    (sequence, contact.id)
}

async fn enrol_and_reserve(
    store: &Store,
    seq: &SequenceRecord,
    contact: ContactId,
) -> (EnrolmentId, MessageId) {
    let now = t("2026-11-24T10:00:00Z");
    let mut tx = store.begin().await.unwrap();
    let e = tx.enrol(EnrolmentId(Uuid::now_v7()), seq, contact, "api", now).await.unwrap().unwrap();
    let m = NewMessage {
        id: MessageId(Uuid::now_v7()),
        enrolment_id: e.id,
        step_key: "welcome".into(),
        contact_id: contact,
        sequence_id: seq.id,
        template_id: TemplateId(Uuid::nil()),
        send_after: now,
        domain: Some("example.com".into()),
    };
    assert!(tx.reserve_message(&m, now).await.unwrap());
    tx.commit().await.unwrap();
    (e.id, m.id)
}

storage_tests! {
    async fn a_step_is_reserved_once_per_enrolment(store) {
        let (seq, contact) = setup(&store, false).await;
        let (enrolment, _) = enrol_and_reserve(&store, &seq, contact).await;
        let now = t("2026-11-24T10:00:00Z");
        let mut tx = store.begin().await.unwrap();
        let again = NewMessage {
            id: MessageId(Uuid::now_v7()),
            enrolment_id: enrolment,
            step_key: "welcome".into(),
            contact_id: contact,
            sequence_id: seq.id,
            template_id: TemplateId(Uuid::nil()),
            send_after: now,
            domain: None,
        };
        assert!(!tx.reserve_message(&again, now).await.unwrap(), "the same step is never reserved twice");
        // Enrolled already: a second enrolment is refused, and without re-enrolment also later.
        assert!(tx.enrol(EnrolmentId(Uuid::now_v7()), &seq, contact, "api", now).await.unwrap().is_none());
        let ended = tx.exit_enrolments(contact, None, ExitReason::Removed, now).await.unwrap();
        assert_eq!(ended.len(), 1);
        assert!(tx.enrol(EnrolmentId(Uuid::now_v7()), &seq, contact, "api", now).await.unwrap().is_none());
        tx.commit().await.unwrap();
    }

    async fn re_enrolment_is_a_per_sequence_choice(store) {
        let (seq, contact) = setup(&store, true).await;
        let now = t("2026-11-24T10:00:00Z");
        let mut tx = store.begin().await.unwrap();
        assert!(tx.enrol(EnrolmentId(Uuid::now_v7()), &seq, contact, "api", now).await.unwrap().is_some());
        assert!(tx.enrol(EnrolmentId(Uuid::now_v7()), &seq, contact, "api", now).await.unwrap().is_none(), "one active at a time");
        tx.exit_enrolments(contact, Some(seq.id), ExitReason::Removed, now).await.unwrap();
        assert!(tx.enrol(EnrolmentId(Uuid::now_v7()), &seq, contact, "api", now).await.unwrap().is_some());
        tx.commit().await.unwrap();
    }

    async fn only_one_sender_can_start_sending_a_message(store) {
        let (seq, contact) = setup(&store, false).await;
        let (_, id) = enrol_and_reserve(&store, &seq, contact).await;
        let now = t("2026-11-24T10:00:00Z");
        let lease = now + SignedDuration::from_secs(60);
        let mut tx = store.begin().await.unwrap();
        let first = tx.claim_messages(now, "a", lease, 10).await.unwrap();
        assert_eq!(first.len(), 1);
        assert!(tx.claim_messages(now, "b", lease, 10).await.unwrap().is_empty(), "claimed: others skip it");
        tx.commit().await.unwrap();
        // The claim lapses (its sender paused); another sender claims it with a new token.
        let later = lease + SignedDuration::from_secs(1);
        let mut tx = store.begin().await.unwrap();
        let second = tx.claim_messages(later, "b", later + SignedDuration::from_secs(60), 10).await.unwrap();
        assert_eq!(second.len(), 1);
        assert!(second[0].fence > first[0].fence);
        let stale = Fence { message: id, token: first[0].fence };
        let current = Fence { message: id, token: second[0].fence };
        assert!(!tx.mark_sending(stale, later, later + SignedDuration::from_secs(60)).await.unwrap(), "the stale sender stops");
        assert!(tx.mark_sending(current, later, later + SignedDuration::from_secs(60)).await.unwrap());
        assert!(!tx.mark_sending(current, later, later).await.unwrap(), "sending is entered once");
        assert!(tx.mark_sent(current, later, "250 2.0.0 Ok").await.unwrap());
        tx.commit().await.unwrap();
        let mut s = store.read().await.unwrap();
        let m = s.get_message(id).await.unwrap().unwrap();
        assert_eq!(m.state, MessageState::Sent);
        assert_eq!(m.attempts, 1);
    }

    async fn a_sender_that_died_mid_conversation_leaves_an_ambiguous_message(store) {
        let (seq, contact) = setup(&store, false).await;
        let (_, id) = enrol_and_reserve(&store, &seq, contact).await;
        let now = t("2026-11-24T10:00:00Z");
        let lease = now + SignedDuration::from_secs(60);
        let mut tx = store.begin().await.unwrap();
        let m = tx.claim_messages(now, "a", lease, 10).await.unwrap().remove(0);
        let f = Fence { message: id, token: m.fence };
        assert!(tx.mark_sending(f, now, lease).await.unwrap());
        tx.commit().await.unwrap();
        let mut tx = store.begin().await.unwrap();
        assert_eq!(tx.sweep_ambiguous(now).await.unwrap(), 0, "not before the lease ends");
        assert_eq!(tx.sweep_ambiguous(lease).await.unwrap(), 1);
        let after = lease + SignedDuration::from_secs(1);
        assert!(tx.claim_messages(after, "b", after + SignedDuration::from_secs(60), 10).await.unwrap().is_empty(), "never resent");
        assert_eq!(tx.messages_in(MessageState::Ambiguous, 10).await.unwrap().len(), 1);
        // The paused sender got its 250 after all: the doubt is lifted.
        assert!(tx.mark_sent(f, after, "250 Ok").await.unwrap());
        tx.commit().await.unwrap();
    }

    async fn a_temporary_refusal_goes_back_to_reserved_and_a_skip_is_final(store) {
        let (seq, contact) = setup(&store, false).await;
        let (_, id) = enrol_and_reserve(&store, &seq, contact).await;
        let now = t("2026-11-24T10:00:00Z");
        let lease = now + SignedDuration::from_secs(60);
        let retry = now + SignedDuration::from_mins(5);
        let mut tx = store.begin().await.unwrap();
        let m = tx.claim_messages(now, "a", lease, 10).await.unwrap().remove(0);
        let f = Fence { message: id, token: m.fence };
        tx.mark_sending(f, now, lease).await.unwrap();
        assert!(tx.mark_retry(f, retry, "451 try later").await.unwrap());
        assert!(tx.claim_messages(now, "a", lease, 10).await.unwrap().is_empty(), "not before its retry time");
        let m = tx.claim_messages(retry, "a", retry + SignedDuration::from_secs(60), 10).await.unwrap().remove(0);
        let f = Fence { message: id, token: m.fence };
        assert!(tx.mark_skipped(f, "do_not_email").await.unwrap());
        tx.commit().await.unwrap();
        let mut s = store.read().await.unwrap();
        let m = s.get_message(id).await.unwrap().unwrap();
        assert_eq!((m.state, m.skip_reason.as_deref()), (MessageState::Skipped, Some("do_not_email")));
    }

    async fn soft_bounces_add_up_to_hard_and_a_delivery_resets_them(store) {
        let (_, contact) = setup(&store, false).await;
        let now = t("2026-11-24T10:00:00Z");
        let mut tx = store.begin().await.unwrap();
        assert!(!tx.record_bounce(contact, BounceKind::Soft, now, 3).await.unwrap());
        assert!(!tx.record_bounce(contact, BounceKind::Soft, now, 3).await.unwrap());
        tx.record_delivered(contact, now).await.unwrap();
        assert_eq!(tx.recipient(contact).await.unwrap().soft_bounces, 0);
        assert!(!tx.record_bounce(contact, BounceKind::Soft, now, 3).await.unwrap());
        assert!(!tx.record_bounce(contact, BounceKind::Soft, now, 3).await.unwrap());
        assert!(tx.record_bounce(contact, BounceKind::Soft, now, 3).await.unwrap(), "the third in a row is hard");
        assert!(tx.recipient(contact).await.unwrap().unsubscribed_at.is_none(), "bouncing is not unsubscribing");
        assert!(tx.record_unsubscribe(contact, now).await.unwrap());
        assert!(!tx.record_unsubscribe(contact, now).await.unwrap(), "the first unsubscription is kept");
        tx.commit().await.unwrap();
    }

    async fn due_enrolments_are_claimed_once_and_moved_under_the_claim(store) {
        let (seq, contact) = setup(&store, false).await;
        let now = t("2026-11-24T10:00:00Z");
        let mut tx = store.begin().await.unwrap();
        let e = tx.enrol(EnrolmentId(Uuid::now_v7()), &seq, contact, "api", now).await.unwrap().unwrap();
        let lease = now + SignedDuration::from_secs(60);
        let claimed = tx.claim_enrolments(now, lease, 10).await.unwrap();
        assert_eq!(claimed.len(), 1);
        assert!(tx.claim_enrolments(now, lease, 10).await.unwrap().is_empty());
        let wake = now + SignedDuration::from_hours(24);
        assert!(!tx.save_position(e.id, now, 1, now, Some(wake), None, now).await.unwrap(), "another claim's token");
        assert!(tx.save_position(e.id, lease, 1, now, Some(wake), None, now).await.unwrap());
        assert!(tx.claim_enrolments(now, lease, 10).await.unwrap().is_empty(), "not due before it wakes");
        assert_eq!(tx.wake_enrolments_of(&[contact], now).await.unwrap(), 1);
        let again = tx.claim_enrolments(now, lease, 10).await.unwrap();
        assert_eq!(again[0].step, 1);
        assert!(tx.save_position(e.id, lease, 1, now, None, None, now).await.unwrap());
        let done = tx.get_enrolment(e.id).await.unwrap().unwrap();
        assert_eq!((done.state.as_str(), done.exit_reason), ("completed", None));
        tx.commit().await.unwrap();
    }
}
