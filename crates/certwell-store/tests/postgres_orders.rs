//! Orders on both backends: the same scenario runs on a SQLite file and on
//! a PostgreSQL database, each asserting what it sees, and the two
//! transcripts must agree. It covers what the conformance suite does not:
//! every filter and sort key of `list_orders` (byte-wise text order, ASCII
//! case folding, NULL placement, paging), reissues and duplicates and their
//! cancellation, status changes, mailbox addresses, look-ups by serial or
//! thumbprint and the status-change window.

use std::fmt::Debug;
use std::sync::Arc;

use certwell_store::testing::TestPostgres;
use certwell_store::*;
use serde_json::json;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

async fn sqlite_store(dir: &tempfile::TempDir) -> Arc<dyn Store> {
    open_store(&StoreConfig::sqlite(
        dir.path().join("t.db"),
        Durability::Full,
    ))
    .await
    .unwrap()
}

async fn pg_store(pg: &TestPostgres) -> Arc<dyn Store> {
    let url = pg.fresh_database().await.unwrap_or_else(|e| panic!("{e}"));
    open_store(&StoreConfig::from_url(&url, Durability::Full).unwrap())
        .await
        .unwrap()
}

fn new_user(email: &str) -> NewUser {
    NewUser {
        container_id: None,
        role: "admin".into(),
        first_name: "A".into(),
        last_name: "B".into(),
        email: email.into(),
        job_title: String::new(),
        telephone: String::new(),
        is_api_only: false,
    }
}

/// What one order of the scenario is.
struct Spec {
    cn: &'static str,
    product: &'static str,
    in_sub: bool,
    names: &'static [&'static str],
    hours: i64,
}

const T0: OffsetDateTime = datetime!(2026-11-23 0:00 UTC);

/// Observations of one backend, compared line by line with the other's.
#[derive(Default)]
struct Transcript {
    lines: Vec<String>,
    /// Order ids of the scenario, by index (ids are named by index).
    orders: Vec<i64>,
}

impl Transcript {
    fn note(&mut self, label: &str, v: impl Debug) {
        self.lines.push(format!("{label}: {v:?}"));
    }

    fn index(&self, id: i64) -> usize {
        self.orders
            .iter()
            .position(|&o| o == id)
            .unwrap_or_else(|| panic!("order {id} is not one of the scenario's"))
    }

    /// Lists with `q` (limit 100 unless set); the orders as indexes, and
    /// the total.
    async fn list(
        &mut self,
        s: &dyn Store,
        account_id: i64,
        label: &str,
        q: OrderQuery,
    ) -> (Vec<usize>, i64) {
        let q = if q.limit == 0 {
            OrderQuery { limit: 100, ..q }
        } else {
            q
        };
        let (list, total) = s.list_orders(account_id, &q).await.unwrap();
        let got: Vec<usize> = list.iter().map(|o| self.index(o.id)).collect();
        self.note(label, (&got, total));
        (got, total)
    }
}

fn sort(keys: &[(OrderSortKey, bool)]) -> Vec<OrderSort> {
    keys.iter()
        .map(|&(key, descending)| OrderSort { key, descending })
        .collect()
}

