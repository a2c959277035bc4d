//! When an approved order may be issued: the organization holds a current
//! validation of the product's level and a current, active domain covers
//! every name.

use crate::catalog::ValidationLevel;
use crate::dns::domain_covers;
use certwell_types::{MailboxStatus, ValidationStatus, ValidationType};
use time::OffsetDateTime;

/// One validation of the organization.
#[derive(Debug, Clone, Copy)]
pub struct OrgValidationFact {
    pub kind: ValidationType,
    pub status: ValidationStatus,
    /// None: no expiry recorded.
    pub validated_until: Option<OffsetDateTime>,
}

/// One domain of the organization.
#[derive(Debug, Clone, Copy)]
pub struct DomainFact<'a> {
    pub name: &'a str,
    pub is_active: bool,
    /// None: never validated.
    pub validated_until: Option<OffsetDateTime>,
    /// Validated by an HTTP file: covers exactly its own name (BR
    /// 3.2.2.4.18: no subdomains, no wildcards).
    pub exact_only: bool,
}

impl DomainFact<'_> {
    /// Active and validated until after `now`.
    pub fn is_validated(&self, now: OffsetDateTime) -> bool {
        self.is_active && self.validated_until.is_some_and(|u| u > now)
    }

    /// Whether this domain's validation would cover `name`.
    pub fn covers(&self, name: &str) -> bool {
        if self.exact_only {
            self.name == name
        } else {
            domain_covers(self.name, name)
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Blocker {
    OrganizationNotValidated,
    DomainNotValidated(String),
    /// A mailbox-validated order's address whose control is not proven yet.
    MailboxNotValidated(String),
    /// An organization- or sponsor-validated S/MIME certificate carries
    /// an organizationIdentifier (SBR §7.1.4.2.2 d), but the organization's
    /// validation has not recorded its registration number yet.
    RegistrationNumberMissing,
}

impl Blocker {
    /// Why the order waits, in words (order info's `pending_reasons`).
    pub fn message(&self) -> String {
        match self {
            Blocker::OrganizationNotValidated => {
                "The organization's validation for this product is not complete.".into()
            }
            Blocker::DomainNotValidated(n) => format!("The domain control of '{n}' is not validated."),
            Blocker::MailboxNotValidated(e) => {
                format!("The control of the mailbox '{e}' is not validated.")
            }
            Blocker::RegistrationNumberMissing => "The organization's validation has no registration number yet; organization- and sponsor-validated S/MIME certificates carry it as their organizationIdentifier (SBR §7.1.4.2.2 d).".into(),
        }
    }

    /// A stable code for the reason.
    pub fn code(&self) -> &'static str {
        match self {
            Blocker::OrganizationNotValidated => "organization_not_validated",
            Blocker::DomainNotValidated(_) => "domain_not_validated",
            Blocker::MailboxNotValidated(_) => "mailbox_not_validated",
            Blocker::RegistrationNumberMissing => "registration_number_missing",
        }
    }
}

/// What blocks a mailbox-validated order: every (address, status) whose
/// status is not `validated`.
pub fn mailbox_blockers<'a>(
    emails: impl IntoIterator<Item = (&'a str, MailboxStatus)>,
) -> Vec<Blocker> {
    emails
        .into_iter()
        .filter(|(_, status)| *status != MailboxStatus::Validated)
        .map(|(e, _)| Blocker::MailboxNotValidated(e.to_string()))
        .collect()
}

/// What still blocks issuance (empty: issuable) at `now`.
pub fn issuance_blockers(
    level: ValidationLevel,
    org: &[OrgValidationFact],
    domains: &[DomainFact],
    names: &[String],
    now: OffsetDateTime,
) -> Vec<Blocker> {
    let mut out = Vec::new();
    let org_ok = org.iter().any(|v| {
        level.satisfied_by(v.kind)
            && v.status == ValidationStatus::Active
            && v.validated_until.is_none_or(|u| u > now)
    });
    if !org_ok {
        out.push(Blocker::OrganizationNotValidated);
    }
    for name in names {
        let covered = domains
            .iter()
            .any(|d| d.covers(name) && d.is_validated(now));
        if !covered {
            out.push(Blocker::DomainNotValidated(name.clone()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-23 12:00 UTC);
    const LATER: OffsetDateTime = datetime!(2027-11-23 12:00 UTC);
    const PAST: OffsetDateTime = datetime!(2025-11-23 12:00 UTC);

    fn v(kind: &str, status: &str, until: Option<OffsetDateTime>) -> OrgValidationFact {
        OrgValidationFact {
            kind: ValidationType::from_name(kind).expect("a validation type"),
            status: ValidationStatus::from_name(status).expect("a validation status"),
            validated_until: until,
        }
    }
    fn d(name: &str, active: bool, until: Option<OffsetDateTime>) -> DomainFact<'_> {
        DomainFact {
            name,
            is_active: active,
            validated_until: until,
            exact_only: false,
        }
    }

    #[test]
    fn http_validated_domains_cover_only_their_name() {
        let exact = DomainFact {
            exact_only: true,
            ..d("shop.example.com", true, Some(LATER))
        };
        let b = issuance_blockers(
            ValidationLevel::Ov,
            &[v("ov", "active", Some(LATER))],
            &[exact],
            &names(&[
                "shop.example.com",
                "a.shop.example.com",
                "*.shop.example.com",
            ]),
            NOW,
        );
        assert_eq!(
            b,
            vec![
                Blocker::DomainNotValidated("a.shop.example.com".into()),
                Blocker::DomainNotValidated("*.shop.example.com".into())
            ]
        );
    }
    fn names(n: &[&str]) -> Vec<String> {
        n.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn mailboxes() {
        assert!(mailbox_blockers([("a@example.com", MailboxStatus::Validated)]).is_empty());
        assert_eq!(
            mailbox_blockers([
                ("a@example.com", MailboxStatus::Validated),
                ("b@example.com", MailboxStatus::Unvalidated)
            ]),
            vec![Blocker::MailboxNotValidated("b@example.com".into())]
        );
    }

    #[test]
    fn issuable_when_everything_is_current() {
        let b = issuance_blockers(
            ValidationLevel::Ov,
            &[v("ev", "active", Some(LATER))],
            &[d("example.com", true, Some(LATER))],
            &names(&["example.com", "*.a.example.com"]),
            NOW,
        );
        assert!(b.is_empty(), "{b:?}");
    }

    #[test]
    fn each_blocker() {
        let sans = names(&["example.com", "example.org"]);
        let doms = [
            d("example.com", true, Some(LATER)),
            d("example.org", false, Some(LATER)),
        ];
        for org in [
            vec![],
            vec![v("ov", "pending", None)],
            vec![v("ov", "active", Some(PAST))],
            vec![v("ov", "active", Some(LATER))], // EV product: OV is not enough
        ] {
            let b = issuance_blockers(ValidationLevel::Ev, &org, &doms, &sans, NOW);
            assert_eq!(b[0], Blocker::OrganizationNotValidated);
            assert_eq!(
                b[1],
                Blocker::DomainNotValidated("example.org".into()),
                "inactive domain"
            );
        }
        let b = issuance_blockers(
            ValidationLevel::Ov,
            &[v("ov", "active", None)],
            &[
                d("example.com", true, Some(PAST)),
                d("example.org", true, None),
            ],
            &sans,
            NOW,
        );
        assert_eq!(
            b,
            vec![
                Blocker::DomainNotValidated("example.com".into()),
                Blocker::DomainNotValidated("example.org".into())
            ]
        );
    }
}
