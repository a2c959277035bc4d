//! Orders: creation (one round trip through the group-commit writer for
//! the common case), reissues and duplicates, CSR upload, mailbox
//! addresses, listing and status changes.

use crate::sqlite::name_col;
use sqlx::sqlite::SqliteRow;
use sqlx::{AssertSqlSafe, Row};
use time::OffsetDateTime;

use super::domains::insert_domain_tx;
use super::organizations::insert_org_tx;
use super::rules::{refused, Verdict, PREVIOUS_WROTE};
use super::timestamp::{format_opt_ts, format_ts, now_ts, opt_ts_col, ts_col};
use super::{json_col, SqliteStore};
use crate::batch::Bind;
use crate::records::*;
use crate::{Conflict, Result, StoreError};

/// The business rules a new order is checked against, in the order their
/// errors are reported.
fn order_verdict(o: &NewOrder) -> Verdict {
    let mut v = Verdict::default();
    if let Some(alt_id) = o.payment.unique_alternative_order_id() {
        v.duplicate_alternative_order_id(o.account_id, &alt_id);
    }
    if let Some(amount) = o.payment.debit_cents {
        v.debit(o.account_id, amount);
    }
    v.blocked_key(&o.certificate.spki_sha256);
    if let Some(SerialReservation {
        ca_id,
        serial_hex: serial,
    }) = &o.reserve_serial
    {
        v.serial_in_use(ca_id, serial);
    }
    if let Some(p) = &o.issued {
        v.serial_not_reserved(&p.ca_id, &p.serial_hex);
    }
    v
}

pub(super) fn order_row(r: &SqliteRow) -> Result<Order> {
    Ok(Order {
        id: r.try_get("id")?,
        account_id: r.try_get("account_id")?,
        container_id: r.try_get("container_id")?,
        user_id: r.try_get("user_id")?,
        product_name_id: r.try_get("product_name_id")?,
        status: name_col(r, "status", OrderStatus::from_name)?,
        organization_id: r.try_get::<Option<i64>, _>("organization_id")?.unwrap_or(0),
        common_name: r.try_get("common_name")?,
        certificate_id: r.try_get("certificate_id")?,
        renewal_of_order_id: r.try_get("renewal_of_order_id")?,
        data: json_col(r, "data")?,
        created_at: ts_col(r, "created_at")?,
        updated_at: ts_col(r, "updated_at")?,
    })
}

/// The SQL a sort key orders by.
fn order_sort_column(key: OrderSortKey) -> &'static str {
    match key {
        OrderSortKey::Id => "o.id",
        OrderSortKey::DateCreated => "o.created_at",
        OrderSortKey::CommonName => "o.common_name",
        OrderSortKey::Status => "o.status",
        OrderSortKey::ProductName => "o.product_name_id",
        OrderSortKey::ValidTill => {
            "(SELECT valid_till FROM certificates c WHERE c.id = o.certificate_id)"
        }
    }
}

