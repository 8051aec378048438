//! Filters over lists of contacts and companies, as plain data. The HTTP layer parses them from
//! query strings, the store compiles them to SQL; neither decides what they mean.

use jiff::Timestamp;

use crate::ids::CompanyId;
use crate::lifecycle::LifecycleStage;

/// Which contacts to list. Every set criterion must hold (they combine with AND).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContactFilter {
    /// Exact e-mail, case-insensitive.
    pub email: Option<String>,
    pub company_id: Option<CompanyId>,
    /// Exact first-touch source.
    pub source: Option<String>,
    pub lifecycle_stage: Option<LifecycleStage>,
    pub created_after: Option<Timestamp>,
    pub created_before: Option<Timestamp>,
    pub updated_after: Option<Timestamp>,
    pub updated_before: Option<Timestamp>,
    /// Free text matched, case-insensitively, inside first name, last name and e-mail.
    pub text: Option<String>,
    /// Which leads the reader may see (set by the use case from who asks, never by a client).
    pub scope: crate::access::LeadScope,
}

/// Which companies to list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CompanyFilter {
    /// Exact domain.
    pub domain: Option<String>,
    pub sector: Option<String>,
    pub country: Option<String>,
    pub created_after: Option<Timestamp>,
    pub created_before: Option<Timestamp>,
    pub updated_after: Option<Timestamp>,
    pub updated_before: Option<Timestamp>,
    /// Free text matched inside the name and domain.
    pub text: Option<String>,
}

/// Largest page a list endpoint serves; clients page through more with the cursor.
pub const MAX_PAGE_SIZE: u32 = 500;
/// Page size when the client does not say.
pub const DEFAULT_PAGE_SIZE: u32 = 50;
