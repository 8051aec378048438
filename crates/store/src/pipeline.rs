//! The pipeline in storage: deals, their contacts and roles, the append-only history of their
//! stages, the board's figures, and deals written by imports.

use std::collections::HashMap;

use jiff::Timestamp;
use jiff::civil::Date;
use leadgate_core::ids::{CompanyId, ContactId, DealId, UserId};
use leadgate_core::pipeline::{ContactRole, Deal, DealContact, DealStage, StageChange};
use uuid::Uuid;

use crate::driver::{Arg, Dialect, Row, Session, Where, args};
use crate::error::StoreError;

const DEAL_COLUMNS: &str = "id, external_id, name, company_id, stage, stage_changed_at, owner_id, owner_name, product, \
     value, currency, expected_close_on, engaged_on, closed_on, lost_reason, source, campaign, custom, created_at, updated_at";

pub(crate) fn date(r: &Row, i: usize) -> Result<Option<Date>, StoreError> {
    r.get::<Option<String>>(i)?
        .map(|d| d.parse::<Date>().map_err(|e| StoreError::Corrupt(format!("deal date `{d}`: {e}"))))
        .transpose()
}

pub(crate) fn stage(text: &str) -> Result<DealStage, StoreError> {
    DealStage::parse(text).ok_or_else(|| StoreError::Corrupt(format!("deal stage `{text}`")))
}

fn deal_from_row(r: &Row) -> Result<Deal, StoreError> {
    let st: String = r.get(4)?;
    Ok(Deal {
        id: DealId(r.get(0)?),
        external_id: r.get(1)?,
        name: r.get(2)?,
        company_id: r.get::<Option<Uuid>>(3)?.map(CompanyId),
        stage: stage(&st)?,
        stage_changed_at: r.ts(5)?,
        owner_id: r.get::<Option<Uuid>>(6)?.map(UserId),
        owner_name: r.get(7)?,
        product: r.get(8)?,
        value: r.get(9)?,
        currency: r.get(10)?,
        expected_close_on: date(r, 11)?,
        engaged_on: date(r, 12)?,
        closed_on: date(r, 13)?,
        lost_reason: r.get(14)?,
        source: r.get(15)?,
        campaign: r.get(16)?,
        custom: r.json_object(17)?,
        created_at: r.ts(18)?,
        updated_at: r.ts(19)?,
    })
}

fn deal_args(d: &Deal) -> Vec<Arg> {
    args![
        d.id,
        d.external_id.as_deref(),
        d.name.as_str(),
        d.company_id,
        d.stage.as_str(),
        d.stage_changed_at,
        d.owner_id,
        d.owner_name.as_deref(),
        d.product.as_deref(),
        d.value,
        d.currency.as_str(),
        d.expected_close_on.map(|x| x.to_string()),
        d.engaged_on.map(|x| x.to_string()),
        d.closed_on.map(|x| x.to_string()),
        d.lost_reason.as_deref(),
        d.source.as_deref(),
        d.campaign.as_deref(),
        serde_json::to_string(&d.custom).unwrap_or_else(|_| "{}".into()),
        d.created_at,
        d.updated_at,
        d.cycle_days()
    ]
}

/// A deal to store from an import (matched by its external id).
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedDeal {
    pub external_id: String,
    pub name: String,
    pub company_id: Option<CompanyId>,
    pub stage: DealStage,
    pub owner_name: Option<String>,
    pub product: Option<String>,
    pub value: Option<f64>,
    pub engaged_on: Option<Date>,
    pub closed_on: Option<Date>,
    pub custom: serde_json::Map<String, serde_json::Value>,
}

/// Which deals a list shows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DealFilter {
    pub stage: Option<DealStage>,
    /// Only open deals (not won or lost).
    pub open: bool,
    pub owner_id: Option<UserId>,
    /// What a rep reads: deals owned by these reps, and unowned deals if the flag is set.
    pub visible_owners: Option<(Vec<UserId>, bool)>,
    pub company_id: Option<CompanyId>,
    pub contact_id: Option<ContactId>,
    pub product: Option<String>,
    /// Created at or after.
    pub created_from: Option<Timestamp>,
    /// Created before.
    pub created_to: Option<Timestamp>,
}

