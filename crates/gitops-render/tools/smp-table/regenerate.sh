#!/usr/bin/env bash
# Regenerates src/kustomize/data/smp_table.json from the patchStrategy/patchMergeKey struct tags of
# k8s.io/api (the data the API server publishes in /openapi/v2). Needs Go; works offline from the
# module cache when the modules are there (GOPROXY=off), otherwise set GOPROXY.
set -euo pipefail
cd "$(dirname "$0")"
go run . > ../../src/kustomize/data/smp_table.json
