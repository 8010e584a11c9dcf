"""The segment rule language: models, the field catalogue, parsing with paths, the in-memory evaluator.

The one contract for rules shared by segmentation, campaigns (`branch` steps), the AI service and UIs.
Reference: docs/segments.md. The SQL compiler lives in services/segmentation/domain/sql.py.
"""

from schemas.rules.catalogue import (
    EVENT_OPERATORS,
    OPERATORS,
    FieldCatalogue,
    FieldSpec,
    FieldType,
    JsonType,
    json_type_of,
    profile_fields,
)
from schemas.rules.evaluate import (
    EventFact,
    Percentiles,
    evaluate,
    events_of,
    fields_of,
    is_time_relative,
    percentile_cont,
    percentiles_of,
    predicate,
)
from schemas.rules.model import (
    LINE_ITEMS,
    LINE_PREFIX,
    AllOf,
    AnyOf,
    Condition,
    EventCondition,
    FieldCondition,
    Not,
    Percentile,
    PropertyFilter,
    Rule,
    line_key,
    to_json,
    walk,
)
from schemas.rules.parse import MAX_DEPTH, MAX_NODES, RuleError, parse_rule

__all__ = [
    "EVENT_OPERATORS",
    "LINE_ITEMS",
    "LINE_PREFIX",
    "MAX_DEPTH",
    "MAX_NODES",
    "OPERATORS",
    "AllOf",
    "AnyOf",
    "Condition",
    "EventCondition",
    "EventFact",
    "FieldCatalogue",
    "FieldCondition",
    "FieldSpec",
    "FieldType",
    "JsonType",
    "Not",
    "Percentile",
    "Percentiles",
    "PropertyFilter",
    "Rule",
    "RuleError",
    "evaluate",
    "events_of",
    "fields_of",
    "is_time_relative",
    "json_type_of",
    "line_key",
    "parse_rule",
    "percentile_cont",
    "percentiles_of",
    "predicate",
    "profile_fields",
    "to_json",
    "walk",
]
