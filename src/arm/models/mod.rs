//! ARM models generated from Microsoft's vendored Swagger specs (`make
//! models`; `codegen/src/structs.rs` lists the definitions and says how). The
//! generated files are overwritten; hand-written reading helpers on them live
//! in `access.rs`.

pub(crate) use crate::api_enums::{closed_enum_impls, open_enum_impls};

mod access;

// Generated layout is the generator's business, not rustfmt's: a reformat
// would make the regeneration test fail.
#[rustfmt::skip]
pub mod common;
#[rustfmt::skip]
pub mod compute;
#[rustfmt::skip]
pub mod gallery;
#[rustfmt::skip]
pub mod marketplace_ordering;
#[rustfmt::skip]
pub mod network;
#[rustfmt::skip]
pub mod resources;
#[rustfmt::skip]
pub mod storage;

pub use crate::api_enums::UnknownValue;

#[cfg(test)]
mod tests {
    use super::compute::{SecurityTypes, VirtualMachine};

    #[test]
    fn open_enums_keep_values_the_spec_does_not_list() {
        let known: SecurityTypes = serde_json::from_str("\"TrustedLaunch\"").unwrap();
        assert_eq!(known, SecurityTypes::TrustedLaunch);
        assert_eq!(serde_json::to_string(&known).unwrap(), "\"TrustedLaunch\"");
        let cased: SecurityTypes = serde_json::from_str("\"trustedlaunch\"").unwrap();
        assert_eq!(serde_json::to_string(&cased).unwrap(), "\"trustedlaunch\"");
        let new: SecurityTypes = serde_json::from_str("\"Standard\"").unwrap();
        assert_eq!(new, SecurityTypes::Other("Standard".into()));
        assert_eq!(serde_json::to_string(&new).unwrap(), "\"Standard\"");
    }

    #[test]
    fn a_vm_reads_and_writes_back_what_it_does_not_type() {
        let wire = serde_json::json!({
            "id": "/subscriptions/s/resourceGroups/g/providers/Microsoft.Compute/virtualMachines/v",
            "location": "eastus",
            "properties": {
                "licenseType": "RHEL_BYOS",
                "osProfile": { "computerName": "v", "adminUsername": "azureuser" },
                "securityProfile": { "securityType": "TrustedLaunch" }
            }
        });
        let vm: VirtualMachine = serde_json::from_value(wire.clone()).unwrap();
        let props = vm.properties.as_ref().unwrap();
        assert_eq!(props.license_type.as_deref(), Some("RHEL_BYOS"));
        assert_eq!(
            props.security_profile.as_ref().unwrap().security_type,
            Some(SecurityTypes::TrustedLaunch)
        );
        assert_eq!(serde_json::to_value(&vm).unwrap(), wire);
    }
}
