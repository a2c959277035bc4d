//! Accounts, users and API keys.

use super::*;

pub async fn accounts_are_isolated_and_data_survives_reopening(db: &dyn TestDatabase) {
    let (a_id, order_id) = {
        let s = db.open().await;
        let (a, u, org) = setup(&*s).await;
        let (b, _) = s
            .create_account("Other", &AccountSettings::default(), &admin())
            .await
            .unwrap();
        let c = s
            .create_order(&order(&a, &u, Some(org.id), None, None))
            .await
            .unwrap();
        assert!(s.get_order(b.id, c.order_id).await.unwrap().is_none());
        assert!(s.get_organization(b.id, org.id).await.unwrap().is_none());
        assert!(s
            .get_certificate(b.id, c.certificate_id)
            .await
            .unwrap()
            .is_none());
        s.close().await;
        (a.id, c.order_id)
    };
    let s = db.open().await;
    let o = s.get_order(a_id, order_id).await.unwrap().unwrap();
    assert_eq!(o.data, json!({"k": 1}));
    let org = s
        .get_organization(a_id, o.organization_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(org.validations.len(), 1);
    assert_eq!(org.validations[0].kind, ValidationType::Ov);
    s.create_domain(
        a_id,
        &NewDomainRow {
            container_id: org.container_id,
            organization_id: org.id,
            name: "example.com".into(),
            dcv_method: DcvMethod::DnsTxtToken,
            dcv_token: Some("tok".into()),
            dcv_token_expires: None,
            validation_types: vec![ValidationType::Ov],
            validated_at: None,
            validated_until: Some(datetime!(2099-01-01 0:00 UTC)),
        },
    )
    .await
    .unwrap();
    let (o2, domains) = s
        .organization_with_domains(a_id, org.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(o2.validations.len(), 1);
    assert_eq!(domains.len(), 1);
    assert_eq!(domains[0].name, "example.com");
    assert_eq!(domains[0].validation_types, vec![ValidationType::Ov]);
    assert_eq!(domains[0].dcv_token.as_deref(), Some("tok"));
    assert!(domains[0].is_active);
    assert_eq!(
        domains[0].validated_until,
        Some(datetime!(2099-01-01 0:00 UTC))
    );
    assert!(s
        .organization_with_domains(a_id + 100, org.id)
        .await
        .unwrap()
        .is_none());
    assert_eq!(s.next_crl_number("CA1").await.unwrap(), 1);
    assert_eq!(s.next_crl_number("CA1").await.unwrap(), 2);
}
/// Users are edited, restricted, deactivated and deleted (their keys
/// revoked with them); keys carry a role restriction, an expiry and their
/// last use, recorded apart from the keys themselves.
pub async fn users_and_keys_have_a_lifecycle(db: &dyn TestDatabase) {
    let s = db.open().await;
    let (a, admin_user, _) = setup(s.as_ref()).await;
    let mut svc = admin();
    svc.email = "svc@example.com".into();
    svc.role = "user".into();
    svc.is_api_only = true;
    let svc = s.create_user(a.id, &svc).await.unwrap();
    assert!(svc.is_api_only);
    assert_eq!(svc.status, UserStatus::Active);
    let expires = datetime!(2031-01-02 03:04:05 UTC);
    let key = |hash: &str, user: i64, restricted_role: i64, expires_at| NewApiKey {
        key_hash: hash.into(),
        account_id: Some(a.id),
        user_id: Some(user),
        role: "user".into(),
        name: format!("key {hash}"),
        restricted_role,
        expires_at,
    };
    let k1 = s
        .create_api_key(&key("h1", svc.id, 102, Some(expires)))
        .await
        .unwrap();
    let k2 = s.create_api_key(&key("h2", svc.id, 0, None)).await.unwrap();
    let k3 = s
        .create_api_key(&key("h3", admin_user.id, 100, None))
        .await
        .unwrap();
    let found = s.find_api_key("h1").await.unwrap().unwrap();
    assert_eq!(
        (
            found.id,
            found.restricted_role,
            found.expires_at,
            found.last_used_at
        ),
        (k1, 102, Some(expires), None)
    );
    assert_eq!(found.name, "key h1");

    // Use is recorded apart from the keys (their caches do not move) and
    // only moves forward; unknown keys are ignored.
    let t1 = datetime!(2026-12-04 10:00:00 UTC);
    let t0 = datetime!(2026-12-04 09:00:00 UTC);
    // (One write first: the key writes above settle their epoch moves when
    // their connection is released, which a following write waits for.)
    s.record_key_use(&[(999_999, t0)]).await.unwrap();
    let keys_epoch = s.changes().epoch(Aggregate::Keys);
    s.record_key_use(&[(k1, t1), (k3, t0), (999_999, t1)])
        .await
        .unwrap();
    s.record_key_use(&[(k1, t0)]).await.unwrap();
    s.record_key_use(&[]).await.unwrap();
    assert_eq!(s.changes().epoch(Aggregate::Keys), keys_epoch);
    let listed = s.list_api_keys(a.id).await.unwrap();
    let ids: Vec<i64> = listed.iter().map(|k| k.id).collect();
    assert_eq!(ids, vec![k1, k2, k3]);
    assert_eq!(listed[0].last_used_at, Some(t1));
    assert_eq!(listed[1].last_used_at, None);
    assert_eq!(listed[2].last_used_at, Some(t0));

    // A role change reaches the user's keys.
    s.set_user_role(a.id, svc.id, "manager").await.unwrap();
    assert_eq!(
        s.get_user(a.id, svc.id).await.unwrap().unwrap().role,
        "manager"
    );
    assert_eq!(s.find_api_key("h2").await.unwrap().unwrap().role, "manager");
    assert_eq!(s.find_api_key("h3").await.unwrap().unwrap().role, "user");

    // Deactivated: kept, keys untouched; deleted: keys revoked, no way back.
    s.set_user_status(a.id, svc.id, UserStatus::Inactive)
        .await
        .unwrap();
    assert_eq!(
        s.get_user(a.id, svc.id).await.unwrap().unwrap().status,
        UserStatus::Inactive
    );
    assert!(!s.find_api_key("h1").await.unwrap().unwrap().revoked);
    s.set_user_status(a.id, svc.id, UserStatus::Deleted)
        .await
        .unwrap();
    assert!(s.find_api_key("h1").await.unwrap().unwrap().revoked);
    assert!(s.find_api_key("h2").await.unwrap().unwrap().revoked);
    assert!(!s.find_api_key("h3").await.unwrap().unwrap().revoked);
    for r in [
        s.set_user_status(a.id, svc.id, UserStatus::Active).await,
        s.set_user_role(a.id, svc.id, "admin").await,
        s.set_user_status(a.id + 1, admin_user.id, UserStatus::Inactive)
            .await,
    ] {
        assert!(matches!(r, Err(StoreError::NotFound)), "{r:?}");
    }

    // All of it survives reopening.
    s.close().await;
    let s = db.open().await;
    let u = s.get_user(a.id, svc.id).await.unwrap().unwrap();
    assert_eq!((u.status, u.is_api_only), (UserStatus::Deleted, true));
    assert_eq!(
        s.find_api_key("h1").await.unwrap().unwrap().last_used_at,
        Some(t1)
    );
}
