"""Safe HTTP: address and URL checks, redirects hop by hop, limits, conditional GET."""

from __future__ import annotations

import ipaddress
import time

import pytest

from bot.sources import fetch as fetch_module
from bot.sources.fetch import (
    BadContentType,
    BlockedURL,
    FetchError,
    FetchTimeout,
    HttpStatusError,
    TooLarge,
    check_url,
    fetch,
    is_public_address,
    validate_url,
)
from tests.test_sources_support import LocalServer, local_settings


@pytest.fixture
def server():
    server = LocalServer()
    yield server
    server.stop()


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.8.9.10",
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "169.254.169.254",  # cloud metadata
        "100.64.0.1",  # carrier-grade NAT
        "0.0.0.0",
        "224.0.0.1",
        "239.255.255.250",
        "255.255.255.255",
        "240.0.0.1",
        "192.0.2.10",  # documentation
        "198.18.0.1",  # benchmarking
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "fd12:3456::1",
        "ff02::1",
        "2001:db8::1",
        "fec0::1",
        "::ffff:127.0.0.1",  # IPv4-mapped loopback
        "::ffff:10.0.0.1",
        "::ffff:169.254.169.254",
        "2002:7f00:1::1",  # 6to4 around 127.0.0.1
        "2002:a00:1::1",  # 6to4 around 10.0.0.1
        "64:ff9b::a00:1",  # NAT64 around 10.0.0.1
        "::127.0.0.1",  # IPv4-compatible (deprecated)
    ],
)
def test_non_public_addresses_are_refused(address):
    assert not is_public_address(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "address", ["8.8.8.8", "1.1.1.1", "93.184.216.34", "2001:4860:4860::8888", "::ffff:8.8.8.8", "2002:808:808::1"]
)
def test_public_addresses_are_allowed(address):
    assert is_public_address(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.org/feed",
        "file:///etc/passwd",
        "gopher://example.org/",
        "javascript:alert(1)",
        "example.org/feed",
        "http://",
        "https://user:secret@example.org/feed",
        "",
        "http://example.org/" + "a" * 2100,
    ],
)
def test_only_plain_http_urls_are_accepted(url):
    with pytest.raises(BlockedURL):
        validate_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/feed",
        "http://[::1]/feed",
        "http://10.0.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:127.0.0.1]/",
        "http://0.0.0.0:8080/",
    ],
)
def test_private_urls_are_refused_unless_allowed(url):
    with pytest.raises(BlockedURL):
        check_url(url, allow_private=False)
    assert check_url(url, allow_private=True).host


def test_a_hostname_is_judged_by_every_address_it_resolves_to(monkeypatch):
    answers = {"mixed.example": ["93.184.216.34", "10.0.0.7"], "public.example": ["93.184.216.34"]}
    monkeypatch.setattr(fetch_module, "_getaddrinfo", lambda host, port: answers[host])
    with pytest.raises(BlockedURL, match="10.0.0.7"):
        check_url("https://mixed.example/feed", allow_private=False)
    assert check_url("https://public.example/feed", allow_private=False).host == "public.example"


def test_localhost_by_name_is_refused(monkeypatch):
    monkeypatch.setattr(fetch_module, "_getaddrinfo", lambda host, port: ["127.0.0.1"])
    with pytest.raises(BlockedURL):
        check_url("http://localhost:8080/", allow_private=False)


def test_the_local_server_is_refused_without_the_setting(server):
    server.add("/feed.rss", "<rss/>", content_type="application/rss+xml")
    with pytest.raises(BlockedURL):
        fetch(server.url("/feed.rss"), settings=local_settings(allow_private_sources=False))
    assert server.requests == []  # refused before any connection


def test_the_local_server_works_with_the_setting(server):
    server.add("/feed.rss", "<rss/>", content_type="application/rss+xml; charset=utf-8", etag='"v1"')
    result = fetch(server.url("/feed.rss"), settings=local_settings())
    assert result.status == 200
    assert result.body == b"<rss/>"
    assert result.content_type == "application/rss+xml"
    assert result.charset == "utf-8"
    assert result.etag == '"v1"'
    assert server.requests[0].headers["user-agent"].startswith("Briefbot/")


def test_conditional_get_sends_the_validators_and_reads_304(server):
    server.add("/feed.rss", "<rss/>", content_type="application/rss+xml", etag='"abc"',
               last_modified="Thu, 06 Nov 2025 15:00:00 GMT")
    first = fetch(server.url("/feed.rss"), settings=local_settings())
    second = fetch(
        server.url("/feed.rss"),
        settings=local_settings(),
        etag=first.etag,
        last_modified=first.last_modified,
    )
    assert second.not_modified and second.body == b""
    headers = server.requests[1].headers
    assert headers["if-none-match"] == '"abc"'
    assert headers["if-modified-since"] == "Thu, 06 Nov 2025 15:00:00 GMT"


def test_redirects_are_followed_and_each_hop_checked(server):
    server.add("/old", status=301, headers={"Location": "/middle"})
    server.add("/middle", status=302, headers={"Location": server.url("/new")})
    server.add("/new", "text", content_type="text/plain")
    result = fetch(server.url("/old"), settings=local_settings())
    assert result.body == b"text"
    assert result.url == server.url("/old")
    assert result.final_url == server.url("/new")
    assert server.paths_requested() == ["/old", "/middle", "/new"]


def test_too_many_redirects_fail(server):
    for number in range(8):
        server.add(f"/r{number}", status=302, headers={"Location": f"/r{number + 1}"})
    with pytest.raises(FetchError, match="redirects"):
        fetch(server.url("/r0"), settings=local_settings())
    assert len(server.requests) == 6  # the first request and five redirects


