"""What a response body really is, when it should have been SCIM JSON.

"Invalid JSON at byte 0" tells an admin nothing; "a Cloudflare block page (Ray ID 8f1c...)" or
"the web app's index.html: the SPA catch-all answered instead of the API" tells them whom to
call. Pure functions over bytes and headers (no I/O), so every page type is tested from a
sample without a server. The markers are the ones the products put in their default pages; a
page that matches none is still named as HTML, with its <title>.
"""

from __future__ import annotations

import codecs
import html
import re
from collections.abc import Callable, Mapping
from typing import Literal

from msgspec import Struct

from scim_doctor.core.patterns import LazyPattern
from scim_doctor.core.secrets import redact

BodyKind = Literal["empty", "json", "html", "xml", "text", "binary"]
PageKind = Literal["block", "login", "spa", "error", "page"]

_SCAN = 64 * 1024
"""How much of a body is searched for markers: every product's marker sits near the top."""
_TITLE_CHARS = 120

_BOMS = (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
_HTML_START = LazyPattern(r"<(?:!doctype\s+html|html|head|body)\b")
_HTML_FIRST_TAGS = frozenset(
    "a b br center div form h1 h2 h3 head hr iframe img link meta noscript p pre script span "
    "style table title".split()
)
_XML_PROLOG = LazyPattern(
    r"\s*(?:<\?[^>]*\?>|<!--.*?-->|<!doctype[^>]*>|\s)*", re.DOTALL | re.IGNORECASE
)
_TAG_NAME = LazyPattern(r"<([A-Za-z_][\w:.-]*)")
_TITLE = LazyPattern(r"<title[^>]*>(.*?)</title\s*>", re.IGNORECASE | re.DOTALL)
_CONTROL = LazyPattern("[\x00-\x1f\x7f-\x9f\udc80-\udcff]")


class Page(Struct, frozen=True):
    """What an HTML body looks like, and the markers that say so."""

    kind: PageKind
    """block (WAF/CDN/proxy), login (sign-in or SSO page), spa (a web app's index.html),
    error (a server's default error page) or page (any other HTML)."""
    vendor: str | None
    """The product behind it (Cloudflare, Okta, nginx, React...), when a marker names one."""
    evidence: tuple[str, ...]
    """The markers that matched, as a reader can look for them in the body or headers."""
    reference: str | None = None
    """An incident id the page shows (Cloudflare Ray ID, Akamai Reference #, F5 support ID)."""

    def describe(self) -> str:
        """e.g. "a Cloudflare block page ('cf-error-details' in the page, cf-ray header)"."""
        what = {
            "block": "block page",
            "login": "login / SSO page",
            "spa": "single-page app's index.html (a catch-all route answered, not the API)",
            "error": "default error page",
            "page": "HTML page",
        }[self.kind]
        subject = f"{self.vendor} {what}" if self.vendor else what
        vowel_sound = subject[0].lower() in "aeiou" or subject.startswith(("HTML", "F5", "nginx"))
        article = "an" if vowel_sound else "a"
        text = f"{article} {subject}"
        details = list(self.evidence)
        if self.reference:
            details.append(self.reference)
        return f"{text} ({', '.join(details)})" if details else text


class Sniffed(Struct, frozen=True):
    """The kind of a body, and for HTML what page it is."""

    kind: BodyKind
    title: str | None = None
    """The HTML <title>, unescaped, whitespace collapsed, control characters escaped."""
    page: Page | None = None
    """For HTML bodies: what the page looks like."""
    xml_root: str | None = None
    """For XML bodies: the root element's name."""

    def describe(self) -> str:
        """One phrase for a finding, e.g. "HTML: a login / SSO page (...), titled 'Sign in'"."""
        if self.kind == "html" and self.page is not None:
            titled = f", titled '{self.title}'" if self.title else ", without a <title>"
            return f"HTML: {self.page.describe()}{titled}"
        if self.kind == "xml":
            root = f" (root element <{self.xml_root}>)" if self.xml_root else ""
            return f"XML{root}"
        return {
            "empty": "an empty body",
            "json": "JSON",
            "text": "plain text",
            "binary": "binary data",
            "html": "HTML",
            "xml": "XML",
        }[self.kind]


# --- the kind of a body -------------------------------------------------------------------------


def _start(body: bytes) -> bytes:
    for bom in _BOMS:
        if body.startswith(bom):
            body = body[len(bom) :]
            break
    return body[:_SCAN].lstrip()


def _looks_binary(head: bytes) -> bool:
    sample = head[:1024]
    if b"\x00" in sample:
        return True
    controls = sum(1 for byte in sample if byte < 0x20 and byte not in (0x09, 0x0A, 0x0D))
    return controls > len(sample) // 10


def body_kind(body: bytes, content_type: str | None = None) -> BodyKind:
    """JSON, HTML, XML, text, binary or empty, from the bytes first and the header second.

    A body that starts like JSON is JSON even when malformed (its parse error is the useful
    message); HTML wins over XML for XHTML and for pages that start with a bare <div>.
    """
    head = _start(body)
    if not head:
        return "empty"
    if head[:1] in (b"{", b"["):
        return "json"
    if _looks_binary(head):
        return "binary"
    lowered = head[:4096].decode("latin-1").lower()
    if lowered.startswith("<"):
        if _HTML_START.search(lowered):
            return "html"
        media = (content_type or "").split(";", 1)[0].strip().lower()
        if media in ("text/html", "application/xhtml+xml"):
            return "html"
        rest = _XML_PROLOG.match(lowered)
        tag = _TAG_NAME.match(lowered, rest.end() if rest else 0)
        if tag is not None and tag.group(1) in _HTML_FIRST_TAGS:
            return "html"
        if lowered.startswith("<?xml") or tag is not None:
            return "xml"
    return "text"


def xml_root(body: bytes) -> str | None:
    """The name of the first element after the prolog, comments and doctype."""
    text = _start(body)[:4096].decode("utf-8", errors="replace")
    rest = _XML_PROLOG.match(text)
    tag = _TAG_NAME.match(text, rest.end() if rest else 0)
    return tag.group(1) if tag else None


def html_title(body: bytes) -> str | None:
    """The page's <title>, as a person reads it (None when it has none or it is blank)."""
    text = body[:_SCAN].decode("utf-8", errors="replace")
    match = _TITLE.search(text)
    if match is None:
        return None
    title = " ".join(html.unescape(match.group(1)).split())
    if not title:
        return None
    if len(title) > _TITLE_CHARS:
        title = title[: _TITLE_CHARS - 1] + "…"
    return escape_controls(redact(title))


# --- what an HTML page is -------------------------------------------------------------------


HeaderTest = Callable[[Mapping[str, str]], str | None]


def _header(name: str, contains: str = "") -> HeaderTest:
    """A test that names the header when it is present (and contains `contains`)."""

    def test(headers: Mapping[str, str]) -> str | None:
        value = headers.get(name)
        if value is None or contains not in value.lower():
            return None
        return f"{name}: {value}" if contains else f"{name} header"

    return test


class _Signature(Struct, frozen=True):
    """How one product's page is recognised: its vendor, what the page is, the markers."""

    vendor: str | None
    kind: PageKind
    texts: tuple[str, ...] = ()
    """Lower-case substrings of the body; any one matches."""
    all_texts: tuple[str, ...] = ()
    """Lower-case substrings that must all be present (for markers weak on their own)."""
    headers: tuple[HeaderTest, ...] = ()
    reference: LazyPattern[str] | None = None


_BLOCKS: tuple[_Signature, ...] = (
    _Signature(
        "Cloudflare",
        "block",
        texts=(
            "attention required! | cloudflare",
            "cloudflare ray id",
            "cf-error-details",
            "cf-chl-",
            "/cdn-cgi/challenge-platform",
            "cf-browser-verification",
        ),
        headers=(_header("cf-ray"), _header("server", "cloudflare"), _header("cf-mitigated")),
        reference=LazyPattern(r"ray id:?\s*(?:<[^>]+>\s*)*([0-9a-f]{16})", re.IGNORECASE),
    ),
    _Signature(
        "Akamai",
        "block",
        texts=("errors.edgesuite.net",),
        all_texts=("access denied", "reference #"),
        headers=(_header("server", "akamaighost"),),
        reference=LazyPattern(r"reference #([0-9a-f.]+)", re.IGNORECASE),
    ),
    _Signature(
        "Zscaler",
        "block",
        texts=("zscaler",),
        headers=(_header("x-zscaler-request-id"),),
    ),
    _Signature(
        "Imperva Incapsula",
        "block",
        texts=("incapsula incident id", "_incapsula_resource", "powered by incapsula"),
        headers=(_header("x-iinfo"), _header("x-cdn", "incapsula"), _header("x-cdn", "imperva")),
        reference=LazyPattern(r"incident id:?\s*([0-9-]+)", re.IGNORECASE),
    ),
    _Signature(
        "AWS WAF / CloudFront",
        "block",
        texts=("generated by cloudfront", "aws waf", "awswaf"),
        headers=(_header("x-amzn-waf-action"), _header("x-amz-cf-id")),
        reference=LazyPattern(r"request id:?\s*([A-Za-z0-9_=-]{20,})", re.IGNORECASE),
    ),
    _Signature(
        "F5 BIG-IP",
        "block",
        texts=("the requested url was rejected. please consult with your administrator",),
        all_texts=("request rejected", "support id"),
        headers=(_header("x-wa-info"), _header("server", "big-ip"), _header("server", "bigip")),
        reference=LazyPattern(r"support id is:?\s*([0-9]+)", re.IGNORECASE),
    ),
    _Signature(
        "ModSecurity",
        "block",
        texts=("mod_security", "modsecurity"),
    ),
    _Signature(
        "Sucuri",
        "block",
        texts=("sucuri website firewall",),
        headers=(_header("x-sucuri-id"),),
    ),
    _Signature(
        "Azure Front Door / Application Gateway",
        "block",
        texts=("microsoft-azure-application-gateway", "the request is blocked."),
        headers=(_header("x-azure-ref"),),
    ),
    _Signature("Fortinet", "block", texts=("fortiguard", "fortiweb", "fortigate")),
)

_LOGINS: tuple[_Signature, ...] = (
    _Signature(
        "Microsoft Entra ID", "login", texts=("login.microsoftonline.com", "login.live.com")
    ),
    _Signature("Okta", "login", texts=(".okta.com", ".oktapreview.com", "okta-sign-in")),
    _Signature("Google", "login", texts=("accounts.google.com",)),
    _Signature("Auth0", "login", texts=(".auth0.com", "auth0-lock")),
    _Signature("OneLogin", "login", texts=(".onelogin.com",)),
    _Signature("Ping Identity", "login", texts=(".pingone.", "pingfederate", "pingidentity")),
    _Signature("Keycloak", "login", texts=("kc-form-login", "keycloak", "/realms/")),
    _Signature("JumpCloud", "login", texts=("sso.jumpcloud.com",)),
    _Signature("AWS Cognito", "login", texts=(".amazoncognito.com",)),
    _Signature("Duo", "login", texts=("duosecurity.com",)),
)

_PASSWORD_FIELD = LazyPattern(r"<input\b[^>]*\btype\s*=\s*[\"']?password\b", re.IGNORECASE)
_SAML_FORM = LazyPattern(r"name\s*=\s*[\"']?saml(?:request|response)\b", re.IGNORECASE)
_LOGIN_FORM = LazyPattern(
    r"<form\b[^>]*\baction\s*=\s*[\"'][^\"']*(?:login|signin|sign-in|sso|authorize|saml)",
    re.IGNORECASE,
)
_LOGIN_TITLE = LazyPattern(r"\b(?:sign[ -]?in|log[ -]?in|login|single sign-on|sso)\b", re.I)

_SPA_ROOTS: tuple[tuple[str, str | None], ...] = (
    ('<div id="__next"', "Next.js"),
    ("<app-root", "Angular"),
    ("ng-version=", "Angular"),
    ('<div id="__nuxt"', "Nuxt"),
    ("window.__nuxt__", "Nuxt"),
    ('<div id="root"', None),
    ("<div id='root'", None),
    ('<div id="app"', None),
    ("<div id='app'", None),
    ('<div id="svelte"', "Svelte"),
    ("data-reactroot", "React"),
)
_BUNDLE = LazyPattern(
    r"<script\b[^>]*\bsrc\s*=\s*[\"']([^\"']*?(?:/static/js/|/assets/|/_next/|/build/|/dist/|"
    r"(?:main|bundle|app|runtime|polyfills|vendor|chunk-vendors|index)[.-][\w.-]*\.js)[^\"']*)",
    re.IGNORECASE,
)
_NOSCRIPT_APP = "you need to enable javascript to run this app"

_SERVERS: tuple[tuple[str, str], ...] = (
    ("whitelabel error page", "Spring Boot"),
    ("server error in '/' application", "ASP.NET"),
    ("iis windows server", "IIS"),
    ("microsoft-iis", "IIS"),
    ("apache tomcat", "Tomcat"),
    ("powered by jetty", "Jetty"),
    ("<center>nginx", "nginx"),
    ("<center>openresty", "OpenResty"),
    ("<address>apache", "Apache httpd"),
    ("cannot get /", "Express"),
    ("the page you were looking for doesn't exist", "Rails"),
    ("using the urlconf defined in", "Django"),
)
_ERROR_TITLE = LazyPattern(
    r"\b(?:[45]\d\d|not found|internal server error|bad gateway|service unavailable|"
    r"gateway time-?out|forbidden|unauthorized|bad request|method not allowed|not acceptable|"
    r"unsupported media type|error)\b",
    re.IGNORECASE,
)
_GENERIC_BLOCK = LazyPattern(
    r"\b(?:access denied|request (?:blocked|rejected)|has been blocked|web application firewall|"
    r"website blocked|site blocked)\b",
    re.IGNORECASE,
)


def _lower_headers(headers: Mapping[str, str] | None) -> dict[str, str]:
    return {str(k).lower(): str(v) for k, v in (headers or {}).items()}


def _match(sig: _Signature, text: str, headers: Mapping[str, str]) -> tuple[str | None, str | None]:
    """The first body marker and the first header marker of `sig` found (None when none)."""
    body = next((f"'{marker}' in the page" for marker in sig.texts if marker in text), None)
    if body is None and sig.all_texts and all(marker in text for marker in sig.all_texts):
        body = " + ".join(f"'{marker}'" for marker in sig.all_texts) + " in the page"
    header = next((hit for test in sig.headers if (hit := test(headers)) is not None), None)
    return body, header


def _reference(sig: _Signature, raw: str, headers: Mapping[str, str]) -> str | None:
    if sig.vendor == "Cloudflare" and "cf-ray" in headers:
        return f"Ray ID {headers['cf-ray']}"
    if sig.reference is None:
        return None
    match = sig.reference.search(raw)
    if match is None:
        return None
    label = {
        "Cloudflare": "Ray ID",
        "Akamai": "Reference #",
        "Imperva Incapsula": "Incident ID",
        "F5 BIG-IP": "support ID",
    }.get(sig.vendor or "", "request ID")
    separator = "" if label.endswith("#") else " "
    return f"{label}{separator}{match.group(1)}"


def _block(raw: str, text: str, headers: Mapping[str, str], status: int | None) -> Page | None:
    for sig in _BLOCKS:
        body_hit, header_hit = _match(sig, text, headers)
        # A header alone (cf-ray, x-azure-ref) only says the CDN is in the path: every answer
        # through it carries one. It makes a block page only together with a refusal status.
        if body_hit or (header_hit and status in (403, 406, 429, 503)):
            found = tuple(hit for hit in (body_hit, header_hit) if hit)
            return Page("block", sig.vendor, found, _reference(sig, raw, headers))
    return None


def _login(text: str, title: str | None) -> Page | None:
    evidence: list[str] = []
    if _PASSWORD_FIELD.search(text):
        evidence.append("a password field")
    if _SAML_FORM.search(text):
        evidence.append("a SAML form")
    if _LOGIN_FORM.search(text):
        evidence.append("a login form")
    vendor = None
    for sig in _LOGINS:
        hits = [marker for marker in sig.texts if marker in text]
        if hits:
            vendor = sig.vendor
            evidence.append(f"'{hits[0].strip('.')}' in the page")
            break
    # An identity provider's host name alone is no login page: SPAs load sign-in SDKs too.
    structural = len(evidence) > (1 if vendor else 0)
    if not structural and not (vendor and title and _LOGIN_TITLE.search(title)):
        return None
    return Page("login", vendor, tuple(evidence))


def _spa(text: str) -> Page | None:
    roots = [(marker, vendor) for marker, vendor in _SPA_ROOTS if marker in text]
    bundles = _BUNDLE.findall(text)
    noscript = _NOSCRIPT_APP in text
    if not roots and not (bundles and noscript):
        return None
    vendor = next((v for _, v in roots if v), None)
    if vendor is None and bundles and any("/static/js/" in b for b in bundles):
        vendor = "React"
    if vendor is None and bundles and any("/assets/index-" in b for b in bundles):
        vendor = "Vite"
    evidence = [f"{marker}>" if marker.startswith("<") else marker for marker, _ in roots[:1]]
    if bundles:
        evidence.append(f"script bundle {bundles[0]}")
    if noscript:
        evidence.append("'enable JavaScript to run this app'")
    return Page("spa", vendor, tuple(evidence))


def _error(text: str, title: str | None) -> Page | None:
    server = next(((name, marker) for marker, name in _SERVERS if marker in text), None)
    if server is not None:
        return Page("error", server[0], (f"'{server[1]}' in the page",))
    heading = re.search(r"<h1[^>]*>(.*?)</h1\s*>", text, re.DOTALL)
    for candidate in (title, heading.group(1) if heading else None):
        if candidate and _ERROR_TITLE.search(candidate):
            return Page("error", None, ())
    return None


def _app_or_login(text: str, title: str | None) -> Page | None:
    """A sign-in page of a known identity provider is a login page even when it is itself an
    SPA; an app shell whose only sign-in is its own generic form is the app's catch-all (the
    API is not there), not an SSO layer in front of the API."""
    login, app = _login(text, title), _spa(text)
    if login is not None and app is not None and login.vendor is None:
        return Page("spa", app.vendor, (*app.evidence, "a sign-in form inside the app"))
    return login or app


def classify_page(
    body: bytes, headers: Mapping[str, str] | None = None, status: int | None = None
) -> Page:
    """What an HTML page is: block page > login page > SPA shell > error page > other.

    Block pages come first because they can contain a form (a CAPTCHA) and a root <div>; a login
    page of a known identity provider before an SPA because many sign-in pages are themselves
    SPAs, but a generic sign-in form inside an app shell is the app's catch-all.
    """
    # Entities decoded first: Akamai writes "Reference&#32;&#35;18&#46;..." in its pages.
    raw = html.unescape(body[:_SCAN].decode("utf-8", errors="replace"))
    text = raw.lower()
    lowered = _lower_headers(headers)
    title = html_title(body)
    found = _block(raw, text, lowered, status) or _app_or_login(text, title)
    if found is not None:
        return found
    if title and _GENERIC_BLOCK.search(title):
        return Page("block", None, (f"title '{title}'",))
    return _error(text, title) or Page("page", None, ())


def sniff(
    body: bytes,
    content_type: str | None = None,
    headers: Mapping[str, str] | None = None,
    status: int | None = None,
) -> Sniffed:
    """Name what `body` is (and, for HTML, what page)."""
    kind = body_kind(body, content_type)
    if kind == "html":
        return Sniffed(kind, html_title(body), classify_page(body, headers, status))
    if kind == "xml":
        return Sniffed(kind, xml_root=xml_root(body))
    return Sniffed(kind)


# --- showing bytes safely -----------------------------------------------------------------------


def escape_controls(text: str) -> str:
    r"""Control characters as escapes (\n, \x1b), undecodable bytes (surrogate-escaped) as
    \xNN: nothing in a body can move a terminal or break a one-line message."""

    def escape(match: re.Match[str]) -> str:
        char = match.group(0)
        code = ord(char)
        if 0xDC80 <= code <= 0xDCFF:
            return f"\\x{code - 0xDC00:02x}"
        return {"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(char) or f"\\x{code:02x}"

    return _CONTROL.sub(escape, text)


def preview(body: bytes, limit: int = 80, *, tail: bool = False) -> str:
    """The first (or, with `tail`, the last) `limit` characters of a body, safe to print.

    Redacted before it is cut (over a wider window, so a secret straddling the cut is matched
    whole); bytes that are not UTF-8 shown as \\xNN, control characters escaped; quoted, with
    '…' where something was left out.
    """
    if tail:
        window = body[-limit * 8 :]
        text = redact(window.decode("utf-8", errors="surrogateescape"))
        shown = escape_controls(text[-limit:])
        return f"'…{shown}'" if len(text) > limit or len(body) > len(window) else f"'{shown}'"
    window = body[: limit * 8]
    text = redact(window.decode("utf-8", errors="surrogateescape"))
    shown = escape_controls(text[:limit])
    return f"'{shown}…'" if len(text) > limit or len(body) > len(window) else f"'{shown}'"


def legacy_reading(body: bytes, offset: int, radius: int = 16) -> str | None:
    """The text around `offset` read as Windows-1252 (a superset of Latin-1), when that works.

    A byte that is not UTF-8 in a JSON body is almost always an accented letter written by a
    server whose default charset is Latin-1; showing "José" makes that obvious.
    """
    start, end = max(0, offset - radius), min(len(body), offset + radius)
    try:
        text = body[start:end].decode("cp1252")
    except UnicodeDecodeError:
        return None
    return f"'{escape_controls(redact(text))}'"
