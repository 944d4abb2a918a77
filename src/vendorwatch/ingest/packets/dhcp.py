"""DHCP: a client's MAC, host name, vendor class and parameter request list.

Early messages (DISCOVER) carry no address yet; their facts are held per MAC until the
capture ends and then attached to the address the client got, or to the MAC itself."""

from __future__ import annotations

import dpkt

from vendorwatch import signals
from vendorwatch.ingest.packets.context import Emit, Packet, addr, mac, text

OPT_HOSTNAME, OPT_DOMAIN, OPT_MESSAGE_TYPE = 12, 15, 53
ACK = b"\x05"
OPT_PARAMS, OPT_VENDOR_CLASS, OPT_CLIENT_ID = 55, 60, 61
ZERO = "0.0.0.0"


class DhcpTracker:
    """Collects DHCP facts per client MAC and the best address known for that MAC."""

    def __init__(self) -> None:
        self.facts: dict[str, list[tuple[float, str, str]]] = {}
        self.address: dict[str, str] = {}

    def handle(self, pkt: Packet, emit: Emit) -> None:
        try:
            msg = dpkt.dhcp.DHCP(pkt.payload)
        except (dpkt.UnpackError, IndexError, ValueError):
            return
        client = mac(msg.chaddr[:6])
        opts = dict(msg.opts)
        # Only what a server granted (ACK) or what a client says it already uses (ciaddr)
        # ties facts to an address: the address a client merely asks for (option 50) is
        # anyone's to claim, and would let one packet re-badge another device.
        if msg.op == dpkt.dhcp.DHCP_OP_REPLY and msg.yiaddr and opts.get(OPT_MESSAGE_TYPE) == ACK:
            self.address[client] = addr(msg.yiaddr.to_bytes(4, "big"))
        elif msg.ciaddr:
            self.address.setdefault(client, addr(msg.ciaddr.to_bytes(4, "big")))
        facts = self.facts.setdefault(client, [])
        facts.append((pkt.ts, signals.MAC, client))
        if OPT_DOMAIN in opts:  # the client's own (12/81 context) or the one a server assigns
            facts.append((pkt.ts, signals.DHCP_DOMAIN, text(opts[OPT_DOMAIN])))
        if msg.op != dpkt.dhcp.DHCP_OP_REQUEST:
            return
        if OPT_HOSTNAME in opts:
            facts.append((pkt.ts, signals.DHCP_HOSTNAME, text(opts[OPT_HOSTNAME])))
        if OPT_VENDOR_CLASS in opts:
            facts.append((pkt.ts, signals.DHCP_VENDOR_CLASS, text(opts[OPT_VENDOR_CLASS])))
        if OPT_PARAMS in opts:
            facts.append(
                (pkt.ts, signals.DHCP_PARAM_LIST, ",".join(str(b) for b in opts[OPT_PARAMS]))
            )
        if OPT_CLIENT_ID in opts:
            facts.append((pkt.ts, signals.DHCP_CLIENT_ID, opts[OPT_CLIENT_ID].hex(":")))

    def finish(self, emit: Emit, mac_to_ip: dict[str, str]) -> None:
        """Emit held facts, each about the address the client got (else its MAC)."""
        for client, facts in self.facts.items():
            host = self.address.get(client) or mac_to_ip.get(client) or client
            for ts, signal, value in facts:
                emit(ts, host, None, signal, value)
