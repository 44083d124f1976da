from __future__ import annotations

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

EVENT_TYPE_NAME_PATTERN = r"^[a-z][a-z0-9_]{0,63}$"


class AttributeType(models.TextChoices):
    STRING = "string", _("Text")
    NUMBER = "number", _("Number")
    BOOLEAN = "boolean", _("Yes / no")
    DATETIME = "datetime", _("Date and time")
    ENUM = "enum", _("One of a list")


class EventType(models.Model):
    """One kind of event a source may send, with the attributes it carries.

    ``attributes`` is a list of ``{"name", "type", "required", "values"?}`` (``values`` for enums).
    Only new events are validated against it: events already accepted keep the shape they had.
    """

    name = models.CharField(
        max_length=64,
        unique=True,
        validators=[
            RegexValidator(
                EVENT_TYPE_NAME_PATTERN,
                _("Use lower-case letters, digits and underscores, starting with a letter."),
            )
        ],
    )
    description = models.TextField(blank=True)
    attributes = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Source(models.Model):
    """A sender of events (mobile app, card switch, branch system) and its API key's hash."""

    name = models.CharField(max_length=100)
    key_hash = models.CharField(max_length=64, unique=True)
    key_prefix = models.CharField(
        max_length=16, help_text=_("The first characters, to tell keys apart.")
    )
    rate_limit_per_second = models.PositiveIntegerField(
        default=200, help_text=_("Requests per second this key may make.")
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
