"""Demo data for ``make run``: one user per role, and what later apps add to the demo."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from cdp_site.roles import Role
from merchants.models import Merchant, MerchantMembership

DEMO_MERCHANT_NAME = "Gangnam Coffee"


@dataclass(frozen=True)
class DemoUser:
    username: str
    role: Role
    password: str | None  # None when the user already existed: we never print a password twice


def role_groups_ensure() -> dict[Role, Group]:
    return {role: Group.objects.get_or_create(name=role.value)[0] for role in Role}


@transaction.atomic
def demo_users_ensure(*, reset_passwords: bool = False) -> list[DemoUser]:
    groups = role_groups_ensure()
    merchant, _ = Merchant.objects.get_or_create(
        name=DEMO_MERCHANT_NAME, defaults={"business_category": "cafe"}
    )
    user_model = get_user_model()
    created: list[DemoUser] = []
    for role in (Role.ADMIN, Role.MARKETER, Role.ANALYST, Role.MERCHANT):
        username = role.value
        user, is_new = user_model.objects.get_or_create(
            username=username, defaults={"email": f"{username}@demo.invalid"}
        )
        password = None
        if is_new or reset_passwords:
            password = secrets.token_urlsafe(9)
            user.set_password(password)
            user.is_staff = role == Role.ADMIN
            user.is_superuser = role == Role.ADMIN
            user.save()
        user.groups.add(groups[role])
        if role == Role.MERCHANT:
            MerchantMembership.objects.get_or_create(user=user, defaults={"merchant": merchant})
        created.append(DemoUser(username=username, role=role, password=password))
    return created
