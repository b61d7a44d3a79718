resource "rhelazure_image_build" "podman_host" {
  distribution        = "rhel-9.6"
  image_name          = "rhel96-podman"
  resource_group_name = "images"

  customizations = {
    packages = ["podman", "container-tools"]
    subscription = {
      organization   = 11009103
      activation_key = rhelazure_activation_key.hosts.name
      insights       = true
    }
  }
}

# Published to a gallery instead: the compose's managed image becomes a
# replicated gallery image version (for Trusted Launch hosts) and is deleted.
resource "rhelazure_image_build" "golden" {
  distribution        = "rhel-9.6"
  image_name          = "rhel96-golden"
  resource_group_name = "images"

  customizations = {
    packages = ["podman"]
  }

  gallery = {
    gallery_name   = rhelazure_gallery.golden.name
    image_name     = rhelazure_gallery_image.rhel9.name
    version        = "1.0.0"
    target_regions = ["eastus", "westeurope"]
  }
}
