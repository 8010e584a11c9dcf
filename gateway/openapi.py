"""One OpenAPI document for the whole public API, assembled from the services' own documents."""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import Any

from gateway.proxy import ROUTES

SECURITY_SCHEMES = {
    "writeKey": {
        "type": "http",
        "scheme": "basic",
        "description": "Segment write key as the Basic user name with an empty password, or `writeKey`.",
    },
    "apiKey": {
        "type": "http",
        "scheme": "bearer",
        "description": "Admin API key, or a console session's access token, as `Authorization: Bearer …`.",
    },
}
_METHODS = {"get", "put", "post", "delete", "patch", "options", "head"}


def _served_by(path: str, service: str) -> bool:
    return any(
        service == owner and (path == prefix or path.startswith(prefix + "/")) for prefix, owner in ROUTES
    )


def _rename_refs(node: Any, renames: Mapping[str, str]) -> Any:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            name = ref.rsplit("/", 1)[1]
            node = {**node, "$ref": f"#/components/schemas/{renames.get(name, name)}"}
        return {key: _rename_refs(value, renames) for key, value in node.items()}
    if isinstance(node, list):
        return [_rename_refs(item, renames) for item in node]
    return node


def _security_for(path: str) -> list[dict[str, list[str]]]:
    return [{"writeKey": []}] if path.startswith("/v1/") else [{"apiKey": []}]


def merge(gateway_doc: dict[str, Any], service_docs: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
    """The gateway's own paths plus each service's public paths, with one set of component schemas."""
    merged = copy.deepcopy(gateway_doc)
    merged["paths"] = {p: v for p, v in merged.get("paths", {}).items() if p.startswith(("/api/", "/v1/"))}
    schemas: dict[str, Any] = merged.setdefault("components", {}).setdefault("schemas", {})
    for service, doc in sorted(service_docs.items()):
        renames: dict[str, str] = {}
        for name, schema in doc.get("components", {}).get("schemas", {}).items():
            if name in schemas and json.dumps(schemas[name], sort_keys=True) != json.dumps(
                schema, sort_keys=True
            ):
                renames[name] = f"{service}_{name}"
        for name, schema in doc.get("components", {}).get("schemas", {}).items():
            schemas[renames.get(name, name)] = _rename_refs(schema, renames)
        for path, item in doc.get("paths", {}).items():
            if _served_by(path, service):
                merged["paths"][path] = _rename_refs(item, renames)
    for path, item in merged["paths"].items():
        for method, operation in item.items():
            if method in _METHODS and isinstance(operation, dict):
                operation.setdefault("security", _security_for(path))
    merged["components"]["securitySchemes"] = SECURITY_SCHEMES
    merged["info"] = {
        "title": "Customer Data Platform API",
        "version": gateway_doc.get("info", {}).get("version", "0.1.0"),
        "description": "The public API of every service, through the gateway. Errors are always "
        '`{"error": {"code", "message", "details"}}`; lists are `{"items", "next_cursor"}`.',
    }
    merged["paths"] = dict(sorted(merged["paths"].items()))
    return merged
