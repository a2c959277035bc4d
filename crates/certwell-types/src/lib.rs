//! certwell's typed domain values: the statuses and methods that the
//! store keeps, the rules compare and the API shows. Each is an enum with
//! one spelling (`as_str`, the vendor's wire name, also the stored text),
//! parsed in one place: [`from_name`](OrderStatus::from_name) for stored
//! values (exact), `parse` for what a client sends (any letter case).
//!
//! No logic beyond naming lives here, apart from [`limits`] (the CA/B
//! Forum limits the ordering rules and the pre-signature check share) and
//! [`serial`] (the spellings of a serial number clients send). The
//! crate depends on serde and time only, so the store, the policy rules,
//! the CA and the server can all use it.

#![forbid(unsafe_code)]

pub mod limits;
pub mod serial;

pub use serial::SerialNumber;

/// Defines a closed set of wire names as an enum with `ALL`, `as_str`,
/// `from_name`, `parse`, `Display` and serde as the name.
macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The wire (and stored) name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            /// The value of a stored name (exact spelling).
            pub fn from_name(name: &str) -> Option<$name> {
                match name {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }

            /// The value a client sent: any letter case, surrounding white
            /// space ignored.
            pub fn parse(raw: &str) -> Option<$name> {
                let wanted = raw.trim();
                Self::ALL
                    .iter()
                    .copied()
                    .find(|v| v.as_str().eq_ignore_ascii_case(wanted))
            }

            /// Every name, for error messages.
            pub fn names() -> Vec<&'static str> {
                Self::ALL.iter().map(|v| v.as_str()).collect()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<$name, D::Error> {
                let s = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
                $name::from_name(&s).ok_or_else(|| {
                    serde::de::Error::custom(format!(
                        "unknown {} {:?}; expected one of {:?}",
                        stringify!($name),
                        s,
                        $name::names()
                    ))
                })
            }
        }
    };
}

wire_enum! {
    /// The status an order is stored with. ("expired" is not stored: it is
    /// an issued order past its certificate's notAfter, shown and filtered
    /// as such.)
    OrderStatus {
        NeedsApproval = "needs_approval",
        Pending = "pending",
        Issued = "issued",
        Rejected = "rejected",
        Canceled = "canceled",
        Revoked = "revoked",
        ReissuePending = "reissue_pending",
        NeedsCsr = "needs_csr",
        WaitingPickup = "waiting_pickup",
    }
}

wire_enum! {
    /// The status of one certificate of an order (its primary certificate,
    /// a reissue or a duplicate).
    CertificateStatus {
        /// Approved (or not needing approval), waiting for its blockers.
        Pending = "pending",
        /// Claimed for signing; its serial is recorded.
        Issuing = "issuing",
        Issued = "issued",
        Revoked = "revoked",
        /// A reissue or duplicate whose request is not approved yet.
        NeedsApproval = "needs_approval",
        Rejected = "rejected",
        Canceled = "canceled",
    }
}

wire_enum! {
    /// The status of a user of an account. An inactive user's keys are
    /// refused until it is activated again; a deleted user is gone from
    /// every list (its row stays for the orders it placed) and its keys are
    /// revoked.
    UserStatus {
        Active = "active",
        Inactive = "inactive",
        Deleted = "deleted",
    }
}

wire_enum! {
    /// The status of an approval request (`/request`).
    RequestStatus {
        Submitted = "submitted",
        Pending = "pending",
        Approved = "approved",
        Rejected = "rejected",
    }
}

wire_enum! {
    /// A domain control validation method, as the API names it.
    DcvMethod {
        Email = "email",
        DnsTxtToken = "dns-txt-token",
        DnsCnameToken = "dns-cname-token",
        HttpToken = "http-token",
    }
}

wire_enum! {
    /// Which certificate of an order a certificate row is.
    CertificateKind {
        /// The order's own certificate.
        Primary = "primary",
        /// Replaces the order's certificate when issued.
        Reissue = "reissue",
        /// An extra certificate for the same names.
        Duplicate = "duplicate",
    }
}

wire_enum! {
    /// What an approval request (`/request`) asks for.
    RequestKind {
        NewRequest = "new_request",
        Revoke = "revoke",
        Reissue = "reissue",
        Duplicate = "duplicate",
    }
}

wire_enum! {
    /// The state of one validation of an organization (OV, EV, S/MIME, …).
    ValidationStatus {
        Active = "active",
        Pending = "pending",
        Rejected = "rejected",
    }
}

wire_enum! {
    /// The state of one address of a mailbox-validated order.
    MailboxStatus {
        Validated = "validated",
        Unvalidated = "unvalidated",
    }
}

wire_enum! {
    /// How an order is paid.
    PaymentMethod {
        Balance = "balance",
        Card = "card",
        Profile = "profile",
    }
}

