# The latest version of a definition (the highest not excluded from latest)
data "rhelazure_gallery_image_version" "latest" {
  resource_group_name = "images"
  gallery_name        = "rhel_golden"
  image_name          = "rhel-9"
}

output "golden_image" {
  value = data.rhelazure_gallery_image_version.latest.id # pin hosts to it: source_image_id
}
