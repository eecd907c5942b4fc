"""A tiny UDP DNS responder for tests that need a resolver to misbehave on cue.

Real DNS servers cannot be told to stay silent or to answer NXDOMAIN for one name, and tests
must never query the outside world; so this one is started on 127.0.0.1:53 inside a private
network namespace (tests.support.netns), where it is the only resolver glibc can reach.
Packets are built by hand (RFC 1035 §4.1): stdlib only, nothing to mock.
"""

from __future__ import annotations

import ipaddress
import select
import socket
import struct
import threading
from types import TracebackType
from typing import Literal

Mode = Literal["silent", "nodata", "nxdomain", "answer"]

TYPE_A = 1
TYPE_AAAA = 28
CLASS_IN = 1
RCODE_NOERROR = 0
RCODE_NXDOMAIN = 3


def parse_question(packet: bytes) -> tuple[int, int, bytes, str, int]:
    """(id, flags, raw question section, query name, query type) of a one-question query."""
    if len(packet) < 12:
        raise ValueError("shorter than a DNS header")
    query_id, flags, qdcount = struct.unpack("!HHH", packet[:6])
    if qdcount != 1:
        raise ValueError(f"{qdcount} questions, expected 1")
    labels: list[str] = []
    offset = 12
    while True:
        length = packet[offset]
        offset += 1
        if length == 0:
            break
        labels.append(packet[offset : offset + length].decode("ascii", "replace"))
        offset += length
    qtype, _qclass = struct.unpack("!HH", packet[offset : offset + 4])
    question = packet[12 : offset + 4]
    return query_id, flags, question, ".".join(labels), qtype


def build_response(
    query_id: int,
    query_flags: int,
    question: bytes,
    rcode: int,
    answers: tuple[tuple[int, bytes], ...] = (),
) -> bytes:
    """A response echoing the question, with (type, rdata) answers for the question's name."""
    # QR=1, opcode and RD copied from the query, AA=1, RA=1.
    flags = 0x8000 | (query_flags & 0x7900) | 0x0400 | 0x0080 | (rcode & 0xF)
    header = struct.pack("!HHHHHH", query_id, flags, 1, len(answers), 0, 0)
    records = b""
    for rtype, rdata in answers:
        # Name: a compression pointer to the question's name at offset 12 (0xC00C).
        records += struct.pack("!HHHIH", 0xC00C, rtype, CLASS_IN, 60, len(rdata)) + rdata
    return header + question + records


class FakeDns:
    """A DNS server on a UDP port that answers every query the same way, in a thread.

    Modes: `silent` reads queries and never answers; `nodata` answers NOERROR with no records;
    `nxdomain` answers RCODE 3; `answer` gives `address` for queries of its family (A or AAAA)
    and NOERROR/no data for the other.
    """

    def __init__(
        self,
        mode: Mode,
        address: str | None = None,
        host: str = "127.0.0.1",
        port: int = 53,
    ) -> None:
        if mode == "answer" and address is None:
            raise ValueError("mode 'answer' needs an address")
        self.mode = mode
        self.address = ipaddress.ip_address(address) if address else None
        self.queries: list[tuple[str, int]] = []
        """(name, type) of every query received."""
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind((host, port))
        self.port: int = self._sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="fake-dns", daemon=True)

    def __enter__(self) -> FakeDns:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self._sock.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([self._sock], [], [], 0.05)
            if not ready:
                continue
            packet, peer = self._sock.recvfrom(4096)
            try:
                query_id, flags, question, name, qtype = parse_question(packet)
            except (ValueError, IndexError, struct.error):
                continue
            self.queries.append((name, qtype))
            response = self._respond(query_id, flags, question, qtype)
            if response is not None:
                self._sock.sendto(response, peer)

    def _respond(self, query_id: int, flags: int, question: bytes, qtype: int) -> bytes | None:
        if self.mode == "silent":
            return None
        if self.mode == "nxdomain":
            return build_response(query_id, flags, question, RCODE_NXDOMAIN)
        answers: tuple[tuple[int, bytes], ...] = ()
        if self.mode == "answer" and self.address is not None:
            wanted = TYPE_A if self.address.version == 4 else TYPE_AAAA
            if qtype == wanted:
                answers = ((wanted, self.address.packed),)
        return build_response(query_id, flags, question, RCODE_NOERROR, answers)
