"""PGP-encrypted exports over in-memory files and secrets: which keys are usable, what is written."""

from __future__ import annotations

import pysequoia
import pytest
from switchyard.domain.interactions.activities import Export
from switchyard.domain.task_errors import PgpKeyError
from switchyard.tasks.interactions.exports import run_export, unique_names
from switchyard.tasks.pgp import KeyProblem, load_recipient

from tests.fakes import MemoryBlobStore, MemorySecretStore
from tests.support.activities import BUCKET, context, everyone

SECRET = pysequoia.Tsk.generate("Acme <acme@example.com>")
PUBLIC = str(SECRET.extract_certificate())


@pytest.fixture
def secrets() -> MemorySecretStore:
    store = MemorySecretStore()
    store.put("switchyard/pgp/acme", {"public_key": PUBLIC})
    store.put_text("switchyard/pgp/acme_plain", PUBLIC)
    store.put("switchyard/pgp/empty", {"username": "x"})
    store.put_text("switchyard/pgp/junk", "-----BEGIN PGP PUBLIC KEY BLOCK-----\nnot base64\n")
    store.put("switchyard/pgp/private", {"public_key": str(SECRET)})
    return store


def test_a_public_key_is_read_from_either_secret_form_with_its_fingerprint(
    secrets: MemorySecretStore,
) -> None:
    fingerprint = SECRET.extract_certificate().fingerprint.upper()
    for name in ("acme", "acme_plain"):
        recipient = load_recipient(secrets, name)
        assert recipient.name == name and recipient.fingerprint == fingerprint


@pytest.mark.parametrize(
    ("name", "code", "says"),
    [
        (
            "nobody",
            "unknown_pgp_key",
            "store the recipient's public key in the secret 'switchyard/pgp/nobody'",
        ),
        ("empty", "invalid_pgp_key", "holds no public key"),
        ("junk", "invalid_pgp_key", "is not an OpenPGP public key"),
        ("private", "invalid_pgp_key", "holds a private key"),
    ],
)
def test_an_unusable_key_says_what_to_fix(
    secrets: MemorySecretStore, name: str, code: str, says: str
) -> None:
    with pytest.raises(KeyProblem) as raised:
        load_recipient(secrets, name)
    assert raised.value.code == code
    assert says in raised.value.message
    assert "\n" not in raised.value.message  # no Rust backtrace in what users read


def test_encrypted_names_skip_plain_and_encrypted_files_already_there(blobs: MemoryBlobStore) -> None:
    blobs.put(BUCKET, "out/actionExport.txt.pgp", b"x")
    assert unique_names(blobs, BUCKET, "out", ".pgp") == (
        "out/actionExport_1.txt.pgp",
        "out/actionExport_1.txt_summary.xml",
        "out/actionExport_1_sample.pgp",
    )
    blobs.put(BUCKET, "out/actionExport_1.txt", b"x")
    assert unique_names(blobs, BUCKET, "out", ".pgp")[0] == "out/actionExport_2.txt.pgp"
    # a plain export never takes the stem of an encrypted one either
    assert unique_names(blobs, BUCKET, "out")[0] == "out/actionExport_2.txt"


@pytest.mark.usefixtures("people")  # the blobs hold the people table
def test_an_encrypted_export_writes_ciphertext_only_and_says_so_in_the_summary(
    blobs: MemoryBlobStore, secrets: MemorySecretStore
) -> None:
    people = blobs
    selected = everyone(people)
    export = Export.model_validate({"type": "export", "name": "E", "folder": "out", "pgp_key": "acme"})
    out = run_export(export, context(people, secrets=secrets), selected)
    assert out["files"] == [
        "out/actionExport.txt.pgp",
        "out/actionExport.txt_summary.xml",
        "out/actionExport_sample.pgp",
    ]
    assert sorted(people.list(BUCKET, "out/")) == sorted(out["files"])
    assert out["encrypted"] == {
        "recipients": [{"pgp_key": "acme", "fingerprint": SECRET.extract_certificate().fingerprint.upper()}]
    }
    data = people.get(BUCKET, "out/actionExport.txt.pgp") or b""
    assert b"@x.org" not in data
    plain = bytes(pysequoia.decrypt(data, decryptor=SECRET.decryptor()).bytes or b"").decode().splitlines()
    assert plain[0] == "customer_id|email" and len(plain) == 26
    summary = (people.get(BUCKET, "out/actionExport.txt_summary.xml") or b"").decode()
    assert "<File>actionExport.txt.pgp</File><Encryption><Method>PGP</Method><Key>acme</Key>" in summary


@pytest.mark.usefixtures("people")
def test_a_template_key_applies_unless_the_export_names_its_own(
    blobs: MemoryBlobStore, secrets: MemorySecretStore
) -> None:
    people = blobs
    catalog = {
        "resolution_levels": {"customer": {"table": "people", "key": "customer_id"}},
        "export_templates": {"t": {"columns": ["customer_id"], "pgp_key": "nobody"}},
    }
    selected = everyone(people)
    from_template = Export.model_validate({"type": "export", "name": "E", "folder": "a", "template": "t"})
    with pytest.raises(PgpKeyError) as raised:
        run_export(from_template, context(people, secrets=secrets, catalog=catalog), selected)
    assert raised.value.detail == {"pgp_key": "nobody", "problem": "unknown_pgp_key"}
    assert people.list(BUCKET, "a/") == []  # nothing written
    own = from_template.model_copy(update={"pgp_key": "acme_plain", "folder": "b"})
    out = run_export(own, context(people, secrets=secrets, catalog=catalog), selected)
    assert [r["pgp_key"] for r in out["encrypted"]["recipients"]] == ["acme_plain"]
    assert people.list(BUCKET, "b/")[0].endswith(".pgp")
