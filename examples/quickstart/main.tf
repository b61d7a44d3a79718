# Quickstart: what the provider does today without any cloud account.
#
# It shows the provider configuration the provider resolved (from this block and
# ARM_* / RH_* environment variables) and the pure URN functions. Resources for
# images, subscriptions and Atomic hosts join this example as they land.

terraform {
  required_version = ">= 1.8" # provider-defined functions
  required_providers {
    rhelazure = {
      source = "rhel-on-azure/rhelazure"
    }
  }
}

provider "rhelazure" {
  # Everything can come from the environment instead (ARM_SUBSCRIPTION_ID,
  # ARM_TENANT_ID, ARM_CLIENT_ID, ARM_CLIENT_SECRET, RH_OFFLINE_TOKEN, ...).
}

data "rhelazure_client_config" "current" {}

locals {
  # RHEL 9 on Azure, bring-your-own-subscription gold image (Cloud Access).
  byos = provider::rhelazure::parse_image_urn("RedHat:rhel-byos:rhel-lvm96-gen2:latest")
}

output "azure" {
  description = "Where the provider will talk to Azure."
  value = {
    environment     = data.rhelazure_client_config.current.environment
    arm_endpoint    = data.rhelazure_client_config.current.arm_endpoint
    subscription_id = data.rhelazure_client_config.current.subscription_id
  }
}

output "redhat_credential" {
  description = "Which Red Hat credential is configured (never the secret itself)."
  value       = data.rhelazure_client_config.current.redhat_credential
}

output "byos_image" {
  description = "The parts of a BYOS RHEL image URN."
  value       = local.byos
}

output "payg_rhel10_urn" {
  description = "A pay-as-you-go RHEL 10 URN built from its parts (version defaults to latest)."
  value = provider::rhelazure::build_image_urn({
    publisher = "RedHat"
    offer     = "RHEL"
    sku       = "10-lvm-gen2"
  })
}