impl SqliteStore {
    /// The common order (existing organization, no new domains) as one
    /// multi-statement transaction sent to SQLite in a single round trip.
    /// Ids of rows inserted earlier in the batch are read from
    /// `sqlite_sequence` (all tables use AUTOINCREMENT; one writer).
    async fn create_order_one_trip(
        &self,
        o: &NewOrder,
        organization_id: i64,
    ) -> Result<CreatedOrder> {
        const ORDER_ID: &str = "(SELECT seq FROM sqlite_sequence WHERE name = 'orders')";
        const CERT_ID: &str = "(SELECT seq FROM sqlite_sequence WHERE name = 'certificates')";
        let now = &format_ts(o.created_at);
        let c = &o.certificate;
        // The order's checks guard its first statement, in the same
        // transaction; each later one writes only if the one before it
        // wrote (see rules.rs).
        let verdict = order_verdict(o);
        let (passed, passed_binds) = verdict.passed();
        let mut sql = format!(
            "INSERT INTO orders (account_id, container_id, user_id, product_name_id, status, organization_id, \
             common_name, data, created_at, updated_at, alternative_order_id, alt_id_unique, price_cents, \
             renewal_of_order_id) \
             SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE {passed};\n"
        );
        let mut binds = vec![
            Bind::I64(o.account_id),
            Bind::I64(o.container_id),
            Bind::I64(o.user_id),
            Bind::Text(o.product_name_id.clone()),
            // Signed already: stored issued at once (one index entry, not
            // an insert and a move).
            Bind::Text(if o.issued.is_some() {
                OrderStatus::Issued.as_str().into()
            } else {
                o.status.as_str().into()
            }),
            Bind::I64(organization_id),
            Bind::Text(o.common_name.clone()),
            Bind::Text(o.data.to_string()),
            Bind::Text(now.clone()),
            Bind::Text(now.clone()),
            Bind::OptText(o.payment.alternative_order_id.clone()),
            Bind::OptText(o.payment.unique_alternative_order_id()),
            Bind::I64(o.payment.price_cents),
            Bind::OptI64(o.renewal_of_order_id),
        ];
        binds.extend(passed_binds);
        if let Some(amount) = o.payment.debit_cents {
            sql.push_str(&format!(
                "INSERT INTO balance_ledger (account_id, order_id, amount_cents, note, created_at) \
                 SELECT ?, {ORDER_ID}, ?, 'order', ? WHERE {PREVIOUS_WROTE};\n"
            ));
            binds.extend([
                Bind::I64(o.account_id),
                Bind::I64(amount),
                Bind::Text(now.clone()),
            ]);
        }
        if !o.names.is_empty() {
            sql.push_str(&format!(
                "INSERT INTO order_names (order_id, name) SELECT {ORDER_ID}, column1 FROM (VALUES {}) \
                 WHERE {PREVIOUS_WROTE};\n",
                vec!["(?)"; o.names.len()].join(", ")
            ));
            binds.extend(o.names.iter().map(|n| Bind::Text(n.clone())));
        }
        if let Some(p) = &o.issued {
            sql.push_str(&format!(
                "INSERT INTO certificates (account_id, order_id, status, csr, spki_sha256, key_size, common_name, \
                 dns_names, signature_hash, created_at, ca_id, serial, thumbprint, der, valid_from, valid_till, \
                 date_issued) SELECT ?, {ORDER_ID}, 'issued', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? \
                 WHERE {PREVIOUS_WROTE};\n"
            ));
            binds.extend([
                Bind::I64(o.account_id),
                Bind::Text(c.csr.clone()),
                Bind::Text(c.spki_sha256.clone()),
                Bind::I64(c.key_size),
                Bind::Text(c.common_name.clone()),
                Bind::Text(serde_json::to_string(&c.dns_names)?),
                Bind::Text(c.signature_hash.clone()),
                Bind::Text(now.clone()),
                Bind::Text(p.ca_id.clone()),
                Bind::Text(p.serial_hex.clone()),
                Bind::Text(p.thumbprint.clone()),
                Bind::Blob(p.der.clone()),
                Bind::Text(format_ts(p.valid_from)),
                Bind::Text(format_ts(p.valid_till)),
                Bind::Text(now.clone()),
            ]);
            // The serial was recorded (unattached) before signing.
            sql.push_str(&format!(
                "UPDATE serials SET certificate_id = {CERT_ID} WHERE ca_id = ? AND serial = ? \
                 AND certificate_id IS NULL AND {PREVIOUS_WROTE};\n\
                 UPDATE orders SET certificate_id = {CERT_ID} WHERE id = {ORDER_ID} AND {PREVIOUS_WROTE};\n"
            ));
            binds.extend([
                Bind::Text(p.ca_id.clone()),
                Bind::Text(p.serial_hex.clone()),
            ]);
        } else {
            sql.push_str(&format!(
                "INSERT INTO certificates (account_id, order_id, status, csr, spki_sha256, key_size, common_name, \
                 dns_names, signature_hash, created_at) SELECT ?, {ORDER_ID}, ?, ?, ?, ?, ?, ?, ?, ? \
                 WHERE {PREVIOUS_WROTE};\n"
            ));
            binds.extend([
                Bind::I64(o.account_id),
                Bind::Text(
                    if o.reserve_serial.is_some() {
                        "issuing"
                    } else {
                        "pending"
                    }
                    .into(),
                ),
                Bind::Text(c.csr.clone()),
                Bind::Text(c.spki_sha256.clone()),
                Bind::I64(c.key_size),
                Bind::Text(c.common_name.clone()),
                Bind::Text(serde_json::to_string(&c.dns_names)?),
                Bind::Text(c.signature_hash.clone()),
                Bind::Text(now.clone()),
            ]);
            sql.push_str(&format!(
                "UPDATE orders SET certificate_id = {CERT_ID} WHERE id = {ORDER_ID} AND {PREVIOUS_WROTE};\n"
            ));
        }
        if let Some((status, comments)) = &o.request {
            sql.push_str(&format!(
                "INSERT INTO requests (account_id, order_id, type, status, requester_id, comments, date, date_processed) \
                 SELECT ?, {ORDER_ID}, 'new_request', ?, ?, ?, ?, ? WHERE {PREVIOUS_WROTE};\n"
            ));
            let processed = (*status == RequestStatus::Approved).then(|| now.clone());
            binds.extend([
                Bind::I64(o.account_id),
                Bind::Text(status.as_str().into()),
                Bind::I64(o.user_id),
                Bind::OptText(comments.clone()),
                Bind::Text(now.clone()),
                Bind::OptText(processed),
            ]);
        }
        if let Some(SerialReservation {
            ca_id,
            serial_hex: serial,
        }) = &o.reserve_serial
        {
            sql.push_str(&format!(
                "INSERT INTO serials (ca_id, serial, certificate_id, created_at) \
                 SELECT ?, ?, {CERT_ID}, ? WHERE {PREVIOUS_WROTE};\n"
            ));
            binds.extend([
                Bind::Text(ca_id.clone()),
                Bind::Text(serial.clone()),
                Bind::Text(now.clone()),
            ]);
        }
        let req_id = if o.request.is_some() {
            "(SELECT seq FROM sqlite_sequence WHERE name = 'requests')"
        } else {
            "NULL"
        };
        // The serial of a certificate signed already was checked to be
        // reserved and unattached (order_verdict), and is attached above.
        let (outcome, outcome_binds) = verdict.outcome();
        binds.extend(outcome_binds);
        sql.push_str(&format!(
            "SELECT {ORDER_ID}, {CERT_ID}, {req_id}, {outcome};"
        ));
        let row = self.submit(sql, binds).await?;
        let get = |i: usize| row.get(i).copied().flatten();
        // Refused: nothing was written.
        refused(get(3))?;
        Ok(CreatedOrder {
            order_id: get(0).ok_or_else(|| StoreError::Corrupt("no order id".into()))?,
            organization_id,
            organization_created: false,
            request_id: get(2),
            certificate_id: get(1)
                .ok_or_else(|| StoreError::Corrupt("no certificate id".into()))?,
        })
    }

