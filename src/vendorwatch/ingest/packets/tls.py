"""TLS handshakes: the SNI a client asks for, and the certificate a server presents
(subject and issuer of the leaf, TLS 1.2 and older; TLS 1.3 encrypts certificates).

Certificates span TCP segments, so the server's handshake bytes are gathered per
connection until the Certificate message is complete."""

from __future__ import annotations

import struct

import dpkt
from cryptography import x509
from cryptography.x509.oid import NameOID

from vendorwatch import signals
from vendorwatch.ingest.packets.context import Emit, Packet, text

HANDSHAKE = 0x16
CLIENT_HELLO, SERVER_HELLO, CERTIFICATE = 1, 2, 11
MAX_GATHER = 65_536

FlowKey = tuple[str, int, str, int]

# Attribute names as OpenSSL prints them (and so Zeek's x509.log), where RFC 4514's differ or
# where cryptography would print a dotted OID.
OPENSSL_NAMES = {
    NameOID.STREET_ADDRESS: "street",
    NameOID.POSTAL_CODE: "postalCode",
    NameOID.SERIAL_NUMBER: "serialNumber",
    NameOID.EMAIL_ADDRESS: "emailAddress",
    NameOID.BUSINESS_CATEGORY: "businessCategory",
    NameOID.JURISDICTION_COUNTRY_NAME: "jurisdictionC",
    NameOID.JURISDICTION_STATE_OR_PROVINCE_NAME: "jurisdictionST",
    NameOID.JURISDICTION_LOCALITY_NAME: "jurisdictionL",
    NameOID.SURNAME: "SN",
    NameOID.GIVEN_NAME: "GN",
    NameOID.TITLE: "title",
    NameOID.ORGANIZATION_IDENTIFIER: "organizationIdentifier",
}


class TlsTracker:
    """Follows server handshakes that still owe their certificate."""

    def __init__(self) -> None:
        self.pending: dict[FlowKey, bytearray] = {}

    def handle_tcp(self, pkt: Packet, emit: Emit) -> bool:
        payload = pkt.payload
        if self.pending:
            key = (pkt.src, pkt.sport, pkt.dst, pkt.dport)
            gathered = self.pending.get(key)
            if gathered is not None:
                gathered += payload
                self._try_certificate(key, gathered, pkt, emit)
                return True
        if len(payload) < 6 or payload[0] != HANDSHAKE or payload[1] != 3:
            return False
        kind = payload[5]
        if kind == CLIENT_HELLO:
            _client_hello(pkt, emit)
        elif kind == SERVER_HELLO:
            key = (pkt.src, pkt.sport, pkt.dst, pkt.dport)
            self.pending[key] = bytearray(payload)
            self._try_certificate(key, self.pending[key], pkt, emit)
        return True

    def _try_certificate(
        self, key: FlowKey, gathered: bytearray, pkt: Packet, emit: Emit
    ) -> None:
        status, cert = _leaf_certificate(bytes(gathered))
        if status == "more" and len(gathered) < MAX_GATHER:
            return
        del self.pending[key]
        if cert is None:
            return
        try:
            parsed = x509.load_der_x509_certificate(cert)
            subject = parsed.subject.rfc4514_string(OPENSSL_NAMES)
            issuer = parsed.issuer.rfc4514_string(OPENSSL_NAMES)
        except ValueError:
            return
        if subject:
            emit(pkt.ts, pkt.src, pkt.dst, signals.TLS_CERT_SUBJECT, text(subject.encode()))
        if issuer:
            emit(pkt.ts, pkt.src, pkt.dst, signals.TLS_CERT_ISSUER, text(issuer.encode()))


def _handshake_stream(data: bytes) -> bytes:
    """Concatenated bodies of the leading handshake records (a cut last record included)."""
    out = bytearray()
    off = 0
    while off + 5 <= len(data):
        ctype, _version, length = struct.unpack_from("!BHH", data, off)
        if ctype != HANDSHAKE:
            break
        out += data[off + 5 : off + 5 + length]
        off += 5 + length
    return bytes(out)


def _leaf_certificate(data: bytes) -> tuple[str, bytes | None]:
    """('done', DER of the leaf), ('done', None) when there is none, or ('more', None)."""
    stream = _handshake_stream(data)
    off = 0
    while off + 4 <= len(stream):
        kind = stream[off]
        length = int.from_bytes(stream[off + 1 : off + 4], "big")
        if off + 4 + length > len(stream):
            return "more", None
        if kind == CERTIFICATE:
            body = stream[off + 4 : off + 4 + length]
            if len(body) < 6:
                return "done", None
            first = int.from_bytes(body[3:6], "big")
            return "done", body[6 : 6 + first] or None
        if kind not in (SERVER_HELLO, CERTIFICATE):
            return "done", None
        off += 4 + length
    return "more", None


def _client_hello(pkt: Packet, emit: Emit) -> None:
    try:
        record = dpkt.ssl.TLSRecord(pkt.payload)
        hello = dpkt.ssl.TLSHandshake(record.data).data
    except (dpkt.UnpackError, dpkt.NeedData, IndexError, ValueError, struct.error):
        return
    for ext_type, ext_data in getattr(hello, "extensions", []) or []:
        if ext_type != 0 or len(ext_data) < 5:
            continue
        name_len = int.from_bytes(ext_data[3:5], "big")
        name = ext_data[5 : 5 + name_len]
        if name:
            emit(pkt.ts, pkt.src, pkt.dst, signals.TLS_SNI, text(name))
