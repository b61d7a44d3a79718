//! ephemeral `rhelazure_redhat_access_token`: a short-lived Red Hat API access
//! token for other tools in the same run (a `local-exec`, another provider),
//! from the provider's Red Hat credentials. Never stored in plan or state.

use std::time::{Duration, SystemTime};

use async_trait::async_trait;

use crate::framework::{
    model, Attr, Ctx, Diagnostics, EphemeralOpen, EphemeralResource, ResourceSchema, Value,
};
use crate::provider::ProviderData;

pub struct RedHatAccessToken;

/// What the ephemeral resource opens to. No `Debug`: it is the token.
#[derive(Default, serde::Serialize)]
struct Model {
    access_token: Option<String>,
    expires_at: Option<String>,
}

/// Red Hat access tokens last about 15 minutes; Terraform renews ahead of that.
const RENEW_AFTER: Duration = Duration::from_secs(10 * 60);

#[async_trait]
impl EphemeralResource<ProviderData> for RedHatAccessToken {
    fn type_name(&self) -> &'static str {
        "rhelazure_redhat_access_token"
    }

    fn schema(&self) -> ResourceSchema {
        ResourceSchema::new(
            "A short-lived Red Hat API access token from the provider's Red Hat credentials, for other tools in the same run. \
             It is never written to the plan or the state.",
            vec![
                Attr::string("access_token").computed().sensitive().description("The bearer token for console.redhat.com APIs."),
                Attr::string("expires_at").computed().description("RFC 3339 time after which the token should not be used."),
            ],
        )
    }

    async fn open(
        &self,
        ctx: &Ctx<ProviderData>,
        _config: &Value,
    ) -> Result<EphemeralOpen, Diagnostics> {
        let rh = ctx
            .data()
            .and_then(|d| d.redhat())
            .map_err(Diagnostics::from)?;
        // Opening runs within Terraform's own wait; a minute covers SSO's retries.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        let token = rh.access_token(deadline).await.map_err(|e| {
            Diagnostics::from(super::common::redhat_diag("get a Red Hat access token", &e))
        })?;
        let expires = SystemTime::now() + RENEW_AFTER;
        let opened = Model {
            access_token: Some(token),
            expires_at: Some(humantime::format_rfc3339_seconds(expires).to_string()),
        };
        let result = model::encode(&opened, &self.schema().value_type())?;
        Ok(EphemeralOpen {
            result,
            private: None,
            renew_at: Some(expires),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_model_has_the_schemas_attributes() {
        assert_eq!(model::mismatch::<Model>(&RedHatAccessToken.schema()), None);
    }
}
