"""The security headers every response carries: the app's (``middleware``) and those the worker
writes itself before a request reaches the app (``transport``)."""

from __future__ import annotations

#: What every response may load: nothing, and no page may frame it. Pages that need more (the
#: page, HTML output, /docs) set their own policy.
DEFAULT_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Resource-Policy": "same-origin",
}