wire_enum! {
    /// An RFC 5280 revocation reason as the API names it (api-surface.md
    /// §10.4): the reasons a subscriber or the CA may give.
    RevocationReason {
        Unspecified = "unspecified",
        KeyCompromise = "keyCompromise",
        AffiliationChanged = "affiliationChanged",
        Superseded = "superseded",
        CessationOfOperation = "cessationOfOperation",
        PrivilegeWithdrawn = "privilegeWithdrawn",
    }
}

impl RevocationReason {
    /// The CRLReason code (RFC 5280 §5.3.1) put in CRLs and OCSP answers.
    pub fn crl_code(self) -> u8 {
        match self {
            RevocationReason::Unspecified => 0,
            RevocationReason::KeyCompromise => 1,
            RevocationReason::AffiliationChanged => 3,
            RevocationReason::Superseded => 4,
            RevocationReason::CessationOfOperation => 5,
            RevocationReason::PrivilegeWithdrawn => 9,
        }
    }
}

wire_enum! {
    /// A type of organization (or domain) validation.
    ValidationType {
        Ov = "ov",
        Ev = "ev",
        /// Code signing.
        Cs = "cs",
        /// EV code signing.
        EvCs = "ev_cs",
        /// Document signing.
        Ds = "ds",
        Smime = "smime",
    }
}

impl ValidationType {
    /// The short name the API shows (`OV`, `EV CS`, …).
    pub fn display_name(self) -> &'static str {
        match self {
            ValidationType::Ov => "OV",
            ValidationType::Ev => "EV",
            ValidationType::Cs => "CS",
            ValidationType::EvCs => "EV CS",
            ValidationType::Ds => "DS",
            ValidationType::Smime => "SMIME",
        }
    }

    /// The description the API shows.
    pub fn description(self) -> &'static str {
        match self {
            ValidationType::Ov => "Normal Organization Validation",
            ValidationType::Ev => "Extended Organization Validation (EV)",
            ValidationType::Cs => "Code Signing Organization Validation",
            ValidationType::EvCs => "Code Signing Organization Extended Validation",
            ValidationType::Ds => "Document Signing Validation",
            ValidationType::Smime => "SMIME Organization Validation",
        }
    }

    /// Whether the validation needs `verified_users` (api-surface.md §7.4).
    pub fn needs_verified_users(self) -> bool {
        matches!(
            self,
            ValidationType::Ev | ValidationType::Cs | ValidationType::EvCs
        )
    }
}

wire_enum! {
    /// How the key of a document-signing certificate is provisioned
    /// (`cs_provisioning_method`, api-surface.md §10.7).
    ProvisioningMethod {
        /// A hardware token shipped to `ship_info`.
        ShipToken = "ship_token",
        /// The token application sends the CSR later.
        ClientApp = "client_app",
        /// The customer's own key: the CSR comes with the order.
        Email = "email",
        KeyLocker = "key_locker",
        None = "none",
    }
}

wire_enum! {
    /// The role of a contact on an order's organization.
    ContactType {
        OrganizationContact = "organization_contact",
        TechnicalContact = "technical_contact",
        /// Approves EV orders (required on every EV order).
        EvApprover = "ev_approver",
    }
}

impl DcvMethod {
    /// Whether the method proves control with a random value.
    pub fn is_token(self) -> bool {
        self != DcvMethod::Email
    }

    /// Whether a validation by this method covers only the exact name (an
    /// HTTP file proves one host), not the names below it.
    pub fn exact_name_only(self) -> bool {
        self == DcvMethod::HttpToken
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for s in OrderStatus::ALL {
            assert_eq!(OrderStatus::from_name(s.as_str()), Some(*s));
            let json = serde_json::to_string(s).unwrap();
            assert_eq!(serde_json::from_str::<OrderStatus>(&json).unwrap(), *s);
        }
        assert_eq!(OrderStatus::from_name("Pending"), None);
        assert_eq!(OrderStatus::parse(" Pending "), Some(OrderStatus::Pending));
        assert_eq!(
            DcvMethod::parse("DNS-TXT-TOKEN"),
            Some(DcvMethod::DnsTxtToken)
        );
        assert!(serde_json::from_str::<RequestStatus>("\"maybe\"").is_err());
        assert_eq!(CertificateStatus::Issuing.to_string(), "issuing");
        assert_eq!(
            RevocationReason::parse("KEYCOMPROMISE"),
            Some(RevocationReason::KeyCompromise)
        );
        assert_eq!(RevocationReason::PrivilegeWithdrawn.crl_code(), 9);
        assert_eq!(
            ValidationType::from_name("ev_cs"),
            Some(ValidationType::EvCs)
        );
        assert_eq!(ValidationType::from_name("EV"), None);
    }
}
