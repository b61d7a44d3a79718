//! Hand-written reading helpers over the generated models: ARM nests most of
//! what a caller wants under several optional objects (`properties`,
//! `storageProfile`, ...), and these walk them once, typed, instead of each
//! caller spelling the chain.

use super::compute::{Image, ImageReference, VirtualMachine, VirtualMachineProperties};
use super::marketplace_ordering::AgreementTerms;
use super::network::{NetworkInterface, NetworkInterfaceIPConfigurationPropertiesFormat};

impl VirtualMachine {
    /// Reads a VM from ARM's JSON; None when it is not shaped like one.
    pub fn from_json(v: &serde_json::Value) -> Option<VirtualMachine> {
        serde::Deserialize::deserialize(v).ok()
    }

    pub fn props(&self) -> Option<&VirtualMachineProperties> {
        self.properties.as_ref()
    }

    pub fn image_reference(&self) -> Option<&ImageReference> {
        self.props()?
            .storage_profile
            .as_ref()?
            .image_reference
            .as_ref()
    }

    pub fn vm_size(&self) -> Option<String> {
        let size = self.props()?.hardware_profile.as_ref()?.vm_size.as_ref()?;
        Some(size.to_string())
    }

    /// The id of the VM's first (primary) network interface.
    pub fn first_nic_id(&self) -> Option<&str> {
        self.props()?
            .network_profile
            .as_ref()?
            .network_interfaces
            .as_ref()?
            .first()?
            .id
            .as_deref()
    }

    /// The id of the managed OS disk.
    pub fn os_disk_id(&self) -> Option<&str> {
        self.props()?
            .storage_profile
            .as_ref()?
            .os_disk
            .as_ref()?
            .managed_disk
            .as_ref()?
            .id
            .as_deref()
    }

    /// A tag's value.
    pub fn tag(&self, key: &str) -> Option<&str> {
        self.tags.as_ref()?.get(key).map(String::as_str)
    }

    /// `running`, `deallocated`, ... from an instance view's `PowerState/...` status.
    pub fn power_state(&self) -> Option<String> {
        self.props()?
            .instance_view
            .as_ref()?
            .statuses
            .as_ref()?
            .iter()
            .find_map(|s| s.code.as_deref()?.strip_prefix("PowerState/"))
            .map(str::to_string)
    }
}

impl NetworkInterface {
    /// The properties of the NIC's first IP configuration.
    pub fn first_ip_configuration(
        &self,
    ) -> Option<&NetworkInterfaceIPConfigurationPropertiesFormat> {
        self.properties
            .as_ref()?
            .ip_configurations
            .as_ref()?
            .first()?
            .properties
            .as_ref()
    }
}

impl AgreementTerms {
    /// Whether the terms are accepted in the subscription.
    pub fn is_accepted(&self) -> bool {
        self.properties.as_ref().and_then(|p| p.accepted) == Some(true)
    }
}

impl Image {
    /// The VHD blob the image's OS disk was made from.
    pub fn os_blob_uri(&self) -> Option<&str> {
        self.properties
            .as_ref()?
            .storage_profile
            .as_ref()?
            .os_disk
            .as_ref()?
            .blob_uri
            .as_deref()
    }

    /// `V1` or `V2` (or what else Azure answers).
    pub fn hyper_v_generation(&self) -> Option<&str> {
        Some(
            self.properties
                .as_ref()?
                .hyper_v_generation
                .as_ref()?
                .as_str(),
        )
    }

    /// A tag's value.
    pub fn tag(&self, key: &str) -> Option<&str> {
        self.tags.as_ref()?.get(key).map(String::as_str)
    }
}
