"""The one seam between moto and the project's code: Lambda invocations run the real handlers.

moto's Lambda needs Docker to run code; without it, ``LambdaSimpleBackend`` echoes the payload.
:func:`install` replaces that backend's ``invoke`` so an invocation (from the Step Functions
interpreter or from boto3) imports the function's handler from ``functions/<code_dir>/`` and
calls it, the way the Lambda Python runtime does: the return value is the payload, an exception
becomes ``FunctionError: Unhandled`` with ``errorType`` set to the exception's class name.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.metadata as metadata
import importlib.util
import json
import os
import pickle
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import botocore.session

from switchyard.local import workers

Handler = Callable[[dict[str, Any], Any], Any]


@dataclass
class FakeContext:
    """What the Lambda runtime passes as ``context`` (the fields Powertools reads)."""

    function_name: str
    memory_limit_in_mb: int
    invoked_function_arn: str
    aws_request_id: str
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = ""

    def get_remaining_time_in_millis(self) -> int:
        return 900_000


# Threads for the functions that take no slot (the API) in each worker process: the API server
# answers this many requests at once per worker, while every slot runs a task.
UNLIMITED_THREADS = 4

# Invocations at once, by default: enough to keep both cores of a small machine busy (handlers
# leave the GIL in DuckDB and I/O), few enough that each gets the CPU in turn (measured).
DEFAULT_CONCURRENCY = 4


class Dispatcher:
    """Runs each function's handler in process, like Lambda with a concurrency limit.

    At most ``concurrency`` invocations run at once (``SWITCHYARD_LOCAL_CONCURRENCY``; default
    :data:`DEFAULT_CONCURRENCY`); the others wait for a free slot, as Lambda throttles an account
    at its concurrency limit (Step Functions' and EventBridge's retries then wait longer; here the
    invocation waits). In one Python process the handlers share one GIL: with every execution's
    handler running at once, hundreds of threads took turns on it and each request (an API call
    among them) waited for all the others. ``unlimited`` functions take no slot (the API: the HTTP
    server serves it, and it must answer while runs are busy), and an invocation made from inside
    a handler runs in its caller's slot (no deadlock when every slot waits on another function).
    """

    def __init__(
        self, concurrency: int | None = None, unlimited: tuple[str, ...] = ("switchyard-api",)
    ) -> None:
        self._handlers: dict[str, tuple[Handler, int]] = {}
        self._lock = threading.Lock()
        self.invocations: dict[str, int] = {}
        if concurrency is None:
            concurrency = int(os.environ.get("SWITCHYARD_LOCAL_CONCURRENCY") or DEFAULT_CONCURRENCY)
        self.concurrency = concurrency
        self._slots = threading.BoundedSemaphore(concurrency)
        self._unlimited = set(unlimited)
        self._in_slot = threading.local()
        self.waiting = 0  # invocations waiting for a slot now
        self._specs: dict[str, tuple[Path, str, int]] = {}
        self.pool: Any = None  # a local.workers.WorkerPool once start_workers() ran

    def register(self, function_name: str, code_dir: Path, handler: str, memory_mb: int) -> None:
        module_file, _, attr = handler.rpartition(".")
        path = code_dir / f"{module_file.replace('.', '/')}.py"
        spec = importlib.util.spec_from_file_location(
            f"switchyard_fn_{function_name.replace('-', '_')}", path
        )
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load {path}")
        module: ModuleType = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        self.add(function_name, getattr(module, attr), memory_mb)
        self._specs[function_name] = (code_dir, handler, memory_mb)

    def start_workers(
        self, processes: int, threads: int | None = None, unlimited_threads: int = UNLIMITED_THREADS
    ) -> None:
        """Run the registered functions' invocations in ``processes`` worker processes
        (:mod:`switchyard.local.workers`), ``threads`` at once in each (by default the
        concurrency limit shared among them); the ``unlimited`` functions (the API) in
        ``unlimited_threads`` more threads of each, which take no slot."""

        if processes <= 0 or self.pool is not None:
            return
        threads = threads or max(1, -(-self.concurrency // processes))
        specs = [
            workers.FunctionSpec(name, str(code_dir), handler, memory)
            for name, (code_dir, handler, memory) in self._specs.items()
        ]
        if not any(spec.name in self._unlimited for spec in specs):
            unlimited_threads = 0
        pool = workers.WorkerPool(processes, threads, specs, unlimited_threads)
        pool.start(workers.relay_in_main(self.in_handler))
        self.pool = pool

    def stop_workers(self) -> None:
        """Stop the worker processes. The pool stays, stopped: an invocation made from now on
        is left unanswered, as one cut short by the stop is (not run in this process, where
        the emulation is going away too)."""
        if self.pool is not None:
            self.pool.stop()

    @contextlib.contextmanager
    def in_handler(self) -> Iterator[None]:
        """An AWS call made by a handler in a worker: a Lambda invocation it makes runs here,
        in its caller's slot (the caller's worker thread waits for it)."""
        held = getattr(self._in_slot, "held", False)
        self._in_slot.held = True
        try:
            yield
        finally:
            self._in_slot.held = held

    def add(self, function_name: str, handler: Handler, memory_mb: int) -> None:
        """Dispatch invocations of ``function_name`` to ``handler`` (a function already loaded)."""
        self._handlers[function_name] = (handler, memory_mb)

    def handler(self, function_name: str) -> tuple[Handler, int]:
        """The handler ``function_name`` is dispatched to, and its memory size."""
        return self._handlers[function_name]

    def invoke(self, function_name: str, body: bytes | str | None, response_headers: dict[str, Any]) -> bytes:
        name = function_name.split(":function:")[-1].split(":")[0]
        pool = self.pool
        unlimited = name in self._unlimited
        if (
            pool is None
            or name not in self._specs
            or getattr(self._in_slot, "held", False)
            or (unlimited and not pool.unlimited_threads)
        ):
            return self.invoke_here(name, body, response_headers)
        with self._lock:
            self.invocations[name] = self.invocations.get(name, 0) + 1
        try:
            with self._slot(name):  # an unlimited function takes none
                payload, failed = pool.invoke(name, body, unlimited=unlimited)
        except workers.WorkerExited as exc:  # as Lambda reports a runtime that exited mid-invocation
            response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps({"errorType": "Runtime.ExitError", "errorMessage": str(exc)}).encode()
        if failed:
            response_headers["x-amz-function-error"] = "Unhandled"
        return payload  # type: ignore[no-any-return]

    def invoke_here(
        self, function_name: str, body: bytes | str | None, response_headers: dict[str, Any]
    ) -> bytes:
        """Run the handler in this process (what :meth:`invoke` does without workers)."""
        name = function_name.split(":function:")[-1].split(":")[0]
        handler, memory = self._handlers[name]
        with self._lock:
            self.invocations[name] = self.invocations.get(name, 0) + 1
        event = json.loads(body or "{}") if body else {}
        context = FakeContext(
            function_name=name,
            memory_limit_in_mb=memory,
            invoked_function_arn=f"arn:aws:lambda:us-east-1:123456789012:function:{name}",
            aws_request_id=str(uuid.uuid4()),
        )
        try:
            with self._slot(name):
                result = handler(event, context)
        except Exception as exc:  # the Lambda runtime reports every error this way
            response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps(
                {
                    "errorType": type(exc).__name__,
                    "errorMessage": str(exc),
                    "stackTrace": traceback.format_exception(exc)[-5:],
                }
            ).encode()
        return json.dumps(result, default=str).encode()

    @contextlib.contextmanager
    def _slot(self, name: str) -> Iterator[None]:
        """Hold one of the concurrency slots while ``name``'s handler runs (see the class)."""
        if name in self._unlimited or getattr(self._in_slot, "held", False):
            yield
            return
        with self._lock:
            self.waiting += 1
        try:
            self._slots.acquire()
        finally:
            with self._lock:
                self.waiting -= 1
        self._in_slot.held = True
        try:
            yield
        finally:
            self._in_slot.held = False
            self._slots.release()


