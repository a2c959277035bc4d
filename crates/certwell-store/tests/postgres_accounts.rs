//! Accounts, containers, custom order fields, users, API keys, CAs, CRL
//! numbers, serials and approval requests: the parts of the store the
//! conformance suite does not cover (or covers only in passing), each
//! scenario run on both backends (a SQLite file and a PostgreSQL database
//! of the throwaway test cluster). Every scenario asserts its results and
//! returns a transcript of them; the two backends' transcripts must be
//! equal.
//!
//! Needs PostgreSQL's server binaries (see `certwell_store::testing`).

#[allow(dead_code, unused_macros)]
mod conformance;

use std::collections::BTreeMap;
use std::sync::Arc;

use certwell_store::testing::TestPostgres;
use certwell_store::*;
use conformance::{admin, order, setup};
use serde_json::json;
use time::macros::datetime;
use time::OffsetDateTime;

/// A fresh database of each backend; `open` gives another store over it
/// (another instance sharing the database).
struct Backends {
    dir: tempfile::TempDir,
    _pg: TestPostgres,
    url: String,
}

impl Backends {
    async fn new() -> Backends {
        let pg = TestPostgres::shared().unwrap_or_else(|e| panic!("{e}"));
        let url = pg.fresh_database().await.unwrap_or_else(|e| panic!("{e}"));
        Backends {
            dir: tempfile::tempdir().unwrap(),
            _pg: pg,
            url,
        }
    }

    async fn sqlite(&self) -> Arc<dyn Store> {
        open_store(&StoreConfig::sqlite(
            self.dir.path().join("t.db"),
            Durability::Full,
        ))
        .await
        .unwrap()
    }

    async fn postgres(&self) -> Arc<dyn Store> {
        open_store(&StoreConfig::from_url(&self.url, Durability::Full).unwrap())
            .await
            .unwrap()
    }
}

/// Runs `scenario` on a fresh database of each backend; their transcripts
/// must be equal.
macro_rules! on_both_backends {
    ($scenario:ident) => {{
        let b = Backends::new().await;
        let s = b.sqlite().await;
        let on_sqlite = $scenario(&*s).await;
        s.close().await;
        let s = b.postgres().await;
        let on_postgres = $scenario(&*s).await;
        s.close().await;
        assert_eq!(on_sqlite, on_postgres, "the backends disagree");
        assert!(!on_sqlite.is_empty());
    }};
}

/// A timestamp the store set itself: now, in UTC whole seconds.
fn assert_stamped_now(t: OffsetDateTime) {
    assert_eq!(t.offset(), time::UtcOffset::UTC);
    assert_eq!(t.nanosecond(), 0);
    let age = OffsetDateTime::now_utc() - t;
    assert!(
        age >= time::Duration::ZERO && age < time::Duration::seconds(60),
        "{t}"
    );
}

fn error_kind<T: std::fmt::Debug>(r: Result<T>) -> String {
    match r {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(StoreError::Database(_)) => "Database".into(),
        Err(StoreError::Corrupt(_)) => "Corrupt".into(),
        Err(e) => format!("{e:?}"),
    }
}

fn user(role: &str, first: &str, email: &str, container_id: Option<i64>) -> NewUser {
    NewUser {
        container_id,
        role: role.into(),
        first_name: first.into(),
        last_name: "Last".into(),
        email: email.into(),
        job_title: format!("{first}'s job"),
        telephone: "+1 555 0100".into(),
        is_api_only: false,
    }
}

fn user_line(u: &User) -> String {
    assert_stamped_now(u.created_at);
    format!(
        "user {} acct {} cont {} {} {} {} {} {} {}",
        u.id,
        u.account_id,
        u.container_id,
        u.role,
        u.first_name,
        u.last_name,
        u.email,
        u.job_title,
        u.telephone
    )
}

fn account_line(a: &Account) -> String {
    assert_stamped_now(a.created_at);
    format!(
        "account {} {} root {} {:?}",
        a.id, a.name, a.root_container_id, a.settings
    )
}

