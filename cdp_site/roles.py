"""The four roles and the checks every page and API makes.

A role is a Django group. Admins pass every role check (they run the platform); merchants are
further confined to their own merchant's data by the selectors of ``merchants``.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView


class Role(enum.StrEnum):
    MARKETER = "marketer"
    MERCHANT = "merchant"
    ANALYST = "analyst"
    ADMIN = "admin"


User = AbstractBaseUser | AnonymousUser


def user_roles(user: Any) -> frozenset[Role]:
    if not user.is_authenticated:
        return frozenset()
    cached = getattr(user, "_cdp_roles", None)
    if cached is not None:
        return cached
    names = set(user.groups.values_list("name", flat=True))
    roles = {role for role in Role if role.value in names}
    if user.is_superuser:
        roles.add(Role.ADMIN)
    user._cdp_roles = frozenset(roles)
    return user._cdp_roles


def user_has_role(user: Any, *roles: Role) -> bool:
    held = user_roles(user)
    return Role.ADMIN in held or any(role in held for role in roles)


def primary_role(user: Any) -> Role | None:
    held = user_roles(user)
    for role in (Role.ADMIN, Role.MARKETER, Role.ANALYST, Role.MERCHANT):
        if role in held:
            return role
    return None


ViewFunction = TypeVar("ViewFunction", bound=Callable[..., HttpResponse])


def role_required(*roles: Role) -> Callable[[ViewFunction], ViewFunction]:
    """Anonymous visitors go to the login page; signed-in users without the role get 403."""

    def decorator(view: ViewFunction) -> ViewFunction:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not user_has_role(request.user, *roles):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapper  # type: ignore[return-value]  # same signature as the wrapped view

    return decorator


class HasRole(BasePermission):
    """DRF permission: set ``allowed_roles`` on the view."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        allowed = getattr(view, "allowed_roles", ())
        return bool(request.user and user_has_role(request.user, *allowed))


class ReadOnlyForAnalysts(BasePermission):
    """Analysts may read what marketers may read, and change nothing."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return user_has_role(request.user, Role.MARKETER, Role.ANALYST)
        return user_has_role(request.user, Role.MARKETER)


def role_context(request: HttpRequest) -> dict[str, Any]:
    role = primary_role(request.user) if hasattr(request, "user") else None
    return {"current_role": role.value if role else None}