def install(dispatcher: Dispatcher) -> Callable[[], None]:
    """Route moto's simple Lambda backend to ``dispatcher``; returns a function that undoes it.

    moto's in-memory backends are not built for many threads at once (the Step Functions
    interpreter runs each execution, the HTTP server each request, in its own thread), so every
    emulated AWS call is serialized by one lock, except Lambda invocations: a handler runs
    outside the lock and makes its own calls, as on AWS.
    """
    # lazy: moto takes seconds to import; the worker processes import this module, never moto
    from moto.awslambda_simple.models import LambdaSimpleBackend
    from moto.core.botocore_stubber import BotocoreStubber  # lazy: as above

    original = LambdaSimpleBackend.invoke
    original_call = BotocoreStubber.__call__
    lock = threading.RLock()

    def call(self: Any, event_name: str, request: Any, **kwargs: Any) -> Any:
        if request.url.endswith("/invocations") and "/functions/" in request.url:
            return original_call(self, event_name, request, **kwargs)
        with lock:
            return original_call(self, event_name, request, **kwargs)

    BotocoreStubber.__call__ = call  # type: ignore[method-assign]

    def invoke(
        self: Any, function_name: str, qualifier: str | None, body: Any, headers: Any, response_headers: Any
    ) -> bytes:
        return dispatcher.invoke(function_name, body, response_headers)

    LambdaSimpleBackend.invoke = invoke  # type: ignore[method-assign]

    # moto's interpreter sets an execution's environment in the execution's own thread: a
    # StopExecution that arrives just after StartExecution (a run stopped as it carries on in a
    # new execution) found none and raised. As on AWS, a just-started execution can be stopped.
    # lazy: moto takes seconds to import; the worker processes import this module, never moto
    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

    original_stop = ExecutionWorker.stop

    def stop(self: Any, stop_date: Any, error: str | None, cause: str | None) -> None:
        deadline = time.monotonic() + 5
        while getattr(self, "env", None) is None and time.monotonic() < deadline:
            time.sleep(0.01)
        original_stop(self, stop_date=stop_date, error=error, cause=cause)

    ExecutionWorker.stop = stop  # type: ignore[method-assign]
    from switchyard.local import dynamodb  # lazy: it imports moto (see above)

    undo = [
        _reuse_interpreter_clients(),
        _parse_each_definition_once(),
        _parse_each_json_path_once(),
        dynamodb.install(),
    ]

    def uninstall() -> None:
        LambdaSimpleBackend.invoke = original  # type: ignore[method-assign]
        BotocoreStubber.__call__ = original_call  # type: ignore[method-assign]
        ExecutionWorker.stop = original_stop  # type: ignore[method-assign]
        for step in reversed(undo):
            step()

    return uninstall


