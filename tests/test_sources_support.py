"""Support for the live-source tests: a local HTTP server on 127.0.0.1 serving fixtures.

No tests here. The server answers from a route table, records every request with its
headers (to check conditional GET), honours ETag / Last-Modified with 304s, and can be
slow, redirect, fail, or stream an endless body, each bounded so no test can hang.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from bot.config import Settings

SOURCE_FIXTURES = Path(__file__).resolve().parent / "fixtures" / "sources"
PAGE_1 = "/publications/analytical-articles/item/13876-russia-reengages-with-armenia-and-azerbaijan.html"
PAGE_2 = "/publications/analytical-articles/item/13801-chinas-road-to-europe-passes-through-azerbaijan.html"
MAX_DELAY_SECONDS = 3.0
MAX_STREAM_BYTES = 4 * 1024 * 1024


def local_settings(**overrides: object) -> Settings:
    """Settings for tests: private addresses allowed (the server is on 127.0.0.1), no .env."""
    values: dict[str, object] = {
        "allow_private_sources": True,
        "fetch_timeout_seconds": 3.0,
        "fetch_max_bytes": 512 * 1024,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    content_type: str | None = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    etag: str | None = None
    last_modified: str | None = None
    delay: float = 0.0
    stream_bytes: int = 0  # > 0: that many bytes, no Content-Length, in chunks
    send_length: bool = True
    handler: Callable[[BaseHTTPRequestHandler], None] | None = None


@dataclass
class Seen:
    path: str
    headers: dict[str, str]


class LocalServer:
    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[Seen] = []
        self.stopping = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                server.requests.append(Seen(self.path, {k.lower(): v for k, v in self.headers.items()}))
                route = server.routes.get(self.path)
                if route is None:
                    self.send_response(404)
                    self.send_header("Content-Type", "text/plain")
                    self.send_header("Content-Length", "9")
                    self.end_headers()
                    self.wfile.write(b"not found")
                    return
                if route.handler is not None:
                    route.handler(self)
                    return
                if route.delay:
                    server.stopping.wait(min(route.delay, MAX_DELAY_SECONDS))
                    if server.stopping.is_set():
                        return
                if (route.etag and self.headers.get("If-None-Match") == route.etag) or (
                    route.last_modified and self.headers.get("If-Modified-Since") == route.last_modified
                ):
                    self.send_response(304)
                    if route.etag:
                        self.send_header("ETag", route.etag)
                    self.end_headers()
                    return
                self.send_response(route.status)
                if route.content_type:
                    self.send_header("Content-Type", route.content_type)
                if route.etag:
                    self.send_header("ETag", route.etag)
                if route.last_modified:
                    self.send_header("Last-Modified", route.last_modified)
                for key, value in route.headers.items():
                    self.send_header(key, value)
                if route.stream_bytes:
                    self.end_headers()
                    chunk = b"x" * 16384
                    sent = 0
                    while sent < min(route.stream_bytes, MAX_STREAM_BYTES) and not server.stopping.is_set():
                        self.wfile.write(chunk)
                        sent += len(chunk)
                    return
                if route.send_length:
                    self.send_header("Content-Length", str(len(route.body)))
                self.end_headers()
                self.wfile.write(route.body)

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: object, client_address: object) -> None:
                pass  # clients that hang up early (timeouts, size caps) are expected

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    @property
    def base(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, path: str) -> str:
        return self.base + path

    def add(self, path: str, body: bytes | str = b"", **options: object) -> Route:
        if isinstance(body, str):
            body = body.encode("utf-8")
        route = Route(body=body, **options)  # type: ignore[arg-type]
        self.routes[path] = route
        return route

    def fixture(self, name: str) -> bytes:
        return (SOURCE_FIXTURES / name).read_bytes().replace(b"{{BASE}}", self.base.encode())

    def add_fixture(self, path: str, name: str, content_type: str, **options: object) -> Route:
        return self.add(path, self.fixture(name), content_type=content_type, **options)

    def add_site(self) -> None:
        """The CACI-like site: two article pages, a listing, feeds."""
        html = "text/html; charset=utf-8"
        self.add_fixture(PAGE_1, PAGE_1.rsplit("/", 1)[1], html)
        self.add_fixture(PAGE_2, PAGE_2.rsplit("/", 1)[1], html)
        self.add_fixture("/publications/analytical-articles.html", "listing.html", html)
        self.add_fixture("/feed.rss", "feed.rss", "application/rss+xml; charset=utf-8")
        self.add_fixture("/feed.atom", "feed.atom", "application/atom+xml")
        self.add_fixture("/summary.rss", "summary.rss", "application/xml")

    def paths_requested(self) -> list[str]:
        return [seen.path for seen in self.requests]

    def stop(self) -> None:
        self.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)
