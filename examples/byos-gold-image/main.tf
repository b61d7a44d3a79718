# Bring-your-own-subscription (BYOS) RHEL on Azure, end to end:
#
#   Cloud Access enrolment -> gold images visible -> Marketplace terms accepted
#   -> an activation key hosts register with.
#
# The outputs are what a VM resource (azurerm_linux_virtual_machine or a
# rhelazure_atomic_host) needs: the image URN, its purchase plan and the key.

terraform {
  required_version = ">= 1.11" # the oldest Terraform the tests run
  required_providers {
    rhelazure = {
      source = "rhel-on-azure/rhelazure"
    }
  }
}

provider "rhelazure" {}

variable "location" {
  description = "Azure region to look the gold images up in."
  type        = string
  default     = "eastus"
}

variable "rhel_versions" {
  description = "RHEL releases to make available as gold images."
  type        = set(string)
  default     = ["9.6", "10"]
}

variable "name_prefix" {
  description = "Prefix for the names this example creates."
  type        = string
  default     = "byos"
}

# Enrols the provider's Azure subscription in Red Hat Cloud Access. Red Hat
# documents that gold images can take hours to appear: the resource waits for
# them (the `create` timeout bounds the wait).
resource "rhelazure_cloud_access" "this" {
  name = "${var.name_prefix}-subscription"

  timeouts {
    create = "3h"
  }
}

# Each gold image is found only after enrolment: the depends_on makes the
# lookup wait for it within the same apply. Only outputs use it (see below).
data "rhelazure_marketplace_image" "gold" {
  for_each = var.rhel_versions

  location     = var.location
  rhel_version = each.key
  billing      = "byos"
  depends_on   = [rhelazure_cloud_access.this]
}

# Gold images are Marketplace plans: their terms must be accepted once per
# subscription. The plan comes from the pure function, known at plan time,
# not from the lookup: Terraform defers a data source that depends on a
# resource with any change planned, so an agreement fed from the lookup would
# be planned for replacement (cancelling the terms) by a mere rename of the
# enrolment. depends_on only orders it after the enrolment.
# Destroying this only cancels terms this resource accepted.
resource "rhelazure_marketplace_agreement" "gold" {
  for_each = var.rhel_versions

  publisher  = "redhat"
  offer      = provider::rhelazure::rhel_marketplace_sku({ rhel_version = each.key, billing = "byos" }).offer
  plan       = provider::rhelazure::rhel_marketplace_sku({ rhel_version = each.key, billing = "byos" }).sku
  depends_on = [rhelazure_cloud_access.this]
}

# BYOS hosts consume your Red Hat subscriptions: they register with this key.
resource "rhelazure_activation_key" "byos" {
  name          = "${var.name_prefix}-hosts"
  service_level = "Premium"
  usage         = "Production"
  role          = "Red Hat Enterprise Linux Server"
}

output "gold_images" {
  description = "Per RHEL release: the URN and the purchase plan a VM must carry."
  value = {
    for v, img in data.rhelazure_marketplace_image.gold : v => {
      urn  = img.urn
      plan = img.plan
    }
  }
}

output "activation_key" {
  description = "Activation key name for `rhc connect --activation-key` / cloud-init."
  value       = rhelazure_activation_key.byos.name
}

output "cloud_access_source_id" {
  description = "The Red Hat Sources id of the enrolment (for `terraform import`)."
  value       = rhelazure_cloud_access.this.id
}
