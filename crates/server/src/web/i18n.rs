//! The web UI's words in English and French. Each text is declared once with both translations
//! (the macro makes a missing translation a compile error), and dates and numbers are written as
//! each language writes them.

use jiff::Timestamp;
use jiff::tz::TimeZone;

macro_rules! texts {
    ($($key:ident: $en:literal, $fr:literal;)*) => {
        /// Every text of the UI in one language.
        pub struct Texts { $(pub $key: &'static str,)* }
        pub const EN: Texts = Texts { $($key: $en,)* };
        pub const FR: Texts = Texts { $($key: $fr,)* };
        /// Every text as (key, English, French): the tests that look for untranslated words read it.
        pub const ALL_KEYS: &[(&str, &str, &str)] = &[$((stringify!($key), $en, $fr),)*];
    };
}

texts! {
    nav_leads: "Leads", "Leads";
    colon: ":", "\u{a0}:";
    is_missing: " is missing", "\u{a0}: non renseigné";
    nav_queue: "My queue", "Ma file";
    nav_privacy: "Personal data", "Données personnelles";
    nav_menu: "Menu", "Menu";
    nav_label: "Main navigation", "Navigation principale";
    privacy_intro: "Erase people for good, see whom the retention rule erases next, and who did what.", "Effacer des personnes pour de bon, voir qui la règle de conservation effacera, et qui a fait quoi.";
    retention_title: "Retention", "Durée de conservation";
    retention_text: "Contacts with no contact coming from them for {days} days (none since {cutoff}) are listed here; the daily pass erases them {grace} days later, unless they reach out again. Opportunities and customers are kept. A visit, a click, a form, a request, a call or a meeting counts; an e-mail open does not.", "Les contacts sans aucun contact venant d’eux depuis {days} jours (aucun depuis le {cutoff}) sont listés ici ; le passage quotidien les efface {grace} jours plus tard, sauf s’ils se manifestent. Les opportunités et les clients sont conservés. Une visite, un clic, un formulaire, une demande, un appel ou un rendez-vous compte ; l’ouverture d’un e-mail, non.";
    retention_off: "Retention is off on this server: nobody is erased for inactivity (serve --retention-days).", "La durée de conservation est désactivée sur ce serveur : personne n’est effacé pour inactivité (serve --retention-days).";
    retention_due: "Due for erasure now", "À effacer maintenant";
    purge_now: "Erase them now", "Les effacer maintenant";
    purged: "Erased: {n}.", "Effacés : {n}.";
    nobody_due: "Nobody is due.", "Personne n’est concerné.";
    erase_list_title: "Erase people by e-mail", "Effacer des personnes par e-mail";
    erase_list_help: "One address per line, or a CSV whose first column is the address. Each address stays only as a keyed hash on the suppression list: no import, form or API call records the person again.", "Une adresse par ligne, ou un CSV dont la première colonne est l’adresse. Chaque adresse n’est conservée que sous forme d’empreinte chiffrée dans la liste d’exclusion : aucun import, formulaire ou appel d’API n’enregistre plus la personne.";
    erase_button: "Erase for good", "Effacer définitivement";
    not_an_email: "Line {line}: “{value}” is not an e-mail address; skipped.", "Ligne {line} : « {value} » n’est pas une adresse e-mail ; ignorée.";
    erase_receipt: "Erased {erased} of {asked} asked ({absent} already absent); {suppressed} newly on the suppression list.", "{erased} effacés sur {asked} demandés ({absent} déjà absents) ; {suppressed} nouvellement dans la liste d’exclusion.";
    audit_title: "Audit log", "Journal d’audit";
    audit_intro: "Sensitive actions, newest first: sign-ins, users and roles, API keys, exports, erasures, consents recorded by staff, rules, agreement, models and webhooks.", "Actions sensibles, les plus récentes d’abord : connexions, utilisateurs et rôles, clés d’API, exports, effacements, consentements saisis par l’équipe, règles, accord, modèles et webhooks.";
    audit_action: "Action (or a family, e.g. user)", "Action (ou une famille, ex. user)";
    audit_actor: "Who (e-mail)", "Qui (e-mail)";
    audit_target: "On", "Sur";
    audit_address: "From", "Depuis";
    audit_detail: "Detail", "Détail";
    audit_csv: "Download the log (CSV)", "Télécharger le journal (CSV)";
    export_person: "Download everything held about this person (zip)", "Télécharger tout ce qui concerne cette personne (zip)";
    erase_person: "Erase this person", "Effacer cette personne";
    erase_confirm: "I understand: everything about this person is deleted, and their e-mail is never recorded again.", "J’ai compris : tout ce qui concerne cette personne est supprimé, et son e-mail ne sera plus jamais enregistré.";
    erase_unconfirmed: "Tick the box to confirm the erasure.", "Cochez la case pour confirmer l’effacement.";
    erased_notice: "The person was erased.", "La personne a été effacée.";
    objected: "Objected", "Opposé";
    task_reach_decision_maker: "Reach the decision maker: an intermediary of theirs made a {kind}", "Joindre le décideur : un intermédiaire de son entreprise a fait cette demande : {kind}";
    notes_title: "Notes", "Notes";
    note_new: "A note for the team (what was said, what to remember)", "Une note pour l’équipe (ce qui a été dit, ce qu’il faut retenir)";
    new_contact: "New contact or request", "Nouveau contact ou demande";
    new_contact_intro: "A call, a trade-fair sheet, someone met: recorded on the contact with that e-mail if there is one (its data completed, never overwritten), else on a new lead, and scored at once.", "Un appel, une fiche de salon, une rencontre : enregistré sur le contact qui a cet e-mail s’il existe (ses données complétées, jamais écrasées), sinon sur un nouveau lead, et noté aussitôt.";
    channel: "How it came in", "Comment c’est arrivé";
    channel_phone: "Phone call", "Appel téléphonique";
    channel_trade_fair: "Trade fair", "Salon";
    channel_email: "E-mail", "E-mail";
    channel_meeting: "Met in person", "Rencontre";
    channel_other: "Other", "Autre";
    asked_for: "What they asked for", "Ce qu’il ou elle a demandé";
    kind_by_channel: "As the channel says", "Selon le canal";
    first_name: "First name", "Prénom";
    last_name: "Last name", "Nom";
    campaign: "Campaign (e.g. the fair)", "Campagne (ex. le salon)";
    preferences_title: "Your preferences", "Vos préférences";
    preferences_granted: "you agreed.", "vous avez accepté.";
    preferences_not_granted: "you did not agree, or withdrew.", "vous n’avez pas accepté, ou vous avez retiré votre accord.";
    preferences_withdraw: "Withdraw", "Retirer mon accord";
    preferences_no_email: "We no longer send you marketing e-mails.", "Nous ne vous envoyons plus d’e-mails de prospection.";
    preferences_object_help: "You may also object to all direct marketing: we will no longer contact you to sell, nor analyse your interest.", "Vous pouvez aussi vous opposer à toute prospection : nous ne vous contacterons plus pour vendre et n’analyserons plus votre intérêt.";
    preferences_object: "Object to all direct marketing", "M’opposer à toute prospection";
    preferences_objected: "You objected to direct marketing: we no longer contact you to sell.", "Vous vous êtes opposé à la prospection : nous ne vous contactons plus pour vendre.";
    nav_nurture: "Nurturing", "Nurturing";
    nurture_intro: "E-mail sequences for leads that are not ready for sales yet: each message is sent once, when the person may receive it.", "Des séquences d’e-mails pour les leads pas encore prêts pour les commerciaux : chaque message part une seule fois, quand la personne peut le recevoir.";
    sequences_title: "Sequences", "Séquences";
    templates_title: "E-mail templates", "Modèles d’e-mail";
    new_sequence: "New sequence", "Nouvelle séquence";
    new_template: "New template", "Nouveau modèle";
    seq_state_active: "active", "active";
    seq_state_paused: "paused", "en pause";
    seq_state_archived: "archived", "archivée";
    seq_enrolled_now: "In it now", "En cours";
    seq_enrolments_title: "Enrolments", "Inscriptions";
    seq_settings: "Settings", "Réglages";
    seq_completed: "Completed", "Terminées";
    seq_exited: "Left early", "Sorties avant la fin";
    seq_sent: "Sent", "Envoyés";
    seq_human_opens: "Opened by a person", "Ouverts par une personne";
    seq_all_opens: "Opened (incl. machines)", "Ouverts (machines comprises)";
    seq_clicks: "Clicked", "Cliqués";
    seq_delivered: "Delivered", "Délivrés";
    seq_converted: "Became MQL or further", "Devenus MQL ou plus";
    seq_unsubscribed: "Unsubscribed", "Désinscrits";
    monday: "Monday", "lundi";
    tuesday: "Tuesday", "mardi";
    wednesday: "Wednesday", "mercredi";
    thursday: "Thursday", "jeudi";
    friday: "Friday", "vendredi";
    saturday: "Saturday", "samedi";
    sunday: "Sunday", "dimanche";
    not_a_number: "Not a whole number", "Pas un nombre entier";
    settings_saved: "Sending rules saved.", "Règles d’envoi enregistrées.";
    nurture_settings: "Sending rules", "Règles d’envoi";
    set_sender: "Sender of messages whose template names none", "Expéditeur des messages dont le modèle n’en précise pas";
    set_from_name: "Sender name", "Nom de l’expéditeur";
    set_from_address: "Sender address", "Adresse de l’expéditeur";
    set_reply_to: "Replies go to", "Les réponses vont à";
    set_window: "Sending window, in the contact’s time zone (else the workspace’s)", "Créneau d’envoi, dans le fuseau horaire du contact (sinon celui de l’espace)";
    set_time_zone: "Workspace time zone", "Fuseau horaire de l’espace";
    set_from_hour: "From (hour, 0–23)", "De (heure, 0–23)";
    set_to_hour: "Until (hour, 1–24)", "Jusqu’à (heure, 1–24)";
    set_cap: "At most this many marketing e-mails to one person…", "Au plus ce nombre d’e-mails marketing à une même personne…";
    set_cap_hours: "…per this many hours, across every sequence", "…par ce nombre d’heures, toutes séquences confondues";
    set_rate: "Rate limits (empty: none)", "Limites de débit (vide : aucune)";
    set_rate_per_minute: "Messages per minute in all", "Messages par minute au total";
    set_rate_per_domain: "Messages per minute to one recipient domain", "Messages par minute vers un même domaine destinataire";
    set_tracking: "Record clicks and opens of each person", "Enregistrer les clics et ouvertures de chaque personne";
    seq_results: "Results per step", "Résultats par étape";
    seq_results_help: "Percentages are of the messages sent. Opens by machines (privacy proxies, scanners) are shown apart and never scored. A message counts as converted when its person became MQL or went further within this many days of it:", "Les pourcentages portent sur les messages envoyés. Les ouvertures par des machines (proxys de confidentialité, antivirus) sont comptées à part et jamais notées. Un message compte comme converti quand son destinataire est devenu MQL ou plus dans ce nombre de jours :";
    seq_bounces: "Bounced", "Rejetés (bounce)";
    seq_skipped: "Not sent (no consent…)", "Non envoyés (sans consentement…)";
    seq_ambiguous: "Uncertain (check the mail server)", "Incertains (voir le serveur de messagerie)";
    seq_waiting: "Waiting to go", "En attente d’envoi";
    seq_steps: "Steps", "Étapes";
    seq_step_key: "Key", "Clé";
    seq_step_type: "Step", "Étape";
    seq_step_template: "Template", "Modèle";
    seq_step_days: "Days", "Jours";
    seq_step_working: "working days", "jours ouvrés";
    seq_step_condition: "Condition", "Condition";
    seq_step_value: "Value (step key, page, form, temperature, stage)", "Valeur (clé d’étape, page, formulaire, température, étape du cycle)";
    seq_step_target: "Jump to step", "Aller à l’étape";
    seq_step_text: "Task or field", "Tâche ou champ";
    seq_step_field_value: "Field value", "Valeur du champ";
    seq_add_step: "Add a step: fill in the empty line.", "Ajouter une étape : remplir la ligne vide.";
    seq_type_send: "send an e-mail", "envoyer un e-mail";
    seq_type_wait: "wait", "attendre";
    seq_type_wait_for: "wait at most, for", "attendre au plus, que";
    seq_type_branch: "if … go to", "si … aller à";
    seq_type_set_field: "set a field", "renseigner un champ";
    seq_type_notify_owner: "task for the owner", "tâche pour le responsable";
    seq_type_end: "end", "fin";
    seq_type_remove: "(remove this step)", "(supprimer cette étape)";
    cond_clicked: "clicked a link of step", "a cliqué un lien de l’étape";
    cond_visited: "visited a page containing", "a visité une page contenant";
    cond_submitted_form: "submitted the form", "a envoyé le formulaire";
    cond_temperature: "is at least (cold, warm, hot)", "est au moins (froid, tiède, chaud)";
    cond_stage: "is at the stage", "est à l’étape du cycle";
    cond_engagement: "engagement score is at least (points)", "score d’engagement d’au moins (points)";
    cond_field_equals: "field equals (field value)", "champ égal à (champ valeur)";
    cond_field_not_equals: "field differs from (field value)", "champ différent de (champ valeur)";
    cond_field_contains: "field contains (field text)", "champ contenant (champ texte)";
    cond_field_is_set: "field is filled in (field)", "champ renseigné (champ)";
    cond_field_is_not_set: "field is empty (field)", "champ vide (champ)";
    seq_name: "Name", "Nom";
    seq_state: "State", "État";
    seq_purpose: "Consent needed", "Consentement requis";
    seq_purpose_none: "none (transactional)", "aucun (transactionnel)";
    seq_trigger: "Enrols automatically", "Inscription automatique";
    seq_trigger_none: "no: by hand only", "non : à la main seulement";
    seq_trigger_rejected: "when sales rejects a lead (recycling)", "quand les commerciaux rejettent un lead (recyclage)";
    seq_trigger_form: "when a form is submitted (slug, or empty for any)", "quand un formulaire est envoyé (identifiant, ou vide pour tous)";
    seq_trigger_stage: "when a contact enters the stage", "quand un contact arrive à l’étape du cycle";
    seq_trigger_cold: "when a lead has been cold for (days)", "quand un lead est froid depuis (jours)";
    seq_trigger_value: "Form or stage", "Formulaire ou étape du cycle";
    seq_reenrol: "A contact may go through it again", "Un contact peut la suivre à nouveau";
    seq_saved: "Sequence saved.", "Séquence enregistrée.";
    tpl_saved: "Template saved.", "Modèle enregistré.";
    tpl_language: "Language of the footer", "Langue du pied de message";
    tpl_subject: "Subject", "Objet";
    tpl_html: "Message (HTML; fields as {{ first_name | default(\"Bonjour\") }})", "Message (HTML ; champs comme {{ first_name | default(\"Bonjour\") }})";
    tpl_text: "Plain-text version (empty: made from the HTML)", "Version texte (vide : tirée du HTML)";
    tpl_from: "Sender address (empty: the workspace's)", "Adresse d’expéditeur (vide : celle de l’espace)";
    tpl_preview: "Preview for a contact (e-mail)", "Aperçu pour un contact (e-mail)";
    tpl_test: "Send a test to", "Envoyer un test à";
    tpl_test_sent: "Test sent: {reply}", "Test envoyé : {reply}";
    contact_sequences: "E-mail sequences", "Séquences d’e-mails";
    contact_enrol: "Enrol in", "Inscrire dans";
    contact_enrolled: "Enrolled.", "Inscrit.";
    contact_not_enrolled: "Not enrolled: {reason}.", "Non inscrit : {reason}.";
    contact_no_sequences: "In no sequence.", "Dans aucune séquence.";
    exit_completed: "completed", "terminée";
    exit_qualified: "left: qualified for sales", "sortie : qualifié pour les commerciaux";
    exit_unsubscribed: "left: unsubscribed", "sortie : désabonné";
    exit_consent_withdrawn: "left: consent withdrawn", "sortie : consentement retiré";
    exit_hard_bounced: "left: address bounced", "sortie : adresse en échec";
    exit_do_not_email: "left: do not e-mail", "sortie : ne pas écrire";
    exit_replied: "left: replied", "sortie : a répondu";
    exit_removed: "left: removed by hand", "sortie : retiré à la main";
    exit_sequence_archived: "left: sequence archived", "sortie : séquence archivée";
    exit_already: "already in it", "déjà inscrit";
    msg_reserved: "waiting to go", "en attente d’envoi";
    msg_sending: "being sent", "en cours d’envoi";
    msg_sent: "sent", "envoyé";
    msg_ambiguous: "uncertain: check the mail server", "incertain : voir le serveur de messagerie";
    msg_failed: "refused", "refusé";
    msg_bounced: "bounced", "rejeté (bounce)";
    msg_skipped: "not sent", "non envoyé";
    msg_opened_human: "opened", "ouvert";
    msg_clicked: "clicked", "cliqué";
    unsubscribe_title: "Unsubscribe", "Se désabonner";
    unsubscribe_ask: "Stop receiving our marketing e-mails?", "Ne plus recevoir nos e-mails marketing ?";
    unsubscribe_button: "Unsubscribe", "Me désabonner";
    unsubscribe_done: "You are unsubscribed: you will receive no more marketing e-mails from us.", "Vous êtes désabonné(e) : vous ne recevrez plus nos e-mails marketing.";
    unsubscribe_preferences: "Manage my preferences and consents", "Gérer mes préférences et consentements";
    unsubscribe_gone: "This link does not lead to any subscription (it may be mistyped, or your data was erased).", "Ce lien ne mène à aucun abonnement (il est peut-être mal copié, ou vos données ont été effacées).";
    preferences_saved: "Done: it takes effect now.", "C’est fait : c’est effectif immédiatement.";
    preferences_gone: "This link does not lead to any preferences (it may be mistyped, or your data was erased).", "Ce lien ne mène à aucune préférence (il est peut-être mal copié, ou vos données ont été effacées).";
    purpose_newsletter: "The newsletter", "La lettre d’information";
    purpose_prospecting: "Being contacted by our sales team", "Être contacté par notre équipe commerciale";
    preferences_link: "The person's preferences page (send them this link)", "La page de préférences de la personne (envoyez-lui ce lien)";
    objected_note: "Objected to direct marketing on {when}: no marketing, and neither scored nor predicted.", "S’est opposé à la prospection le {when} : plus de prospection, ni score ni prédiction.";
    object_button: "Record an objection to direct marketing", "Enregistrer une opposition à la prospection";
    nav_tasks: "Tasks", "Tâches";
    nav_account: "Account", "Compte";
    sign_out: "Sign out", "Se déconnecter";
    skip_to_content: "Skip to content", "Aller au contenu";
    language: "Language", "Langue";
    time_zone: "Time zone", "Fuseau horaire";
    time_zone_browser: "Your browser's ({zone})", "Celui de votre navigateur ({zone})";
    err_time_zone: "`{zone}` is not a time zone: pick one in the list, such as Europe/Paris", "« {zone} » n'est pas un fuseau horaire : choisissez-en un dans la liste, comme Europe/Paris";
    time_zone_hint: "Every time shown to you is in this zone, its name beside the time.", "Chaque heure affichée l'est dans ce fuseau, son nom à côté de l'heure.";
    language_browser: "As my browser", "Comme mon navigateur";
    save: "Save", "Enregistrer";
    sign_in_title: "Sign in to Leadgate", "Connexion à Leadgate";
    email: "E-mail", "E-mail";
    password: "Password", "Mot de passe";
    new_password: "New password (at least 10 characters)", "Nouveau mot de passe (10 caractères minimum)";
    repeat_password: "Repeat the new password", "Répétez le nouveau mot de passe";
    change_password: "Change my password", "Changer mon mot de passe";
    password_changed: "Your password was changed. Other sessions were signed out.", "Votre mot de passe a été changé. Vos autres sessions ont été fermées.";
    passwords_differ: "The two passwords differ.", "Les deux mots de passe diffèrent.";
    sign_in: "Sign in", "Se connecter";
    wrong_credentials: "Wrong e-mail or password.", "E-mail ou mot de passe incorrect.";
    sign_in_locked: "Too many failed attempts in a row: sign-in is paused for a few minutes. Wait, or ask an admin to reset your password.", "Trop d’essais infructueux d’affilée : la connexion est suspendue quelques minutes. Patientez, ou demandez à un administrateur de réinitialiser votre mot de passe.";
    current_password: "Current password", "Mot de passe actuel";
    revoke_api_keys: "Also revoke my API keys", "Révoquer aussi mes clés d’API";
    session_expired: "Your session expired. Please sign in again.", "Votre session a expiré. Reconnectez-vous.";
    form_expired: "This form expired. Please try again.", "Ce formulaire a expiré. Réessayez.";
    not_allowed: "Your role does not allow this.", "Votre rôle ne le permet pas.";
    not_found: "This page does not exist.", "Cette page n'existe pas.";
    leads_title: "Leads", "Leads";
    sla_by_week: "First-touch deadlines met, per week", "Délais de premier contact tenus, par semaine";
    sla_by_rep: "First-touch deadlines met, per rep", "Délais de premier contact tenus, par commercial";
    temperatures_over_time: "Open leads by temperature, day by day", "Leads ouverts par température, jour après jour";
    temperatures_not_yet: "Recorded once a day while the server runs: no day of this period is recorded yet.", "Relevé une fois par jour pendant que le serveur tourne : aucun jour de cette période n'est encore relevé.";
    event_detail: "Detail", "Détail";
    funnel_step: "Step", "Étape du parcours";
    rep_team: "Team", "Équipe";
    rep_manager: "Manager", "Responsable";
    rep_capacity: "Open prospects at most", "Prospects ouverts au plus";
    rep_available: "Available (routing gives them leads)", "Disponible (le routage lui confie des leads)";
    rep_countries: "Countries covered (comma-separated; empty: all)", "Pays couverts (séparés par des virgules ; vide : tous)";
    rep_sectors: "Sectors covered (empty: all)", "Secteurs couverts (vide : tous)";
    rep_min_employees: "Smallest company (employees)", "Plus petite entreprise (salariés)";
    rep_max_employees: "Largest company (employees)", "Plus grande entreprise (salariés)";
    rep_start: "Working day starts", "Début de journée";
    rep_end: "Working day ends", "Fin de journée";
    advanced_json: "Advanced: the same as JSON", "Avancé : la même chose en JSON";
    rules_history: "Versions", "Versions";
    restore: "Restore", "Rétablir";
    in_force: "In force", "En vigueur";
    who: "Who", "Qui";
    nav_forms: "Forms", "Formulaires";
    forms_title: "Forms and fields", "Formulaires et champs";
    forms_intro: "Web forms capture contacts with their consent; custom fields hold what your team records beyond the built-in ones.", "Les formulaires web captent des contacts avec leur consentement ; les champs personnalisés gardent ce que votre équipe note au-delà des champs intégrés.";
    web_forms: "Web forms", "Formulaires web";
    form_address: "Address", "Adresse";
    form_submissions: "Submissions", "Envois";
    new_form: "New form", "Nouveau formulaire";
    new_form_placeholder: "e.g. Contact us", "p. ex. Nous contacter";
    create: "Create", "Créer";
    custom_fields: "Custom fields", "Champs personnalisés";
    field_for: "For", "Pour";
    field_type: "Type", "Type";
    field_choices: "Choices (comma-separated)", "Choix (séparés par des virgules)";
    declare_field: "Add the field", "Ajouter le champ";
    entity_contact: "Contacts", "Contacts";
    entity_company: "Companies", "Entreprises";
    type_text: "Text", "Texte";
    type_number: "Number", "Nombre";
    type_boolean: "Yes or no", "Oui ou non";
    type_date: "Date", "Date";
    type_choice: "One of a list", "Un choix dans une liste";
    form_settings: "The form", "Le formulaire";
    form_slug: "Address name", "Nom dans l'adresse";
    form_event_kind: "What a submission records", "Ce qu'un envoi enregistre";
    form_description: "Description", "Description";
    form_submit_label: "Button", "Bouton";
    form_success_message: "Message after sending", "Message après l'envoi";
    form_origins: "Sites allowed to embed it (one per line, e.g. https://www.example.com)", "Sites autorisés à l'intégrer (un par ligne, p. ex. https://www.example.com)";
    form_fields: "Fields", "Champs";
    form_label: "Label", "Libellé";
    form_required: "Required", "Obligatoire";
    form_maps_to: "Goes to", "Va dans";
    form_event_only: "(the event only)", "(l'événement seulement)";
    form_consents: "Consent checkboxes", "Cases de consentement";
    form_purpose: "Purpose", "Finalité";
    form_consent_text: "Exact wording", "Texte exact";
    form_delete: "Delete the form", "Supprimer le formulaire";
    form_embed: "Embed it in a page", "L'intégrer à une page";
    form_embed_hint: "Paste this HTML into your site", "Collez ce HTML dans votre site";
    form_default_email: "E-mail", "E-mail";
    form_default_first_name: "First name", "Prénom";
    form_default_company: "Company", "Entreprise";
    form_default_submit: "Send", "Envoyer";
    form_default_thanks: "Thank you, we will be in touch.", "Merci, nous revenons vers vous.";
    agreement_terms: "Deadlines and what a missed one does", "Délais et conséquence d'un délai manqué";
    budget_hot: "First touch of a hot lead within (working minutes)", "Premier contact d'un lead chaud sous (minutes ouvrées)";
    budget_warm: "… of a warm lead within", "… d'un lead tiède sous";
    budget_cold: "… of a cold lead within", "… d'un lead froid sous";
    reminder_before: "Remind the rep this many minutes before", "Rappel au commercial ces minutes avant";
    on_breach: "When a deadline is missed", "Quand un délai est manqué";
    breach_flag: "Flag it (and tell webhooks)", "Le signaler (et prévenir les webhooks)";
    breach_notify_manager: "Also give the rep's manager a task", "Donner aussi une tâche au responsable";
    breach_reassign: "Also hand the lead to the next rep", "Confier aussi le lead au commercial suivant";
    recycle_days_label: "Days a rejected lead waits in nurturing", "Jours d'attente en maturation d'un lead rejeté";
    follow_up_days_label: "Working days before a follow-up task", "Jours ouvrés avant une tâche de relance";
    routing_title: "Routing rules", "Règles de routage";
    routing_intro: "Rules are tried in order: a lead goes to the first rule whose conditions it meets and that finds an available rep. An empty condition accepts every lead.", "Les règles sont essayées dans l'ordre : un lead va à la première règle dont il remplit les conditions et qui trouve un commercial disponible. Une condition vide accepte tous les leads.";
    routing_rule: "Rule", "Règle";
    routing_new: "New rule", "Nouvelle règle";
    routing_name: "Rule name", "Nom de la règle";
    routing_when: "Leads it takes", "Leads concernés";
    routing_countries: "Countries (comma-separated; empty: all)", "Pays (séparés par des virgules ; vide : tous)";
    routing_sectors: "Sectors (empty: all)", "Secteurs (vide : tous)";
    routing_sources: "Sources (empty: all)", "Sources (vide : toutes)";
    routing_min_employees: "Company size at least (employees)", "Entreprise d'au moins (salariés)";
    routing_max_employees: "Company size at most (employees)", "Entreprise d'au plus (salariés)";
    routing_any_temperature: "Temperatures (none ticked: all)", "Températures (aucune cochée : toutes)";
    routing_any_grade: "Fit grades (none ticked: all)", "Notes d'adéquation (aucune cochée : toutes)";
    routing_assign: "Hand to", "Confier à";
    routing_to_rep: "One rep", "Un commercial";
    routing_round_robin: "The team, in turn", "L'équipe, à tour de rôle";
    routing_least_loaded: "The team member with the fewest open leads", "Le membre de l'équipe le moins chargé";
    routing_weighted: "Reps in proportion to their weights", "Les commerciaux selon leur poids";
    routing_rep_hint: "Rep (for “one rep”)", "Commercial (pour « un commercial »)";
    routing_team_hint: "Team (for a team)", "Équipe (pour une équipe)";
    routing_weights: "Weights (for weights; empty or 0: none)", "Poids (pour les poids ; vide ou 0 : aucun)";
    routing_pick_rep: "pick the rep", "choisissez le commercial";
    routing_save: "Save the routing", "Enregistrer le routage";
    rules_weights: "Points and thresholds", "Points et seuils";
    rules_weights_hint: "The numbers of the rules in force; each rule's condition has its own form (Edit).", "Les nombres des règles en vigueur ; la condition de chaque règle a son propre formulaire (Modifier).";
    rules_fit: "Fit: what the contact and its company are", "Adéquation : ce que sont le contact et son entreprise";
    rules_engagement: "Engagement: what they do", "Engagement : ce qu'ils font";
    rules_grades: "Fit points for grades A, B and C", "Points d'adéquation pour les notes A, B et C";
    rules_half_life: "Days after which an action counts half", "Jours après lesquels une action compte pour moitié";
    rules_hot_engagement: "Hot from this engagement", "Chaud à partir de cet engagement";
    rules_warm_engagement: "Warm from this engagement", "Tiède à partir de cet engagement";
    rules_intent_days: "Days an intent signal keeps a lead hot", "Jours pendant lesquels un signal d'intention garde un lead chaud";
    rules_mql_grade: "An MQL has at least the fit grade", "Un MQL a au moins la note d'adéquation";
    rules_mql_engagement: "… and at least this engagement", "… et au moins cet engagement";
    rules_mql_when_hot: "… or is hot", "… ou est chaud";
    rules_disqualify_below: "Disqualify below these fit points (empty: never)", "Disqualifier sous ces points d'adéquation (vide : jamais)";
    rules_daily_cap: "At most a day", "Au plus par jour";
    rules_lifetime_cap: "At most in all", "Au plus en tout";
    rules_event_kind: "Event", "Événement";
    pages_label: "Pages", "Pages";
    show_table: "Show the figures", "Voir les chiffres";
    day: "Day", "Jour";
    companies_title: "Companies", "Entreprises";
    companies_search: "Name or domain", "Nom ou domaine";
    col_contacts: "Contacts", "Contacts";
    col_open_deals: "Open deals", "Affaires en cours";
    no_companies: "No company matches.", "Aucune entreprise ne correspond.";
    leads_count_one: "{n} lead matches", "{n} lead correspond";
    add_to_view: "Add to a saved view (its name)", "Ajouter à une vue enregistrée (son nom)";
    add_to_view_button: "Add to the view", "Ajouter à la vue";
    view_added_one: "{n} lead added to the view “{name}”.", "{n} lead ajouté à la vue « {name} ».";
    view_added_many: "{n} leads added to the view “{name}”.", "{n} leads ajoutés à la vue « {name} ».";
    leads_count_many: "{n} leads match", "{n} leads correspondent";
    leads_count_more: "More than {n} leads match", "Plus de {n} leads correspondent";
    move_to_stage: "Move to the stage", "Passer à l'étape";
    move_selected: "Move", "Déplacer";
    leads_intro: "Hottest first, then by engagement.", "Les plus chauds d'abord, puis par engagement.";
    filter_stage: "Stage", "Étape";
    filter_temperature: "Temperature", "Température";
    filter_grade: "Fit grade", "Note d'adéquation";
    filter_source: "Source", "Source";
    filter_owner: "Owner", "Responsable";
    filter_sequence: "In sequence", "Dans la séquence";
    filter_search: "Name or e-mail", "Nom ou e-mail";
    any: "Any", "Tous";
    open_leads: "Open (not customers or disqualified)", "Ouverts (ni clients ni disqualifiés)";
    apply: "Apply", "Appliquer";
    col_contact: "Contact", "Contact";
    col_company: "Company", "Entreprise";
    col_stage: "Stage", "Étape";
    col_temperature: "Temperature", "Température";
    col_grade: "Fit", "Adéquation";
    col_engagement: "Engagement", "Engagement";
    col_probability: "Will convert", "Conversion prévue";
    col_owner: "Owner", "Responsable";
    col_created: "Created", "Créé le";
    nobody: "Nobody", "Personne";
    no_leads: "No lead matches these filters.", "Aucun lead ne correspond à ces filtres.";
    next_page: "Next page", "Page suivante";
    previous_page: "Previous page", "Page précédente";
    stage_visitor: "Visitor", "Visiteur";
    stage_lead: "Lead", "Lead";
    stage_mql: "Marketing-qualified (MQL)", "Qualifié marketing (MQL)";
    stage_sql: "Sales-qualified (SQL)", "Qualifié ventes (SQL)";
    stage_opportunity: "Opportunity", "Opportunité";
    stage_customer: "Customer", "Client";
    stage_nurturing: "Nurturing", "En maturation";
    stage_disqualified: "Disqualified", "Disqualifié";
    stage_intermediary: "Intermediary", "Intermédiaire";
    stage_churned: "Churned", "Client parti";
    hot: "Hot", "Chaud";
    warm: "Warm", "Tiède";
    cold: "Cold", "Froid";
    identity: "Identity", "Identité";
    job_title: "Job title", "Fonction";
    phone: "Phone", "Téléphone";
    country: "Country", "Pays";
    stage_history: "Stage history", "Historique des étapes";
    from_stage: "From", "De";
    to_stage: "To", "À";
    when: "When", "Quand";
    why: "Why", "Pourquoi";
    profile_title: "Where this contact stands", "Où en est ce contact";
    has_bought: "Has bought", "A acheté";
    needs_known: "Needs known", "Besoins connus";
    interest_shown: "Interest shown", "Intérêt montré";
    process_started: "Buying process started", "Processus d'achat engagé";
    yes: "Yes", "Oui";
    no: "No", "Non";
    unknown: "Unknown", "Inconnu";
    score_title: "Score, exactly", "Le score, exactement";
    fit: "Fit", "Adéquation";
    engagement: "Engagement", "Engagement";
    temperature: "Temperature", "Température";
    rule: "Rule", "Règle";
    evidence: "Because", "Parce que";
    points: "Points", "Points";
    event: "Event", "Événement";
    before_decay: "Before decay", "Avant atténuation";
    decay: "Decay", "Atténuation";
    counted: "Counted", "Compté";
    cap: "Cap", "Plafond";
    total: "Total", "Total";
    half_life: "Half-life (days)", "Demi-vie (jours)";
    knockouts: "Knock-outs", "Critères éliminatoires";
    prediction_title: "Chance of converting", "Chance de conversion";
    no_model: "No prediction model is active yet.", "Aucun modèle de prédiction n'est encore actif.";
    model_version: "Model version", "Version du modèle";
    factor: "What weighs", "Ce qui pèse";
    effect: "Effect", "Effet";
    log_odds: "Effect on the log-odds of converting", "Effet sur le logarithme de la cote de conversion";
    base_value: "Starting point (no information)", "Point de départ (sans information)";
    checklist_title: "Qualification", "Qualification";
    need: "Need", "Besoin";
    budget: "Budget", "Budget";
    authority: "Authority", "Pouvoir de décision";
    timing: "Timing", "Échéance";
    note: "Note", "Note";
    assignment_title: "Hand-off to sales", "Transmission aux ventes";
    no_assignment: "Not handed to sales.", "Pas transmis aux ventes.";
    rep: "Rep", "Commercial";
    due: "First touch due", "Premier contact avant";
    sla_on_track: "On track", "Dans les temps";
    sla_warning: "Deadline close", "Échéance proche";
    sla_breached: "Deadline missed", "Échéance dépassée";
    sla_met: "Touched in time", "Contacté à temps";
    sla_missed: "Touched late", "Contacté en retard";
    sla_unassigned: "Waiting for a rep", "En attente d'un commercial";
    sla_no_deadline: "Taken without a deadline", "Pris sans échéance";
    accepted_on: "Accepted by sales", "Accepté par les ventes";
    lead_accepted: "Accepted, being worked", "Accepté, en cours";
    timeline_title: "Timeline", "Chronologie";
    no_events: "Nothing recorded yet.", "Rien d'enregistré pour l'instant.";
    consents_title: "Consent", "Consentements";
    no_consents: "No consent recorded.", "Aucun consentement enregistré.";
    granted: "Granted", "Accordé";
    refused: "Refused", "Refusé";
    consent_requests_title: "Waiting for the person's confirmation", "En attente de la confirmation de la personne";
    consent_requests_why: "Someone filled in a form with this e-mail address. Consent changes only once the person confirms it.", "Quelqu’un a rempli un formulaire avec cette adresse e-mail. Le consentement ne change qu’une fois confirmé par la personne.";
    consent_grant_requested: "consent asked", "consentement demandé";
    consent_withdrawal_requested: "withdrawal asked", "retrait demandé";
    actions_title: "Actions", "Actions";
    log_touch: "Log a touch", "Noter un contact";
    kind_call: "Call", "Appel";
    kind_email: "E-mail", "E-mail";
    kind_meeting: "Meeting", "Rendez-vous";
    outcome: "Outcome", "Résultat";
    interest_weak: "Weak", "Faible";
    interest_real: "Real", "Réel";
    interest_high: "High", "Fort";
    reached: "Reached", "Joint";
    no_reply: "No reply", "Pas de réponse";
    accept: "Accept (sales)", "Accepter (ventes)";
    reject: "Reject (sales)", "Rejeter (ventes)";
    reason: "Reason", "Motif";
    reason_not_a_fit: "Not a fit", "Pas adapté";
    reason_no_budget: "No budget", "Pas de budget";
    reason_no_authority: "No authority (intermediary)", "Pas décisionnaire (intermédiaire)";
    reason_bad_data: "Bad data", "Données erronées";
    reason_duplicate: "Duplicate", "Doublon";
    reason_unreachable: "Unreachable", "Injoignable";
    reason_other: "Other (say why)", "Autre (précisez)";
    disqualify: "Disqualify", "Disqualifier";
    mark_intermediary: "Mark as intermediary", "Marquer comme intermédiaire";
    done: "Done.", "C'est fait.";
    queue_title: "My queue", "Ma file";
    queue_intro: "What to do next first: leads past their deadline, then hot, warm and cold ones, the likeliest to convert first.", "Ce qu’il faut faire d’abord : les leads dont l’échéance est passée, puis les chauds, tièdes et froids, les plus susceptibles de convertir en premier.";
    queue_mine: "My leads", "Mes leads";
    queue_whose: "Queue of", "File de";
    queue_count: "leads", "leads";
    time_left: "Time left", "Temps restant";
    overdue: "Overdue", "En retard";
    tasks_title: "My tasks", "Mes tâches";
    no_tasks: "No open task.", "Aucune tâche ouverte.";
    tasks_today: "Today", "Aujourd’hui";
    tasks_later: "Later", "Plus tard";
    mark_done: "Mark done", "Marquer comme faite";
    title: "Title", "Intitulé";
    error_title: "Something went wrong", "Un problème est survenu";
    ev_page_view: "Page viewed", "Page vue";
    ev_form_submitted: "Form submitted", "Formulaire envoyé";
    ev_content_downloaded: "Content downloaded", "Contenu téléchargé";
    ev_white_paper_downloaded: "White paper downloaded", "Livre blanc téléchargé";
    ev_newsletter_signup: "Newsletter signup", "Inscription à la newsletter";
    ev_webinar_registered: "Registered for a webinar", "Inscrit à un webinaire";
    ev_webinar_attended: "Attended a webinar", "A assisté à un webinaire";
    ev_email_opened: "E-mail opened", "E-mail ouvert";
    ev_email_clicked: "E-mail link clicked", "Lien d'e-mail cliqué";
    ev_trade_fair_visit: "Trade-fair visit", "Visite sur un salon";
    ev_information_request: "Information request", "Demande d'information";
    ev_quote_request: "Quote request", "Demande de devis";
    ev_demo_request: "Demo request", "Demande de démo";
    ev_contact_sales_request: "Asked to talk to sales", "Demande de contact commercial";
    ev_call_logged: "Call", "Appel";
    ev_meeting_logged: "Meeting", "Rendez-vous";
    ev_email_logged: "E-mail exchanged", "E-mail échangé";
    ev_unsubscribed: "Unsubscribed", "Désinscrit";
    ev_email_bounced: "E-mail bounced", "E-mail rejeté";
    cap_daily: "daily cap", "plafond quotidien";
    err_field: "{field}: this value is refused ({detail})", "{field} : valeur refusée ({detail})";
    err_state: "This action does not fit where this contact stands now.", "Cette action ne convient pas à l'étape actuelle de ce contact.";
    err_conflict: "{field}: already used", "{field} : déjà utilisé";
    err_password_short: "password: use at least 10 characters", "mot de passe : au moins 10 caractères";
    err_internal_url: "url: this address is on a private network; webhooks go to public receivers", "url : cette adresse est sur un réseau privé ; les webhooks vont vers des destinataires publics";
    err_event_types: "events: choose at least one", "événements : choisissez-en au moins un";
    err_email: "e-mail: not a valid address", "e-mail : adresse non valide";
    err_json: "{path} (line {line}, column {column}): not a valid value here", "{path} (ligne {line}, colonne {column}) : valeur non valide ici";
    moved_by_hand: "moved by hand", "déplacé à la main";
    rejected_by_sales: "rejected by sales", "rejeté par les ventes";
    rule_mql: "marketing's thresholds met (fit grade and engagement, or hot)", "seuils du marketing atteints (note d'adéquation et engagement, ou chaud)";
    rule_authority: "the contact has no buying authority", "le contact n'a pas de pouvoir d'achat";
    rule_knockout: "knock-out", "critère éliminatoire";
    rule_fit_floor: "fit below the floor", "adéquation sous le plancher";
    rule_requalified: "no knock-out or floor disqualifies it any more", "plus aucun critère éliminatoire ni plancher ne le disqualifie";
    rule_sales_accepted: "sales accepted the lead and its checklist is complete", "les ventes ont accepté le lead et sa qualification est complète";
    by_import: "import", "import";
    by_deal: "a deal", "une affaire";
    routed_by_rule: "routing rule", "règle d'attribution";
    routed_by_hand: "assigned by hand", "attribué à la main";
    no_eligible_rep: "no eligible rep", "aucun commercial disponible";
    task_first_contact: "First contact with this new lead", "Premier contact avec ce nouveau lead";
    task_follow_up: "Follow up: no reply", "Relance : pas de réponse";
    task_manager: "A rep missed the first-touch deadline on this lead", "Un commercial a dépassé le délai de premier contact sur ce lead";
    why_intent: "intent signal: {kind} on {on} (within {days} days)", "signal d'intention : {kind} le {on} (depuis moins de {days} jours)";
    why_pricing: "{visits} pricing page visits in the last {days} days", "{visits} visites de la page des tarifs ces {days} derniers jours";
    why_hot: "engagement {e} is at or above the hot threshold {x}", "engagement {e}, au moins le seuil chaud {x}";
    why_warm: "engagement {e} is at or above the warm threshold {x}", "engagement {e}, au moins le seuil tiède {x}";
    why_recent: "active in the last {days} days: {label} on {on}", "actif ces {days} derniers jours : {label} le {on}";
    why_cold: "engagement {e} is below the warm threshold {x} and no intent signal", "engagement {e} sous le seuil tiède {x}, sans signal d'intention";
    cap_lifetime: "lifetime cap", "plafond total";
    nav_dashboard: "Dashboard", "Tableau de bord";
    sla_title: "Sales agreement", "Accord marketing–ventes";
    sla_compliance: "Touched within the deadline", "Contactés dans les délais";
    assigned_leads: "Leads handed to sales", "Leads transmis aux ventes";
    waiting_leads: "Waiting for a rep", "En attente d'un commercial";
    median_first_touch: "Median time to first touch", "Délai médian du premier contact";
    rejections: "Rejections", "Rejets";
    none: "None", "Aucun";
    saved_views: "Saved views", "Vues enregistrées";
    save_view: "Save these filters as", "Enregistrer ces filtres sous";
    view_name: "View name", "Nom de la vue";
    remove: "Remove", "Retirer";
    nav_import: "Import", "Importer";
    import_title: "Import a CSV file", "Importer un fichier CSV";
    import_intro: "Contacts, companies or deals from a spreadsheet or another tool's export. Rows already imported are recognised (external id, then e-mail). Importing again updates values from the file, but keeps a value changed in Leadgate since the last import, unless you tick “Overwrite”.", "Contacts, entreprises ou affaires depuis un tableur ou l'export d'un autre outil. Les lignes déjà importées sont reconnues (identifiant externe, puis e-mail). Réimporter met à jour les valeurs depuis le fichier, mais garde une valeur modifiée dans Leadgate depuis le dernier import, sauf si vous cochez « Écraser ».";
    scoring_for_file: "Scoring rules for this file", "Règles de score pour ce fichier";
    scoring_for_file_why: "The active scoring rules read none of this file's fields, so its leads stay cold. Built-in rules are made for it: review them in the editor, preview what they change, then save.", "Les règles de score actives ne lisent aucun champ de ce fichier : ses leads restent froids. Des règles intégrées sont faites pour lui : relisez-les dans l'éditeur, prévisualisez leur effet, puis enregistrez.";
    use_preset_rules: "Open the rules made for this file", "Ouvrir les règles faites pour ce fichier";
    rules_from_preset: "built-in rules {name}", "règles intégrées {name}";
    leaks_title: "Fields that tell the outcome almost alone", "Champs qui donnent presque seuls le résultat";
    leaks_why: "Each of these fields separates converted contacts from the others almost perfectly by itself. Such a field is usually filled in after the outcome (by sales, or by the conversion itself): the quality shown overstates what the model knows about a new lead. Unless new leads have it too, train again without it.", "Chacun de ces champs sépare presque parfaitement, à lui seul, les contacts convertis des autres. Un tel champ est en général rempli après le résultat (par les ventes, ou par la conversion elle-même) : la qualité affichée surestime ce que le modèle sait d'un nouveau lead. Sauf si les nouveaux leads l'ont aussi, entraînez de nouveau sans lui.";
    field: "Field", "Champ";
    auc_alone: "ROC AUC alone", "ROC AUC seul";
    fields_dropped: "Left out on their own", "Écartés d'office";
    dropped_all_missing: "no contact has a value", "aucun contact n'a de valeur";
    dropped_single_value: "every contact has the same value ({value})", "tous les contacts ont la même valeur ({value})";
    dropped_no_frequent: "no value occurs {n} times or more (free text or an identifier?)", "aucune valeur n'apparaît {n} fois ou plus (texte libre ou identifiant ?)";
    dropped_duplicate: "another field has the same name", "un autre champ porte le même nom";
    dropped_identifier: "every contact has its own whole number: an identifier, not a trait of the lead", "chaque contact a son propre numéro : un identifiant, pas un trait du lead";
    back_to_leads: "Back to the leads", "Retour aux leads";
    bad_address: "This address is not valid: {detail}", "Cette adresse n'est pas valide : {detail}";
    bad_form: "The form could not be read: {detail}", "Le formulaire n'a pas pu être lu : {detail}";
    page_not_found: "There is no page at this address.", "Il n'y a pas de page à cette adresse.";
    visibility_title: "What sales reps see", "Ce que voient les commerciaux";
    visibility_intro: "A rep always changes only its own leads (a manager: also its reps'). Admins and marketing see every lead.", "Un commercial ne modifie que ses propres leads (un manager : aussi ceux de ses commerciaux). Les administrateurs et le marketing voient tous les leads.";
    reps_see: "Reps read", "Les commerciaux voient";
    reps_see_own: "their own leads", "leurs propres leads";
    reps_see_team: "their team's leads", "les leads de leur équipe";
    reps_see_all: "every contact", "tous les contacts";
    reps_see_unassigned: "and the leads waiting for a rep (they may take them)", "et les leads en attente d'un commercial (qu'ils peuvent prendre)";
    err_unavailable: "The database is busy or unavailable. Try again in a few seconds.", "La base de données est occupée ou indisponible. Réessayez dans quelques secondes.";
    err_disk_full: "The disk holding the database is full: nothing can be saved until an administrator frees space. You can still read.", "Le disque de la base de données est plein : rien ne peut être enregistré tant qu'un administrateur n'a pas libéré de la place. La lecture reste possible.";
    overwrite_edits: "Overwrite values changed in Leadgate since the last import", "Écraser les valeurs modifiées dans Leadgate depuis le dernier import";
    kept_edited: "{n} values changed in Leadgate since the last import were kept ({fields}); import again with “Overwrite” to replace them.", "{n} valeurs modifiées dans Leadgate depuis le dernier import ont été gardées ({fields}) ; réimportez avec « Écraser » pour les remplacer.";
    what_to_import: "What the file holds", "Ce que contient le fichier";
    entity_contacts: "Contacts", "Contacts";
    entity_companies: "Companies", "Entreprises";
    entity_deals: "Deals", "Affaires";
    file: "File (CSV, up to 64 MiB)", "Fichier (CSV, 64 Mio au plus)";
    preset: "Saved mapping", "Correspondance enregistrée";
    preset_none: "None: recognise the headers", "Aucune : reconnaître les en-têtes";
    missing_values: "Values meaning \"empty\" (comma-separated)", "Valeurs signifiant « vide » (séparées par des virgules)";
    outcome_column: "Outcome column (converted?)", "Colonne de résultat (converti ?)";
    outcome_positive: "Its value when converted", "Sa valeur quand converti";
    upload_and_preview: "Upload and preview", "Envoyer et prévisualiser";
    detected_mapping: "Detected mapping", "Correspondance détectée";
    column: "Column", "Colonne";
    goes_to: "Goes to", "Va dans";
    chosen_by: "Chosen by", "Choisi par";
    first_rows: "First rows", "Premières lignes";
    rows_in_file: "{n} rows, delimiter {d}", "{n} lignes, séparateur {d}";
    map_override: "Send a column elsewhere: field=Column, one per line (field: email, first_name, …, custom.key, ignore)", "Envoyer une colonne ailleurs : champ=Colonne, une par ligne (champ : email, first_name, …, custom.cle, ignore)";
    preview_again: "Preview again", "Prévisualiser à nouveau";
    run_import: "Import", "Importer";
    importing: "Importing: {done} of {total} rows…", "Import : {done} lignes sur {total}…";
    imported: "Imported: {created} created, {updated} updated, {unchanged} unchanged, {rejected} rejected.", "Importé : {created} créés, {updated} mis à jour, {unchanged} inchangés, {rejected} rejetés.";
    import_failed: "The import failed", "L'import a échoué";
    download_rejects: "Download the rejected rows (CSV)", "Télécharger les lignes rejetées (CSV)";
    nav_admin: "Admin", "Administration";
    admin_users: "Users", "Utilisateurs";
    admin_handoff: "Sales agreement", "Accord marketing–ventes";
    admin_webhooks: "Webhooks", "Webhooks";
    name: "Name", "Nom";
    role: "Role", "Rôle";
    role_admin: "Admin", "Administrateur";
    role_marketing: "Marketing", "Marketing";
    role_sales: "Sales", "Ventes";
    status: "Status", "État";
    enabled: "Enabled", "Actif";
    disabled: "Disabled", "Désactivé";
    disable: "Disable", "Désactiver";
    enable: "Enable", "Réactiver";
    add_user: "Add a user", "Ajouter un utilisateur";
    add: "Add", "Ajouter";
    set_password: "Set password", "Définir le mot de passe";
    agreement_intro: "Routing rules, first-touch deadlines (working minutes by temperature and grade), reminder, what a breach does, recycling. Saved as a new version; it applies to leads routed from now on.", "Règles d'attribution, délais de premier contact (minutes ouvrées par température et note), rappel, conséquence d'un dépassement, recyclage. Enregistré comme nouvelle version ; s'applique aux leads attribués désormais.";
    agreement_errors: "This agreement cannot be saved:", "Cet accord ne peut pas être enregistré :";
    reps_title: "Sales reps", "Commerciaux";
    rep_profile: "Profile (JSON: territory, sectors, sizes, team, working hours, capacity)", "Profil (JSON : territoire, secteurs, tailles, équipe, horaires, capacité)";
    not_a_rep: "Not a rep yet", "Pas encore commercial";
    webhooks_intro: "Signed POSTs of what happens, retried for 24 hours. The secret is shown once, when you subscribe.", "Envois POST signés de ce qui se passe, réessayés pendant 24 heures. Le secret n'est affiché qu'une fois, à l'abonnement.";
    url: "URL", "URL";
    event_types: "Events", "Événements";
    subscribe: "Subscribe", "S'abonner";
    secret_once: "Signing secret (copy it now, it will not be shown again):", "Secret de signature (copiez-le maintenant, il ne sera plus affiché) :";
    deliveries: "Deliveries", "Envois";
    attempts: "Attempts", "Tentatives";
    latency: "Latency", "Latence";
    redeliver: "Send again", "Renvoyer";
    delete: "Delete", "Supprimer";
    nav_rules: "Scoring rules", "Règles de score";
    rules_title: "Scoring rules", "Règles de score";
    rules_intro: "The rules as JSON (see docs/scoring.md). Preview shows what they would change on your contacts; saving rescores everyone in the background.", "Les règles en JSON (voir docs/scoring.md). L'aperçu montre ce qu'elles changeraient sur vos contacts ; l'enregistrement recalcule tous les scores en arrière-plan.";
    rules_version: "Version in force", "Version en vigueur";
    preview: "Preview", "Aperçu";
    save_and_rescore: "Save and rescore everyone", "Enregistrer et recalculer";
    comment: "Why this change", "Raison du changement";
    rules_errors: "These rules cannot be used yet:", "Ces règles ne peuvent pas encore être utilisées :";
    preview_title: "If you save these rules", "Si vous enregistrez ces règles";
    preview_estimated: "Estimated from an even sample of {n} contacts.", "Estimation sur un échantillon régulier de {n} contacts.";
    preview_exact: "Computed on all {n} contacts.", "Calculé sur les {n} contacts.";
    would_become_mql: "would become MQL", "deviendraient MQL";
    would_leave_mql: "would stop being MQL", "ne seraient plus MQL";
    would_change_stage: "would change stage otherwise", "changeraient d'étape autrement";
    would_become_hot: "would become hot", "deviendraient chauds";
    would_become_warm: "would become warm", "deviendraient tièdes";
    would_drop_to_cold: "would drop to cold", "redeviendraient froids";
    would_change_grade: "would change fit grade", "changeraient de note d'adéquation";
    rescoring: "Rescoring: {done} of {total} contacts…", "Recalcul : {done} contacts sur {total}…";
    rescored: "Rescoring finished: every contact has its new score.", "Recalcul terminé : chaque contact a son nouveau score.";
    rescore_failed: "Rescoring failed", "Le recalcul a échoué";
    select_row: "Select", "Sélectionner";
    with_selected: "With the selected leads", "Avec les leads sélectionnés";
    assign_to: "Assign to", "Attribuer à";
    assign: "Assign", "Attribuer";
    disqualify_reason: "Disqualify, reason", "Disqualifier, motif";
    export_csv: "Export these leads (CSV)", "Exporter ces leads (CSV)";
    nothing_selected: "Select at least one lead first.", "Sélectionnez d'abord au moins un lead.";
    bulk_done: "Done for {n} leads.", "Fait pour {n} leads.";
    bulk_partly: "Done for {n} leads; refused for {m}:", "Fait pour {n} leads ; refusé pour {m} :";
    nav_model: "Prediction", "Prédiction";
    dashboard_title: "Funnel", "Entonnoir";
    period_from: "From", "Du";
    period_to: "To (included)", "Au (inclus)";
    funnel_leads: "New contacts", "Nouveaux contacts";
    funnel_mql: "Became MQL", "Devenus MQL";
    funnel_sql: "Became SQL", "Devenus SQL";
    funnel_opportunity: "Became opportunities", "Devenus opportunités";
    funnel_customer: "Became customers", "Devenus clients";
    nav_pipeline: "Pipeline", "Pipeline";
    pipeline_title: "Pipeline", "Pipeline";
    deal_awareness: "Awareness", "Découverte";
    deal_first_contact: "First contact", "Premier contact";
    deal_qualification: "Qualification", "Qualification";
    deal_proposal: "Tailored proposal", "Proposition sur mesure";
    deal_negotiation: "Negotiation", "Négociation";
    deal_won: "Won", "Gagnée";
    deal_lost: "Lost", "Perdue";
    deal_value: "Value", "Montant";
    deal_probability: "Win probability", "Probabilité de gain";
    deal_weighted: "Weighted", "Pondéré";
    deal_product: "Product", "Produit";
    deal_expected_close: "Expected close", "Signature prévue";
    deal_in_stage_since: "In this stage since", "Dans cette étape depuis";
    deal_closed_on: "Closed on", "Conclue le";
    deal_lost_reason: "Lost because", "Perdue car";
    deal_created: "(created)", "(créée)";
    deal_rotting: "No activity lately", "Sans activité récente";
    deal_drag_hint: "Drag a card onto another column to move the deal (a lost deal asks for its reason), or use its list.", "Glissez une carte sur une autre colonne pour déplacer l’affaire (une affaire perdue demande sa raison), ou utilisez sa liste.";
    deal_move: "Move", "Déplacer";
    pipeline_settings: "Stages and reasons", "Étapes et motifs";
    pipeline_settings_hint: "Deals go through the open stages in this order, then to won or lost. A stage can be renamed at any time and removed once no open deal is in it; its history stays.", "Les affaires passent par les étapes ouvertes dans cet ordre, puis sont gagnées ou perdues. Une étape peut être renommée à tout moment et retirée quand plus aucune affaire ouverte n'y est ; son historique reste.";
    pipeline_settings_read_only: "Only an administrator can change these settings.", "Seul un administrateur peut modifier ces réglages.";
    pipeline_settings_saved: "Pipeline settings saved.", "Réglages du pipeline enregistrés.";
    stage_order: "Order", "Ordre";
    stage_name: "Name", "Nom";
    stage_key: "Key", "Clé";
    stage_remove: "Remove", "Retirer";
    stage_new: "New stage", "Nouvelle étape";
    lost_reasons_label: "Reasons a deal is lost (one per line)", "Motifs de perte d'une affaire (un par ligne)";
    rotting_days_label: "Days without activity before a deal is flagged", "Jours sans activité avant qu'une affaire soit signalée";
    currency_label: "Currency of values (ISO code, e.g. EUR)", "Devise des montants (code ISO, p. ex. EUR)";
    err_stage_key: "the stage needs a name starting with a letter, different from the others and from won and lost", "l'étape doit avoir un nom qui commence par une lettre, différent des autres et de gagnée et perdue";
    err_stage_name: "a name has 1 to 60 characters", "un nom compte de 1 à 60 caractères";
    err_stage_probability: "the probability is a percentage from 0 to 100", "la probabilité est un pourcentage de 0 à 100";
    err_stage_in_use: "open deals are still in a removed stage: move them to another stage first", "des affaires ouvertes sont encore dans une étape retirée : déplacez-les d'abord vers une autre étape";
    err_stages_count: "list 1 to 20 open stages", "indiquez de 1 à 20 étapes ouvertes";
    err_lost_reasons: "list 1 to 50 different reasons of at most 100 characters", "indiquez de 1 à 50 motifs différents d'au plus 100 caractères";
    err_rotting_days: "the days without activity are a whole number from 1 to 365", "les jours sans activité sont un nombre entier de 1 à 365";
    err_currency: "the currency is a three-letter ISO code such as EUR or USD", "la devise est un code ISO de trois lettres comme EUR ou USD";
    deal_move_to: "Move to", "Déplacer vers";
    deal_more: "Older deals of this stage are in the API list.", "Les affaires plus anciennes de cette étape sont dans la liste de l'API.";
    deal_nurture_on_loss: "If lost: send its contacts back to nurturing", "Si perdue : remettre ses contacts en maturation";
    deal_facts: "The deal", "L'affaire";
    deal_contacts: "Contacts and their role", "Contacts et leur rôle";
    deal_edit: "Edit the deal", "Modifier l'affaire";
    deals_title: "Deals", "Affaires";
    created_from: "Created from", "Créées du";
    no_signal: "No signal: it predicts no better than chance, so it is not used", "Aucun signal : il ne prédit pas mieux que le hasard, il n'est donc pas utilisé";
    deal_model_probability: "Chance of winning (model)", "Chance de gain (modèle)";
    raises_chance: "raises the chance", "augmente la chance";
    lowers_chance: "lowers the chance", "diminue la chance";
    no_deals: "No deal yet.", "Aucune affaire pour l'instant.";
    new_deal: "New deal", "Nouvelle affaire";
    create_deal: "Create the deal", "Créer l'affaire";
    role_in_deal: "Role in the purchase", "Rôle dans l'achat";
    buying_group: "Buying group", "Groupe d'achat";
    company_facts: "The account", "Le compte";
    employees: "Employees", "Salariés";
    domain: "Web domain", "Domaine web";
    leads_to: "Decision maker it leads to", "Décideur vers lequel il mène";
    led_by: "Reached through", "Joint par l'intermédiaire de";
    role_decision_maker: "Decision maker", "Décideur";
    role_intermediary: "Intermediary (influencer)", "Intermédiaire (prescripteur)";
    role_user: "User", "Utilisateur";
    role_other: "Other", "Autre";
    days_in_stage: "{n} d in stage", "{n} j dans l'étape";
    nav_reports: "Reports", "Rapports";
    report_kind: "Report", "Rapport";
    report_by: "Broken down by", "Détaillé par";
    report_csv: "Download this table (CSV)", "Télécharger ce tableau (CSV)";
    report_funnel: "Funnel", "Entonnoir";
    report_deals: "Won and lost deals", "Affaires gagnées et perdues";
    report_stages: "Time in each stage", "Temps passé dans chaque étape";
    report_forecast: "Forecast", "Prévisions";
    report_churn: "Churn", "Attrition";
    report_sla: "First-touch deadlines (SLA)", "Délais de premier contact (SLA)";
    by_total: "Nothing (one line)", "Rien (une ligne)";
    by_campaign: "Campaign", "Campagne";
    by_sector: "Sector", "Secteur";
    by_month: "Month", "Mois";
    by_week: "Week", "Semaine";
    by_group: "Line", "Ligne";
    no_value: "(none)", "(aucun)";
    no_date: "(no date)", "(sans date)";
    funnel_visitors: "Visitors", "Visiteurs";
    win_rate: "Win rate", "Taux de gain";
    won_value: "Won value", "Montant gagné";
    median_days_to_win: "Days to win (median)", "Jours pour gagner (médiane)";
    p75_days_to_win: "Days to win (3rd quartile)", "Jours pour gagner (3e quartile)";
    median_days_to_lose: "Days to lose (median)", "Jours pour perdre (médiane)";
    deals_note: "Deals closed in the period; days from the engage date (else creation) to the close date.", "Affaires conclues sur la période ; jours entre l'engagement (sinon la création) et la conclusion.";
    median_days: "Days (median)", "Jours (médiane)";
    p75_days: "Days (3rd quartile)", "Jours (3e quartile)";
    average_days: "Days (mean)", "Jours (moyenne)";
    stages_note: "Stays in a stage that ended in the period, forwards or back.", "Séjours dans une étape terminés sur la période, en avant ou en arrière.";
    open_deals: "Open deals", "Affaires ouvertes";
    pipeline_value: "Pipeline value", "Montant en cours";
    forecast_note: "Open deals by expected close month, weighted by their stage's win probability, beside the deals won.", "Affaires ouvertes par mois de signature prévu, pondérées par la probabilité de leur étape, à côté des affaires gagnées.";
    customers_at_start: "Customers at the start", "Clients au début";
    churned: "Churned", "Partis";
    churn_rate: "Churn rate", "Taux d'attrition";
    churn_note: "Customers marked churned during each month, out of those at its start.", "Clients marqués partis pendant chaque mois, parmi ceux du début du mois.";
    handed: "Handed over", "Transmis";
    running: "Deadline ahead", "Délai en cours";
    funnel_mode: "Count", "Compter";
    funnel_cohort: "Contacts created in the period, followed to today", "Les contacts créés sur la période, suivis jusqu'à aujourd'hui";
    funnel_activity: "What happened in the period, whatever the contact's age", "Ce qui s'est passé sur la période, quel que soit l'âge du contact";
    funnel_csv: "Download this funnel (CSV)", "Télécharger cet entonnoir (CSV)";
    conversion: "Conversion", "Conversion";
    by_source: "By source", "Par source";
    no_source: "(no source)", "(sans source)";
    open_by_temperature: "Open leads by temperature", "Leads ouverts par température";
    not_scored: "Not scored", "Non évalué";
    model_title: "Prediction model", "Modèle de prédiction";
    active_model: "Active model", "Modèle actif";
    family_gbdt: "Gradient-boosted trees", "Arbres boostés";
    family_linear: "Logistic regression", "Régression logistique";
    auc: "Ranking quality (ROC AUC)", "Qualité du classement (AUC ROC)";
    log_loss: "Log loss", "Perte logarithmique";
    brier: "Brier score", "Score de Brier";
    lift: "Top 10 % lift", "Gain du premier décile";
    base_rate: "Base conversion rate", "Taux de conversion de base";
    trained_on: "Trained on", "Entraîné sur";
    contacts_word: "contacts", "contacts";
    calibration_title: "Calibration: predicted vs observed", "Calibration : prévu contre observé";
    predicted: "Predicted", "Prévu";
    observed: "Observed", "Observé";
    fields_used: "Fields used", "Champs utilisés";
    influence_title: "What weighs most", "Ce qui pèse le plus";
    influence_intro: "Average effect on a lead's odds, over a sample of your contacts.", "Effet moyen sur les chances d'un lead, sur un échantillon de vos contacts.";
    gains_title: "Gains: share of conversions found by calling the most likely first", "Gains : part des conversions trouvées en appelant d'abord les plus probables";
    leads_called: "Leads called", "Leads appelés";
    conversions_found: "Conversions found", "Conversions trouvées";
    fields_excluded: "Fields excluded", "Champs exclus";
    versions: "Versions", "Versions";
    version: "Version", "Version";
    active: "Active", "Actif";
    retrain: "Retrain with the same settings", "Réentraîner avec les mêmes réglages";
    training: "Training…", "Entraînement…";
    training_failed: "Training failed", "L'entraînement a échoué";
    training_done: "Training finished.", "Entraînement terminé.";
    no_model_yet: "No model yet: train the first one on your history (contacts that became customers and those that did not).", "Pas encore de modèle : entraînez le premier sur votre historique (les contacts devenus clients et les autres).";
    train_first: "Train the first model", "Entraîner le premier modèle";
    job_counts: "{done} of {total}", "{done} sur {total}";
    job_counted: "{done} done", "{done} traités";
    job_time_left: " · about {left} left", " · il reste environ {left}";
    deal_models: "Deal win model", "Modèle de gain des affaires";
    timeline_left_sequence: "Left a nurture sequence", "A quitté une séquence de nurturing";
    deal_models_intro: "Learns from closed deals (won or lost) which open deals are likely to be won. A model only serves when cross-validation shows it predicts better than chance.", "Apprend des affaires closes (gagnées ou perdues) lesquelles des affaires ouvertes ont des chances d’être gagnées. Un modèle ne sert que si la validation croisée montre qu’il prédit mieux que le hasard.";
    rule_edit: "Edit", "Modifier";
    rule_edit_title: "Rule: {label}", "Règle : {label}";
    rule_new_fit: "New fit rule", "Nouvelle règle d'adéquation";
    rule_new_engagement: "New engagement rule", "Nouvelle règle d'engagement";
    rule_new_knockout: "New knock-out", "Nouvelle exclusion";
    rule_add_fit: "Add a fit rule", "Ajouter une règle d'adéquation";
    rule_add_engagement: "Add an engagement rule", "Ajouter une règle d'engagement";
    rule_add_knockout: "Add a knock-out", "Ajouter une exclusion";
    rules_knockouts: "Knock-outs: who is never a lead", "Exclusions : qui n'est jamais un lead";
    knockout_reason: "Reason", "Motif";
    rule_condition: "Condition", "Condition";
    rule_when_fit: "The rule gives its points when every line of one group holds (groups are alternatives: “or”).", "La règle donne ses points quand toutes les lignes d'un groupe sont vraies (les groupes sont des alternatives : « ou »).";
    rule_when_knockout: "The contact is knocked out when every line of one group holds (groups are alternatives: “or”).", "Le contact est exclu quand toutes les lignes d'un groupe sont vraies (les groupes sont des alternatives : « ou »).";
    rule_when_engagement: "Only the events for which every line of one group holds count (no line: every event of this kind).", "Seuls comptent les événements pour lesquels toutes les lignes d'un groupe sont vraies (aucune ligne : tous les événements de ce type).";
    rule_group: "Group {n}", "Groupe {n}";
    rule_or_group: "or group {n}", "ou groupe {n}";
    rule_field: "Field", "Champ";
    rule_operator: "Test", "Test";
    rule_value: "Value", "Valeur";
    rule_value_hint: "Several values: separated by commas. A range: 10 – 500 (either end may be left out). A pattern: a regular expression, (?i) to ignore case.", "Plusieurs valeurs : séparées par des virgules. Un intervalle : 10 – 500 (une borne peut manquer). Un motif : une expression régulière, (?i) pour ignorer la casse.";
    rule_and: "and", "et";
    rule_or: "or", "ou";
    rule_any_kind: "Any event", "Tout événement";
    rule_more_lines: "More lines", "Plus de lignes";
    rule_other_field: "Or another field (an event property: property.<key>)", "Ou un autre champ (une propriété de l'événement : property.<clé>)";
    rule_every_event: "every event of this kind", "tous les événements de ce type";
    rule_nested: "This condition nests more deeply than the form can show: edit it in the JSON on the rules page. The other fields can be changed here.", "Cette condition est plus imbriquée que ce que le formulaire peut montrer : modifiez-la dans le JSON de la page des règles. Les autres champs se modifient ici.";
    rule_needs_line: "add at least one line to the condition", "ajoutez au moins une ligne à la condition";
    rule_line_incomplete: "line {n}: choose a field and a test", "ligne {n} : choisissez un champ et un test";
    rule_line_value: "line {n}: this test needs a value", "ligne {n} : ce test demande une valeur";
    rule_line_range: "line {n}: write a range as 10 – 500", "ligne {n} : écrivez un intervalle sous la forme 10 – 500";
    rule_line_error: "line {n}: {message}", "ligne {n} : {message}";
    rule_delete: "Delete this rule", "Supprimer cette règle";
    rule_deleted_preview: "Deleting this rule", "Suppression de cette règle";
    op_equals: "is", "est";
    op_not_equals: "is not", "n'est pas";
    op_one_of: "is one of", "est l'un de";
    op_not_one_of: "is none of", "n'est aucun de";
    op_contains: "contains", "contient";
    op_not_contains: "does not contain", "ne contient pas";
    op_matches: "matches the pattern", "correspond au motif";
    op_not_matches: "does not match the pattern", "ne correspond pas au motif";
    op_range: "is between", "est entre";
    op_not_range: "is not between", "n'est pas entre";
    op_is_missing: "is empty", "est vide";
    op_not_is_missing: "is filled in", "est renseigné";
    deal_train: "Train on closed deals", "Entraîner sur les affaires closes";
    deal_trained_on: "{won} won · {lost} lost", "{won} gagnées · {lost} perdues";
    deal_verdict_unknown: "Too few closed deals to cross-validate this model: its quality is unknown.", "Trop peu d’affaires closes pour valider ce modèle : sa qualité est inconnue.";
    deal_verdict_signal: "It ranks won deals above lost ones better than chance (cross-validated AUC {auc}, at least {lower}) and predicts better than the base rate of {base}.", "Il classe les affaires gagnées devant les perdues mieux que le hasard (AUC en validation croisée {auc}, au moins {lower}) et prédit mieux que le taux de base de {base}.";
    deal_verdict_none: "No signal: from product, rep, source and company it tells won deals from lost ones no better than chance (cross-validated AUC {auc}; 0.5 is a coin toss). It is not used: its probabilities would look precise and mean nothing.", "Aucun signal : à partir du produit, du commercial, de la source et de l’entreprise, il ne distingue pas mieux que le hasard les affaires gagnées des perdues (AUC en validation croisée {auc} ; 0,5 est un pile ou face). Il n’est pas utilisé : ses probabilités auraient l’air précises sans rien vouloir dire.";
}

/// The words for an event kind (custom kinds keep their own name).
pub fn event_kind(t: &Texts, kind: &str) -> String {
    match kind {
        "page_view" => t.ev_page_view,
        "form_submitted" => t.ev_form_submitted,
        "content_downloaded" => t.ev_content_downloaded,
        "white_paper_downloaded" => t.ev_white_paper_downloaded,
        "newsletter_signup" => t.ev_newsletter_signup,
        "webinar_registered" => t.ev_webinar_registered,
        "webinar_attended" => t.ev_webinar_attended,
        "email_opened" => t.ev_email_opened,
        "email_clicked" => t.ev_email_clicked,
        "trade_fair_visit" => t.ev_trade_fair_visit,
        "information_request" => t.ev_information_request,
        "quote_request" => t.ev_quote_request,
        "demo_request" => t.ev_demo_request,
        "contact_sales_request" => t.ev_contact_sales_request,
        "call_logged" => t.ev_call_logged,
        "meeting_logged" => t.ev_meeting_logged,
        "email_logged" => t.ev_email_logged,
        "unsubscribed" => t.ev_unsubscribed,
        "email_bounced" => t.ev_email_bounced,
        other => return other.replace('_', " "),
    }
    .to_string()
}

/// The fields a rule's condition may read, with their words: contact and company fields for fit
/// rules and knock-outs, event fields for engagement rules (`custom.<key>` and
/// `property.<key>` are added from the workspace's own).
pub const CONTACT_CONDITION_FIELDS: &[(&str, &str, &str)] = &[
    ("job_title", "Job title", "Fonction"),
    ("email", "E-mail", "E-mail"),
    ("email_domain", "E-mail domain", "Domaine de l'e-mail"),
    ("first_name", "First name", "Prénom"),
    ("last_name", "Last name", "Nom"),
    ("phone", "Phone", "Téléphone"),
    ("country", "Country", "Pays"),
    ("city", "City", "Ville"),
    ("source", "Source (first touch)", "Source (premier contact)"),
    ("campaign", "Campaign (first touch)", "Campagne (premier contact)"),
    ("last_touch_source", "Source (last touch)", "Source (dernier contact)"),
    ("last_touch_campaign", "Campaign (last touch)", "Campagne (dernier contact)"),
    ("external_id", "External id", "Identifiant externe"),
    ("do_not_email", "Do not e-mail", "Pas d'e-mail"),
    ("do_not_call", "Do not call", "Pas d'appel"),
    ("company.name", "Company: name", "Entreprise : nom"),
    ("company.domain", "Company: domain", "Entreprise : domaine"),
    ("company.sector", "Company: sector", "Entreprise : secteur"),
    ("company.employees", "Company: employees", "Entreprise : salariés"),
    ("company.annual_revenue", "Company: annual revenue", "Entreprise : chiffre d'affaires annuel"),
    ("company.country", "Company: country", "Entreprise : pays"),
];

/// See [`CONTACT_CONDITION_FIELDS`].
pub const EVENT_CONDITION_FIELDS: &[(&str, &str, &str)] = &[
    ("kind", "Event kind", "Type d'événement"),
    ("source", "Source", "Source"),
    ("campaign", "Campaign", "Campagne"),
    ("property.url", "Page address (url)", "Adresse de la page (url)"),
];

/// The messages of the domain's and the use cases' checks (written in English, as the API gives
/// them) in French, by pattern: `{}` stands for any text, carried over in order (numbers, names,
/// keys); a French pattern with fewer `{}` drops the English details it does not need. Tried in
/// order: the specific before the general.
const MESSAGES_FR: &[(&str, &str)] = &[
    ("is required by `{}`{}", "est exigé par `{}`"),
    ("is required{}", "est obligatoire"),
    ("must be plain text of at most {} characters", "doit être du texte simple d'au plus {} caractères"),
    ("must be plain text of 1 to {} characters", "doit être du texte simple de 1 à {} caractères"),
    ("must be plain text{}", "doit être du texte simple (sans caractères de contrôle)"),
    ("is longer than {} characters{}", "dépasse {} caractères : raccourcissez-le"),
    ("needs at least {} characters", "demande au moins {} caractères"),
    ("has {} entries; at most {} are accepted", "compte {} entrées ; {} au plus sont acceptées"),
    ("has {} rules; at most {} are accepted", "compte {} règles ; {} au plus sont acceptées"),
    ("must be between {} and {} days", "doit être entre {} et {} jours"),
    ("must be between {} and {} characters", "doit compter entre {} et {} caractères"),
    ("must be between {} and {}", "doit être entre {} et {}"),
    ("must be from {} to {} days", "doit être de {} à {} jours"),
    ("must be from {} to {} hours{}", "doit être de {} à {} heures"),
    ("must be {} to {} days", "doit être de {} à {} jours"),
    ("must be at least {} ({})", "doit valoir au moins {}"),
    ("must be at least {}", "doit valoir au moins {}"),
    ("must be at most {} ({})", "doit valoir au plus {}"),
    ("must be at most {}", "doit valoir au plus {}"),
    ("cannot be negative", "ne peut pas être négatif"),
    ("cannot be blank", "ne peut pas être vide"),
    (
        "contains control characters{}",
        "contient des caractères de contrôle (sauts de ligne, NUL…) : retirez-les",
    ),
    ("`{}` is not a known field; fields are: {}", "`{}` n'est pas un champ connu ; les champs sont : {}"),
    ("is not a valid regular expression: {}", "n'est pas une expression régulière valide : {}"),
    ("must be text, a number or true/false", "doit être un texte, un nombre ou true/false"),
    ("must be non-empty text", "doit être un texte non vide"),
    ("is below min ({})", "est inférieur au minimum ({})"),
    (
        "`{}` is used by another rule; ids must be unique",
        "`{}` est déjà l'identifiant d'une autre règle : les identifiants sont uniques",
    ),
    ("`{}` is used by an earlier rule", "`{}` est déjà le nom d'une règle précédente"),
    ("needs at least one condition", "demande au moins une condition"),
    (
        "{} is not a rep; give them a rep profile first",
        "{} n'est pas commercial : donnez-lui d'abord un profil de commercial",
    ),
    (
        "needs at least one rep with a weight above 0",
        "demande au moins un commercial d'un poids supérieur à 0",
    ),
    (
        "at most {} reps, each with a weight of at most {}",
        "{} commerciaux au plus, chacun d'un poids d'au plus {}",
    ),
    ("no contact has the id {}", "aucun contact n'a l'identifiant {}"),
    ("no company has the id {}", "aucune entreprise n'a l'identifiant {}"),
    ("no user has the id {}", "aucun utilisateur n'a l'identifiant {}"),
    ("no template has the id {}", "aucun modèle n'a l'identifiant {}"),
    ("no upload has the id {}; {}", "aucun fichier envoyé n'a l'identifiant {} : envoyez d'abord le fichier"),
    ("must be a number", "doit être un nombre"),
    ("must be a positive number{}", "doit être un nombre positif"),
    ("must be a percentage from 0 to 100", "doit être un pourcentage de 0 à 100"),
    ("must be a date between the years {} and {}", "doit être une date entre les années {} et {}"),
    ("must be before `to`", "doit précéder `to`"),
    ("must be on or before `to`", "doit être au plus tard `to`"),
    ("is listed twice", "figure deux fois"),
    (
        "must be a three-letter ISO 4217 code{}",
        "doit être un code ISO 4217 de trois lettres, comme EUR ou USD",
    ),
    ("thresholds must go down from a to c{}", "les seuils doivent décroître de a à c (a ≥ b ≥ c)"),
    ("is not used by `{}`; remove it", "n'est pas utilisé par `{}` : retirez-le"),
    ("conditions are nested deeper than {} levels", "les conditions sont imbriquées sur plus de {} niveaux"),
    ("bounds must be finite numbers", "les bornes doivent être des nombres finis"),
    ("patterns are limited to {} characters", "les motifs sont limités à {} caractères"),
    ("must be a regular expression, as text", "doit être une expression régulière, sous forme de texte"),
    (
        "a condition is exactly one of{}",
        "une condition est exactement l'une de ces formes : un test (`field` et `op`), `all: [...]`, `any: [...]` ou `not: {...}`",
    ),
    (
        "does not look like a phone number{}",
        "ne ressemble pas à un numéro de téléphone : chiffres, espaces et + - ( ) seulement",
    ),
    ("must be an hour from 0 to 23", "doit être une heure de 0 à 23"),
    ("must be after the start of the working day", "doit suivre le début de la journée de travail"),
    ("is too short{}", "est trop court"),
    ("must start with https:// (or http://)", "doit commencer par https:// (ou http://)"),
    ("must be 1 to 64 letters, digits, `-` or `_`{}", "doit compter 1 à 64 lettres, chiffres, `-` ou `_`"),
    (
        "must be 1 to 64 lower-case letters, digits or `-`{}",
        "doit compter 1 à 64 minuscules, chiffres ou `-`, par exemple `contact-us`",
    ),
    ("give the view a name of at most {} characters", "donnez à la vue un nom d'au plus {} caractères"),
    (
        "a saved view of filters has this name; choose another name",
        "une vue de filtres porte déjà ce nom : choisissez-en un autre",
    ),
    ("add at most {} leads at once", "ajoutez au plus {} leads à la fois"),
    ("list at least one open stage{}", "indiquez au moins une étape ouverte"),
    ("list at most {} open stages", "indiquez au plus {} étapes ouvertes"),
    ("choose at least one day{}", "choisissez au moins un jour"),
    ("is not your current password", "n'est pas votre mot de passe actuel"),
    ("`range` needs `min`, `max` or both", "`range` demande `min`, `max` ou les deux"),
    ("`{}` is not a stage of the pipeline: one of {}", "`{}` n'est pas une étape du pipeline : l'une de {}"),
    ("`{}` is not one of the pipeline's reasons: {}", "`{}` n'est pas un des motifs du pipeline : {}"),
    ("`{}` is listed twice", "`{}` figure deux fois"),
    (
        "`{}` is not a known time zone{}",
        "`{}` n'est pas un fuseau horaire connu : utilisez un nom IANA comme Europe/Paris",
    ),
    ("`{}` is not a time; write HH:MM, e.g. {}", "`{}` n'est pas une heure : écrivez HH:MM, par exemple {}"),
    (
        "a stage key is 1 to {} lower-case letters{}",
        "une clé d'étape compte 1 à {} minuscules, chiffres ou `_` et commence par une lettre (par exemple demo_faite)",
    ),
    ("budgets must be between 1 and {} minutes", "les délais doivent être entre 1 et {} minutes"),
    ("list at least one reason{}", "indiquez au moins un motif"),
    ("list at most {} reasons", "indiquez au plus {} motifs"),
    ("list at most {} contacts", "indiquez au plus {} contacts"),
    ("must be a number from {} to {}", "doit être un nombre de {} à {}"),
    ("needs at least one working day{}", "demande au moins un jour travaillé"),
    ("`{}` is not an e-mail address", "`{}` n'est pas une adresse e-mail"),
    ("`{}` is used by another field", "`{}` est déjà utilisé par un autre champ"),
    ("a choice cannot be blank", "un choix ne peut pas être vide"),
    ("a choice field needs at least one choice", "un champ à choix demande au moins un choix"),
    (
        "a deal is created open{}",
        "une affaire est créée ouverte : créez-la, puis passez-la en gagnée ou perdue",
    ),
    ("a form has 1 to 50 fields", "un formulaire a de 1 à 50 champs"),
    ("a report covers at most {} days", "un rapport couvre au plus {} jours"),
    (
        "a select field lists its options; other fields have none",
        "un champ de sélection liste ses options ; les autres champs n'en ont pas",
    ),
    ("add at least one step{}", "ajoutez au moins une étape (un envoi)"),
    ("at most {} choices", "{} choix au plus"),
    ("at most {} contacts per request", "{} contacts au plus par demande"),
    ("at most {} patterns", "{} motifs au plus"),
    (
        "contains {}: mail readers do not run scripts; remove it",
        "contient {} : les messageries n'exécutent pas les scripts ; retirez-le",
    ),
    ("does not render for this contact: {}", "ne se génère pas pour ce contact : {}"),
    ("each purpose has one checkbox", "chaque finalité a une seule case à cocher"),
    (
        "give the contact's role to name its decision maker",
        "indiquez le rôle du contact pour nommer son décideur",
    ),
    ("give the value to compare with", "indiquez la valeur à comparer"),
    ("is before 1970; check the date", "est antérieure à 1970 : vérifiez la date"),
    ("is not a URL ({}); write e.g. {}", "n'est pas une URL ({}) : écrivez par exemple {}"),
    ("is not a declared custom field; {}", "n'est pas un champ personnalisé déclaré ; {}"),
    ("is not a valid company name", "n'est pas un nom d'entreprise valide"),
    ("is this contact itself", "est ce contact lui-même"),
    ("must be 1 to 50 characters{}", "doit compter de 1 à 50 caractères"),
    ("must be 8 to 64 letters, digits or `-`", "doit compter de 8 à 64 lettres, chiffres ou `-`"),
    ("must be `en` or `fr`", "doit être `en` ou `fr`"),
    ("must be en or fr", "doit être en ou fr"),
    ("must be a field name{}", "doit être un nom de champ (1 à 200 caractères)"),
    ("must be an address of at most {} characters", "doit être une adresse d'au plus {} caractères"),
    ("must be an hour after from_hour, at most 24", "doit être une heure après from_hour, au plus 24"),
    ("must be contacts, companies or deals", "doit être contacts, companies ou deals"),
    ("must be the exact wording{}", "doit être le texte exact montré, de 1 à 2000 caractères"),
    ("must not be empty{}", "ne doit pas être vide (par exemple `/pricing`)"),
    ("needs a host name", "demande un nom d'hôte"),
    ("no send step has the key `{}`", "aucune étape d'envoi n'a la clé `{}`"),
    ("no step has the key `{}`", "aucune étape n'a la clé `{}`"),
    ("one field must map to `email`{}", "un champ doit aller dans `email` (et être obligatoire)"),
    ("only a lost deal has a lost reason", "seule une affaire perdue a un motif de perte"),
    (
        "only choice fields have choices{}",
        "seuls les champs à choix ont des choix : retirez-les ou utilisez le type `choice`",
    ),
    (
        "text values cannot contain NUL characters{}",
        "les textes ne peuvent pas contenir de caractère NUL : retirez-les",
    ),
    ("the deal is already in the {} stage", "l'affaire est déjà à l'étape {}"),
    ("the file is empty", "le fichier est vide"),
    ("the list holds no e-mail address{}", "la liste ne contient aucune adresse e-mail : une par ligne"),
    ("the template does not compile: {}", "le modèle ne se compile pas : {}"),
    ("these filters are too long to save", "ces filtres sont trop longs pour être enregistrés"),
    (
        "use 1 to 40 letters, digits, `-` or `_`{}",
        "utilisez de 1 à 40 lettres, chiffres, `-` ou `_` (par exemple `bienvenue`)",
    ),
    ("write the note: {}", "écrivez la note : de 1 à 10 000 caractères de texte"),
    (
        "{} is not a day: use 1 (Monday) to 7 (Sunday)",
        "{} n'est pas un jour : utilisez 1 (lundi) à 7 (dimanche)",
    ),
    ("{} is not an active user", "{} n'est pas un utilisateur actif"),
];

/// A check's English message in French, when a pattern of [`MESSAGES_FR`] reads it.
pub fn message_fr(english: &str) -> Option<String> {
    MESSAGES_FR.iter().find_map(|(pattern, french)| {
        let captured = captures(pattern, english)?;
        let mut out = String::new();
        let mut parts = french.split("{}");
        out.push_str(parts.next().unwrap_or_default());
        for (part, value) in parts.zip(captured.iter().chain(std::iter::repeat(&""))) {
            out.push_str(value);
            out.push_str(part);
        }
        Some(out)
    })
}

/// The texts `{}` stands for when `text` reads as `pattern`, or `None`. Each `{}` takes the
/// shortest text up to the literal after it; a `{}` at the end takes the rest.
fn captures<'t>(pattern: &str, text: &'t str) -> Option<Vec<&'t str>> {
    let mut literals = pattern.split("{}");
    let mut rest = text.strip_prefix(literals.next().unwrap_or_default())?;
    let mut out = Vec::new();
    let literals: Vec<&str> = literals.collect();
    for (i, literal) in literals.iter().enumerate() {
        let last = i + 1 == literals.len();
        let at = if last {
            if literal.is_empty() { rest.len() } else { rest.strip_suffix(literal).map(str::len)? }
        } else {
            rest.find(literal)?
        };
        out.push(&rest[..at]);
        rest = &rest[at + literal.len()..];
    }
    rest.is_empty().then_some(out)
}

