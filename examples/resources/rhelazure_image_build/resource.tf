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
