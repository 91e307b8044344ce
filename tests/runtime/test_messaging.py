"""The broker's bootstrap list: a cluster's comma-separated servers, each one server."""

from services.runtime.messaging import bootstrap_servers


def test_a_clusters_servers_are_split() -> None:
    assert bootstrap_servers("10.0.0.1:9093, 10.0.0.2:9093,10.0.0.3:9093") == [
        "10.0.0.1:9093",
        "10.0.0.2:9093",
        "10.0.0.3:9093",
    ]


def test_one_server_stays_one() -> None:
    assert bootstrap_servers("127.0.0.1:19092") == ["127.0.0.1:19092"]
