//! Delivers the notification outbox: e-mail through an SMTP server (`--smtp-url`), webhook
//! calls as JSON POSTs. Notices are claimed from the store a few at a time (a claim is a
//! one-minute lease, so any number of nodes may run this), delivered, and marked sent or
//! retried later with a growing delay. The same loop tells the office, once a working day,
//! of dossiers falling due on the next one.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use diaba_register::Register;
use diaba_store::Store;
use diaba_store::outbox::PendingNotice;
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::sync::Arc;
use std::time::Duration;

/// Notices delivered per round.
const BATCH: i64 = 20;
/// How often the outbox is looked at.
const ROUND: Duration = Duration::from_secs(1);
/// How often dossiers falling due are looked for.
const DUE_SOON_EVERY: Duration = Duration::from_secs(60);
/// Longest wait between two tries of one notice.
const MAX_RETRY_SECONDS: i64 = 3600;

/// What went wrong setting up a channel.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The SMTP URL or sender does not parse.
    #[error("--smtp-url / --mail-from: {0}")]
    Smtp(String),
    /// The HTTP client could not be built.
    #[error("webhook client: {0}")]
    Http(#[from] reqwest::Error),
}

/// Where notices go.
#[derive(Clone)]
pub struct Channels {
    smtp: Option<(AsyncSmtpTransport<Tokio1Executor>, Mailbox)>,
    http: reqwest::Client,
}

impl std::fmt::Debug for Channels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Channels").field("smtp", &self.smtp.is_some()).finish_non_exhaustive()
    }
}

impl Channels {
    /// E-mail through `smtp_url` (e.g. `smtp://127.0.0.1:2525`, `smtps://user:pass@host`,
    /// `smtp://host:587?tls=required`) from `from`; no e-mail when `smtp_url` is `None`.
    pub fn new(smtp_url: Option<&str>, from: &str) -> Result<Self, Error> {
        let smtp = match smtp_url {
            Some(url) => {
                let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map_err(|e| Error::Smtp(e.to_string()))?
                    .timeout(Some(Duration::from_secs(20)))
                    .build();
                let from: Mailbox = from.parse().map_err(|e| Error::Smtp(format!("{from:?}: {e}")))?;
                Some((transport, from))
            }
            None => None,
        };
        // Webhooks are the office's own endpoints: no redirects followed.
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Self { smtp, http })
    }

    async fn deliver(&self, notice: &PendingNotice) -> Result<(), String> {
        match notice.channel.as_str() {
            "email" => {
                let (transport, from) = self.smtp.as_ref().ok_or("no --smtp-url: e-mail is not sent")?;
                let to: Mailbox = notice.recipient.parse().map_err(|e| format!("recipient: {e}"))?;
                let message = Message::builder()
                    .from(from.clone())
                    .to(to)
                    .subject(&notice.subject)
                    .body(notice.body.clone())
                    .map_err(|e| e.to_string())?;
                transport.send(message).await.map_err(|e| e.to_string())?;
                Ok(())
            }
            "webhook" => {
                let response = self
                    .http
                    .post(&notice.recipient)
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(notice.body.clone())
                    .send()
                    .await
                    .map_err(|e| e.to_string())?;
                if response.status().is_success() {
                    Ok(())
                } else {
                    Err(format!("the webhook answered {}", response.status()))
                }
            }
            other => Err(format!("unknown channel {other}")),
        }
    }
}

/// Delivers the outbox until the process ends.
pub fn spawn(store: Arc<Store>, register: Arc<Register>, channels: Channels) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut last_due_check: Option<tokio::time::Instant> = None;
        loop {
            if last_due_check.is_none_or(|t| t.elapsed() >= DUE_SOON_EVERY) {
                match register.notice_due_soon().await {
                    Ok(due) => tracing::debug!(dossiers = due.len(), "office told of dossiers due next"),
                    Err(e) => tracing::warn!(error = %e, "looking for dossiers due next"),
                }
                last_due_check = Some(tokio::time::Instant::now());
            }
            if let Err(e) = round(&store, &channels).await {
                tracing::warn!(error = %e, "notification outbox");
            }
            tokio::time::sleep(ROUND).await;
        }
    })
}

/// One round: claim, deliver, record.
async fn round(store: &Store, channels: &Channels) -> diaba_store::Result<()> {
    for notice in store.claim_notices(BATCH).await? {
        match channels.deliver(&notice).await {
            Ok(()) => {
                store.notice_sent(notice.id).await?;
                tracing::debug!(id = notice.id, channel = %notice.channel, "notice delivered");
            }
            Err(error) => {
                let wait = (10_i64 << notice.attempts.clamp(0, 12)).min(MAX_RETRY_SECONDS);
                tracing::warn!(id = notice.id, channel = %notice.channel, %error, retry_in = wait, "notice not delivered");
                store.notice_failed(notice.id, &error, wait).await?;
            }
        }
    }
    Ok(())
}
