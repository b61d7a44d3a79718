resource "rhelazure_gallery_image" "rhel9" {
  name                = "rhel-9"
  gallery_name        = rhelazure_gallery.golden.name
  resource_group_name = rhelazure_gallery.golden.resource_group_name
  location            = rhelazure_gallery.golden.location
  identifier = {
    publisher = "contoso"
    offer     = "rhel"
    sku       = "9-gen2"
  }
  # Generation V2 is the default; hosts from it may boot with Trusted Launch.
  security_type = "TrustedLaunchSupported"
}
