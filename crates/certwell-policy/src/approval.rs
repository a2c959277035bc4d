//! The account's approval workflow and what it means for a new request.

use certwell_types::RequestStatus;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApprovalWorkflow {
    /// A new request waits for one approval (`pending`).
    OneStep,
    /// A new request is `submitted`, needs a first approval (then `pending`)
    /// and a final approval.
    TwoStep,
    /// Requests are approved on creation.
    AutoApprove,
}

impl ApprovalWorkflow {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "one_step" => Some(ApprovalWorkflow::OneStep),
            "two_step" => Some(ApprovalWorkflow::TwoStep),
            "auto_approve" => Some(ApprovalWorkflow::AutoApprove),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            ApprovalWorkflow::OneStep => "one_step",
            ApprovalWorkflow::TwoStep => "two_step",
            ApprovalWorkflow::AutoApprove => "auto_approve",
        }
    }
    /// Status of a new request under this workflow.
    pub fn initial_request_status(self) -> RequestStatus {
        match self {
            ApprovalWorkflow::OneStep => RequestStatus::Pending,
            ApprovalWorkflow::TwoStep => RequestStatus::Submitted,
            ApprovalWorkflow::AutoApprove => RequestStatus::Approved,
        }
    }
}

/// Roles of API keys (the user the key belongs to).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Admin,
    Manager,
    User,
    /// certwell's validation desk; not an account role.
    Operator,
}

impl Role {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "admin" => Some(Role::Admin),
            "manager" => Some(Role::Manager),
            "user" => Some(Role::User),
            "operator" => Some(Role::Operator),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Manager => "manager",
            Role::User => "user",
            Role::Operator => "operator",
        }
    }
    /// (id, name) as in the vendor's access-role glossary.
    pub fn access_role(self) -> (i64, &'static str) {
        match self {
            Role::Admin => (1, "Administrator"),
            Role::Manager => (4, "Manager"),
            Role::User => (5, "Standard user"),
            Role::Operator => (0, "Operator"),
        }
    }
    /// The account role with the vendor's access-role id (1, 4, 5).
    pub fn from_access_role_id(id: i64) -> Option<Self> {
        match id {
            1 => Some(Role::Admin),
            4 => Some(Role::Manager),
            5 => Some(Role::User),
            _ => None,
        }
    }
    /// May skip approval and approve or reject requests.
    pub fn can_approve(self) -> bool {
        matches!(self, Role::Admin | Role::Manager)
    }
}

/// The vendor's API key roles (`restricted_to_role_id`, glossary "API
/// key roles"): what a key may do beyond its user's access role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyRestriction {
    /// 0: what the user may do.
    None,
    /// 100: orders, requests and certificates.
    Orders,
    /// 101: orders, requests, certificates, organizations and domains.
    OrdersDomainsOrganizations,
    /// 102: GET requests only.
    ViewOnly,
    /// 103: users (and their keys).
    UserManagement,
}

/// What a request touches, by its path below `/services/v2`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Area {
    Orders,
    OrganizationsDomains,
    Users,
    /// The catalog and the caller's own user: open to every key.
    Context,
    Other,
}

fn area(method: &str, path: &str) -> Area {
    let first = path.trim_start_matches('/').split('/').next().unwrap_or("");
    match first {
        "order" | "request" | "certificate" | "report" | "email-validation" => Area::Orders,
        "organization" | "domain" => Area::OrganizationsDomains,
        "product" if method == "GET" => Area::Context,
        "user" if method == "GET" && path.trim_end_matches('/').ends_with("/user/me") => {
            Area::Context
        }
        "user" | "key" => Area::Users,
        _ => Area::Other,
    }
}

impl KeyRestriction {
    pub const ALL: [KeyRestriction; 5] = [
        KeyRestriction::None,
        KeyRestriction::Orders,
        KeyRestriction::OrdersDomainsOrganizations,
        KeyRestriction::ViewOnly,
        KeyRestriction::UserManagement,
    ];

    pub fn id(self) -> i64 {
        match self {
            KeyRestriction::None => 0,
            KeyRestriction::Orders => 100,
            KeyRestriction::OrdersDomainsOrganizations => 101,
            KeyRestriction::ViewOnly => 102,
            KeyRestriction::UserManagement => 103,
        }
    }

