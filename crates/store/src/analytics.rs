//! The rows the analytics reports are computed from. Counting is done by the database where it
//! is a plain `GROUP BY` (the funnel: one row per contact thanks to the `reached_*` columns);
//! the rest (medians, time in stage, churn) is computed by `core::analytics` from the few
//! columns read here, so both databases give the same figures.

use jiff::Timestamp;
use jiff::civil::Date;
use leadgate_core::analytics::{
    ClosedDeals, DealsBy, FunnelBy, FunnelCounts, FunnelMode, Handover, OpenDeal, Stay, product_key,
};
use uuid::Uuid;

use crate::driver::{Session, args};
use crate::error::StoreError;
use crate::pipeline::{date, stage};

/// The funnel's counted columns and the contacts they read, for `mode` (`$1`, `$2`: the period).
fn funnel_terms(mode: FunnelMode) -> (String, String) {
    let within = |column: &str| format!("({column} >= $1 AND {column} < $2)");
    match mode {
        // Contacts created in the period, followed to today.
        FunnelMode::Cohort => (
            "COUNT(*), COUNT(c.reached_mql_at), COUNT(c.reached_sql_at), COUNT(c.reached_opportunity_at), \
             COUNT(c.reached_customer_at)"
                .to_string(),
            within("c.created_at"),
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
            (sums.join(", "), format!("({})", any.join(" OR ")))
        }
    }
}

