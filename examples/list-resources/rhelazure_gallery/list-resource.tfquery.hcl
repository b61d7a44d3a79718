# The Compute Galleries of one resource group
list "rhelazure_gallery" "images" {
  provider = rhelazure
  config {
    resource_group_name = "images"
  }
}
