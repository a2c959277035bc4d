//! Orders: creation (with organization, domains, request, certificate and serial in one transaction), reissues and duplicates, mailbox addresses, lists.
//!
//! SQLite serializes every writer; here transactions run concurrently (and
//! several certwell instances share the database), so each check-then-write
//! takes the row lock its check depends on first: the account row before
//! the balance and unique alternative order id checks, the order row before
//! a status change. A serial is recorded with `ON CONFLICT DO NOTHING`,
//! which waits for a concurrent transaction recording the same one and
//! then reports it as [`Conflict::SerialInUse`].

use serde_json::Value;
use sqlx::postgres::{PgConnection, PgRow};
use sqlx::types::Json;
use sqlx::{AssertSqlSafe, Row};
use time::OffsetDateTime;

use super::domains::insert_domain_tx;
use super::organizations::insert_org_tx;
use super::{name_col, now, whole_seconds, PgStore};
use crate::changes::Aggregate;
use crate::records::*;
use crate::{Conflict, Result, StoreError};

fn order_row(r: &PgRow) -> Result<Order> {
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
        data: r.try_get::<Json<Value>, _>("data")?.0,
        created_at: whole_seconds(r.try_get("created_at")?),
        updated_at: whole_seconds(r.try_get("updated_at")?),
    })
}

/// SQL: `expr` with ASCII letters folded to lower case and nothing else
/// (SQLite's `NOCASE` and `LIKE` fold ASCII only; `lower` under the "C"
/// collation does the same, whatever the database's locale).
fn ascii_lower(expr: &str) -> String {
    format!("lower(({expr}) COLLATE \"C\")")
}

/// The SQL a sort key orders by. Text compares byte-wise (the "C"
/// collation), as SQLite's default BINARY collation does, not by the
/// database's locale.
fn order_sort_column(key: OrderSortKey) -> &'static str {
    match key {
        OrderSortKey::Id => "o.id",
        OrderSortKey::DateCreated => "o.created_at",
        OrderSortKey::CommonName => "o.common_name COLLATE \"C\"",
        OrderSortKey::Status => "o.status COLLATE \"C\"",
        OrderSortKey::ProductName => "o.product_name_id COLLATE \"C\"",
        OrderSortKey::ValidTill => {
            "(SELECT valid_till FROM certificates c WHERE c.id = o.certificate_id)"
        }
    }
}

/// The checks of a new order, in the order SQLite reports them (see
/// `sqlite/rules.rs`): a duplicate unique alternative order id, then
/// insufficient funds, a blocked key, a serial used before. Nothing has
/// been written yet when one fails.
///
/// The balance and alternative-id checks hold the account row's lock for
/// the rest of the transaction, so that concurrent orders of the account
/// (from any instance) are checked and written one after the other. The
/// lock is `FOR NO KEY UPDATE`: it excludes the other checkers and the
/// balance ledger's `UPDATE accounts`, but not the key-share locks that
/// inserts referencing the account take, so orders without a debit or a
/// unique id do not wait for it.
async fn check_order(tx: &mut PgConnection, o: &NewOrder) -> Result<()> {
    let alt_id = o.payment.unique_alternative_order_id();
    // Adding domains also serializes on the account: two orders adding the
    // same domains in a different order would otherwise deadlock on the
    // unique index.
    if alt_id.is_some() || o.payment.debit_cents.is_some() || !o.new_domains.is_empty() {
        let account = sqlx::query(
            "SELECT balance_cents, negative_limit_cents, unlimited_negative FROM accounts \
             WHERE id = $1 FOR NO KEY UPDATE",
        )
        .bind(o.account_id)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(alt_id) = &alt_id {
            let taken: bool = sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM orders WHERE account_id = $1 AND alt_id_unique = $2)",
            )
            .bind(o.account_id)
            .bind(alt_id)
            .fetch_one(&mut *tx)
            .await?;
            if taken {
                return Err(StoreError::DuplicateAlternativeOrderId);
            }
        }
        if let (Some(amount), Some(a)) = (o.payment.debit_cents, &account) {
            let balance: i64 = a.try_get("balance_cents")?;
            let limit: i64 = a.try_get("negative_limit_cents")?;
            let unlimited: bool = a.try_get("unlimited_negative")?;
            if amount > 0 && !unlimited && balance - amount < -limit {
                return Err(StoreError::InsufficientFunds);
            }
        }
    }
    let serial = o.reserve_serial.as_ref();
    let row = sqlx::query(
        "SELECT EXISTS (SELECT 1 FROM blocked_keys WHERE spki_sha256 = $1), \
         EXISTS (SELECT 1 FROM serials WHERE ca_id = $2 AND serial = $3)",
    )
    .bind(&o.certificate.spki_sha256)
    .bind(serial.map(|s| &s.ca_id))
    .bind(serial.map(|s| &s.serial_hex))
    .fetch_one(&mut *tx)
    .await?;
    if row.try_get::<bool, _>(0)? {
        return Err(StoreError::BlockedKey);
    }
    if row.try_get::<bool, _>(1)? {
        return Err(Conflict::SerialInUse.into());
    }
    Ok(())
}

