"""An exporter on a free loopback port, serving a config of demo servers, stopped after the test;
and a small client that scrapes it and parses what it answers with prometheus_client's parser."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from scim_doctor.runs.config import load_config
from scim_doctor.serve.exporter import AdHoc, Exporter
from scim_doctor.serve.http import ExporterServer


@dataclass(frozen=True)
class Sample:
    name: str
    labels: dict[str, str]
    value: float


class Scrape:
    """One answer of the exporter, parsed."""

    def __init__(self, response: httpx.Response) -> None:
        self.status = response.status_code
        self.headers = response.headers
        self.text = response.text
        self.samples: list[Sample] = []
        if self.status == 200 and response.headers["content-type"].startswith("text/plain"):
            for family in text_string_to_metric_families(self.text):
                for sample in family.samples:
                    self.samples.append(Sample(sample.name, dict(sample.labels), sample.value))

    def values(self, name: str, **labels: str) -> list[float]:
        return [
            s.value
            for s in self.samples
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
        ]

    def value(self, name: str, **labels: str) -> float:
        found = self.values(name, **labels)
        assert len(found) == 1, f"{name}{labels}: {found}\n{self.text}"
        return found[0]

    def labelled(self, name: str) -> list[dict[str, str]]:
        return [s.labels for s in self.samples if s.name == name]


@dataclass
class RunningExporter:
    server: ExporterServer
    client: httpx.Client

    @property
    def url(self) -> str:
        return self.server.url

    def get(self, path: str, **kwargs: Any) -> Scrape:
        return Scrape(self.client.get(self.server.url.rstrip("/") + path, **kwargs))

    def probe(self, target: str, **kwargs: Any) -> Scrape:
        return self.get("/probe", params={"target": target}, **kwargs)


@contextlib.contextmanager
def running_exporter(
    config: Path,
    *,
    min_interval: float = 60.0,
    allow_any_target: bool = False,
    reach: str = "internet",
) -> Iterator[RunningExporter]:
    """Serve `config` on 127.0.0.1:0 in a thread; stop the server and its probes afterwards."""
    exporter = Exporter(
        load_config(config),
        min_interval=min_interval,
        adhoc=AdHoc(allowed=allow_any_target, reach=reach),
    )
    server = ExporterServer(exporter, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve, name="exporter", daemon=True)
    thread.start()
    try:
        with httpx.Client(trust_env=False, timeout=30.0) as client:
            yield RunningExporter(server, client)
    finally:
        server.stop()
        thread.join(timeout=10.0)
        assert not thread.is_alive(), "the exporter did not stop"
