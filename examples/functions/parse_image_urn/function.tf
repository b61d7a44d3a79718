output "parts" {
  value = provider::rhelazure::parse_image_urn("RedHat:RHEL:9-lvm-gen2:latest")
}
