"""Domain exceptions. The API maps them to HTTP statuses by type (see ``switchyard.api``)."""

from __future__ import annotations

from typing import Any


class SwitchyardError(Exception):
    """Base: a code a client can branch on, a message a person can act on, optional details."""

    code = "error"
    status = 400

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}


class ValidationFailed(SwitchyardError):
    code = "validation_error"
    status = 400


class InvalidRecipients(ValidationFailed):
    """Alert recipients outside the allowed domains, or Slack channels without '#'."""

    code = "invalid_recipients"


class UnknownWorkflowType(ValidationFailed):
    code = "unknown_workflow_type"


class CatalogInvalid(ValidationFailed):
    """A warehouse catalog that fails validation; ``details.problems`` lists every finding."""

    code = "invalid_catalog"


class BadCursor(ValidationFailed):
    code = "bad_cursor"


class InvalidRunConfig(ValidationFailed):
    """A run's name or configuration does not fit its workflow type; ``details.field`` names it."""

    code = "invalid_run_config"


class InvalidFilter(ValidationFailed):
    """A list's filter or page size is not one the list takes."""

    code = "invalid_filter"


class InvalidResolutionParams(ValidationFailed):
    """A resolution's parameters do not fit the resolution offered."""

    code = "invalid_resolution_params"


class InvalidSchedule(ValidationFailed):
    """A schedule's fields do not fit together (or EventBridge Scheduler refused it)."""

    code = "invalid_schedule"


class InvalidEvent(ValidationFailed):
    """An interaction activity's event is too large, or posted early to a manual activity."""

    code = "invalid_event"


class InvalidMode(ValidationFailed):
    code = "invalid_mode"


class InvalidIdempotencyKey(ValidationFailed):
    code = "invalid_idempotency_key"


class InvalidPrioritization(ValidationFailed):
    """Prioritization settings that break a rule; ``details.problems`` lists each by path."""

    code = "invalid_prioritization"


class InvalidTokenRequest(ValidationFailed):
    """A token request whose user, role or expiry is not valid; ``details.field`` names it."""

    code = "invalid_token_request"


class InvalidAllowedDomains(ValidationFailed):
    """An allowed-domains list that is not a list of domain names; ``details.field`` names the
    first bad entry (``domains[i]``)."""

    code = "invalid_allowed_domains"


class InvalidCredential(ValidationFailed):
    """A credential whose fields do not fit its kind; ``details.problems`` lists each by field,
    never quoting a value."""

    code = "invalid_credential"


class NotFound(SwitchyardError):
    """Base of the 404s: each names what was not found (``workflow_not_found``, ...)."""

    code = "not_found"
    status = 404
    abstract = True  # never raised itself: its code is not listed


class WorkflowNotFound(NotFound):
    code = "workflow_not_found"


class TaskNotFound(NotFound):
    code = "task_not_found"


class TokenNotFound(NotFound):
    code = "token_not_found"


class CredentialNotFound(NotFound):
    """No source or destination of that name takes credentials."""

    code = "credential_not_found"


class SubscriptionNotFound(NotFound):
    code = "subscription_not_found"


class InteractionNotFound(NotFound):
    code = "interaction_not_found"


class InteractionWorkflowNotFound(NotFound):
    """The interaction design has no workflow with that key."""

    code = "interaction_workflow_not_found"


class InstanceNotFound(NotFound):
    code = "instance_not_found"


class ActivityNotFound(NotFound):
    """The workflow or instance has no activity of that name (of the kind the route needs)."""

    code = "activity_not_found"


class AudienceNotFound(NotFound):
    code = "audience_not_found"


class TriggerNotFound(NotFound):
    """No active workflow has that external trigger GUID."""

    code = "trigger_not_found"


class Conflict(SwitchyardError):
    """Base of the 409s: each says which state refuses it."""

    code = "conflict"
    status = 409
    abstract = True  # never raised itself: its code is not listed


class CatalogBreaksDesigns(Conflict):
    """A catalog change that would break saved interaction designs; ``details.designs`` lists
    each with what breaks in it, and the change goes ahead only when explicitly confirmed."""

    code = "catalog_breaks_designs"


class StartInProgress(Conflict):
    """Another start with the same Idempotency-Key is being written."""

    code = "start_in_progress"


