# A custom disk image made on this machine, uploaded to Azure and registered as
# a managed image.
#
# A terraform_data step makes a small sparse raw disk (64 MiB with a few
# megabytes of data) next to this file; rhelazure_image uploads only the pages
# that hold data, as a resumable page blob, adds the VHD footer Azure needs,
# and creates the managed image from it. Point source_path at a real RHEL disk
# (from Image Builder's "raw"/"vhd" output or virt-builder) for real use.

terraform {
  required_version = ">= 1.11" # the oldest Terraform the tests run
  required_providers {
    rhelazure = {
      source = "rhel-on-azure/rhelazure"
    }
  }
}

provider "rhelazure" {}

variable "storage_account_id" {
  description = "ARM id of an existing storage account the disk is uploaded to."
  type        = string
}

variable "resource_group_name" {
  description = "Existing resource group for the managed image."
  type        = string
  default     = "rhel-demo"
}

variable "location" {
  description = "Region of the managed image (the storage account's region)."
  type        = string
  default     = "eastus"
}

locals {
  disk = "${path.module}/disk.raw"
}

# Makes the raw disk: sparse, 64 MiB (Azure wants whole MiB), 4 MiB of data.
resource "terraform_data" "disk" {
  input = local.disk

  provisioner "local-exec" {
    command = <<-SH
      set -e
      rm -f '${self.input}'
      truncate -s 64M '${self.input}'
      head -c 4194304 /dev/urandom | dd of='${self.input}' bs=1M seek=8 conv=notrunc status=none
    SH
  }

  provisioner "local-exec" {
    when    = destroy
    command = "rm -f '${self.output}'"
  }
}

resource "rhelazure_image" "custom" {
  name                = "custom-from-raw"
  resource_group_name = var.resource_group_name
  location            = var.location
  storage_account_id  = var.storage_account_id
  # The provider hashes the file when planning, so the path is only known
  # once the disk exists: taking (zero characters of) terraform_data's id
  # orders the two within one apply.
  source_path = "${terraform_data.disk.output}${substr(terraform_data.disk.id, 0, 0)}"

  tags = {
    built-by = "terraform"
  }
}

output "image_id" {
  description = "Managed image id, for a VM's source_image_id."
  value       = rhelazure_image.custom.id
}

output "upload" {
  description = "How much the upload sent and how much it skipped as zeros."
  value = {
    blob_uri           = rhelazure_image.custom.blob_uri
    uploaded_bytes     = rhelazure_image.custom.uploaded_bytes
    skipped_zero_bytes = rhelazure_image.custom.skipped_zero_bytes
    sha256             = rhelazure_image.custom.source_sha256
  }
}
