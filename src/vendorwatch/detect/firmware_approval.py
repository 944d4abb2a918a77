"""Firmware and update validation: devices running firmware that was never approved after
testing, approvals without a test record, images whose signature is invalid, and images
with hard-coded vendor-cloud names.

Where a device's firmware version comes from: the asset register only
(``register_assets.firmware`` with the row's manufacturer or brand and model; the latest
register source wins per site and asset id). The captures carry no firmware signal
(``vendorwatch.signals`` has none): banners such as http.server, ssdp.server,
snmp.sysdescr, cdp.software or Zeek's software log sometimes name a version, but not
as a maker/model/version triple that could be held against an approval, so they are not
used. A register row is joined to an observed asset (table ``assets``) by IP address
(same site first, then any site, then the asset's other addresses) or else by MAC; the
finding's asset_ip is the observed address, else the registered one. The observed
asset fills in a maker or model the register leaves empty.

An image covers a device when the versions are equal (case, spaces and a leading 'v' or
'version' ignored) and the makers (registry maker id, else normalised name; brands count
for their maker) and models (letters and digits only, case ignored) agree; a maker or
model the device's row lacks is not compared, but one of the two must be known.

Findings (kind, key → severity):

- ``unapproved-firmware`` (asset id @ version): no approved image covers the device's
  version; medium, high when the device is of high or vital criticality or its maker is
  rated high or critical risk.
- ``approval-without-test`` (image id): the image's approvals all lack a test record; one
  finding per site whose devices run it (medium), or one without a site when none does
  (low).
- ``firmware-signature-invalid`` (image id @ asset id, or image id): one per device
  running that version (critical; high when a validly signed image of the same version
  is recorded too, since the device may run that one), else one without a device (high).
- ``firmware-vendor-endpoint`` (image id): names of a maker's cloud, P2P or platform
  endpoint are hard-coded in the image (medium); per site whose devices run it, else
  without a site.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from vendorwatch.detect.interface import DetectContext, Detector, Finding, evidence_row
from vendorwatch.intel import Registry
from vendorwatch.intel.registry import normalise_name

REGISTER_SIGNAL = "register.firmware"
IMAGE_SIGNAL = "firmware.image"
SIGNATURE_SIGNAL = "firmware.signature"
STRING_SIGNAL = "firmware.string"
CRITICAL_FUNCTIONS = ("high", "vital")
MAX_EVIDENCE = 50
# the finding kinds this detector gives (the report groups them)
FINDING_KINDS = ("unapproved-firmware", "approval-without-test", "firmware-signature-invalid",
                 "firmware-vendor-endpoint")


@dataclass
class Device:
    """A register row with a firmware version, joined to the asset observed for it."""

    site: str
    asset_id: str
    ip: str | None
    maker: str | None
    brand: str | None
    model: str | None
    version: str
    criticality: str | None
    source: str
    line: int
    observed: bool

    @property
    def label(self) -> str:
        what = " ".join(p for p in (self.maker, self.model) if p) or "unidentified device"
        where = f" at {self.ip}" if self.ip else ""
        return f"{self.asset_id} ({what}){where}"

    def evidence(self) -> dict[str, Any]:
        return evidence_row(None, self.ip or self.asset_id, None, REGISTER_SIGNAL,
                            f"{self.asset_id}: {self.maker or '?'} {self.model or '?'} firmware "
                            f"{self.version} (register line {self.line})", self.source)


class FirmwareApproval(Detector):
    kind = "firmware"

    def run(self, ctx: DetectContext) -> Iterable[Finding]:
        images = ctx.store.query("SELECT * FROM firmware_images ORDER BY id")
        approvals: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in ctx.store.query(
            "SELECT * FROM firmware_approvals ORDER BY approved_at"
        ):
            approvals[row["image_id"]].append(row)
        keys = _Keys(ctx.registry)
        by_version: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for image in images:
            by_version[_version_key(image["version"])].append(image)
        runners: dict[str, list[Device]] = defaultdict(list)
        for device in devices(ctx):
            covering = [image for image in by_version.get(_version_key(device.version), [])
                        if keys.covers(image, device)]
            for image in covering:
                runners[image["id"]].append(device)
            if not any(approvals.get(image["id"]) for image in covering):
                yield self._unapproved(ctx, keys, device, covering, images, approvals)
        for image in images:
            running = runners.get(image["id"], [])
            if image["signature"] == "invalid":
                yield from self._invalid(image, running, by_version, keys)
            given = approvals.get(image["id"], [])
            if given and not any((a["test_report"] or "").strip() for a in given):
                yield from self._untested(image, given, running)
            flagged = _json_list(image["flagged"])
            if flagged:
                yield from self._vendor_cloud(image, flagged, running)

    def _unapproved(
        self, ctx: DetectContext, keys: _Keys, device: Device,
        covering: list[dict[str, Any]], images: list[dict[str, Any]],
        approvals: dict[str, list[dict[str, Any]]],
    ) -> Finding:
        approved_versions = sorted({
            image["version"] for image in images
            if approvals.get(image["id"]) and keys.same_device(image, device)
        })
        maker_id = keys.maker_id(device.maker)
        risk, _ = ctx.registry.risk(maker_id)
        severity = "high" if (device.criticality or "").lower() in CRITICAL_FUNCTIONS \
            or risk in ("high", "critical") else "medium"
        recorded = ([f"recorded as {', '.join(i['id'] for i in covering)} but never approved"]
                    if covering else ["no image of it is recorded"])
        approved = (f"; approved for this model: {', '.join(approved_versions)}"
                    if approved_versions else "")
        return Finding(
            kind="unapproved-firmware", severity=severity, site=device.site,
            asset_ip=device.ip, key=f"{device.asset_id}@{device.version}",
            summary=f"{device.label} runs firmware {device.version}, which was never "
            f"approved after testing ({recorded[0]}){approved}",
            evidence=[device.evidence()],
            details={"asset_id": device.asset_id, "maker": device.maker,
                     "model": device.model, "version": device.version,
                     "maker_id": maker_id, "maker_risk": risk,
                     "criticality": device.criticality, "observed": device.observed,
                     "images": [i["id"] for i in covering],
                     "approved_versions": approved_versions, "endpoints": []},
        )

    def _invalid(
        self, image: dict[str, Any], running: list[Device],
        by_version: dict[str, list[dict[str, Any]]], keys: _Keys,
    ) -> Iterable[Finding]:
        what = _image_label(image)
        evidence = [_image_evidence(image),
                    evidence_row(None, "", None, SIGNATURE_SIGNAL,
                                 f"{image['id']}: {image['signature_detail']}",
                                 image["file_name"])]
        details = {"image": image["id"], "sha256": image["sha256"],
                   "signature_detail": image["signature_detail"], "endpoints": []}
        if not running:
            yield Finding(
                kind="firmware-signature-invalid", severity="high", site="", asset_ip=None,
                key=image["id"],
                summary=f"firmware image {what} has an invalid signature "
                f"({image['signature_detail']}); no registered device runs that version",
                evidence=evidence, details={**details, "devices": []},
            )
            return
        for device in running:
            genuine = [other["id"] for other in by_version[_version_key(image["version"])]
                       if other["signature"] == "valid" and keys.covers(other, device)]
            also = (f"; a validly signed image of that version is recorded too "
                    f"({', '.join(genuine)}): check which one the device runs"
                    if genuine else "")
            yield Finding(
                kind="firmware-signature-invalid", severity="high" if genuine else "critical",
                site=device.site, asset_ip=device.ip, key=f"{image['id']}@{device.asset_id}",
                summary=f"{device.label} runs firmware {device.version}, whose image "
                f"{image['id']} has an invalid signature ({image['signature_detail']}){also}",
                evidence=[device.evidence(), *evidence],
                details={**details, "asset_id": device.asset_id, "valid_images": genuine},
            )

    def _untested(
        self, image: dict[str, Any], given: list[dict[str, Any]], running: list[Device]
    ) -> Iterable[Finding]:
        approvals = [{"tested_by": a["tested_by"], "tested_on": _day(a["tested_on"]),
                      "approved_at": a["approved_at"]} for a in given]
        who = "; ".join(f"approved {a['tested_on'] or 'undated'} by "
                        f"{a['tested_by'] or 'nobody named'}" for a in approvals)
        evidence = [_image_evidence(image)] + [
            evidence_row(a["approved_at"], "", None, "firmware.approval",
                         f"{image['id']}: tested by {a['tested_by'] or '-'} on "
                         f"{a['tested_on'] or '-'}, no test record", image["file_name"])
            for a in approvals]
        for site, devices_here in _by_site(running):
            count = len(devices_here)
            summary = (f"firmware {_image_label(image)} was approved without a test record "
                       f"({who})")
            if devices_here:
                summary += f"; {_run_by(count)}"
            else:
                summary += "; no registered device runs it"
            yield Finding(
                kind="approval-without-test", severity="medium" if devices_here else "low",
                site=site, asset_ip=None, key=image["id"], summary=summary,
                evidence=(evidence + [d.evidence() for d in devices_here])[:MAX_EVIDENCE],
                details={"image": image["id"], "approvals": approvals,
                         "devices": [d.asset_id for d in devices_here], "endpoints": []},
            )

    def _vendor_cloud(
        self, image: dict[str, Any], flagged: list[dict[str, Any]], running: list[Device]
    ) -> Iterable[Finding]:
        names = sorted({str(f.get("value")) for f in flagged})
        makers = sorted({str(f.get("maker")) for f in flagged if f.get("maker")})
        evidence = [_image_evidence(image)] + [
            evidence_row(None, "", None, STRING_SIGNAL,
                         f"{f.get('value')} (endpoint {f.get('endpoint')}, maker "
                         f"{f.get('maker')})", image["file_name"]) for f in flagged]
        for site, devices_here in _by_site(running):
            runs = f"; {_run_by(len(devices_here))}" if devices_here else ""
            yield Finding(
                kind="firmware-vendor-endpoint", severity="medium", site=site, asset_ip=None,
                key=image["id"],
                summary=f"firmware {_image_label(image)} has vendor-cloud names hard-coded: "
                f"{', '.join(names[:5])}{' …' if len(names) > 5 else ''}{runs}",
                evidence=(evidence + [d.evidence() for d in devices_here])[:MAX_EVIDENCE],
                details={"image": image["id"], "names": flagged, "makers": makers,
                         "devices": [d.asset_id for d in devices_here],
                         "endpoints": [{"ip": "", "name": name} for name in names]},
            )


def devices(ctx: DetectContext) -> list[Device]:
    """Register rows with a firmware version (the latest source's row per site and asset
    id), joined to the observed assets by IP address, else by MAC."""
    rows = ctx.store.query(
        """SELECT r.*, s.path AS source_path
           FROM current_register_assets r JOIN sources s ON s.id = r.source_id
           WHERE coalesce(trim(r.firmware), '') <> ''
           QUALIFY row_number() OVER (PARTITION BY r.site, r.asset_id
                                      ORDER BY r.source_id DESC, r.line DESC) = 1
           ORDER BY r.site, r.asset_id"""
    )
    if not rows:
        return []
    assets = ctx.store.query("SELECT site, ip, mac, manufacturer, brand, model, addresses "
                             "FROM assets ORDER BY site, ip")
    by_site_ip: dict[tuple[str, str], dict[str, Any]] = {}
    by_ip: dict[str, list[dict[str, Any]]] = defaultdict(list)
    by_mac: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for asset in assets:
        for address in [asset["ip"], *_json_list(asset["addresses"])]:
            if isinstance(address, dict):
                address = address.get("ip")
            if not isinstance(address, str) or not address:
                continue
            by_site_ip.setdefault((asset["site"], address), asset)
            by_ip[address].append(asset)
        mac = normal_mac(asset["mac"])
        if mac:
            by_mac[mac].append(asset)
    out = []
    for row in rows:
        observed = _observed(row, by_site_ip, by_ip, by_mac)
        seen = observed or {}
        out.append(Device(
            site=row["site"], asset_id=row["asset_id"],
            ip=(observed["ip"] if observed else None) or _text(row["ip"]),
            maker=_text(row["manufacturer"]) or _text(row["brand"])
            or _text(seen.get("manufacturer")) or _text(seen.get("brand")),
            brand=_text(row["brand"]) or _text(seen.get("brand")),
            model=_text(row["model"]) or _text(seen.get("model")),
            version=row["firmware"].strip(), criticality=_text(row["criticality"]),
            source=row["source_path"], line=row["line"], observed=observed is not None,
        ))
    return out


def _observed(
    row: dict[str, Any], by_site_ip: dict[tuple[str, str], dict[str, Any]],
    by_ip: dict[str, list[dict[str, Any]]], by_mac: dict[str, list[dict[str, Any]]],
) -> dict[str, Any] | None:
    ip = _text(row["ip"])
    if ip:
        if (row["site"], ip) in by_site_ip:
            return by_site_ip[(row["site"], ip)]
        if len(by_ip.get(ip, [])) == 1:
            return by_ip[ip][0]
    mac = normal_mac(row["mac"])
    if mac:
        found = by_mac.get(mac, [])
        same_site = [a for a in found if a["site"] == row["site"]]
        if len(same_site) == 1:
            return same_site[0]
        if len(found) == 1:
            return found[0]
    return None


class _Keys:
    """Maker, model and version keys, cached per text."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self._makers: dict[str, frozenset[str]] = {}

    def makers(self, text: str | None) -> frozenset[str]:
        if not text:
            return frozenset()
        if text not in self._makers:
            keys = {"name:" + normalise_name(text)}
            maker = self.registry.match_organisation(text)
            if maker is not None:
                keys.add(maker.id)
            brand = self.registry.brand(text)
            if brand is not None and brand.maker_id:
                keys.add(brand.maker_id)
            self._makers[text] = frozenset(keys)
        return self._makers[text]

    def maker_id(self, text: str | None) -> str | None:
        maker = self.registry.match_organisation(text) if text else None
        return maker.id if maker is not None else None

    def same_device(self, image: dict[str, Any], device: Device) -> bool:
        """The image is for the device's maker and model (versions aside)."""
        if not (device.maker or device.model):
            return False
        if device.maker and not self.makers(image["maker"]) & (
            self.makers(device.maker) | self.makers(device.brand)
        ):
            return False
        return not (device.model and _model_key(image["model"]) != _model_key(device.model))

    def covers(self, image: dict[str, Any], device: Device) -> bool:
        return (_version_key(image["version"]) == _version_key(device.version)
                and self.same_device(image, device))


