//! The rows the analytics reports are computed from. Counting is done by the database where it
//! is a plain `GROUP BY` (the funnel: one row per contact thanks to the `reached_*` columns);
//! the rest (medians, time in stage, churn) is computed by `core::analytics` from the few
//! columns read here, so both databases give the same figures.

use jiff::Timestamp;
use jiff::civil::Date;
use leadgate_core::analytics::{ClosedDeal, DealsBy, FunnelBy, FunnelCounts, FunnelMode, OpenDeal};
use leadgate_core::ids::DealId;
use leadgate_core::pipeline::DealStage;
use uuid::Uuid;

use crate::driver::{Session, args};
use crate::error::StoreError;
use crate::pipeline::{date, stage};

impl Session {
    /// Funnel counts per raw value of `by` (merged by spelling in `core::analytics`).
    pub async fn funnel_counts(
        &mut self,
        mode: FunnelMode,
        by: FunnelBy,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<(Option<String>, FunnelCounts)>, StoreError> {
        let (group, join) = match by {
            FunnelBy::Total => ("CAST(NULL AS TEXT)", ""),
            FunnelBy::Source => ("c.source", ""),
            FunnelBy::Campaign => ("c.campaign", ""),
            FunnelBy::Country => ("c.country", ""),
            FunnelBy::Sector => ("co.sector", "LEFT JOIN companies co ON co.id = c.company_id"),
            // The rep of the latest hand-over.
            FunnelBy::Rep => (
                "(SELECT COALESCE(u.name, u.email) FROM assignments a JOIN users u ON u.id = a.rep_id \
                 WHERE a.contact_id = c.id ORDER BY a.assigned_at DESC LIMIT 1)",
                "",
            ),
        };
        let within = |column: &str| format!("({column} >= $1 AND {column} < $2)");
        let sql = match mode {
            // Contacts created in the period, followed to today.
            FunnelMode::Cohort => format!(
                "SELECT {group} AS g, COUNT(*), COUNT(c.reached_mql_at), COUNT(c.reached_sql_at), \
                 COUNT(c.reached_opportunity_at), COUNT(c.reached_customer_at) \
                 FROM contacts c {join} WHERE {} GROUP BY g",
                within("c.created_at")
            ),
            // Each step counted when it was first reached, whenever the contact arrived.
            FunnelMode::Activity => {
                let columns = [
                    "c.created_at",
                    "c.reached_mql_at",
                    "c.reached_sql_at",
                    "c.reached_opportunity_at",
                    "c.reached_customer_at",
                ];
                let sums: Vec<String> = columns
                    .iter()
                    .map(|c| format!("COALESCE(SUM(CASE WHEN {} THEN 1 ELSE 0 END), 0)", within(c)))
                    .collect();
                let any: Vec<String> = columns.iter().map(|c| within(c)).collect();
                format!(
                    "SELECT {group} AS g, {} FROM contacts c {join} WHERE {} GROUP BY g",
                    sums.join(", "),
                    any.join(" OR ")
                )
            }
        };
        self.fetch_all(&sql, args![from, to])
            .await?
            .iter()
            .map(|r| {
                Ok((
                    r.get(0)?,
                    FunnelCounts {
                        leads: r.get(1)?,
                        mql: r.get(2)?,
                        sql: r.get(3)?,
                        opportunity: r.get(4)?,
                        customer: r.get(5)?,
                    },
                ))
            })
            .collect()
    }

    /// Deals won or lost from `from` to `to` (days, both included), with the value of `by`.
    pub async fn closed_deals(
        &mut self,
        by: DealsBy,
        from: Date,
        to: Date,
    ) -> Result<Vec<ClosedDeal>, StoreError> {
        let group = match by {
            DealsBy::Total | DealsBy::Month => "CAST(NULL AS TEXT)",
            DealsBy::Owner => {
                "CASE WHEN d.owner_id IS NULL THEN d.owner_name ELSE COALESCE(u.name, u.email) END"
            }
            DealsBy::Product => "d.product",
            DealsBy::Sector => "co.sector",
            DealsBy::Source => "d.source",
        };
        let sql = format!(
            "SELECT d.stage, d.value, d.engaged_on, d.created_at, d.closed_on, {group} FROM deals d \
             LEFT JOIN companies co ON co.id = d.company_id LEFT JOIN users u ON u.id = d.owner_id \
             WHERE d.stage IN ('won', 'lost') AND d.closed_on >= $1 AND d.closed_on <= $2"
        );
        let rows = self.fetch_all(&sql, args![from.to_string(), to.to_string()]).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let st: String = r.get(0)?;
            let closed_on = date(r, 4)?.unwrap_or(from);
            let created = r.ts(3)?.to_zoned_datetime(jiff::tz::TimeZone::UTC).date();
            let group = match by {
                DealsBy::Month => Some(leadgate_core::analytics::month_of(closed_on)),
                _ => r.get(5)?,
            };
            out.push(ClosedDeal {
                won: st == DealStage::Won.as_str(),
                value: r.get(1)?,
                started_on: date(r, 2)?.unwrap_or(created),
                closed_on,
                group,
            });
        }
        Ok(out)
    }

