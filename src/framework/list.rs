//! List resources (Terraform 1.14+ `list` blocks and `terraform query`): how
//! a resource finds the objects that already exist, whoever made them, so
//! they can be inventoried and adopted. A list resource lists one managed
//! resource type, which must have an identity: each result is named by it.

use async_trait::async_trait;
use tokio::sync::mpsc;

use crate::plugin::service::ListEvent;

use super::{Ctx, Diagnostics, IdentityDef, ResourceSchema, Value};

/// What a `list` block asks for.
pub struct ListQuery<'a> {
    /// The `config` block (the list resource's own schema: filters).
    pub config: &'a Value,
    /// Whether each result must carry the whole resource object; without it,
    /// only identities and display names are needed, so a list resource can
    /// skip the reads that only the object needs.
    pub include_resource: bool,
    /// Terraform stops reading after this many results.
    pub limit: usize,
}

/// One object found: its state as the managed resource's `read` would give
/// it, and the line `terraform query` prints for it.
pub struct Found {
    pub state: Value,
    pub display_name: String,
}

/// Where a list resource sends what it finds, one object at a time, so
/// Terraform prints results while the listing goes on.
pub struct ListResults<'a> {
    tx: mpsc::Sender<ListEvent>,
    identity: &'a dyn IdentityDef,
    include_resource: bool,
    remaining: usize,
}

impl<'a> ListResults<'a> {
    pub(crate) fn new(
        tx: mpsc::Sender<ListEvent>,
        identity: &'a dyn IdentityDef,
        include_resource: bool,
        limit: usize,
    ) -> Self {
        ListResults {
            tx,
            identity,
            include_resource,
            remaining: limit,
        }
    }

    /// Sends one result. False when no more are wanted (the limit is reached
    /// or Terraform stopped listening): the list resource should stop.
    pub async fn send(&mut self, found: Found) -> bool {
        if self.remaining == 0 {
            return false;
        }
        let Some(identity) = self.identity.of_state(&found.state) else {
            // Every listed object exists, so its identity is known; one that
            // is not is skipped rather than sent half-named.
            return true;
        };
        let event = ListEvent {
            identity: Some(Value::Object(
                identity.into_iter().map(|(k, v)| (k, v.into())).collect(),
            )),
            display_name: found.display_name,
            resource_object: self.include_resource.then_some(found.state),
            diagnostics: Diagnostics::new(),
        };
        self.remaining -= 1;
        self.tx.send(event).await.is_ok() && self.remaining > 0
    }

    /// Whether more results are wanted.
    pub fn wants_more(&self) -> bool {
        self.remaining > 0 && !self.tx.is_closed()
    }
}

/// A list resource: its `config` block next to the listing.
#[async_trait]
pub trait ListResource<C: Send + Sync + 'static>: Send + Sync {
    /// The managed resource type whose objects it lists.
    fn type_name(&self) -> &'static str;
    /// The `config` block's schema.
    fn schema(&self) -> ResourceSchema;
    /// Checks beyond per-attribute validators.
    fn validate(&self, _config: &Value, _diags: &mut Diagnostics) {}
    /// Finds the objects, sending each to `out` until it says to stop; an
    /// error ends the listing (what was sent stands).
    async fn list(
        &self,
        ctx: &Ctx<C>,
        query: &ListQuery<'_>,
        out: &mut ListResults<'_>,
    ) -> Result<(), Diagnostics>;
}
