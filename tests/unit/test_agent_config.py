"""The agent's config file: every section parses, and bad input names file and field."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from agent.config import AgentConfig, ConfigError, load_config


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return path


def test_sections_become_the_settings_the_agent_runs_with(tmp_path: Path) -> None:
    cfg = load_config(
        write(
            tmp_path,
            "services: {node_port_addresses: ['192.168.10.11', 'fd00::b']}\n"
            "nat: {uplink_interface: host-eth0, host_interface: tap0}\n"
            "bgp: {asn: 64600, listen_port: -1}\n",
        )
    )
    assert cfg.services.settings().node_port_addresses == (
        ipaddress.ip_address("192.168.10.11"),
        ipaddress.ip_address("fd00::b"),
    )
    nat = cfg.nat.settings()
    assert (nat.uplink_interface, nat.host_interface) == ("host-eth0", "tap0")
    assert cfg.bgp is not None and cfg.bgp.asn == 64600 and cfg.bgp.listen_port == -1


def test_defaults_run_no_speaker_and_no_watches() -> None:
    cfg = AgentConfig()
    assert cfg.bgp is None and cfg.kubernetes is None
    assert cfg.services.settings().node_port_addresses == ()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "services: {node_port_addresses: [10.0.0.300]}",
            "services.node_port_addresses: Value error, '10.0.0.300'",
        ),
        ("nat: {uplink: host-eth0}", "nat.uplink: Extra inputs are not permitted"),
        ("bgp: {router_id: 'fd00::1'}", "bgp.router_id"),
        ("resync_interval: 0", "resync_interval"),
        ("services: [", "invalid YAML"),
    ],
)
def test_bad_config_names_file_and_field(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert str(path) in str(error.value) and expected in str(error.value)