async fn scenario(s: &dyn Store) -> Vec<String> {
    let mut t = Transcript::default();
    let (a, u) = s
        .create_account("T", &AccountSettings::default(), &new_user("a@example.com"))
        .await
        .unwrap();
    let (b, ub) = s
        .create_account("U", &AccountSettings::default(), &new_user("b@example.com"))
        .await
        .unwrap();
    s.insert_ca(&CaRecord {
        id: "CA1".into(),
        name: "ca".into(),
        parent_id: None,
        purpose: Some("tls_ov".into()),
        key_algorithm: "ecdsa-p256".into(),
        key_file: "k".into(),
        cert_der: vec![1, 2, 3],
        is_default: true,
        created_at: T0,
    })
    .await
    .unwrap();
    let org = s
        .create_organization(
            a.id,
            &NewOrganizationRow {
                container_id: a.root_container_id,
                name: "Org".into(),
                assumed_name: None,
                data: json!({"country": "us"}),
                validations: vec![],
            },
        )
        .await
        .unwrap();
    let sub = s
        .create_container(a.id, a.root_container_id, "sub", "")
        .await
        .unwrap();
    s.reserve_serials("CA1", &["0A01".into(), "0A02".into()])
        .await
        .unwrap();

    // Names chosen so that byte order differs from a locale's order
    // ('5' < 'M' < 'Z' < '_' < 'a' < 'b' < 'É'), with LIKE wildcards in
    // one and a non-ASCII capital in another.
    let specs = [
        Spec {
            cn: "b.example.com",
            product: "ssl_plus",
            in_sub: false,
            names: &["b.example.com", "www.b.example.com"],
            hours: 5,
        },
        Spec {
            cn: "Zeta.example",
            product: "ssl_basic",
            in_sub: true,
            names: &["zeta.example"],
            hours: 1,
        },
        Spec {
            cn: "alpha.example",
            product: "ssl_plus",
            in_sub: false,
            names: &["alpha.example"],
            hours: 3,
        },
        Spec {
            cn: "_under.example",
            product: "ev",
            in_sub: false,
            names: &["_under.example"],
            hours: 2,
        },
        Spec {
            cn: "École.example",
            product: "ssl_plus",
            in_sub: true,
            names: &["école.example"],
            hours: 7,
        },
        Spec {
            cn: "50%_off.example",
            product: "ssl_basic",
            in_sub: false,
            names: &["50%_off.example"],
            hours: 4,
        },
        Spec {
            cn: "Mail.User@Example.com",
            product: "class1_smime",
            in_sub: false,
            names: &["Mail.User@Example.com", "other@example.com"],
            hours: 6,
        },
    ];
    let mut certs = Vec::new();
    for (i, sp) in specs.iter().enumerate() {
        let o = NewOrder {
            payment: OrderPayment::default(),
            account_id: a.id,
            container_id: if sp.in_sub { sub } else { a.root_container_id },
            user_id: u.id,
            product_name_id: sp.product.into(),
            status: OrderStatus::Pending,
            organization: OrgForOrder::Existing(org.id),
            common_name: sp.cn.into(),
            names: sp.names.iter().map(|n| n.to_string()).collect(),
            data: json!({"i": i}),
            new_domains: vec![],
            request: None,
            certificate: NewCertificateRow {
                csr: "csr".into(),
                spki_sha256: format!("k{i}"),
                key_size: 256,
                common_name: sp.cn.into(),
                dns_names: sp.names.iter().map(|n| n.to_string()).collect(),
                signature_hash: "sha256".into(),
            },
            reserve_serial: None,
            emails: vec![],
            renewal_of_order_id: None,
            issued: None,
            created_at: T0 + Duration::hours(sp.hours),
        };
        let o = match i {
            // issued, expired (2020) and live (2099)
            0 | 3 => NewOrder {
                issued: Some(PreIssued {
                    ca_id: "CA1".into(),
                    serial_hex: if i == 0 { "0A01" } else { "0A02" }.into(),
                    der: vec![i as u8; 4],
                    thumbprint: if i == 0 { "AB01" } else { "AB02" }.into(),
                    valid_from: datetime!(2020-01-01 0:00 UTC),
                    valid_till: if i == 0 {
                        datetime!(2020-06-01 0:00 UTC)
                    } else {
                        datetime!(2099-01-01 0:00 UTC)
                    },
                }),
                ..o
            },
            // needs approval, renews order 0
            2 => NewOrder {
                status: OrderStatus::NeedsApproval,
                request: Some((RequestStatus::Pending, Some("please".into()))),
                renewal_of_order_id: Some(t.orders[0]),
                ..o
            },
            // mailbox-validated, no CSR yet
            6 => NewOrder {
                status: OrderStatus::NeedsCsr,
                organization: OrgForOrder::None,
                certificate: NewCertificateRow {
                    csr: String::new(),
                    ..o.certificate.clone()
                },
                emails: ["Mail.User@Example.com", "other@example.com"]
                    .iter()
                    .map(|e| OrderEmail {
                        email: e.to_string(),
                        status: MailboxStatus::Unvalidated,
                        date_emailed: None,
                        validated_at: None,
                    })
                    .collect(),
                ..o
            },
            _ => o,
        };
        let c = s.create_order(&o).await.unwrap();
        t.orders.push(c.order_id);
        certs.push(c.certificate_id);
    }
    // another account's order, with the same name
    let other = s
        .create_order(&NewOrder {
            payment: OrderPayment::default(),
            account_id: b.id,
            container_id: b.root_container_id,
            user_id: ub.id,
            product_name_id: "ssl_plus".into(),
            status: OrderStatus::Pending,
            organization: OrgForOrder::New(NewOrganizationRow {
                container_id: b.root_container_id,
                name: "Other".into(),
                assumed_name: None,
                data: json!({}),
                validations: vec![],
            }),
            common_name: "b.example.com".into(),
            names: vec!["b.example.com".into()],
            data: json!({}),
            new_domains: vec![],
            request: None,
            certificate: NewCertificateRow {
                csr: "csr".into(),
                spki_sha256: "kb".into(),
                key_size: 256,
                common_name: "b.example.com".into(),
                dns_names: vec!["b.example.com".into()],
                signature_hash: "sha256".into(),
            },
            reserve_serial: None,
            emails: vec![],
            renewal_of_order_id: None,
            issued: None,
            created_at: T0,
        })
        .await
        .unwrap();
    t.orders.push(other.order_id);
    let o = t.orders.clone();

    // get_order
    let got = s.get_order(a.id, o[3]).await.unwrap().unwrap();
    assert_eq!(
        (
            got.status,
            got.common_name.as_str(),
            got.certificate_id,
            got.created_at
        ),
        (
            OrderStatus::Issued,
            "_under.example",
            Some(certs[3]),
            T0 + Duration::hours(2)
        )
    );
    assert_eq!(got.data, json!({"i": 3}));
    t.note(
        "get_order 3",
        (
            got.status,
            &got.common_name,
            got.product_name_id.as_str(),
            got.organization_id == org.id,
            got.created_at,
            got.updated_at,
            &got.data,
        ),
    );
    let got = s.get_order(a.id, o[6]).await.unwrap().unwrap();
    assert_eq!(
        (got.organization_id, got.status),
        (0, OrderStatus::NeedsCsr)
    );
    assert!(s.get_order(b.id, o[3]).await.unwrap().is_none());
    assert!(s.get_order(a.id, o[7]).await.unwrap().is_none());

    // Every filter.
    let all = t.list(s, a.id, "all", OrderQuery::default()).await;
    assert_eq!(all, (vec![0, 1, 2, 3, 4, 5, 6], 7));
    let q = |f: fn(&mut OrderQuery)| {
        let mut q = OrderQuery::default();
        f(&mut q);
        q
    };
    let expect = |got: (Vec<usize>, i64), want: &[usize]| {
        assert_eq!(got.0, want);
        assert_eq!(got.1, want.len() as i64);
    };
    let by_id = OrderQuery {
        id: Some(o[3]),
        ..Default::default()
    };
    expect(t.list(s, a.id, "id", by_id).await, &[3]);
    let by_status = |st: &str| OrderQuery {
        status: Some(st.into()),
        ..Default::default()
    };
    expect(
        t.list(s, a.id, "issued", by_status("issued")).await,
        &[0, 3],
    );
    expect(t.list(s, a.id, "expired", by_status("expired")).await, &[0]);
    expect(
        t.list(s, a.id, "pending", by_status("pending")).await,
        &[1, 4, 5],
    );
    expect(
        t.list(s, a.id, "needs_csr", by_status("needs_csr")).await,
        &[6],
    );
    expect(t.list(s, a.id, "nonsense", by_status("Issued")).await, &[]);
    let by_org = OrderQuery {
        organization_id: Some(org.id),
        ..Default::default()
    };
    expect(t.list(s, a.id, "org", by_org).await, &[0, 1, 2, 3, 4, 5]);
    expect(
        t.list(s, a.id, "org 0", q(|q| q.organization_id = Some(0)))
            .await,
        &[],
    );
    expect(
        t.list(
            s,
            a.id,
            "products",
            q(|q| q.product_name_id = vec!["ssl_basic".into(), "ev".into()]),
        )
        .await,
        &[1, 3, 5],
    );
    let by_user = OrderQuery {
        user_id: Some(u.id),
        ..Default::default()
    };
    expect(
        t.list(s, a.id, "user", by_user).await,
        &[0, 1, 2, 3, 4, 5, 6],
    );
    let by_user = OrderQuery {
        user_id: Some(ub.id),
        ..Default::default()
    };
    expect(t.list(s, a.id, "other user", by_user).await, &[]);
    let cn = |v: &str| OrderQuery {
        common_name: Some(v.into()),
        ..Default::default()
    };
    expect(t.list(s, a.id, "cn ZETA", cn("ZETA.EXAMPLE")).await, &[1]);
    // NOCASE folds ASCII only: É and é differ
    expect(t.list(s, a.id, "cn école", cn("école.example")).await, &[]);
    expect(t.list(s, a.id, "cn ÉCOLE", cn("ÉCOLE.EXAMPLE")).await, &[4]);
    expect(
        t.list(s, a.id, "cn mail", cn("mail.user@example.com"))
            .await,
        &[6],
    );
    let email = |v: &str| OrderQuery {
        email: Some(v.into()),
        ..Default::default()
    };
    expect(
        t.list(s, a.id, "email MAIL", email("MAIL.USER@example.COM"))
            .await,
        &[6],
    );
    expect(
        t.list(s, a.id, "email other", email("Other@Example.com"))
            .await,
        &[6],
    );
    expect(
        t.list(s, a.id, "email none", email("nobody@example.com"))
            .await,
        &[],
    );
    let domain = |v: &str| OrderQuery {
        domain_name: Some(v.into()),
        ..Default::default()
    };
    expect(
        t.list(s, a.id, "domain www", domain("WWW.B.example.com"))
            .await,
        &[0],
    );
    // lower-cased ASCII only, matched exactly
    expect(
        t.list(s, a.id, "domain École", domain("École.example"))
            .await,
        &[],
    );
    let in_sub = OrderQuery {
        container_id: Some(sub),
        ..Default::default()
    };
    expect(t.list(s, a.id, "container", in_sub).await, &[1, 4]);
    let scope = |ids: Vec<i64>| OrderQuery {
        container_ids: Some(ids),
        ..Default::default()
    };
    expect(
        t.list(s, a.id, "scope root", scope(vec![a.root_container_id]))
            .await,
        &[0, 2, 3, 5, 6],
    );
    expect(
        t.list(s, a.id, "scope both", scope(vec![sub, a.root_container_id]))
            .await,
        &[0, 1, 2, 3, 4, 5, 6],
    );
    expect(t.list(s, a.id, "scope empty", scope(vec![])).await, &[]);
    expect(
        t.list(s, a.id, "renewed", q(|q| q.is_renewed = Some(true)))
            .await,
        &[0],
    );
    expect(
        t.list(s, a.id, "not renewed", q(|q| q.is_renewed = Some(false)))
            .await,
        &[1, 2, 3, 4, 5, 6],
    );
    let by_cert = OrderQuery {
        certificate_id: Some(certs[3]),
        ..Default::default()
    };
    expect(t.list(s, a.id, "certificate", by_cert).await, &[3]);
    expect(
        t.list(
            s,
            a.id,
            "serial",
            q(|q| q.serial_number = Some("0a02".into())),
        )
        .await,
        &[3],
    );
    let search = |v: &str, contains: bool| OrderQuery {
        search: Some((v.into(), contains)),
        ..Default::default()
    };
    expect(
        t.list(s, a.id, "search ZETA", search("ZETA", true)).await,
        &[1],
    );
    // wildcards are literal
    expect(
        t.list(s, a.id, "search %_o", search("%_o", true)).await,
        &[5],
    );
    expect(
        t.list(s, a.id, "search _", search("_", true)).await,
        &[3, 5],
    );
    expect(t.list(s, a.id, "search %", search("%", true)).await, &[5]);
    expect(t.list(s, a.id, "search \\", search("\\", true)).await, &[]);
    // LIKE folds ASCII only too
    expect(t.list(s, a.id, "search é", search("é", true)).await, &[]);
    expect(t.list(s, a.id, "search É", search("É", true)).await, &[4]);
    expect(
        t.list(s, a.id, "search exact", search("ALPHA.example", false))
            .await,
        &[2],
    );
    expect(
        t.list(s, a.id, "search exact part", search("alpha", false))
            .await,
        &[],
    );
    let combined = OrderQuery {
        status: Some("pending".into()),
        container_id: Some(sub),
        product_name_id: vec!["ssl_plus".into()],
        ..Default::default()
    };
    expect(t.list(s, a.id, "combined", combined).await, &[4]);
    // the other account sees its own order only
    assert_eq!(
        t.list(s, b.id, "other account", OrderQuery::default())
            .await,
        (vec![7], 1)
    );

    // Every sort key, both ways.
    use OrderSortKey::*;
    let sorted = |keys: &[(OrderSortKey, bool)]| OrderQuery {
        sort: sort(keys),
        ..Default::default()
    };
    expect(
        t.list(s, a.id, "cn asc", sorted(&[(CommonName, false)]))
            .await,
        &[5, 6, 1, 3, 2, 0, 4],
    );
    expect(
        t.list(s, a.id, "cn desc", sorted(&[(CommonName, true)]))
            .await,
        &[4, 0, 2, 3, 1, 6, 5],
    );
    expect(
        t.list(s, a.id, "created asc", sorted(&[(DateCreated, false)]))
            .await,
        &[1, 3, 2, 5, 0, 6, 4],
    );
    expect(
        t.list(s, a.id, "created desc", sorted(&[(DateCreated, true)]))
            .await,
        &[4, 6, 0, 5, 2, 3, 1],
    );
    expect(
        t.list(s, a.id, "status asc", sorted(&[(Status, false)]))
            .await,
        &[0, 3, 2, 6, 1, 4, 5],
    );
    expect(
        t.list(
            s,
            a.id,
            "status desc, id desc",
            sorted(&[(Status, true), (Id, true)]),
        )
        .await,
        &[5, 4, 1, 6, 2, 3, 0],
    );
    expect(
        t.list(
            s,
            a.id,
            "product desc, created",
            sorted(&[(ProductName, true), (DateCreated, false)]),
        )
        .await,
        &[2, 0, 4, 1, 5, 3, 6],
    );
    expect(
        t.list(s, a.id, "product asc", sorted(&[(ProductName, false)]))
            .await,
        &[6, 3, 1, 5, 0, 2, 4],
    );
    // no certificate validity: first going up, last going down
    expect(
        t.list(s, a.id, "valid_till asc", sorted(&[(ValidTill, false)]))
            .await,
        &[1, 2, 4, 5, 6, 0, 3],
    );
    expect(
        t.list(s, a.id, "valid_till desc", sorted(&[(ValidTill, true)]))
            .await,
        &[3, 0, 1, 2, 4, 5, 6],
    );
    expect(
        t.list(s, a.id, "id desc", sorted(&[(Id, true)])).await,
        &[6, 5, 4, 3, 2, 1, 0],
    );

    // Pages.
    let page = |limit: i64, offset: i64| OrderQuery {
        sort: sort(&[(CommonName, false)]),
        limit,
        offset,
        ..Default::default()
    };
    assert_eq!(t.list(s, a.id, "page 2", page(2, 2)).await, (vec![1, 3], 7));
    assert_eq!(
        t.list(s, a.id, "last page", page(5, 5)).await,
        (vec![0, 4], 7)
    );
    assert_eq!(
        t.list(s, a.id, "past the end", page(5, 50)).await,
        (vec![], 7)
    );
    assert_eq!(
        t.list(s, a.id, "no limit", page(-1, 4)).await,
        (vec![2, 0, 4], 7)
    );
    assert_eq!(
        t.list(s, a.id, "negative offset", page(2, -3)).await,
        (vec![5, 6], 7)
    );

    // Look-ups by serial or thumbprint.
    let find = |account_id: i64, key: &'static str| async move {
        s.find_order_by_certificate(account_id, key)
            .await
            .unwrap()
            .map(|o| o.id)
    };
    assert_eq!(find(a.id, "0a02").await, Some(o[3]));
    assert_eq!(find(a.id, "ab01").await, Some(o[0]));
    assert_eq!(find(a.id, "AB02").await, Some(o[3]));
    assert_eq!(find(b.id, "0a02").await, None);
    assert_eq!(find(a.id, "FFFF").await, None);

    // Mailbox addresses.
    let sent = datetime!(2026-11-24 10:00:00.7 UTC);
    s.mark_order_email_sent(o[6], "OTHER@example.com", sent)
        .await
        .unwrap();
    // no such address: nothing happens
    s.mark_order_email_sent(o[6], "nobody@example.com", sent)
        .await
        .unwrap();
    let v1 = datetime!(2026-11-25 10:00:00.2 UTC);
    s.set_order_email_validated(o[6], "mail.user@EXAMPLE.com", v1)
        .await
        .unwrap();
    // validated once: the first time stays
    s.set_order_email_validated(o[6], "Mail.User@Example.com", v1 + Duration::days(1))
        .await
        .unwrap();
    assert!(matches!(
        s.set_order_email_validated(o[6], "nobody@example.com", v1)
            .await,
        Err(StoreError::NotFound)
    ));
    let emails = s.order_emails(o[6]).await.unwrap();
    assert_eq!(
        emails,
        vec![
            OrderEmail {
                email: "Mail.User@Example.com".into(),
                status: MailboxStatus::Validated,
                date_emailed: None,
                validated_at: Some(datetime!(2026-11-25 10:00 UTC)),
            },
            OrderEmail {
                email: "other@example.com".into(),
                status: MailboxStatus::Unvalidated,
                date_emailed: Some(datetime!(2026-11-24 10:00 UTC)),
                validated_at: None,
            },
        ]
    );
    t.note("emails", &emails);
    assert!(s.order_emails(o[0]).await.unwrap().is_empty());
    let got = s.get_order(a.id, o[6]).await.unwrap().unwrap();
    assert_eq!(got.updated_at, datetime!(2026-11-26 10:00 UTC));

    // The status-change window (both ends included, whole seconds).
    let changes = s
        .order_status_changes(
            a.id,
            T0 + Duration::hours(2),
            T0 + Duration::hours(5) + Duration::milliseconds(300),
        )
        .await
        .unwrap();
    let changes: Vec<(usize, bool, String)> = changes
        .into_iter()
        .map(|(id, cert, status)| (t.index(id), cert.is_some(), status))
        .collect();
    assert_eq!(
        changes,
        vec![
            (3, true, "issued".to_string()),
            (2, true, "needs_approval".to_string()),
            (5, true, "pending".to_string()),
            (0, true, "issued".to_string()),
        ]
    );
    t.note("status changes", &changes);
    let changes = s
        .order_status_changes(b.id, T0, T0 + Duration::days(10))
        .await
        .unwrap();
    assert_eq!(changes.len(), 1);

    // Reissues and duplicates.
    let extra = |order_id: i64,
                 kind: CertificateKind,
                 request: Option<RequestStatus>,
                 approved: bool,
                 serial: Option<&str>| NewExtraCertificate {
        account_id: a.id,
        order_id,
        kind,
        user_id: u.id,
        certificate: NewCertificateRow {
            csr: "csr2".into(),
            spki_sha256: "k-extra".into(),
            key_size: 384,
            common_name: "x".into(),
            dns_names: vec!["x".into()],
            signature_hash: "sha384".into(),
        },
        data: json!({"names": ["x"]}),
        request: request.map(|r| (r, Some("why".into()))),
        approved,
        reserve_serial: serial.map(|s| SerialReservation {
            ca_id: "CA1".into(),
            serial_hex: s.into(),
        }),
        created_at: datetime!(2026-12-01 0:00:00.5 UTC),
    };
    let err = s
        .create_extra_certificate(&extra(o[1], CertificateKind::Reissue, None, true, None))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::Conflict(Conflict::OrderNotIssued { status }) if status == "pending"),
        "{err:?}"
    );
    t.note("reissue of a pending order", format!("{err:?}"));
    assert!(matches!(
        s.create_extra_certificate(&extra(o[7], CertificateKind::Reissue, None, true, None))
            .await,
        Err(StoreError::NotFound)
    ));
    let r = s
        .create_extra_certificate(&extra(
            o[3],
            CertificateKind::Reissue,
            Some(RequestStatus::Pending),
            false,
            None,
        ))
        .await
        .unwrap();
    assert!(r.request_id.is_some());
    let got = s.get_order(a.id, o[3]).await.unwrap().unwrap();
    assert_eq!(
        (got.status, got.updated_at, got.certificate_id),
        (
            OrderStatus::ReissuePending,
            datetime!(2026-12-01 0:00 UTC),
            Some(certs[3])
        )
    );
    let cert = s
        .get_certificate(a.id, r.certificate_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            cert.kind,
            cert.status,
            cert.request_id,
            cert.user_id,
            cert.order_id
        ),
        (
            CertificateKind::Reissue,
            CertificateStatus::NeedsApproval,
            r.request_id,
            Some(u.id),
            o[3]
        )
    );
    assert_eq!(cert.data, Some(json!({"names": ["x"]})));
    assert_eq!(cert.created_at, datetime!(2026-12-01 0:00 UTC));
    t.note(
        "reissue",
        (
            cert.kind,
            cert.status,
            &cert.csr,
            &cert.dns_names,
            cert.key_size,
            &cert.data,
        ),
    );
    let reqs = s.requests_for_order(o[3]).await.unwrap();
    assert_eq!(reqs.len(), 1);
    assert_eq!(
        (reqs[0].kind, reqs[0].status, reqs[0].comments.as_deref()),
        (RequestKind::Reissue, RequestStatus::Pending, Some("why"))
    );
    // a reissue waiting for approval can be called off
    let at = datetime!(2026-12-02 0:00:00.9 UTC);
    assert!(s
        .cancel_reissue(a.id, o[3], Some("changed my mind"), at)
        .await
        .unwrap());
    assert!(!s.cancel_reissue(a.id, o[3], None, at).await.unwrap());
    assert!(!s.cancel_reissue(b.id, o[0], None, at).await.unwrap());
    let got = s.get_order(a.id, o[3]).await.unwrap().unwrap();
    assert_eq!(
        (got.status, got.updated_at),
        (OrderStatus::Issued, datetime!(2026-12-02 0:00 UTC))
    );
    let cert = s
        .get_certificate(a.id, r.certificate_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(cert.status, CertificateStatus::Canceled);
    let req = &s.requests_for_order(o[3]).await.unwrap()[0];
    assert_eq!(
        (
            req.status,
            req.processor_comment.as_deref(),
            req.date_processed
        ),
        (
            RequestStatus::Rejected,
            Some("changed my mind"),
            Some(datetime!(2026-12-02 0:00 UTC))
        )
    );
    t.note(
        "canceled reissue",
        (
            got.status,
            cert.status,
            req.status,
            &req.processor_comment,
            req.date_processed,
        ),
    );
    // a duplicate issuable at once: claimed with its serial
    let d = s
        .create_extra_certificate(&extra(
            o[3],
            CertificateKind::Duplicate,
            Some(RequestStatus::Approved),
            true,
            Some("0B01"),
        ))
        .await
        .unwrap();
    let cert = s
        .get_certificate(a.id, d.certificate_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (cert.kind, cert.status),
        (CertificateKind::Duplicate, CertificateStatus::Issuing)
    );
    let got = s.get_order(a.id, o[3]).await.unwrap().unwrap();
    assert_eq!(
        got.status,
        OrderStatus::Issued,
        "a duplicate leaves the order"
    );
    let req = s
        .requests_for_order(o[3])
        .await
        .unwrap()
        .into_iter()
        .find(|r| Some(r.id) == d.request_id)
        .unwrap();
    assert_eq!(
        (req.kind, req.status, req.date_processed),
        (
            RequestKind::Duplicate,
            RequestStatus::Approved,
            Some(datetime!(2026-12-01 0:00 UTC))
        )
    );
    t.note(
        "duplicate",
        (
            cert.kind,
            cert.status,
            req.kind,
            req.status,
            req.date_processed,
        ),
    );
    // the serial again: refused, nothing stored
    let err = s
        .create_extra_certificate(&extra(
            o[3],
            CertificateKind::Duplicate,
            None,
            true,
            Some("0B01"),
        ))
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Conflict(Conflict::SerialInUse)),
        "{err:?}"
    );
    assert_eq!(s.certificates_for_order(o[3]).await.unwrap().len(), 3);
    // a reissue being signed cannot be called off, nor the order moved
    let r2 = s
        .create_extra_certificate(&extra(
            o[0],
            CertificateKind::Reissue,
            None,
            true,
            Some("0B02"),
        ))
        .await
        .unwrap();
    assert_eq!(r2.request_id, None);
    assert!(!s.cancel_reissue(a.id, o[0], None, at).await.unwrap());
    assert!(!s
        .set_order_status(
            a.id,
            o[0],
            &[OrderStatus::ReissuePending],
            OrderStatus::Issued
        )
        .await
        .unwrap());
    let got = s.get_order(a.id, o[0]).await.unwrap().unwrap();
    assert_eq!(got.status, OrderStatus::ReissuePending);
    t.note(
        "reissue being signed",
        (
            got.status,
            s.get_certificate(a.id, r2.certificate_id)
                .await
                .unwrap()
                .unwrap()
                .status,
        ),
    );

    // Status changes.
    assert!(matches!(
        s.set_order_status(b.id, o[1], &[OrderStatus::Pending], OrderStatus::Canceled)
            .await,
        Err(StoreError::NotFound)
    ));
    assert!(!s
        .set_order_status(a.id, o[1], &[OrderStatus::Issued], OrderStatus::Canceled)
        .await
        .unwrap());
    assert_eq!(s.renewal_order_of(a.id, o[0]).await.unwrap(), Some(o[2]));
    assert_eq!(s.renewal_order_of(b.id, o[0]).await.unwrap(), None);
    let before = OffsetDateTime::now_utc() - Duration::seconds(1);
    assert!(s
        .set_order_status(
            a.id,
            o[2],
            &[OrderStatus::Pending, OrderStatus::NeedsApproval],
            OrderStatus::Canceled
        )
        .await
        .unwrap());
    let got = s.get_order(a.id, o[2]).await.unwrap().unwrap();
    assert_eq!(got.status, OrderStatus::Canceled);
    assert!(got.updated_at >= before, "moved now");
    let req = &s.requests_for_order(o[2]).await.unwrap()[0];
    assert_eq!(
        (req.kind, req.status),
        (RequestKind::NewRequest, RequestStatus::Rejected)
    );
    assert!(req.date_processed.is_some());
    assert_eq!(s.renewal_order_of(a.id, o[0]).await.unwrap(), None);
    t.note("canceled", (got.status, req.status));
    assert!(s
        .set_order_status(
            a.id,
            o[1],
            &[OrderStatus::Pending],
            OrderStatus::NeedsApproval
        )
        .await
        .unwrap());

    // The CSR of the mailbox order.
    let attach = CsrAttachment {
        order_id: o[6],
        certificate_id: certs[6],
        csr: "late-csr".into(),
        spki_sha256: "k-late".into(),
        key_size: 2048,
        order_status: OrderStatus::Pending,
        updated_at: datetime!(2026-12-03 0:00:00.4 UTC),
    };
    // not its certificate
    assert!(matches!(
        s.attach_csr(&CsrAttachment {
            certificate_id: certs[5],
            ..attach.clone()
        })
        .await,
        Err(StoreError::Conflict(Conflict::CsrAlreadyAttached))
    ));
    s.attach_csr(&attach).await.unwrap();
    let got = s.get_order(a.id, o[6]).await.unwrap().unwrap();
    assert_eq!(
        (got.status, got.updated_at),
        (OrderStatus::Pending, datetime!(2026-12-03 0:00 UTC))
    );
    let cert = s.get_certificate(a.id, certs[6]).await.unwrap().unwrap();
    assert_eq!(
        (
            cert.csr.as_str(),
            cert.spki_sha256.as_deref(),
            cert.key_size
        ),
        ("late-csr", Some("k-late"), Some(2048))
    );

    // The lists after all that.
    t.list(
        s,
        a.id,
        "final by status",
        sorted(&[(Status, false), (DateCreated, true)]),
    )
    .await;
    t.list(s, a.id, "final renewed", q(|q| q.is_renewed = Some(true)))
        .await;
    t.list(s, a.id, "final expired", by_status("expired")).await;
    let changes = s
        .order_status_changes(
            a.id,
            datetime!(2026-12-01 0:00 UTC),
            datetime!(2026-12-03 0:00 UTC),
        )
        .await
        .unwrap();
    let changes: Vec<(usize, String)> = changes
        .into_iter()
        .map(|(id, _, status)| (t.index(id), status))
        .collect();
    assert_eq!(
        changes,
        vec![
            (0, "reissue_pending".to_string()),
            (3, "issued".to_string()),
            (6, "pending".to_string())
        ]
    );
    t.note("final status changes", &changes);
    s.close().await;
    t.lines
}