@lru_cache(maxsize=4096)
def _version_key(text: str) -> str:
    key = " ".join(text.casefold().split())
    key = re.sub(r"^(?:firmware|version|ver|fw)\s*[:.]?\s*", "", key)
    return re.sub(r"^v\s*(?=\d)", "", key)


def _model_key(text: str) -> str:
    return re.sub(r"[^0-9a-z]", "", text.casefold())


def _by_site(running: list[Device]) -> list[tuple[str, list[Device]]]:
    """Devices grouped by site; one group without a site when none runs the image."""
    groups: dict[str, list[Device]] = defaultdict(list)
    for device in running:
        groups[device.site].append(device)
    return sorted(groups.items()) if groups else [("", [])]


def _run_by(count: int) -> str:
    return "1 device here runs it" if count == 1 else f"{count} devices here run it"


def _image_label(image: dict[str, Any]) -> str:
    return f"{image['id']} ({image['maker']} {image['model']} {image['version']})"


def _image_evidence(image: dict[str, Any]) -> dict[str, Any]:
    return evidence_row(image["added_at"], "", None, IMAGE_SIGNAL,
                        f"{_image_label(image)}: {image['file_name']}, sha256 "
                        f"{image['sha256']}, signature {image['signature']}",
                        image["file_name"])


def _json_list(value: Any) -> list[Any]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return []
    return value if isinstance(value, list) else []


def normal_mac(value: str | None) -> str | None:
    """A MAC in lower-case colon notation (any separators), else None."""
    digits = "".join(c for c in value or "" if c.isalnum()).lower()
    if len(digits) != 12 or any(c not in "0123456789abcdef" for c in digits):
        return None
    return ":".join(digits[i : i + 2] for i in range(0, 12, 2))


def _text(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _day(value: Any) -> str | None:
    return value.isoformat() if value is not None else None
