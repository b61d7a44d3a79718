//! terraform-provider-rhelazure: RHEL on Azure as a Terraform / OpenTofu provider.
//!
//! Rooms, bottom to top (see DESIGN.md): [`plugin`] speaks the protocol,
//! [`framework`] is what a resource author sees, [`provider`] configures the
//! provider, [`resources`] holds one file per resource, data source or function.

/// The provider's registry address (`required_providers` source).
pub const PROVIDER_ADDRESS: &str = "registry.terraform.io/rhel-on-azure/rhelazure";

mod api_enums;
pub mod arm;
pub mod docs;
pub mod framework;
pub mod http_client;
pub mod plugin;
pub mod provider;
pub mod redhat;
pub mod resources;
pub mod vhd;
