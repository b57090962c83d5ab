"""Start the emulated AWS account, deploy Switchyard into it, and serve the API over HTTP."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from moto import mock_aws

from switchyard import declarations as d
from switchyard.adapters.aws import reset_clients
from switchyard.adapters.secrets import SecretsManagerStore
from switchyard.data.models import TABLE_MODELS, TTL_ATTRIBUTES, bind_tables, key_schema
from switchyard.local import rules
from switchyard.local import scheduler as local_scheduler
from switchyard.local import state as local_state
from switchyard.local.lambdas import Dispatcher, install, share_one_botocore_loader
from switchyard.services.deps import get_deps, reset_deps
from switchyard.services.interrupted import InterruptedRuns
from switchyard.services.wiring import register_run_hooks
from switchyard.settings import reset_settings
from switchyard.statemachines import load_definition, substitute

ACCOUNT = "123456789012"
REGION = "us-east-1"


def repo_root() -> Path:
    return Path(__file__).resolve().parents[5]


@dataclass
class Deployed:
    """What the local deployment created, in the shape the infra test compares with CDK's."""

    tables: dict[str, dict[str, Any]] = field(default_factory=dict)  # logical -> key schema
    state_machines: dict[str, str] = field(default_factory=dict)  # type -> ARN
    definitions: dict[str, str] = field(default_factory=dict)  # type -> substituted definition
    functions: dict[str, str] = field(default_factory=dict)  # key -> function name
    environment: dict[str, str] = field(default_factory=dict)


def local_resources(root: Path | None = None) -> dict[str, Any]:
    """What :meth:`LocalRuntime.deploy` creates, in the shape of ``infra.describe.template_resources``.

    ``tests/infra`` compares the two, so the local runtime and the CDK app cannot drift.
    """
    root = root or repo_root()
    return {
        "tables": {logical: key_schema(model) for logical, model in TABLE_MODELS.items()},
        "state_machines": {
            wtype: load_definition(wtype, root / "statemachines") for wtype in d.STATE_MACHINES
        },
        "substitutions": {wtype: dict(m.function_substitutions) for wtype, m in d.STATE_MACHINES.items()},
        "functions": {key: fn.handler for key, fn in d.FUNCTIONS.items()},
    }


