"""Who reaches out, on real public captures (../shared/data): a client publishing to a
public MQTT broker, a Nest device's persistent channel home, and local-only IoT discovery
traffic that must not be reported as reaching out."""

from __future__ import annotations

from pathlib import Path

from vendorwatch.detect import run_detectors
from vendorwatch.identify.assets import identify_assets
from vendorwatch.ingest import ingest_path
from vendorwatch.store import Store
from vendorwatch.store.views import list_findings


def _findings(tmp_path: Path, capture: Path) -> list[dict]:  # type: ignore[type-arg]
    tmp_path.mkdir(parents=True, exist_ok=True)
    with Store(tmp_path / "reach.duckdb") as store:
        assert ingest_path(store, capture).error is None
        identify_assets(store)
        run_detectors(store)
        return list_findings(store)


def test_mqtt_to_a_public_broker_is_internet_traffic(shared_data: Path, tmp_path: Path) -> None:
    found = _findings(tmp_path, shared_data / "zeek-btest/traces/mqtt.pcap")
    internet = [f for f in found if f["kind"] == "internet-traffic"]
    assert [f["asset_ip"] for f in internet] == ["10.0.1.4"]
    assert any("tcp/1883 to" in e["value"] for e in internet[0]["evidence"])


def test_a_nest_device_holds_a_persistent_channel_home(shared_data: Path,
                                                       tmp_path: Path) -> None:
    found = _findings(tmp_path, shared_data / "ndpi/pcap/nest_log_sink.pcap")
    beacons = [f for f in found if f["kind"] == "beaconing"]
    assert [f["asset_ip"] for f in beacons] == ["192.168.242.15"]
    assert "nest.com" in beacons[0]["summary"]
    assert beacons[0]["details"]["country"] == "US"


def test_local_discovery_traffic_is_not_reaching_out(shared_data: Path, tmp_path: Path) -> None:
    for name in ("tplink_shp.pcap", "upnp.pcap", "ssdp-m-search-ua.pcap"):
        found = _findings(tmp_path / name, shared_data / "ndpi/pcap" / name)
        kinds = {f["kind"] for f in found}
        assert not kinds & {"internet-traffic", "remote-access", "beaconing",
                            "second-gateway"}, (name, kinds)