    pub(crate) async fn create_order(&self, o: &NewOrder) -> Result<CreatedOrder> {
        if let (OrgForOrder::Existing(org_id), true) = (
            &o.organization,
            o.new_domains.is_empty() && o.emails.is_empty(),
        ) {
            return self.create_order_one_trip(o, *org_id).await;
        }
        if o.issued.is_some() {
            return Err(Conflict::PreSignedNeedsExistingOrganization.into());
        }
        let now = &format_ts(o.created_at);
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        order_verdict(o).check(&mut tx).await?;
        let (organization_id, organization_created) = match &o.organization {
            OrgForOrder::Existing(id) => (Some(*id), false),
            OrgForOrder::New(row) => (
                Some(insert_org_tx(&mut tx, o.account_id, row, now).await?),
                true,
            ),
            OrgForOrder::None => (None, false),
        };
        for d in &o.new_domains {
            let mut d = d.clone();
            d.organization_id =
                organization_id.ok_or(StoreError::Conflict(Conflict::DomainWithoutOrganization))?;
            insert_domain_tx(&mut tx, o.account_id, &d, now).await?;
        }
        let order_id: i64 = sqlx::query_scalar(
            "INSERT INTO orders (account_id, container_id, user_id, product_name_id, status, organization_id, common_name, \
             data, created_at, updated_at, alternative_order_id, alt_id_unique, price_cents, renewal_of_order_id) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(o.account_id)
        .bind(o.container_id)
        .bind(o.user_id)
        .bind(&o.product_name_id)
        .bind(o.status.as_str())
        .bind(organization_id)
        .bind(&o.common_name)
        .bind(o.data.to_string())
        .bind(now)
        .bind(now)
        .bind(&o.payment.alternative_order_id)
        .bind(o.payment.unique_alternative_order_id())
        .bind(o.payment.price_cents)
        .bind(o.renewal_of_order_id)
        .fetch_one(&mut *tx)
        .await?;
        if let Some(amount) = o.payment.debit_cents {
            sqlx::query(
                "INSERT INTO balance_ledger (account_id, order_id, amount_cents, note, created_at) \
                 VALUES (?, ?, ?, 'order', ?)",
            )
            .bind(o.account_id)
            .bind(order_id)
            .bind(amount)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        if !o.names.is_empty() {
            let sql = format!(
                "INSERT INTO order_names (order_id, name) VALUES {}",
                vec!["(?, ?)"; o.names.len()].join(", ")
            );
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for n in &o.names {
                q = q.bind(order_id).bind(n);
            }
            q.execute(&mut *tx).await?;
        }
        for e in &o.emails {
            sqlx::query(
                "INSERT INTO order_emails (order_id, email, status, date_emailed, validated_at) VALUES (?, ?, ?, ?, ?) \
                 ON CONFLICT (order_id, email) DO NOTHING",
            )
            .bind(order_id)
            .bind(&e.email)
            .bind(e.status.as_str())
            .bind(format_opt_ts(e.date_emailed))
            .bind(format_opt_ts(e.validated_at))
            .execute(&mut *tx)
            .await?;
        }
        let c = &o.certificate;
        let certificate_id: i64 = sqlx::query_scalar(
            "INSERT INTO certificates (account_id, order_id, status, csr, spki_sha256, key_size, common_name, dns_names, \
             signature_hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(o.account_id)
        .bind(order_id)
        .bind(if o.reserve_serial.is_some() { "issuing" } else { "pending" })
        .bind(&c.csr)
        .bind(&c.spki_sha256)
        .bind(c.key_size)
        .bind(&c.common_name)
        .bind(serde_json::to_string(&c.dns_names)?)
        .bind(&c.signature_hash)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query("UPDATE orders SET certificate_id = ? WHERE id = ?")
            .bind(certificate_id)
            .bind(order_id)
            .execute(&mut *tx)
            .await?;
        if let Some(SerialReservation {
            ca_id,
            serial_hex: serial,
        }) = &o.reserve_serial
        {
            sqlx::query("INSERT INTO serials (ca_id, serial, certificate_id, created_at) VALUES (?, ?, ?, ?)")
                .bind(ca_id)
                .bind(serial)
                .bind(certificate_id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
        }
        let request_id = match &o.request {
            Some((status, comments)) => {
                let processed = if *status == RequestStatus::Approved {
                    Some(now.clone())
                } else {
                    None
                };
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO requests (account_id, order_id, type, status, requester_id, comments, date, date_processed) \
                     VALUES (?, ?, 'new_request', ?, ?, ?, ?, ?) RETURNING id",
                )
                .bind(o.account_id)
                .bind(order_id)
                .bind(status.as_str())
                .bind(o.user_id)
                .bind(comments)
                .bind(now)
                .bind(processed)
                .fetch_one(&mut *tx)
                .await?;
                Some(id)
            }
            None => None,
        };
        tx.commit().await?;
        Ok(CreatedOrder {
            order_id,
            organization_id: organization_id.unwrap_or(0),
            organization_created,
            request_id,
            certificate_id,
        })
    }

    pub(crate) async fn get_order(&self, account_id: i64, id: i64) -> Result<Option<Order>> {
        let row = sqlx::query("SELECT * FROM orders WHERE id = ? AND account_id = ?")
            .bind(id)
            .bind(account_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(order_row).transpose()
    }

    pub(crate) async fn renewal_order_of(
        &self,
        account_id: i64,
        order_id: i64,
    ) -> Result<Option<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT id FROM orders WHERE account_id = ? AND renewal_of_order_id = ? \
             AND status NOT IN ('canceled', 'rejected') ORDER BY id DESC LIMIT 1",
        )
        .bind(account_id)
        .bind(order_id)
        .fetch_optional(&self.pool)
        .await?)
    }

    pub(crate) async fn create_extra_certificate(
        &self,
        x: &NewExtraCertificate,
    ) -> Result<CreatedExtraCertificate> {
        let now = &format_ts(x.created_at);
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let status: Option<String> =
            sqlx::query_scalar("SELECT status FROM orders WHERE id = ? AND account_id = ?")
                .bind(x.order_id)
                .bind(x.account_id)
                .fetch_optional(&mut *tx)
                .await?;
        match status.as_deref() {
            None => return Err(StoreError::NotFound),
            Some("issued") => {}
            Some(other) => {
                return Err(Conflict::OrderNotIssued {
                    status: other.to_string(),
                }
                .into())
            }
        }
        let mut verdict = Verdict::default();
        verdict.blocked_key(&x.certificate.spki_sha256);
        if let Some(SerialReservation {
            ca_id,
            serial_hex: serial,
        }) = &x.reserve_serial
        {
            verdict.serial_in_use(ca_id, serial);
        }
        verdict.check(&mut tx).await?;
        if x.kind == CertificateKind::Reissue {
            sqlx::query(
                "UPDATE orders SET status = 'reissue_pending', updated_at = ? WHERE id = ?",
            )
            .bind(now)
            .bind(x.order_id)
            .execute(&mut *tx)
            .await?;
        }
        let request_id = match &x.request {
            Some((status, comments)) => {
                let processed = (*status == RequestStatus::Approved).then(|| now.clone());
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO requests (account_id, order_id, type, status, requester_id, comments, date, date_processed) \
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                )
                .bind(x.account_id)
                .bind(x.order_id)
                .bind(x.kind.as_str())
                .bind(status.as_str())
                .bind(x.user_id)
                .bind(comments)
                .bind(now)
                .bind(processed)
                .fetch_one(&mut *tx)
                .await?;
                Some(id)
            }
            None => None,
        };
        let c = &x.certificate;
        let status = match (&x.reserve_serial, x.approved) {
            (Some(_), _) => "issuing",
            (None, true) => "pending",
            (None, false) => "needs_approval",
        };
        let certificate_id: i64 = sqlx::query_scalar(
            "INSERT INTO certificates (account_id, order_id, status, csr, spki_sha256, key_size, common_name, dns_names, \
             signature_hash, created_at, kind, request_id, user_id, data) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(x.account_id)
        .bind(x.order_id)
        .bind(status)
        .bind(&c.csr)
        .bind(&c.spki_sha256)
        .bind(c.key_size)
        .bind(&c.common_name)
        .bind(serde_json::to_string(&c.dns_names)?)
        .bind(&c.signature_hash)
        .bind(now)
        .bind(x.kind.as_str())
        .bind(request_id)
        .bind(x.user_id)
        .bind(x.data.to_string())
        .fetch_one(&mut *tx)
        .await?;
        if let Some(SerialReservation {
            ca_id,
            serial_hex: serial,
        }) = &x.reserve_serial
        {
            sqlx::query("INSERT INTO serials (ca_id, serial, certificate_id, created_at) VALUES (?, ?, ?, ?)")
                .bind(ca_id)
                .bind(serial)
                .bind(certificate_id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(CreatedExtraCertificate {
            certificate_id,
            request_id,
        })
    }

    pub(crate) async fn cancel_reissue(
        &self,
        account_id: i64,
        order_id: i64,
        note: Option<&str>,
        at: OffsetDateTime,
    ) -> Result<bool> {
        let at = format_ts(at);
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let n = sqlx::query(
            "UPDATE orders SET status = 'issued', updated_at = ? WHERE id = ? AND account_id = ? \
             AND status = 'reissue_pending' \
             AND NOT EXISTS (SELECT 1 FROM certificates c WHERE c.order_id = orders.id AND c.status = 'issuing')",
        )
        .bind(&at)
        .bind(order_id)
        .bind(account_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n != 1 {
            return Ok(false);
        }
        let requests: Vec<Option<i64>> = sqlx::query_scalar(
            "UPDATE certificates SET status = 'canceled' WHERE order_id = ? AND kind = 'reissue' \
             AND status IN ('needs_approval', 'pending') RETURNING request_id",
        )
        .bind(order_id)
        .fetch_all(&mut *tx)
        .await?;
        for r in requests.into_iter().flatten() {
            sqlx::query(
                "UPDATE requests SET status = 'rejected', processor_comment = ?, date_processed = ? \
                 WHERE id = ? AND status IN ('pending', 'submitted', 'approved')",
            )
            .bind(note)
            .bind(&at)
            .bind(r)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    pub(crate) async fn order_emails(&self, order_id: i64) -> Result<Vec<OrderEmail>> {
        let rows = sqlx::query(
            "SELECT email, status, date_emailed, validated_at FROM order_emails WHERE order_id = ? ORDER BY rowid",
        )
        .bind(order_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(OrderEmail {
                    email: r.try_get("email")?,
                    status: name_col(r, "status", MailboxStatus::from_name)?,
                    date_emailed: opt_ts_col(r, "date_emailed")?,
                    validated_at: opt_ts_col(r, "validated_at")?,
                })
            })
            .collect()
    }

    pub(crate) async fn mark_order_email_sent(
        &self,
        order_id: i64,
        email: &str,
        at: OffsetDateTime,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE order_emails SET date_emailed = ? WHERE order_id = ? AND email = ? COLLATE NOCASE",
        )
        .bind(format_ts(at))
        .bind(order_id)
        .bind(email)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    pub(crate) async fn set_order_email_validated(
        &self,
        order_id: i64,
        email: &str,
        validated_at: OffsetDateTime,
    ) -> Result<()> {
        let validated_at = format_ts(validated_at);
        let n = sqlx::query(
            "UPDATE order_emails SET status = 'validated', validated_at = COALESCE(validated_at, ?) \
             WHERE order_id = ? AND email = ? COLLATE NOCASE",
        )
        .bind(&validated_at)
        .bind(order_id)
        .bind(email)
        .execute(&self.writer)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        sqlx::query("UPDATE orders SET updated_at = ? WHERE id = ?")
            .bind(&validated_at)
            .bind(order_id)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    pub(crate) async fn attach_csr(&self, a: &CsrAttachment) -> Result<()> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let blocked: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM blocked_keys WHERE spki_sha256 = ?)")
                .bind(&a.spki_sha256)
                .fetch_one(&mut *tx)
                .await?;
        if blocked {
            return Err(StoreError::BlockedKey);
        }
        let n = sqlx::query(
            "UPDATE certificates SET csr = ?, spki_sha256 = ?, key_size = ? \
             WHERE id = ? AND order_id = ? AND status = 'pending' AND csr = ''",
        )
        .bind(&a.csr)
        .bind(&a.spki_sha256)
        .bind(a.key_size)
        .bind(a.certificate_id)
        .bind(a.order_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n != 1 {
            return Err(Conflict::CsrAlreadyAttached.into());
        }
        sqlx::query(
            "UPDATE orders SET status = ?, updated_at = ? WHERE id = ? AND status IN ('needs_csr', 'waiting_pickup', 'needs_approval')",
        )
        .bind(a.order_status.as_str())
        .bind(format_ts(a.updated_at))
        .bind(a.order_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn find_order_by_certificate(
        &self,
        account_id: i64,
        key: &str,
    ) -> Result<Option<Order>> {
        let key = key.to_ascii_uppercase();
        let row = sqlx::query(
            "SELECT o.* FROM orders o JOIN certificates c ON c.id = o.certificate_id \
             WHERE o.account_id = ? AND (c.serial = ? OR c.thumbprint = ?) LIMIT 1",
        )
        .bind(account_id)
        .bind(&key)
        .bind(&key)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(order_row).transpose()
    }

    pub(crate) async fn list_orders(
        &self,
        account_id: i64,
        q: &OrderQuery,
    ) -> Result<(Vec<Order>, i64)> {
        enum B {
            I(i64),
            S(String),
        }
        let mut conds = vec!["o.account_id = ?".to_string()];
        let mut binds = vec![B::I(account_id)];
        if let Some(v) = q.id {
            conds.push("o.id = ?".into());
            binds.push(B::I(v));
        }
        if let Some(v) = &q.status {
            // "expired" is an issued order past its certificate's notAfter;
            // "issued" also matches those (vendor behaviour).
            if v == "expired" {
                conds.push(
                    "o.status = 'issued' AND (SELECT valid_till FROM certificates c WHERE c.id = o.certificate_id) < ?"
                        .into(),
                );
                binds.push(B::S(now_ts()));
            } else {
                conds.push("o.status = ?".into());
                binds.push(B::S(v.clone()));
            }
        }
        if let Some(v) = q.organization_id {
            conds.push("o.organization_id = ?".into());
            binds.push(B::I(v));
        }
        if !q.product_name_id.is_empty() {
            conds.push(format!(
                "o.product_name_id IN ({})",
                vec!["?"; q.product_name_id.len()].join(",")
            ));
            for p in &q.product_name_id {
                binds.push(B::S(p.clone()));
            }
        }
        if let Some(v) = q.user_id {
            conds.push("o.user_id = ?".into());
            binds.push(B::I(v));
        }
        if let Some(v) = &q.common_name {
            // TLS names are stored in lower case; S/MIME names keep theirs.
            conds.push("o.common_name = ? COLLATE NOCASE".into());
            binds.push(B::S(v.clone()));
        }
        if let Some(v) = &q.email {
            conds.push(
                "EXISTS (SELECT 1 FROM order_names n WHERE n.order_id = o.id AND n.name = ? COLLATE NOCASE)"
                    .into(),
            );
            binds.push(B::S(v.clone()));
        }
        if let Some(v) = &q.domain_name {
            conds.push(
                "EXISTS (SELECT 1 FROM order_names n WHERE n.order_id = o.id AND n.name = ?)"
                    .into(),
            );
            binds.push(B::S(v.to_ascii_lowercase()));
        }
        if let Some(v) = q.container_id {
            conds.push("o.container_id = ?".into());
            binds.push(B::I(v));
        }
        if let Some(ids) = &q.container_ids {
            if ids.is_empty() {
                conds.push("0".into());
            } else {
                conds.push(format!(
                    "o.container_id IN ({})",
                    vec!["?"; ids.len()].join(",")
                ));
                binds.extend(ids.iter().map(|i| B::I(*i)));
            }
        }
        if let Some(v) = q.is_renewed {
            conds.push(format!(
                "{}EXISTS (SELECT 1 FROM orders r WHERE r.renewal_of_order_id = o.id \
                 AND r.status NOT IN ('canceled', 'rejected'))",
                if v { "" } else { "NOT " }
            ));
        }
        if let Some(v) = q.certificate_id {
            conds.push("o.certificate_id = ?".into());
            binds.push(B::I(v));
        }
        if let Some(v) = &q.serial_number {
            conds.push(
                "EXISTS (SELECT 1 FROM certificates c WHERE c.order_id = o.id AND c.serial = ?)"
                    .into(),
            );
            binds.push(B::S(v.to_ascii_uppercase()));
        }
        if let Some((v, contains)) = &q.search {
            if *contains {
                conds.push("o.common_name LIKE ? ESCAPE '\\'".into());
                let esc = v
                    .replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_");
                binds.push(B::S(format!("%{}%", esc.to_ascii_lowercase())));
            } else {
                conds.push("o.common_name = ? COLLATE NOCASE".into());
                binds.push(B::S(v.clone()));
            }
        }
        let mut order_by: Vec<String> = q
            .sort
            .iter()
            .map(|s| {
                let column = order_sort_column(s.key);
                format!("{column} {}", if s.descending { "DESC" } else { "ASC" })
            })
            .collect();
        order_by.push("o.id ASC".into());
        let where_sql = conds.join(" AND ");
        let count_sql = format!("SELECT COUNT(*) FROM orders o WHERE {where_sql}");
        let list_sql = format!(
            "SELECT o.* FROM orders o WHERE {where_sql} ORDER BY {} LIMIT ? OFFSET ?",
            order_by.join(", ")
        );
        let mut count = sqlx::query_scalar::<_, i64>(AssertSqlSafe(count_sql));
        let mut list = sqlx::query(AssertSqlSafe(list_sql));
        for b in &binds {
            match b {
                B::I(i) => {
                    count = count.bind(*i);
                    list = list.bind(*i);
                }
                B::S(s) => {
                    count = count.bind(s.clone());
                    list = list.bind(s.clone());
                }
            }
        }
        let total = count.fetch_one(&self.pool).await?;
        let rows = list
            .bind(q.limit)
            .bind(q.offset)
            .fetch_all(&self.pool)
            .await?;
        Ok((rows.iter().map(order_row).collect::<Result<_>>()?, total))
    }

    pub(crate) async fn order_status_changes(
        &self,
        account_id: i64,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> Result<Vec<(i64, Option<i64>, String)>> {
        let rows = sqlx::query(
            "SELECT id, certificate_id, status FROM orders WHERE account_id = ? AND updated_at >= ? AND updated_at <= ? \
             ORDER BY updated_at, id LIMIT 10000",
        )
        .bind(account_id)
        .bind(format_ts(from))
        .bind(format_ts(to))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
            .collect()
    }

    pub(crate) async fn set_order_status(
        &self,
        account_id: i64,
        order_id: i64,
        from: &[OrderStatus],
        to: OrderStatus,
    ) -> Result<bool> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let cur: Option<String> =
            sqlx::query_scalar("SELECT status FROM orders WHERE id = ? AND account_id = ?")
                .bind(order_id)
                .bind(account_id)
                .fetch_optional(&mut *tx)
                .await?;
        let Some(cur) = cur else {
            return Err(StoreError::NotFound);
        };
        if !from.iter().any(|s| s.as_str() == cur) {
            return Ok(false);
        }
        let issuing: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM certificates WHERE order_id = ? AND status = 'issuing'",
        )
        .bind(order_id)
        .fetch_one(&mut *tx)
        .await?;
        if issuing > 0 {
            return Ok(false);
        }
        let now = now_ts();
        sqlx::query("UPDATE orders SET status = ?, updated_at = ? WHERE id = ?")
            .bind(to.as_str())
            .bind(&now)
            .bind(order_id)
            .execute(&mut *tx)
            .await?;
        if to == OrderStatus::Canceled {
            sqlx::query(
                "UPDATE requests SET status = 'rejected', date_processed = ? WHERE order_id = ? AND status IN ('pending','submitted')",
            )
            .bind(&now)
            .bind(order_id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(true)
    }
}
