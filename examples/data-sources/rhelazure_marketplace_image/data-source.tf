data "rhelazure_marketplace_image" "rhel9" {
  location     = "eastus"
  rhel_version = "9" # latest minor; "9.6" pins a minor (EUS)
}

output "rhel9_urn" {
  value = data.rhelazure_marketplace_image.rhel9.urn
}
