resource "rhelazure_gallery_image_version" "v1" {
  name                = "1.0.0"
  gallery_name        = rhelazure_gallery.golden.name
  image_name          = rhelazure_gallery_image.rhel9.name
  resource_group_name = rhelazure_gallery.golden.resource_group_name
  location            = rhelazure_gallery.golden.location
  # One source: a managed image, a page blob (blob_uri + storage_account_id),
  # or a disk image on this machine (source_path + storage_account_id).
  managed_image_id = rhelazure_image_build.podman_host.id
  target_regions = [
    { name = "eastus" },
    { name = "westeurope", replica_count = 2 },
  ]
}
