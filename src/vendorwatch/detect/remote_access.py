"""Remote-access, tunnel and proxy channels: TeamViewer, AnyDesk, RDP, VNC, SSH, Telnet, VPNs
(OpenVPN, WireGuard, Tailscale, IPsec), SOCKS and HTTP CONNECT proxies, and the like.

Which tool a connection is comes from the data file `data/remote_access_tools.yaml`, never from
code: nDPI application names and Zeek services of the flow (`flows.app`), combinations of
services on one connection (Zeek's ``http,ssl`` is TLS inside HTTP: a CONNECT tunnel), the
names of the tool's own infrastructure (flow server name, TLS SNI, HTTP Host, DNS queries),
banners and certificates (evidence), and, for connections nDPI/Zeek could not name, the
tool's default ports ("by port only": one severity step lower).

One finding per (asset, tool, peer): the asset is the site's end of the connection (an asset
or any non-public address); when both ends are on the site, the end the tool controls
(`controlled` in the data file: the server for RDP/VNC/SSH/Telnet, the client that runs the
agent or opens the tunnel for AnyDesk/TeamViewer/VPNs/proxies). Direction, from the asset:

- inbound: a public address opened the connection (high; critical for interactive tools)
- outbound: the asset opened it to a public address (high)
- internal: both ends on the site (medium)
- lookup: the asset only resolved the tool's names (DNS) (medium)
- transit: neither end is on the site (both public; low)

One step higher for operational device classes (`OPERATIONAL_CLASSES`) and high-risk makers,
for cleartext tools (Telnet, VNC) and for SSH that looks like a reverse tunnel: an internal
host opening SSH to the internet on a port other than 22, or keeping it open at least
`REVERSE_SSH_MIN_SECONDS` with interactive-sized packets both ways. One step lower for
matches by port only and for `weak` tools.

Flows seen only from the server's side (a UDP answer, a TCP connection caught mid-stream) are
turned round: when the destination port is neither a tool port nor below 1024 and the source
port is one of them, the source is taken as the server."""

from __future__ import annotations

import ipaddress
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from vendorwatch import signals
from vendorwatch.detect.interface import (
    SEVERITIES,
    DetectContext,
    Detector,
    Finding,
    asset_addresses,
    evidence_row,
    proto_name,
)
from vendorwatch.detect.internet_exposure import OPERATIONAL_CLASSES, is_public
from vendorwatch.errors import InputError
from vendorwatch.files import load_data_file

MAX_EVIDENCE = 50
# Reverse SSH: an internal host's outbound SSH session at least this long, with at least
# this many packets each way and interactive-sized packets (mean IP bytes per packet) both
# ways. A file transfer is bulk one way; a reverse shell is small packets in both.
REVERSE_SSH_MIN_SECONDS = 600.0
REVERSE_SSH_MIN_PACKETS = 20
REVERSE_SSH_MAX_MEAN_PACKET = 400
# nDPI master protocols that mean "the name was resolved", not "a session was opened".
LOOKUP_MASTERS = frozenset({"dns", "mdns", "llmnr"})
# Application names that say nothing about the tool: a connection to a tool port that nDPI
# or Zeek named only this way can still be attributed to the tool by its port.
GENERIC_APPS = frozenset({"unknown", "tls", "ssl", "dtls", "tcp", "udp"})
NAME_SIGNALS = (signals.TLS_SNI, signals.HTTP_HOST, signals.DNS_QUERY)
CONNECT_TOOL = "http-connect"
PROTOCOLS = {"tcp": 6, "udp": 17}
WEB_PORTS = frozenset({80, 443})
# An inbound "session" in which the device sent back less than this is an attempt.
SESSION_MIN_BYTES = 512
BASE_SEVERITY = {"inbound": "high", "outbound": "high", "internal": "medium",
                 "lookup": "medium", "transit": "low", "loopback": "info"}
DIRECTION_RANK = {"loopback": -1, "transit": 0, "internal": 1, "lookup": 2, "outbound": 3,
                  "inbound": 4}
DIRECTION_TEXT = {
    "inbound": "from the internet", "outbound": "to the internet",
    "internal": "inside the site", "lookup": "name lookups",
    "transit": "between two outside addresses",
    "loopback": "on the capturing host itself (loopback)",
}
_PORT = re.compile(r"^(tcp|udp)/(\d{1,5})$")


