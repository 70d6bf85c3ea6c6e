"""The `@requiresPermission` directive: printed in the SDL and enforced per field."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.extensions.field_extension import FieldExtension
from strawberry.permission import BasePermission, PermissionExtension
from strawberry.schema_directive import Location

from gql.types.enums import Permission
from models import enums


@strawberry.schema_directive(locations=[Location.FIELD_DEFINITION], name="requiresPermission")
class RequiresPermission:
    permission: Permission


class HasPermission(BasePermission):
    error_extensions = {"code": "PERMISSION_DENIED"}

    def __init__(self, permission: enums.Permission) -> None:
        self.permission = permission
        self.message = f"This field needs the {permission.value} permission."
        self._schema_directive = RequiresPermission(permission=permission)  # type: ignore[misc]

    # Compiled plans (gql.compiled) decide this check when they are built, per permission
    # set: it must depend on nothing but `viewer.permissions`.
    def has_permission(self, source: Any, info: strawberry.Info, **kwargs: Any) -> bool:
        viewer = getattr(info.context, "viewer_or_none", None)
        return viewer is not None and viewer.can(self.permission)


def requires(permission: enums.Permission) -> list[FieldExtension]:
    """Field extensions for `strawberry.field(extensions=requires(Permission.X))`."""
    return [PermissionExtension(permissions=[HasPermission(permission)])]