/// A language of the UI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    Fr,
}

/// The built-in rule sets' labels and knock-out reasons (`core/src/scoring/presets`) in French.
/// They are data of the workspace's rules, written in English by the presets; a French reader
/// sees them in French for as long as the team keeps the preset's wording.
pub const PRESET_FR: &[(&str, &str)] = &[
    ("A phone number is known", "Un numéro de téléphone est connu"),
    ("Asked for a demo", "A demandé une démo"),
    ("Asked for a quote", "A demandé un devis"),
    ("Asked for information", "A demandé des informations"),
    ("Asked not to be e-mailed", "A demandé à ne pas recevoir d'e-mails"),
    ("Asked to talk to sales", "A demandé à parler à un commercial"),
    ("Attended a webinar", "A assisté à un webinaire"),
    ("Came through the lead add form", "Arrivé par le formulaire d'ajout de leads"),
    ("Clicked an e-mail", "A cliqué dans un e-mail"),
    ("Company has 10 to 49 employees", "L'entreprise a de 10 à 49 salariés"),
    ("Company has 50 to 5,000 employees", "L'entreprise a de 50 à 5 000 salariés"),
    ("Company is in a target sector", "L'entreprise est dans un secteur cible"),
    ("Company revenue of 5 million or more", "Chiffre d'affaires de 5 millions ou plus"),
    ("Contact is in a served country", "Le contact est dans un pays servi"),
    ("Currently a working professional", "Actuellement en activité professionnelle"),
    ("Downloaded a white paper", "A téléchargé un livre blanc"),
    ("Downloaded content", "A téléchargé un contenu"),
    ("E-mail bounced", "E-mail non distribué"),
    ("Job title is a manager", "Le poste est un poste de manager"),
    ("Job title shows decision power", "Le poste montre un pouvoir de décision"),
    ("Last activity: SMS sent", "Dernière activité : SMS envoyé"),
    ("Last activity: chat conversation only", "Dernière activité : conversation par chat seulement"),
    ("Last activity: e-mail opened", "Dernière activité : e-mail ouvert"),
    ("Met a sales rep", "A rencontré un commercial"),
    ("Opened an e-mail", "A ouvert un e-mail"),
    ("Referred, or came from the Welingak website", "Recommandé, ou venu du site Welingak"),
    ("Registered for a webinar", "S'est inscrit à un webinaire"),
    ("Signed up for the newsletter", "S'est abonné à la lettre d'information"),
    ("Spent 15 minutes or more on the website", "A passé 15 minutes ou plus sur le site"),
    ("Spent 5 to 15 minutes on the website", "A passé de 5 à 15 minutes sur le site"),
    ("Submitted a form", "A envoyé un formulaire"),
    ("Unsubscribed", "S'est désabonné"),
    ("Viewed a page", "A vu une page"),
    (
        "Viewed job offers (a job seeker, not a buyer)",
        "A vu les offres d'emploi (un candidat, pas un acheteur)",
    ),
    ("Viewed the pricing page", "A vu la page des tarifs"),
    ("Visited 5 times or more", "Venu 5 fois ou plus"),
    ("Visited our trade-fair stand", "A visité notre stand au salon"),
    (
        "Asked not to be contacted (no e-mail, no calls)",
        "A demandé à ne pas être contacté (ni e-mail, ni appel)",
    ),
    ("Outside the countries we serve", "Hors des pays que nous servons"),
    ("Personal e-mail address, not a company one", "Adresse e-mail personnelle, pas professionnelle"),
    ("Student or intern", "Étudiant ou stagiaire"),
    ("Works for a competitor", "Travaille chez un concurrent"),
];