impl DealFilter {
    fn conditions(&self) -> Where {
        let mut w = Where::new();
        if let Some(s) = self.stage {
            w.add("stage = ?", s.as_str());
        }
        if self.open {
            w.add_plain("stage NOT IN ('won', 'lost')");
        }
        if let Some(o) = self.owner_id {
            w.add("owner_id = ?", o);
        }
        if let Some((owners, unowned)) = &self.visible_owners {
            let unowned = if *unowned { "owner_id IS NULL OR " } else { "" };
            if owners.is_empty() {
                w.add_plain(if unowned.is_empty() { "1 = 0" } else { "owner_id IS NULL" });
            } else {
                w.add_list(&format!("({unowned}owner_id IN ({{}}))"), owners.iter().map(|&o| Arg::from(o)));
            }
        }
        if let Some(c) = self.company_id {
            w.add("company_id = ?", c);
        }
        if let Some(c) = self.contact_id {
            w.add("id IN (SELECT deal_id FROM deal_contacts WHERE contact_id = ?)", c);
        }
        if let Some(p) = &self.product {
            w.add("product = ?", p.as_str());
        }
        if let Some(t) = self.created_from {
            w.add("created_at >= ?", t);
        }
        if let Some(t) = self.created_to {
            w.add("created_at < ?", t);
        }
        w
    }
}

/// One column of the board: how many deals a stage holds and their total value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StageTotal {
    pub stage: DealStage,
    pub deals: i64,
    pub value: f64,
}

impl Session {
    pub async fn insert_deal(&mut self, d: &Deal, contacts: &[DealContact]) -> Result<(), StoreError> {
        self.execute(
            &format!(
                "INSERT INTO deals ({DEAL_COLUMNS}, cycle_days) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, \
                 $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)"
            ),
            deal_args(d),
        )
        .await?;
        self.set_deal_contacts(d.id, contacts).await
    }

    /// Writes every field of a stored deal.
    pub async fn update_deal(&mut self, d: &Deal) -> Result<bool, StoreError> {
        let n = self
            .execute(
                "UPDATE deals SET external_id = $2, name = $3, company_id = $4, stage = $5, stage_changed_at = $6, \
                 owner_id = $7, owner_name = $8, product = $9, value = $10, currency = $11, expected_close_on = $12, \
                 engaged_on = $13, closed_on = $14, lost_reason = $15, source = $16, campaign = $17, custom = $18, \
                 created_at = $19, updated_at = $20, cycle_days = $21 WHERE id = $1",
                deal_args(d),
            )
            .await?;
        Ok(n == 1)
    }

    pub async fn get_deal(&mut self, id: DealId) -> Result<Option<Deal>, StoreError> {
        let sql = format!("SELECT {DEAL_COLUMNS} FROM deals WHERE id = $1");
        self.fetch_optional(&sql, args![id]).await?.as_ref().map(deal_from_row).transpose()
    }

    /// A deal, locked for this transaction on PostgreSQL (two moves of one deal take turns).
    pub async fn lock_deal(&mut self, id: DealId) -> Result<Option<Deal>, StoreError> {
        let lock = if self.dialect() == Dialect::Postgres { " FOR UPDATE" } else { "" };
        let sql = format!("SELECT {DEAL_COLUMNS} FROM deals WHERE id = $1{lock}");
        self.fetch_optional(&sql, args![id]).await?.as_ref().map(deal_from_row).transpose()
    }

    pub async fn delete_deal(&mut self, id: DealId) -> Result<bool, StoreError> {
        Ok(self.execute("DELETE FROM deals WHERE id = $1", args![id]).await? == 1)
    }

