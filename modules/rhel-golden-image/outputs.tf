output "gallery_id" {
  description = "ARM id of the gallery."
  value       = rhelazure_gallery.this.id
}

output "image_definition_id" {
  description = "ARM id of the image definition."
  value       = rhelazure_gallery_image.rhel.id
}

output "image_version_id" {
  description = "ARM id of the published version."
  value       = rhelazure_gallery_image_version.this.id
}

output "replicated_to" {
  description = "Regions the version is replicated to."
  value       = rhelazure_gallery_image_version.this.target_regions[*].name
}

output "latest_version_id" {
  description = "The definition's latest version, which the hosts boot."
  value       = data.rhelazure_gallery_image_version.latest.id
}

output "hosts" {
  description = "Each host's name, private IP address and security type."
  value = [
    for h in rhelazure_atomic_host.hosts : {
      name          = h.name
      private_ip    = h.private_ip_address
      security_type = h.security_type
    }
  ]
}
