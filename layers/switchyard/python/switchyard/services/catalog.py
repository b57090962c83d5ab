"""The warehouse catalog: what the warehouse's tables mean for interactions (docs/interactions.md).

Administrators read and replace it through ``/api/warehouse/catalog``. A catalog is checked on
save: its shape by :class:`CatalogSettings`, and every table and column it names against the
warehouse. A name the warehouse lacks *today* is a warning, not an error (a table such as
``customers`` appears after its first build); a key column missing from a table that exists is an
error, since every audience at that level would fail.

A change is also checked against the tenant's saved interaction designs: one that would give a
design a problem it does not have today (a validation error, which blocks activation, or a
channel the offer would fail on when it runs) is refused with every such design and problem,
unless the request confirms it. Every change is recorded: who, when, what changed, which
designs it broke on confirmation.
"""

from __future__ import annotations

import contextlib
import dataclasses
import uuid
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_serializer

from switchyard.domain.errors import CatalogBreaksDesigns, CatalogInvalid
from switchyard.domain.interactions.activities import CATALOG_KIND, CATALOG_NAME, COLUMN, KEY, check_pgp_keys
from switchyard.domain.interactions.design import Problem
from switchyard.domain.interactions.instances import StoredDesign
from switchyard.domain.models import Principal
from switchyard.services.deps import Deps
from switchyard.services.interactions.validation import validate_design
from switchyard.services.interactions.warehouse import WarehouseCatalog, warehouse_tables
from switchyard.tasks.interactions.delivery import destination_problem
from switchyard.tasks.pgp import KeyProblem, key_names, load_recipient, signing_key_problem

# Catalog changes are configuration items of the catalog's kind (the only kind, with locks, the
# API may write on AWS), named ``catalog_history#<time>#<id>``.
HISTORY_PREFIX = "catalog_history#"
# Warnings on save that are failures when the design runs (docs/interactions.md, Validation).
FAILS_WHEN_RUN = frozenset({"unauthorised_channel"})
# Restrictions say who may use a name: they are checked for whoever saves or activates a design,
# and restricting a name is the administrator's intent, not a breakage.
FOR_SOMEONE = frozenset({"permission_denied"})

Name = Annotated[str, Field(pattern=KEY)]
Column = Annotated[str, Field(pattern=COLUMN)]
WhoList = list[Annotated[str, Field(min_length=1, max_length=128)]]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ResolutionLevel(_Strict):
    table: Name
    key: Column


class CatalogJoin(_Strict):
    from_: Name = Field(alias="from")
    left: Column
    to: Name
    right: Column

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class ExportTemplate(_Strict):
    columns: list[Column] = Field(min_length=1)
    # exports with this template are PGP-encrypted for this key (secret switchyard/pgp/<pgp_key>),
    # or for each of a list of 1 to 10 keys
    pgp_key: str | list[str] | None = None
    # and signed with our private key (secret switchyard/pgp-signing/<pgp_sign_key>)
    pgp_sign_key: Name | None = None
    # exports with this template deliver their files through this destination (s3 or sftp),
    # unless their channel has one (channel_destinations)
    destination: Name | None = None

    _pgp_keys = field_validator("pgp_key", mode="before")(check_pgp_keys)

    @model_serializer(mode="wrap")
    def _without_unset_key(self, handler: Any) -> Any:
        out = handler(self)
        for optional in ("pgp_key", "pgp_sign_key", "destination"):
            if out.get(optional) is None:
                out.pop(optional, None)
        return out


class Restricted(_Strict):
    """Who may use a name (roles and user names); a name not listed is open to everyone."""

    audiences: dict[str, WhoList] = Field(default_factory=dict)
    resolution_levels: dict[str, WhoList] = Field(default_factory=dict)
    channels: dict[str, WhoList] = Field(default_factory=dict)
    export_templates: dict[str, WhoList] = Field(default_factory=dict)
    databases: dict[str, WhoList] = Field(default_factory=dict)  # a data transfer's target database


class CatalogSettings(_Strict):
    resolution_levels: dict[Name, ResolutionLevel] = Field(default_factory=dict)
    primary_keys: dict[Name, list[Column]] = Field(default_factory=dict)
    joins: list[CatalogJoin] = Field(default_factory=list)
    offer_history_meta: dict[Name, Literal["string", "number", "integer", "boolean", "date"]] = Field(
        default_factory=dict
    )
    channels: list[Name] = Field(default_factory=list)
    export_templates: dict[Name, ExportTemplate] = Field(default_factory=dict)
    # channel -> the destination (configuration kind "destination") its exports deliver through
    channel_destinations: dict[Name, Name] = Field(default_factory=dict)
    restricted: Restricted = Field(default_factory=Restricted)

    @field_validator("primary_keys", mode="before")
    @classmethod
    def _one_key_is_a_list(cls, value: Any) -> Any:
        # the stored form accepts "customer_id" for ["customer_id"]
        if isinstance(value, dict):
            return {k: [v] if isinstance(v, str) else v for k, v in value.items()}
        return value

    def stored(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)


