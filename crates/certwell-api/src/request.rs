//! Approval requests.

use serde::{Deserialize, Serialize};

/// `PUT /request/{id}/status`
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct RequestStatusUpdate {
    pub status: Option<String>,
    pub processor_comment: Option<String>,
}