    /// Replaces a deal's contacts.
    pub async fn set_deal_contacts(
        &mut self,
        deal: DealId,
        contacts: &[DealContact],
    ) -> Result<(), StoreError> {
        self.execute("DELETE FROM deal_contacts WHERE deal_id = $1", args![deal]).await?;
        for chunk in contacts.chunks(300) {
            let mut values = Vec::with_capacity(chunk.len() * 3);
            let rows: Vec<String> = chunk
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    values.extend([Arg::from(deal), Arg::from(c.contact_id), Arg::from(c.role.as_str())]);
                    format!("({})", Session::placeholders(1 + i * 3, 3))
                })
                .collect();
            let sql =
                format!("INSERT INTO deal_contacts (deal_id, contact_id, role) VALUES {}", rows.join(", "));
            self.execute(&sql, values).await?;
        }
        Ok(())
    }

    pub async fn deal_contacts(&mut self, deal: DealId) -> Result<Vec<DealContact>, StoreError> {
        let rows = self
            .fetch_all(
                "SELECT contact_id, role FROM deal_contacts WHERE deal_id = $1 ORDER BY contact_id",
                args![deal],
            )
            .await?;
        rows.iter()
            .map(|r| {
                let role: String = r.get(1)?;
                Ok(DealContact {
                    contact_id: ContactId(r.get(0)?),
                    role: ContactRole::parse(&role)
                        .ok_or_else(|| StoreError::Corrupt(format!("deal role `{role}`")))?,
                })
            })
            .collect()
    }

    /// A contact's deals with its role in each, newest first.
    pub async fn deals_of_contact(
        &mut self,
        contact: ContactId,
    ) -> Result<Vec<(Deal, ContactRole)>, StoreError> {
        let columns: Vec<String> = DEAL_COLUMNS.split(", ").map(|c| format!("d.{c}")).collect();
        let sql = format!(
            "SELECT {}, dc.role FROM deal_contacts dc JOIN deals d ON d.id = dc.deal_id WHERE dc.contact_id = $1 \
             ORDER BY d.created_at DESC, d.id DESC",
            columns.join(", ")
        );
        let rows = self.fetch_all(&sql, args![contact]).await?;
        rows.iter()
            .map(|r| {
                let role: String = r.get(20)?;
                let role = ContactRole::parse(&role)
                    .ok_or_else(|| StoreError::Corrupt(format!("deal role `{role}`")))?;
                Ok((deal_from_row(r)?, role))
            })
            .collect()
    }

    /// How many open deals a contact takes part in, `except` one.
    pub async fn open_deals_of_contact(
        &mut self,
        contact: ContactId,
        except: DealId,
    ) -> Result<i64, StoreError> {
        self.fetch_one(
            "SELECT COUNT(*) FROM deal_contacts dc JOIN deals d ON d.id = dc.deal_id \
             WHERE dc.contact_id = $1 AND d.id <> $2 AND d.stage NOT IN ('won', 'lost')",
            args![contact, except],
        )
        .await?
        .get(0)
    }

    pub async fn insert_stage_change(&mut self, c: &StageChange) -> Result<(), StoreError> {
        self.execute(
            // Since when the deal was in the stage it leaves: its previous change's instant.
            "INSERT INTO deal_stage_changes (id, deal_id, from_stage, to_stage, at, user_id, lost_reason, note, \
             from_since) SELECT $1, $2, $3, $4, $5, $6, $7, $8, \
             (SELECT MAX(at) FROM deal_stage_changes WHERE deal_id = $2)",
            args![
                Uuid::now_v7(),
                c.deal_id,
                c.from.as_ref().map(DealStage::as_str),
                c.to.as_str(),
                c.at,
                c.user_id,
                c.lost_reason.as_deref(),
                c.note.as_deref()
            ],
        )
        .await?;
        Ok(())
    }

    /// A deal's history of stages, oldest first.
    pub async fn stage_changes(&mut self, deal: DealId) -> Result<Vec<StageChange>, StoreError> {
        let rows = self
            .fetch_all(
                "SELECT from_stage, to_stage, at, user_id, lost_reason, note FROM deal_stage_changes \
                 WHERE deal_id = $1 ORDER BY at, id",
                args![deal],
            )
            .await?;
        rows.iter()
            .map(|r| {
                let from: Option<String> = r.get(0)?;
                let to: String = r.get(1)?;
                Ok(StageChange {
                    deal_id: deal,
                    from: from.as_deref().map(stage).transpose()?,
                    to: stage(&to)?,
                    at: r.ts(2)?,
                    user_id: r.get::<Option<Uuid>>(3)?.map(UserId),
                    lost_reason: r.get(4)?,
                    note: r.get(5)?,
                })
            })
            .collect()
    }

    /// Deals matching `filter`, newest first, a page after `after`.
    pub async fn list_deals(
        &mut self,
        filter: &DealFilter,
        limit: u32,
        after: Option<DealId>,
    ) -> Result<Vec<Deal>, StoreError> {
        let mut w = filter.conditions();
        if let Some(a) = after {
            w.add("id < ?", a);
        }
        let (clause, values) = w.finish();
        let sql = format!("SELECT {DEAL_COLUMNS} FROM deals {clause} ORDER BY id DESC LIMIT {limit}");
        self.fetch_all(&sql, values).await?.iter().map(deal_from_row).collect()
    }

    /// Each stage's count and total value, for deals matching `filter`.
    pub async fn stage_totals(&mut self, filter: &DealFilter) -> Result<Vec<StageTotal>, StoreError> {
        let (clause, values) = filter.conditions().finish();
        let sql =
            format!("SELECT stage, COUNT(*), COALESCE(SUM(value), 0) FROM deals {clause} GROUP BY stage");
        let rows = self.fetch_all(&sql, values).await?;
        rows.iter()
            .map(|r| {
                let st: String = r.get(0)?;
                Ok(StageTotal { stage: stage(&st)?, deals: r.get(1)?, value: r.get(2)? })
            })
            .collect()
    }

    /// The last event of any contact of each deal.
    pub async fn last_deal_activity(
        &mut self,
        deals: &[DealId],
    ) -> Result<HashMap<DealId, Timestamp>, StoreError> {
        let mut out = HashMap::new();
        for chunk in deals.chunks(500) {
            let sql = format!(
                "SELECT dc.deal_id, MAX(e.occurred_at) FROM deal_contacts dc JOIN events e ON e.contact_id = dc.contact_id \
                 WHERE dc.deal_id IN ({}) GROUP BY dc.deal_id",
                Session::placeholders(1, chunk.len())
            );
            for r in self.fetch_all(&sql, chunk.iter().map(|&d| Arg::from(d)).collect()).await? {
                if let Some(at) = r.opt_ts(1)? {
                    out.insert(DealId(r.get(0)?), at);
                }
            }
        }
        Ok(out)
    }

    pub async fn count_deals(&mut self) -> Result<i64, StoreError> {
        self.fetch_one("SELECT COUNT(*) FROM deals", vec![]).await?.get(0)
    }

    /// Inserts or updates deals by external id, recording each new deal's stage and each
    /// changed stage. Returns how many were created, updated and left unchanged.
    pub async fn upsert_deals(
        &mut self,
        deals: &[ImportedDeal],
        now: Timestamp,
    ) -> Result<(u64, u64, u64), StoreError> {
        let (mut created, mut updated, mut unchanged) = (0, 0, 0);
        let ids: Vec<String> = deals.iter().map(|d| d.external_id.clone()).collect();
        let existing = self.deals_by_external_ids(&ids).await?;
        for d in deals {
            match existing.get(&d.external_id) {
                Some(old) => {
                    let mut new = old.clone();
                    new.name = d.name.clone();
                    new.company_id = d.company_id;
                    new.owner_name = d.owner_name.clone();
                    new.product = d.product.clone();
                    new.value = d.value;
                    new.engaged_on = d.engaged_on;
                    new.closed_on = d.closed_on;
                    new.custom = d.custom.clone();
                    new.stage = d.stage;
                    if new == *old {
                        unchanged += 1;
                        continue;
                    }
                    if new.stage != old.stage {
                        new.stage_changed_at = now;
                        self.insert_stage_change(&StageChange {
                            deal_id: old.id,
                            from: Some(old.stage),
                            to: new.stage,
                            at: now,
                            user_id: None,
                            lost_reason: None,
                            note: Some("imported".into()),
                        })
                        .await?;
                    }
                    new.updated_at = now;
                    self.update_deal(&new).await?;
                    updated += 1;
                }
                None => {
                    let deal = Deal {
                        id: DealId(Uuid::now_v7()),
                        external_id: Some(d.external_id.clone()),
                        name: d.name.clone(),
                        company_id: d.company_id,
                        stage: d.stage,
                        stage_changed_at: now,
                        owner_id: None,
                        owner_name: d.owner_name.clone(),
                        product: d.product.clone(),
                        value: d.value,
                        currency: "EUR".into(),
                        expected_close_on: None,
                        engaged_on: d.engaged_on,
                        closed_on: d.closed_on,
                        lost_reason: None,
                        source: None,
                        campaign: None,
                        custom: d.custom.clone(),
                        created_at: now,
                        updated_at: now,
                    };
                    self.insert_deal(&deal, &[]).await?;
                    self.insert_stage_change(&StageChange {
                        deal_id: deal.id,
                        from: None,
                        to: deal.stage,
                        at: now,
                        user_id: None,
                        lost_reason: None,
                        note: Some("imported".into()),
                    })
                    .await?;
                    created += 1;
                }
            }
        }
        Ok((created, updated, unchanged))
    }

    pub async fn deals_by_external_ids(
        &mut self,
        ids: &[String],
    ) -> Result<HashMap<String, Deal>, StoreError> {
        let mut out = HashMap::new();
        for chunk in ids.chunks(500) {
            let sql = format!(
                "SELECT {DEAL_COLUMNS} FROM deals WHERE external_id IN ({})",
                Session::placeholders(1, chunk.len())
            );
            for r in self.fetch_all(&sql, chunk.iter().map(Arg::from).collect()).await? {
                let d = deal_from_row(&r)?;
                if let Some(k) = d.external_id.clone() {
                    out.insert(k, d);
                }
            }
        }
        Ok(out)
    }
}

