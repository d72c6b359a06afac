"""HTTP requests out of packet captures (pcap, pcapng, optionally compressed), via dpkt.

Just enough TCP reassembly to read request lines split across segments: per client-to-server
flow, segments are put in sequence order (out-of-order ones wait, bounded), and complete lines are
parsed as they form. Flows whose first bytes are not an HTTP method are dropped at once
(non-HTTP traffic is skipped); each flow keeps at most MAX_FLOW_BYTES unconsumed and at most
MAX_FLOWS flows live at once (the oldest is evicted), so memory stays bounded on any capture.
A truncated or corrupt capture ends with a warning, never a crash.
"""

from __future__ import annotations

import re
import socket
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field

from wormlab.detect.log_formats import Request, split_request
from wormlab.detect.log_reader import FileStats, open_binary
from wormlab.errors import InputError

MAX_FLOWS = 65536
MAX_FLOW_BYTES = 1 << 16
MAX_PENDING_SEGMENTS = 64
_METHOD = re.compile(rb"^(GET|POST|HEAD|PUT|DELETE|OPTIONS|TRACE|CONNECT|SEARCH|PROPFIND|"
                     rb"PROPPATCH|MKCOL|COPY|MOVE|LOCK|UNLOCK|SUBSCRIBE) ")
_METHOD_PREFIXES = tuple(m.encode() for m in (
    "GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE", "CONNECT", "SEARCH", "PROPFIND",
    "PROPPATCH", "MKCOL", "COPY", "MOVE", "LOCK", "UNLOCK", "SUBSCRIBE"))
