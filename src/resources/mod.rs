//! The provider's resources, data sources, ephemeral resources and functions:
//! one file each, schema next to behaviour. Nothing here knows about gRPC.

pub mod activation_key;
pub mod client_config;
mod common;
pub mod image_urn;
pub mod marketplace_agreement;

use crate::framework::Registry;
use crate::provider::{ProviderData, RhelAzureProvider};

/// Everything the provider serves.
pub fn registry() -> Registry<ProviderData> {
    Registry::new(RhelAzureProvider::default())
        .resource(activation_key::ActivationKey)
        .resource(marketplace_agreement::MarketplaceAgreement)
        .data_source(client_config::ClientConfig)
        .function(image_urn::ParseImageUrn)
        .function(image_urn::BuildImageUrn)
}