/// The five funnel counts of a row, from column `at` on.
fn funnel_row(r: &crate::driver::Row, at: usize) -> Result<FunnelCounts, StoreError> {
    Ok(FunnelCounts {
        leads: r.get(at)?,
        mql: r.get(at + 1)?,
        sql: r.get(at + 2)?,
        opportunity: r.get(at + 3)?,
        customer: r.get(at + 4)?,
    })
}

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
            FunnelBy::Product => return self.funnel_counts_by_product(mode, from, to).await,
            // The rep of the latest hand-over.
            FunnelBy::Rep => (
                "(SELECT COALESCE(u.name, u.email) FROM assignments a JOIN users u ON u.id = a.rep_id \
                 WHERE a.contact_id = c.id ORDER BY a.assigned_at DESC LIMIT 1)",
                "",
            ),
        };
        let (counts, filter) = funnel_terms(mode);
        let sql = format!("SELECT {group} AS g, {counts} FROM contacts c {join} WHERE {filter} GROUP BY g");
        self.fetch_all(&sql, args![from, to])
            .await?
            .iter()
            .map(|r| Ok((r.get(0)?, funnel_row(r, 1)?)))
            .collect()
    }

    /// The funnel by product: a contact counts once under each product of its deals (spellings
    /// of one product, `GTXPro` and `GTX Pro`, once), contacts without deals on a line of their
    /// own. Lines may overlap, so their sum is not the total.
    async fn funnel_counts_by_product(
        &mut self,
        mode: FunnelMode,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<(Option<String>, FunnelCounts)>, StoreError> {
        let (counts, filter) = funnel_terms(mode);
        let sql = format!(
            "SELECT c.id, dp.product, {counts} FROM contacts c JOIN (SELECT DISTINCT dc.contact_id, d.product \
             FROM deal_contacts dc JOIN deals d ON d.id = dc.deal_id) dp ON dp.contact_id = c.id \
             WHERE {filter} GROUP BY c.id, dp.product"
        );
        let mut seen = std::collections::HashSet::new();
        let mut out = Vec::new();
        for r in self.fetch_all(&sql, args![from, to]).await? {
            let (id, product): (Uuid, Option<String>) = (r.get(0)?, r.get(1)?);
            if seen.insert((id, product.as_deref().map(product_key))) {
                out.push((product, funnel_row(&r, 2)?));
            }
        }
        let none = format!(
            "SELECT CAST(NULL AS TEXT), {counts} FROM contacts c WHERE {filter} \
             AND NOT EXISTS (SELECT 1 FROM deal_contacts dc WHERE dc.contact_id = c.id)"
        );
        let r = self.fetch_one(&none, args![from, to]).await?;
        out.push((None, funnel_row(&r, 1)?));
        Ok(out)
    }

    /// Leads handed over in `[from, to)`, with their rep's name and first-touch deadline.
    pub async fn handovers(&mut self, from: Timestamp, to: Timestamp) -> Result<Vec<Handover>, StoreError> {
        let rows = self
            .fetch_all(
                "SELECT COALESCE(u.name, u.email), a.assigned_at, a.due_at, a.first_touch_at, \
                 CASE WHEN a.outcome IN ('accepted', 'rejected') THEN a.closed_at END \
                 FROM assignments a LEFT JOIN users u ON u.id = a.rep_id \
                 WHERE a.assigned_at >= $1 AND a.assigned_at < $2",
                args![from, to],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(Handover {
                    rep: r.get(0)?,
                    assigned_at: r.ts(1)?,
                    due: r.opt_ts(2)?,
                    touched: r.opt_ts(3)?,
                    decided: r.opt_ts(4)?,
                })
            })
            .collect()
    }

    /// Anonymous browsers first seen in `[from, to)` (the funnel's visitors).
    pub async fn visitors_first_seen(&mut self, from: Timestamp, to: Timestamp) -> Result<i64, StoreError> {
        self.fetch_one(
            "SELECT COUNT(*) FROM visitors WHERE first_seen >= $1 AND first_seen < $2",
            args![from, to],
        )
        .await?
        .get(0)
    }

    /// Deals won or lost from `from` to `to` (days, both included), counted per outcome, value
    /// of `by` and length in days (from the engage date, else the creation day, to the close).
    pub async fn closed_deals(
        &mut self,
        by: DealsBy,
        from: Date,
        to: Date,
    ) -> Result<Vec<ClosedDeals>, StoreError> {
        // The cycle is kept with each closed deal (`Deal::cycle_days`, migration 30). The period
        // is written into the statement (two `Date`s: digits and dashes only): bound as
        // parameters, PostgreSQL's generic plan walked the close-date index for the tens of
        // thousands of deals of a year, 10 ms slower than reading the table.
        let closed = format!(
            "FROM deals d WHERE d.stage IN ('won', 'lost') AND d.closed_on >= '{from}' AND d.closed_on <= '{to}'"
        );
        let sql = match by {
            // Grouped on the deals alone, then the few groups named: joining the users to every
            // deal cost as much as the grouping.
            DealsBy::Owner => format!(
                "SELECT x.won, CASE WHEN x.owner_id IS NULL THEN x.owner_name ELSE COALESCE(u.name, u.email) END, \
                 x.days, x.n, x.v FROM (SELECT d.stage = 'won' AS won, d.owner_id, d.owner_name, d.cycle_days AS days, \
                 COUNT(*) AS n, COALESCE(SUM(d.value), 0) AS v {closed} GROUP BY won, d.owner_id, d.owner_name, days) x \
                 LEFT JOIN users u ON u.id = x.owner_id"
            ),
            _ => {
                // Only the table the grouping reads is joined.
                let (group, join) = match by {
                    DealsBy::Total | DealsBy::Owner => ("CAST(NULL AS TEXT)", ""),
                    DealsBy::Month => ("SUBSTR(d.closed_on, 1, 7)", ""),
                    DealsBy::Product => ("d.product", ""),
                    DealsBy::Sector => ("co.sector", "LEFT JOIN companies co ON co.id = d.company_id"),
                    DealsBy::Source => ("d.source", ""),
                };
                let closed = closed.replacen("FROM deals d", &format!("FROM deals d {join}"), 1);
                format!(
                    "SELECT d.stage = 'won' AS won, {group} AS g, d.cycle_days AS days, COUNT(*), \
                     COALESCE(SUM(d.value), 0) {closed} GROUP BY won, g, days"
                )
            }
        };
        self.fetch_all(&sql, Vec::new())
            .await?
            .iter()
            .map(|r| {
                Ok(ClosedDeals {
                    won: r.get(0)?,
                    group: r.get(1)?,
                    days: r.get::<Option<i64>>(2)?.unwrap_or(0),
                    deals: r.get(3)?,
                    value: r.get(4)?,
                })
            })
            .collect()
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

    /// The stays in a stage that ended in `[from, to)`: each change leaving a stage in the
    /// period, with since when the deal was in it.
    pub async fn stage_stays(&mut self, from: Timestamp, to: Timestamp) -> Result<Vec<Stay>, StoreError> {
        let rows = self
            .fetch_all(
                "SELECT from_stage, from_since, at FROM deal_stage_changes WHERE at >= $1 AND at < $2 \
                 AND from_stage IS NOT NULL AND from_since IS NOT NULL",
                args![from, to],
            )
            .await?;
        rows.iter()
            .map(|r| {
                let st: String = r.get(0)?;
                Ok((stage(&st)?, r.ts(1)?, r.ts(2)?))
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