PCAP_MAGICS = (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
PCAPNG_MAGIC = b"\x0a\x0d\x0d\x0a"


def is_capture(head: bytes) -> bool:
    return head[:4] in PCAP_MAGICS or head[:4] == PCAPNG_MAGIC


@dataclass
class _Flow:
    next_seq: int
    pending: dict[int, bytes] = field(default_factory=dict)
    buf: bytearray = field(default_factory=bytearray)
    in_headers: bool = False
    body_left: int = 0
    agent: str = ""
    request: tuple[str, str] | None = None
    request_ts: float = 0.0
    http: bool | None = None


class FlowTable:
    """Client-to-server byte streams, reassembled and cut into HTTP requests."""

    def __init__(self, stats: FileStats) -> None:
        self.flows: dict[tuple, _Flow] = {}
        self.stats = stats

    def segment(self, key: tuple, src: str, ts: float, seq: int, flags: int,
                payload: bytes) -> Iterator[Request]:
        flow = self.flows.get(key)
        if flags & 0x02:  # SYN: the stream starts at seq + 1
            self.flows.pop(key, None)
            self._insert(key, _Flow(next_seq=(seq + 1) & 0xFFFFFFFF))
            return
        if flow is None:
            if not payload:
                return
            flow = _Flow(next_seq=seq)  # capture began mid-flow
            self._insert(key, flow)
        if payload and flow.http is not False:
            self._add(flow, seq, payload)
            yield from self._requests(flow, src, ts)
        if flags & 0x05:  # FIN or RST
            if flow.request is not None:
                yield self._emit(flow, src)
            self.flows.pop(key, None)

    def finish(self) -> Iterator[Request]:
        """Requests whose headers never completed (capture ended) are still reported."""
        for (src, *_), flow in self.flows.items():
            if flow.request is not None:
                yield self._emit(flow, src)
        self.flows.clear()

    def _insert(self, key: tuple, flow: _Flow) -> None:
        if len(self.flows) >= MAX_FLOWS:
            oldest = next(iter(self.flows))
            del self.flows[oldest]
            note = f"more than {MAX_FLOWS} open flows: the oldest were evicted"
            if note not in self.stats.warnings:
                self.stats.warnings.append(note)
        self.flows[key] = flow

    def _add(self, flow: _Flow, seq: int, payload: bytes) -> None:
        delta = (seq - flow.next_seq) & 0xFFFFFFFF
        if delta >= 0x80000000:  # starts before next_seq: retransmission, keep only new bytes
            overlap = 0x100000000 - delta
            if overlap >= len(payload):
                return
            payload, delta = payload[overlap:], 0
        if delta:
            if len(flow.pending) < MAX_PENDING_SEGMENTS:
                flow.pending[seq] = payload
            return
        flow.buf += payload
        flow.next_seq = (flow.next_seq + len(payload)) & 0xFFFFFFFF
        while flow.next_seq in flow.pending:
            more = flow.pending.pop(flow.next_seq)
            flow.buf += more
            flow.next_seq = (flow.next_seq + len(more)) & 0xFFFFFFFF
        if len(flow.buf) > MAX_FLOW_BYTES:
            del flow.buf[:-MAX_FLOW_BYTES]

    def _emit(self, flow: _Flow, src: str) -> Request:
        method, target = flow.request  # type: ignore[misc]
        flow.request = None
        return Request(src, flow.request_ts, method, target, "-", flow.agent)

    def _requests(self, flow: _Flow, src: str, ts: float) -> Iterator[Request]:
        buf = flow.buf
        while True:
            if flow.body_left:
                take = min(flow.body_left, len(buf))
                del buf[:take]
                flow.body_left -= take
                if flow.body_left:
                    return
            if flow.http is None:
                if len(buf) < 8 and not any(m.startswith(bytes(buf)) for m in _METHOD_PREFIXES):
                    flow.http = False
                elif len(buf) >= 8:
                    flow.http = _METHOD.match(buf) is not None
                if flow.http is False:
                    buf.clear()
                    return
            nl = buf.find(b"\n")
            if nl < 0:
                return
            line = bytes(buf[:nl]).rstrip(b"\r")
            del buf[:nl + 1]
            if not flow.in_headers:
                if not line:
                    continue
                if _METHOD.match(line) is None:
                    self.stats.malformed += 1
                    flow.http, flow.body_left = False, 0
                    buf.clear()
                    return
                text = line.decode("utf-8", "backslashreplace")
                flow.request, flow.request_ts = split_request(text), ts
                flow.in_headers, flow.agent = True, ""
                self.stats.lines += 1
            elif line:
                name, _, value = line.partition(b":")
                lname = name.strip().lower()
                if lname == b"user-agent":
                    flow.agent = value.strip().decode("utf-8", "backslashreplace")
                elif lname == b"content-length" and value.strip().isdigit():
                    flow.body_left = min(int(value.strip()), 1 << 31)
            else:
                flow.in_headers = False
                yield self._emit(flow, src)


def _ip_text(packed: bytes) -> str:
    family = socket.AF_INET if len(packed) == 4 else socket.AF_INET6
    return socket.inet_ntop(family, packed)


def _network_layer(datalink: int, frame: bytes):  # -> dpkt IP/IP6 or None
    import dpkt

    if datalink == 1:  # Ethernet
        eth = dpkt.ethernet.Ethernet(frame)
        return eth.data
    if datalink == 113:  # Linux cooked capture
        return dpkt.sll.SLL(frame).data
    if datalink in (101, 12, 14):  # raw IP
        version = frame[0] >> 4 if frame else 0
        return dpkt.ip.IP(frame) if version == 4 else dpkt.ip6.IP6(frame)
    if datalink == 0:  # BSD loopback: 4-byte address family, then IP
        return dpkt.loopback.Loopback(frame).data
    return None


def scan_capture(path: str, stats: FileStats) -> Iterator[Request]:
    """Yield every HTTP request carried in a capture, stamped with its packet's time."""
    import dpkt

    stats.kind = "pcap"
    stream = open_binary(path)
    try:
        head = stream.peek(4)[:4] if hasattr(stream, "peek") else b""
        try:
            if head == PCAPNG_MAGIC:
                reader, stats.format = dpkt.pcapng.Reader(stream), "pcapng"
            else:
                reader, stats.format = dpkt.pcap.Reader(stream), "pcap"
            datalink = reader.datalink()
        except (ValueError, struct.error, dpkt.dpkt.UnpackError, EOFError, OSError) as err:
            raise InputError(f"{path}: not a readable pcap/pcapng capture ({err})") from None
        table = FlowTable(stats)
        packets = iter(reader)
        while True:
            try:
                ts, frame = next(packets)
            except StopIteration:
                break
            except (ValueError, struct.error, dpkt.dpkt.UnpackError, EOFError, OSError) as err:
                stats.warnings.append(f"capture ends early after {stats.packets} packets "
                                      f"(truncated or corrupt: {err.__class__.__name__})")
                break
            stats.packets += 1
            try:
                ip = _network_layer(datalink, frame)
                tcp = getattr(ip, "data", None)
                if not isinstance(tcp, dpkt.tcp.TCP):
                    continue
                src = _ip_text(ip.src)
                key = (src, tcp.sport, _ip_text(ip.dst), tcp.dport)
                payload = bytes(tcp.data)
            except (dpkt.dpkt.UnpackError, ValueError, struct.error, IndexError, OSError):
                stats.undecodable_packets += 1
                continue
            yield from table.segment(key, src, float(ts), tcp.seq, tcp.flags, payload)
        yield from table.finish()
    finally:
        if path != "-":
            stream.close()
