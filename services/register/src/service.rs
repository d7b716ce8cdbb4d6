//! How the online service is set up (fees, where documents are kept, who is notified) and
//! the notices each step owes: an e-mail to the citizen who gave an address, a webhook
//! call (state and dates only: nothing personal leaves by webhook), and the office's
//! notice one working day before a dossier falls due (the apology-letter rule).

use crate::applications::PROCEDURE;
use diaba_store::applications::{ApplicationRecord, Move, NewApplication};
use diaba_store::outbox::{DueSoon, Notice};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Default largest attached document: 10 MiB (a phone photo or a scanned page).
pub const DEFAULT_MAX_DOCUMENT_BYTES: usize = 10 * 1024 * 1024;

/// The online service's settings.
#[derive(Debug, Clone)]
pub struct Service {
    /// Fee per procedure, VND (`holder_change` → amount); none: free. Cần Thơ's amounts are
    /// set by the city's People's Council and were not found: the office configures them.
    pub fees: BTreeMap<String, i64>,
    /// Where citizens reach the service (links in notices); none: no link.
    pub public_url: Option<String>,
    /// Called with every step (JSON: code, state, step, ward, due date).
    pub webhook_url: Option<String>,
    /// Told of dossiers that fall due on the next working day.
    pub office_email: Option<String>,
    /// Called (POST, JSON) with every flood alert.
    pub flood_alert_webhooks: Vec<String>,
    /// Sent every flood alert by e-mail.
    pub flood_alert_emails: Vec<String>,
    /// Where attached documents are kept (named by SHA-256); none: uploads are refused.
    pub documents_dir: Option<PathBuf>,
    /// Largest attached document.
    pub max_document_bytes: usize,
}

impl Default for Service {
    fn default() -> Self {
        Self {
            fees: BTreeMap::new(),
            public_url: None,
            webhook_url: None,
            office_email: None,
            flood_alert_webhooks: Vec::new(),
            flood_alert_emails: Vec::new(),
            documents_dir: None,
            max_document_bytes: DEFAULT_MAX_DOCUMENT_BYTES,
        }
    }
}

/// A state in the citizen's words.
fn state_vi(state: &str) -> &'static str {
    match state {
        "submitted" => "đã nộp, chờ tiếp nhận",
        "received" => "đã tiếp nhận",
        "in_review" => "đang giải quyết",
        "requisitioned" => "cần bổ sung giấy tờ",
        "approved" => "đã được duyệt",
        "result_issued" => "đã có kết quả",
        "closed" => "đã trả kết quả",
        "refused" => "bị từ chối",
        "withdrawn" => "đã rút",
        "suspended" => "tạm dừng giải quyết",
        _ => "đã thay đổi",
    }
}

impl Service {
    /// The fee of `procedure`, VND.
    pub fn fee(&self, procedure: &str) -> i64 {
        self.fees.get(procedure).copied().unwrap_or(0)
    }

    fn status_link(&self, code: &str) -> String {
        match &self.public_url {
            Some(url) => format!("\nTheo dõi hồ sơ: {}/apply?code={code}\n", url.trim_end_matches('/')),
            None => String::new(),
        }
    }

    fn webhook(
        &self,
        code: &str,
        ward: &str,
        step: &str,
        state: &str,
        due_on: Option<chrono::NaiveDate>,
    ) -> Option<Notice> {
        let url = self.webhook_url.as_ref()?;
        let body = serde_json::json!({ "code": code, "procedure": PROCEDURE, "ward": ward, "step": step,
                                       "state": state, "due_on": due_on, "at": chrono::Utc::now() });
        Some(Notice {
            channel: "webhook",
            recipient: url.clone(),
            subject: format!("{code} {state}"),
            body: body.to_string(),
        })
    }

    /// What a new dossier owes: the citizen's acknowledgement, the webhook.
    pub fn notices_of_submission(&self, new: &NewApplication) -> Vec<Notice> {
        let mut notices = Vec::new();
        if let Some(email) = &new.contact_email {
            notices.push(Notice {
                channel: "email",
                recipient: email.clone(),
                subject: "Hồ sơ đăng ký biến động đã được gửi".into(),
                body: format!(
                    "Kính gửi {},\n\nHồ sơ đăng ký thay đổi thông tin người sử dụng đất của Ông/Bà đã được gửi. \
                     Mã hồ sơ sẽ có trong thông báo tiếp theo khi cơ quan tiếp nhận.\n",
                    new.applicant_name
                ),
            });
        }
        notices
    }

    /// What a step owes: the citizen told of the new state (with what is missing, or why),
    /// the webhook called.
    pub fn notices_of_step(&self, record: &ApplicationRecord, step: &Move) -> Vec<Notice> {
        let due_on = step.clock.map(|(_, due)| due).or(record.due_on);
        let mut notices = Vec::new();
        if let Some(email) = &record.contact_email {
            let mut body = format!(
                "Kính gửi {},\n\nHồ sơ {} của Ông/Bà {}.\n",
                record.applicant_name,
                record.code,
                state_vi(&step.to_state)
            );
            if let (Some(due), true) = (due_on, step.clock.is_some()) {
                body.push_str(&format!("Ngày hẹn trả kết quả: {}.\n", due.format("%d/%m/%Y")));
            }
            if let Some(note) = &step.note {
                body.push_str(&format!("Ghi chú của cơ quan: {note}\n"));
            }
            body.push_str(&self.status_link(&record.code));
            notices.push(Notice {
                channel: "email",
                recipient: email.clone(),
                subject: format!("Hồ sơ {}: {}", record.code, state_vi(&step.to_state)),
                body,
            });
        }
        notices.extend(self.webhook(&record.code, &record.ward_code, step.step, &step.to_state, due_on));
        notices
    }

    /// The office's notice of a dossier falling due on the next working day.
    pub fn notices_due_soon(&self, dossier: &DueSoon) -> Vec<Notice> {
        let mut notices = Vec::new();
        if let Some(email) = &self.office_email {
            notices.push(Notice {
                channel: "email",
                recipient: email.clone(),
                subject: format!("Hồ sơ {} đến hạn ngày {}", dossier.code, dossier.due_on.format("%d/%m/%Y")),
                body: format!(
                    "Hồ sơ {} (phường/xã {}) đến hạn trả kết quả vào ngày làm việc tiếp theo, {}.\n\
                     Nếu không kịp, gửi văn bản xin lỗi và hẹn lại cho người nộp hồ sơ trước ngày hẹn.\n",
                    dossier.code,
                    dossier.ward_code,
                    dossier.due_on.format("%d/%m/%Y")
                ),
            });
        }
        notices.extend(self.webhook(&dossier.code, &dossier.ward_code, "due_soon", "due_soon", Some(dossier.due_on)));
        notices
    }
}

impl crate::Register {
    /// Marks the open dossiers due on the next working day and queues their notices; the
    /// dossiers noticed (each once, whichever node runs this).
    pub async fn notice_due_soon(&self) -> crate::Result<Vec<DueSoon>> {
        let today = diaba_core::today_in_vietnam();
        let due_on = diaba_core::workdays::working_day_after(today);
        Ok(self.store.notice_due_soon(today, due_on, |d| self.service.notices_due_soon(d)).await?)
    }
}
