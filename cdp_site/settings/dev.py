"""Local development with the embedded servers: ``make run``."""

from cdp_site.settings.base import *  # noqa: F403
from cdp_site.settings.base import environment_flag

DEBUG = environment_flag("DJANGO_DEBUG", default=False)