def catalog_problem(path: str, code: str, message: str, severity: Literal["error", "warning"]) -> Problem:
    return Problem(severity=severity, code=code, path=path, message=message)


def check_against_warehouse(settings: CatalogSettings, tables: dict[str, dict[str, str]]) -> list[Problem]:
    """Every table and column the catalog names, against what the warehouse holds now."""
    problems: list[Problem] = []

    def column(path: str, table: str, name: str) -> None:
        if table not in tables:
            problems.append(
                catalog_problem(
                    path,
                    "missing_table",
                    f"Table {table!r} is not in the warehouse yet; audiences that use it fail until it is.",
                    "warning",
                )
            )
        elif name not in tables[table]:
            have = ", ".join(sorted(tables[table])) or "no columns"
            problems.append(
                catalog_problem(
                    path,
                    "missing_column",
                    f"Table {table!r} has no column {name!r} (it has: {have}).",
                    "error",
                )
            )

    for level, spec in settings.resolution_levels.items():
        column(f"resolution_levels.{level}.key", spec.table, spec.key)
    for table, keys in settings.primary_keys.items():
        for i, key in enumerate(keys):
            column(f"primary_keys.{table}.{i}", table, key)
    for i, j in enumerate(settings.joins):
        column(f"joins.{i}.left", j.from_, j.left)
        column(f"joins.{i}.right", j.to, j.right)
    for name, template in settings.export_templates.items():
        if len(set(template.columns)) != len(template.columns):
            problems.append(
                catalog_problem(
                    f"export_templates.{name}.columns", "invalid_definition", "Columns repeat.", "error"
                )
            )
    # a level's table without a primary key: audiences de-duplicate on the key column only
    for level, spec in settings.resolution_levels.items():
        if spec.table not in settings.primary_keys:
            problems.append(
                catalog_problem(
                    f"resolution_levels.{level}",
                    "missing_primary_key",
                    f"Table {spec.table!r} has no primary key in the catalog: records are de-duplicated "
                    "on the level's key column only.",
                    "warning",
                )
            )
    return problems


def check_template_keys(settings: CatalogSettings, secrets: Any) -> list[Problem]:
    """Every export template's PGP keys must exist and be usable (exports with them would fail):
    its recipients' public keys, and its signing key (that it exists: only exports read it)."""
    problems: list[Problem] = []
    for name, template in settings.export_templates.items():
        several = isinstance(template.pgp_key, list)
        for i, key in enumerate(key_names(template.pgp_key)):
            try:
                load_recipient(secrets, key)
            except KeyProblem as problem:
                path = f"export_templates.{name}.pgp_key" + (f".{i}" if several else "")
                problems.append(catalog_problem(path, problem.code, problem.message, "error"))
        if template.pgp_sign_key:
            path = f"export_templates.{name}.pgp_sign_key"
            missing = signing_key_problem(secrets, template.pgp_sign_key)
            if missing is not None:
                problems.append(catalog_problem(path, missing.code, missing.message, "error"))
    return problems


def check_destinations(settings: CatalogSettings, config: Any) -> list[Problem]:
    """Mapped channels are the tenant's channels; named destinations exist; a template's
    destination takes files (a channel's is checked where an export uses it)."""
    problems: list[Problem] = []
    for channel, name in settings.channel_destinations.items():
        path = f"channel_destinations.{channel}"
        if channel not in settings.channels:
            problems.append(
                catalog_problem(
                    path, "unknown_channel", f"Channel {channel!r} is not in 'channels'.", "error"
                )
            )
        found = destination_problem(name, config)
        if found is not None:
            code, message = found
            # a channel may carry more than exports: a non-file destination fails only its exports
            severity: Literal["error", "warning"] = "error" if code == "unknown_destination" else "warning"
            extra = "" if severity == "error" else f" Exports to channel {channel!r} are refused."
            problems.append(catalog_problem(path, code, message + extra, severity))
    for template_name, template in settings.export_templates.items():
        if template.destination:
            found = destination_problem(template.destination, config)
            if found is not None:
                problems.append(
                    catalog_problem(
                        f"export_templates.{template_name}.destination", found[0], found[1], "error"
                    )
                )
    return problems


def parse_catalog(body: Any) -> tuple[CatalogSettings | None, list[Problem]]:
    """A catalog body parsed, or every structural error in it as a problem."""
    try:
        return CatalogSettings.model_validate(body), []
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            path = ".".join(str(p) for p in err.get("loc", ())) or "body"
            message = str(err.get("msg", "invalid")).removeprefix("Value error, ")
            problems.append(catalog_problem(path, "invalid_definition", message, "error"))
        return None, problems


def catalog_refusal(problems: list[Problem]) -> CatalogInvalid | None:
    """The 400 a catalog with these findings is answered, or None when none is an error."""
    errors = [p for p in problems if p.severity == "error"]
    if not errors:
        return None
    summary = "; ".join(f"{p.path}: {p.message}" for p in errors[:5])
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    return CatalogInvalid(
        f"The catalog has {len(errors)} error(s): {summary}{more}",
        {"problems": [p.model_dump() for p in problems]},
    )


