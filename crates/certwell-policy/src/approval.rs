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
