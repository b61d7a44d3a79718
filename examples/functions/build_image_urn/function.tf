output "urn" {
  value = provider::rhelazure::build_image_urn({ publisher = "RedHat", offer = "RHEL", sku = "10-lvm-gen2" })
}
