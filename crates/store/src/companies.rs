//! Companies (accounts) in storage.

use jiff::Timestamp;
use leadgate_core::company::{Company, NewCompany};
use leadgate_core::filter::CompanyFilter;
use leadgate_core::ids::CompanyId;
use leadgate_core::text::fold;

use crate::cursor::{Cursor, Page};
use crate::driver::{Row, Session, Where, args, like_pattern};
use crate::error::StoreError;

const COLUMNS: &str = "id, name, domain, sector, employees, annual_revenue, country, external_id, custom, created_at, updated_at";

fn from_row(row: &Row) -> Result<Company, StoreError> {
    Ok(Company {
        id: CompanyId(row.get(0)?),
        name: row.get(1)?,
        domain: row.get(2)?,
        sector: row.get(3)?,
        employees: row.get(4)?,
        annual_revenue: row.get(5)?,
        country: row.get(6)?,
        external_id: row.get(7)?,
        custom: row.json_object(8)?,
        created_at: row.ts(9)?,
        updated_at: row.ts(10)?,
    })
}

fn search_text(c: &Company) -> String {
    leadgate_core::text::search_text([Some(c.name.as_str()), c.domain.as_deref()])
}

impl Session {
    pub async fn insert_company(
        &mut self,
        id: CompanyId,
        new: NewCompany,
        now: Timestamp,
    ) -> Result<Company, StoreError> {
        let company = Company {
            id,
            name: new.name,
            domain: new.domain,
            sector: new.sector,
            employees: new.employees,
            annual_revenue: new.annual_revenue,
            country: new.country,
            external_id: new.external_id,
            custom: new.custom,
            created_at: now,
            updated_at: now,
        };
        self.execute(
            "INSERT INTO companies (id, name, domain, sector, employees, annual_revenue, country, external_id, \
             custom, search_text, created_at, updated_at, name_key) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
            args![
                company.id,
                company.name.as_str(),
                company.domain.as_deref(),
                company.sector.as_deref(),
                company.employees,
                company.annual_revenue,
                company.country.as_deref(),
                company.external_id.as_deref(),
                serde_json::Value::Object(company.custom.clone()).to_string(),
                search_text(&company),
                now,
                now,
                fold(&company.name)
            ],
        )
        .await?;
        Ok(company)
    }

    pub async fn get_company(&mut self, id: CompanyId) -> Result<Option<Company>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM companies WHERE id = $1");
        self.fetch_optional(&sql, args![id]).await?.as_ref().map(from_row).transpose()
    }

    /// Companies by id (those that exist); `ids` should hold at most a few thousand.
    pub async fn companies_by_ids(&mut self, ids: &[CompanyId]) -> Result<Vec<Company>, StoreError> {
        let sql =
            format!("SELECT {COLUMNS} FROM companies WHERE id IN ({})", Session::placeholders(1, ids.len()));
        let values = ids.iter().map(|&id| crate::driver::Arg::from(id)).collect();
        self.fetch_all(&sql, values).await?.iter().map(from_row).collect()
    }

    pub async fn find_company_by_external_id(
        &mut self,
        external_id: &str,
    ) -> Result<Option<Company>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM companies WHERE external_id = $1");
        self.fetch_optional(&sql, args![external_id]).await?.as_ref().map(from_row).transpose()
    }

    /// Writes every editable field and `updated_at`. Returns false when the company is gone.
    pub async fn update_company(&mut self, company: &Company) -> Result<bool, StoreError> {
        let n = self
            .execute(
                "UPDATE companies SET name = $2, domain = $3, sector = $4, employees = $5, annual_revenue = $6, \
                 country = $7, external_id = $8, custom = $9, search_text = $10, updated_at = $11, name_key = $12 WHERE id = $1",
                args![
                    company.id,
                    company.name.as_str(),
                    company.domain.as_deref(),
                    company.sector.as_deref(),
                    company.employees,
                    company.annual_revenue,
                    company.country.as_deref(),
                    company.external_id.as_deref(),
                    serde_json::Value::Object(company.custom.clone()).to_string(),
                    search_text(company),
                    company.updated_at,
                    fold(&company.name)
                ],
            )
            .await?;
        Ok(n == 1)
    }

    /// Deletes a company; its contacts stay, without a company.
    pub async fn delete_company(&mut self, id: CompanyId) -> Result<bool, StoreError> {
        Ok(self.execute("DELETE FROM companies WHERE id = $1", args![id]).await? == 1)
    }

    pub async fn list_companies(
        &mut self,
        filter: &CompanyFilter,
        limit: u32,
        after: Option<Cursor>,
    ) -> Result<Page<Company>, StoreError> {
        let mut w = Where::new();
        if let Some(domain) = &filter.domain {
            w.add("domain = ?", domain.to_lowercase());
        }
        if let Some(sector) = &filter.sector {
            w.add("LOWER(sector) = ?", sector.to_lowercase());
        }
        if let Some(country) = &filter.country {
            w.add("LOWER(country) = ?", country.to_lowercase());
        }
        if let Some(t) = filter.created_after {
            w.add("created_at >= ?", t);
        }
        if let Some(t) = filter.created_before {
            w.add("created_at < ?", t);
        }
        if let Some(t) = filter.updated_after {
            w.add("updated_at >= ?", t);
        }
        if let Some(t) = filter.updated_before {
            w.add("updated_at < ?", t);
        }
        if let Some(text) = &filter.text {
            w.add("search_text LIKE ? ESCAPE '\\'", like_pattern(&fold(text)));
        }
        if let Some(c) = after {
            w.add("id > ?", c.id);
        }
        let (where_clause, values) = w.finish();
        let sql = format!("SELECT {COLUMNS} FROM companies {where_clause} ORDER BY id LIMIT {}", limit + 1);
        let rows = self.fetch_all(&sql, values).await?;
        let items = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_rows(items, limit, |c| Cursor { key: 0, id: c.id.as_uuid() }))
    }
}

/// A line of the companies list: the company, its contacts and its open deals.
#[derive(Debug, Clone, PartialEq)]
pub struct CompanyLine {
    pub company: Company,
    pub contacts: i64,
    pub open_deals: i64,
}

impl Session {
    /// Companies by name (accents and case aside), optionally those whose name or domain holds
    /// `text`, with how many contacts and open deals each has.
    pub async fn company_lines(
        &mut self,
        text: Option<&str>,
        limit: u32,
        offset: u32,
    ) -> Result<Vec<CompanyLine>, StoreError> {
        let mut w = Where::new();
        if let Some(text) = text {
            w.add("search_text LIKE ? ESCAPE '\\'", like_pattern(&fold(text)));
        }
        let (where_clause, values) = w.finish();
        let columns: String = COLUMNS.split(", ").map(|c| format!("co.{c}")).collect::<Vec<_>>().join(", ");
        let sql = format!(
            "SELECT {columns}, \
             (SELECT COUNT(*) FROM contacts c WHERE c.company_id = co.id), \
             (SELECT COUNT(*) FROM deals d WHERE d.company_id = co.id AND d.stage NOT IN ('won', 'lost')) \
             FROM companies co {where_clause} ORDER BY co.name_key, co.id LIMIT {limit} OFFSET {offset}"
        );
        self.fetch_all(&sql, values)
            .await?
            .iter()
            .map(|r| Ok(CompanyLine { company: from_row(r)?, contacts: r.get(11)?, open_deals: r.get(12)? }))
            .collect()
    }
}