def share_one_botocore_loader() -> Callable[[], None]:
    """Every botocore session loads its service models from JSON afresh: one session per PynamoDB
    model's connection (14 tables), moto's own sessions for its region lists (EC2's 1 MB model,
    three times) and boto3's. Measured at start-up: 223 model files read, 4.8 s of the runtime's
    start, DynamoDB's model 17 times and the endpoint table 21 times. Give every session of this
    process the same loader (per data path), which keeps what it loaded: the loaded models are
    already shared by the clients of one session, so sharing them between sessions changes
    nothing else."""
    original = botocore.session.create_loader
    loaders: dict[str | None, Any] = {}
    guard = threading.Lock()

    def create_loader(search_path_string: str | None = None) -> Any:
        with guard:
            loader = loaders.get(search_path_string)
            if loader is None:
                loader = loaders[search_path_string] = original(search_path_string)
            return loader

    botocore.session.create_loader = create_loader  # type: ignore[assignment]

    def undo() -> None:
        botocore.session.create_loader = original

    return undo


def _reuse_interpreter_clients() -> Callable[[], None]:
    """The interpreter builds a new boto3 client for every Lambda task it runs (loading the
    service model and endpoint rules each time: about 10 ms, a third of a task's overhead when
    measured). Build one per region and service, and reuse it: botocore clients are safe to share
    between threads, and the client's options (no retries, no validation) stay moto's."""
    # lazy: moto takes seconds to import; the worker processes import this module, never moto
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils

    original = lambda_eval_utils.boto_client_for
    clients: dict[tuple[str, str], Any] = {}
    guard = threading.Lock()

    def boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
        key = (region, service)
        client = clients.get(key)
        if client is None:
            with guard:
                client = clients.get(key)
                if client is None:
                    client = clients[key] = original(region, service, state_credentials)
        return client

    lambda_eval_utils.boto_client_for = boto_client_for  # type: ignore[assignment]

    def undo() -> None:
        lambda_eval_utils.boto_client_for = original

    return undo


def _parse_each_definition_once() -> Callable[[], None]:
    """The interpreter parses the state machine's definition with ANTLR at every execution
    (about 10% of a lone run's CPU when measured). Keep the parse tree per definition text and
    build the evaluation components from it afresh each time, as moto does after parsing: the
    components hold an execution's state, the tree is only read. A definition that does not
    parse is not cached, so it raises the same error every time.

    Parsing the 13 definitions was also a quarter of the runtime's start-up (about 1 CPU-s, at
    every ``make run`` and every runtime a test starts), so the trees are kept on disk too
    (:class:`TreeCache`) and read back (about a third of the cost) at the next start."""
    # lazy: moto takes seconds to import; the worker processes import this module, never moto
    from moto.stepfunctions.parser.asl.parse import asl_parser
    from moto.stepfunctions.parser.asl.parse.preprocessor import Preprocessor  # lazy: as above

    parser = asl_parser.AmazonStateLanguageParser
    original = parser.__dict__["parse"]
    trees: dict[str, Any] = {}
    kept = TreeCache.default()

    def parse(definition: str) -> tuple[Any, Any]:
        program = None
        tree = trees.get(definition)
        if tree is None:
            tree = kept.get(definition)
            if tree is None:
                program, tree = original.__func__(definition)
                kept.put(definition, tree)
            if len(trees) >= 256:
                trees.clear()
            trees[definition] = tree
        return (program if program is not None else Preprocessor().visit(tree)), tree

    parser.parse = staticmethod(parse)  # type: ignore[method-assign,assignment]

    def undo() -> None:
        parser.parse = original  # type: ignore[method-assign]

    return undo


