//! `terraform query` for `rhelazure_atomic_host`: the hosts of a subscription.

use super::*;
use crate::arm::models::compute::VirtualMachine;
use crate::resources::common::ResourceGroupFilter;

/// The list resource: the Atomic hosts of the subscription, whoever applied
/// them (the VMs this provider made carry its marker tag), each as an import
/// reads it.
pub struct AtomicHosts;

#[async_trait]
impl ListResource<ProviderData> for AtomicHosts {
    fn type_name(&self) -> &'static str {
        "rhelazure_atomic_host"
    }

    fn schema(&self) -> ResourceSchema {
        ResourceSchema::new(
            "The RHEL container hosts of the subscription made by this provider (from any configuration: \
             the VMs carry its marker tag). For every RHEL VM whatever made it, list `rhelazure_vm_license`.",
            vec![Attr::string("resource_group_name")
                .optional()
                .description("Only the hosts of this resource group.")],
        )
    }

    async fn list(
        &self,
        ctx: &Ctx<ProviderData>,
        query: &ListQuery<'_>,
        out: &mut ListResults<'_>,
    ) -> Result<(), Diagnostics> {
        let arm = need(ctx.data().and_then(|d| d.arm()), None)?;
        let filter: ResourceGroupFilter = crate::framework::model::read(query.config);
        let group = filter.resource_group_name.as_deref();
        let vms = match crate::resources::common::all_of_type(
            arm,
            "Microsoft.Compute/virtualMachines",
            COMPUTE_API,
            group,
            Instant::now() + TIMEOUT,
        )
        .await
        {
            Ok(v) => v,
            Err(e) => return Err(arm_diag("list the virtual machines", &e).into()),
        };
        let vms = vms.iter().filter_map(VirtualMachine::from_json);
        for vm in vms.filter(|vm| vm.tag(MARKER_TAG).is_some()) {
            let id = vm.id.as_deref().unwrap_or_default();
            let state = match crate::resources::common::imported_state(&AtomicHost, ctx, id).await {
                Ok(Some(s)) => s,
                Ok(None) => continue,
                Err(d) => return Err(d),
            };
            let group = crate::arm::segment_after(id, "resourceGroups").unwrap_or_default();
            let display_name = format!(
                "{} ({group}): {}",
                vm.name.as_deref().unwrap_or_default(),
                vm.vm_size().unwrap_or_default()
            );
            if !out
                .send(Found {
                    state,
                    display_name,
                })
                .await
            {
                break;
            }
        }
        Ok(())
    }
}
