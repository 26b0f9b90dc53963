"""Safe HTTP for live sources: the only way Briefbot reaches a URL an operator typed.

Owns what makes fetching someone else's URL safe for the host the bot runs on:
http and https only; no address in a private, loopback, link-local, multicast, reserved
or unspecified range (IPv4 and IPv6, including IPv4 embedded in IPv6) unless the settings
allow private sources; redirects followed here, hop by hop, each checked the same way;
a deadline, a byte cap enforced while streaming, a content-type allowlist checked before
the body is read; conditional GET with the validators a previous poll stored.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urljoin

import httpx

from bot.config import Settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

USER_AGENT = "Briefbot/0.1 (feed and article poller; conditional GET)"
MAX_REDIRECTS = 5
MAX_URL_CHARS = 2000
# A resolver returning dozens of addresses gains an attacker nothing but retries.
MAX_ADDRESSES_TRIED = 4
_REDIRECT_STATUSES = {301, 302, 303, 307, 308}

# The media types of each kind a source can be; detect.py reads a response by them.
FEED_TYPES = frozenset({"application/rss+xml", "application/atom+xml"})
XML_TYPES = frozenset({"application/xml", "text/xml", "application/rdf+xml"})
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
JSONL_TYPES = frozenset(
    {
        "application/jsonl",
        "application/x-jsonl",
        "application/jsonlines",
        "application/x-jsonlines",
        "application/json-lines",
        "application/x-ndjson",
        "application/ndjson",
        "application/json",
    }
)
# Everything a source can be: feeds, pages, captures, JSON Lines. Anything else (images,
# video, archives, octet-stream, PDF) is refused before its body is read.
ACCEPTED_TYPES = FEED_TYPES | XML_TYPES | HTML_TYPES | JSONL_TYPES | {"text/plain"}
ACCEPT_HEADER = (
    "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, "
    "text/html;q=0.8, application/xhtml+xml;q=0.8, application/jsonl;q=0.7, "
    "application/x-ndjson;q=0.7, text/plain;q=0.6"
)
PAGE_ACCEPT_HEADER = "text/html, application/xhtml+xml;q=0.9"


class FetchError(Exception):
    """A fetch that failed, with a reason an operator can act on."""


class BlockedURL(FetchError):
    """Not a URL Briefbot may fetch: scheme, credentials, or a forbidden address."""


class FetchTimeout(FetchError):
    pass


class TooLarge(FetchError):
    pass


class BadContentType(FetchError):
    pass


class HttpStatusError(FetchError):
    def __init__(self, status: int, url: str) -> None:
        super().__init__(f"HTTP {status} from {url}")
        self.status = status


@dataclass(frozen=True)
class Fetched:
    url: str  # the URL asked for
    final_url: str  # after redirects: the base for relative links
    status: int  # 200, or 304 when the validators still match
    content_type: str  # media type, lower case, no parameters; "" when the server sent none
    charset: str | None
    body: bytes
    etag: str | None
    last_modified: str | None

    @property
    def not_modified(self) -> bool:
        return self.status == 304


# --- addresses ------------------------------------------------------------------------

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped, 6to4, Teredo, NAT64), if any."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def is_public_address(ip: IPAddress) -> bool:
    """True for an address on the public internet; False for anything local or special.

    An IPv6 address that embeds an IPv4 one is judged by the embedded address too:
    `::ffff:127.0.0.1` reaches loopback whatever the IPv6 tables say.
    """
    return _is_public(ip)


def _is_public(ip: IPAddress) -> bool:
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return _is_public(ip.ipv4_mapped)
        embedded = _embedded_ipv4(ip)
        if embedded is not None and not _is_public(embedded):
            return False
    return bool(
        ip.is_global
        and not ip.is_private
        and not ip.is_loopback
        and not ip.is_link_local
        and not ip.is_multicast
        and not ip.is_reserved
        and not ip.is_unspecified
        and not (isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local)
    )


def _getaddrinfo(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [info[4][0] for info in infos]


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address `host` resolves to, in resolver order, without duplicates."""
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    try:
        raw = _getaddrinfo(host, port)
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchError(f"cannot resolve host {host!r}") from exc
    addresses: list[IPAddress] = []
    for item in raw:
        ip = ipaddress.ip_address(item.split("%", 1)[0])
        if ip not in addresses:
            addresses.append(ip)
    if not addresses:
        raise FetchError(f"cannot resolve host {host!r}")
    return addresses


