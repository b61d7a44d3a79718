variable "name" {
  description = "Name of the image definition in the gallery, and prefix of what the module names (the build, the hosts)."
  type        = string
}

variable "resource_group_name" {
  description = "Existing resource group for the gallery, the build and the hosts."
  type        = string
}

variable "location" {
  description = "Azure region of the gallery; the first replica region."
  type        = string
}

variable "gallery_name" {
  description = "Azure Compute Gallery to create (letters, digits, '_' and '.'; no '-')."
  type        = string
}

variable "rhel_version" {
  description = "RHEL release Image Builder composes: \"9.6\" or \"10.0\"."
  type        = string
  default     = "9.6"
  validation {
    condition     = contains(["9.6", "10.0"], var.rhel_version)
    error_message = "rhel_version must be \"9.6\" or \"10.0\"."
  }
}

variable "packages" {
  description = "Packages the golden image adds to the RHEL base."
  type        = list(string)
  default     = ["podman", "container-tools"]
}

variable "publisher" {
  description = "Publisher of the image definition (your organization)."
  type        = string
  default     = "contoso"
}

variable "image_version" {
  description = "Version of the golden image (major.minor.patch); bump it to publish a new one."
  type        = string
  default     = "1.0.0"
}

variable "replica_regions" {
  description = "Regions the version is replicated to besides location."
  type        = list(string)
  default     = ["westus"]
}

variable "replica_count" {
  description = "Replicas per region."
  type        = number
  default     = 1
}

variable "host_count" {
  description = "Hosts booted from the definition's latest version with Trusted Launch."
  type        = number
  default     = 1
}

variable "host_size" {
  description = "VM size of the hosts (a generation 2 size: Trusted Launch needs one)."
  type        = string
  default     = "Standard_D2s_v5"
}

variable "subnet_id" {
  description = "Existing subnet for the hosts."
  type        = string
}

variable "ssh_public_keys" {
  description = "SSH public keys of the hosts' administrator."
  type        = list(string)
}
