# The golden-image path Azure recommends for RHEL: Image Builder composes a
# generation 2 RHEL image, it is published as a version of a gallery image
# definition that allows Trusted Launch, replicated to its regions, and hosts
# boot from the definition's latest version with Secure Boot and a vTPM.

# 1. The compose, delivered into the resource group as a managed image.
resource "rhelazure_image_build" "golden" {
  distribution        = "rhel-${var.rhel_version}"
  image_name          = "${var.name}-${replace(var.image_version, ".", "-")}"
  resource_group_name = var.resource_group_name
  hyper_v_generation  = "V2"
  customizations = {
    packages = var.packages
  }
}

# 2. The gallery and the image definition.
resource "rhelazure_gallery" "this" {
  name                = var.gallery_name
  resource_group_name = var.resource_group_name
  location            = var.location
  description         = "RHEL golden images"
}

resource "rhelazure_gallery_image" "rhel" {
  name                = var.name
  gallery_name        = rhelazure_gallery.this.name
  resource_group_name = var.resource_group_name
  location            = var.location
  hyper_v_generation  = "V2"
  security_type       = "TrustedLaunchSupported"
  identifier = {
    publisher = var.publisher
    offer     = "rhel"
    sku       = "${replace(var.rhel_version, ".", "_")}-gen2"
  }
}

# 3. The version, replicated to every region.
resource "rhelazure_gallery_image_version" "this" {
  name                = var.image_version
  gallery_name        = rhelazure_gallery.this.name
  image_name          = rhelazure_gallery_image.rhel.name
  resource_group_name = var.resource_group_name
  location            = var.location
  managed_image_id    = rhelazure_image_build.golden.id
  target_regions = [
    for region in concat([var.location], var.replica_regions) : {
      name          = region
      replica_count = var.replica_count
    }
  ]
}

# 4. Hosts from the latest version (read once the version is published).
data "rhelazure_gallery_image_version" "latest" {
  resource_group_name = var.resource_group_name
  gallery_name        = rhelazure_gallery.this.name
  image_name          = rhelazure_gallery_image.rhel.name
  depends_on          = [rhelazure_gallery_image_version.this]
}

resource "rhelazure_atomic_host" "hosts" {
  count               = var.host_count
  name                = "${var.name}-${count.index}"
  resource_group_name = var.resource_group_name
  location            = var.location
  subnet_id           = var.subnet_id
  size                = var.host_size
  ssh_public_keys     = var.ssh_public_keys
  source_image_id     = data.rhelazure_gallery_image_version.latest.id
  security_type       = "TrustedLaunch"
}
