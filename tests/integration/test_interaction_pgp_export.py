"""PGP-encrypted exports: the recipient's public key is a secret under ``switchyard/pgp/``.

Each test makes its own key pair (Sequoia-PGP through pysequoia), stores only the public key as
the secret, runs the interaction through the API and the real state machine, and decrypts what
the export stored with the private key, which never leaves the test.
"""

from __future__ import annotations

import time

import boto3
import pysequoia
import pytest
from switchyard.services.deps import Deps

from tests.integration.conftest import Api
from tests.support.interactions import (
    CATALOG,
    activate,
    activities,
    audience,
    create,
    design,
    fire,
    offer,
    wait_for,
    wait_until,
    wf,
)
from tests.support.pgp import decrypt, folder, key_pair, problems

pytestmark = pytest.mark.usefixtures("warehouse")


def test_an_encrypted_export_stores_only_ciphertext_that_the_recipient_decrypts(
    api: Api, deps: Deps, tokens: dict[str, str]
) -> None:
    # Given a recipient key and an export that names it
    name, secret = key_pair(deps)
    where = folder()
    export = {"type": "export", "name": "Mailing", "template": "mailing", "folder": where, "pgp_key": name}
    d = create(api, design([audience(), offer(), export]))
    assert d["warnings"] == []
    activate(api, d["id"], "production")
    # When the workflow runs in production
    iid = fire(api, d["id"])["instance_id"]
    done = wait_for(api, d["id"], iid, "Completed", "Failed")
    assert done["status"] == "Completed", done
    # Then the data file and the sample are stored encrypted, and nothing in plain text but the summary
    bucket = deps.settings.data_bucket
    files = done["exported_files"]
    assert sorted(k.rsplit("/", 1)[1] for k in files) == [
        "actionExport.txt.pgp",
        "actionExport.txt_summary.xml",
        "actionExport_sample.pgp",
    ]
    assert sorted(deps.blobs.list(bucket, where + "/")) == sorted(files)
    stored = deps.blobs.get(bucket, f"{where}/actionExport.txt.pgp")
    assert stored is not None and b"@example.com" not in stored and b"customer_id" not in stored
    # and the recipient's private key decrypts them to the rows
    lines = decrypt(secret, stored).splitlines()
    assert lines[0] == "customer_id|email|region" and len(lines) == 61
    assert "c0002|p2@example.com|west" in lines
    assert all(line.endswith("|west") for line in lines[1:])
    sample = decrypt(secret, deps.blobs.get(bucket, f"{where}/actionExport_sample.pgp")).splitlines()
    assert sample == lines[:11]
    # the summary says the file is encrypted, and for which key
    summary = (deps.blobs.get(bucket, f"{where}/actionExport.txt_summary.xml") or b"").decode()
    fingerprint = secret.extract_certificate().fingerprint.upper()
    assert "<File>actionExport.txt.pgp</File>" in summary
    assert (
        f"<Encryption><Method>PGP</Method><Key>{name}</Key><Fingerprint>{fingerprint}</Fingerprint>"
        "</Encryption>" in summary
    )
    assert "<Records>60</Records>" in summary
    assert activities(done)["Mailing"]["count"] == 60
    # When the instance is rolled back, the encrypted files go too
    rolled = api.as_(tokens["administrator"]).post(wf(d["id"], f"instances/{iid}/rollback"))
    assert rolled.status == 202, rolled.body
    assert rolled.body["status"] == "Rolled Back"
    assert deps.blobs.list(bucket, where + "/") == []