    /// Open deals expected to close from `from` to `to` (both included) or without a date.
    pub async fn open_deals_for_forecast(
        &mut self,
        from: Date,
        to: Date,
    ) -> Result<Vec<OpenDeal>, StoreError> {
        let rows = self
            .fetch_all(
                "SELECT stage, value, expected_close_on FROM deals WHERE stage NOT IN ('won', 'lost') \
                 AND (expected_close_on IS NULL OR (expected_close_on >= $1 AND expected_close_on <= $2))",
                args![from.to_string(), to.to_string()],
            )
            .await?;
        rows.iter()
            .map(|r| {
                let st: String = r.get(0)?;
                Ok(OpenDeal { stage: stage(&st)?, value: r.get(1)?, expected_close_on: date(r, 2)? })
            })
            .collect()
    }

    /// The stage changes of every deal that changed stage in `[from, to)`, each deal's in time
    /// order (its earlier changes included: a stay ending in the period began before it).
    pub async fn stage_history(
        &mut self,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<(DealId, DealStage, Timestamp)>, StoreError> {
        let rows = self
            .fetch_all(
                "SELECT deal_id, to_stage, at FROM deal_stage_changes WHERE deal_id IN \
                 (SELECT deal_id FROM deal_stage_changes WHERE at >= $1 AND at < $2 AND from_stage IS NOT NULL) \
                 AND at < $2 ORDER BY deal_id, at, id",
                args![from, to],
            )
            .await?;
        rows.iter()
            .map(|r| {
                let st: String = r.get(1)?;
                Ok((DealId(r.get::<Uuid>(0)?), stage(&st)?, r.ts(2)?))
            })
            .collect()
    }

    /// Each contact that ever was a customer: when it became one, then each later move into
    /// `customer` (true) or `churned` (false), in time order.
    pub async fn customer_histories(&mut self) -> Result<Vec<Vec<(Timestamp, bool)>>, StoreError> {
        let mut by_contact: std::collections::HashMap<Uuid, Vec<(Timestamp, bool)>> =
            std::collections::HashMap::new();
        for r in self
            .fetch_all(
                "SELECT id, reached_customer_at FROM contacts WHERE reached_customer_at IS NOT NULL",
                vec![],
            )
            .await?
        {
            by_contact.entry(r.get(0)?).or_default().push((r.ts(1)?, true));
        }
        for r in self
            .fetch_all(
                "SELECT contact_id, to_stage, at FROM lifecycle_transitions WHERE to_stage IN ('customer', 'churned') \
                 ORDER BY at",
                vec![],
            )
            .await?
        {
            let st: String = r.get(1)?;
            by_contact.entry(r.get(0)?).or_default().push((r.ts(2)?, st == "customer"));
        }
        Ok(by_contact
            .into_values()
            .map(|mut h| {
                h.sort();
                h
            })
            .collect())
    }
}
