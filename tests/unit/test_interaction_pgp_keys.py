"""Several recipients and a signing key for encrypted exports, over in-memory files and secrets:
how keys are named, what is wrong with a key, what the export writes and says."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pysequoia
import pytest
from pydantic import ValidationError
from switchyard.domain.interactions.activities import Export
from switchyard.domain.interactions.design import Problem
from switchyard.domain.task_errors import PgpKeyError
from switchyard.services.catalog import CatalogSettings, check_template_keys
from switchyard.services.interactions.checks import check_export_keys
from switchyard.services.interactions.warehouse import WarehouseCatalog
from switchyard.tasks.interactions.exports import run_export, summary_xml
from switchyard.tasks.pgp import KeyProblem, key_names, load_signer

from tests.fakes import MemoryBlobStore, MemorySecretStore
from tests.pgp_fixtures import PROTECTED_FINGERPRINT, PROTECTED_KEY, PROTECTED_PASSPHRASE
from tests.support.activities import BUCKET, context, everyone

ACME = pysequoia.Tsk.generate("Acme <acme@example.com>")
AUDIT = pysequoia.Tsk.generate("Audit <audit@example.com>")
OURS = pysequoia.Tsk.generate("Switchyard <exports@example.com>")


def fingerprint(tsk: Any) -> str:
    return str(tsk.extract_certificate().fingerprint).upper()


@pytest.fixture
def secrets() -> MemorySecretStore:
    store = MemorySecretStore()
    store.put("switchyard/pgp/acme", {"public_key": str(ACME.extract_certificate())})
    store.put("switchyard/pgp/audit", {"public_key": str(AUDIT.extract_certificate())})
    store.put_text("switchyard/pgp/ours", str(OURS))  # a private key stored as a recipient's
    # our signing keys, under their own prefix
    store.put_text("switchyard/pgp-signing/ours", str(OURS))  # an unprotected key as the whole secret
    store.put(
        "switchyard/pgp-signing/protected", {"private_key": PROTECTED_KEY, "passphrase": PROTECTED_PASSPHRASE}
    )
    store.put("switchyard/pgp-signing/wrong", {"private_key": PROTECTED_KEY, "passphrase": "nope"})
    store.put("switchyard/pgp-signing/locked", {"private_key": PROTECTED_KEY})
    store.put("switchyard/pgp-signing/junk", {"private_key": "-----BEGIN PGP PRIVATE KEY BLOCK-----\nxx\n"})
    store.put("switchyard/pgp-signing/acme", {"public_key": str(ACME.extract_certificate())})
    return store


@pytest.mark.parametrize(
    ("value", "names"),
    [(None, []), ("", []), ([], []), ("acme", ["acme"]), (["acme", "audit"], ["acme", "audit"])],
)
def test_key_names_reads_one_name_several_or_none(value: Any, names: list[str]) -> None:
    assert key_names(value) == names


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ([], "'pgp_key' is a key name or a list of 1 to 10 key names"),
        ([f"k{i}" for i in range(11)], "'pgp_key' is a key name or a list of 1 to 10 key names"),
        (["acme", "acme"], "'pgp_key' names a key more than once"),
        (["acme", "Audit"], "'Audit' is not a key name"),
        ("Acme", "'Acme' is not a key name"),
        (7, "'pgp_key' is a key name or a list of 1 to 10 key names"),
    ],
)
def test_pgp_key_is_one_name_or_one_to_ten_distinct_names(value: Any, says: str) -> None:
    with pytest.raises(ValidationError) as raised:
        Export.model_validate({"type": "export", "name": "E", "pgp_key": value})
    assert says in str(raised.value)
    with pytest.raises(ValidationError) as in_template:
        CatalogSettings.model_validate({"export_templates": {"t": {"columns": ["a"], "pgp_key": value}}})
    assert says in str(in_template.value)
    ten = [f"k{i}" for i in range(10)]
    assert Export.model_validate({"type": "export", "name": "E", "pgp_key": ten}).pgp_key == ten


def test_a_signing_key_unlocks_with_its_passphrase_or_without_one(secrets: MemorySecretStore) -> None:
    assert load_signer(secrets, "protected").fingerprint == PROTECTED_FINGERPRINT
    ours = load_signer(secrets, "ours")
    assert ours.name == "ours" and ours.fingerprint == fingerprint(OURS)


@pytest.mark.parametrize(
    ("name", "code", "says"),
    [
        (
            "nobody",
            "unknown_pgp_key",
            "PGP signing key 'nobody' does not exist: store the private key in the secret "
            "'switchyard/pgp-signing/nobody'",
        ),
        ("acme", "invalid_pgp_key", "The secret 'switchyard/pgp-signing/acme' holds no private key"),
        ("junk", "invalid_pgp_key", "PGP signing key 'junk' is not an OpenPGP private key"),
        (
            "wrong",
            "invalid_pgp_key",
            "PGP signing key 'wrong' cannot sign: the 'passphrase' in the secret "
            "'switchyard/pgp-signing/wrong' "
            "does not unlock it (wrong passphrase?)",
        ),
        (
            "locked",
            "invalid_pgp_key",
            "PGP signing key 'locked' cannot sign: it is protected and the secret "
            "'switchyard/pgp-signing/locked' has no 'passphrase': add it.",
        ),
    ],
)
def test_an_unusable_signing_key_says_what_to_fix(
    secrets: MemorySecretStore, name: str, code: str, says: str
) -> None:
    with pytest.raises(KeyProblem) as raised:
        load_signer(secrets, name)
    assert raised.value.code == code
    assert says in raised.value.message
    assert "\n" not in raised.value.message and "nope" not in raised.value.message


def _export_problems(
    secrets: MemorySecretStore, export: dict[str, Any], template: Any = None
) -> list[Problem]:
    settings = {"export_templates": {"t": template}} if template else {}
    catalog = WarehouseCatalog(tables={}, settings=settings, secrets=secrets)
    problems: list[Problem] = []
    check_export_keys(
        Export.model_validate({"type": "export", "name": "E", **export}), "x", catalog, problems
    )
    return problems


def test_export_key_problems_name_the_key_at_its_place_or_the_template(secrets: MemorySecretStore) -> None:
    assert _export_problems(secrets, {"pgp_key": ["acme", "audit"], "pgp_sign_key": "protected"}) == []
    own = _export_problems(secrets, {"pgp_key": ["acme", "nobody", "ours"], "pgp_sign_key": "nobody"})
    assert [(p.code, p.path) for p in own] == [
        ("unknown_pgp_key", "x.pgp_key.1"),
        ("invalid_pgp_key", "x.pgp_key.2"),
        ("unknown_pgp_key", "x.pgp_sign_key"),
    ]
    assert "holds a private key" in own[1].message
    assert "store the private key in the secret 'switchyard/pgp-signing/nobody'" in own[2].message
    # a signing key is not read where designs are checked: one that exists passes, even if it
    # would not unlock (the export that signs with it fails, and says why)
    assert _export_problems(secrets, {"pgp_key": "acme", "pgp_sign_key": "wrong"}) == []
    # one name: the path is the field itself
    assert [p.path for p in _export_problems(secrets, {"pgp_key": "nobody"})] == ["x.pgp_key"]
    # keys from the template: the path is the template, the message says which template
    template = {"columns": ["a"], "pgp_key": ["acme", "nobody"], "pgp_sign_key": "gone"}
    from_template = _export_problems(secrets, {"template": "t"}, template)
    assert [(p.code, p.path) for p in from_template] == [
        ("unknown_pgp_key", "x.template"),
        ("unknown_pgp_key", "x.template"),
    ]
    assert all(p.message.startswith("Export template 't': ") for p in from_template)
    # the activity's recipients win over the template's, and its signing key over the template's
    assert (
        _export_problems(secrets, {"template": "t", "pgp_key": "acme", "pgp_sign_key": "ours"}, template)
        == []
    )
    # a signing key without recipients signs nothing
    alone = _export_problems(secrets, {"pgp_sign_key": "ours"})
    assert [(p.code, p.path) for p in alone] == [("pgp_sign_without_pgp_key", "x.pgp_sign_key")]
    assert "name the recipients' keys in 'pgp_key'" in alone[0].message


def test_a_catalog_templates_keys_are_checked_at_their_paths(secrets: MemorySecretStore) -> None:
    settings = CatalogSettings.model_validate(
        {
            "export_templates": {
                "good": {"columns": ["a"], "pgp_key": ["acme", "audit"], "pgp_sign_key": "protected"},
                "bad": {"columns": ["a"], "pgp_key": ["acme", "nobody"], "pgp_sign_key": "audit"},
                "unread": {"columns": ["a"], "pgp_key": "acme", "pgp_sign_key": "wrong"},
                "one": {"columns": ["a"], "pgp_key": "nobody"},
            }
        }
    )
    assert [(p.code, p.path) for p in check_template_keys(settings, secrets)] == [
        ("unknown_pgp_key", "export_templates.bad.pgp_key.1"),
        ("unknown_pgp_key", "export_templates.bad.pgp_sign_key"),
        ("unknown_pgp_key", "export_templates.one.pgp_key"),
    ]


@pytest.mark.usefixtures("people")
def test_an_export_for_two_recipients_signed_writes_what_each_decrypts_and_says_who_signed(
    blobs: MemoryBlobStore, secrets: MemorySecretStore
) -> None:
    selected = everyone(blobs)
    export = Export.model_validate(
        {"type": "export", "name": "E", "folder": "out", "pgp_key": ["acme", "audit"], "pgp_sign_key": "ours"}
    )
    out = run_export(export, context(blobs, secrets=secrets), selected)
    assert out["encrypted"] == {
        "recipients": [
            {"pgp_key": "acme", "fingerprint": fingerprint(ACME)},
            {"pgp_key": "audit", "fingerprint": fingerprint(AUDIT)},
        ],
        "signed_by": {"pgp_key": "ours", "fingerprint": fingerprint(OURS)},
    }
    # a plain export after it does not claim its encryption
    plain = Export.model_validate({"type": "export", "name": "P", "folder": "plain"})
    assert "encrypted" not in run_export(plain, context(blobs, secrets=secrets), out)
    data = blobs.get(BUCKET, "out/actionExport.txt.pgp") or b""
    for tsk in (ACME, AUDIT):
        found = pysequoia.decrypt(
            data, decryptor=tsk.decryptor(), store=lambda _ids: [OURS.extract_certificate()]
        )
        assert bytes(found.bytes or b"").decode().splitlines()[0] == "customer_id|email"
        assert [str(s.certificate).upper() for s in found.valid_sigs] == [fingerprint(OURS)]


@pytest.mark.usefixtures("people")
def test_a_signing_key_without_recipients_or_that_cannot_sign_writes_nothing(
    blobs: MemoryBlobStore, secrets: MemorySecretStore
) -> None:
    selected = everyone(blobs)
    alone = Export.model_validate({"type": "export", "name": "E", "folder": "a", "pgp_sign_key": "ours"})
    with pytest.raises(PgpKeyError) as raised:
        run_export(alone, context(blobs, secrets=secrets), selected)
    assert raised.value.detail == {"pgp_sign_key": "ours", "problem": "pgp_sign_without_pgp_key"}
    wrong = alone.model_copy(update={"pgp_key": ["acme"], "pgp_sign_key": "wrong"})
    with pytest.raises(PgpKeyError) as failed:
        run_export(wrong, context(blobs, secrets=secrets), selected)
    assert failed.value.detail == {"pgp_sign_key": "wrong", "problem": "invalid_pgp_key"}
    assert "does not unlock it" in str(failed.value) and str(failed.value).endswith("Nothing was exported.")
    assert blobs.list(BUCKET, "a/") == []


def test_the_summary_of_a_single_recipient_export_is_unchanged_and_lists_several_in_order() -> None:
    common: dict[str, Any] = {
        "design": "d",
        "workflow": "w",
        "instance": 1,
        "activity": "E",
        "records": 2,
        "file": "actionExport.txt.pgp",
        "columns": ["a"],
        "at": datetime(2026, 1, 1, tzinfo=UTC),
    }
    one = summary_xml(**common, encryption={"recipients": [{"pgp_key": "acme", "fingerprint": "F1"}]})
    assert "<Encryption><Method>PGP</Method><Key>acme</Key><Fingerprint>F1</Fingerprint></Encryption>" in one
    two = summary_xml(
        **common,
        encryption={
            "recipients": [
                {"pgp_key": "acme", "fingerprint": "F1"},
                {"pgp_key": "audit", "fingerprint": "F2"},
            ],
            "signed_by": {"pgp_key": "ours", "fingerprint": "F3"},
        },
    )
    assert (
        "<Encryption><Method>PGP</Method><Key>acme</Key><Fingerprint>F1</Fingerprint>"
        "<Key>audit</Key><Fingerprint>F2</Fingerprint>"
        "<SignedBy><Key>ours</Key><Fingerprint>F3</Fingerprint></SignedBy></Encryption>"
    ) in two
