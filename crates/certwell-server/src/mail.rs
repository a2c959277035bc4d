//! Outgoing validation email through the configured SMTP relay.

use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::{SmtpConfig, SmtpTls};

pub struct Mailer {
    transport: Option<AsyncSmtpTransport<Tokio1Executor>>,
    from: String,
}

impl Mailer {
    pub fn new(cfg: &SmtpConfig) -> Result<Mailer, String> {
        if cfg.host.is_empty() {
            return Ok(Mailer {
                transport: None,
                from: cfg.from.clone(),
            });
        }
        let tls_params =
            || TlsParameters::new(cfg.host.clone()).map_err(|e| format!("smtp: TLS set-up: {e}"));
        let tls = match cfg.tls {
            SmtpTls::Starttls => Tls::Required(tls_params()?),
            SmtpTls::Tls => Tls::Wrapper(tls_params()?),
            SmtpTls::None => Tls::None,
        };
        let mut b = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&cfg.host)
            .port(cfg.port)
            .tls(tls)
            .timeout(Some(std::time::Duration::from_secs(20)));
        if !cfg.username.is_empty() {
            b = b.credentials(Credentials::new(cfg.username.clone(), cfg.password.clone()));
        }
        cfg.from
            .parse::<lettre::message::Mailbox>()
            .map_err(|e| format!("smtp.from: '{}' is not an address: {e}", cfg.from))?;
        Ok(Mailer {
            transport: Some(b.build()),
            from: cfg.from.clone(),
        })
    }

    pub fn configured(&self) -> bool {
        self.transport.is_some()
    }

    /// Sends a plain-text message. Errors are for the log; they never
    /// undo the state change that asked for the message.
    pub async fn send(&self, to: &str, subject: &str, body: String) -> Result<(), String> {
        let Some(t) = &self.transport else {
            return Err("no SMTP relay is configured (smtp.host)".into());
        };
        let msg = Message::builder()
            .from(self.from.parse().map_err(|e| format!("from: {e}"))?)
            .to(to.parse().map_err(|e| format!("to {to}: {e}"))?)
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(body)
            .map_err(|e| format!("building the message: {e}"))?;
        t.send(msg)
            .await
            .map(|_| ())
            .map_err(|e| format!("sending to {to}: {e}"))
    }
}
