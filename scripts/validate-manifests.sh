#!/usr/bin/env bash
# Checks the manifests under deploy/: builds every kustomization with `kubectl kustomize`, validates every built
# object with kubernetes-validate --strict (pinned; its Kubernetes schemas ship inside the package, so it works
# offline once installed) for the oldest and newest Kubernetes the operator supports, and validates the
# MCPRegistry examples against the committed CRD's schema (kubernetes-validate has no schema for custom kinds;
# the CEL rules are evaluated by `cargo test -p thv-operator --test schema`). Fails on any error or on an object
# it could not validate.
#
# With FILE arguments (`scripts/validate-manifests.sh out.yaml…`, as `thv registry migrate`'s test runs it), only
# those files are checked, the same way as the examples: built-in kinds with kubernetes-validate --strict, the operator's
# kinds with their committed CRD schemas; kubectl is not needed then.
#
# Environment: THV_KV_VENV (default ${XDG_CACHE_HOME:-$HOME/.cache}/thv-registry/kubernetes-validate-$VERSION).
set -euo pipefail
files=()
for file in "$@"; do
    files+=("$(realpath "$file")")
done
cd "$(dirname "$0")/.."

readonly KUBERNETES_VALIDATE_VERSION=1.37.0
# k8s-openapi's feature in Cargo.toml (v1_33) is the oldest; 1.37 is the newest kubernetes-validate knows.
readonly KUBERNETES_VERSIONS=(1.33.0 1.37.0)
venv=${THV_KV_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/thv-registry/kubernetes-validate-$KUBERNETES_VALIDATE_VERSION}

# kubectl with its built-in kustomize 5 (components, kind-changing patches). Debian's kubernetes-client is far
# older, so it is not installed from there: the machine's kubectl (google-cloud-sdk) or a current release.
if [[ ${#files[@]} -eq 0 ]]; then
    kustomize_version=$(kubectl version --client 2>/dev/null | sed -n 's/^Kustomize Version: v\([0-9]*\).*/\1/p') || true
    if [[ -z "$kustomize_version" || "$kustomize_version" -lt 5 ]]; then
        echo "$0: needs kubectl with kustomize v5 or later (kubectl 1.27+); found: $(kubectl version --client 2>&1 | tr '\n' ' ')" >&2
        exit 1
    fi
fi

if [[ ! -x "$venv/bin/kubernetes-validate" ]]; then
    echo "== installing kubernetes-validate $KUBERNETES_VALIDATE_VERSION into $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

versions=()
for version in "${KUBERNETES_VERSIONS[@]}"; do
    versions+=(-k "$version")
done

status=0
with_crds=()
# Every kustomization except components (which only build as part of another); none with FILE arguments.
while [[ ${#files[@]} -eq 0 ]] && IFS= read -r file; do
    dir=$(dirname "$file")
    if grep -q '^kind: Component' "$file"; then
        continue
    fi
    out="$work/$(echo "$dir" | tr / _).yaml"
    echo "== kubectl kustomize $dir"
    if ! kubectl kustomize "$dir" >"$out"; then
        status=1
        continue
    fi
    # A build holding the operator's kinds (a GitOps example) is checked object by object below, the built-in
    # kinds there with the same strict kubernetes-validate schemas.
    if grep -q '^apiVersion: toolhive.stacklok.io/' "$out"; then
        with_crds+=("$out")
        continue
    fi
    # Any WARN (no schema for a kind) fails too: every built object must be validated.
    if ! "$venv/bin/kubernetes-validate" --strict --quiet "${versions[@]}" "$out" >"$work/report" 2>&1 \
        || [[ -s "$work/report" ]]; then
        sed "s#$out#$dir#" "$work/report" >&2
        status=1
    fi
done < <(find deploy -name kustomization.yaml | sort)

if [[ ${#files[@]} -eq 0 ]]; then
    files=(deploy/examples/*.yaml)
fi
files+=("${with_crds[@]}")
echo "== ${files[*]}: built-in kinds with kubernetes-validate, the operator's kinds with their CRD schemas"
"$venv/bin/python" - deploy/crds/toolhive.stacklok.io_*.yaml -- "${files[@]}" <<'PY' || status=1
import sys

import jsonschema
import yaml
from kubernetes_validate import utils

VERSIONS = ["1.33.0", "1.37.0"]


def strict(node):
    """The CRD schema as the API server applies it with strict field validation: unknown fields refused."""
    if isinstance(node, dict):
        if node.get("nullable") and isinstance(node.get("type"), str):
            node["type"] = [node["type"], "null"]
        if "properties" in node and "additionalProperties" not in node:
            node["additionalProperties"] = False
        for value in node.values():
            strict(value)
    elif isinstance(node, list):
        for value in node:
            strict(value)
    return node


split = sys.argv.index("--")
crd_files, examples = sys.argv[1:split], sys.argv[split + 1:]
validators = {}
for crd_file in crd_files:
    with open(crd_file) as f:
        crd = next(d for d in yaml.safe_load_all(f) if d)
    schema = strict(crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"])
    schema["properties"].update({"apiVersion": {"type": "string"}, "kind": {"type": "string"}, "metadata": {"type": "object"}})
    api_version = f"{crd['spec']['group']}/{crd['spec']['versions'][0]['name']}"
    validators[crd["spec"]["names"]["kind"]] = (api_version, jsonschema.Draft7Validator(schema))

failed = False
for path in examples:
    with open(path) as f:
        documents = [d for d in yaml.safe_load_all(f) if d]
    failed_before = failed
    for doc in documents:
        what = f"{path}: {doc.get('kind')}/{doc.get('metadata', {}).get('name')}"
        if doc.get("kind") in validators:
            api_version, validator = validators[doc["kind"]]
            if doc.get("apiVersion") != api_version:
                print(f"ERROR {what}: apiVersion must be {api_version}")
                failed = True
            for error in validator.iter_errors(doc):
                print(f"ERROR {what}: {'.'.join(map(str, error.path))}: {error.message}")
                failed = True
            continue
        for k8s in VERSIONS:
            try:
                utils.validate(doc, k8s, strict=True)
            except utils.ValidationError as error:
                print(f"ERROR {what} (Kubernetes {k8s}): {'.'.join(map(str, error.path))}: {error.message}")
                failed = True
            except utils.SchemaNotFoundError as error:
                print(f"ERROR {what}: {error.message}")
                failed = True
    print(f"FAILED {path}" if failed and not failed_before else f"ok {path}")
sys.exit(1 if failed else 0)
PY

echo "== validate-manifests: $([[ $status == 0 ]] && echo ok || echo FAILED)"
exit "$status"
