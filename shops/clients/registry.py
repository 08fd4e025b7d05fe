"""Which client speaks to which platform. Adding a system is one module and one line here."""

from __future__ import annotations

from typing import Any

from django.utils.module_loading import import_string

from shops.models import Connection

# Import paths rather than classes, so using one client never imports every vendor module.
CLIENTS: dict[str, str] = {
    Connection.Platform.VISMA: "shops.clients.visma.VismaClient",
    Connection.Platform.JETSHOP: "shops.clients.jetshop.JetshopClient",
}


def client_for(connection: Connection, **options: Any) -> Any:
    """A ready client for `connection` (options, e.g. timeout, go to its constructor)."""
    try:
        path = CLIENTS[connection.platform]
    except KeyError:
        raise LookupError(
            f"No API client for platform {connection.get_platform_display()!r} yet."
        ) from None
    return import_string(path)(connection, **options)


def supports(platform: str) -> bool:
    return platform in CLIENTS