impl Lang {
    /// A rule's label or reason as the reader reads it: a built-in preset's wording in their
    /// language; the team's own wording as written.
    pub fn rule_words(self, label: &str) -> String {
        match self {
            Lang::Fr => PRESET_FR.iter().find(|(en, _)| *en == label).map_or(label, |(_, fr)| fr).to_string(),
            Lang::En => label.to_string(),
        }
    }
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Fr => "fr",
        }
    }

    pub fn texts(self) -> &'static Texts {
        match self {
            Lang::En => &EN,
            Lang::Fr => &FR,
        }
    }

    pub fn parse(code: &str) -> Option<Lang> {
        match code.trim().to_ascii_lowercase().as_str() {
            "en" => Some(Lang::En),
            "fr" => Some(Lang::Fr),
            _ => None,
        }
    }

    /// The first of the browser's preferred languages that we speak (English otherwise).
    pub fn from_accept_language(header: Option<&str>) -> Lang {
        let Some(header) = header else { return Lang::En };
        let mut prefs: Vec<(f32, Lang)> = header
            .split(',')
            .filter_map(|part| {
                let mut it = part.split(';');
                let tag = it.next()?.trim().to_ascii_lowercase();
                let q = it
                    .find_map(|p| p.trim().strip_prefix("q=").and_then(|v| v.parse::<f32>().ok()))
                    .unwrap_or(1.0);
                let lang = Lang::parse(tag.split('-').next()?)?;
                Some((q, lang))
            })
            .collect();
        prefs.sort_by(|a, b| b.0.total_cmp(&a.0));
        prefs.first().map_or(Lang::En, |p| p.1)
    }

    /// A date and time as people of this language write it, in `zone`, named by its abbreviation
    /// (`CET`, `EST`; an offset such as `+04` where the zone has none): `Nov 24, 2026, 11:05 CET`
    /// / `24 nov. 2026, 11:05 CET`.
    pub fn datetime_in(self, t: Timestamp, zone: &TimeZone) -> String {
        let z = t.to_zoned_datetime(zone.clone());
        let months_en = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
        let months_fr = [
            "janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc.",
        ];
        let m = (z.month() - 1) as usize;
        let name = z.strftime("%Z").to_string();
        match self {
            Lang::En => {
                format!(
                    "{} {}, {}, {:02}:{:02} {name}",
                    months_en[m],
                    z.day(),
                    z.year(),
                    z.hour(),
                    z.minute()
                )
            }
            Lang::Fr => {
                format!("{} {} {}, {:02}:{:02} {name}", z.day(), months_fr[m], z.year(), z.hour(), z.minute())
            }
        }
    }

    /// A day: `Nov 24, 2026` / `24 nov. 2026`.
    pub fn date(self, d: jiff::civil::Date) -> String {
        let months_en = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
        let months_fr = [
            "janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc.",
        ];
        let m = (d.month() - 1) as usize;
        match self {
            Lang::En => format!("{} {}, {}", months_en[m], d.day(), d.year()),
            Lang::Fr => format!("{} {} {}", d.day(), months_fr[m], d.year()),
        }
    }

    /// Whether a count takes the singular: English for 1 only, French for 0 and 1.
    pub fn singular(self, n: i64) -> bool {
        match self {
            Lang::En => n == 1,
            Lang::Fr => n <= 1,
        }
    }

    /// A number with `decimals` digits: `1,234.5` / `1 234,5`.
    pub fn number(self, x: f64, decimals: usize) -> String {
        let s = format!("{:.*}", decimals, x.abs());
        let (int, frac) = s.split_once('.').map_or((s.as_str(), ""), |(i, f)| (i, f));
        let sep = if self == Lang::Fr { '\u{202f}' } else { ',' };
        let mut grouped = String::new();
        for (i, c) in int.chars().enumerate() {
            if i > 0 && (int.len() - i) % 3 == 0 {
                grouped.push(sep);
            }
            grouped.push(c);
        }
        let sign = if x < 0.0 && s.chars().any(|c| c != '0' && c != '.') { "-" } else { "" };
        match (frac.is_empty(), self) {
            (true, _) => format!("{sign}{grouped}"),
            (false, Lang::En) => format!("{sign}{grouped}.{frac}"),
            (false, Lang::Fr) => format!("{sign}{grouped},{frac}"),
        }
    }

    /// A share as a percentage: `38.5%` / `38,5 %`.
    pub fn percent(self, share: f64) -> String {
        match self {
            Lang::En => format!("{}%", self.number(share * 100.0, 1)),
            Lang::Fr => format!("{}\u{a0}%", self.number(share * 100.0, 1)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_checks_messages_read_in_french_with_their_figures_and_names() {
        for (english, french) in [
            ("must be between 1 and 365", "doit être entre 1 et 365"),
            ("must be between 1 and 3650 days", "doit être entre 1 et 3650 jours"),
            ("is longer than 200 characters; shorten it", "dépasse 200 caractères : raccourcissez-le"),
            ("is required: name the rule so assignments can say who chose", "est obligatoire"),
            ("is required by `one_of`: a non-empty list", "est exigé par `one_of`"),
            ("must be at least 1 (set available to false to pause a rep)", "doit valoir au moins 1"),
            (
                "`shoe_size` is not a known field; fields are: email, phone",
                "`shoe_size` n'est pas un champ connu ; les champs sont : email, phone",
            ),
            ("has 7 entries; at most 5 are accepted", "compte 7 entrées ; 5 au plus sont acceptées"),
        ] {
            assert_eq!(message_fr(english).as_deref(), Some(french), "{english}");
        }
        assert_eq!(message_fr("wants a fish"), None);
        assert_eq!(message_fr("is required twice over and"), Some("est obligatoire".into()));
        for (english, french) in MESSAGES_FR {
            assert!(
                french.matches("{}").count() <= english.matches("{}").count(),
                "{french} uses a text it is not given"
            );
        }
    }

    #[test]
    fn every_text_exists_in_both_languages_and_differs_where_it_should() {
        for (key, en, fr) in ALL_KEYS {
            assert!(!en.trim().is_empty() && !fr.trim().is_empty(), "{key} is empty");
        }
        // Most texts differ between the languages; identical ones are words French borrows.
        let same = ALL_KEYS.iter().filter(|(_, en, fr)| en == fr).count();
        assert!(same * 5 < ALL_KEYS.len(), "{same} of {} texts are not translated", ALL_KEYS.len());
    }

    #[test]
    fn every_built_in_event_kind_has_words() {
        for (code, _) in leadgate_core::event::BUILT_IN_KINDS {
            assert_ne!(event_kind(&FR, code), code.replace('_', " "), "{code} has no French words");
        }
    }

    #[test]
    fn every_label_and_reason_of_the_built_in_rule_sets_is_in_french() {
        for name in ["b2b", "x-education"] {
            let rules = leadgate_core::scoring::ScoringRules::preset(name).expect("a built-in preset");
            let doc = serde_json::to_value(&rules.doc).unwrap();
            let mut words = Vec::new();
            for section in ["fit", "engagement"] {
                for r in doc[section]["rules"].as_array().unwrap() {
                    words.extend(r["label"].as_str().map(String::from));
                }
            }
            for k in doc["knockouts"].as_array().into_iter().flatten() {
                words.extend(k["reason"].as_str().map(String::from));
            }
            assert!(!words.is_empty());
            for w in words {
                assert_ne!(Lang::Fr.rule_words(&w), w, "{name}: `{w}` has no French wording");
            }
        }
        assert_eq!(Lang::Fr.rule_words("Our own rule"), "Our own rule", "the team's wording stays");
    }

    #[test]
    fn the_browser_preference_is_followed() {
        assert_eq!(Lang::from_accept_language(Some("fr-FR,fr;q=0.9,en;q=0.8")), Lang::Fr);
        assert_eq!(Lang::from_accept_language(Some("de-DE,en;q=0.5,fr;q=0.7")), Lang::Fr);
        assert_eq!(Lang::from_accept_language(Some("de-DE")), Lang::En);
        assert_eq!(Lang::from_accept_language(None), Lang::En);
    }

    #[test]
    fn numbers_and_dates_follow_the_language() {
        assert_eq!(Lang::En.number(1234567.891, 2), "1,234,567.89");
        assert_eq!(Lang::Fr.number(1234567.891, 2), "1\u{202f}234\u{202f}567,89");
        assert_eq!(Lang::En.percent(0.385), "38.5%");
        assert_eq!(Lang::Fr.percent(0.385), "38,5\u{a0}%");
        assert_eq!(Lang::En.number(-3.0, 0), "-3");
        let t: Timestamp = "2026-11-24T10:05:00Z".parse().unwrap();
        assert_eq!(Lang::En.datetime_in(t, &TimeZone::UTC), "Nov 24, 2026, 10:05 UTC");
        assert_eq!(Lang::Fr.datetime_in(t, &TimeZone::UTC), "24 nov. 2026, 10:05 UTC");
        let paris = TimeZone::get("Europe/Paris").unwrap();
        assert_eq!(Lang::Fr.datetime_in(t, &paris), "24 nov. 2026, 11:05 CET");
        let summer: Timestamp = "2026-07-01T10:05:00Z".parse().unwrap();
        assert_eq!(Lang::En.datetime_in(summer, &paris), "Jul 1, 2026, 12:05 CEST");
        let new_york = TimeZone::get("America/New_York").unwrap();
        assert_eq!(Lang::En.datetime_in(t, &new_york), "Nov 24, 2026, 05:05 EST");
    }
}
