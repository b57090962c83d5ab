"""``/api/credentials``: the credentials of sources and destinations, by name; values are never
returned (docs/operations.md, "Credentials")."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from pydantic import BaseModel

from switchyard.api.admin_views import CredentialList, CredentialView
from switchyard.api.auth import Permission, requires
from switchyard.domain.credentials import CredentialUpdate
from switchyard.domain.models import Principal
from switchyard.services.credentials import CredentialService
from switchyard.services.deps import get_deps

router = APIGatewayRouter()
TAGS = ["credentials"]


def _who() -> Principal:
    return router.context["principal"]  # type: ignore[no-any-return]


def _json(status: int, body: BaseModel) -> Response[Any]:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body)


@router.get("/api/credentials", tags=TAGS)
@requires(Permission.MANAGE_CREDENTIALS)
def list_credentials() -> Response[CredentialList]:
    """Each source's and destination's credential: its kind, the fields stored and expected, when
    it last changed and by whom; never a value."""
    return _json(200, CredentialList.model_validate(CredentialService(get_deps()).listing(_who())))


@router.put("/api/credentials/<name>", tags=TAGS)
@requires(Permission.MANAGE_CREDENTIALS)
def put_credentials(
    name: Annotated[str, Path(max_length=200)], body: Annotated[CredentialUpdate, Body()]
) -> Response[CredentialView]:
    """Replace a credential ``{kind, fields: {...}}``: the fields of its kind (S3 role, SFTP
    password or key, webhook bearer, each platform's), and the kind must be the one ``GET
    /api/credentials`` lists for it (409 ``credential_kind_mismatch``); answers the listing's
    item, without values."""
    return _json(
        200, CredentialView.model_validate(CredentialService(get_deps()).replace(_who(), name, body))
    )
