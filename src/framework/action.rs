//! Actions (Terraform 1.14+ `action` blocks, `terraform apply -invoke`,
//! `lifecycle { action_trigger { ... } }`): day-2 operations that change
//! something outside any resource's state. An action checks its
//! configuration and the world at plan time, then runs, reporting progress
//! that Terraform prints as it arrives.

use async_trait::async_trait;
use tokio::sync::mpsc;

use crate::plugin::service::ActionEvent;

use super::{Ctx, Diagnostics, ResourceSchema, Value};

/// Where a running action reports what it is doing.
pub struct ActionProgress {
    tx: mpsc::Sender<ActionEvent>,
}

impl ActionProgress {
    pub(crate) fn new(tx: mpsc::Sender<ActionEvent>) -> Self {
        ActionProgress { tx }
    }

    /// One line of progress. Never waits: when Terraform reads slower than
    /// the action reports, a line is dropped rather than the action held up.
    pub fn report(&self, message: impl Into<String>) {
        let _ = self.tx.try_send(ActionEvent::Progress(message.into()));
    }
}

/// An action: its configuration schema next to what it does.
#[async_trait]
pub trait Action<C: Send + Sync + 'static>: Send + Sync {
    fn type_name(&self) -> &'static str;
    fn schema(&self) -> ResourceSchema;
    /// Checks beyond per-attribute validators.
    fn validate(&self, _config: &Value, _diags: &mut Diagnostics) {}
    /// Checks against the services before anything runs.
    async fn plan(&self, _ctx: &Ctx<C>, _config: &Value) -> Diagnostics {
        Diagnostics::new()
    }
    /// Runs the action; errors in the result fail the apply.
    async fn invoke(&self, ctx: &Ctx<C>, config: &Value, progress: &ActionProgress) -> Diagnostics;
}