/// A contact's role in its account's purchase.
#[derive(Debug, Clone, PartialEq)]
pub struct BuyingRole {
    pub contact_id: ContactId,
    pub role: ContactRole,
    /// For an intermediary: the decision maker it leads to.
    pub decision_maker_id: Option<ContactId>,
}

/// A member of an account's buying group, as listed.
#[derive(Debug, Clone, PartialEq)]
pub struct BuyingGroupMember {
    pub contact_id: ContactId,
    /// None: a contact known by other means (a phone call, an imported id).
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub job_title: Option<String>,
    pub lifecycle_stage: String,
    /// None: no role known yet.
    pub role: Option<ContactRole>,
    pub decision_maker_id: Option<ContactId>,
    /// The rep holding the contact's open assignment.
    pub owner_id: Option<UserId>,
}

fn role(text: &str) -> Result<ContactRole, StoreError> {
    ContactRole::parse(text).ok_or_else(|| StoreError::Corrupt(format!("buying role `{text}`")))
}

impl Session {
    /// Sets (or, with `None`, forgets) a contact's role in the purchase.
    pub async fn set_buying_role(
        &mut self,
        contact: ContactId,
        value: Option<(ContactRole, Option<ContactId>)>,
        by: Option<UserId>,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        match value {
            None => {
                self.execute("DELETE FROM buying_roles WHERE contact_id = $1", args![contact]).await?;
            }
            Some((r, dm)) => {
                self.execute(
                    "INSERT INTO buying_roles (contact_id, role, decision_maker_id, updated_at, updated_by) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (contact_id) DO UPDATE SET role = excluded.role, \
                     decision_maker_id = excluded.decision_maker_id, updated_at = excluded.updated_at, \
                     updated_by = excluded.updated_by",
                    args![contact, r.as_str(), dm, now, by],
                )
                .await?;
            }
        }
        Ok(())
    }

