# Managed images of one resource group that Image Builder did not make
list "rhelazure_image" "golden" {
  provider = rhelazure
  config {
    resource_group_name = "images"
  }
}
