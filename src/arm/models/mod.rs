//! ARM models generated from Microsoft's vendored Swagger specs (`make
//! models`; `codegen/src/structs.rs` lists the definitions and says how). The
//! generated files are overwritten; hand-written reading helpers on them live
//! in `access.rs`.

/// `Display` and `FromStr` (refusing what the spec does not list) for a
/// closed generated enum; serde comes from its derive.
macro_rules! closed_enum_impls {
    ($name:ident) => {
        impl std::str::FromStr for $name {
            type Err = super::UnknownValue;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::KNOWN
                    .iter()
                    .find(|v| v.as_str() == s)
                    .copied()
                    .ok_or_else(|| super::UnknownValue(s.to_string()))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
use closed_enum_impls;

/// serde, `From<&str>` and `Display` for an open generated enum: a value as
/// the spec spells it reads as its variant, any other (a newer value, or
/// another casing, which ARM accepts) as `Other`, kept as written so that
/// what is read back compares equal to what was sent.
macro_rules! open_enum_impls {
    ($name:ident) => {
        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self::KNOWN
                    .iter()
                    .find(|v| v.as_str() == s)
                    .cloned()
                    .unwrap_or_else(|| Self::Other(s.to_string()))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                Ok(Self::from(s.as_ref()))
            }
        }
    };
}
use open_enum_impls;

mod access;

// Generated layout is the generator's business, not rustfmt's: a reformat
// would make the regeneration test fail.
#[rustfmt::skip]
pub mod compute;
#[rustfmt::skip]
pub mod marketplace_ordering;
#[rustfmt::skip]
pub mod network;
#[rustfmt::skip]
pub mod storage;

/// A string a closed enum of the spec does not have.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a value the API defines")]
pub struct UnknownValue(pub String);

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
