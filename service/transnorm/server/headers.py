"""The security headers every response carries, and the Content-Security-Policy builder: one
policy for the whole service (responses the app makes, and those the HTTP worker makes itself).

Every response may load nothing and be framed by no page (:data:`DEFAULT_CSP`); a page that
needs more -- the page at ``/``, HTML output, ``/docs`` -- gets :func:`csp` of exactly its own
inline style and script.
"""

from __future__ import annotations

import base64
import hashlib

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Resource-Policy": "same-origin",
}


def _hash(content: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(content.encode()).digest()).decode() + "'"


def csp(style: str = "", script: str = "", connect: bool = False, images: bool = False) -> str:
    """A Content-Security-Policy that allows exactly the given inline style and script (and
    requests to this origin, and images from it, when asked)."""
    parts = ["default-src 'none'"]
    if style:
        parts.append(f"style-src {_hash(style)}")
    if script:
        parts.append(f"script-src {_hash(script)}")
    if connect:
        parts.append("connect-src 'self'")
    if images:
        parts.append("img-src 'self' data:")
    parts += ["frame-ancestors 'none'", "base-uri 'none'", "form-action 'none'"]
    return "; ".join(parts)


#: What every response may load: nothing.
DEFAULT_CSP = csp()
