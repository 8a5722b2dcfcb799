#!/usr/bin/env python3
"""Extract the facts of the Amazon ECR API model from the pinned botocore.

Reads the ECR 2015-09-21 service model, paginators and waiters that botocore
ships in its package data, drops every piece of prose (documentation,
documentationUrl, deprecation messages, waiter descriptions, examples) and
writes api-models/ecr-2015-09-21.json with sorted keys, so that the file only
changes when the API itself changes.

Every key of the source model is either kept or dropped on purpose: a key this
script has not been taught about makes it fail, so a botocore bump cannot
silently lose a fact (or smuggle in prose).

Usage: python3 api-models/extract.py [--out PATH]
"""

import argparse
import gzip
import json
import os
import sys

import botocore

# The model is pinned: bump this together with requirements.txt, rerun
# api-models/regenerate and review the diff of the JSON and the Rust output.
BOTOCORE_VERSION = "1.43.11"

SERVICE = "ecr"
API_VERSION = "2015-09-21"

# metadata: facts kept; everything else in metadata is dropped on purpose.
METADATA_KEEP = {
    "apiVersion",
    "endpointPrefix",
    "jsonVersion",
    "protocol",
    "protocols",
    "serviceAbbreviation",
    "serviceFullName",
    "serviceId",
    "signatureVersion",
    "signingName",
    "targetPrefix",
    "uid",
}
METADATA_DROP = {"auth"}

OPERATION_KEEP = {"name", "http", "input", "output", "errors", "deprecated", "idempotent"}
OPERATION_DROP = {"documentation", "documentationUrl", "deprecatedMessage"}

SHAPE_KEEP = {
    "type",
    "members",
    "required",
    "enum",
    "min",
    "max",
    "pattern",
    "member",
    "key",
    "value",
    "exception",
    "fault",
    "error",
    "box",
    "deprecated",
    "sensitive",
    "timestampFormat",
}
SHAPE_DROP = {"documentation", "deprecatedMessage"}

# A reference to a shape: a structure member, list member, map key/value,
# an operation's input/output/errors entry.
REF_KEEP = {
    "shape",
    "deprecated",
    "box",
    "timestampFormat",
    "jsonvalue",
    "idempotencyToken",
}
REF_DROP = {"documentation", "deprecatedMessage"}

WAITER_KEEP = {"operation", "delay", "maxAttempts", "acceptors"}
WAITER_DROP = {"description"}


def fail(msg):
    print(f"extract.py: {msg}", file=sys.stderr)
    sys.exit(1)


def pick(where, obj, keep, drop):
    """Copy the kept keys of obj; fail on any key that is neither kept nor dropped."""
    unknown = set(obj) - keep - drop
    if unknown:
        fail(f"{where}: unexpected key(s) {sorted(unknown)}; teach extract.py to keep or drop them")
    return {k: v for k, v in obj.items() if k in keep}


def ref(where, obj):
    return pick(where, obj, REF_KEEP, REF_DROP)


def shape_facts(name, shape):
    out = pick(f"shape {name}", shape, SHAPE_KEEP, SHAPE_DROP)
    if "members" in out:
        out["members"] = {m: ref(f"shape {name} member {m}", r) for m, r in out["members"].items()}
    for k in ("member", "key", "value"):
        if k in out:
            out[k] = ref(f"shape {name} {k}", out[k])
    if "error" in out:
        # {"code": ..., "httpStatusCode": ..., "senderFault": ...}: all facts, no prose.
        out["error"] = dict(out["error"])
    return out


def operation_facts(name, op):
    out = pick(f"operation {name}", op, OPERATION_KEEP, OPERATION_DROP)
    for k in ("input", "output"):
        if k in out:
            out[k] = ref(f"operation {name} {k}", out[k])
    if "errors" in out:
        out["errors"] = [ref(f"operation {name} error", e) for e in out["errors"]]
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    here = os.path.dirname(os.path.abspath(__file__))
    parser.add_argument("--out", default=os.path.join(here, f"{SERVICE}-{API_VERSION}.json"))
    args = parser.parse_args()

    if botocore.__version__ != BOTOCORE_VERSION:
        fail(
            f"botocore {botocore.__version__} is installed but the model is pinned to "
            f"{BOTOCORE_VERSION}: pip install -r api-models/requirements.txt"
        )

    # Read the package data directly (not through botocore.loaders, whose
    # search path also looks at ~/.aws/models and could pick up a local override).
    data_dir = os.path.join(os.path.dirname(botocore.__file__), "data", SERVICE, API_VERSION)
    with gzip.open(os.path.join(data_dir, "service-2.json.gz"), "rt", encoding="utf-8") as f:
        service = json.load(f)
    with open(os.path.join(data_dir, "paginators-1.json"), encoding="utf-8") as f:
        paginators = json.load(f)
    with open(os.path.join(data_dir, "waiters-2.json"), encoding="utf-8") as f:
        waiters = json.load(f)

    pick("service", service, {"version", "metadata", "operations", "shapes"}, {"documentation"})

    model = {
        "source": {
            "botocore": BOTOCORE_VERSION,
            "files": [
                f"botocore/data/{SERVICE}/{API_VERSION}/service-2.json.gz",
                f"botocore/data/{SERVICE}/{API_VERSION}/paginators-1.json",
                f"botocore/data/{SERVICE}/{API_VERSION}/waiters-2.json",
            ],
        },
        "version": service["version"],
        "metadata": pick("metadata", service["metadata"], METADATA_KEEP, METADATA_DROP),
        "operations": {n: operation_facts(n, op) for n, op in service["operations"].items()},
        "shapes": {n: shape_facts(n, s) for n, s in service["shapes"].items()},
        "paginators": pick("paginators", paginators, {"pagination"}, set())["pagination"],
        "waiters": {
            n: pick(f"waiter {n}", w, WAITER_KEEP, WAITER_DROP)
            for n, w in pick("waiters", waiters, {"version", "waiters"}, set())["waiters"].items()
        },
    }

    # Dangling references would only show up as a confusing codegen panic.
    shapes = model["shapes"]
    for n, op in model["operations"].items():
        for r in [op.get("input"), op.get("output"), *op.get("errors", [])]:
            if r is not None and r["shape"] not in shapes:
                fail(f"operation {n} refers to unknown shape {r['shape']}")
    for n, s in shapes.items():
        refs = list(s.get("members", {}).values()) + [s[k] for k in ("member", "key", "value") if k in s]
        for r in refs:
            if r["shape"] not in shapes:
                fail(f"shape {n} refers to unknown shape {r['shape']}")

    text = json.dumps(model, sort_keys=True, indent=1, ensure_ascii=True) + "\n"
    with open(args.out, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)
    print(
        f"wrote {os.path.relpath(args.out)}: {len(model['operations'])} operations, "
        f"{len(shapes)} shapes (botocore {BOTOCORE_VERSION})"
    )


if __name__ == "__main__":
    main()
