"""The vendor clouds a device calls: names it resolves or connects to (DNS, TLS SNI, HTTP
Host) that the registry lists as a maker's cloud or P2P endpoint."""

from __future__ import annotations

from vendorwatch import signals
from vendorwatch.identify.claims import Claim, EvidenceRow
from vendorwatch.intel import Registry

HOST_SIGNALS = frozenset({signals.DNS_QUERY, signals.TLS_SNI, signals.HTTP_HOST})


class CloudClaims:
    WEIGHT = 0.4  # calling a maker's cloud suggests, not proves, the maker

    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    def claims(self, row: EvidenceRow) -> list[Claim]:
        if row.signal not in HOST_SIGNALS:
            return []
        endpoint = self.registry.endpoint_for_host(row.value)
        if endpoint is None or not endpoint.maker or endpoint.kind == "platform":
            return []
        maker = self.registry.maker(endpoint.maker)
        if maker is None:
            return []
        reason = f"calls {endpoint.kind} endpoint {row.value} ({endpoint.source})"
        return [Claim("manufacturer", maker.name, self.WEIGHT, reason, maker.id)]