/// The checks of a reissue or duplicate: a blocked key, a serial used
/// before.
async fn check_extra_certificate(tx: &mut PgConnection, x: &NewExtraCertificate) -> Result<()> {
    let serial = x.reserve_serial.as_ref();
    let row = sqlx::query(
        "SELECT EXISTS (SELECT 1 FROM blocked_keys WHERE spki_sha256 = $1), \
         EXISTS (SELECT 1 FROM serials WHERE ca_id = $2 AND serial = $3)",
    )
    .bind(&x.certificate.spki_sha256)
    .bind(serial.map(|s| &s.ca_id))
    .bind(serial.map(|s| &s.serial_hex))
    .fetch_one(&mut *tx)
    .await?;
    if row.try_get::<bool, _>(0)? {
        return Err(StoreError::BlockedKey);
    }
    if row.try_get::<bool, _>(1)? {
        return Err(Conflict::SerialInUse.into());
    }
    Ok(())
}

/// Records `serial` for `certificate_id`. A serial recorded before (or by
/// a concurrent transaction that commits) is [`Conflict::SerialInUse`].
async fn insert_serial(
    tx: &mut PgConnection,
    serial: &SerialReservation,
    certificate_id: i64,
    now: OffsetDateTime,
) -> Result<()> {
    let inserted: Option<i32> = sqlx::query_scalar(
        "INSERT INTO serials (ca_id, serial, certificate_id, created_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (ca_id, serial) DO NOTHING RETURNING 1",
    )
    .bind(&serial.ca_id)
    .bind(&serial.serial_hex)
    .bind(certificate_id)
    .bind(now)
    .fetch_optional(&mut *tx)
    .await?;
    match inserted {
        Some(_) => Ok(()),
        None => Err(Conflict::SerialInUse.into()),
    }
}

