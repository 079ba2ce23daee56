"""Without sign-in, Chronos is one person's workspace: it must not be reachable from the network.

Before: `streamlit run app.py` listened on every interface (*:8501), so anyone on the network got
the workspace. Now the shipped config listens on 127.0.0.1, and an app started on 0.0.0.0 anyway
refuses visitors from other computers unless the operator declares the network trusted.
"""

from __future__ import annotations

import socket
import urllib.error
import urllib.request

import pytest

from tests.e2e.conftest import running_app
from tests.pg import free_port


def _own_network_address() -> str:
    """This machine's address on its network (not loopback), or skip where it has none."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 9))  # no packet is sent: this only picks the outgoing interface
            address = probe.getsockname()[0]
        except OSError:
            address = "127.0.0.1"
    if address.startswith("127."):
        pytest.skip("this machine has no network address besides loopback")
    return address


def _reachable(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=3) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def test_the_shipped_config_listens_on_this_computer_only(tmp_path):
    network = _own_network_address()
    with running_app(tmp_path, address=None) as app:
        assert _reachable(app.url)
        assert not _reachable(f"http://{network}:{app.port}")


@pytest.mark.parametrize(("trusted", "expected"), [
    ("off", "This Chronos serves only the computer it runs on"),
    ("on", "Welcome to Chronos"),
])
def test_an_app_opened_to_the_network_without_sign_in_serves_only_a_trusted_one(tmp_path, browser, trusted,
                                                                                 expected):
    network = _own_network_address()
    with running_app(tmp_path, {"CHRONOS_TRUSTED_NETWORK": trusted}, address="0.0.0.0", port=free_port()) as app:
        page = browser.new_page()
        try:
            page.goto(f"http://{network}:{app.port}")
            page.get_by_text(expected).first.wait_for(timeout=90_000)
            page.goto(app.url)  # from this computer it always opens
            page.get_by_text("Welcome to Chronos").first.wait_for(timeout=90_000)
            assert page.get_by_text("serves only the computer").count() == 0
        finally:
            page.close()
