"""Packet captures: reassembly of a request split across segments, non-HTTP skipped, damage."""

from __future__ import annotations

import socket

import dpkt
import pytest

from wormlab.detect.sightings import scan_inputs
from wormlab.detect.signatures import load_ruleset
from wormlab.errors import InputError

CR_TARGET = "/default.ida?" + "N" * 224 + "%u9090%u6858%ucbd3%u7801%u9090=a"
REQUEST = (f"GET {CR_TARGET} HTTP/1.0\r\nContent-type: text/xml\r\nContent-length: 10\r\n\r\n"
           "0123456789").encode()


def _frame(src: str, dst: str, sport: int, seq: int, payload: bytes, flags: int) -> bytes:
    tcp = dpkt.tcp.TCP(sport=sport, dport=80, seq=seq, flags=flags, data=payload)
    ip = dpkt.ip.IP(src=socket.inet_aton(src), dst=socket.inet_aton(dst), p=6, data=tcp)
    ip.len = len(ip)
    return bytes(dpkt.ethernet.Ethernet(src=b"\x00" * 6, dst=b"\x00" * 6,
                                        type=dpkt.ethernet.ETH_TYPE_IP, data=ip))


def _packets() -> list[tuple[float, bytes]]:
    t0 = 995565780.0  # 2001-07-19 18:03:00 UTC
    half = len(REQUEST) // 3
    syn, ack = dpkt.tcp.TH_SYN, dpkt.tcp.TH_ACK
    return [
        (t0, _frame("192.0.2.50", "10.0.0.5", 1025, 1000, b"", syn)),
        # the second segment arrives first: out of order
        (t0 + 0.2, _frame("192.0.2.50", "10.0.0.5", 1025, 1001 + half, REQUEST[half:], ack)),
        (t0 + 0.1, _frame("192.0.2.50", "10.0.0.5", 1025, 1001, REQUEST[:half], ack)),
        # retransmission of the first segment changes nothing
        (t0 + 0.3, _frame("192.0.2.50", "10.0.0.5", 1025, 1001, REQUEST[:half], ack)),
        (t0 + 1, _frame("192.0.2.60", "10.0.0.5", 2000, 5, b"\x16\x03\x01binary tls", ack)),
        (t0 + 2, _frame("192.0.2.61", "10.0.0.5", 2001, 7,
                        b"GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n", ack)),
    ]


def _write_pcap(path, packets, ng=False) -> str:
    with open(path, "wb") as out:
        writer = dpkt.pcapng.Writer(out) if ng else dpkt.pcap.Writer(out)
        for ts, frame in packets:
            writer.writepkt(frame, ts=ts)
    return str(path)


@pytest.mark.parametrize("ng", [False, True])
def test_split_request_is_reassembled_and_timestamped(tmp_path, ng) -> None:
    path = _write_pcap(tmp_path / ("c.pcapng" if ng else "c.pcap"), _packets(), ng)
    report = scan_inputs([path], load_ruleset())
    f = report.files[0]
    assert f.format == ("pcapng" if ng else "pcap") and f.packets == 6
    assert list(report.sources) == ["192.0.2.50"]
    src = report.sources["192.0.2.50"]
    assert src.count == 1 and "Code Red v1/v2" in src.variants
    assert src.first_s == pytest.approx(995565780.2)  # when the request line completed
    assert f.lines == 2  # two HTTP requests; the TLS flow was skipped


def test_truncated_capture_warns_and_keeps_earlier_packets(tmp_path) -> None:
    path = tmp_path / "cut.pcap"
    _write_pcap(path, _packets())
    data = path.read_bytes()
    path.write_bytes(data[:-30])
    report = scan_inputs([str(path)], load_ruleset())
    assert report.sources["192.0.2.50"].count == 1
    assert report.files[0].packets == 6  # the last, cut packet is read short but not fatal


def test_corrupt_capture_header_is_bad_input(tmp_path) -> None:
    path = tmp_path / "bad.pcap"
    path.write_bytes(b"\xd4\xc3\xb2\xa1" + b"\x00" * 5)
    with pytest.raises(InputError, match="not a readable pcap"):
        scan_inputs([str(path)], load_ruleset())


def test_garbage_packets_do_not_crash(tmp_path) -> None:
    import random

    rng = random.Random(7)
    packets = [(1.0 + i, bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200))))
               for i in range(200)] + _packets()
    report = scan_inputs([_write_pcap(tmp_path / "g.pcap", packets)], load_ruleset())
    assert "192.0.2.50" in report.sources
