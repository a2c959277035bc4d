//! Validation email through the store's outbox: a change that asks for
//! email records it (right after its own commit), and the mailer of any
//! one instance sends it — each message claimed for a while, so that
//! another instance takes it over if the sender dies, and tried again with
//! a growing delay while the SMTP relay does not take it (an outage delays
//! email; it does not lose it).

use std::sync::Arc;

use certwell_store::{DcvMethod, Domain, MailTarget, NewMail, OutboxMail};
use time::Duration;

use crate::clock::now;
use crate::error::Result;
use crate::service::validation;
use crate::state::AppState;

/// Messages claimed at a time.
const BATCH: i64 = 8;
/// How long a claimed message is held from other mailers (a batch's
/// sending, each message bounded by the relay timeout of 20 s per address).
const HOLD: Duration = Duration::minutes(10);
/// The mailer looks for due messages this often when nothing wakes it
/// (or every `smtp.retry_seconds`, if that is shorter).
const TICK: std::time::Duration = std::time::Duration::from_secs(15);
/// Attempts before a message is given up.
const MAX_ATTEMPTS: i64 = 10;

/// Queues the DCV email of each domain.
pub async fn queue_domain_emails(state: &AppState, domains: &[&Domain]) -> Result<()> {
    queue(
        state,
        domains
            .iter()
            .map(|d| NewMail {
                account_id: d.account_id,
                target: MailTarget::DomainDcv { domain_id: d.id },
            })
            .collect(),
    )
    .await
}

/// Queues the validation email of each mailbox of an order.
pub async fn queue_mailbox_emails(
    state: &AppState,
    account_id: i64,
    order_id: i64,
    emails: &[String],
) -> Result<()> {
    queue(
        state,
        emails
            .iter()
            .map(|e| NewMail {
                account_id,
                target: MailTarget::Mailbox {
                    order_id,
                    email: e.clone(),
                },
            })
            .collect(),
    )
    .await
}

async fn queue(state: &AppState, mails: Vec<NewMail>) -> Result<()> {
    if mails.is_empty() {
        return Ok(());
    }
    if !state.mailer.configured() {
        tracing::warn!(
            count = mails.len(),
            "no SMTP relay (smtp.host): validation email not sent"
        );
        return Ok(());
    }
    state.store.enqueue_mail(&mails).await?;
    state.wake_mail.notify_one();
    Ok(())
}

/// The mailer: sends due messages of the outbox, woken when some are
/// queued and on a timer (retries, other instances' messages).
pub async fn run_mailer(state: Arc<AppState>, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    let tick = TICK.min(std::time::Duration::from_secs(
        state.config.smtp.retry_seconds.max(1),
    ));
    loop {
        tokio::select! {
            _ = tokio::time::sleep(tick) => {}
            _ = state.wake_mail.notified() => {}
            _ = shutdown.changed() => return,
        }
        state.metrics.job_run("mailer");
        if !state.mailer.configured() {
            continue;
        }
        loop {
            let n = now();
            let due = match state.store.claim_due_mail(n, BATCH, n + HOLD).await {
                Ok(d) => d,
                Err(e) => {
                    tracing::warn!(error = %e, "mailer: the outbox could not be read");
                    break;
                }
            };
            if due.is_empty() {
                break;
            }
            for m in due {
                // Shutdown cuts a send short: the message stays claimed
                // until its hold passes, then a mailer sends it again.
                tokio::select! {
                    _ = deliver(&state, &m) => {}
                    _ = shutdown.changed() => return,
                }
            }
        }
    }
}

/// Sends one message and records the outcome.
async fn deliver(state: &AppState, m: &OutboxMail) {
    let outcome = match &m.target {
        MailTarget::DomainDcv { domain_id } => send_domain(state, *domain_id).await,
        MailTarget::Mailbox { order_id, email } => {
            match validation::send_mailbox_email(state, m.account_id, *order_id, email).await {
                Ok(true) => Ok(()),
                Ok(false) => Err("the relay did not take the message".to_string()),
                Err(e) => Err(e.message),
            }
        }
    };
    state.metrics.email(outcome.is_ok());
    let recorded = match outcome {
        Ok(()) => state.store.mail_sent(m.id, now()).await,
        Err(why) => {
            let attempts = m.attempts + 1;
            let retry_at = (attempts < MAX_ATTEMPTS).then(|| now() + retry_delay(state, attempts));
            if retry_at.is_none() {
                tracing::warn!(mail = m.id, error = %why, "validation email given up after {attempts} attempts");
            }
            state.store.mail_failed(m.id, &why, retry_at).await
        }
    };
    if let Err(e) = recorded {
        tracing::warn!(mail = m.id, error = %e, "mailer: outcome not recorded (the message may go out again)");
    }
}

/// The DCV email of a domain that still waits for it (nothing to send
/// once it is validated or no longer uses email).
async fn send_domain(state: &AppState, domain_id: i64) -> std::result::Result<(), String> {
    let d = match state.store.get_domain_any(domain_id).await {
        Ok(Some(d)) => d,
        Ok(None) => return Ok(()),
        Err(e) => return Err(e.to_string()),
    };
    if d.dcv_method != DcvMethod::Email || !d.is_active || validation::domain_validated(&d) {
        return Ok(());
    }
    match validation::send_domain_emails(state, &d).await {
        Ok(sent) if !sent.is_empty() => Ok(()),
        Ok(_) => Err("no DCV address was taken by the relay".into()),
        Err(e) => Err(e.message),
    }
}

/// `smtp.retry_seconds`, doubled per failed attempt, at most an hour.
fn retry_delay(state: &AppState, attempts: i64) -> Duration {
    let base = state.config.smtp.retry_seconds.max(1) as i64;
    let shift = attempts.clamp(1, 12) - 1;
    Duration::seconds((base << shift).min(3600))
}
