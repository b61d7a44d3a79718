data "rhelazure_marketplace_images" "rhel10" {
  location   = "eastus"
  rhel_major = "10"
}