    /// The roles of these contacts (those that have one).
    pub async fn buying_roles_of(&mut self, contacts: &[ContactId]) -> Result<Vec<BuyingRole>, StoreError> {
        let mut out = Vec::new();
        for chunk in contacts.chunks(500) {
            let sql = format!(
                "SELECT contact_id, role, decision_maker_id FROM buying_roles WHERE contact_id IN ({})",
                Session::placeholders(1, chunk.len())
            );
            for r in self.fetch_all(&sql, chunk.iter().map(|&c| Arg::from(c)).collect()).await? {
                let text: String = r.get(1)?;
                out.push(BuyingRole {
                    contact_id: ContactId(r.get(0)?),
                    role: role(&text)?,
                    decision_maker_id: r.get::<Option<Uuid>>(2)?.map(ContactId),
                });
            }
        }
        Ok(out)
    }

    /// The intermediaries pointing to `decision_maker`.
    pub async fn intermediaries_of(
        &mut self,
        decision_maker: ContactId,
    ) -> Result<Vec<ContactId>, StoreError> {
        self.fetch_all(
            "SELECT contact_id FROM buying_roles WHERE decision_maker_id = $1 ORDER BY contact_id",
            args![decision_maker],
        )
        .await?
        .iter()
        .map(|r| Ok(ContactId(r.get(0)?)))
        .collect()
    }