    pub fn from_id(id: i64) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.id() == id)
    }

    /// The glossary's name.
    pub fn name(self) -> &'static str {
        match self {
            KeyRestriction::None => "N/A",
            KeyRestriction::Orders => "Orders",
            KeyRestriction::OrdersDomainsOrganizations => "Orders, Domains, Organizations",
            KeyRestriction::ViewOnly => "View Only",
            KeyRestriction::UserManagement => "User Management",
        }
    }

    /// Whether a key so restricted may send `method` to `path` (below
    /// `/services/v2`); the user's own role still applies after this.
    pub fn allows(self, method: &str, path: &str) -> bool {
        let a = area(method, path);
        match self {
            KeyRestriction::None => true,
            KeyRestriction::ViewOnly => method == "GET" || method == "HEAD",
            _ if a == Area::Context => true,
            KeyRestriction::Orders => a == Area::Orders,
            KeyRestriction::OrdersDomainsOrganizations => {
                matches!(a, Area::Orders | Area::OrganizationsDomains)
            }
            KeyRestriction::UserManagement => a == Area::Users,
        }
    }
}

/// The next status when an approver sets `wanted` on a request currently in
/// `current`. Returns None when the transition is not allowed.
pub fn request_transition(current: RequestStatus, wanted: RequestStatus) -> Option<RequestStatus> {
    use RequestStatus::*;
    match (current, wanted) {
        // two-step: the first approval moves a submitted request to pending
        (Submitted, Approved) | (Submitted, Pending) => Some(Pending),
        (Pending, Approved) => Some(Approved),
        (Submitted, Rejected) | (Pending, Rejected) => Some(Rejected),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_restrictions_follow_the_glossary() {
        use KeyRestriction as K;
        let cases: &[(&str, &str, [bool; 5])] = &[
            // (method, path, [none, 100, 101, 102, 103])
            (
                "POST",
                "/order/certificate/ssl_plus",
                [true, true, true, false, false],
            ),
            (
                "GET",
                "/order/certificate/12",
                [true, true, true, true, false],
            ),
            ("PUT", "/request/5/status", [true, true, true, false, false]),
            (
                "GET",
                "/certificate/7/download/format/pem_all",
                [true, true, true, true, false],
            ),
            (
                "PUT",
                "/certificate/7/revoke",
                [true, true, true, false, false],
            ),
            ("POST", "/organization", [true, false, true, false, false]),
            (
                "PUT",
                "/domain/3/dcv/validate-token",
                [true, false, true, false, false],
            ),
            ("POST", "/user", [true, false, false, false, true]),
            ("PUT", "/key/9/status", [true, false, false, false, true]),
            ("GET", "/user/me", [true, true, true, true, true]),
            ("GET", "/product/ssl_plus", [true, true, true, true, true]),
            ("GET", "/finance/balance", [true, false, false, true, false]),
            (
                "POST",
                "/container/1/children",
                [true, false, false, false, false],
            ),
        ];
        for (method, path, want) in cases {
            for (r, w) in K::ALL.iter().zip(want) {
                assert_eq!(r.allows(method, path), *w, "{} {method} {path}", r.id());
            }
        }
        assert_eq!(K::from_id(101), Some(K::OrdersDomainsOrganizations));
        assert_eq!(K::from_id(104), None);
    }

    #[test]
    fn workflows() {
        assert_eq!(
            ApprovalWorkflow::OneStep.initial_request_status(),
            RequestStatus::Pending
        );
        assert_eq!(
            ApprovalWorkflow::TwoStep.initial_request_status(),
            RequestStatus::Submitted
        );
        assert_eq!(
            ApprovalWorkflow::AutoApprove.initial_request_status(),
            RequestStatus::Approved
        );
        assert_eq!(
            ApprovalWorkflow::parse("two_step"),
            Some(ApprovalWorkflow::TwoStep)
        );
        assert_eq!(ApprovalWorkflow::parse("x"), None);
    }

    #[test]
    fn transitions() {
        assert_eq!(
            request_transition(RequestStatus::Pending, RequestStatus::Approved),
            Some(RequestStatus::Approved)
        );
        assert_eq!(
            request_transition(RequestStatus::Submitted, RequestStatus::Approved),
            Some(RequestStatus::Pending)
        );
        assert_eq!(
            request_transition(RequestStatus::Pending, RequestStatus::Rejected),
            Some(RequestStatus::Rejected)
        );
        assert_eq!(
            request_transition(RequestStatus::Approved, RequestStatus::Rejected),
            None
        );
        assert_eq!(
            request_transition(RequestStatus::Rejected, RequestStatus::Approved),
            None
        );
        assert_eq!(RequestStatus::parse("bogus"), None);
    }

    #[test]
    fn roles() {
        assert!(Role::Admin.can_approve());
        assert!(Role::Manager.can_approve());
        assert!(!Role::User.can_approve());
        assert_eq!(Role::parse("manager"), Some(Role::Manager));
    }
}