class TreeCache:
    """State machine parse trees on disk, one file per definition, named by a digest of the
    definition and of the moto and ANTLR versions that parsed it (another version parses
    afresh). In ``$SWITCHYARD_CACHE_DIR``, else ``$XDG_CACHE_HOME/switchyard`` or
    ``~/.cache/switchyard``; deleting it is always safe. A tree is kept without its parser and
    with each token's text in the token (what pickling needs), which is all that reading the tree
    uses. Anything that goes wrong reading or writing the cache (no such folder, a read-only
    disk, a file cut short) means parsing afresh, never a failed start."""

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory
        self.salt = ""
        if directory is not None:
            try:
                versions = [metadata.version("moto"), metadata.version("antlr4-python3-runtime")]
            except metadata.PackageNotFoundError:  # pragma: no cover - both come with moto
                self.directory = None
            else:
                self.salt = "moto " + " antlr ".join(versions)

    @classmethod
    def default(cls) -> TreeCache:
        configured = os.environ.get("SWITCHYARD_CACHE_DIR")
        if configured:
            base = Path(configured)
        else:
            xdg = os.environ.get("XDG_CACHE_HOME")
            base = (Path(xdg) if xdg else Path.home() / ".cache") / "switchyard"
        return cls(base / "asl-trees")

    def _path(self, definition: str) -> Path | None:
        if self.directory is None:
            return None
        digest = hashlib.sha256(f"{self.salt}\n{definition}".encode()).hexdigest()
        return self.directory / f"{digest}.pickle"

    def get(self, definition: str) -> Any:
        path = self._path(definition)
        if path is None:
            return None
        try:
            with path.open("rb") as f:
                return pickle.load(f)  # noqa: S301 - our own cache, written by put() below
        except Exception:  # absent, cut short, another version's objects
            return None

    def put(self, definition: str, tree: Any) -> None:
        path = self._path(definition)
        if path is None:
            return
        part = path.with_suffix(f".{os.getpid()}.part")
        try:
            _detach(tree)
            path.parent.mkdir(parents=True, exist_ok=True)
            with part.open("wb") as f:
                pickle.dump(tree, f, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(part, path)  # whole or not at all, for a runtime starting beside this one
        except Exception:  # the cache is an optimisation: parse next time instead
            with contextlib.suppress(OSError):
                part.unlink(missing_ok=True)  # no half-written file left behind


def _detach(tree: Any) -> None:
    """Drop what ties a parse tree to its parser (the parser, the lexer and the input stream
    each token points back to), keeping each token's text, so that it pickles on its own."""
    # lazy: ANTLR comes with moto, which the worker processes (importing this module) never load
    from antlr4 import ParserRuleContext
    from antlr4.Token import CommonToken  # lazy: as above
    from antlr4.tree.Tree import TerminalNode  # lazy: as above

    def token(t: Any) -> None:
        if isinstance(t, CommonToken):
            if t._text is None:
                t._text = t.text
            t.source = (None, None)

    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ParserRuleContext):
            if hasattr(node, "parser"):
                node.parser = None
            token(node.start)
            token(node.stop)
            stack.extend(node.children or [])
        elif isinstance(node, TerminalNode):
            token(getattr(node, "symbol", None))


def _parse_each_json_path_once() -> Callable[[], None]:
    """The interpreter parses a state's JSONPath (``$.workflow_id``, ``$.Payload.go``, a
    ResultPath) with jsonpath-ng at every evaluation, and jsonpath-ng builds its parser tables
    anew for each parse (about a tenth of the interpreter's CPU when measured). Keep each parsed
    path: a parsed path is only read when it finds or updates values."""
    # lazy: moto takes seconds to import; the worker processes import this module, never moto
    from moto.stepfunctions.parser.asl.component.common.path import result_path
    from moto.stepfunctions.parser.asl.utils import json_path  # lazy: as above

    originals = {module: module.parse for module in (json_path, result_path)}
    for module, parse in originals.items():
        module.parse = functools.lru_cache(maxsize=4096)(parse)  # type: ignore[attr-defined]

    def undo() -> None:
        for module, parse in originals.items():
            module.parse = parse  # type: ignore[attr-defined]

    return undo
