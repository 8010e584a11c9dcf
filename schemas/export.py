"""Export every topic's message model as JSON Schema into schemas/jsonschema/ (`make schemas`).

Run: python -m schemas.export [--check]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

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


def stale_files(directory: Path = OUTPUT) -> list[str]:
    """Names of exported files that are missing, different, or no longer in the registry."""
    expected = rendered()
    present = {path.name for path in directory.glob("*.json")} if directory.exists() else set()
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
    OUTPUT.mkdir(exist_ok=True)
    for old in OUTPUT.glob("*.json"):
        old.unlink()
    for name, text in rendered().items():
        (OUTPUT / name).write_text(text)
    print(f"wrote {len(TOPICS)} schemas to {OUTPUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