# --- the data file -------------------------------------------------------------------------


def _compiles(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"pattern {value!r} does not compile: {exc}") from None
    return value


class Banner(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    signals: list[str] = Field(min_length=1)
    pattern: str
    about: Literal["server", "client"]

    @field_validator("pattern")
    @classmethod
    def _pattern(cls, value: str) -> str:
        return _compiles(value)


class Tool(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    name: str = Field(min_length=1)
    kind: Literal["interactive", "tunnel", "proxy"]
    controlled: Literal["server", "client"]
    ndpi: list[str] = []
    zeek: list[str] = []
    service_sets: list[list[str]] = []
    ports: list[str] = []
    port_alone: bool = False
    hosts: list[str] = []
    banners: list[Banner] = []
    cleartext: bool = False
    min_duration_s: float = Field(default=0.0, ge=0)
    weak: bool = False
    reason: str = Field(min_length=1)

    @field_validator("ports")
    @classmethod
    def _ports(cls, values: list[str]) -> list[str]:
        for value in values:
            found = _PORT.match(value)
            if found is None or not 0 < int(found.group(2)) < 65536:
                raise ValueError(f"port {value!r} is not proto/port (tcp/3389, udp/1194)")
        return values

    @field_validator("hosts")
    @classmethod
    def _hosts(cls, values: list[str]) -> list[str]:
        return [_compiles(v) for v in values]

    @field_validator("service_sets")
    @classmethod
    def _sets(cls, values: list[list[str]]) -> list[list[str]]:
        if any(len(group) < 2 for group in values):
            raise ValueError("a service set names at least two services")
        return values

    @model_validator(mode="after")
    def _matchable(self) -> Tool:
        if not (self.ndpi or self.zeek or self.service_sets or self.hosts or self.banners
                or (self.ports and self.port_alone)):
            raise ValueError(f"tool {self.id} has nothing to be recognised by")
        return self

    def port_set(self) -> frozenset[tuple[int, int]]:
        out = set()
        for value in self.ports:
            proto, _, port = value.partition("/")
            out.add((PROTOCOLS[proto], int(port)))
        return frozenset(out)


class ToolCatalogue(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    version: int
    tools: list[Tool] = Field(min_length=1)


@dataclass
class Matcher:
    """The catalogue, indexed for matching."""

    tools: dict[str, Tool]
    by_app: dict[str, Tool]
    sets: list[tuple[frozenset[str], Tool]]
    by_port: dict[tuple[int, int], Tool]
    hosts: list[tuple[re.Pattern[str], Tool]]
    banners: dict[str, list[tuple[re.Pattern[str], Banner, Tool]]]

    @classmethod
    def of(cls, catalogue: ToolCatalogue, label: str = "remote_access_tools.yaml") -> Matcher:
        by_app: dict[str, Tool] = {}
        by_port: dict[tuple[int, int], Tool] = {}
        problems: list[str] = []
        tools: dict[str, Tool] = {}
        for tool in catalogue.tools:
            if tool.id in tools:
                problems.append(f"duplicate tool id {tool.id}")
            tools[tool.id] = tool
            for name in (*tool.ndpi, *tool.zeek):
                other = by_app.setdefault(name.lower(), tool)
                if other is not tool:
                    problems.append(f"application {name} named by both {other.id} and {tool.id}")
            for port in tool.port_set():
                other = by_port.setdefault(port, tool)
                if other is not tool:
                    problems.append(f"port {port[1]} claimed by both {other.id} and {tool.id}")
        if problems:
            raise InputError(label, "invalid remote-access tools: " + "; ".join(problems))
        banners: dict[str, list[tuple[re.Pattern[str], Banner, Tool]]] = defaultdict(list)
        for tool in catalogue.tools:
            for banner in tool.banners:
                for signal in banner.signals:
                    banners[signal].append((re.compile(banner.pattern, re.I), banner, tool))
        return cls(
            tools=tools, by_app=by_app,
            sets=[(frozenset(s.lower() for s in group), tool) for tool in catalogue.tools
                  for group in tool.service_sets],
            by_port=by_port,
            hosts=[(re.compile(h, re.I), tool) for tool in catalogue.tools for h in tool.hosts],
            banners=dict(banners),
        )

    def host_tool(self, name: str | None) -> Tool | None:
        if not name:
            return None
        name = name.strip().rstrip(".").lower()
        name = name.rsplit(":", 1)[0] if name.count(":") == 1 else name  # Host: name:port
        for pattern, tool in self.hosts:
            if pattern.search(name):
                return tool
        return None


def load_tools(path: Path | None = None) -> Matcher:
    """Load and validate the tool catalogue (the packaged file unless `path` is given).
    An invalid file raises InputError naming the file and the first problems."""
    packaged = resources.files("vendorwatch.detect") / "data" / "remote_access_tools.yaml"
    catalogue, label = load_data_file(ToolCatalogue, packaged, path, "remote-access tools")
    return Matcher.of(catalogue, label)


@lru_cache(maxsize=1)
def _packaged() -> Matcher:
    return load_tools()


def app_parts(app: str | None) -> list[str]:
    """nDPI's "Master.App" or Zeek's "svc1,svc2" as lower-case parts ("-svc" failed
    analyzers and empty parts dropped)."""
    if not app:
        return []
    return [p for p in re.split(r"[.,]", app.strip().lower()) if p and not p.startswith("-")]


# --- matching -------------------------------------------------------------------------------


@dataclass
class Hit:
    """One connection (or one evidence row) attributed to a tool."""

    tool: Tool
    via: str  # app | service-set | name | port | banner | connect-authority
    site: str
    client: str
    server: str | None  # None for lookups
    ts_first: datetime | None
    ts_last: datetime | None
    source: str
    signal: str = "flow"
    value: str = ""
    lookup: bool = False
    proto: int | None = None
    server_port: int | None = None
    app: str | None = None
    c2s_bytes: int = 0
    s2c_bytes: int = 0
    c2s_packets: int = 0
    s2c_packets: int = 0
    is_flow: bool = False


@dataclass
class Group:
    """Everything one asset did with one tool and one peer."""

    tool: Tool
    site: str
    asset: str
    peer: str
    directions: set[str] = field(default_factory=set)
    roles: set[str] = field(default_factory=set)
    via: set[str] = field(default_factory=set)
    behaviours: set[str] = field(default_factory=set)
    ports: set[str] = field(default_factory=set)
    apps: set[str] = field(default_factory=set)
    names: set[str] = field(default_factory=set)
    connections: int = 0
    bytes_out: int = 0
    bytes_in: int = 0
    packets: int = 0
    total_s: float = 0.0
    longest_s: float = 0.0
    first: datetime | None = None
    last: datetime | None = None
    evidence: list[dict[str, Any]] = field(default_factory=list)

    def seen(self, *times: datetime | None) -> None:
        for t in times:
            if t is None:
                continue
            self.first = t if self.first is None or t < self.first else self.first
            self.last = t if self.last is None or t > self.last else self.last


class RemoteAccess(Detector):
    kind = "remote-access"

    def __init__(self, matcher: Matcher | None = None) -> None:
        self._matcher = matcher

    @property
    def matcher(self) -> Matcher:
        return self._matcher or _packaged()

    def run(self, ctx: DetectContext) -> Iterable[Finding]:
        assets, by_address = _assets(ctx)
        groups: dict[tuple[str, str, str, str], Group] = {}
        for hit in (*self._flow_hits(ctx), *self._evidence_hits(ctx), *self._connect_hits(ctx)):
            self._add(groups, hit, by_address)
        for key in sorted(groups):
            group = groups[key]
            yield self._finding(ctx, group, assets.get((group.site, group.asset)))

    # flows ----------------------------------------------------------------------------------

    def _flow_hits(self, ctx: DetectContext) -> Iterator[Hit]:
        m = self.matcher
        apps = [a for (a,) in ctx.store.con.execute(
            "SELECT DISTINCT app FROM flows WHERE app IS NOT NULL").fetchall()]
        named = [a for a in apps if self._app_tool(a)[0] is not None]
        generic = [a for a in apps if set(app_parts(a)) <= GENERIC_APPS]
        names = [n for (n,) in ctx.store.con.execute(
            "SELECT DISTINCT server_name FROM flows WHERE server_name IS NOT NULL").fetchall()
            if m.host_tool(n) is not None]
        ports = sorted({port for _proto, port in m.by_port})
        if not (named or names or ports):
            return
        rows = ctx.store.con.execute(
            """SELECT s.site, s.path, f.ts_first, f.ts_last, f.src_ip, f.src_port, f.dst_ip,
                      f.dst_port, f.proto, f.src_packets, f.dst_packets, f.src_bytes,
                      f.dst_bytes, f.app, f.server_name
               FROM flows f JOIN sources s ON s.id = f.source_id
               WHERE list_contains(?, f.app) OR list_contains(?, f.server_name)
                  OR ((f.app IS NULL OR list_contains(?, f.app))
                      AND (list_contains(?, f.dst_port) OR list_contains(?, f.src_port)))
               ORDER BY f.ts_first NULLS FIRST, f.src_ip, f.dst_ip""",
            [named, names, generic, ports, ports],
        )
        while batch := rows.fetchmany(10_000):
            for row in batch:
                hit = self._flow_hit(*row)
                if hit is not None:
                    yield hit

    def _app_tool(self, app: str | None) -> tuple[Tool | None, str, bool]:
        """(tool, how, lookup) for an application name."""
        parts = app_parts(app)
        if not parts:
            return None, "", False
        lookup = len(parts) > 1 and "." in (app or "") and parts[0] in LOOKUP_MASTERS
        for part in parts:
            tool = self.matcher.by_app.get(part)
            if tool is not None:
                return tool, "app", lookup
        present = set(parts)
        for needed, tool in self.matcher.sets:
            if needed <= present:
                return tool, "service-set", False
        return None, "", False

    def _flow_hit(
        self, site: str, path: str, ts_first: datetime | None, ts_last: datetime | None,
        src: str, sport: int | None, dst: str, dport: int | None, proto: int | None,
        spk: int | None, dpk: int | None, sbytes: int | None, dbytes: int | None,
        app: str | None, server_name: str | None,
    ) -> Hit | None:
        if _group_address(src) or _group_address(dst):
            return None
        m = self.matcher
        swap = self._seen_from_server(proto, sport, dport)
        client, server = (dst, src) if swap else (src, dst)
        server_port = sport if swap else dport
        c2s_b, s2c_b = (dbytes, sbytes) if swap else (sbytes, dbytes)
        c2s_p, s2c_p = (dpk, spk) if swap else (spk, dpk)
        tool, via, lookup = self._app_tool(app)
        if tool is None:
            tool = m.host_tool(server_name)
            via = "name"
            lookup = bool(app_parts(app)) and app_parts(app)[0] in LOOKUP_MASTERS
        if tool is None and set(app_parts(app)) <= GENERIC_APPS and server_port is not None \
                and proto is not None and (s2c_p or 0) > 0:
            candidate = m.by_port.get((proto, server_port))
            if candidate is not None and candidate.port_alone:
                tool, via = candidate, "port"
        if tool is None:
            return None
        duration = _seconds(ts_first, ts_last)
        if not lookup and tool.min_duration_s and duration < tool.min_duration_s:
            return None
        return Hit(
            tool=tool, via=via, site=site, client=client,
            server=None if lookup else server, ts_first=ts_first, ts_last=ts_last,
            source=path, lookup=lookup, proto=proto, server_port=server_port, app=app,
            value=server_name if lookup and server_name else "",
            c2s_bytes=c2s_b or 0, s2c_bytes=s2c_b or 0, c2s_packets=c2s_p or 0,
            s2c_packets=s2c_p or 0, is_flow=True,
        )

    def _seen_from_server(self, proto: int | None, sport: int | None, dport: int | None) -> bool:
        if proto not in (6, 17) or sport is None or dport is None:
            return False
        known = self.matcher.by_port
        if (proto, dport) in known or dport < 1024:
            return False  # the destination looks like the service
        return (proto, sport) in known or sport < 1024

    # evidence -------------------------------------------------------------------------------

    def _evidence_hits(self, ctx: DetectContext) -> Iterator[Hit]:
        m = self.matcher
        wanted = sorted({*NAME_SIGNALS, *m.banners})
        if not wanted:
            return
        values = ctx.store.con.execute(
            "SELECT DISTINCT signal, value FROM evidence WHERE list_contains(?, signal)",
            [wanted],
        ).fetchall()
        matched: dict[tuple[str, str], tuple[Tool, str | None]] = {}
        for signal, value in values:
            if signal in NAME_SIGNALS:
                tool = m.host_tool(value)
                if tool is not None:
                    matched[(signal, value)] = (tool, None)
            for pattern, banner, tool in m.banners.get(signal, ()):
                if pattern.search(value):
                    matched[(signal, value)] = (tool, banner.about)
                    break
        if not matched:
            return
        keys = [f"{s}\x1f{v}" for s, v in matched]
        for site, path, ts, ip, peer, signal, value, source in ctx.store.con.execute(
            """SELECT s.site, s.path, e.ts, e.ip, e.peer_ip, e.signal, e.value, e.source
               FROM evidence e JOIN sources s ON s.id = e.source_id
               WHERE list_contains(?, e.signal || chr(31) || e.value)
               ORDER BY e.ts NULLS FIRST, e.ip""",
            [keys],
        ).fetchall():
            tool, about = matched[(signal, value)]
            lookup = signal == signals.DNS_QUERY
            if not lookup and not peer:
                continue  # a banner or name without the other end says nothing about a path
            client, server = (peer, ip) if about == "server" else (ip, peer)
            if client is None or _group_address(client) or (server and _group_address(server)):
                continue
            yield Hit(tool=tool, via="banner" if about else "name", site=site, client=client,
                      server=None if lookup else server, ts_first=ts, ts_last=ts,
                      source=source or path, signal=signal, value=value, lookup=lookup)

    def _connect_hits(self, ctx: DetectContext) -> Iterator[Hit]:
        """An HTTP request whose Host is `name:443` followed by TLS naming `name` between the
        same two hosts is a CONNECT tunnel, whatever the flow was called."""
        tool = self.matcher.tools.get(CONNECT_TOOL)
        if tool is None:
            return
        for site, path, ts, ip, peer, value, source in ctx.store.con.execute(
            """SELECT s.site, s.path, min(h.ts), h.ip, h.peer_ip, h.value, min(h.source)
               FROM evidence h JOIN sources s ON s.id = h.source_id
               JOIN evidence t ON t.source_id = h.source_id AND t.ip = h.ip
                    AND t.peer_ip = h.peer_ip AND t.signal = ?
                    AND lower(h.value) = lower(t.value) || ':443'
               WHERE h.signal = ? AND h.peer_ip IS NOT NULL
               GROUP BY ALL ORDER BY 3 NULLS FIRST, 4""",
            [signals.TLS_SNI, signals.HTTP_HOST],
        ).fetchall():
            yield Hit(tool=tool, via="connect-authority", site=site, client=ip, server=peer,
                      ts_first=ts, ts_last=ts, source=source or path, signal=signals.HTTP_HOST,
                      value=f"{value} then TLS to the same host through {peer}")

    # grouping -------------------------------------------------------------------------------

    def _add(self, groups: dict[tuple[str, str, str, str], Group], hit: Hit,
             by_address: dict[tuple[str, str], str]) -> None:
        def local(ip: str) -> bool:
            return (hit.site, ip) in by_address or not is_public(ip)

        if hit.lookup or hit.server is None:
            asset, peer, direction, role = hit.client, "dns", "lookup", "client"
        elif _loopback(hit.client) or _loopback(hit.server):
            # a client and a server on the capturing host itself: the tool is installed
            # there, but this connection reaches no other machine
            role, direction = hit.tool.controlled, "loopback"
            asset, peer = ((hit.client, hit.server) if role == "client"
                           else (hit.server, hit.client))
        else:
            c_local, s_local = local(hit.client), local(hit.server)
            if c_local != s_local:
                role = "client" if c_local else "server"
                direction = "outbound" if c_local else "inbound"
            else:
                role = hit.tool.controlled
                direction = "internal" if c_local else "transit"
            asset, peer = ((hit.client, hit.server) if role == "client"
                           else (hit.server, hit.client))
        asset = by_address.get((hit.site, asset), asset)
        key = (hit.site, asset, hit.tool.id, peer)
        group = groups.get(key)
        if group is None:
            group = groups[key] = Group(hit.tool, hit.site, asset, peer)
        group.directions.add(direction)
        group.roles.add(role)
        group.via.add(hit.via)
        group.seen(hit.ts_first, hit.ts_last)
        if hit.app:
            group.apps.add(hit.app)
        if hit.lookup and hit.value:
            group.names.add(hit.value)
        if not hit.is_flow:
            if len(group.evidence) < MAX_EVIDENCE:
                group.evidence.append(evidence_row(
                    hit.ts_first, asset, None if hit.lookup else peer, hit.signal, hit.value,
                    hit.source))
            return
        proto = proto_name(hit.proto)
        port = f"{proto}/{hit.server_port}" if hit.server_port is not None else proto
        duration = _seconds(hit.ts_first, hit.ts_last)
        out_b, in_b = ((hit.c2s_bytes, hit.s2c_bytes) if role == "client"
                       else (hit.s2c_bytes, hit.c2s_bytes))
        group.connections += 1
        group.bytes_out += out_b
        group.bytes_in += in_b
        group.packets += hit.c2s_packets + hit.s2c_packets
        group.total_s += duration
        group.longest_s = max(group.longest_s, duration)
        if not hit.lookup:
            group.ports.add(port)
            tool_ports = hit.tool.port_set()
            relayed = (hit.tool.controlled == "client" and hit.tool.kind == "interactive"
                       and hit.server_port in WEB_PORTS)  # relays listen on web ports
            if tool_ports and (hit.proto, hit.server_port) not in tool_ports and not relayed:
                group.behaviours.add("non-standard-port")
            if hit.tool.id == "ssh" and direction == "outbound":
                group.behaviours |= _reverse_ssh(hit, duration, tool_ports)
        if len(group.evidence) < MAX_EVIDENCE:
            if hit.lookup:
                text = f"{port} lookup of {hit.value or 'a tool name'} ({hit.app})"
            else:
                arrow = {"inbound": "from", "outbound": "to"}.get(direction, "with")
                text = (f"{port} {hit.tool.name} {arrow} {peer} (asset is the {role}; "
                        f"{hit.app or 'no application name'}, by {hit.via}): "
                        f"{duration:.1f} s, {out_b} B out, {in_b} B in")
            group.evidence.append(evidence_row(hit.ts_first, asset, None if hit.lookup
                                               else peer, "flow", text, hit.source))

    # the finding ---------------------------------------------------------------------------

    def _finding(self, ctx: DetectContext, group: Group, asset: dict[str, Any] | None) -> Finding:
        tool = group.tool
        direction = max(group.directions, key=lambda d: DIRECTION_RANK[d])
        steps: list[str] = []
        severity = BASE_SEVERITY[direction]
        if direction == "inbound" and tool.kind == "interactive":
            steps.append("+1 interactive control from the internet")
        device_class = asset["device_class"] if asset else None
        risk = asset["risk"] if asset else None
        if device_class in OPERATIONAL_CLASSES:
            steps.append(f"+1 operational device ({device_class})")
        elif risk in ("high", "critical"):
            steps.append(f"+1 high-risk maker ({risk})")
        if tool.cleartext:
            steps.append("+1 cleartext session")
        reverse = group.behaviours & {"unusual-port", "long-lived-interactive"}
        if reverse:
            steps.append("+1 possible reverse SSH tunnel")
        if tool.weak:
            steps.append("-1 weak match")
        if group.via == {"port"}:
            steps.append("-1 by port only")
        attempt = direction == "inbound" and group.bytes_out < SESSION_MIN_BYTES
        if attempt:
            # the device answered with next to nothing: a probe or a scan from the internet,
            # worth knowing (the port is open to it) but no session took place
            steps += ["-1 attempt only: the device sent back under "
                      f"{SESSION_MIN_BYTES} B"] * 2
        index = SEVERITIES.index(severity) + sum(1 if s[0] == "+" else -1 for s in steps)
        severity = SEVERITIES[max(SEVERITIES.index("low"), min(index, len(SEVERITIES) - 1))]
        if direction == "loopback":
            severity, steps = "info", ["loopback: reaches no other machine"]
        place = ctx.geo.lookup(group.peer) if is_public(group.peer) else None
        country = place.country if place else None
        asn = place.asn_name if place else None
        where = f" ({country or '??'} {asn or 'AS?'})" if place else ""
        who = (asset["manufacturer"] if asset else None) or "unidentified"
        what = (device_class or "device")
        role = "/".join(sorted(group.roles))
        if direction == "lookup":
            verb = f"looks up {tool.name} names"
        elif direction == "inbound":
            verb = f"is reached by {group.peer}{where}"
        elif direction == "outbound":
            verb = f"connects to {group.peer}{where}"
        else:
            verb = f"{'accepts' if role == 'server' else 'opens'} {tool.name} with {group.peer}"
        extra = ""
        if reverse:
            extra = " — possible reverse SSH tunnel (" + ", ".join(sorted(reverse)) + ")"
        elif "non-standard-port" in group.behaviours:
            extra = " on a non-standard port"
        if group.via == {"port"}:
            extra += " (by port only)"
        if attempt:
            extra += " — an attempt only, no session (a probe or a scan)"
        volume = ""
        if direction == "lookup":
            names = sorted(group.names)
            more = f" and {len(names) - 3} more" if len(names) > 3 else ""
            volume = f" ({', '.join(names[:3])}{more})" if names else ""
        elif group.connections:
            volume = (f"; {group.connections} connection(s), longest {group.longest_s:.0f} s, "
                      f"{group.bytes_out:,} B out / {group.bytes_in:,} B in")
        summary = (f"{tool.name} ({tool.kind}) {DIRECTION_TEXT[direction]}: {who} {what} at "
                   f"{group.asset} {verb}{extra}{volume}")
        return Finding(
            kind=self.kind, severity=severity, site=group.site, asset_ip=group.asset,
            key=f"{tool.id}|{group.peer}", summary=summary, evidence=group.evidence,
            first_seen=group.first, last_seen=group.last,
            details={
                "tool": tool.name, "tool_id": tool.id, "tool_kind": tool.kind,
                "direction": direction, "asset_role": role, "peer": group.peer,
                "peer_country": country, "peer_asn": asn,
                "connections": group.connections, "bytes_out": group.bytes_out,
                "bytes_in": group.bytes_in, "packets": group.packets,
                "duration_s": round(group.total_s, 3), "longest_s": round(group.longest_s, 3),
                "ports": sorted(group.ports), "apps": sorted(group.apps),
                "names": sorted(group.names),
                "matched_by": sorted(group.via), "behaviours": sorted(group.behaviours),
                "severity_steps": steps, "reason": tool.reason,
            },
        )


def _reverse_ssh(hit: Hit, duration: float, tool_ports: frozenset[tuple[int, int]]) -> set[str]:
    out: set[str] = set()
    if tool_ports and (hit.proto, hit.server_port) not in tool_ports:
        out.add("unusual-port")
    if (duration >= REVERSE_SSH_MIN_SECONDS
            and hit.c2s_packets >= REVERSE_SSH_MIN_PACKETS
            and hit.s2c_packets >= REVERSE_SSH_MIN_PACKETS
            and hit.c2s_bytes / hit.c2s_packets <= REVERSE_SSH_MAX_MEAN_PACKET
            and hit.s2c_bytes / hit.s2c_packets <= REVERSE_SSH_MAX_MEAN_PACKET):
        out.add("long-lived-interactive")
    return out


def _assets(
    ctx: DetectContext,
) -> tuple[dict[tuple[str, str], dict[str, Any]], dict[tuple[str, str], str]]:
    """Assets by (site, ip), and every address of an asset (its other addresses too) mapped
    to the asset's own address."""
    assets = {(a["site"], a["ip"]): a for a in ctx.store.query("SELECT * FROM assets")}
    by_address: dict[tuple[str, str], str] = {}
    for (site, ip), asset in assets.items():
        by_address[(site, ip)] = ip
        for other in asset_addresses(asset.get("addresses")):
            by_address.setdefault((site, other), ip)
    return assets, by_address


def _group_address(ip: str) -> bool:
    try:
        parsed = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return parsed.is_multicast or parsed.is_unspecified or ip == "255.255.255.255"


def _loopback(ip: str | None) -> bool:
    try:
        return ip is not None and ipaddress.ip_address(ip).is_loopback
    except ValueError:
        return False


def _seconds(first: datetime | None, last: datetime | None) -> float:
    if first is None or last is None:
        return 0.0
    return max(0.0, (last - first).total_seconds())
