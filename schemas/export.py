"""Export every topic's message model as JSON Schema into schemas/jsonschema/ (`make schemas`), and
the typed properties of each known track event into schemas/jsonschema/ecommerce/.

Run: python -m schemas.export [--check]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from schemas.ecommerce import EVENT_PROPERTIES, snake_case
from schemas.topics import TOPICS

OUTPUT = Path(__file__).parent / "jsonschema"


def rendered() -> dict[str, str]:
    """File name → JSON Schema text for every topic in the registry."""
    files = {}
    for spec in TOPICS:
        schema = spec.value_model.model_json_schema(mode="serialization")
        schema["$id"] = f"urn:cdp:topic:{spec.name}"
        schema["x-topic"] = {
            "name": spec.name,
            "key": spec.key,
            "partitions": spec.partitions,
            "compacted": spec.compacted,
            "dlq": spec.dlq,
        }
        files[f"{spec.name}.json"] = json.dumps(schema, indent=2, sort_keys=True) + "\n"
    return files


def rendered_events() -> dict[str, str]:
    """Path (under the output directory) → JSON Schema text of each known track event's properties."""
    files = {}
    for event, model in EVENT_PROPERTIES.items():
        schema = model.model_json_schema(mode="serialization")
        schema["$id"] = f"urn:cdp:event:{snake_case(event)}"
        schema["x-event"] = event
        files[f"ecommerce/{snake_case(event)}.json"] = json.dumps(schema, indent=2, sort_keys=True) + "\n"
    return files


def expected_files() -> dict[str, str]:
    """Everything `make schemas` writes: the topics' schemas, then the events' properties."""
    return {**rendered(), **rendered_events()}


def _present(directory: Path) -> set[str]:
    if not directory.exists():
        return set()
    return {path.relative_to(directory).as_posix() for path in directory.rglob("*.json")}


def stale_files(directory: Path = OUTPUT) -> list[str]:
    """Names of exported files that are missing, different, or no longer in the registry."""
    expected = expected_files()
    present = _present(directory)
    stale = [
        name
        for name, text in expected.items()
        if not (directory / name).exists() or (directory / name).read_text() != text
    ]
    return sorted(stale + sorted(present - set(expected)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if the exported files are not current")
    args = parser.parse_args()
    if args.check:
        stale = stale_files()
        if stale:
            print("stale JSON Schemas (run `make schemas`):", ", ".join(stale), file=sys.stderr)
            return 1
        return 0
    for old in _present(OUTPUT):
        (OUTPUT / old).unlink()
    files = expected_files()
    for name, text in files.items():
        (OUTPUT / name).parent.mkdir(parents=True, exist_ok=True)
        (OUTPUT / name).write_text(text)
    print(f"wrote {len(files)} schemas to {OUTPUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
