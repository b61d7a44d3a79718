# The versions of one image definition
list "rhelazure_gallery_image_version" "rhel9" {
  provider = rhelazure
  config {
    resource_group_name = "images"
    gallery_name        = "rhel_golden"
    image_name          = "rhel-9"
  }
}
