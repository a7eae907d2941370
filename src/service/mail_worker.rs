//! The delivery worker. It runs inside `bridgefund serve` and alone as `bridgefund worker`; any
//! number of them may run against one database. Each round claims due messages, sends them one
//! by one, and records the outcome; failures are retried with exponential backoff and jitter until
//! the attempts are used up.

use std::sync::Arc;

use chrono::Duration;
use lettre::message::Mailbox;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::context::AppContext;
use crate::domain::email_delivery::{AfterFailure, RetryPolicy};
use crate::notify::outbox;
use crate::notify::transport::{OutgoingEmail, Transport};

/// What one round did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryReport {
    pub claimed: usize,
    pub sent: usize,
    pub failed: usize,
    pub released: usize,
}

#[derive(Clone)]
pub struct Worker {
    context: AppContext,
    transport: Arc<Transport>,
    from: Mailbox,
    id: String,
    policy: RetryPolicy,
}

impl Worker {
    /// A worker that delivers through the context's transport.
    pub fn new(context: AppContext) -> anyhow::Result<Self> {
        let transport = Arc::clone(&context.mail);
        let mail = &context.config.mail;
        let from: Mailbox = mail.from.parse().map_err(|e| {
            anyhow::anyhow!("BRIDGEFUND_MAIL_FROM `{}` is not a mailbox: {e}", mail.from)
        })?;
        let policy = RetryPolicy {
            base: Duration::seconds(mail.backoff_base_secs as i64),
            max_delay: Duration::hours(6),
            max_attempts: mail.max_attempts.max(1),
        };
        Ok(Worker {
            id: format!("worker-{}", Uuid::new_v4().simple()),
            context,
            transport,
            from,
            policy,
        })
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// Delivers until `stop` is cancelled. A round in progress finishes the message it is sending
    /// and gives back the rest of its claim.
    pub async fn run(self, stop: CancellationToken) {
        let config = &self.context.config.mail;
        let idle = std::time::Duration::from_millis(config.poll_interval_ms.max(10));
        tracing::info!(worker = %self.id, transport = %self.transport.describe(), "email worker started");
        while !stop.is_cancelled() {
            let pause = match self.deliver_due(Some(&stop)).await {
                // A full batch suggests more are due: go again at once.
                Ok(report) if report.claimed as u64 >= config.batch_size => {
                    std::time::Duration::ZERO
                }
                Ok(_) => idle,
                Err(error) => {
                    tracing::error!(worker = %self.id, error = format!("{error:#}"), "email delivery round failed");
                    idle
                }
            };
            tokio::select! {
                () = stop.cancelled() => break,
                () = tokio::time::sleep(pause) => {}
            }
        }
        tracing::info!(worker = %self.id, "email worker stopped");
    }

    /// One round: claim what is due, send it, record each outcome.
    #[tracing::instrument(skip_all, fields(worker = %self.id))]
    pub async fn deliver_due(
        &self,
        stop: Option<&CancellationToken>,
    ) -> anyhow::Result<DeliveryReport> {
        let context = &self.context;
        let mail = &context.config.mail;
        let claimed = outbox::claim_due(
            &context.db,
            &context.clock,
            &self.id,
            Duration::seconds(mail.lease_secs as i64),
            mail.batch_size,
        )
        .await?;
        let mut report = DeliveryReport {
            claimed: claimed.len(),
            ..Default::default()
        };
        for (index, message) in claimed.iter().enumerate() {
            if stop.is_some_and(CancellationToken::is_cancelled) {
                let rest: Vec<Uuid> = claimed[index..].iter().map(|m| m.id).collect();
                report.released =
                    outbox::release(&context.db, &context.clock, &rest, &self.id).await? as usize;
                break;
            }
            let outgoing = OutgoingEmail {
                message_id: message.message_id.clone(),
                to_address: message.recipient.clone(),
                to_name: message.recipient_name.clone(),
                subject: message.subject.clone(),
                text: message.body_text.clone(),
                html: message.body_html.clone(),
            };
            match self.transport.send(&self.from, &outgoing).await {
                Ok(()) => {
                    if !outbox::mark_sent(&context.db, &context.clock, message.id, &self.id).await?
                    {
                        tracing::warn!(message = %message.id, "sent a message whose claim had been taken over");
                    }
                    report.sent += 1;
                }
                Err(error) => {
                    let error = format!("{error:#}");
                    let retry_at = match self
                        .policy
                        .after_failure(message.attempts, rand::random::<f64>())
                    {
                        AfterFailure::RetryIn(delay) => Some(context.clock.now() + delay),
                        AfterFailure::GiveUp => None,
                    };
                    tracing::warn!(message = %message.id, attempts = message.attempts, dead = retry_at.is_none(), %error, "email delivery failed");
                    outbox::mark_failed(
                        &context.db,
                        &context.clock,
                        message.id,
                        &self.id,
                        &error,
                        retry_at,
                    )
                    .await?;
                    report.failed += 1;
                }
            }
        }
        Ok(report)
    }
}