/// A request of an order (`new_request`, `reissue`, `duplicate`).
async fn insert_request(
    tx: &mut PgConnection,
    account_id: i64,
    order_id: i64,
    kind: &str,
    (status, comments): &(RequestStatus, Option<String>),
    requester_id: i64,
    now: OffsetDateTime,
) -> Result<i64> {
    let processed = (*status == RequestStatus::Approved).then_some(now);
    Ok(sqlx::query_scalar(
        "INSERT INTO requests (account_id, order_id, type, status, requester_id, comments, date, date_processed) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(account_id)
    .bind(order_id)
    .bind(kind)
    .bind(status.as_str())
    .bind(requester_id)
    .bind(comments)
    .bind(now)
    .bind(processed)
    .fetch_one(&mut *tx)
    .await?)
}

/// A value bound to a dynamically built statement.
enum Bind {
    I(i64),
    S(String),
    T(OffsetDateTime),
    Is(Vec<i64>),
    Ss(Vec<String>),
}

/// Conditions of a dynamically built statement and their binds.
#[derive(Default)]
struct Conditions {
    conds: Vec<String>,
    binds: Vec<Bind>,
}

impl Conditions {
    /// Binds `b`; its placeholder.
    fn bind(&mut self, b: Bind) -> String {
        self.binds.push(b);
        format!("${}", self.binds.len())
    }

    /// Adds `cond(placeholder)` with `b` bound to the placeholder.
    fn push(&mut self, b: Bind, cond: impl FnOnce(&str) -> String) {
        let p = self.bind(b);
        self.conds.push(cond(&p));
    }

    fn bind_all<'q>(
        &self,
        mut q: sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
    ) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
        for b in &self.binds {
            q = match b {
                Bind::I(v) => q.bind(*v),
                Bind::S(v) => q.bind(v.clone()),
                Bind::T(v) => q.bind(*v),
                Bind::Is(v) => q.bind(v.clone()),
                Bind::Ss(v) => q.bind(v.clone()),
            };
        }
        q
    }
}