class LocalRuntime:
    """One process: moto's in-process AWS, Switchyard deployed into it, the handlers dispatched."""

    def __init__(
        self,
        root: Path | None = None,
        console_url: str = "",
        state_dir: Path | None = None,
        snapshot_interval: float = 1.0,
        workers: int = 0,
    ) -> None:
        self.root = root or repo_root()
        # Lambda handlers in this many worker processes (local/workers.py); 0: in this process,
        # where tests can reach into them (``make run`` uses SWITCHYARD_LOCAL_WORKERS, default 2).
        self.workers = workers
        self.console_url = console_url
        self.dispatcher = Dispatcher()
        self.deployed = Deployed()
        self._mock: Any = None
        self._uninstall: Any = None
        self._uninstall_rules: Any = None
        self._uninstall_tracker: Any = None
        self._unshare_loader: Any = None
        # Fires the emulated Scheduler's schedules: ``make run`` ticks it every second, tests by hand.
        self.clock = local_scheduler.SchedulerClock(REGION)
        # Kept on disk when given (``make run``: .switchyard/): local/state.py.
        self.state_dir = state_dir
        self.snapshot_interval = snapshot_interval
        self.snapshots: local_state.Snapshotter | None = None
        self.restored: local_state.Snapshot | None = None
        self.notes: dict[str, Any] = {}  # small facts kept with the state (the demo tenant's runs)
        self.swept: Any = None  # what the start-up sweep did to interrupted runs

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self) -> LocalRuntime:
        # the composition root of the runtime's own service calls (the start-up sweep, the demo
        # seed, tests reaching in): every workflow type's run hooks, as each handler registers them
        register_run_hooks()
        for key, value in {
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_SESSION_TOKEN": "local",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "POWERTOOLS_TRACE_DISABLED": "1",
            "POWERTOOLS_METRICS_NAMESPACE": "Switchyard",
            "POWERTOOLS_LOG_LEVEL": os.environ.get("POWERTOOLS_LOG_LEVEL", "WARNING"),
            "MOTO_ALLOW_NONEXISTENT_REGION": "1",
        }.items():
            os.environ[key] = value
        # before moto starts: its backends make sessions of their own as they load
        self._unshare_loader = share_one_botocore_loader()
        self._mock = mock_aws(
            config={
                "stepfunctions": {"execute_state_machine": True},
                "lambda": {"use_docker": False},
                "core": {"reset_boto3_session": True, "passthrough": {"urls": [], "services": []}},
            }
        )
        self._mock.start()
        self._uninstall = install(self.dispatcher)
        self._uninstall_rules = rules.install(REGION)
        tracker = local_state.Tracker()
        if self.state_dir is not None:
            self._uninstall_tracker = local_state.install(tracker)
        self.deploy()
        # after deploy: the workers inherit the functions' environment it sets
        self.dispatcher.start_workers(self.workers)
        if self.state_dir is not None:
            self._restore(tracker)
        return self

    def _restore(self, tracker: local_state.Tracker) -> None:
        """Put the kept account back over the fresh deployment, settle the runs whose
        executions did not survive, and keep taking snapshots."""
        assert self.state_dir is not None
        snapshot = local_state.load(self.state_dir)  # StateUnreadable: refuse to start
        if snapshot is not None:
            try:
                for group, data in snapshot.groups.items():
                    if group in local_state.GROUPS:
                        local_state.restore_group(group, data, ACCOUNT)
            except Exception as exc:  # whole and undamaged, but not moto's objects as this moto has them
                written = snapshot.moto or "an unknown version"
                raise local_state.StateUnreadable(
                    f"{snapshot.path}: written by moto {written}, does not load here ({exc!r})"
                ) from exc
            self.clock.resume(snapshot.extras.get("clock") or {})
            self.notes = dict(snapshot.extras.get("notes") or {})
            self.restored = snapshot
            self.swept = InterruptedRuns(get_deps()).sweep()
        self.snapshots = local_state.Snapshotter(
            self.state_dir, tracker, ACCOUNT, extras=self._extras, interval=self.snapshot_interval
        )
        self.snapshots.snapshot(force=True)  # the restored (or new) account, swept, on disk at once
        self.snapshots.start()

    def _extras(self) -> dict[str, Any]:
        return {"clock": self.clock.state(), "notes": dict(self.notes)}

    def stop(self) -> None:
        self.clock.stop()
        if self.snapshots is not None:
            self.snapshots.stop()  # the last snapshot, with everything acknowledged so far
            self.snapshots = None
        # after the last snapshot: what an invocation cut short writes now is not kept
        self.dispatcher.stop_workers()
        if self._uninstall_tracker:
            self._uninstall_tracker()
            self._uninstall_tracker = None
        if self._uninstall_rules:
            self._uninstall_rules()
            self._uninstall_rules = None
        if self._uninstall:
            self._uninstall()
            self._uninstall = None
        if self._mock is not None:
            self._mock.stop()
            self._mock = None
        if self._unshare_loader:
            self._unshare_loader()
            self._unshare_loader = None

    def __enter__(self) -> LocalRuntime:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- deployment: the same declarations the CDK app reads ---------------------------------

    def deploy(self) -> Deployed:
        plan = local_resources(self.root)
        reset_clients()
        bind_tables(d.TABLE_NAMES, REGION)
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        for logical, model in TABLE_MODELS.items():
            model.create_table(billing_mode="PAY_PER_REQUEST", wait=False)
            if logical in TTL_ATTRIBUTES:
                dynamodb.update_time_to_live(
                    TableName=d.TABLE_NAMES[logical],
                    TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTES[logical]},
                )
            self.deployed.tables[logical] = plan["tables"][logical]

        boto3.client("s3", region_name=REGION).create_bucket(Bucket=d.LOCAL_DATA_BUCKET)
        boto3.client("events", region_name=REGION).create_event_bus(Name=d.EVENT_BUS_NAME)
        iam = boto3.client("iam", region_name=REGION)
        role = iam.create_role(RoleName="switchyard-local", AssumeRolePolicyDocument="{}")["Role"]["Arn"]

        function_arns = {
            key: f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{d.function_name(key)}" for key in d.FUNCTIONS
        }
        machine_prefix = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:"
        machine_arns = {t: machine_prefix + d.state_machine_name(t) for t in d.STATE_MACHINES}
        scheduler_role = local_scheduler.deploy(REGION, ACCOUNT, function_arns[d.RUN_AFTER_TARGET])
        sender = os.environ.get(d.ENV_ALERTS_SENDER, "alerts@switchyard.local")
        local_scheduler.deploy_alerts(REGION, function_arns[d.ALERTS_TARGET], sender)
        env = {
            **{variable: d.TABLE_NAMES[logical] for logical, variable in d.TABLE_ENV.items()},
            d.ENV_DATA_BUCKET: d.LOCAL_DATA_BUCKET,
            d.ENV_EVENT_BUS: d.EVENT_BUS_NAME,
            d.ENV_STATE_MACHINE_ARN_PREFIX: machine_prefix,
            d.ENV_CONSOLE_URL: self.console_url,
            d.ENV_LOCAL_RUNTIME: "1",
            # Wait states sleep in real time here: ask again for a busy destination every 2 s.
            d.ENV_EXCLUSIVE_WAIT_SECONDS: os.environ.get(d.ENV_EXCLUSIVE_WAIT_SECONDS, "2"),
            d.ENV_SCHEDULER_ROLE_ARN: scheduler_role,
            d.ENV_TRIGGERS_FUNCTION_ARN: function_arns[d.RUN_AFTER_TARGET],
            d.ENV_ALERTS_FUNCTION_ARN: function_arns[d.ALERTS_TARGET],
            d.ENV_ALERTS_SENDER: sender,
            # a real Slack incoming webhook, if you have one; otherwise Slack alerts stay in the outbox
            d.ENV_SLACK_WEBHOOK_URL: os.environ.get(d.ENV_SLACK_WEBHOOK_URL, ""),
            # a Slack app to connect workspaces with (docs/alerts.md): its client id, and Slack's
            # address or a stand-in's; the client secret goes into the emulated Secrets Manager
            **{
                name: os.environ[name]
                for name in (d.ENV_SLACK_CLIENT_ID, d.ENV_SLACK_BASE_URL, d.ENV_SLACK_REDIRECT_URI)
                if os.environ.get(name)
            },
            # and a paused interaction asks again every second
            d.ENV_INTERACTION_POLL_SECONDS: os.environ.get(d.ENV_INTERACTION_POLL_SECONDS, "1"),
            # and an interactive audience looks at its next cycle every second (the clock may jump)
            d.ENV_INTERACTIVE_CHECK_SECONDS: os.environ.get(d.ENV_INTERACTIVE_CHECK_SECONDS, "1"),
        }
        # Every function gets the same variables here (one process), so set them process-wide.
        os.environ.update(env)
        if os.environ.get(d.ENV_SLACK_CLIENT_SECRET_LOCAL):
            SecretsManagerStore(REGION).put(
                d.SLACK_CLIENT_SECRET, {"client_secret": os.environ[d.ENV_SLACK_CLIENT_SECRET_LOCAL]}
            )
        self.deployed.environment = env
        reset_settings()
        reset_deps()

        lam = boto3.client("lambda", region_name=REGION)
        for key, fn in d.FUNCTIONS.items():
            name = function_arns[key].rsplit(":", 1)[-1]
            lam.create_function(
                FunctionName=name,
                Runtime=d.LAMBDA_RUNTIME,
                Role=role,
                Handler=plan["functions"][key],
                Code={"ZipFile": b"local"},
                Timeout=fn.timeout_s,
                MemorySize=fn.memory_mb,
                Environment={"Variables": env},
            )
            code_dir = self.root / "functions" / fn.code_dir
            self.dispatcher.register(name, code_dir, plan["functions"][key], fn.memory_mb)
            self.deployed.functions[key] = name

        sfn = boto3.client("stepfunctions", region_name=REGION)
        for wtype in d.STATE_MACHINES:
            definition = substitute(
                plan["state_machines"][wtype],
                {
                    d.PARTITION_PLACEHOLDER: "aws",
                    **{ph: function_arns[fn] for ph, fn in plan["substitutions"][wtype].items()},
                },
            )
            arn = sfn.create_state_machine(
                name=d.state_machine_name(wtype), definition=definition, roleArn=role, type="STANDARD"
            )["stateMachineArn"]
            assert arn == machine_arns[wtype], (arn, machine_arns[wtype])
            self.deployed.state_machines[wtype] = arn
            self.deployed.definitions[wtype] = definition
        return self.deployed

    # --- people ------------------------------------------------------------------------------

    def create_token(self, user: str, role: str, token: str | None = None) -> str:
        token = token or secrets.token_urlsafe(24)
        get_deps().tokens.put(token, user=user, role=role)
        return token
