"""Encrypted exports for several recipients, signed with our private key.

Recipients' key pairs are generated with pysequoia in each test; only their public keys are
stored, as ``switchyard/pgp/<name>``. Our signing key's secret, ``switchyard/pgp-signing/<name>``,
holds a private key and its
passphrase (``{"private_key", "passphrase"}``): a protected key from tests/pgp_fixtures.py
(pysequoia cannot protect the keys it generates) or an unprotected pysequoia key. Each test runs
the interaction through the API and the real state machine and reads what was stored.
"""

from __future__ import annotations

import time
from typing import Any

import boto3
import pysequoia
import pytest
from switchyard.services.deps import Deps

from tests.integration.conftest import Api
from tests.pgp_fixtures import PROTECTED_FINGERPRINT, PROTECTED_KEY, PROTECTED_PASSPHRASE
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


def signing_key(
    deps: Deps, *, passphrase: str | None = PROTECTED_PASSPHRASE, key: str = PROTECTED_KEY
) -> str:
    """Our signing key stored as ``switchyard/pgp-signing/<name>``; returns the name."""
    name = f"ours_{time.monotonic_ns()}"
    secret: dict[str, str] = {"private_key": key}
    if passphrase is not None:
        secret["passphrase"] = passphrase
    deps.secrets.put(f"switchyard/pgp-signing/{name}", secret)
    return name


def verified_by(secret: Any, body: bytes | None, signer: Any) -> tuple[str, list[str]]:
    """Decrypt with ``secret`` and verify against the certificate ``signer``: the text and the
    fingerprints of the valid signatures (pysequoia raises when none is valid)."""
    assert body is not None
    found = pysequoia.decrypt(body, decryptor=secret.decryptor(), store=lambda _ids: [signer])
    text = bytes(found.bytes or b"").decode()
    return text, [str(s.certificate).upper() for s in found.valid_sigs]


def export_outputs(api: Api, done: dict[str, Any], name: str) -> dict[str, Any]:
    run = api.get(f"/api/workflows/{done['workflow_id']}").body
    return next(t for s in run["stages"] for t in s["tasks"] if t["name"] == f"Export: {name}")["outputs"]  # type: ignore[no-any-return]