def test_a_templates_key_encrypts_its_exports_with_unique_names_in_test_mode_with_files(
    api: Api, deps: Deps, tokens: dict[str, str]
) -> None:
    # Given a catalog template naming a key stored as a plain armoured secret
    name, secret = key_pair(deps, plain_secret=True)
    templates = {
        **CATALOG["export_templates"],
        "sealed": {"columns": ["customer_id", "email"], "pgp_key": name},
    }
    put = api.as_(tokens["administrator"]).call(
        "PUT", "/api/warehouse/catalog", {**CATALOG, "export_templates": templates}
    )
    try:
        assert put.status == 200, put.body
        assert put.body["catalog"]["export_templates"]["sealed"]["pgp_key"] == name
        assert "pgp_key" not in put.body["catalog"]["export_templates"]["mailing"]
        where = folder()
        export = {"type": "export", "name": "Sealed", "template": "sealed", "folder": where, "sample_size": 2}
        d = create(api, design([audience(), export], create_files_in_test_mode=True))
        activate(api, d["id"], "test")
        # When it runs twice in test mode with create_files_in_test_mode
        first = wait_for(api, d["id"], fire(api, d["id"])["instance_id"], "Test Completed", "Test Failed")
        second = wait_for(api, d["id"], fire(api, d["id"])["instance_id"], "Test Completed", "Test Failed")
    finally:
        deps.config.put("warehouse", "catalog", CATALOG)
    # Then each run's files are encrypted, the second under the next unique name
    assert first["status"] == second["status"] == "Test Completed", (first, second)
    assert sorted(k.rsplit("/", 1)[1] for k in second["exported_files"]) == [
        "actionExport_1.txt.pgp",
        "actionExport_1.txt_summary.xml",
        "actionExport_1_sample.pgp",
    ]
    bucket = deps.settings.data_bucket
    lines = decrypt(secret, deps.blobs.get(bucket, f"{where}/actionExport_1.txt.pgp")).splitlines()
    assert lines[0] == "customer_id|email" and len(lines) == 61
    sample = decrypt(secret, deps.blobs.get(bucket, f"{where}/actionExport_1_sample.pgp")).splitlines()
    assert sample == lines[:3]
    assert len(deps.blobs.list(bucket, where + "/")) == 6


def test_an_unknown_or_unusable_key_is_a_problem_on_save_with_its_path(
    api: Api, deps: Deps, tokens: dict[str, str]
) -> None:
    # Given secrets that are not usable public keys
    sm = boto3.client("secretsmanager", region_name=deps.settings.region)
    junk = f"junk_{time.monotonic_ns()}"
    sm.create_secret(Name=f"switchyard/pgp/{junk}", SecretString="-----BEGIN PGP PUBLIC KEY BLOCK-----\nxx\n")
    private = f"private_{time.monotonic_ns()}"
    deps.secrets.put(f"switchyard/pgp/{private}", {"public_key": str(pysequoia.Tsk.generate("P <p@e.com>"))})
    # When a design names them, or a key that does not exist
    bad = design(
        [audience(), {"type": "export", "name": "A", "folder": folder(), "pgp_key": "nobody_has_this"}],
        [audience("W2"), {"type": "export", "name": "B", "folder": folder(), "pgp_key": junk}],
        [audience("W3"), {"type": "export", "name": "C", "folder": folder(), "pgp_key": private}],
    )
    reply = api.post("/api/interactions", bad)
    # Then it is refused with every problem at its path, saying what to fix
    assert reply.status == 422, reply.body
    assert problems(reply) == {
        ("unknown_pgp_key", "workflows.0.branches.0.1.pgp_key"),
        ("invalid_pgp_key", "workflows.0.branches.1.1.pgp_key"),
        ("invalid_pgp_key", "workflows.0.branches.2.1.pgp_key"),
    }
    messages = " ".join(p["message"] for p in reply.body["error"]["details"]["problems"])
    assert "switchyard/pgp/nobody_has_this" in messages and "private key" in messages
    # and a catalog whose template names an unknown key is not stored
    admin = api.as_(tokens["administrator"])
    templates = {**CATALOG["export_templates"], "sealed": {"columns": ["customer_id"], "pgp_key": "nobody"}}
    put = admin.call("PUT", "/api/warehouse/catalog", {**CATALOG, "export_templates": templates})
    assert put.status == 400, put.body
    assert ("unknown_pgp_key", "export_templates.sealed.pgp_key") in problems(put)
    assert "sealed" not in (deps.config.get("warehouse", "catalog") or {})["export_templates"]


