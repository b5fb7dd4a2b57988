"""How the batch joins Ray (issue 23), with ``ray.init`` stood in for: no cluster is started."""

from __future__ import annotations

import os

import pytest

ray = pytest.importorskip("ray")

from transnorm import Settings  # noqa: E402
from transnorm import ray as transnorm_ray  # noqa: E402
from transnorm.batch import reaper  # noqa: E402
from transnorm.errors import TransnormError  # noqa: E402

RAYS_MESSAGE = (
    "Could not find any running Ray instance. Please specify the one to connect to by setting "
    "`--address` flag or `RAY_ADDRESS` environment variable."
)


@pytest.fixture
def watched(monkeypatch) -> list[str]:
    """The marks whose watchdog was started (none is: the list stands in for them)."""
    marks: list[str] = []
    monkeypatch.setattr(reaper, "watch", marks.append)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    return marks


@pytest.fixture
def calls(monkeypatch, watched):
    """``ray.init``'s arguments, each with the mark (if any) its processes would carry."""
    seen: list[dict] = []
    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    monkeypatch.setattr(ray.data.DataContext, "get_current", lambda: type("C", (), {})())

    def init(**kwargs):
        seen.append({**kwargs, "mark": os.environ.get(reaper.MARK)})
        if kwargs.get("address") == "auto":
            raise ConnectionError(RAYS_MESSAGE)

    monkeypatch.setattr(ray, "init", init)
    return seen


def test_ray_started_here_listens_on_loopback_only(calls):
    transnorm_ray.connect(Settings())
    assert calls[0]["address"] is None and calls[0]["_node_ip_address"] == "127.0.0.1"


def test_no_cluster_at_the_address_names_our_flag_not_rays(calls):
    with pytest.raises(TransnormError) as caught:
        transnorm_ray.connect(Settings(ray_address="auto"))
    message = str(caught.value)
    assert message.startswith("--ray-address auto: no Ray cluster answers there")
    assert "TRANSNORM_RAY_ADDRESS" in message and "ray start --head" in message
    assert "`--address`" not in message and "RAY_ADDRESS environment" not in message
    assert "_node_ip_address" not in calls[0]  # a cluster's own address is its business


def test_an_address_where_nothing_listens_fails_at_once_without_ray(calls):
    """Regression: a stale cluster address was retried by Ray for over 6 minutes (10 measured); now
    the run looks first and stops with our message, before ray.init."""
    import socket

    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]  # closed again below: nothing listens there
    for address in (f"127.0.0.1:{port}", f"ray://127.0.0.1:{port}"):
        with pytest.raises(TransnormError, match="no Ray cluster answers there"):
            transnorm_ray.connect(Settings(ray_address=address))
    assert calls == []


def test_an_address_that_answers_goes_to_ray(calls):
    import socket

    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        address = f"127.0.0.1:{listening.getsockname()[1]}"
        transnorm_ray.connect(Settings(ray_address=address))
    assert calls[0]["address"] == address


def test_ray_started_here_is_marked_and_watched_before_it_starts(calls, watched):
    """Regression (issue 23): kill -9 of a driver left Ray's agents running. The processes of a Ray
    started here carry a mark whose watchdog was started first; the driver itself does not."""
    transnorm_ray.connect(Settings())
    assert len(watched) == 1 and calls[0]["mark"] == watched[0]
    assert reaper.MARK not in os.environ


def test_a_cluster_joined_is_never_marked_nor_watched(calls, watched, monkeypatch):
    import socket

    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        transnorm_ray.connect(Settings(ray_address=f"127.0.0.1:{listening.getsockname()[1]}"))
    monkeypatch.setenv("RAY_ADDRESS", "127.0.0.1:6379")  # ray.init joins it when no address is given
    transnorm_ray.connect(Settings())
    assert [c["mark"] for c in calls] == [None, None] and watched == []
    assert "_node_ip_address" not in calls[1]  # that cluster's address is its business
