"""Container health check: exit 0 when ``/readyz`` answers 200, 1 otherwise.

``python -m transnorm.server.healthcheck [URL]`` (default ``http://127.0.0.1:$TRANSNORM_PORT/readyz``);
the slim image has no curl.
"""

from __future__ import annotations

import sys
import urllib.error
import urllib.request


def check(url: str, timeout: float = 3.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def main(argv: list[str]) -> int:
    if len(argv) > 1:
        url = argv[1]
    else:
        from ..settings import ServiceSettings

        url = f"http://127.0.0.1:{ServiceSettings().port}/readyz"
    ok = check(url)
    print("ready" if ok else f"not ready: {url}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
