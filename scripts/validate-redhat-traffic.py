#!/usr/bin/env python3
"""Judges the local cloud's Red Hat traffic with openapi-core (installed by
scripts/install-openapi-validator.sh into .tools/openapi-venv): every
recorded request and response of hosted Image Builder, Sources and RHSM v2
against the official OpenAPI documents vendored in specs/.

usage: .tools/openapi-venv/bin/python scripts/validate-redhat-traffic.py FILE_OR_DIR...
       (JSON-lines request logs of the emulator; `make test` passes target/traffic)

Requests are judged (path, query parameters, body) only when the local cloud
accepted them (status below 400): a test may send a bad request on purpose.
Security requirements are not: the specs describe the services behind
console.redhat.com's gateway (x-rh-identity and the like), while clients
present an SSO bearer token to the gateway. Red Hat SSO's token endpoint is
OpenID Connect, for which Red Hat publishes no OpenAPI document, so it is
not judged here. Prints the count per API and every distinct failure; exits
1 when any exchange is invalid.
"""
import collections
import json
import pathlib
import sys

import yaml
from openapi_core import OpenAPI
from openapi_core.testing import MockRequest, MockResponse
from openapi_core.validation.request.validators import (
    V30RequestBodyValidator,
    V30RequestParametersValidator,
)

ROOT = pathlib.Path(__file__).resolve().parent.parent
# Base path under the emulator's /redhat prefix -> vendored document.
SPECS = [
    ("/api/image-builder/v1", "specs/redhat-image-builder/api.yaml", "Image Builder v1"),
    ("/api/sources/v3.1", "specs/redhat-sources/openapi-3-v3.1.json", "Sources v3.1"),
    ("/api/rhsm/v2", "specs/redhat-rhsm-v2/openapi.json", "RHSM v2"),
]
HOST = "https://console.redhat.com"


def rhsm_error(body):
    """RHSM v2's own error format (components ErrorResponse / ErrorDetails)."""
    err = body.get("error") if isinstance(body, dict) else None
    return isinstance(err, dict) and isinstance(err.get("code"), int) and isinstance(err.get("message"), str)


# Some RHSM v2 operations declare no 400 or 404 (showActivationKey,
# createActivationKeys), though the API answers them so for a missing key or
# a taken name, as it does for the operations that declare them. Such an
# answer is accepted when it is in the API's own declared error format, and
# counted apart. (The provider never takes an undeclared 404 as absence: it
# confirms with the list.)
UNDECLARED_STATUSES = {"RHSM v2": (400, 404)}


def errors_list(body):
    """Image Builder's and Sources' error format: {"errors": [{..., "detail"}]}."""
    errs = body.get("errors") if isinstance(body, dict) else None
    return isinstance(errs, list) and bool(errs) and all(isinstance(e, dict) and isinstance(e.get("detail"), str) for e in errs)


# Throttling (429) and server-side failures (5xx) can come from any route:
# console.redhat.com's API gateway answers them in front of every service,
# whatever each operation declares. Accepted in the API's own error format,
# and counted apart; the fault-injection tests are where they come from.
GATEWAY_STATUSES = (429, 500, 502, 503, 504)
ERROR_FORMATS = {"RHSM v2": rhsm_error, "Image Builder v1": errors_list, "Sources v3.1": errors_list}


def string_keys(v):
    """YAML reads `200:` as an integer; OpenAPI keys are strings."""
    if isinstance(v, dict):
        return {str(k): string_keys(x) for k, x in v.items()}
    if isinstance(v, list):
        return [string_keys(x) for x in v]
    return v


def load(base, rel):
    text = (ROOT / rel).read_text()
    doc = string_keys(yaml.safe_load(text) if rel.endswith(".yaml") else json.loads(text))
    # The documents name their own servers (relative, or templated); the
    # emulator serves each API at the console's base path.
    doc["servers"] = [{"url": HOST + base}]
    return OpenAPI.from_dict(doc)


def detail(exc):
    cause = exc.__cause__ or exc
    errors = getattr(cause, "schema_errors", None)
    if errors:
        return "; ".join(
            "%s at /%s" % (e.message[:200], "/".join(map(str, e.absolute_path))) for e in errors
        )
    return "%s: %s" % (type(cause).__name__, str(cause)[:300])


def log_files(args):
    for a in args:
        p = pathlib.Path(a)
        if p.is_dir():
            yield from sorted(p.glob("*.jsonl"))
        else:
            yield p


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    apis = [(base, name, load(base, rel)) for base, rel, name in SPECS]
    counts = collections.Counter()
    invalid = collections.Counter()
    failures = {}
    undeclared = 0
    gateway = 0
    for file in log_files(sys.argv[1:]):
        for line in file.read_text().splitlines():
            try:
                e = json.loads(line)
            except ValueError:
                continue
            path = (e.get("path") or "").removeprefix("/redhat")
            for base, name, api in apis:
                if path == base or path.startswith(base + "/"):
                    break
            else:
                continue
            headers = e.get("response_headers") or {}
            body = None if e.get("request_body") is None else json.dumps(e["request_body"]).encode()
            request = MockRequest(HOST, e["method"].lower(), path, data=body, content_type="application/json")
            response_body = b"" if e.get("response_body") is None else json.dumps(e["response_body"]).encode()
            content_type = headers.get("content-type", "application/json").split(";")[0]
            response = MockResponse(response_body, status_code=e["status"], content_type=content_type)
            problems = []
            if e["status"] < 400:
                for validator in (V30RequestParametersValidator, V30RequestBodyValidator):
                    try:
                        validator(api.spec).validate(request)
                    except Exception as exc:  # every failure is a finding, whatever its class
                        problems.append("request: " + detail(exc))
            try:
                api.validate_response(request, response)
            except Exception as exc:
                # Only an undeclared status in the API's own error format.
                excused = type(exc).__name__ == "ResponseNotFound" and ERROR_FORMATS[name](e.get("response_body"))
                if excused and e["status"] in UNDECLARED_STATUSES.get(name, ()):
                    undeclared += 1
                elif excused and e["status"] in GATEWAY_STATUSES:
                    gateway += 1
                else:
                    problems.append("response: " + detail(exc))
            counts[name] += 1
            if problems:
                invalid[name] += 1
                for p in problems:
                    failures.setdefault("%s %s %s" % (e["method"], e["status"], p), "%s: %s %s" % (file.name, e["method"], path))
    print("Red Hat traffic judged by openapi-core against specs/redhat-*:")
    for _, _, name in SPECS:
        print("  %-20s %7d exchanges, %d invalid" % (name, counts[name], invalid[name]))
    total, bad = sum(counts.values()), sum(invalid.values())
    print("  total: %d exchanges, %d invalid" % (total, bad))
    print(
        "  accepted beyond the specs: %d RHSM errors in its own format for statuses the operation does not declare, "
        "%d gateway answers (429, 5xx) in the API's error format" % (undeclared, gateway)
    )
    for f, where in failures.items():
        print("INVALID %s\n    first seen in %s" % (f, where))
    if total == 0:
        print("no Red Hat exchanges were found: nothing was judged")
        return 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