def test_an_export_for_two_recipients_decrypts_with_either_key_and_verifies_against_our_certificate(
    api: Api, deps: Deps
) -> None:
    # Given two recipients and our passphrase-protected signing key
    first, first_secret = key_pair(deps)
    second, second_secret = key_pair(deps)
    ours = signing_key(deps)
    where = folder()
    export = {
        "type": "export",
        "name": "Mailing",
        "template": "mailing",
        "folder": where,
        "pgp_key": [first, second],
        "pgp_sign_key": ours,
    }
    d = create(api, design([audience(), offer(), export]))
    assert d["warnings"] == []
    activate(api, d["id"], "production")
    # When the workflow runs in production
    done = wait_for(api, d["id"], fire(api, d["id"])["instance_id"], "Completed", "Failed")
    assert done["status"] == "Completed", done
    bucket = deps.settings.data_bucket
    assert sorted(k.rsplit("/", 1)[1] for k in done["exported_files"]) == [
        "actionExport.txt.pgp",
        "actionExport.txt_summary.xml",
        "actionExport_sample.pgp",
    ]
    data = deps.blobs.get(bucket, f"{where}/actionExport.txt.pgp")
    sample = deps.blobs.get(bucket, f"{where}/actionExport_sample.pgp")
    assert data is not None and b"@example.com" not in data
    # Then either recipient's private key decrypts the same rows, signed by us
    ours_cert = pysequoia.Cert.from_bytes(PROTECTED_KEY.encode())
    texts = []
    for secret in (first_secret, second_secret):
        text, signers = verified_by(secret, data, ours_cert)
        assert signers == [PROTECTED_FINGERPRINT]
        texts.append(text)
        sample_text, sample_signers = verified_by(secret, sample, ours_cert)
        assert sample_signers == [PROTECTED_FINGERPRINT]
        assert sample_text.splitlines() == text.splitlines()[:11]
    assert texts[0] == texts[1]
    lines = texts[0].splitlines()
    assert lines[0] == "customer_id|email|region" and len(lines) == 61
    assert "c0002|p2@example.com|west" in lines
    # and the signature does not verify against anyone else's certificate
    stranger = pysequoia.Tsk.generate("Stranger <s@example.com>")
    with pytest.raises(Exception, match="no valid signatures"):
        verified_by(first_secret, data, stranger.extract_certificate())
    # and a key that is not a recipient cannot decrypt
    with pytest.raises(Exception, match="No key to decrypt"):
        decrypt(stranger, data)
    # The activity's outputs and the summary say which keys were used
    fingerprint = {
        n: s.extract_certificate().fingerprint.upper()
        for n, s in ((first, first_secret), (second, second_secret))
    }
    assert export_outputs(api, done, "Mailing")["encrypted"] == {
        "recipients": [
            {"pgp_key": first, "fingerprint": fingerprint[first]},
            {"pgp_key": second, "fingerprint": fingerprint[second]},
        ],
        "signed_by": {"pgp_key": ours, "fingerprint": PROTECTED_FINGERPRINT},
    }
    summary = (deps.blobs.get(bucket, f"{where}/actionExport.txt_summary.xml") or b"").decode()
    assert (
        "<Encryption><Method>PGP</Method>"
        f"<Key>{first}</Key><Fingerprint>{fingerprint[first]}</Fingerprint>"
        f"<Key>{second}</Key><Fingerprint>{fingerprint[second]}</Fingerprint>"
        f"<SignedBy><Key>{ours}</Key><Fingerprint>{PROTECTED_FINGERPRINT}</Fingerprint></SignedBy>"
        "</Encryption>" in summary
    )
    assert activities(done)["Mailing"]["count"] == 60


def test_a_templates_recipients_and_signing_key_apply_and_are_checked_when_the_catalog_is_saved(
    api: Api, deps: Deps, tokens: dict[str, str]
) -> None:
    admin = api.as_(tokens["administrator"])
    first, first_secret = key_pair(deps)
    second, second_secret = key_pair(deps)
    ours_secret = pysequoia.Tsk.generate("Switchyard <exports@example.com>")  # no passphrase
    ours = signing_key(deps, key=str(ours_secret), passphrase=None)

    def put(template: dict[str, Any]) -> Any:
        templates = {
            **CATALOG["export_templates"],
            "sealed": {"columns": ["customer_id", "email"], **template},
        }
        return admin.call("PUT", "/api/warehouse/catalog", {**CATALOG, "export_templates": templates})

    # Given a template whose second recipient does not exist, and whose signing key is a recipient's
    # (not under switchyard/pgp-signing/)
    refused = put({"pgp_key": [first, "nobody_has_this"], "pgp_sign_key": second})
    # Then the catalog is refused, each problem at its path
    assert refused.status == 400, refused.body
    assert {p for p in problems(refused) if "pgp" in p[0]} == {
        ("unknown_pgp_key", "export_templates.sealed.pgp_key.1"),
        ("unknown_pgp_key", "export_templates.sealed.pgp_sign_key"),
    }
    messages = " ".join(p["message"] for p in refused.body["error"]["details"]["problems"])
    assert "switchyard/pgp/nobody_has_this" in messages
    assert f"store the private key in the secret 'switchyard/pgp-signing/{second}'" in messages
    assert "sealed" not in (deps.config.get("warehouse", "catalog") or {})["export_templates"]
    # Given a usable template: two recipients and a signing key
    try:
        stored = put({"pgp_key": [first, second], "pgp_sign_key": ours})
        assert stored.status == 200, stored.body
        assert stored.body["catalog"]["export_templates"]["sealed"] == {
            "columns": ["customer_id", "email"],
            "pgp_key": [first, second],
            "pgp_sign_key": ours,
        }
        where = folder()
        export = {"type": "export", "name": "Sealed", "template": "sealed", "folder": where}
        d = create(api, design([audience(), export], create_files_in_test_mode=True))
        activate(api, d["id"], "test")
        # When an export with the template runs
        done = wait_for(api, d["id"], fire(api, d["id"])["instance_id"], "Test Completed", "Test Failed")
    finally:
        deps.config.put("warehouse", "catalog", CATALOG)
    # Then its file is for both recipients and signed by our key
    assert done["status"] == "Test Completed", done
    data = deps.blobs.get(deps.settings.data_bucket, f"{where}/actionExport.txt.pgp")
    ours_fingerprint = ours_secret.extract_certificate().fingerprint.upper()
    for secret in (first_secret, second_secret):
        text, signers = verified_by(secret, data, ours_secret.extract_certificate())
        assert text.splitlines()[0] == "customer_id|email" and len(text.splitlines()) == 61
        assert signers == [ours_fingerprint]
    outputs = export_outputs(api, done, "Sealed")["encrypted"]
    assert [r["pgp_key"] for r in outputs["recipients"]] == [first, second]
    assert outputs["signed_by"] == {"pgp_key": ours, "fingerprint": ours_fingerprint}


