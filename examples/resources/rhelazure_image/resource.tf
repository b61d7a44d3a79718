resource "rhelazure_image" "custom" {
  name                = "rhel9-custom"
  resource_group_name = "images"
  location            = "eastus"
  source_path         = "${path.module}/disk.raw" # raw or fixed VHD; only data pages are uploaded
  storage_account_id  = azurerm_storage_account.images.id
}
