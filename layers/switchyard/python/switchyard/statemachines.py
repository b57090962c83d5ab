"""Load a workflow type's state machine from ``statemachines/<type>.asl.json``.

A machine file may hold ``{"$fragment": "<name>"}`` wherever a JSON object belongs; the object
is replaced by ``statemachines/fragments/<name>.asl.json``. An object may also hold
``"$merge": "<name>"``: the fragment's ``States`` are merged into it (the shared ending of every
machine: Finish, Outcome and the terminal states). That is how the one task pattern
(DESIGN.md section 3) is shared by every workflow type without being written twice. The CDK app
and the local runtime both call :func:`load_definition`, then fill the same ``${Placeholders}``.

State names must be unique across a whole machine, nested processors included (Step Functions
refuses a definition that repeats one: DUPLICATE_STATE_NAME). A fragment expanded as a Map
state's ``ItemProcessor`` therefore has its states renamed ``<Map state>.<state>``
(``Sources.BeginTask``, ``Stitch.BeginTask``), references included; :func:`state_names` lists
every name of a definition, for the check that none repeats.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_]+)\}")


def machines_dir() -> Path:
    """``statemachines/`` at the top of the repository (``SWITCHYARD_STATEMACHINES_DIR`` overrides)."""
    override = os.environ.get("SWITCHYARD_STATEMACHINES_DIR")
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[4] / "statemachines"


def _fragment(name: str, fragments: Path, seen: tuple[str, ...]) -> dict[str, Any]:
    if name in seen:
        raise ValueError(f"fragment {name!r} includes itself")
    fragment: dict[str, Any] = json.loads((fragments / f"{name}.asl.json").read_text())
    fragment.pop("Comment", None)
    return fragment


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


def _expand(node: Any, fragments: Path, seen: tuple[str, ...] = ()) -> Any:
    if isinstance(node, dict):
        if set(node) == {"$fragment"}:
            name = node["$fragment"]
            return _expand(_fragment(name, fragments, seen), fragments, (*seen, name))
        if "States" in node and isinstance(node["States"], dict):
            # a Map state whose processor is a fragment: that fragment's states take its name
            node = {
                **node,
                "States": {
                    key: {**body, "ItemProcessor": {**body["ItemProcessor"], "$prefix": key}}
                    if isinstance(body, dict)
                    and body.get("Type") == "Map"
                    and set(body.get("ItemProcessor") or {}) == {"$fragment"}
                    else body
                    for key, body in node["States"].items()
                },
            }
        if set(node) == {"$fragment", "$prefix"}:
            name = node["$fragment"]
            expanded = _expand(_fragment(name, fragments, seen), fragments, (*seen, name))
            return _rename(expanded, node["$prefix"])
        out = {key: _expand(value, fragments, seen) for key, value in node.items() if key != "$merge"}
        if "$merge" in node:
            name = node["$merge"]
            merged = _expand(_fragment(name, fragments, seen)["States"], fragments, (*seen, name))
            clash = set(out) & set(merged)
            if clash:
                raise ValueError(f"fragment {name!r} redefines {sorted(clash)}")
            out.update(merged)
        return out
    if isinstance(node, list):
        return [_expand(item, fragments, seen) for item in node]
    return node


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
