//! data `rhelazure_client_config`: the settings the provider ended up with
//! (provider block merged with `ARM_*` / `RH_*` environment variables), so
//! modules can reuse the subscription or tenant without repeating it, and users
//! can check which endpoints and credential kinds are in effect. Never returns
//! a secret: credentials are reported by kind only.

use async_trait::async_trait;

use crate::framework::{model, Attr, Ctx, DataSource, Diagnostics, ResourceSchema, Value};
use crate::provider::ProviderData;

pub struct ClientConfig;

#[derive(Default, serde::Serialize)]
struct Model<'a> {
    subscription_id: Option<&'a str>,
    tenant_id: Option<&'a str>,
    client_id: Option<&'a str>,
    environment: &'a str,
    arm_endpoint: &'a str,
    authority_host: &'a str,
    redhat_api_url: &'a str,
    redhat_sso_url: &'a str,
    redhat_credential: &'a str,
}

#[async_trait]
impl DataSource<ProviderData> for ClientConfig {
    fn type_name(&self) -> &'static str {
        "rhelazure_client_config"
    }

    fn schema(&self) -> ResourceSchema {
        let out = |name: &str, desc: &str| Attr::string(name).computed().description(desc);
        ResourceSchema::new(
            "The configuration the provider is using: Azure subscription, tenant and client, endpoints, and which kind of \
             Red Hat credential is set. Secrets are never returned.",
            vec![
                out("subscription_id", "Azure subscription id (provider block or `ARM_SUBSCRIPTION_ID`)."),
                out("tenant_id", "Microsoft Entra tenant id."),
                out("client_id", "Service principal client id, when one is configured."),
                out("environment", "Azure cloud: `public`, `usgovernment` or `china`."),
                out("arm_endpoint", "Azure Resource Manager endpoint in use."),
                out("authority_host", "Microsoft Entra authority host in use."),
                out("redhat_api_url", "Red Hat API base URL in use."),
                out("redhat_sso_url", "Red Hat SSO base URL in use."),
                out("redhat_credential", "`offline_token`, `service_account` or `none`."),
            ],
        )
    }

    async fn read(&self, ctx: &Ctx<ProviderData>, _config: &Value) -> Result<Value, Diagnostics> {
        let s = &ctx.data().map_err(Diagnostics::from)?.settings;
        let m = Model {
            subscription_id: s.azure.subscription_id.as_deref(),
            tenant_id: s.azure.tenant_id.as_deref(),
            client_id: s.azure.client_id.as_deref(),
            environment: &s.azure.environment,
            arm_endpoint: &s.azure.arm_endpoint,
            authority_host: &s.azure.authority_host,
            redhat_api_url: &s.redhat.api_url,
            redhat_sso_url: &s.redhat.sso_url,
            redhat_credential: s.redhat.credential_kind(),
        };
        model::encode(&m, &self.schema().value_type()).map_err(Diagnostics::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_model_has_the_schemas_attributes() {
        assert_eq!(model::mismatch::<Model>(&ClientConfig.schema()), None);
    }
}
