#!/usr/bin/env python3
"""Extracts the operations of the API specs the local cloud emulates into
acceptance-tests/emulator/spec-routes.json (method, path template, api-version
or base path, operationId, source file), so the emulator's conformance test can
check every request it served against the official specs without needing the
spec files at test time.

usage: scripts/spec-routes.py SPECS_DIR   (the shared specs folder, e.g. ../shared/specs)
"""
import json
import pathlib
import sys

import yaml

ARM_FILES = [
    "compute/resource-manager/Microsoft.Compute/ComputeRP/stable/2024-03-01/image.json",
    "compute/resource-manager/Microsoft.Compute/ComputeRP/stable/2024-03-01/runCommand.json",
    "compute/resource-manager/Microsoft.Compute/ComputeRP/stable/2024-03-01/virtualMachine.json",
    "compute/resource-manager/Microsoft.Compute/ComputeRP/stable/2024-03-01/virtualMachineImage.json",
    "compute/resource-manager/Microsoft.Compute/DiskRP/stable/2023-10-02/disk.json",
    "compute/resource-manager/Microsoft.Compute/GalleryRP/stable/2023-07-03/gallery.json",
    "marketplaceordering/resource-manager/Microsoft.MarketplaceOrdering/stable/2021-01-01/Agreements.json",
    "network/resource-manager/Microsoft.Network/stable/2024-01-01/networkInterface.json",
    "network/resource-manager/Microsoft.Network/stable/2024-01-01/networkSecurityGroup.json",
    "network/resource-manager/Microsoft.Network/stable/2024-01-01/publicIpAddress.json",
    "network/resource-manager/Microsoft.Network/stable/2024-01-01/virtualNetwork.json",
    "resources/resource-manager/Microsoft.Resources/stable/2024-03-01/resources.json",
    "storage/resource-manager/Microsoft.Storage/stable/2023-05-01/storage.json",
]
REDHAT = [
    ("redhat-image-builder/api.yaml", "/api/image-builder/v1"),
    ("redhat-sources/openapi-3-v3.1.json", "/api/sources/v3.1"),
    ("redhat-rhsm-v2/openapi.json", "/api/rhsm/v2"),
]
METHODS = {"get", "put", "post", "patch", "delete", "head"}


def main() -> None:
    specs = pathlib.Path(sys.argv[1])
    routes = []
    for f in ARM_FILES:
        d = json.loads((specs / "azure-arm" / f).read_text())
        api = d["info"]["version"]
        for path, ops in {**d.get("paths", {}), **d.get("x-ms-paths", {})}.items():
            for m, op in ops.items():
                if m in METHODS:
                    routes.append({"method": m.upper(), "path": path, "api_version": api, "operation_id": op.get("operationId", ""), "spec": "azure-arm/" + f})
    for f, base in REDHAT:
        text = (specs / f).read_text()
        d = yaml.safe_load(text) if f.endswith(".yaml") else json.loads(text)
        for path, ops in d.get("paths", {}).items():
            for m, op in ops.items():
                if m in METHODS:
                    routes.append({"method": m.upper(), "path": base + path, "api_version": None, "operation_id": op.get("operationId", ""), "spec": f})
    out = pathlib.Path(__file__).resolve().parent.parent / "acceptance-tests/emulator/spec-routes.json"
    out.write_text(json.dumps({"generated_by": "scripts/spec-routes.py", "routes": routes}, indent=1) + "\n")
    print(f"{len(routes)} operations -> {out}")


if __name__ == "__main__":
    main()
