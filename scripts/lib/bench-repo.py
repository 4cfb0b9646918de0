"""Writes a generated fleet repository for scripts/bench-operator and scripts/soak.

    python3 scripts/lib/bench-repo.py DIR UNITS OBJECTS_PER_UNIT VERSION

DIR/units/uNN/objects.yaml holds one Namespace and OBJECTS_PER_UNIT - 1 objects (80% ConfigMaps,
20% Deployments with replicas 0, so the figures measure the operator and not kwok's pods), each
carrying VERSION; DIR/clusters/bench/sync.yaml holds one GitRepository (interval 1m, URL
@REPO_URL@) and one Kustomization per unit (wait, prune).
"""

import os
import sys

root, units, per_unit, version = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
width = max(2, len(str(units - 1)))
os.makedirs(f"{root}/clusters/bench", exist_ok=True)
sync = ["apiVersion: gitops.rs/v1alpha1\nkind: GitRepository\nmetadata:\n  name: bench\n"
        "  namespace: gitops-system\nspec:\n  url: @REPO_URL@\n  ref:\n    branch: main\n"
        "  interval: 1m\n"]
for u in range(units):
    name = f"u{u:0{width}}"
    d = f"{root}/units/{name}"
    os.makedirs(d, exist_ok=True)
    docs = [f"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: bench-{name}\n"]
    for i in range(per_unit - 1):
        if i % 5 == 4:
            docs.append(
                f"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d{i}\n"
                f"  namespace: bench-{name}\n  labels:\n    version: \"{version}\"\nspec:\n"
                f"  replicas: 0\n  selector:\n    matchLabels:\n      app: d{i}\n  template:\n"
                f"    metadata:\n      labels:\n        app: d{i}\n    spec:\n      containers:\n"
                f"      - name: app\n        image: registry.invalid/app:{version}\n")
        else:
            docs.append(
                f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c{i}\n"
                f"  namespace: bench-{name}\ndata:\n  version: \"{version}\"\n  index: \"{i}\"\n")
    with open(f"{d}/objects.yaml", "w") as f:
        f.write("---\n".join(docs))
    sync.append(
        f"apiVersion: gitops.rs/v1alpha1\nkind: Kustomization\nmetadata:\n  name: {name}\n"
        f"  namespace: gitops-system\nspec:\n  sourceRef:\n    kind: GitRepository\n"
        f"    name: bench\n  path: ./units/{name}\n  interval: 10m\n  prune: true\n"
        f"  wait: true\n  timeout: 5m\n")
with open(f"{root}/clusters/bench/sync.yaml", "w") as f:
    f.write("---\n".join(sync))