class CatalogService:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    def tables(self) -> dict[str, dict[str, str]]:
        return warehouse_tables(self.deps.blobs, self.deps.settings.data_bucket)

    def view(self) -> dict[str, Any]:
        """The catalog as stored and the warehouse's tables with their columns."""
        stored = self.deps.config.get(CATALOG_KIND, CATALOG_NAME) or {}
        tables = self.tables()
        warnings: list[Problem] = []
        # a catalog written by hand outside the API may not parse; the next PUT shows its problems
        with contextlib.suppress(ValidationError):
            settings = CatalogSettings.model_validate(stored)
            warnings = check_against_warehouse(settings, tables) + check_destinations(
                settings, self.deps.config
            )
        return {
            "catalog": stored,
            "tables": [
                {"name": t, "columns": [{"name": c, "type": ty} for c, ty in cols.items()]}
                for t, cols in sorted(tables.items())
            ],
            "problems": [p.model_dump() for p in warnings],
        }

    def replace(self, principal: Principal, body: Any, *, confirm_breaking: bool = False) -> dict[str, Any]:
        """Validate and store a whole catalog, and record the change; nothing is stored when it
        has an error, or when it breaks saved designs and ``confirm_breaking`` is not given."""
        settings, problems = parse_catalog(body)
        if settings is not None:
            problems = check_against_warehouse(settings, self.tables())
            problems += check_template_keys(settings, self.deps.secrets)
            problems += check_destinations(settings, self.deps.config)
        refusal = catalog_refusal(problems)
        if refusal is not None:
            raise refusal
        assert settings is not None
        broken = self.broken_designs(principal, settings)
        if broken and not confirm_breaking:
            names = ", ".join(repr(d["name"]) for d in broken[:5])
            more = f" (and {len(broken) - 5} more)" if len(broken) > 5 else ""
            raise CatalogBreaksDesigns(
                f"This catalog would break {len(broken)} saved interaction design(s): {names}{more}. "
                "Change the designs first, or send the change again with ?confirm_breaking=true.",
                {"designs": broken},
            )
        before = self.deps.config.get(CATALOG_KIND, CATALOG_NAME) or {}
        stored = settings.stored()
        self.deps.config.put(CATALOG_KIND, CATALOG_NAME, stored)
        self._record(principal, before, stored, broken)
        return self.view()

    def broken_designs(self, principal: Principal, settings: CatalogSettings) -> list[dict[str, Any]]:
        """The tenant's designs that would have a problem under ``settings`` that they do not have
        under the current catalog, each with those problems (validated as ``principal``)."""
        designs = self.deps.interactions.designs.list(principal.tenant)
        if not designs:
            return []
        now = WarehouseCatalog.load(
            self.deps.blobs, self.deps.settings.data_bucket, self.deps.config, self.deps.secrets
        )
        proposed = dataclasses.replace(now, settings=settings.stored())
        broken = []
        for stored in sorted(designs, key=lambda d: d.design.name):
            today = _blocking(stored, principal, now)
            found = {k: m for k, m in _blocking(stored, principal, proposed).items() if k not in today}
            if found:
                broken.append(
                    {
                        "id": stored.id,
                        "name": stored.design.name,
                        "active": sorted(k for k, s in stored.state.items() if s.active),
                        "problems": [
                            {"path": path, "code": code, "message": message}
                            for (path, code), message in sorted(found.items())
                        ],
                    }
                )
        return broken

    def _record(
        self,
        principal: Principal,
        before: dict[str, Any],
        after: dict[str, Any],
        broken: list[dict[str, Any]],
    ) -> None:
        # a catalog written outside the API lacks the defaults: compare it as it would be stored
        with contextlib.suppress(ValidationError):
            before = CatalogSettings.model_validate(before).stored()
        at = self.deps.clock()
        stamp = at.isoformat().replace("+00:00", "Z")
        entry = {
            "id": uuid.uuid4().hex[:12],
            "at": stamp,
            "by": principal.user,
            "role": principal.role,
            "changed": sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k)),
            "broke_designs": [{"id": d["id"], "name": d["name"]} for d in broken],
            "catalog": after,
        }
        self.deps.config.put(CATALOG_KIND, f"{HISTORY_PREFIX}{stamp}#{entry['id']}", entry)

    def history(self, limit: int = 50) -> dict[str, Any]:
        """The catalog's changes, newest first."""
        entries = [e for e in self.deps.config.list_kind(CATALOG_KIND) if "changed" in e and "at" in e]
        entries.sort(key=lambda e: (str(e["at"]), str(e.get("id"))), reverse=True)
        return {"items": entries[: max(1, limit)]}


def _blocking(
    stored: StoredDesign, principal: Principal, catalog: WarehouseCatalog
) -> dict[tuple[str, str], str]:
    """The problems that keep a design from activating, or fail it when it runs, by (path, code)."""
    return {
        (p.path, p.code): p.message
        for p in validate_design(stored.design, principal, catalog)
        if (p.severity == "error" or p.code in FAILS_WHEN_RUN) and p.code not in FOR_SOMEONE
    }
