#!/usr/bin/env node
// Judges the local cloud's ARM traffic with Microsoft's own validator: oav's
// LiveValidator (installed by scripts/install-oav.sh) checks every recorded
// request and response against the vendored specs in
// specs/azure-rest-api-specs: status codes, required and read-only
// properties, enum values, types, long-running-operation headers.
//
// usage: scripts/validate-arm-traffic.js FILE_OR_DIR...   (JSON-lines request
// logs of the emulator; `make test` passes target/traffic, where every local
// cloud of the acceptance suite leaves its log)
//
// Requests are judged only when the local cloud accepted them (status below
// 400): a test may send a bad request on purpose to see it refused. Every
// response is judged. Operation-status URLs have no operation in the specs
// (the route check matches them against the URLs the emulator handed out),
// and token endpoints and Red Hat's APIs are not ARM. Prints the count per
// API and every distinct failure; exits 1 when any exchange is invalid.
"use strict";
const fs = require("fs");
const path = require("path");

const root = path.resolve(__dirname, "..");
const { LiveValidator } = require(path.join(root, ".tools/oav/node_modules/oav"));

// Where Azure answers with more than its own spec says, with the evidence.
// Each entry names the operation, the error code and the JSON path; nothing
// broader.
const ALLOWED = [
  {
    operationId: "VirtualMachineImages_Get",
    code: "OBJECT_ADDITIONAL_PROPERTIES",
    path: "$.properties.osDiskImage.sizeInGb",
    evidence:
      "Azure's VM image version answers carry osDiskImage.sizeInGb (the OS disk's size, as `az vm image show` prints it), " +
      "which the 2024-03-01 spec's OSDiskImage does not define; the provider reads it for the default OS disk size.",
  },
  {
    operationId: /^MarketplaceAgreements_/,
    code: "OBJECT_ADDITIONAL_PROPERTIES",
    path: "$.error.details",
    when: (e) =>
      e.status === 409 &&
      e.response_body &&
      e.response_body.error &&
      e.response_body.error.code === "MissingSubscriptionRegistration",
    evidence:
      "An unregistered namespace is refused by ARM itself, before the resource provider, in ARM's error format, " +
      "whose `details` MarketplaceOrdering's ErrorResponse does not list: " +
      '{"error":{"code":"MissingSubscriptionRegistration","message":…,"details":[{"code":…,"target":"Microsoft.X","message":…}]}} ' +
      "(live responses quoted in Azure/msrestazure-for-python#53 and Azure/azure-sdk-for-node#2305).",
  },
];

// Operations whose spec defines no error response at all (no `default`, no
// 4xx): DiskRP 2023-10-02, Storage 2023-05-01 and three Run Command
// operations. Azure still answers them with errors (404 for a missing disk,
// 409 for a conflict, 429 when ARM throttles, 5xx on faults), in ARM's
// common error format, which the resource provider contract requires of
// every failed request. For these, an error status is accepted when its body
// has that format: `{"error": {"code": string, "message": string}}`.
const NO_ERROR_RESPONSES = /^(Disks_|StorageAccounts_|VirtualMachineRunCommands_(List|Get)$|VirtualMachines_RunCommand$)/;

function armErrorBody(body) {
  return body && body.error && typeof body.error.code === "string" && typeof body.error.message === "string";
}

function allowed(operationId, err, exchange) {
  const paths = err.jsonPathsInPayload && err.jsonPathsInPayload.length ? err.jsonPathsInPayload : [err.path || ""];
  return ALLOWED.some(
    (a) =>
      (a.operationId instanceof RegExp ? a.operationId.test(operationId) : a.operationId === operationId) &&
      a.code === err.code &&
      paths.every((p) => p === a.path) &&
      (!a.when || a.when(exchange)),
  );
}

function logFiles(args) {
  const out = [];
  for (const a of args) {
    const st = fs.statSync(a);
    if (st.isDirectory()) {
      for (const f of fs.readdirSync(a).sort()) {
        if (f.endsWith(".jsonl")) out.push(path.join(a, f));
      }
    } else {
      out.push(a);
    }
  }
  return out;
}

// The Subscriptions API (`GET /subscriptions`, `/tenants`,
// `/subscriptions/{id}` and its `/locations`) has no vendored spec: only the
// Azure CLI calls it in the suite (`az login`, `az account show`,
// `az account list-locations` in the Azure CLI authentication tests), never
// the provider.
function unjudged(p) {
  const l = p.toLowerCase().replace(/\/$/, "");
  return (
    l === "/subscriptions" ||
    l === "/tenants" ||
    /^\/subscriptions\/[^/]+(\/locations)?$/.test(l)
  );
}

function skipped(p) {
  const l = p.toLowerCase();
  return (
    !l.startsWith("/subscriptions") ||
    unjudged(p) ||
    l.includes("/operations/") ||
    l.includes("/operationresults/") ||
    l.includes("/operationstatuses/") ||
    l.includes("/asyncoperations/")
  );
}

// The Resources provider's operations on a resource provider namespace
// (Providers_Get, Providers_Register: `/subscriptions/{id}/providers/
// {resourceProviderNamespace}[/register]`) are defined with the namespace as
// a parameter, so oav files them under its "Microsoft.Unknown" bucket, but it
// looks a request up under the namespace its URL names (and its fallback
// searches the same bucket again). Such a request is looked up with that
// namespace spelt as the bucket: same operation, same bodies.
function lookupPath(p) {
  const m = /^(\/subscriptions\/[^/]+\/providers\/)[^/]+(\/register|\/unregister)?$/i.exec(p);
  return m ? `${m[1]}Microsoft.Unknown${m[2] || ""}` : p;
}

