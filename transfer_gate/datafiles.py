"""Reading the project's YAML data files (rules, cases, citations, taxonomy, country profiles).

One loader for all of them: safe, libyaml when available, YAML 1.2-style booleans only
(`code: NO` stays Norway, `yes` stays a string) and duplicate keys rejected, so a rule or a
profile can never silently lose a field to a later copy of the same key.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from .errors import DataFileError


class Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """A safe loader without yes/no/on/off booleans, rejecting duplicate keys."""


Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def _construct_mapping(loader, node):
    loader.flatten_mapping(node)
    result = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in result:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        result[key] = loader.construct_object(value_node, deep=True)
    return result


Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def parse(raw: bytes | str, path, error=DataFileError):
    """Parse YAML text read from `path`; raise `error(path, message)` when it is not valid."""
    try:
        return yaml.load(raw, Loader=Loader)  # noqa: S506 - Loader is a SafeLoader
    except yaml.YAMLError as exc:
        raise error(path, f"not valid YAML: {exc}") from None


def read(path, error=DataFileError):
    """Read and parse one YAML data file."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise error(path, f"cannot read: {exc}") from None
    return parse(raw, path, error)
