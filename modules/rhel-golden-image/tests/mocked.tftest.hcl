# The module's wiring, with no cloud at all: every rhelazure resource and
# data source is mocked, so this runs anywhere (no credentials).

mock_provider "rhelazure" {
  mock_resource "rhelazure_image_build" {
    defaults = {
      id = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.Compute/images/golden-1-0-0"
    }
  }
  mock_data "rhelazure_gallery_image_version" {
    defaults = {
      id = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.Compute/galleries/g/images/golden/versions/1.0.0"
    }
  }
}

variables {
  name                = "golden"
  resource_group_name = "rg"
  location            = "eastus"
  gallery_name        = "g"
  replica_regions     = ["westus", "northeurope"]
  replica_count       = 2
  host_count          = 3
  subnet_id           = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/subnets/s"
  ssh_public_keys     = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMockKey ops@example"]
}

run "a_trusted_launch_definition_of_generation_2" {
  command = plan

  assert {
    condition     = rhelazure_gallery_image.rhel.security_type == "TrustedLaunchSupported" && rhelazure_gallery_image.rhel.hyper_v_generation == "V2"
    error_message = "The definition allows Trusted Launch and is generation 2."
  }
  assert {
    condition     = rhelazure_gallery_image.rhel.identifier.sku == "9_6-gen2"
    error_message = "The SKU names the RHEL release and the generation."
  }
  assert {
    condition     = rhelazure_image_build.golden.distribution == "rhel-9.6" && rhelazure_image_build.golden.hyper_v_generation == "V2"
    error_message = "Image Builder composes RHEL 9.6, generation 2, by default."
  }
}

run "replicas_in_every_region" {
  command = plan

  assert {
    condition     = [for t in rhelazure_gallery_image_version.this.target_regions : "${t.name}/${t.replica_count}"] == ["eastus/2", "westus/2", "northeurope/2"]
    error_message = "location first, then each replica region, each with replica_count replicas."
  }
}

run "hosts_boot_the_latest_version_with_trusted_launch" {
  command = apply

  assert {
    condition     = length(rhelazure_atomic_host.hosts) == 3
    error_message = "host_count hosts."
  }
  assert {
    condition     = alltrue([for h in rhelazure_atomic_host.hosts : h.source_image_id == data.rhelazure_gallery_image_version.latest.id && h.security_type == "TrustedLaunch"])
    error_message = "Each host boots the latest version with Trusted Launch."
  }
  assert {
    condition     = rhelazure_gallery_image_version.this.managed_image_id == rhelazure_image_build.golden.id
    error_message = "The version is made from the compose."
  }
}

run "rhel_10" {
  command = plan

  variables {
    rhel_version = "10.0"
  }

  assert {
    condition     = rhelazure_image_build.golden.distribution == "rhel-10.0" && rhelazure_gallery_image.rhel.identifier.sku == "10_0-gen2"
    error_message = "RHEL 10 composes and is named as such."
  }
}

run "an_unsupported_release_is_refused" {
  command = plan

  variables {
    rhel_version = "8.10"
  }

  expect_failures = [var.rhel_version]
}
