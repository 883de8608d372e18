"""The port as a running exporter, as the chart runs statsd_exporter: StatsD on UDP, the
exposition on HTTP `/metrics`, the mapping config from a file (the chart's rendered
mappings.yml). It also appends every line it receives to a capture file (`<unix time> <line>`),
the runtime tier's record of what Airflow really sends.

    python -m tests.statsd_exporter --statsd.listen-udp 127.0.0.1:9125 \\
        --web.listen-address 127.0.0.1:9102 --statsd.mapping-config mappings.yml --capture lines.txt
"""

from __future__ import annotations

import argparse
import socket
import threading
import time
from pathlib import Path

from .exporter import Exporter, serve
from .line import Parser
from .mapper import MetricMapper


def _address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host or "0.0.0.0", int(port)  # noqa: S104 - upstream's default; tests pass loopback


def main(argv: list[str] | None = None) -> None:
    args = argparse.ArgumentParser(description=__doc__)
    args.add_argument("--statsd.listen-udp", dest="udp", required=True)
    args.add_argument("--web.listen-address", dest="web", required=True)
    args.add_argument("--statsd.mapping-config", dest="mapping", required=True)
    args.add_argument("--capture", type=Path)
    options = args.parse_args(argv)

    exporter = Exporter(MetricMapper(Path(options.mapping).read_text()))
    parser = Parser()
    lock = threading.Lock()
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
    udp.bind(_address(options.udp))
    capture = open(options.capture, "a", buffering=1) if options.capture else None  # noqa: SIM115 - process lifetime

    def receive() -> None:
        while True:
            packet, _peer = udp.recvfrom(65535)
            text = packet.decode("utf-8", "surrogateescape")
            now = time.time()
            with lock:
                for line in text.split("\n"):
                    if capture and line:
                        printable = line.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
                        capture.write(f"{now:.3f} {printable}\n")
                    for event in parser.line_to_events(line):
                        exporter.handle(event)

    def exposition() -> str:
        with lock:
            return exporter.exposition()

    threading.Thread(target=receive, daemon=True).start()
    serve(_address(options.web), exposition)


if __name__ == "__main__":
    main()