class FailureBeingRecorded(Conflict):
    """The run is still recording its failure: retry shortly."""

    code = "failure_being_recorded"


class EventNotManual(Conflict):
    """The activity waits for a scheduled event, not a manual one."""

    code = "event_not_manual"


class ActivityNotWaiting(Conflict):
    """The activity is not waiting for its event."""

    code = "activity_not_waiting"


class InstancePaused(Conflict):
    """The instance is paused: play it first."""

    code = "instance_paused"


class InstanceNotPlaying(Conflict):
    """The instance (or the workflow's latest) is not playing."""

    code = "instance_not_playing"


class AudienceStateConflict(Conflict):
    """The audience is not in a state that allows this (completed, not paused, not rewound)."""

    code = "audience_state"


class ChangedMeanwhile(Conflict):
    """Someone changed it meanwhile: read it again and retry."""

    code = "changed_meanwhile"


class DesignActive(Conflict):
    """Deactivate the design's workflows before changing it."""

    code = "design_active"


class WorkflowAlreadyActive(Conflict):
    """The workflow is already active."""

    code = "workflow_already_active"


class RanInProduction(Conflict):
    """The workflow ran in production: reactivate it instead of activating it."""

    code = "ran_in_production"


class WorkflowNotActive(Conflict):
    """The workflow is not active."""

    code = "workflow_not_active"


class TriggerNotManual(Conflict):
    """The workflow's trigger is not manual."""

    code = "trigger_not_manual"


class InstanceStillRunning(Conflict):
    """The workflow's latest instance has not ended."""

    code = "instance_still_running"


class InstanceAlreadyPaused(Conflict):
    """The instance is already paused."""

    code = "instance_already_paused"


class InstanceNotPaused(Conflict):
    """The instance is not paused."""

    code = "instance_not_paused"


class NeverRanInProduction(Conflict):
    """The workflow never ran in production: activate it instead."""

    code = "never_ran_in_production"


class WorkflowNotStopped(Conflict):
    """Only a stopped production workflow is reactivated."""

    code = "workflow_not_stopped"


class RollbackNotAllowed(Conflict):
    """This instance cannot be rolled back (test mode, not the latest, or not ended)."""

    code = "rollback_not_allowed"


class AlreadyRolledBack(Conflict):
    """The instance was already rolled back."""

    code = "already_rolled_back"


class AllowedDomainInUse(Conflict):
    """Removing allowed email domains that alert recipients still use; ``details.recipients``
    lists each (the domain, the address, where it is set)."""

    code = "allowed_domain_in_use"


class CredentialKindMismatch(Conflict):
    """The body's credential kind is not the kind of the source or destination named."""

    code = "credential_kind_mismatch"


class NotRunning(Conflict):
    code = "workflow_not_running"


class ResolutionNotOffered(Conflict):
    code = "resolution_not_offered"


class IdempotencyKeyReused(Conflict):
    code = "idempotency_key_reused"


class Unprocessable(SwitchyardError):
    """Base of the 422s."""

    code = "unprocessable"
    status = 422
    abstract = True  # never raised itself: its code is not listed


class ConfigurationMissing(Unprocessable):
    code = "configuration_missing"


class SecretNotNamed(Unprocessable):
    """The source or destination names no Secrets Manager secret to store its credentials in."""

    code = "secret_not_named"


class DesignInvalid(Unprocessable):
    """An interaction design that fails validation; ``details.problems`` lists every finding."""

    code = "invalid_interaction"


class PermissionDenied(SwitchyardError):
    """A design uses a restricted audience, resolution level, export template or channel."""

    code = "permission_denied"
    status = 403


class Unauthorized(SwitchyardError):
    code = "unauthorized"
    status = 401


class TokenExpired(Unauthorized):
    """A token past its ``expires_at``: it is kept (the administrators see it) but refused."""

    code = "token_expired"


class LastAdministratorToken(Conflict):
    """Revoking the tenant's last administrator token would leave nobody able to issue one."""

    code = "last_administrator_token"


class Forbidden(SwitchyardError):
    code = "forbidden"
    status = 403


class StorageBusy(Exception):
    """DynamoDB still throttling (or failing for a moment) after the SDK's retries. The engine
    Lambda raises it by this name, and every engine state of the machines retries it with backoff
    (1, 2, 4, ... 32 s): a throttled run waits, it is not lost."""