def test_a_key_removed_later_is_caught_at_activation_at_fire_and_when_the_export_runs(
    api: Api, deps: Deps
) -> None:
    name, secret = key_pair(deps)
    public = str(secret.extract_certificate())
    where = folder()
    sm = boto3.client("secretsmanager", region_name=deps.settings.region)
    wait = {"type": "wait_for_event", "name": "Go signal"}
    export = {"type": "export", "name": "Mailing", "folder": where, "pgp_key": name}
    d = create(api, design([audience(), wait, export]))

    def remove() -> None:
        sm.delete_secret(SecretId=f"switchyard/pgp/{name}", ForceDeleteWithoutRecovery=True)

    def restore() -> None:
        deps.secrets.put(f"switchyard/pgp/{name}", {"public_key": public})

    # Given the key is removed after saving: activation checks again
    remove()
    refused = api.post(wf(d["id"], "activate"), {"mode": "production"})
    assert refused.status == 422, refused.body
    assert problems(refused) == {("unknown_pgp_key", "workflows.0.branches.0.2.pgp_key")}
    # and so does a fire after activation
    restore()
    activate(api, d["id"], "production")
    remove()
    not_fired = api.post(wf(d["id"], "fire"))
    assert not_fired.status == 422, not_fired.body
    assert "switchyard/pgp/" + name in not_fired.body["error"]["message"]
    # Given it is removed while the instance waits before the export
    restore()
    iid = fire(api, d["id"])["instance_id"]
    wait_until(lambda: bool(deps.interactions.instances.get(iid).events))
    remove()
    sent = api.post(wf(d["id"], f"instances/{iid}/activities/Go%20signal/event"))
    assert sent.status == 202, sent.body
    done = wait_for(api, d["id"], iid, "Failed", "Completed")
    # Then the export fails with the key's problem, and nothing was written
    failed = activities(done)["Mailing"]
    assert failed["status"] == "Failed"
    assert failed["error"]["code"] == "invalid_pgp_key"
    assert f"switchyard/pgp/{name}" in failed["error"]["message"]
    assert done["exported_files"] == []
    assert deps.blobs.list(deps.settings.data_bucket, where + "/") == []


def test_test_mode_without_create_files_writes_nothing_even_encrypted(api: Api, deps: Deps) -> None:
    name, _ = key_pair(deps)
    where = folder()
    d = create(
        api, design([audience(), offer(), {"type": "export", "name": "M", "folder": where, "pgp_key": name}])
    )
    activate(api, d["id"], "test")
    done = wait_for(api, d["id"], fire(api, d["id"])["instance_id"], "Test Completed", "Test Failed")
    assert done["status"] == "Test Completed", done
    assert done["exported_files"] == []
    assert deps.blobs.list(deps.settings.data_bucket, where + "/") == []
    assert activities(done)["M"]["count"] == 0


def test_secret_store_contract_the_fake_behaves_like_secrets_manager(deps: Deps) -> None:
    """The unit tier's MemorySecretStore reads JSON and plain-text secrets as the real adapter does."""
    from tests.fakes import MemorySecretStore

    fake = MemorySecretStore()
    sm = boto3.client("secretsmanager", region_name=deps.settings.region)
    base = f"switchyard/pgp/contract_{time.monotonic_ns()}"
    for store, put_text in (
        (deps.secrets, lambda name, text: sm.create_secret(Name=name, SecretString=text)),
        (fake, fake.put_text),
    ):
        assert store.get(f"{base}_none") is None
        store.put(f"{base}_json", {"public_key": "K"})
        assert store.get(f"{base}_json") == {"public_key": "K"}
        store.put(f"{base}_json", {"public_key": "L"})  # replaces
        assert store.get(f"{base}_json") == {"public_key": "L"}
        put_text(f"{base}_text", "-----BEGIN PGP PUBLIC KEY BLOCK-----\nabc\n")
        assert store.get(f"{base}_text") == {"value": "-----BEGIN PGP PUBLIC KEY BLOCK-----\nabc\n"}
        put_text(f"{base}_scalar", '"a string"')
        assert store.get(f"{base}_scalar") == {"value": "a string"}
        base += "_fake"
