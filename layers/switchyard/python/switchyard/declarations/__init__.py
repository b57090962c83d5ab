"""What Switchyard deploys, declared once.

The CDK constructs (``infra/``) and the local runtime (:mod:`switchyard.local`) both build their
resources from these declarations; ``tests/infra`` proves that the synthesized template and the
local runtime agree. Table key schemas are not repeated here: they come from the PynamoDB models
in :mod:`switchyard.data.models`.

One namespace (``from switchyard import declarations as d``; ``d.FUNCTIONS``), declared in parts:

- :mod:`~switchyard.declarations.environment`: the environment variables the functions read;
- :mod:`~switchyard.declarations.resources`: the tables, bucket, bus and secrets they share;
- :mod:`~switchyard.declarations.functions`: the Lambda functions and what each may touch;
- :mod:`~switchyard.declarations.state_machines`: one state machine per workflow type;
- :mod:`~switchyard.declarations.events`: the EventBridge rules and Scheduler schedule groups.
"""

from switchyard.declarations.environment import *  # noqa: F403
from switchyard.declarations.events import *  # noqa: F403
from switchyard.declarations.functions import *  # noqa: F403
from switchyard.declarations.resources import *  # noqa: F403
from switchyard.declarations.state_machines import *  # noqa: F403
