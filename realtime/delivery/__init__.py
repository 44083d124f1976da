"""Channel backends: one interface, one module per channel, configured per deployment.

``settings.CDP_CHANNELS`` maps a channel name to ``{"BACKEND": dotted path, ...options}``;
``backend_for(name)`` builds (and caches) the backend. Every backend takes a ``Message`` and
answers a ``SendResult`` that says whether a failure is temporary (retry later) or permanent
(try the fallback channel now). Backends never raise for a provider's failure.
"""

from realtime.delivery.base import (
    ChannelBackend,
    Message,
    SendResult,
    backend_for,
    backends_reset,
)

__all__ = ["ChannelBackend", "Message", "SendResult", "backend_for", "backends_reset"]
