resource "rhelazure_gallery" "golden" {
  name                = "rhel_golden" # letters, digits, '_' and '.': Azure allows no '-' here
  resource_group_name = "images"
  location            = "eastus"
  description         = "RHEL golden images"
}
