"""Every `curl` example in README.md and docs/*.md, run as printed against a fresh `make run`.

The examples are read from the markdown (the ```sh blocks), not from a list kept here: a new
example is tried as soon as it is written. Only `curl` commands are taken from a block (never
`make`, `aws` or anything else it shows); `export` lines set the variables they use, and the
token placeholders (`<token>`, `<the admin token ...>`) become the runtime's admin token.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from tests.e2e.conftest import ROOT, Local, run_local

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
TOKEN_PLACEHOLDER = re.compile(r"<(?:the admin token|token)[^>]*>")
SEPARATORS = {"\n", ";", "|", "||", "&&", "&", ")", ")\n", "(", "$("}
# a value the reader fills in: `<id>`, `$ID` (set by a command substitution), a file to upload
PLACEHOLDER = re.compile(r"<[a-z_ ]+>|\$ID\b|^@")


@dataclass
class Curl:
    where: str  # file:line of the block
    command: str  # as printed, for messages
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: str | None = None

    @property
    def filled_in_by_reader(self) -> bool:
        return any(PLACEHOLDER.search(part or "") for part in (self.path, self.body))

    @property
    def starts_a_workflow(self) -> bool:
        return self.method == "POST" and self.path == "/api/workflows"


def shell_blocks(doc: Path) -> Iterator[tuple[int, str]]:
    text = doc.read_text()
    for match in re.finditer(r"^```(?:sh|bash|shell)\n(.*?)^```", text, re.S | re.M):
        yield text.count("\n", 0, match.start()) + 1, match.group(1)


def _expand(word: str, env: dict[str, str]) -> str:
    return re.sub(r"\$\{?(\w+)\}?", lambda m: env.get(m.group(1), m.group(0)), word)


def curls(doc: Path, token: str) -> Iterator[Curl]:
    """The curl commands of a document's shell blocks, in order, with their variables expanded.

    A document is one shell session: what an `export` sets holds for the blocks after it, and a
    variable used before any block of the document sets it stays unset (as it would for a reader
    who opened that page first)."""
    env: dict[str, str] = {}
    for line, block in shell_blocks(doc):
        text = TOKEN_PLACEHOLDER.sub(token, block)
        lexer = shlex.shlex(text.replace("\\\n", " "), posix=True, punctuation_chars=";&|()\n")
        lexer.whitespace, lexer.whitespace_split = " \t\r", True
        words = list(lexer)
        for i, word in enumerate(words):
            if word == "export":
                for assignment in words[i + 1 :]:
                    if assignment in SEPARATORS or "=" not in assignment:
                        break
                    name, _, value = assignment.partition("=")
                    env[name] = _expand(value, env)
            if word != "curl":
                continue
            args: list[str] = []
            for arg in words[i + 1 :]:
                if arg in SEPARATORS or arg == "curl":  # a trailing comment swallows its newline
                    break
                args.append(_expand(arg, env))
            yield _parse(f"{doc.relative_to(ROOT)}:{line}", args)


def _parse(where: str, args: list[str]) -> Curl:
    method, url, headers, body = "GET", "", {}, None
    it = iter(args)
    for arg in it:
        if arg == "-X":
            method = next(it)
        elif arg == "-H":
            name, _, value = next(it).partition(":")
            headers[name.strip()] = value.strip()
        elif arg in ("-d", "--data"):
            body = next(it)
            method = "POST" if method == "GET" else method
        elif not arg.startswith("-"):
            url = arg if "://" in arg else "http://" + arg
    parts = urlsplit(url)
    assert parts.port == 8000 and parts.hostname in ("localhost", "127.0.0.1"), (where, url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    command = "curl " + " ".join(shlex.quote(a) for a in args)
    return Curl(where=where, command=command, method=method, path=path, headers=headers, body=body)


def documented(token: str) -> list[Curl]:
    return [c for doc in DOCS for c in curls(doc, token)]


def send(local: Local, call: Curl) -> requests.Response:
    return requests.request(
        call.method,
        local.url + call.path,
        data=call.body.encode() if call.body is not None else None,
        headers=call.headers,
        timeout=30,
    )


@pytest.fixture(scope="module")
def demo() -> Iterator[Local]:
    """A `make run` of its own: the examples change the demo tenant (a CCPA delete, schedules)."""
    yield from run_local()


def test_the_docs_have_start_examples_for_every_type_that_starts_through_the_api(demo: Local) -> None:
    # Given the documented start examples
    started = {json.loads(c.body or "{}").get("type") for c in documented(demo.token) if c.starts_a_workflow}
    # Then every type that starts with POST /api/workflows has at least one
    types = {t["id"] for t in demo.request("GET", "/api/workflow-types").json()["items"]}
    assert started == types - {"interaction"}


def test_every_documented_start_is_accepted_and_succeeds_on_the_demo_tenant(demo: Local) -> None:
    starts = [c for c in documented(demo.token) if c.starts_a_workflow]
    assert len(starts) >= 15  # the parser found the examples
    failures: list[str] = []
    for call in starts:
        # When a documented start is sent as printed, in the order the docs show them
        reply = send(demo, call)
        if reply.status_code != 201:
            failures.append(f"{call.where}: {call.command}\n  -> {reply.status_code} {reply.text}")
            continue
        # Then it is accepted, and the run succeeds (warnings allowed: the docs say which)
        run = demo.wait(reply.json()["id"], "succeeded", "failed", "stopped", timeout=120)
        if run["status"] != "succeeded":
            failed = [t for s in run["stages"] for t in s["tasks"] if t["status"] == "failed"]
            failures.append(
                f"{call.where}: {call.command}\n  -> {run['status']}: {failed or run.get('error')}"
            )
    assert not failures, "\n".join(failures)


def _run_id(call: Curl, reply: requests.Response) -> str | None:
    """The run a reader would take `<id>` from: the one a start answered, or the first listed."""
    if not call.path.startswith("/api/workflows") or not reply.ok:
        return None
    body = reply.json()
    if isinstance(body, dict) and call.path.split("?")[0] == "/api/workflows":
        found = body.get("id") or next((w["id"] for w in body.get("items", [])), None)
        return str(found) if found else None
    return None


def test_every_other_documented_call_answers_2xx_when_the_reader_has_what_it_needs(demo: Local) -> None:
    """`<id>` is the run the calls before it in the same block answered (a start's run, the first
    run of a list), as a reader would fill it in; a call whose blanks the block does not fill
    (an id from elsewhere, a file to write first) is left to the reader."""
    blocks: dict[str, list[Curl]] = {}
    for call in documented(demo.token):
        blocks.setdefault(call.where, []).append(call)
    tried, failures = [], []
    for where, calls in blocks.items():
        if all(c.starts_a_workflow for c in calls):
            continue  # the test above runs them to their end
        run_id = None
        for call in calls:
            if run_id is not None:
                call.path = call.path.replace("<id>", run_id)
            if call.filled_in_by_reader:
                continue
            # When it is sent as printed, in document order
            reply = send(demo, call)
            tried.append(f"{call.method} {call.path}")
            # Then it is answered with success
            if not 200 <= reply.status_code < 300:
                failures.append(f"{where}: {call.command}\n  -> {reply.status_code} {reply.text[:500]}")
            run_id = _run_id(call, reply) or run_id
    assert any(t.startswith("POST /api/schedules") for t in tried)  # the parser found them
    assert any(t.endswith("/resolve") for t in tried)  # and filled in README's first session
    assert not failures, "\n".join(failures)