@pytest.mark.parametrize(
    "target",
    [
        "http://10.0.0.1/admin",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:127.0.0.1]:9/",
        "http://[fd00::1]/",
        "ftp://127.0.0.1/",
        "file:///etc/passwd",
    ],
)
def test_a_redirect_to_a_private_address_is_refused(server, monkeypatch, target):
    # The local server stands in for a public site: only its own address counts as public,
    # so the first hop passes the real check and the redirect meets it unaided.
    real = fetch_module.is_public_address
    monkeypatch.setattr(
        fetch_module,
        "is_public_address",
        lambda ip: str(ip) == "127.0.0.1" or real(ip),
    )
    server.add("/go", status=302, headers={"Location": target})
    with pytest.raises(BlockedURL):
        fetch(server.url("/go"), settings=local_settings(allow_private_sources=False))
    assert server.paths_requested() == ["/go"]


def test_a_redirect_to_a_name_resolving_privately_is_refused(server, monkeypatch):
    real = fetch_module.is_public_address
    monkeypatch.setattr(
        fetch_module, "is_public_address", lambda ip: str(ip) == "127.0.0.1" or real(ip)
    )
    monkeypatch.setattr(fetch_module, "_getaddrinfo", lambda host, port: ["169.254.169.254"])
    server.add("/go", status=302, headers={"Location": "http://metadata.internal.example/"})
    with pytest.raises(BlockedURL, match="169.254.169.254"):
        fetch(server.url("/go"), settings=local_settings(allow_private_sources=False))


def test_the_connection_goes_to_the_checked_address(server, monkeypatch):
    # DNS rebinding: the name is resolved once; the request goes to that address with the
    # original Host header, whatever a second lookup would say.
    lookups = []

    def resolver(host, port):
        lookups.append(host)
        return ["127.0.0.1"] if len(lookups) == 1 else ["10.0.0.1"]

    monkeypatch.setattr(fetch_module, "_getaddrinfo", resolver)
    server.add("/feed", "ok", content_type="text/plain")
    port = server.httpd.server_address[1]
    result = fetch(f"http://feeds.example:{port}/feed", settings=local_settings())
    assert result.body == b"ok"
    assert lookups == ["feeds.example"]
    assert server.requests[0].headers["host"] == f"feeds.example:{port}"


def test_server_errors_fail_with_the_status(server):
    server.add("/broken", "oops", status=500, content_type="text/plain")
    with pytest.raises(HttpStatusError) as caught:
        fetch(server.url("/broken"), settings=local_settings())
    assert caught.value.status == 500
    with pytest.raises(HttpStatusError, match="404"):
        fetch(server.url("/missing"), settings=local_settings())


def test_a_slow_response_times_out(server):
    server.add("/slow", "late", content_type="text/plain", delay=2.0)
    started = time.monotonic()
    with pytest.raises(FetchTimeout):
        fetch(server.url("/slow"), settings=local_settings(fetch_timeout_seconds=0.3))
    assert time.monotonic() - started < 1.5


def test_an_oversized_declared_body_is_refused(server):
    server.add("/big", b"x" * 20_000, content_type="text/plain")
    with pytest.raises(TooLarge):
        fetch(server.url("/big"), settings=local_settings(fetch_max_bytes=10_000))


def test_an_oversized_streamed_body_stops_at_the_cap(server):
    server.add("/endless", content_type="text/plain", stream_bytes=3 * 1024 * 1024)
    with pytest.raises(TooLarge, match="stopped reading"):
        fetch(server.url("/endless"), settings=local_settings(fetch_max_bytes=64 * 1024))


@pytest.mark.parametrize(
    "content_type", ["image/png", "application/octet-stream", "video/mp4", "application/pdf", "application/zip"]
)
def test_wrong_content_types_are_refused(server, content_type):
    server.add("/thing", b"\x89PNG....", content_type=content_type, stream_bytes=1024 * 1024)
    with pytest.raises(BadContentType, match=content_type):
        fetch(server.url("/thing"), settings=local_settings())


def test_a_response_without_content_type_is_accepted_for_sniffing(server):
    server.add("/raw", "By Someone", content_type=None)
    result = fetch(server.url("/raw"), settings=local_settings())
    assert result.content_type == "" and result.body == b"By Someone"


def test_a_refused_connection_is_a_fetch_error():
    with pytest.raises(FetchError, match="cannot connect"):
        fetch("http://127.0.0.1:9/", settings=local_settings(fetch_timeout_seconds=1))


def test_https_is_pinned_with_the_host_name_kept_for_tls(monkeypatch):
    import httpx

    monkeypatch.setattr(fetch_module, "_getaddrinfo", lambda host, port: ["93.184.216.34"])
    seen = []

    def respond(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, headers={"Content-Type": "text/plain"}, content=b"ok")

    client = httpx.Client(transport=httpx.MockTransport(respond))
    result = fetch("https://feeds.example/analyst.rss", settings=local_settings(allow_private_sources=False), client=client)
    assert result.body == b"ok"
    request = seen[0]
    assert request.url.host == "93.184.216.34"  # connected to the address that was checked
    assert request.headers["host"] == "feeds.example"
    assert request.extensions["sni_hostname"] == "feeds.example"  # certificate checked for the name
    assert result.final_url == "https://feeds.example/analyst.rss"


def test_international_names_are_resolved_in_their_ascii_form(monkeypatch):
    asked = []
    monkeypatch.setattr(fetch_module, "_getaddrinfo", lambda host, port: asked.append(host) or ["93.184.216.34"])
    check_url("https://bücher.example/feed", allow_private=False)
    assert asked == ["xn--bcher-kva.example"]