impl PgStore {
    pub(crate) async fn create_order(&self, o: &NewOrder) -> Result<CreatedOrder> {
        // A pre-signed certificate is stored with an order for an existing
        // organization that adds nothing else (SQLite's one-trip path).
        if o.issued.is_some()
            && !(matches!(o.organization, OrgForOrder::Existing(_))
                && o.new_domains.is_empty()
                && o.emails.is_empty())
        {
            return Err(Conflict::PreSignedNeedsExistingOrganization.into());
        }
        let now = whole_seconds(o.created_at);
        let mut tx = self.pool.begin().await?;
        check_order(&mut tx, o).await?;
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
        // Signed already: stored issued at once.
        let status = if o.issued.is_some() {
            OrderStatus::Issued
        } else {
            o.status
        };
        let order_id: i64 = sqlx::query_scalar(
            "INSERT INTO orders (account_id, container_id, user_id, product_name_id, status, organization_id, \
             common_name, data, created_at, updated_at, alternative_order_id, alt_id_unique, price_cents, \
             renewal_of_order_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10, $11, $12, $13) RETURNING id",
        )
        .bind(o.account_id)
        .bind(o.container_id)
        .bind(o.user_id)
        .bind(&o.product_name_id)
        .bind(status.as_str())
        .bind(organization_id)
        .bind(&o.common_name)
        .bind(Json(&o.data))
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
                 VALUES ($1, $2, $3, 'order', $4)",
            )
            .bind(o.account_id)
            .bind(order_id)
            .bind(amount)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        if !o.names.is_empty() {
            sqlx::query(
                "INSERT INTO order_names (order_id, name) \
                 SELECT $1, name FROM unnest($2::text[]) WITH ORDINALITY AS n(name, i) ORDER BY i",
            )
            .bind(order_id)
            .bind(&o.names)
            .execute(&mut *tx)
            .await?;
        }
        for e in &o.emails {
            sqlx::query(
                "INSERT INTO order_emails (order_id, email, status, date_emailed, validated_at) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (order_id, email) DO NOTHING",
            )
            .bind(order_id)
            .bind(&e.email)
            .bind(e.status.as_str())
            .bind(e.date_emailed.map(whole_seconds))
            .bind(e.validated_at.map(whole_seconds))
            .execute(&mut *tx)
            .await?;
        }
        let c = &o.certificate;
        let certificate_id: i64 = match &o.issued {
            Some(p) => {
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO certificates (account_id, order_id, status, csr, spki_sha256, key_size, common_name, \
                     dns_names, signature_hash, created_at, ca_id, serial, thumbprint, der, valid_from, valid_till, \
                     date_issued) \
                     VALUES ($1, $2, 'issued', $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $9) \
                     RETURNING id",
                )
                .bind(o.account_id)
                .bind(order_id)
                .bind(&c.csr)
                .bind(&c.spki_sha256)
                .bind(c.key_size)
                .bind(&c.common_name)
                .bind(Json(&c.dns_names))
                .bind(&c.signature_hash)
                .bind(now)
                .bind(&p.ca_id)
                .bind(&p.serial_hex)
                .bind(&p.thumbprint)
                .bind(&p.der)
                .bind(whole_seconds(p.valid_from))
                .bind(whole_seconds(p.valid_till))
                .fetch_one(&mut *tx)
                .await?;
                // The serial was recorded (unattached) before signing; the
                // row lock makes a concurrent attach of it wait and miss.
                let attached = sqlx::query(
                    "UPDATE serials SET certificate_id = $1 WHERE ca_id = $2 AND serial = $3 \
                     AND certificate_id IS NULL",
                )
                .bind(id)
                .bind(&p.ca_id)
                .bind(&p.serial_hex)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if attached != 1 {
                    // Rolled back: nothing of the order is kept.
                    return Err(StoreError::Corrupt(
                        "an order came with a serial that was not reserved".into(),
                    ));
                }
                id
            }
            None => {
                sqlx::query_scalar(
                    "INSERT INTO certificates (account_id, order_id, status, csr, spki_sha256, key_size, common_name, \
                     dns_names, signature_hash, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
                )
                .bind(o.account_id)
                .bind(order_id)
                .bind(if o.reserve_serial.is_some() {
                    "issuing"
                } else {
                    "pending"
                })
                .bind(&c.csr)
                .bind(&c.spki_sha256)
                .bind(c.key_size)
                .bind(&c.common_name)
                .bind(Json(&c.dns_names))
                .bind(&c.signature_hash)
                .bind(now)
                .fetch_one(&mut *tx)
                .await?
            }
        };
        sqlx::query("UPDATE orders SET certificate_id = $1 WHERE id = $2")
            .bind(certificate_id)
            .bind(order_id)
            .execute(&mut *tx)
            .await?;
        if let Some(serial) = &o.reserve_serial {
            insert_serial(&mut tx, serial, certificate_id, now).await?;
        }
        let request_id = match &o.request {
            Some(r) => Some(
                insert_request(
                    &mut tx,
                    o.account_id,
                    order_id,
                    "new_request",
                    r,
                    o.user_id,
                    now,
                )
                .await?,
            ),
            None => None,
        };
        tx.commit().await?;
        if organization_created || !o.new_domains.is_empty() {
            self.changed(Aggregate::Organizations);
        }
        if o.payment.debit_cents.is_some() {
            // The ledger's trigger moved the account's balance.
            self.changed(Aggregate::Accounts);
        }
        Ok(CreatedOrder {
            order_id,
            organization_id: organization_id.unwrap_or(0),
            organization_created,
            request_id,
            certificate_id,
        })
    }

    pub(crate) async fn get_order(&self, account_id: i64, id: i64) -> Result<Option<Order>> {
        let row = sqlx::query("SELECT * FROM orders WHERE id = $1 AND account_id = $2")
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
            "SELECT id FROM orders WHERE account_id = $1 AND renewal_of_order_id = $2 \
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
        let now = whole_seconds(x.created_at);
        let mut tx = self.pool.begin().await?;
        // The order's row lock: its status is checked and moved by one
        // transaction at a time.
        let status: Option<String> = sqlx::query_scalar(
            "SELECT status FROM orders WHERE id = $1 AND account_id = $2 FOR NO KEY UPDATE",
        )
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
        check_extra_certificate(&mut tx, x).await?;
        if x.kind == CertificateKind::Reissue {
            sqlx::query(
                "UPDATE orders SET status = 'reissue_pending', updated_at = $1 WHERE id = $2",
            )
            .bind(now)
            .bind(x.order_id)
            .execute(&mut *tx)
            .await?;
        }
        let request_id = match &x.request {
            Some(r) => Some(
                insert_request(
                    &mut tx,
                    x.account_id,
                    x.order_id,
                    x.kind.as_str(),
                    r,
                    x.user_id,
                    now,
                )
                .await?,
            ),
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
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id",
        )
        .bind(x.account_id)
        .bind(x.order_id)
        .bind(status)
        .bind(&c.csr)
        .bind(&c.spki_sha256)
        .bind(c.key_size)
        .bind(&c.common_name)
        .bind(Json(&c.dns_names))
        .bind(&c.signature_hash)
        .bind(now)
        .bind(x.kind.as_str())
        .bind(request_id)
        .bind(x.user_id)
        .bind(Json(&x.data))
        .fetch_one(&mut *tx)
        .await?;
        if let Some(serial) = &x.reserve_serial {
            insert_serial(&mut tx, serial, certificate_id, now).await?;
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
        let at = whole_seconds(at);
        let mut tx = self.pool.begin().await?;
        // The order's row lock first (a claim of its certificates holds a
        // share lock on it): the statement below then sees whether a
        // certificate is being issued as of now, not as of before the wait.
        sqlx::query("SELECT 1 FROM orders WHERE id = $1 AND account_id = $2 FOR NO KEY UPDATE")
            .bind(order_id)
            .bind(account_id)
            .fetch_optional(&mut *tx)
            .await?;
        let n = sqlx::query(
            "UPDATE orders SET status = 'issued', updated_at = $1 WHERE id = $2 AND account_id = $3 \
             AND status = 'reissue_pending' \
             AND NOT EXISTS (SELECT 1 FROM certificates c WHERE c.order_id = orders.id AND c.status = 'issuing')",
        )
        .bind(at)
        .bind(order_id)
        .bind(account_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n != 1 {
            return Ok(false);
        }
        let requests: Vec<Option<i64>> = sqlx::query_scalar(
            "UPDATE certificates SET status = 'canceled' WHERE order_id = $1 AND kind = 'reissue' \
             AND status IN ('needs_approval', 'pending') RETURNING request_id",
        )
        .bind(order_id)
        .fetch_all(&mut *tx)
        .await?;
        let requests: Vec<i64> = requests.into_iter().flatten().collect();
        if !requests.is_empty() {
            sqlx::query(
                "UPDATE requests SET status = 'rejected', processor_comment = $1, date_processed = $2 \
                 WHERE id = ANY($3) AND status IN ('pending', 'submitted', 'approved')",
            )
            .bind(note)
            .bind(at)
            .bind(&requests)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    pub(crate) async fn order_emails(&self, order_id: i64) -> Result<Vec<OrderEmail>> {
        // In the order they were given in (SQLite: rowid).
        let rows = sqlx::query(
            "SELECT email, status, date_emailed, validated_at FROM order_emails WHERE order_id = $1 \
             ORDER BY seq",
        )
        .bind(order_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(OrderEmail {
                    email: r.try_get("email")?,
                    status: name_col(r, "status", MailboxStatus::from_name)?,
                    date_emailed: r
                        .try_get::<Option<OffsetDateTime>, _>("date_emailed")?
                        .map(whole_seconds),
                    validated_at: r
                        .try_get::<Option<OffsetDateTime>, _>("validated_at")?
                        .map(whole_seconds),
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
        sqlx::query(AssertSqlSafe(format!(
            "UPDATE order_emails SET date_emailed = $1 WHERE order_id = $2 AND {} = {}",
            ascii_lower("email"),
            ascii_lower("$3::text")
        )))
        .bind(whole_seconds(at))
        .bind(order_id)
        .bind(email)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub(crate) async fn set_order_email_validated(
        &self,
        order_id: i64,
        email: &str,
        validated_at: OffsetDateTime,
    ) -> Result<()> {
        let validated_at = whole_seconds(validated_at);
        let mut tx = self.pool.begin().await?;
        let n = sqlx::query(AssertSqlSafe(format!(
            "UPDATE order_emails SET status = 'validated', validated_at = COALESCE(validated_at, $1) \
             WHERE order_id = $2 AND {} = {}",
            ascii_lower("email"),
            ascii_lower("$3::text")
        )))
        .bind(validated_at)
        .bind(order_id)
        .bind(email)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        sqlx::query("UPDATE orders SET updated_at = $1 WHERE id = $2")
            .bind(validated_at)
            .bind(order_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn attach_csr(&self, a: &CsrAttachment) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        // The order row first, as every writer of both tables does: a CSR
        // arriving while a request is processed waits for it.
        sqlx::query("SELECT 1 FROM orders WHERE id = $1 FOR UPDATE")
            .bind(a.order_id)
            .execute(&mut *tx)
            .await?;
        let blocked: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM blocked_keys WHERE spki_sha256 = $1)")
                .bind(&a.spki_sha256)
                .fetch_one(&mut *tx)
                .await?;
        if blocked {
            return Err(StoreError::BlockedKey);
        }
        let n = sqlx::query(
            "UPDATE certificates SET csr = $1, spki_sha256 = $2, key_size = $3 \
             WHERE id = $4 AND order_id = $5 AND status = 'pending' AND csr = ''",
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
            "UPDATE orders SET status = $1, updated_at = $2 WHERE id = $3 \
             AND status IN ('needs_csr', 'waiting_pickup', 'needs_approval')",
        )
        .bind(a.order_status.as_str())
        .bind(whole_seconds(a.updated_at))
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
             WHERE o.account_id = $1 AND (c.serial = $2 OR c.thumbprint = $2) ORDER BY o.id LIMIT 1",
        )
        .bind(account_id)
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
        let mut w = Conditions::default();
        w.push(Bind::I(account_id), |p| format!("o.account_id = {p}"));
        if let Some(v) = q.id {
            w.push(Bind::I(v), |p| format!("o.id = {p}"));
        }
        if let Some(v) = &q.status {
            // "expired" is an issued order past its certificate's notAfter;
            // "issued" also matches those (vendor behaviour).
            if v == "expired" {
                w.push(Bind::T(now()), |p| {
                    format!(
                        "o.status = 'issued' AND (SELECT valid_till FROM certificates c \
                         WHERE c.id = o.certificate_id) < {p}"
                    )
                });
            } else {
                w.push(Bind::S(v.clone()), |p| format!("o.status = {p}"));
            }
        }
        if let Some(v) = q.organization_id {
            w.push(Bind::I(v), |p| format!("o.organization_id = {p}"));
        }
        if !q.product_name_id.is_empty() {
            w.push(Bind::Ss(q.product_name_id.clone()), |p| {
                format!("o.product_name_id = ANY({p}::text[])")
            });
        }
        if let Some(v) = q.user_id {
            w.push(Bind::I(v), |p| format!("o.user_id = {p}"));
        }
        if let Some(v) = &q.common_name {
            // TLS names are stored in lower case; S/MIME names keep theirs.
            w.push(Bind::S(v.clone()), |p| {
                format!(
                    "{} = {}",
                    ascii_lower("o.common_name"),
                    ascii_lower(&format!("{p}::text"))
                )
            });
        }
        if let Some(v) = &q.email {
            w.push(Bind::S(v.clone()), |p| {
                format!(
                    "EXISTS (SELECT 1 FROM order_names n WHERE n.order_id = o.id AND {} = {})",
                    ascii_lower("n.name"),
                    ascii_lower(&format!("{p}::text"))
                )
            });
        }
        if let Some(v) = &q.domain_name {
            w.push(Bind::S(v.to_ascii_lowercase()), |p| {
                format!(
                    "EXISTS (SELECT 1 FROM order_names n WHERE n.order_id = o.id AND n.name = {p})"
                )
            });
        }
        if let Some(v) = q.container_id {
            w.push(Bind::I(v), |p| format!("o.container_id = {p}"));
        }
        if let Some(ids) = &q.container_ids {
            // An empty scope matches nothing.
            w.push(Bind::Is(ids.clone()), |p| {
                format!("o.container_id = ANY({p}::bigint[])")
            });
        }
        if let Some(v) = q.is_renewed {
            w.conds.push(format!(
                "{}EXISTS (SELECT 1 FROM orders r WHERE r.renewal_of_order_id = o.id \
                 AND r.status NOT IN ('canceled', 'rejected'))",
                if v { "" } else { "NOT " }
            ));
        }
        if let Some(v) = q.certificate_id {
            w.push(Bind::I(v), |p| format!("o.certificate_id = {p}"));
        }
        if let Some(v) = &q.serial_number {
            w.push(Bind::S(v.to_ascii_uppercase()), |p| {
                format!(
                    "EXISTS (SELECT 1 FROM certificates c WHERE c.order_id = o.id AND c.serial = {p})"
                )
            });
        }
        if let Some((v, contains)) = &q.search {
            if *contains {
                // SQLite's LIKE ignores the case of ASCII letters.
                let esc = v
                    .replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_");
                w.push(Bind::S(format!("%{}%", esc.to_ascii_lowercase())), |p| {
                    format!("{} LIKE {p} ESCAPE '\\'", ascii_lower("o.common_name"))
                });
            } else {
                w.push(Bind::S(v.clone()), |p| {
                    format!(
                        "{} = {}",
                        ascii_lower("o.common_name"),
                        ascii_lower(&format!("{p}::text"))
                    )
                });
            }
        }
        // SQLite sorts NULL (an order without a valid_till) first going up
        // and last going down.
        let mut order_by: Vec<String> = q
            .sort
            .iter()
            .map(|s| {
                let column = order_sort_column(s.key);
                if s.descending {
                    format!("{column} DESC NULLS LAST")
                } else {
                    format!("{column} ASC NULLS FIRST")
                }
            })
            .collect();
        order_by.push("o.id ASC".into());
        let where_sql = w.conds.join(" AND ");
        let count_sql = format!("SELECT COUNT(*) FROM orders o WHERE {where_sql}");
        let n = w.binds.len();
        let list_sql = format!(
            "SELECT o.* FROM orders o WHERE {where_sql} ORDER BY {} LIMIT ${} OFFSET ${}",
            order_by.join(", "),
            n + 1,
            n + 2
        );
        let total: i64 = w
            .bind_all(sqlx::query(AssertSqlSafe(count_sql)))
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?;
        // SQLite: a negative limit is no limit, a negative offset none.
        let rows = w
            .bind_all(sqlx::query(AssertSqlSafe(list_sql)))
            .bind((q.limit >= 0).then_some(q.limit))
            .bind(q.offset.max(0))
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
            "SELECT id, certificate_id, status FROM orders WHERE account_id = $1 \
             AND updated_at >= $2 AND updated_at <= $3 ORDER BY updated_at, id LIMIT 10000",
        )
        .bind(account_id)
        .bind(whole_seconds(from))
        .bind(whole_seconds(to))
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
        let mut tx = self.pool.begin().await?;
        let cur: Option<String> = sqlx::query_scalar(
            "SELECT status FROM orders WHERE id = $1 AND account_id = $2 FOR NO KEY UPDATE",
        )
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
        let issuing: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM certificates WHERE order_id = $1 AND status = 'issuing')",
        )
        .bind(order_id)
        .fetch_one(&mut *tx)
        .await?;
        if issuing {
            return Ok(false);
        }
        let now = now();
        sqlx::query("UPDATE orders SET status = $1, updated_at = $2 WHERE id = $3")
            .bind(to.as_str())
            .bind(now)
            .bind(order_id)
            .execute(&mut *tx)
            .await?;
        if to == OrderStatus::Canceled {
            sqlx::query(
                "UPDATE requests SET status = 'rejected', date_processed = $1 \
                 WHERE order_id = $2 AND status IN ('pending', 'submitted')",
            )
            .bind(now)
            .bind(order_id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(true)
    }
}