def test_unusable_recipients_and_signing_keys_are_problems_on_save_with_their_paths(
    api: Api, deps: Deps
) -> None:
    recipient, _ = key_pair(deps)
    private = f"private_{time.monotonic_ns()}"  # a private key stored as a recipient's key
    deps.secrets.put(f"switchyard/pgp/{private}", {"public_key": str(pysequoia.Tsk.generate("P <p@e.com>"))})
    wrong = signing_key(deps, passphrase="not-the-passphrase")  # exists: checked when it signs

    def export(name: str, **keys: Any) -> list[dict[str, Any]]:
        return [audience(f"W{name}"), {"type": "export", "name": name, "folder": folder(), **keys}]

    # When a design names them
    bad = design(
        export("A", pgp_key=[recipient, private]),
        export("B", pgp_key=recipient, pgp_sign_key=wrong),
        export("C", pgp_key=[recipient], pgp_sign_key="nobody_signs"),
        export("D", pgp_key=recipient, pgp_sign_key=recipient),
        export("E", pgp_sign_key=signing_key(deps)),
    )
    reply = api.post("/api/interactions", bad)
    # Then it is refused with every problem at its path, saying what to fix
    assert reply.status == 422, reply.body
    assert problems(reply) == {
        ("invalid_pgp_key", "workflows.0.branches.0.1.pgp_key.1"),
        ("unknown_pgp_key", "workflows.0.branches.2.1.pgp_sign_key"),
        ("unknown_pgp_key", "workflows.0.branches.3.1.pgp_sign_key"),
        ("pgp_sign_without_pgp_key", "workflows.0.branches.4.1.pgp_sign_key"),
    }
    said = {p["path"].split(".")[3]: p["message"] for p in reply.body["error"]["details"]["problems"]}
    assert f"The secret 'switchyard/pgp/{private}' holds a private key" in said["0"]
    assert "store the private key in the secret 'switchyard/pgp-signing/nobody_signs'" in said["2"]
    assert f"store the private key in the secret 'switchyard/pgp-signing/{recipient}'" in said["3"]
    assert "signs encrypted exports only" in said["4"]
    assert all("\n" not in m and PROTECTED_PASSPHRASE not in m for m in said.values())
    # and a list of keys is 1 to 10 distinct names
    for keys in ([], [recipient, recipient], [f"k{i}" for i in range(11)]):
        shaped = api.post("/api/interactions", design(export("G", pgp_key=keys)))
        assert shaped.status == 422, shaped.body
        assert "pgp_key" in shaped.body["error"]["message"]


