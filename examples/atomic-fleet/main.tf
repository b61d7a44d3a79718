# A small fleet of RHEL container hosts on BYOS gold images:
#
#   Cloud Access enrolment -> gold image -> terms -> activation key
#   -> three hosts that register with Red Hat on first boot and run a UBI
#      container as a Podman quadlet unit.
#
# Change `containers` or `host_size` and apply: the hosts are updated in place
# (Run Command / resize), never replaced.

terraform {
  required_version = ">= 1.11" # the oldest Terraform the tests run
  required_providers {
    rhelazure = {
      source = "rhel-on-azure/rhelazure"
    }
  }
}

provider "rhelazure" {}

variable "redhat_organization" {
  description = "Red Hat organization id the hosts register to (console.redhat.com)."
  type        = number
}

variable "ssh_public_key" {
  description = "SSH public key for the hosts' administrator."
  type        = string
}

variable "hosts" {
  description = "How many hosts."
  type        = number
  default     = 3
}

variable "host_size" {
  description = "VM size of every host (changes in place)."
  type        = string
  default     = "Standard_B2s"
}

variable "location" {
  type    = string
  default = "eastus"
}

variable "resource_group_name" {
  description = "Existing resource group with the virtual network."
  type        = string
  default     = "rhel-demo"
}

variable "subnet" {
  description = "Existing virtual network and subnet the hosts join."
  type        = object({ virtual_network = string, name = string })
  default     = { virtual_network = "rhel-demo-vnet", name = "hosts" }
}

data "rhelazure_client_config" "current" {}

resource "rhelazure_cloud_access" "fleet" {
  name = "atomic-fleet"
}

# Gold images are Marketplace plans: their terms must be accepted once per
# subscription. The plan comes from the pure function, known at plan time,
# not from the lookup: Terraform defers a data source that depends on a
# resource with any change planned, so an agreement fed from the lookup would
# be planned for replacement (cancelling the terms) by a mere rename of the
# enrolment. depends_on only orders it after the enrolment.
resource "rhelazure_marketplace_agreement" "gold" {
  publisher  = "redhat"
  offer      = provider::rhelazure::rhel_marketplace_sku({ rhel_version = "9.6", billing = "byos" }).offer
  plan       = provider::rhelazure::rhel_marketplace_sku({ rhel_version = "9.6", billing = "byos" }).sku
  depends_on = [rhelazure_cloud_access.fleet]
}

resource "rhelazure_activation_key" "fleet" {
  name          = "atomic-fleet"
  service_level = "Premium"
  usage         = "Production"
  role          = "Red Hat Enterprise Linux Server"
}

resource "rhelazure_atomic_host" "fleet" {
  count = var.hosts

  name                = "fleet-${count.index}"
  resource_group_name = var.resource_group_name
  location            = var.location
  subnet_id           = "/subscriptions/${data.rhelazure_client_config.current.subscription_id}/resourceGroups/${var.resource_group_name}/providers/Microsoft.Network/virtualNetworks/${var.subnet.virtual_network}/subnets/${var.subnet.name}"
  size                = var.host_size
  ssh_public_keys     = [var.ssh_public_key]

  # From the pure function (known at plan time), so no change of the
  # enrolment can make the image unknown and plan the hosts for replacement;
  # version "latest" is resolved once, at create.
  marketplace_image = {
    publisher = "RedHat"
    offer     = rhelazure_marketplace_agreement.gold.offer
    sku       = rhelazure_marketplace_agreement.gold.plan
    version   = "latest"
  }
  marketplace_agreement_id = rhelazure_marketplace_agreement.gold.id

  registration = {
    organization   = var.redhat_organization
    activation_key = rhelazure_activation_key.fleet.name
  }

  containers = [{
    name    = "hello"
    image   = "registry.access.redhat.com/ubi9/ubi-minimal:latest"
    command = ["sleep", "infinity"]
  }]

  tags = { fleet = "atomic" }
}

output "hosts" {
  description = "Name -> private IP of every host."
  value       = { for h in rhelazure_atomic_host.fleet : h.name => h.private_ip_address }
}
