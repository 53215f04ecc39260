#!/usr/bin/env bash
# The end-to-end suite on a throwaway kind cluster: creates the cluster, builds the thv image from the
# Dockerfile and loads it into the cluster under the name deploy/ uses, applies deploy/ (CRDs, RBAC, the
# operator for all namespaces), waits for the operator, then runs `cargo test -p thv-e2e` against it with
# THV_E2E_REQUIRED=1 (a cluster problem fails the run instead of skipping it). The cluster is deleted at the
# end unless --keep is given.
#   scripts/e2e-kind.sh [--keep]
# Needs docker, kind and kubectl (with kustomize v5). Environment: THV_E2E_CLUSTER (default thv-e2e).
set -euo pipefail
cd "$(dirname "$0")/.."

keep=false
[[ "${1:-}" == "--keep" ]] && keep=true
cluster=${THV_E2E_CLUSTER:-thv-e2e}
for tool in docker kind kubectl cargo; do
    command -v "$tool" >/dev/null || { echo "$0: needs $tool on PATH" >&2; exit 1; }
done
# The image deploy/base/kustomization.yaml names; the operator starts its API pods from the same one.
name=$(sed -n 's/^ *newName: *//p' deploy/base/kustomization.yaml)
tag=$(sed -n 's/^ *newTag: *//p' deploy/base/kustomization.yaml)
image="$name:$tag"

kubeconfig=$(mktemp)
cleanup() {
    if [[ "$keep" == true ]]; then
        echo "== keeping cluster $cluster (kubeconfig $kubeconfig); delete it with: kind delete cluster --name $cluster"
    else
        kind delete cluster --name "$cluster" >/dev/null 2>&1 || true
        rm -f "$kubeconfig"
    fi
}
trap cleanup EXIT

echo "== kind cluster $cluster"
kind create cluster --name "$cluster" --kubeconfig "$kubeconfig" --wait 180s
export KUBECONFIG=$kubeconfig

echo "== image $image"
docker build --tag "$image" .
kind load docker-image --name "$cluster" "$image"

echo "== deploy/"
kubectl apply --server-side -k deploy/crds
kubectl wait --for=condition=Established crd/mcpregistries.toolhive.stacklok.io --timeout=60s
kubectl apply --server-side -k deploy/
kubectl -n thv-system rollout status deployment/thv-operator --timeout=180s

echo "== tests/e2e"
THV_E2E_KUBECONFIG=$kubeconfig THV_E2E_REQUIRED=1 cargo test -p thv-e2e -- --test-threads=1 || {
    echo "== operator logs"
    kubectl -n thv-system logs deployment/thv-operator --tail=200 || true
    exit 1
}