def checked_addresses(host: str, port: int, *, allow_private: bool) -> list[IPAddress]:
    """The addresses to connect to, all of them allowed, or BlockedURL.

    A host with any forbidden address is refused as a whole: a resolver answering with
    one public and one private address must not get the private one tried.
    """
    addresses = resolve(host, port)
    if not allow_private:
        for ip in addresses:
            if not is_public_address(ip):
                raise BlockedURL(f"{host} resolves to a non-public address ({ip}); refused")
    return addresses


def validate_url(url: str) -> httpx.URL:
    """A well-formed http(s) URL with a host and no credentials, or BlockedURL."""
    if not isinstance(url, str) or not url.strip():
        raise BlockedURL("empty URL")
    url = url.strip()
    if len(url) > MAX_URL_CHARS:
        raise BlockedURL(f"URL longer than {MAX_URL_CHARS} characters")
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError) as exc:
        raise BlockedURL(f"not a valid URL: {url!r}") from exc
    if parsed.scheme not in ("http", "https"):
        raise BlockedURL(f"only http and https URLs are fetched, not {parsed.scheme or 'no scheme'!r}")
    if not parsed.host:
        raise BlockedURL(f"no host in {url!r}")
    if parsed.userinfo:
        raise BlockedURL("URLs with credentials are not accepted")
    return parsed


def check_url(url: str, *, allow_private: bool) -> httpx.URL:
    """validate_url plus the address check, for a URL an operator is about to add."""
    parsed = validate_url(url)
    checked_addresses(
        _ascii_host(parsed), parsed.port or _default_port(parsed), allow_private=allow_private
    )
    return parsed


def _default_port(url: httpx.URL) -> int:
    return 443 if url.scheme == "https" else 80


def _ascii_host(url: httpx.URL) -> str:
    # The IDNA (punycode) form: what DNS and the TLS server name need for a non-ASCII host.
    return url.raw_host.decode("ascii")


# --- fetching ---------------------------------------------------------------------------


def new_client() -> httpx.Client:
    # trust_env=False: a proxy from the environment would connect for us, bypassing both the
    # address check and the pinning below. Redirects are followed by `fetch`, never by httpx.
    return httpx.Client(
        follow_redirects=False,
        trust_env=False,
        headers={"User-Agent": USER_AGENT},
    )


def _media_type(header: str | None) -> tuple[str, str | None]:
    if not header:
        return "", None
    parts = [p.strip() for p in header.split(";")]
    media = parts[0].lower()
    charset = None
    for param in parts[1:]:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset" and value.strip():
            charset = value.strip().strip("\"'").lower()
    return media, charset


def fetch(
    url: str,
    *,
    settings: Settings,
    etag: str | None = None,
    last_modified: str | None = None,
    client: httpx.Client | None = None,
    accept: str = ACCEPT_HEADER,
    accepted_types: Iterable[str] = ACCEPTED_TYPES,
) -> Fetched:
    """GET `url` safely; a 304 comes back as `Fetched.not_modified`, failures as FetchError."""
    own_client = client is None
    client = client or new_client()
    try:
        return _fetch(
            url,
            settings=settings,
            etag=etag,
            last_modified=last_modified,
            client=client,
            accept=accept,
            accepted_types=frozenset(accepted_types),
        )
    finally:
        if own_client:
            client.close()


def _fetch(
    url: str,
    *,
    settings: Settings,
    etag: str | None,
    last_modified: str | None,
    client: httpx.Client,
    accept: str,
    accepted_types: frozenset[str],
) -> Fetched:
    timeout = float(settings.fetch_timeout_seconds)
    deadline = time.monotonic() + timeout
    headers = {"Accept": accept, "User-Agent": USER_AGENT}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    current = url
    for _hop in range(MAX_REDIRECTS + 1):
        target = validate_url(current)
        port = target.port or _default_port(target)
        addresses = checked_addresses(
            _ascii_host(target), port, allow_private=settings.allow_private_sources
        )
        response_or_location = _request_pinned(
            client, target, addresses, headers, deadline, settings, accepted_types, url
        )
        if isinstance(response_or_location, Fetched):
            return response_or_location
        current = response_or_location
    raise FetchError(f"more than {MAX_REDIRECTS} redirects from {url}")