/// Accounts, their settings, users (defaults, isolation, contact updates,
/// the first admin) and API keys.
async fn accounts_users_and_keys(s: &dyn Store) -> Vec<String> {
    let mut out = Vec::new();
    let settings = AccountSettings {
        approval_workflow: "two_step".into(),
        smime_default_profiles: BTreeMap::from([("smime_mv".into(), "multipurpose".into())]),
        require_unique_alternative_order_id: true,
        allow_guest_access: false,
        default_card_last_four: Some("4242".into()),
    };
    let mut boss = admin();
    boss.job_title = "CTO".into();
    boss.telephone = "+1 555 0199".into();
    let (a, a_admin) = s.create_account("Acme", &settings, &boss).await.unwrap();
    assert_eq!(a.name, "Acme");
    assert_eq!(a.settings, settings);
    assert_ne!(a.root_container_id, 0);
    assert_eq!(
        (a_admin.account_id, a_admin.container_id),
        (a.id, a.root_container_id)
    );
    assert_eq!(
        (a_admin.job_title.as_str(), a_admin.telephone.as_str()),
        ("CTO", "+1 555 0199")
    );
    out.push(account_line(&a));
    out.push(user_line(&a_admin));
    let (b, b_admin) = s
        .create_account("Beta", &AccountSettings::default(), &admin())
        .await
        .unwrap();
    assert_ne!(b.root_container_id, a.root_container_id);

    // get / list
    let got = s.get_account(a.id).await.unwrap().unwrap();
    assert_eq!(
        (
            got.id,
            got.name.as_str(),
            got.root_container_id,
            &got.settings
        ),
        (a.id, "Acme", a.root_container_id, &settings)
    );
    assert_eq!(got.created_at, a.created_at);
    assert!(s.get_account(b.id + 100).await.unwrap().is_none());
    let all = s.list_accounts().await.unwrap();
    assert_eq!(
        all.iter()
            .map(|x| (x.id, x.name.as_str()))
            .collect::<Vec<_>>(),
        [(a.id, "Acme"), (b.id, "Beta")]
    );
    out.extend(all.iter().map(account_line));

    // settings
    let new_settings = AccountSettings {
        approval_workflow: "auto_approve".into(),
        default_card_last_four: None,
        ..settings.clone()
    };
    s.update_account_settings(a.id, &new_settings)
        .await
        .unwrap();
    assert_eq!(
        s.get_account(a.id).await.unwrap().unwrap().settings,
        new_settings
    );
    assert_eq!(
        s.get_account(b.id).await.unwrap().unwrap().settings,
        AccountSettings::default(),
        "another account's settings are left alone"
    );
    let r = s.update_account_settings(b.id + 100, &new_settings).await;
    out.push(format!("update settings of nobody: {}", error_kind(r)));

    // users
    let sub = s
        .create_container(a.id, a.root_container_id, "Sub", "")
        .await
        .unwrap();
    let u1 = s
        .create_user(a.id, &user("user", "Uma", "uma@example.com", None))
        .await
        .unwrap();
    assert_eq!(
        (u1.account_id, u1.container_id),
        (a.id, a.root_container_id)
    );
    let u2 = s
        .create_user(a.id, &user("manager", "Max", "max@example.com", Some(sub)))
        .await
        .unwrap();
    assert_eq!(u2.container_id, sub);
    let r = s
        .create_user(b.id + 100, &user("user", "No", "no@example.com", None))
        .await;
    out.push(format!("user of nobody: {}", error_kind(r)));
    out.push(user_line(&u1));
    out.push(user_line(&u2));

    let got = s.get_user(a.id, u2.id).await.unwrap().unwrap();
    assert_eq!(user_line(&got), user_line(&u2));
    assert_eq!(got.created_at, u2.created_at);
    assert!(
        s.get_user(b.id, u2.id).await.unwrap().is_none(),
        "another account's user"
    );
    let ids = |v: Vec<User>| v.into_iter().map(|u| u.id).collect::<Vec<_>>();
    assert_eq!(
        ids(s.list_users(a.id).await.unwrap()),
        [a_admin.id, u1.id, u2.id]
    );
    assert_eq!(ids(s.list_users(b.id).await.unwrap()), [b_admin.id]);
    assert!(s.list_users(b.id + 100).await.unwrap().is_empty());

    // contact details: only the given fields change
    s.update_user_contact(
        a.id,
        u1.id,
        &UserContactUpdate {
            first_name: Some("Ursula".into()),
            telephone: Some("+44 20 7946 0000".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let got = s.get_user(a.id, u1.id).await.unwrap().unwrap();
    assert_eq!(
        (
            got.first_name.as_str(),
            got.last_name.as_str(),
            got.email.as_str(),
            got.job_title.as_str(),
            got.telephone.as_str()
        ),
        (
            "Ursula",
            "Last",
            "uma@example.com",
            "Uma's job",
            "+44 20 7946 0000"
        )
    );
    out.push(user_line(&got));
    let r = s
        .update_user_contact(
            b.id,
            u1.id,
            &UserContactUpdate {
                email: Some("evil@example.com".into()),
                ..Default::default()
            },
        )
        .await;
    out.push(format!(
        "contact of another account's user: {}",
        error_kind(r)
    ));
    assert_eq!(
        s.get_user(a.id, u1.id).await.unwrap().unwrap().email,
        "uma@example.com"
    );

    // the first admin is the oldest admin of the account
    s.create_user(a.id, &user("admin", "Ada", "ada@example.com", None))
        .await
        .unwrap();
    assert_eq!(
        s.first_admin(a.id).await.unwrap().map(|u| u.id),
        Some(a_admin.id)
    );
    assert_eq!(
        s.first_admin(b.id).await.unwrap().map(|u| u.id),
        Some(b_admin.id)
    );
    assert!(s.first_admin(b.id + 100).await.unwrap().is_none());

    // API keys
    let k1 = s
        .create_api_key(&NewApiKey {
            key_hash: "hash-1".into(),
            account_id: Some(a.id),
            user_id: Some(u1.id),
            role: "user".into(),
            name: "ci".into(),
            restricted_role: 0,
            expires_at: None,
        })
        .await
        .unwrap();
    let k2 = s
        .create_api_key(&NewApiKey {
            key_hash: "hash-operator".into(),
            account_id: None,
            user_id: None,
            role: "operator".into(),
            name: String::new(),
            restricted_role: 0,
            expires_at: None,
        })
        .await
        .unwrap();
    assert_ne!(k1, k2);
    let got = s.find_api_key("hash-1").await.unwrap().unwrap();
    assert_eq!(
        (
            got.id,
            got.account_id,
            got.user_id,
            got.role.as_str(),
            got.revoked
        ),
        (k1, Some(a.id), Some(u1.id), "user", false)
    );
    let got = s.find_api_key("hash-operator").await.unwrap().unwrap();
    assert_eq!(
        (got.id, got.account_id, got.user_id, got.role.as_str()),
        (k2, None, None, "operator")
    );
    assert!(s.find_api_key("HASH-1").await.unwrap().is_none());
    assert!(s.find_api_key("nope").await.unwrap().is_none());
    let r = s
        .create_api_key(&NewApiKey {
            key_hash: "hash-1".into(),
            account_id: Some(b.id),
            user_id: None,
            role: "admin".into(),
            name: "again".into(),
            restricted_role: 0,
            expires_at: None,
        })
        .await;
    assert!(matches!(r, Err(StoreError::Conflict(Conflict::Duplicate))));
    out.push(format!("keys {k1} {k2}"));
    out
}

/// Containers (the tree, isolation) and custom order fields.
async fn containers_and_metadata(s: &dyn Store) -> Vec<String> {
    let mut out = Vec::new();
    let (a, _) = s
        .create_account("Acme", &AccountSettings::default(), &admin())
        .await
        .unwrap();
    let (b, _) = s
        .create_account("Beta", &AccountSettings::default(), &admin())
        .await
        .unwrap();
    let line = |c: &Container| {
        format!(
            "container {} acct {} parent {:?} {} {:?}",
            c.id, c.account_id, c.parent_id, c.name, c.description
        )
    };
    let roots = s.list_containers(a.id).await.unwrap();
    assert_eq!(roots.len(), 1);
    assert_eq!(
        (roots[0].id, roots[0].parent_id, roots[0].name.as_str()),
        (a.root_container_id, None, "Acme")
    );
    let sub = s
        .create_container(a.id, a.root_container_id, "Sub", "the sub")
        .await
        .unwrap();
    let leaf = s.create_container(a.id, sub, "Leaf", "").await.unwrap();
    let got = s.get_container(a.id, sub).await.unwrap().unwrap();
    assert_eq!(
        (
            got.account_id,
            got.parent_id,
            got.name.as_str(),
            got.description.as_str()
        ),
        (a.id, Some(a.root_container_id), "Sub", "the sub")
    );
    assert_eq!(
        s.get_container(a.id, leaf)
            .await
            .unwrap()
            .unwrap()
            .parent_id,
        Some(sub)
    );
    assert!(
        s.get_container(b.id, sub).await.unwrap().is_none(),
        "another account's container"
    );
    assert!(s.get_container(a.id, leaf + 100).await.unwrap().is_none());
    // the parent must be a container of the account
    let r = s
        .create_container(a.id, b.root_container_id, "Stolen", "")
        .await;
    out.push(format!(
        "under another account's container: {}",
        error_kind(r)
    ));
    let r = s.create_container(a.id, leaf + 100, "Orphan", "").await;
    out.push(format!("under no container: {}", error_kind(r)));
    let list = s.list_containers(a.id).await.unwrap();
    assert_eq!(
        list.iter().map(|c| c.id).collect::<Vec<_>>(),
        [a.root_container_id, sub, leaf]
    );
    out.extend(list.iter().map(line));
    let list = s.list_containers(b.id).await.unwrap();
    assert_eq!(
        list.iter().map(|c| c.id).collect::<Vec<_>>(),
        [b.root_container_id]
    );
    out.extend(list.iter().map(line));

    // custom order fields
    let field = |label: &str, required: bool, active: bool, ty: &str| NewMetadataField {
        label: label.into(),
        is_required: required,
        is_active: active,
        data_type: ty.into(),
    };
    let f1 = s
        .create_metadata(a.id, &field("Cost center", true, true, "int"))
        .await
        .unwrap();
    let f2 = s
        .create_metadata(a.id, &field("Notify", false, false, "email_list"))
        .await
        .unwrap();
    let fb = s
        .create_metadata(b.id, &field("Project", false, true, ""))
        .await
        .unwrap();
    let list = s.list_metadata(a.id).await.unwrap();
    assert_eq!(
        list,
        [
            MetadataField {
                id: f1,
                label: "Cost center".into(),
                is_required: true,
                is_active: true,
                data_type: "int".into()
            },
            MetadataField {
                id: f2,
                label: "Notify".into(),
                is_required: false,
                is_active: false,
                data_type: "email_list".into()
            },
        ]
    );
    assert_eq!(
        s.list_metadata(b.id)
            .await
            .unwrap()
            .iter()
            .map(|f| f.id)
            .collect::<Vec<_>>(),
        [fb]
    );
    s.update_metadata(a.id, f2, &field("Notify list", true, true, "text"))
        .await
        .unwrap();
    let r = s
        .update_metadata(b.id, f1, &field("Hijack", false, false, ""))
        .await;
    out.push(format!("update another account's field: {}", error_kind(r)));
    s.delete_metadata(a.id, f1).await.unwrap();
    let r = s.delete_metadata(a.id, f1).await;
    out.push(format!("delete a deleted field: {}", error_kind(r)));
    let r = s
        .update_metadata(a.id, f1, &field("Back", false, true, ""))
        .await;
    out.push(format!("update a deleted field: {}", error_kind(r)));
    let r = s.delete_metadata(b.id, f2).await;
    out.push(format!("delete another account's field: {}", error_kind(r)));
    let list = s.list_metadata(a.id).await.unwrap();
    assert_eq!(
        list,
        [MetadataField {
            id: f2,
            label: "Notify list".into(),
            is_required: true,
            is_active: true,
            data_type: "text".into()
        }]
    );
    out.extend(list.iter().map(|f| format!("{f:?}")));
    assert_eq!(s.list_metadata(b.id).await.unwrap().len(), 1);
    out
}

fn ca(id: &str, parent: Option<&str>, created_at: OffsetDateTime) -> CaRecord {
    CaRecord {
        id: id.into(),
        name: format!("{id} name"),
        parent_id: parent.map(str::to_string),
        purpose: parent.map(|_| "tls_ov".to_string()),
        key_algorithm: "ecdsa-p384".into(),
        key_file: format!("/keys/{id}.pem"),
        cert_der: vec![0x30, 0x82, 0, 0xff, id.len() as u8],
        is_default: parent.is_some(),
        created_at,
    }
}

/// CAs, CRL numbers per CA and the serial ledger.
async fn cas_crl_numbers_and_serials(s: &dyn Store) -> Vec<String> {
    let mut out = Vec::new();
    assert!(s.list_cas().await.unwrap().is_empty());
    s.insert_ca(&ca("ROOT", None, datetime!(2026-01-02 03:04:05.678 UTC)))
        .await
        .unwrap();
    s.insert_ca(&ca(
        "SUB-B",
        Some("ROOT"),
        datetime!(2026-02-01 0:00 +02:00),
    ))
    .await
    .unwrap();
    s.insert_ca(&ca("SUB-A", Some("ROOT"), datetime!(2026-01-31 22:00 UTC)))
        .await
        .unwrap();
    let r = s
        .insert_ca(&ca("ROOT", None, datetime!(2026-03-01 0:00 UTC)))
        .await;
    assert!(matches!(r, Err(StoreError::Conflict(Conflict::Duplicate))));
    let r = s
        .insert_ca(&ca("ORPHAN", Some("NOPE"), datetime!(2026-03-01 0:00 UTC)))
        .await;
    out.push(format!("a CA under no CA: {}", error_kind(r)));
    // by creation time, then id (SUB-A and SUB-B were created at the same
    // instant, in different offsets)
    let cas = s.list_cas().await.unwrap();
    assert_eq!(
        cas.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
        ["ROOT", "SUB-A", "SUB-B"]
    );
    let root = &cas[0];
    assert_eq!(root.created_at, datetime!(2026-01-02 03:04:05 UTC));
    assert_eq!(root.created_at.offset(), time::UtcOffset::UTC);
    assert_eq!(
        (
            root.parent_id.as_deref(),
            root.purpose.as_deref(),
            root.is_default
        ),
        (None, None, false)
    );
    assert_eq!(root.cert_der, [0x30, 0x82, 0, 0xff, 4]);
    assert_eq!(cas[2].created_at, datetime!(2026-01-31 22:00 UTC));
    assert_eq!(
        (cas[2].parent_id.as_deref(), cas[2].is_default),
        (Some("ROOT"), true)
    );
    out.extend(cas.iter().map(|c| format!("{c:?}")));

    // CRL numbers count per CA, from 1
    let mut numbers = Vec::new();
    for id in ["ROOT", "ROOT", "SUB-A", "ROOT", "SUB-A", "SUB-B"] {
        numbers.push(s.next_crl_number(id).await.unwrap());
    }
    assert_eq!(numbers, [1, 2, 1, 3, 2, 1]);
    out.push(format!("crl numbers {numbers:?}"));

    // serials: once per CA, a batch all or nothing
    s.reserve_serials("SUB-A", &["01".into(), "02".into()])
        .await
        .unwrap();
    s.reserve_serials("SUB-A", &[]).await.unwrap();
    let refused = |r: Result<()>| matches!(r, Err(StoreError::Conflict(Conflict::SerialInUse)));
    assert!(refused(s.reserve_serials("SUB-A", &["02".into()]).await));
    assert!(refused(
        s.reserve_serials("SUB-A", &["03".into(), "01".into()])
            .await
    ));
    assert!(refused(
        s.reserve_serials("SUB-A", &["05".into(), "05".into()])
            .await
    ));
    // nothing of a refused batch was kept
    s.reserve_serials("SUB-A", &["03".into(), "05".into()])
        .await
        .unwrap();
    // another CA (or a root's own serial, recorded before its CA row
    // exists) has serials of its own
    s.reserve_serials("SUB-B", &["01".into(), "02".into(), "03".into()])
        .await
        .unwrap();
    s.reserve_serials("NEW-ROOT", &["01".into()]).await.unwrap();
    assert!(refused(s.reserve_serials("NEW-ROOT", &["01".into()]).await));
    out.push("serials ok".into());
    out
}

/// `n` concurrent calls of `f` on each of two stores over one database.
async fn on_two_instances<T, F, Fut>(
    one: Arc<dyn Store>,
    two: Arc<dyn Store>,
    n: usize,
    f: F,
) -> Vec<T>
where
    T: Send + 'static,
    F: Fn(Arc<dyn Store>, usize) -> Fut,
    Fut: std::future::Future<Output = T> + Send + 'static,
{
    let mut tasks = Vec::new();
    for i in 0..n {
        tasks.push(tokio::spawn(f(one.clone(), 2 * i)));
        tasks.push(tokio::spawn(f(two.clone(), 2 * i + 1)));
    }
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

/// Several instances over one database: CRL numbers stay strictly
/// increasing per CA (each call gets a number no other call got), and a
/// serial reserved by two at once is granted to one of them.
async fn instances_share_crl_numbers_and_serials(one: Arc<dyn Store>, two: Arc<dyn Store>) {
    one.insert_ca(&ca("ROOT", None, datetime!(2026-01-01 0:00 UTC)))
        .await
        .unwrap();
    one.insert_ca(&ca("SUB", Some("ROOT"), datetime!(2026-01-01 0:00 UTC)))
        .await
        .unwrap();
    let got = on_two_instances(one.clone(), two.clone(), 20, |s, i| async move {
        let ca = if i.is_multiple_of(3) { "SUB" } else { "ROOT" };
        let mut mine = Vec::new();
        for _ in 0..3 {
            mine.push(s.next_crl_number(ca).await.unwrap());
        }
        (ca, mine)
    })
    .await;
    for ca_id in ["ROOT", "SUB"] {
        let mut all: Vec<i64> = Vec::new();
        for (ca, mine) in got.iter().filter(|(ca, _)| *ca == ca_id) {
            assert_eq!(*ca, ca_id);
            assert!(
                mine.windows(2).all(|w| w[0] < w[1]),
                "one caller's numbers increase: {mine:?}"
            );
            all.extend(mine);
        }
        all.sort_unstable();
        let n = all.len() as i64;
        assert_eq!(all, (1..=n).collect::<Vec<_>>(), "{ca_id}: no number twice");
        // and the next one follows on either instance
        assert_eq!(two.next_crl_number(ca_id).await.unwrap(), n + 1);
        assert_eq!(one.next_crl_number(ca_id).await.unwrap(), n + 2);
    }

    for round in 0..10 {
        let serial = format!("{round:04X}");
        let results = on_two_instances(one.clone(), two.clone(), 2, |s, _| {
            let serial = serial.clone();
            async move { s.reserve_serials("SUB", &[serial]).await }
        })
        .await;
        let granted = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(granted, 1, "{serial}: {results:?}");
        for r in results.into_iter().filter(|r| r.is_err()) {
            assert!(
                matches!(r, Err(StoreError::Conflict(Conflict::SerialInUse))),
                "{r:?}"
            );
        }
    }
}

/// Several instances over one database: concurrent withdrawals never take
/// the balance past the negative-balance limit; each refused one is
/// `InsufficientFunds` and leaves no trace in the balance.
async fn instances_share_the_balance(one: Arc<dyn Store>, two: Arc<dyn Store>) {
    let (a, _) = one
        .create_account("Funds", &AccountSettings::default(), &admin())
        .await
        .unwrap();
    one.set_negative_limit(a.id, 300, false).await.unwrap();
    assert_eq!(
        two.balance(a.id).await.unwrap(),
        Balance {
            balance_cents: 0,
            negative_limit_cents: 300,
            unlimited_negative: false
        }
    );
    assert_eq!(two.deposit(a.id, 1_000, "top-up").await.unwrap(), 1_000);
    let results = on_two_instances(one.clone(), two.clone(), 10, move |s, i| async move {
        s.deposit(a.id, -100, &format!("fee {i}")).await
    })
    .await;
    let mut seen: Vec<i64> = Vec::new();
    for r in &results {
        match r {
            Ok(balance) => seen.push(*balance),
            Err(StoreError::InsufficientFunds) => {}
            Err(e) => panic!("{e:?}"),
        }
    }
    seen.sort_unstable();
    // 13 of the 20 fit (1000 + 300), each leaving a different balance
    assert_eq!(seen, (-3..=9).map(|n| n * 100).collect::<Vec<_>>());
    assert_eq!(one.balance(a.id).await.unwrap().balance_cents, -300);
    // deposits always go through, and unlimited accounts may go further
    assert_eq!(one.deposit(a.id, 50, "refund").await.unwrap(), -250);
    assert!(matches!(
        two.deposit(a.id, -51, "fee").await,
        Err(StoreError::InsufficientFunds)
    ));
    two.set_negative_limit(a.id, 0, true).await.unwrap();
    assert_eq!(one.deposit(a.id, -10_000, "fee").await.unwrap(), -10_250);
    assert!(matches!(
        one.set_negative_limit(a.id + 100, 0, true).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        two.balance(a.id + 100).await,
        Err(StoreError::NotFound)
    ));
}

/// Approval requests: creation, reads and lists (status, container scope,
/// pages), processing with the order and certificates moving along.
async fn requests_are_listed_and_processed(s: &dyn Store) -> Vec<String> {
    let mut out = Vec::new();
    let (a, u, org) = setup(s).await;
    let (b, _) = s
        .create_account("Other", &AccountSettings::default(), &admin())
        .await
        .unwrap();
    let sub = s
        .create_container(a.id, a.root_container_id, "Sub", "")
        .await
        .unwrap();
    let line = |r: &Request| {
        // (a new_request is dated with its order)
        let t = r.date;
        assert_eq!((t.nanosecond(), t.offset()), (0, time::UtcOffset::UTC));
        if let Some(t) = r.date_processed {
            assert_eq!((t.nanosecond(), t.offset()), (0, time::UtcOffset::UTC));
        }
        format!(
            "request {} acct {} order {} {} {} by {} {:?} processor {:?} {:?} processed {:?} {:?}",
            r.id,
            r.account_id,
            r.order_id,
            r.kind.as_str(),
            r.status.as_str(),
            r.requester_id,
            r.comments,
            r.processor_id,
            r.processor_comment,
            r.date_processed,
            r.data
        )
    };

    // o1: an order waiting for approval (with its new_request)
    let c1 = s
        .create_order(&order(&a, &u, Some(org.id), Some("pending"), None))
        .await
        .unwrap();
    let r1 = c1.request_id.expect("a new_request");
    // o2: in the sub-container, without a request of its own
    let mut o2 = order(&a, &u, Some(org.id), None, None);
    o2.container_id = sub;
    let c2 = s.create_order(&o2).await.unwrap();
    let data = json!({"certificate_ids": [c2.certificate_id], "reason": "superseded"});
    let r2 = s
        .create_request(
            a.id,
            c2.order_id,
            RequestKind::Revoke,
            RequestStatus::Submitted,
            u.id,
            Some("revoke it"),
            &data,
        )
        .await
        .unwrap();
    assert_eq!(
        (
            r2.account_id,
            r2.order_id,
            r2.kind,
            r2.status,
            r2.requester_id,
            r2.comments.as_deref()
        ),
        (
            a.id,
            c2.order_id,
            RequestKind::Revoke,
            RequestStatus::Submitted,
            u.id,
            Some("revoke it")
        )
    );
    assert_eq!(
        (r2.processor_id, r2.date_processed, r2.data.as_ref()),
        (None, None, Some(&data))
    );
    let r3 = s
        .create_request(
            a.id,
            c1.order_id,
            RequestKind::Duplicate,
            RequestStatus::Pending,
            u.id,
            None,
            &serde_json::Value::Null,
        )
        .await
        .unwrap();
    assert_stamped_now(r2.date);
    assert_stamped_now(r3.date);
    out.push(line(&r2));
    out.push(line(&r3));

    // reads
    let got = s.get_request(a.id, r1).await.unwrap().unwrap();
    assert_eq!(
        (got.kind, got.status, got.order_id, got.comments.as_deref()),
        (
            RequestKind::NewRequest,
            RequestStatus::Pending,
            c1.order_id,
            Some("please")
        )
    );
    assert_eq!(got.date, datetime!(2026-11-23 0:00 UTC));
    out.push(line(&got));
    assert_eq!(
        line(&s.get_request(a.id, r2.id).await.unwrap().unwrap()),
        line(&r2)
    );
    assert!(
        s.get_request(b.id, r1).await.unwrap().is_none(),
        "another account's request"
    );
    assert!(s.get_request(a.id, r3.id + 100).await.unwrap().is_none());
    let of = |v: Vec<Request>| v.into_iter().map(|r| r.id).collect::<Vec<_>>();
    assert_eq!(
        of(s.requests_for_order(c1.order_id).await.unwrap()),
        [r1, r3.id]
    );
    assert_eq!(
        of(s.requests_for_order(c2.order_id).await.unwrap()),
        [r2.id]
    );

    // lists
    let list = |status: Option<RequestStatus>, scope: Option<Vec<i64>>, limit: i64, offset: i64| {
        let scope = scope.clone();
        async move {
            let (rows, total) = s
                .list_requests(a.id, status, scope.as_deref(), limit, offset)
                .await
                .unwrap();
            (of(rows), total)
        }
    };
    assert_eq!(list(None, None, 10, 0).await, (vec![r1, r2.id, r3.id], 3));
    assert_eq!(
        list(Some(RequestStatus::Pending), None, 10, 0).await,
        (vec![r1, r3.id], 2)
    );
    assert_eq!(
        list(Some(RequestStatus::Approved), None, 10, 0).await,
        (vec![], 0)
    );
    assert_eq!(list(None, Some(vec![sub]), 10, 0).await, (vec![r2.id], 1));
    assert_eq!(
        list(None, Some(vec![a.root_container_id]), 10, 0).await,
        (vec![r1, r3.id], 2)
    );
    assert_eq!(
        list(
            Some(RequestStatus::Submitted),
            Some(vec![a.root_container_id, sub]),
            10,
            0
        )
        .await,
        (vec![r2.id], 1)
    );
    assert_eq!(list(None, Some(vec![]), 10, 0).await, (vec![], 0));
    assert_eq!(list(None, None, 1, 1).await, (vec![r2.id], 3));
    assert_eq!(list(None, None, 2, 2).await, (vec![r3.id], 3));
    assert_eq!(list(None, None, 10, 5).await, (vec![], 3));
    assert_eq!(list(None, None, 0, 0).await, (vec![], 3));
    // as SQLite reads them: a negative limit is none, a negative offset 0
    assert_eq!(list(None, None, -1, 0).await, (vec![r1, r2.id, r3.id], 3));
    assert_eq!(list(None, None, 1, -4).await, (vec![r1], 3));
    let (rows, total) = s.list_requests(b.id, None, None, 10, 0).await.unwrap();
    assert_eq!((rows.len(), total), (0, 0));

    // processing: from the expected status only, in the account only
    let process = |id: i64, from, to, order_status, awaiting| ProcessRequest {
        account_id: a.id,
        request_id: id,
        from,
        to,
        processor_id: u.id,
        processor_comment: Some(format!("{to:?} by the desk")),
        date_processed: datetime!(2026-11-24 10:00:00.75 +01:00),
        order_status,
        awaiting_csr_status: awaiting,
    };
    let approve = process(
        r1,
        RequestStatus::Pending,
        RequestStatus::Approved,
        Some(OrderStatus::Pending),
        OrderStatus::NeedsCsr,
    );
    assert!(!s
        .process_request(&ProcessRequest {
            account_id: b.id,
            ..approve.clone()
        })
        .await
        .unwrap());
    assert!(!s
        .process_request(&ProcessRequest {
            from: RequestStatus::Submitted,
            ..approve.clone()
        })
        .await
        .unwrap());
    assert!(!s
        .process_request(&ProcessRequest {
            request_id: r3.id + 100,
            ..approve.clone()
        })
        .await
        .unwrap());
    assert_eq!(
        s.get_request(a.id, r1).await.unwrap().unwrap().status,
        RequestStatus::Pending,
        "nothing moved"
    );
    assert!(s.process_request(&approve).await.unwrap());
    assert!(
        !s.process_request(&approve).await.unwrap(),
        "processed once only"
    );
    let got = s.get_request(a.id, r1).await.unwrap().unwrap();
    assert_eq!(
        (
            got.status,
            got.processor_id,
            got.processor_comment.as_deref(),
            got.date_processed
        ),
        (
            RequestStatus::Approved,
            Some(u.id),
            Some("Approved by the desk"),
            Some(datetime!(2026-11-24 09:00 UTC))
        )
    );
    out.push(line(&got));
    // the order has its CSR: it goes to pending
    let o1 = s.get_order(a.id, c1.order_id).await.unwrap().unwrap();
    assert_eq!(o1.status, OrderStatus::Pending);
    assert_eq!(o1.updated_at, datetime!(2026-11-24 09:00 UTC));
    assert_eq!(
        list(Some(RequestStatus::Approved), None, 10, 0).await,
        (vec![r1], 1)
    );

    // an approved order without its CSR waits for it
    let mut o4 = order(&a, &u, Some(org.id), Some("pending"), None);
    o4.certificate.csr = String::new();
    let c4 = s.create_order(&o4).await.unwrap();
    assert!(s
        .process_request(&process(
            c4.request_id.unwrap(),
            RequestStatus::Pending,
            RequestStatus::Approved,
            Some(OrderStatus::Pending),
            OrderStatus::WaitingPickup,
        ))
        .await
        .unwrap());
    let o4 = s.get_order(a.id, c4.order_id).await.unwrap().unwrap();
    assert_eq!(o4.status, OrderStatus::WaitingPickup);

    // a rejected new_request rejects its order
    let c5 = s
        .create_order(&order(&a, &u, Some(org.id), Some("pending"), None))
        .await
        .unwrap();
    assert!(s
        .process_request(&process(
            c5.request_id.unwrap(),
            RequestStatus::Pending,
            RequestStatus::Rejected,
            Some(OrderStatus::Rejected),
            OrderStatus::NeedsCsr,
        ))
        .await
        .unwrap());
    let o5 = s.get_order(a.id, c5.order_id).await.unwrap().unwrap();
    assert_eq!(o5.status, OrderStatus::Rejected);
    // a request moving without its order leaves the order alone
    assert!(s
        .process_request(&process(
            r2.id,
            RequestStatus::Submitted,
            RequestStatus::Pending,
            None,
            OrderStatus::NeedsCsr,
        ))
        .await
        .unwrap());
    assert_eq!(
        s.get_order(a.id, c2.order_id)
            .await
            .unwrap()
            .unwrap()
            .status,
        OrderStatus::Pending
    );

    // reissue and duplicate requests move their certificates; a rejected
    // reissue returns the order to issued
    s.reserve_serials("CA1", &["0B01".into()]).await.unwrap();
    let mut o6 = order(&a, &u, Some(org.id), None, None);
    o6.issued = Some(PreIssued {
        ca_id: "CA1".into(),
        serial_hex: "0B01".into(),
        der: vec![7; 12],
        thumbprint: "AB".into(),
        valid_from: datetime!(2026-11-23 0:00 UTC),
        valid_till: datetime!(2027-06-10 0:00 UTC),
    });
    let c6 = s.create_order(&o6).await.unwrap();
    let extra = |kind| NewExtraCertificate {
        account_id: a.id,
        order_id: c6.order_id,
        kind,
        user_id: u.id,
        certificate: o6.certificate.clone(),
        data: json!({}),
        request: Some((RequestStatus::Pending, Some("again".into()))),
        approved: false,
        reserve_serial: None,
        created_at: datetime!(2026-11-24 0:00 UTC),
    };
    let reissue = s
        .create_extra_certificate(&extra(CertificateKind::Reissue))
        .await
        .unwrap();
    let cert_status =
        |id: i64| async move { s.get_certificate(a.id, id).await.unwrap().unwrap().status };
    assert_eq!(
        cert_status(reissue.certificate_id).await,
        CertificateStatus::NeedsApproval
    );
    assert_eq!(
        s.get_order(a.id, c6.order_id)
            .await
            .unwrap()
            .unwrap()
            .status,
        OrderStatus::ReissuePending
    );
    assert!(s
        .process_request(&process(
            reissue.request_id.unwrap(),
            RequestStatus::Pending,
            RequestStatus::Rejected,
            None,
            OrderStatus::NeedsCsr,
        ))
        .await
        .unwrap());
    assert_eq!(
        cert_status(reissue.certificate_id).await,
        CertificateStatus::Rejected
    );
    assert_eq!(
        cert_status(c6.certificate_id).await,
        CertificateStatus::Issued
    );
    let o6_now = s.get_order(a.id, c6.order_id).await.unwrap().unwrap();
    assert_eq!(
        (o6_now.status, o6_now.updated_at),
        (OrderStatus::Issued, datetime!(2026-11-24 09:00 UTC))
    );
    let dup = s
        .create_extra_certificate(&extra(CertificateKind::Duplicate))
        .await
        .unwrap();
    assert_eq!(
        cert_status(dup.certificate_id).await,
        CertificateStatus::NeedsApproval
    );
    assert!(s
        .process_request(&process(
            dup.request_id.unwrap(),
            RequestStatus::Pending,
            RequestStatus::Approved,
            None,
            OrderStatus::NeedsCsr,
        ))
        .await
        .unwrap());
    assert_eq!(
        cert_status(dup.certificate_id).await,
        CertificateStatus::Pending
    );
    assert_eq!(
        s.get_order(a.id, c6.order_id)
            .await
            .unwrap()
            .unwrap()
            .status,
        OrderStatus::Issued
    );

    let (rows, total) = s.list_requests(a.id, None, None, 100, 0).await.unwrap();
    assert_eq!(total, 7);
    out.extend(rows.iter().map(line));
    out
}

#[tokio::test]
async fn accounts_users_and_keys_agree() {
    on_both_backends!(accounts_users_and_keys);
}

#[tokio::test]
async fn containers_and_metadata_agree() {
    on_both_backends!(containers_and_metadata);
}

#[tokio::test]
async fn cas_crl_numbers_and_serials_agree() {
    on_both_backends!(cas_crl_numbers_and_serials);
}

#[tokio::test]
async fn requests_agree() {
    on_both_backends!(requests_are_listed_and_processed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn instances_share_crl_numbers_and_serials_on_sqlite() {
    let b = Backends::new().await;
    let (one, two) = (b.sqlite().await, b.sqlite().await);
    instances_share_crl_numbers_and_serials(one.clone(), two.clone()).await;
    one.close().await;
    two.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn instances_share_crl_numbers_and_serials_on_postgres() {
    let b = Backends::new().await;
    let (one, two) = (b.postgres().await, b.postgres().await);
    instances_share_crl_numbers_and_serials(one.clone(), two.clone()).await;
    one.close().await;
    two.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn instances_share_the_balance_on_sqlite() {
    let b = Backends::new().await;
    let (one, two) = (b.sqlite().await, b.sqlite().await);
    instances_share_the_balance(one.clone(), two.clone()).await;
    one.close().await;
    two.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn instances_share_the_balance_on_postgres() {
    let b = Backends::new().await;
    let (one, two) = (b.postgres().await, b.postgres().await);
    instances_share_the_balance(one.clone(), two.clone()).await;
    one.close().await;
    two.close().await;
}
