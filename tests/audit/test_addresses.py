"""R13.2: client address and source port, behind and not behind a trusted proxy, on every log."""

import pytest
from django.urls import reverse

from audit.models import NetworkLog
from common.actors import client_address


def test_direct_client_address_and_port_are_used_and_forwarded_headers_ignored(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    meta = {
        "REMOTE_ADDR": "203.0.113.7",
        "REMOTE_PORT": "51234",
        "HTTP_X_FORWARDED_FOR": "1.2.3.4",
        "HTTP_X_CLIENT_PORT": "999",
    }
    assert client_address(meta) == ("203.0.113.7", 51234)


def test_behind_a_trusted_proxy_the_forwarded_client_and_port_are_used(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    meta = {
        "REMOTE_ADDR": "10.0.0.2",
        "REMOTE_PORT": "40000",
        "HTTP_X_FORWARDED_FOR": "6.6.6.6, 198.51.100.9, 10.0.0.3",
        "HTTP_X_CLIENT_PORT": "62001",
    }
    # the client can prepend anything; the nearest untrusted hop is what our proxy saw
    assert client_address(meta) == ("198.51.100.9", 62001)


@pytest.mark.parametrize("forwarded", ["not-an-ip", "", "1.2.3.4, garbage"])
def test_garbage_forwarded_headers_never_reach_the_logs(settings, forwarded):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    ip, _port = client_address({"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": forwarded})
    assert ip in ("10.0.0.2", "1.2.3.4")


def test_http_requests_of_signed_in_users_are_network_logged_with_address_and_port(client, member, settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    client.force_login(member)
    client.get(
        reverse("home"),
        REMOTE_ADDR="10.0.0.2",
        REMOTE_PORT="1",
        HTTP_X_FORWARDED_FOR="198.51.100.9",
        HTTP_X_CLIENT_PORT="62001",
    )
    row = NetworkLog.objects.filter(kind="http", user_id=member.pk).latest("id")
    assert (row.ip, row.port, row.method, row.path, row.status) == ("198.51.100.9", 62001, "GET", "/", 200)


def test_anonymous_requests_are_not_network_logged(client, db):
    client.get(reverse("login"))
    assert not NetworkLog.objects.filter(kind="http").exists()


@pytest.mark.parametrize(
    ("meta", "expected"),
    [
        ({"REMOTE_ADDR": "fe80::1%eth0", "REMOTE_PORT": "5"}, ("fe80::1", 5)),
        (
            {
                "REMOTE_ADDR": "10.0.0.2",
                "HTTP_X_FORWARDED_FOR": "198.51.100.9",
                "HTTP_X_CLIENT_PORT": "\u00b2",
            },
            ("198.51.100.9", None),
        ),
        ({"REMOTE_ADDR": "203.0.113.1", "REMOTE_PORT": "99999"}, ("203.0.113.1", None)),
    ],
)
def test_odd_addresses_and_ports_are_normalised_or_dropped(settings, meta, expected):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    assert client_address(meta) == expected


def test_a_path_full_of_nul_bytes_is_logged_not_a_500(client, member):
    client.force_login(member)
    response = client.get("/" + "%00" * 200)
    assert response.status_code == 404
    assert NetworkLog.objects.filter(kind="http", status=404, user_id=member.pk).exists()