def _request_pinned(
    client: httpx.Client,
    target: httpx.URL,
    addresses: list[IPAddress],
    headers: dict[str, str],
    deadline: float,
    settings: Settings,
    accepted_types: frozenset[str],
    original_url: str,
) -> Fetched | str:
    """One hop. Returns the result, or the next URL when the server redirects.

    DNS rebinding: the name was resolved and checked once, and the connection goes to
    exactly the address that was checked (the URL's host replaced by that address, the
    Host header and the TLS server name kept), so a second, different DNS answer between
    check and connect cannot send the request somewhere private.
    """
    host_header = target.netloc.decode("ascii")
    extensions: dict[str, object] = {}
    is_literal = _is_ip_literal(target.host)
    if target.scheme == "https" and not is_literal:
        extensions["sni_hostname"] = _ascii_host(target)
    last_error: Exception | None = None
    for ip in addresses[:MAX_ADDRESSES_TRIED]:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise FetchTimeout(f"timed out after {settings.fetch_timeout_seconds:g} s")
        pinned = target if is_literal else target.copy_with(host=str(ip))
        try:
            with client.stream(
                "GET",
                pinned,
                headers={**headers, "Host": host_header},
                extensions=extensions,
                timeout=httpx.Timeout(remaining),
            ) as response:
                return _read_response(
                    response, target, deadline, settings, accepted_types, original_url
                )
        except httpx.ConnectError as exc:
            last_error = exc  # try the host's next checked address
            continue
        except httpx.TimeoutException as exc:
            raise FetchTimeout(f"timed out after {settings.fetch_timeout_seconds:g} s") from exc
        except httpx.HTTPError as exc:
            raise FetchError(f"{type(exc).__name__}: {exc}".rstrip(": ")) from exc
    raise FetchError(f"cannot connect to {target.host}: {last_error}")


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def _read_response(
    response: httpx.Response,
    target: httpx.URL,
    deadline: float,
    settings: Settings,
    accepted_types: frozenset[str],
    original_url: str,
) -> Fetched | str:
    status = response.status_code
    shown_url = str(target)
    if status in _REDIRECT_STATUSES:
        location = response.headers.get("location")
        if not location:
            raise FetchError(f"HTTP {status} without a Location from {shown_url}")
        return urljoin(shown_url, location.strip())
    etag = _validator(response.headers.get("etag"), 500)
    last_modified = _validator(response.headers.get("last-modified"), 100)
    if status == 304:
        return Fetched(original_url, shown_url, 304, "", None, b"", etag, last_modified)
    if status != 200:
        raise HttpStatusError(status, shown_url)
    media, charset = _media_type(response.headers.get("content-type"))
    if media and media not in accepted_types:
        raise BadContentType(f"unsupported content type {media} from {shown_url}")
    limit = int(settings.fetch_max_bytes)
    declared = response.headers.get("content-length")
    if declared and declared.strip().isdigit() and int(declared) > limit:
        raise TooLarge(f"response larger than {_size(limit)} ({_size(int(declared))} declared)")
    body = bytearray()
    # iter_bytes decodes gzip/deflate, so the cap holds for what is actually produced:
    # a small compressed bomb stops at the same limit.
    for chunk in response.iter_bytes():
        body += chunk
        if len(body) > limit:
            raise TooLarge(f"response larger than {_size(limit)}; stopped reading")
        if time.monotonic() > deadline:
            raise FetchTimeout(f"timed out after {settings.fetch_timeout_seconds:g} s")
    return Fetched(
        original_url,
        shown_url,
        200,
        media,
        charset,
        bytes(body),
        etag,
        last_modified,
    )


def _validator(value: str | None, limit: int) -> str | None:
    # Longer than the Source column holds: dropped, costing only a full fetch next time.
    return value if value and len(value) <= limit else None


def _size(count: int) -> str:
    if count >= 1024 * 1024:
        return f"{count / (1024 * 1024):.1f} MB"
    if count >= 1024:
        return f"{count / 1024:.0f} KB"
    return f"{count} bytes"