// "Microsoft.Compute 2024-03-01" for a path and its api-version.
function apiOf(p, version) {
  const segs = p.split("/");
  const i = segs.map((s) => s.toLowerCase()).lastIndexOf("providers");
  const ns = i >= 0 && segs[i + 1] ? segs[i + 1] : "Microsoft.Resources";
  const canonical = ns.replace(/^microsoft\./i, "Microsoft.").replace(/\.(\w)/, (m, c) => "." + c.toUpperCase());
  return `${canonical} ${version || "(no api-version)"}`;
}

async function main() {
  const args = process.argv.slice(2);
  if (args.length === 0) {
    console.error("usage: validate-arm-traffic.js FILE_OR_DIR...");
    process.exit(2);
  }
  const validator = new LiveValidator({
    directory: path.join(root, "specs/azure-rest-api-specs"),
    git: { shouldClone: false },
    isPathCaseSensitive: false,
  });
  // oav logs through winston (spec loading notes, and each failure a second
  // time); the failures are reported here, once, with where they were seen.
  require(path.join(root, ".tools/oav/node_modules/oav/dist/lib/util/logging")).log.silent = true;
  await validator.initialize();

  const perApi = new Map(); // api -> [exchanges, invalid]
  const failures = new Map(); // distinct failure -> first file
  let total = 0;
  let invalid = 0;
  let allowedCount = 0;
  let undeclaredCount = 0;
  for (const file of logFiles(args)) {
    const lines = fs.readFileSync(file, "utf8").split("\n").filter(Boolean);
    for (const line of lines) {
      let e;
      try {
        e = JSON.parse(line);
      } catch {
        continue;
      }
      if (!e.path || skipped(e.path)) continue;
      const url = "https://management.azure.com" + lookupPath(e.path) + (e.api_version ? "?api-version=" + encodeURIComponent(e.api_version) : "");
      const method = String(e.method).toLowerCase();
      const requestBody = e.request_body === null ? undefined : e.request_body;
      const responseBody = e.response_body === null ? undefined : e.response_body;
      const headers = Object.assign({}, e.response_headers || {});
      const liveRequest = { url, method, headers: { "content-type": "application/json" }, body: requestBody };
      const liveResponse = { statusCode: String(e.status), headers, body: responseBody };
      const problems = [];
      const judge = (result, side) => {
        if (!result) return;
        const op = (result.operationInfo && result.operationInfo.operationId) || "";
        if (result.runtimeException) {
          problems.push(`${side}: ${result.runtimeException.code}: ${result.runtimeException.message.split("\n")[0]}`);
        }
        for (const err of result.errors || []) {
          const undeclaredError =
            side === "response" &&
            err.code === "INVALID_RESPONSE_CODE" &&
            e.status >= 400 &&
            NO_ERROR_RESPONSES.test(op) &&
            armErrorBody(responseBody);
          if (undeclaredError) {
            undeclaredCount++;
            continue;
          }
          if (allowed(op, err, e)) {
            allowedCount++;
            continue;
          }
          const where = err.jsonPathsInPayload && err.jsonPathsInPayload.length ? err.jsonPathsInPayload.join(",") : err.path || "";
          problems.push(`${op} ${side}: ${err.code} at ${where}: ${err.message}`);
        }
      };
      if (e.status < 400) {
        judge(await validator.validateLiveRequest(liveRequest, { includeErrors: undefined }), "request");
      }
      judge(await validator.validateLiveResponse(liveResponse, { url, method }), "response");
      const api = lookupPath(e.path) === e.path ? apiOf(e.path, e.api_version) : `Microsoft.Resources ${e.api_version}`;
      const counts = perApi.get(api) || [0, 0];
      counts[0]++;
      total++;
      if (problems.length) {
        counts[1]++;
        invalid++;
        for (const p of problems) {
          const key = `${e.method} ${e.status} ${p}`;
          if (!failures.has(key)) failures.set(key, `${path.basename(file)}: ${e.method} ${e.path}`);
        }
      }
      perApi.set(api, counts);
    }
  }

  console.log(`ARM traffic judged by oav's LiveValidator against specs/azure-rest-api-specs:`);
  for (const [api, [n, bad]] of [...perApi.entries()].sort()) {
    console.log(`  ${api.padEnd(42)} ${String(n).padStart(7)} exchanges, ${bad} invalid`);
  }
  console.log(`  total: ${total} exchanges, ${invalid} invalid`);
  console.log(`  accepted beyond the specs: ${allowedCount} by the allowlist (${ALLOWED.length} entries, each with its evidence), ${undeclaredCount} ARM errors of operations whose spec declares none`);
  for (const [f, where] of failures) {
    console.log(`INVALID ${f}\n    first seen in ${where}`);
  }
  if (total === 0) {
    console.log("no ARM exchanges were found: nothing was judged");
    process.exit(1);
  }
  process.exit(invalid > 0 ? 1 : 0);
}

main().catch((e) => {
  console.error(e);
  process.exit(2);
});