#[tokio::test]
async fn orders_agree_on_sqlite_and_postgres() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = scenario(&*sqlite_store(&dir).await).await;
    let pg = TestPostgres::shared().unwrap_or_else(|e| panic!("{e}"));
    let postgres = scenario(&*pg_store(&pg).await).await;
    for (l, r) in sqlite.iter().zip(&postgres) {
        assert_eq!(l, r, "the backends disagree");
    }
    assert_eq!(sqlite.len(), postgres.len());
}

/// Two stores over one database (two instances; on SQLite two handles of
/// one file) take orders of one account at once: balance debits, unique
/// alternative order ids and serials are checked as if one at a time, and
/// every refusal is its typed error.
async fn two_instances(s1: Arc<dyn Store>, s2: Arc<dyn Store>) -> Vec<String> {
    let mut lines = Vec::new();
    let (a, u) = s1
        .create_account("T", &AccountSettings::default(), &new_user("a@example.com"))
        .await
        .unwrap();
    s1.insert_ca(&CaRecord {
        id: "CA1".into(),
        name: "ca".into(),
        parent_id: None,
        purpose: Some("tls_ov".into()),
        key_algorithm: "ecdsa-p256".into(),
        key_file: "k".into(),
        cert_der: vec![1, 2, 3],
        is_default: true,
        created_at: T0,
    })
    .await
    .unwrap();
    let org = s1
        .create_organization(
            a.id,
            &NewOrganizationRow {
                container_id: a.root_container_id,
                name: "Org".into(),
                assumed_name: None,
                data: json!({}),
                validations: vec![],
            },
        )
        .await
        .unwrap();
    s1.set_negative_limit(a.id, 0, false).await.unwrap();
    s1.deposit(a.id, 1_000, "funds").await.unwrap();
    let order = |i: usize, payment: OrderPayment, serial: Option<String>| NewOrder {
        payment,
        account_id: a.id,
        container_id: a.root_container_id,
        user_id: u.id,
        product_name_id: "ssl_plus".into(),
        status: OrderStatus::Pending,
        // every third order creates its organization (the other path)
        organization: if i.is_multiple_of(3) {
            OrgForOrder::New(NewOrganizationRow {
                container_id: a.root_container_id,
                name: format!("New {i}"),
                assumed_name: None,
                data: json!({}),
                validations: vec![],
            })
        } else {
            OrgForOrder::Existing(org.id)
        },
        common_name: "example.com".into(),
        names: vec!["example.com".into()],
        data: json!({}),
        new_domains: vec![],
        request: None,
        certificate: NewCertificateRow {
            csr: "csr".into(),
            spki_sha256: "k".into(),
            key_size: 256,
            common_name: "example.com".into(),
            dns_names: vec!["example.com".into()],
            signature_hash: "sha256".into(),
        },
        reserve_serial: serial.map(|s| SerialReservation {
            ca_id: "CA1".into(),
            serial_hex: s,
        }),
        emails: vec![],
        renewal_of_order_id: None,
        issued: None,
        created_at: T0,
    };
    let run = |orders: Vec<NewOrder>| {
        let tasks: Vec<_> = orders
            .into_iter()
            .enumerate()
            .map(|(i, o)| {
                let s = if i.is_multiple_of(2) {
                    s1.clone()
                } else {
                    s2.clone()
                };
                tokio::spawn(async move { s.create_order(&o).await })
            })
            .collect();
        async move {
            let mut ok = 0;
            let mut refused = Vec::new();
            for t in tasks {
                match t.await.unwrap() {
                    Ok(_) => ok += 1,
                    Err(e) => refused.push(format!("{e:?}")),
                }
            }
            refused.sort();
            refused.dedup();
            (ok, refused)
        }
    };
    // 20 debits of 100 against 1000 with no overdraft allowed
    let paid = OrderPayment {
        alternative_order_id: None,
        unique: false,
        price_cents: 100,
        debit_cents: Some(100),
    };
    let got = run((0..20).map(|i| order(i, paid.clone(), None)).collect()).await;
    assert_eq!(got, (10, vec!["InsufficientFunds".to_string()]));
    assert_eq!(s2.balance(a.id).await.unwrap().balance_cents, 0);
    lines.push(format!("debits: {got:?}"));
    // one unique alternative order id, 12 times
    s1.set_negative_limit(a.id, 0, true).await.unwrap();
    let unique = OrderPayment {
        alternative_order_id: Some("alt".into()),
        unique: true,
        price_cents: 100,
        debit_cents: Some(100),
    };
    let got = run((0..12).map(|i| order(i, unique.clone(), None)).collect()).await;
    assert_eq!(got, (1, vec!["DuplicateAlternativeOrderId".to_string()]));
    assert_eq!(s1.balance(a.id).await.unwrap().balance_cents, -100);
    lines.push(format!("unique ids: {got:?}"));
    // every serial twice
    let got = run((0..16)
        .map(|i| order(i, OrderPayment::default(), Some(format!("{:04X}", i / 2))))
        .collect())
    .await;
    assert_eq!(got, (8, vec!["Conflict(SerialInUse)".to_string()]));
    lines.push(format!("serials: {got:?}"));
    let (_, total) = s2
        .list_orders(
            a.id,
            &OrderQuery {
                limit: 100,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(total, 10 + 1 + 8);
    lines.push(format!("orders: {total}"));
    s1.close().await;
    s2.close().await;
    lines
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_orders_of_one_account_from_two_instances() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = two_instances(sqlite_store(&dir).await, sqlite_store(&dir).await).await;
    let pg = TestPostgres::shared().unwrap_or_else(|e| panic!("{e}"));
    let url = pg.fresh_database().await.unwrap_or_else(|e| panic!("{e}"));
    let open = || async {
        open_store(&StoreConfig::from_url(&url, Durability::Full).unwrap())
            .await
            .unwrap()
    };
    let postgres = two_instances(open().await, open().await).await;
    assert_eq!(sqlite, postgres, "the backends disagree");
}