def test_a_signing_key_broken_or_removed_later_fails_the_export_and_nothing_is_written(
    api: Api, deps: Deps
) -> None:
    recipient, _ = key_pair(deps)
    broken, removed = signing_key(deps), signing_key(deps)
    sm = boto3.client("secretsmanager", region_name=deps.settings.region)
    where_broken, where_removed = folder(), folder()

    def branch(n: int, where: str, ours: str) -> list[dict[str, Any]]:
        wait = {"type": "wait_for_event", "name": f"Go {n}"}
        export = {
            "type": "export",
            "name": f"Mailing {n}",
            "folder": where,
            "pgp_key": recipient,
            "pgp_sign_key": ours,
        }
        return [audience(f"W{n}"), wait, export]

    d = create(api, design(branch(1, where_broken, broken), branch(2, where_removed, removed)))
    # Given the signing key is removed after saving: activation checks again
    sm.delete_secret(SecretId=f"switchyard/pgp-signing/{removed}", ForceDeleteWithoutRecovery=True)
    refused = api.post(wf(d["id"], "activate"), {"mode": "production"})
    assert refused.status == 422, refused.body
    assert problems(refused) == {("unknown_pgp_key", "workflows.0.branches.1.2.pgp_sign_key")}
    # and so does a fire after activation
    deps.secrets.put(
        f"switchyard/pgp-signing/{removed}",
        {"private_key": PROTECTED_KEY, "passphrase": PROTECTED_PASSPHRASE},
    )
    activate(api, d["id"], "production")
    sm.delete_secret(SecretId=f"switchyard/pgp-signing/{removed}", ForceDeleteWithoutRecovery=True)
    not_fired = api.post(wf(d["id"], "fire"))
    assert not_fired.status == 422, not_fired.body
    assert f"switchyard/pgp-signing/{removed}" in not_fired.body["error"]["message"]

    # Given an instance waiting before its export, when its signing key's passphrase is changed, or
    # the key removed (a design each: the first export to fail fails its instance, so the other
    # branch's export might never start)
    def fails_at_run(ours: str, where: str, change: Any) -> dict[str, Any]:
        secret = {"private_key": PROTECTED_KEY, "passphrase": PROTECTED_PASSPHRASE}
        deps.secrets.put(f"switchyard/pgp-signing/{ours}", secret)
        one = create(api, design(branch(1, where, ours)))
        activate(api, one["id"], "production")
        iid = fire(api, one["id"])["instance_id"]
        wait_until(lambda: len(deps.interactions.instances.get(iid).events) >= 1)
        change()
        sent = api.post(wf(one["id"], f"instances/{iid}/activities/Go%201/event"))
        assert sent.status == 202, sent.body
        done = wait_for(api, one["id"], iid, "Failed", "Completed")
        # Then the export fails with what to fix, and nothing was written
        assert done["exported_files"] == []
        assert deps.blobs.list(deps.settings.data_bucket, where + "/") == []
        failed: dict[str, Any] = activities(done)["Mailing 1"]
        assert failed["status"] == "Failed" and failed["error"]["code"] == "invalid_pgp_key"
        return failed

    wrong = {"private_key": PROTECTED_KEY, "passphrase": "rotated-wrongly"}
    rotated = fails_at_run(
        broken, where_broken, lambda: deps.secrets.put(f"switchyard/pgp-signing/{broken}", wrong)
    )
    first_message = rotated["error"]["message"]
    assert f"PGP signing key {broken!r} cannot sign: the 'passphrase' in the secret" in first_message
    assert "does not unlock it" in first_message and first_message.endswith("Nothing was exported.")
    assert "rotated-wrongly" not in first_message
    gone = fails_at_run(
        removed,
        where_removed,
        lambda: sm.delete_secret(
            SecretId=f"switchyard/pgp-signing/{removed}", ForceDeleteWithoutRecovery=True
        ),
    )
    assert (
        f"store the private key in the secret 'switchyard/pgp-signing/{removed}'" in gone["error"]["message"]
    )
