"""Errors raised by task Lambdas. Their class name travels as the Lambda ``errorType``; the
engine classifies a failure by that type name (never by the message text)."""

from __future__ import annotations

from typing import Any

# errorType (a task error's class name) -> the class; filled as the classes below are defined
TASK_ERRORS: dict[str, type[TaskError]] = {}


class TaskError(Exception):
    """Base of the errors a task raises on purpose. ``code`` and ``category`` classify it.

    Every subclass registers itself in :data:`TASK_ERRORS` by its class name, the ``errorType``
    the engine classifies a failure by: a new task error needs no list kept by hand. They are
    all defined in this module, so the engine (which imports no task code) knows every one.
    """

    code = "task_error"
    category = "internal"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__name__ in TASK_ERRORS:
            raise TypeError(f"two task errors are named {cls.__name__}: the engine could not tell them apart")
        TASK_ERRORS[cls.__name__] = cls

    def __init__(self, message: str, detail: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.detail = detail or {}


TASK_ERRORS[TaskError.__name__] = TaskError


class MissingFileError(TaskError):
    code = "missing_file"
    category = "source"


class MalformedFileError(TaskError):
    code = "malformed_file"
    category = "source"


class SourceConnectionError(TaskError):
    code = "connection_error"
    category = "source"


class EmptyTableError(TaskError):
    code = "empty_table"
    category = "data"


class MissingTableError(TaskError):
    code = "missing_table"
    category = "data"


class QueryThresholdError(TaskError):
    """A query's result crossed its failure threshold."""

    code = "query_threshold"
    category = "data"


class MismatchedDatatypeError(TaskError):
    code = "mismatched_datatype"
    category = "sql"


class UnresolvedColumnError(TaskError):
    code = "unresolved_column"
    category = "sql"


class SqlSyntaxError(TaskError):
    code = "sql_syntax_error"
    category = "sql"


class DestinationConnectionError(TaskError):
    code = "connection_error"
    category = "destination"


class DestinationAuthorizationError(TaskError):
    """The destination refused our credentials (HTTP 401/403, SFTP auth failure)."""

    code = "destination_authorization"
    category = "destination"


class InvalidCredentialsError(TaskError):
    """The stored credentials are missing or malformed; nothing was sent."""

    code = "invalid_credentials"
    category = "destination"


class InvalidListNameError(TaskError):
    code = "invalid_list_name"
    category = "destination"


class DestinationRejectedError(TaskError):
    code = "destination_rejected"
    category = "destination"


class DestinationNotSupportedError(TaskError):
    """Validated, but this installation cannot deliver there: nothing was sent."""

    code = "destination_not_supported"
    category = "destination"


class IdJitterError(TaskError):
    """Stitch moved more customer ids than the configured share: the mapping was not replaced."""

    code = "id_jitter"
    category = "stitch"


class CorruptedArchiveError(TaskError):
    code = "corrupted_archive"
    category = "source"


class SchemaChangeError(TaskError):
    code = "schema_change"
    category = "source"


class PgpError(TaskError):
    code = "pgp_error"
    category = "source"


class ExportDestinationError(TaskError):
    """An export's channel or template names a destination that is not configured, or that is
    not a file destination (s3, sftp): nothing was exported."""

    code = "invalid_export_destination"
    category = "validation"


class PgpKeyError(TaskError):
    """An export's PGP recipient key is missing or unusable: nothing was exported."""

    code = "invalid_pgp_key"
    category = "validation"


class ValidationThresholdError(TaskError):
    code = "validation_threshold"
    category = "data"


class UnauthorisedChannelError(TaskError):
    """An interaction offer's channel is not authorised for the tenant (a runtime validation error)."""

    code = "unauthorised_channel"
    category = "validation"


class InvalidNameError(TaskError):
    code = "invalid_name"
    category = "configuration"


class QueueTimeExceededError(TaskError):
    """An interaction activity waited for a free slot longer than its maximum queue time."""

    code = "queue_time_exceeded"
    category = "capacity"


class ExecutionInterruptedError(TaskError):
    """The execution that ran the task ended under it (aborted, timed out, or gone with the
    local runtime that ran it): whether the task finished is not known."""

    code = "interrupted"
    category = "platform"
