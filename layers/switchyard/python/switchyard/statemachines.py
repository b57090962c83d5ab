"""Load a workflow type's state machine from ``statemachines/<type>.asl.json``.

A machine file may hold ``{"$fragment": "<name>"}`` wherever a JSON object belongs; the object
is replaced by ``statemachines/fragments/<name>.asl.json`` (its top-level ``Comment``, which
describes the fragment, dropped). A reference may add ``"$with": {"<parameter>": "<value>"}``:
every ``{{parameter}}`` in the fragment's keys and strings becomes its value, and a parameter
the fragment names but the reference does not give, or the reverse, is an error. A ``States``
object may also hold ``"$merge": "<name>"``: the fragment's ``States`` are merged into it (the shared ending
of every machine: Finish, Outcome and the terminal states). That is how the one task pattern
(DESIGN.md section 3) is shared by every workflow type without being written twice, and how
the states every machine repeats are too: ``plan`` (the first state, with parameters
``planned`` and ``next``) and ``stage`` (a Map state running one stage's tasks through the task
pattern, with ``stage`` and ``next``), so a machine file holds only its stages and their order.
The CDK app and the local runtime both call :func:`load_definition`, then fill the same
``${Placeholders}``.

State names must be unique across a whole machine, nested processors included (Step Functions
refuses a definition that repeats one: DUPLICATE_STATE_NAME). A fragment expanded as a Map
state's ``ItemProcessor`` therefore has its states renamed ``<Map state>.<state>``
(``Sources.BeginTask``, ``Stitch.BeginTask``), references included, also when the Map state
itself comes from a fragment; :func:`state_names` lists every name of a definition, for the
check that none repeats.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_]+)\}")
PARAMETER = re.compile(r"\{\{([A-Za-z0-9_]+)\}\}")


def machines_dir() -> Path:
    """``statemachines/`` at the top of the repository (``SWITCHYARD_STATEMACHINES_DIR`` overrides)."""
    override = os.environ.get("SWITCHYARD_STATEMACHINES_DIR")
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[4] / "statemachines"


def _fragment(
    name: str, fragments: Path, seen: tuple[str, ...], parameters: dict[str, str] | None = None
) -> dict[str, Any]:
    if name in seen:
        raise ValueError(f"fragment {name!r} includes itself")
    fragment: dict[str, Any] = json.loads((fragments / f"{name}.asl.json").read_text())
    fragment.pop("Comment", None)
    return _fill(fragment, name, parameters or {})


def _fill(fragment: dict[str, Any], name: str, parameters: dict[str, str]) -> dict[str, Any]:
    """``fragment`` with every ``{{parameter}}`` (in keys and string values) replaced by its value;
    a parameter the fragment names but ``parameters`` lacks, or the reverse, is an error."""
    used: set[str] = set()

    def value_of(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in parameters:
            raise ValueError(f"fragment {name!r} needs parameter {key!r}")
        used.add(key)
        return parameters[key]

    def walk(node: Any) -> Any:
        if isinstance(node, str):
            return PARAMETER.sub(value_of, node)
        if isinstance(node, dict):
            return {PARAMETER.sub(value_of, key): walk(value) for key, value in node.items()}
        if isinstance(node, list):
            return [walk(item) for item in node]
        return node

    filled: dict[str, Any] = walk(fragment)
    unused = set(parameters) - used
    if unused:
        raise ValueError(f"fragment {name!r} has no parameter {sorted(unused)}")
    return filled


def _rename(machine: dict[str, Any], prefix: str) -> dict[str, Any]:
    """``machine`` (a StartAt and States) with every state, nested ones too, named ``prefix.name``."""

    def name(target: str) -> str:
        return f"{prefix}.{target}"

    def state(body: dict[str, Any]) -> dict[str, Any]:
        out = dict(body)
        for key in ("Next", "Default"):
            if key in out:
                out[key] = name(out[key])
        if "Choices" in out:
            out["Choices"] = [{**rule, "Next": name(rule["Next"])} for rule in out["Choices"]]
        if "Catch" in out:
            out["Catch"] = [{**catcher, "Next": name(catcher["Next"])} for catcher in out["Catch"]]
        for key in ("ItemProcessor", "Iterator"):
            if key in out:
                out[key] = _rename(out[key], prefix)
        if "Branches" in out:
            out["Branches"] = [_rename(branch, prefix) for branch in out["Branches"]]
        return out

    return {
        **machine,
        "StartAt": name(machine["StartAt"]),
        "States": {name(key): state(body) for key, body in machine["States"].items()},
    }


def _expand(node: Any, fragments: Path, seen: tuple[str, ...] = (), state: str | None = None) -> Any:
    """``node`` with its fragments expanded; ``state`` is the name of the state ``node`` is the
    body of, if it is one (a Map state whose processor is a fragment gives it its name)."""
    if isinstance(node, list):
        return [_expand(item, fragments, seen) for item in node]
    if not isinstance(node, dict):
        return node
    if "$fragment" in node:
        extra = set(node) - {"$fragment", "$with", "$prefix"}
        if extra:
            raise ValueError(f"a fragment reference holds $fragment and $with only, not {sorted(extra)}")
        name = node["$fragment"]
        parameters = node.get("$with", {})
        if not isinstance(parameters, dict) or not all(isinstance(v, str) for v in parameters.values()):
            raise ValueError(f"fragment {name!r}: $with maps parameter names to strings")
        fragment = _fragment(name, fragments, seen, parameters)
        expanded = _expand(fragment, fragments, (*seen, name), state)
        return _rename(expanded, node["$prefix"]) if "$prefix" in node else expanded
    if state is not None and node.get("Type") == "Map" and "$fragment" in (node.get("ItemProcessor") or {}):
        # a Map state whose processor is a fragment: that fragment's states take its name
        node = {**node, "ItemProcessor": {**node["ItemProcessor"], "$prefix": state}}
    return {
        key: _states(value, fragments, seen)
        if key == "States" and isinstance(value, dict) and "$fragment" not in value
        else _expand(value, fragments, seen)
        for key, value in node.items()
    }


def _states(states: dict[str, Any], fragments: Path, seen: tuple[str, ...]) -> dict[str, Any]:
    """A ``States`` object expanded, each state knowing its name, ``$merge`` merged in."""
    out = {key: _expand(body, fragments, seen, key) for key, body in states.items() if key != "$merge"}
    if "$merge" in states:
        name = states["$merge"]
        merged = _states(_fragment(name, fragments, seen)["States"], fragments, (*seen, name))
        clash = set(out) & set(merged)
        if clash:
            raise ValueError(f"fragment {name!r} redefines {sorted(clash)}")
        out.update(merged)
    return out


def load_definition(workflow_type: str, directory: Path | None = None) -> str:
    """The machine's ASL as a JSON string, fragments expanded, placeholders left in place."""
    directory = directory or machines_dir()
    raw = json.loads((directory / f"{workflow_type}.asl.json").read_text())
    return json.dumps(_expand(raw, directory / "fragments"), indent=1)


def state_names(machine: dict[str, Any]) -> list[str]:
    """Every state name of a machine (a parsed definition), nested processors and branches
    included, in order: a name that appears twice appears twice here."""
    names: list[str] = []
    for key, body in machine.get("States", {}).items():
        names.append(key)
        for processor in ("ItemProcessor", "Iterator"):
            if processor in body:
                names += state_names(body[processor])
        for branch in body.get("Branches", []):
            names += state_names(branch)
    return names


def placeholders(definition: str) -> set[str]:
    return set(PLACEHOLDER.findall(definition))


def substitute(definition: str, values: dict[str, str]) -> str:
    """Fill ``${Placeholders}`` the way CloudFormation's DefinitionSubstitutions does."""
    missing = placeholders(definition) - set(values)
    if missing:
        raise KeyError(f"no substitution for {sorted(missing)}")
    return PLACEHOLDER.sub(lambda m: values[m.group(1)], definition)
