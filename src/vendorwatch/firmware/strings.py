"""Hard-coded host names, addresses and URLs in a firmware image.

The image is read in chunks (never whole: images run to gigabytes); printable ASCII runs of
at least six characters are its strings, as `strings -n 6` finds them, including a run that
spans a chunk boundary. In each string:

- URLs: ``scheme://…`` for the schemes below; the URL's host is also a domain (or address).
- Domains: dotted names whose last label is a TLD of ``tlds.txt`` (a data file beside this
  module). File names such as ``libc.so`` or ``README.md`` are left out because those TLDs
  are not listed; a dotted name followed by ``.<letter or digit>`` (``libc.so.6``) is not a
  name at all; a name in mixed case (``Foo.Net``) is taken for a symbol. Lower-cased.
- Names and addresses must stand on their own: at the start of the string or after a
  space, quote, bracket, ``=``, ``:``, ``/``, ``@``, ``,`` or ``;``, and at its end or
  before such a delimiter. Compressed or encrypted parts of an image are full of chance
  runs such as ``#08m.ml~``; these rules keep most of them out (a few per gigabyte of
  random bytes remain).
- IPv4 and IPv6 addresses, validated with ``ipaddress``. Kept simple on purpose:
  a dotted quad glued to a letter, digit, ``_`` or ``.`` (``v1.2.3.4``, ``1.2.3.4.5``) or
  just after a version word (``version 1.2.3.4``, ``build: 1.2.3.4``) is read as a version,
  not an address; a bare ``1.2.3.4`` elsewhere is reported. Loopback, unspecified,
  broadcast and netmask values (``255.255.255.0``) are left out; an IPv6 candidate needs a
  digit (``dead::beef`` is more likely a symbol than an address).

Limits: only ASCII strings (not UTF-16, not compressed or encrypted parts of an image —
an image whose file system is compressed shows little); a printable run longer than
``MAX_STRING`` is cut there, so a name straddling that cut is missed; at most
``MAX_ITEMS`` values of each kind are kept (``truncated`` then says so).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from vendorwatch.intel.registry import Registry

MIN_LENGTH = 6
CHUNK = 1 << 20
MAX_STRING = 1 << 16
MAX_ITEMS = 10_000

_PRINTABLE_BYTES = bytes(range(0x20, 0x7F))

URL_SCHEMES = ("https", "http", "ftps", "ftp", "sftp", "tftp", "wss", "ws", "mqtts", "mqtt",
               "rtsps", "rtsp", "rtmps", "rtmp", "coaps", "coap", "ntp", "telnet", "ssh")
_URL = re.compile(
    r"(?<![A-Za-z0-9+.-])(?:" + "|".join(URL_SCHEMES) + r")://[^\s\"'<>\\^`{|}]+",
    re.IGNORECASE,
)
# A name or address stands on its own: at the start of its string or after a delimiter,
# and at the end or before one. Names glued to other punctuation are most often chance
# runs in compressed or encrypted data ("#08m.ml~") and are not taken.
_BEFORE = r"""(?<![^\s"'(<\[{=:/@,;])"""
_AFTER = r"""(?=$|[\s"')>\]}:/,;?#&%]|\.(?![A-Za-z0-9]))"""
_DOMAIN = re.compile(
    _BEFORE + r"((?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63})" + _AFTER
)
_IPV4 = re.compile(_BEFORE + r"(\d{1,3}(?:\.\d{1,3}){3})" + _AFTER)
_IPV6 = re.compile(
    r"""(?<![^\s"'(<\[{=/@,;])"""
    r"((?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{1,4}|(?:\d{1,3}\.){3}\d{1,3})?)"
    r"""(?=$|[\s"')>\]}/,;?#&%]|\.(?![A-Za-z0-9]))"""
)
_VERSION_WORD = re.compile(r"(?<![A-Za-z])(?:version|ver|rev|build|release|fw|v)[\s:=#_-]*$",
                           re.IGNORECASE)
_URL_TRAILING = ".,;:!?)]}'\""


@lru_cache(maxsize=1)
def known_tlds() -> frozenset[str]:
    """The TLDs of the packaged ``tlds.txt``."""
    text = resources.files("vendorwatch.firmware").joinpath("tlds.txt").read_text("utf-8")
    return frozenset(
        line.split("#", 1)[0].strip().lower()
        for line in text.splitlines()
        if line.split("#", 1)[0].strip()
    )


class StringScanner:
    """Printable ASCII strings of a byte stream fed in chunks of any size."""

    def __init__(self, min_length: int = MIN_LENGTH, max_length: int = MAX_STRING) -> None:
        self.min_length = min_length
        self.max_length = max_length
        self._run = re.compile(rb"[\x20-\x7e]{%d,}" % min_length)
        self._carry = b""

    def feed(self, chunk: bytes) -> Iterator[str]:
        data = self._carry + chunk if self._carry else chunk
        # The printable run at the end may go on in the next chunk: keep it back.
        cut = len(data.rstrip(_PRINTABLE_BYTES))
        if len(data) - cut > self.max_length:
            cut = len(data)
        self._carry = data[cut:]
        for match in self._run.finditer(data, 0, cut):
            yield match.group().decode("ascii")

    def close(self) -> Iterator[str]:
        tail, self._carry = self._carry, b""
        if len(tail) >= self.min_length:
            yield tail.decode("ascii")


def iter_strings(path: Path | str, min_length: int = MIN_LENGTH,
                 chunk_size: int = CHUNK) -> Iterator[str]:
    """The printable ASCII strings of a file, read `chunk_size` bytes at a time."""
    scanner = StringScanner(min_length)
    with open(path, "rb") as fh:
        while chunk := fh.read(chunk_size):
            yield from scanner.feed(chunk)
    yield from scanner.close()


@dataclass
class HardCoded:
    """Domains, addresses and URLs found in an image's strings."""

    domains: set[str] = field(default_factory=set)
    ips: set[str] = field(default_factory=set)
    urls: set[str] = field(default_factory=set)
    truncated: bool = False

    def add_string(self, text: str) -> None:
        if "://" in text:
            for match in _URL.finditer(text):
                self._url(match.group().rstrip(_URL_TRAILING))
        if "." in text:
            for match in _DOMAIN.finditer(text):
                name = match.group(1)
                if name.lower() != name and name.upper() != name:
                    continue  # Mixed case: a chance run or a symbol, hardly ever a host name
                if is_domain(name.lower()):
                    self._keep(self.domains, name.lower())
            for match in _IPV4.finditer(text):
                if _VERSION_WORD.search(text, max(0, match.start() - 12), match.start()):
                    continue
                address = _address(match.group(1))
                if address:
                    self._keep(self.ips, address)
        if text.count(":") >= 2:
            for match in _IPV6.finditer(text):
                candidate = match.group(1)
                groups = [g for g in candidate.split(":") if g]
                address = _address(candidate) if len(groups) >= 2 and any(
                    c.isdigit() for c in candidate) else None
                if address:
                    self._keep(self.ips, address)

    def _url(self, url: str) -> None:
        if len(url) > 2048:
            return
        try:
            host = urlsplit(url).hostname
        except ValueError:  # e.g. an unbalanced '[' in the authority
            host = None
        if not host:
            return
        self._keep(self.urls, url)
        address = _address(host)
        if address:
            self._keep(self.ips, address)
        elif "." in host and _labels_ok(host):
            self._keep(self.domains, host.lower().rstrip("."))

    def _keep(self, bucket: set[str], value: str) -> None:
        if value in bucket:
            return
        if len(bucket) >= MAX_ITEMS:
            self.truncated = True
            return
        bucket.add(value)

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"domains": sorted(self.domains), "ips": sorted(self.ips),
                               "urls": sorted(self.urls)}
        if self.truncated:
            out["truncated"] = True
        return out

    def flagged(self, registry: Registry) -> list[dict[str, Any]]:
        """Hard-coded names of a maker's cloud, P2P or platform endpoint in the registry:
        [{value, endpoint, maker}] (a domain, or a URL's host)."""
        out = []
        for name in sorted(self.domains):
            endpoint = registry.endpoint_for_host(name)
            if endpoint is not None:
                out.append({"value": name, "endpoint": endpoint.id, "maker": endpoint.maker})
        return out


def find_hard_coded(strings: Iterable[str]) -> HardCoded:
    found = HardCoded()
    for text in strings:
        found.add_string(text)
    return found


def is_domain(name: str) -> bool:
    """A dotted name with a known TLD and well-formed labels (at most 253 characters).
    A two-label name under a country-code TLD needs a second-level label of at least three
    characters with a letter in it: ``a.cl``, ``35.yt`` and the like are chance runs far
    more often than names."""
    labels = name.split(".")
    if len(labels) < 2 or labels[-1] not in known_tlds() or len(name) > 253:
        return False
    if len(labels) == 2 and len(labels[-1]) == 2 and (
        len(labels[0]) < 3 or not any(c.isalpha() for c in labels[0])
    ):
        return False
    return _labels_ok(name)


def _labels_ok(name: str) -> bool:
    labels = name.rstrip(".").split(".")
    return all(
        0 < len(label) <= 63 and not label.startswith("-") and not label.endswith("-")
        and all(c.isascii() and (c.isalnum() or c in "-_") for c in label)
        for label in labels
    ) and not all(label.isdigit() for label in labels)


_NETMASKS = frozenset(str(ipaddress.IPv4Network(f"0.0.0.0/{n}").netmask) for n in range(1, 33))


def _address(text: str) -> str | None:
    """The address in canonical form, unless it is no device's address (loopback,
    unspecified, broadcast, a netmask) or not an address at all."""
    try:
        ip = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None
    if ip.is_loopback or ip.is_unspecified or (ip.version == 4 and str(ip) in _NETMASKS):
        return None
    return str(ip)