    /// The contacts of a company with their role in the purchase and their rep, decision makers
    /// first, then intermediaries, users, others, and contacts of unknown role.
    pub async fn buying_group(&mut self, company: CompanyId) -> Result<Vec<BuyingGroupMember>, StoreError> {
        let rows = self
            .fetch_all(
                "SELECT c.id, c.email, c.first_name, c.last_name, c.job_title, c.lifecycle_stage, b.role, \
                 b.decision_maker_id, a.rep_id FROM contacts c LEFT JOIN buying_roles b ON b.contact_id = c.id \
                 LEFT JOIN assignments a ON a.contact_id = c.id AND a.closed_at IS NULL \
                 WHERE c.company_id = $1 AND c.anonymised_at IS NULL ORDER BY c.email, c.id LIMIT 1000",
                args![company],
            )
            .await?;
        let mut members = rows
            .iter()
            .map(|r| {
                Ok(BuyingGroupMember {
                    contact_id: ContactId(r.get(0)?),
                    email: r.get(1)?,
                    first_name: r.get(2)?,
                    last_name: r.get(3)?,
                    job_title: r.get(4)?,
                    lifecycle_stage: r.get(5)?,
                    role: r.get::<Option<String>>(6)?.as_deref().map(role).transpose()?,
                    decision_maker_id: r.get::<Option<Uuid>>(7)?.map(ContactId),
                    owner_id: r.get::<Option<Uuid>>(8)?.map(UserId),
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let rank = |m: &BuyingGroupMember| m.role.map_or(ContactRole::ALL.len(), |r| r as usize);
        members.sort_by_key(|m| rank(m));
        Ok(members)
    }

    /// Whether the contact has an open task of this purpose.
    pub async fn has_open_task(&mut self, contact: ContactId, purpose: &str) -> Result<bool, StoreError> {
        Ok(self
            .fetch_optional(
                "SELECT id FROM tasks WHERE contact_id = $1 AND purpose = $2 AND done_at IS NULL LIMIT 1",
                args![contact, purpose],
            )
            .await?
            .is_some())
    }
}
