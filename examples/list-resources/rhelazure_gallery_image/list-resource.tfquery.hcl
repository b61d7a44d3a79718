# The image definitions of one gallery
list "rhelazure_gallery_image" "golden" {
  provider = rhelazure
  config {
    resource_group_name = "images"
    gallery_name        = "rhel_golden"
  }
}
