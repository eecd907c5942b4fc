"""The catalogue of finding codes: what each means, why it matters, how to fix it, and its source.

Codes are a public interface (`scim-doctor explain CODE`, the JSON report, docs/findings.md):
never rename one; retire it by leaving it here with a note. A probe raises a finding with
`make(code, message)`, so severity, remediation and reference always come from this one table.
"""

from __future__ import annotations

from dataclasses import dataclass

from scim_doctor.model import Finding, ReferenceKind, Severity

RFC = ReferenceKind.RFC
IDP = ReferenceKind.IDP
ADVICE = ReferenceKind.ADVICE
FAIL = Severity.FAIL
WARN = Severity.WARN
INFO = Severity.INFO


@dataclass(frozen=True)
class FindingSpec:
    """One catalogue entry."""

    code: str
    severity: Severity
    title: str
    """Short name of the problem."""
    why: str
    """Why it matters: what breaks for the identity provider."""
    fix: str
    """How to fix it, in plain words."""
    reference: str
    """RFC section, IdP document, or the field experience the advice rests on."""
    reference_kind: ReferenceKind


_SPECS: tuple[FindingSpec, ...] = (
    # --- url: the base URL as given -------------------------------------------------------------
    FindingSpec(
        "url.endpoint_suffix",
        WARN,
        "Base URL ends with a resource endpoint",
        "Identity providers append /Users, /Groups and so on to the base URL themselves; a base "
        "that already ends with one makes them request /Users/Users and get 404.",
        "Configure the base URL without the endpoint; scim-doctor checked the stripped URL.",
        "RFC 7644 §3.2 (endpoints are relative to the base URI)",
        RFC,
    ),
    FindingSpec(
        "url.query_or_fragment",
        WARN,
        "Base URL carries a query string or fragment",
        "Clients build endpoint URLs by appending paths; a query or fragment in the base ends up "
        "in the middle of every URL, or is dropped.",
        "Remove everything from '?' or '#' on. If the query is a tenant switch, ask the vendor "
        "for a path-based tenant URL.",
        "RFC 7644 §3.2; RFC 3986 §3",
        RFC,
    ),
    FindingSpec(
        "url.underscore_in_host",
        WARN,
        "Host name contains an underscore",
        "Underscores are not valid in host names; Okta refuses such base URLs and some TLS "
        "stacks reject the certificate.",
        "Use a host name made of letters, digits and hyphens (a CNAME works).",
        "Okta: Build a SCIM provisioning integration — base URL requirements; RFC 952 / RFC 1123",
        IDP,
    ),
    FindingSpec(
        "url.trailing_slash",
        INFO,
        "Base URL ends with a slash",
        "Some identity providers append '/Users' verbatim and request '//Users', which many "
        "servers answer with 404 or a redirect that drops the Authorization header.",
        "Configure the base URL without the trailing slash.",
        "Advice: seen with Entra ID and OneLogin custom apps",
        ADVICE,
    ),
    # --- dns -------------------------------------------------------------------------------------
    FindingSpec(
        "dns.nxdomain",
        FAIL,
        "Host name does not exist",
        "The resolver says the name does not exist, so nothing can connect to it.",
        "Check the spelling of the host in the base URL, and that the DNS record exists in the "
        "public zone (not only on an internal resolver).",
        "RFC 1035 §4.1.1 (NXDOMAIN / name error)",
        RFC,
    ),
    FindingSpec(
        "dns.no_address",
        FAIL,
        "Host name has no address record",
        "The name exists but has neither an A nor an AAAA record, so there is nothing to connect "
        "to.",
        "Add an A (IPv4) and/or AAAA (IPv6) record, or a CNAME to a name that has them.",
        "RFC 1035 §3.4.1 (A), RFC 3596 (AAAA)",
        RFC,
    ),
    FindingSpec(
        "dns.timeout",
        FAIL,
        "Name resolution timed out",
        "The resolver gave no answer in time; identity providers give up the same way.",
        "Check the DNS servers this machine uses (or the corporate resolver / VPN), and that the "
        "domain's authoritative servers answer.",
        "Advice: a resolver that never answers looks like an outage to every client",
        ADVICE,
    ),
    FindingSpec(
        "dns.resolution_failed",
        FAIL,
        "Name resolution failed",
        "The system resolver returned an error other than 'no such name'.",
        "Check this machine's resolver configuration (/etc/resolv.conf, VPN, proxy) and retry.",
        "Advice: getaddrinfo(3) error codes",
        ADVICE,
    ),
    FindingSpec(
        "dns.private_address",
        WARN,
        "Host resolves to a private, loopback or link-local address",
        "Cloud identity providers (Entra ID, Okta, Google, ...) connect from the internet; they "
        "cannot reach a private, loopback or link-local address. It works from this machine, "
        "not from the IdP.",
        "Publish the SCIM endpoint on a public address (or through the vendor's on-premises "
        "agent), or resolve the name publicly to a reverse proxy.",
        "RFC 1918, RFC 4193, RFC 3927; Entra ID: provisioning calls come from the "
        "AzureActiveDirectory service tag",
        ADVICE,
    ),
    # --- connect ---------------------------------------------------------------------------------
    FindingSpec(
        "connect.refused",
        FAIL,
        "Connection refused",
        "The host answered, but nothing listens on that port (or a firewall actively rejects).",
        "Check the port in the base URL, that the service is running, and the load balancer's "
        "listener for that port.",
        "RFC 9293 §3.10.7.1 (RST on a closed port)",
        RFC,
    ),
    FindingSpec(
        "connect.timeout",
        FAIL,
        "Connection timed out",
        "No answer to the TCP handshake: a firewall drops the packets, the host is down, or the "
        "address is wrong.",
        "Check firewall / security-group rules and IP allowlists for this port. An allowlist must "
        "include the identity provider's egress ranges, not only yours.",
        "Advice: silent drops are the signature of firewalls and allowlists",
        ADVICE,
    ),
    FindingSpec(
        "connect.unreachable",
        FAIL,
        "Network or host unreachable",
        "This machine has no route to the address (or a router said there is none).",
        "Check routing, VPN and IPv6 connectivity from this network; if only IPv6 fails, check "
        "the AAAA record.",
        "RFC 792 / RFC 4443 (destination unreachable)",
        RFC,
    ),
    FindingSpec(
        "connect.failed",
        FAIL,
        "Connection failed",
        "The TCP connection failed for a reason other than refusal, timeout or routing.",
        "Read the error in the message; check proxies and local firewalls.",
        "Advice: connect(2) error codes",
        ADVICE,
    ),
    FindingSpec(
        "connect.some_addresses_failed",
        WARN,
        "Some of the host's addresses do not accept connections",
        "This machine got through on a later address, but an identity provider may pick the "
        "broken one and fail, intermittently or always. Typical of a dead node behind DNS "
        "round-robin, or of an AAAA record on a host without working IPv6.",
        "Repair the failing address, or remove its A/AAAA record from DNS.",
        "Advice: clients try addresses in their own order (RFC 8305 happy eyeballs is not "
        "universal)",
        ADVICE,
    ),
    # --- tls -------------------------------------------------------------------------------------
    FindingSpec(
        "tls.not_https",
        FAIL,
        "Base URL is not HTTPS",
        "SCIM carries a bearer token and personal data; over plain HTTP both travel in clear "
        "text, and identity providers refuse http:// base URLs.",
        "Serve the API over HTTPS and configure the https:// URL. scim-doctor never sends the "
        "token over plain HTTP.",
        "RFC 7644 §7.1 (TLS is required); Okta and Entra ID accept HTTPS only",
        RFC,
    ),
    FindingSpec(
        "tls.cert_expired",
        FAIL,
        "Certificate has expired",
        "Every client refuses an expired certificate; provisioning stops until it is renewed.",
        "Renew the certificate and deploy it (with its intermediate) on every node behind the "
        "host name.",
        "RFC 5280 §4.1.2.5 (validity)",
        RFC,
    ),
    FindingSpec(
        "tls.cert_not_yet_valid",
        FAIL,
        "Certificate is not yet valid",
        "Its validity starts in the future: the server's or this machine's clock is wrong, or a "
        "certificate was deployed too early.",
        "Check the clocks (NTP) of this machine and the server; deploy a certificate that is "
        "valid now.",
        "RFC 5280 §4.1.2.5 (validity)",
        RFC,
    ),
    FindingSpec(
        "tls.hostname_mismatch",
        FAIL,
        "Certificate does not cover the host name",
        "Clients check that the certificate names the host they connect to; a mismatch is "
        "treated like an impostor.",
        "Deploy a certificate whose Subject Alternative Names include this host name, or "
        "configure the base URL with a name the certificate covers.",
        "RFC 6125 §6; RFC 9110 §4.3.4",
        RFC,
    ),
    FindingSpec(
        "tls.untrusted_ca",
        FAIL,
        "Certificate issued by an untrusted authority",
        "The chain ends at a root that is not in the trust store (self-signed, private CA, or a "
        "TLS-inspecting proxy); identity providers refuse it.",
        "Use a certificate from a public CA. If a corporate proxy intercepts TLS, run with "
        "--cacert pointing at its root CA (the IdP itself is not behind that proxy).",
        "RFC 5280 §6 (path validation)",
        RFC,
    ),
    FindingSpec(
        "tls.incomplete_chain",
        FAIL,
        "Server does not send the intermediate certificate",
        "Browsers often fetch a missing intermediate themselves (AIA); API clients, identity "
        "providers included, do not, and fail verification.",
        "Configure the server to send the full chain (leaf + intermediates, often 'fullchain."
        "pem').",
        "RFC 8446 §4.4.2 (the sender's certificate chain); RFC 5280 §4.2.2.1 (AIA)",
        RFC,
    ),
    FindingSpec(
        "tls.protocol_too_old",
        FAIL,
        "Server only offers TLS older than 1.2",
        "TLS 1.0 and 1.1 are deprecated; SCIM requires TLS 1.2 support and Entra ID accepts "
        "TLS 1.2 only.",
        "Enable TLS 1.2 (and 1.3) on the server or load balancer.",
        "RFC 7644 §7.1; RFC 8996 (TLS 1.0 and 1.1 deprecated)",
        RFC,
    ),
    FindingSpec(
        "tls.handshake_timeout",
        FAIL,
        "TLS handshake timed out",
        "The port accepted the TCP connection but never completed a TLS handshake: a hung "
        "server, a proxy that expects something else, or a firewall inspecting traffic.",
        "Check that the port speaks TLS and the server is healthy; try from another network to "
        "rule out an inspecting firewall.",
        "Advice: a silent TLS port hangs naive clients",
        ADVICE,
    ),
    FindingSpec(
        "tls.not_tls",
        FAIL,
        "Port does not speak TLS",
        "The server answered in plain text (usually HTTP) on a port used for HTTPS.",
        "Use the HTTPS port (often 443), or enable TLS on this listener.",
        "RFC 8446 §5 (record layer); RFC 9110 §4.2.2",
        RFC,
    ),
    FindingSpec(
        "tls.handshake_failed",
        FAIL,
        "TLS handshake failed",
        "The TLS handshake failed for a reason other than the certificate.",
        "Read OpenSSL's reason in the message: usually no shared cipher suite, a required "
        "client certificate, or SNI routing on the server.",
        "RFC 8446 §6 (alerts)",
        RFC,
    ),
    FindingSpec(
        "tls.cert_expires_soon",
        WARN,
        "Certificate expires soon",
        "When it expires, provisioning stops without warning.",
        "Renew the certificate now, and automate renewal (ACME) if you can.",
        "Advice: renew well before notAfter",
        ADVICE,
    ),
    FindingSpec(
        "tls.weak_key",
        FAIL,
        "Certificate key is too small",
        "RSA keys under 2048 bits and EC keys under 256 bits are refused by Entra ID and by "
        "modern TLS stacks.",
        "Issue a new certificate with an RSA key of at least 2048 bits or an EC P-256 key.",
        "Entra ID: TLS requirements for SCIM endpoints (RSA >= 2048, ECC >= 256); NIST SP 800-57",
        IDP,
    ),
    # --- redirect ---------------------------------------------------------------------------------
    # --- auth ------------------------------------------------------------------------------------
    FindingSpec(
        "auth.token_malformed",
        FAIL,
        "Token looks mis-pasted",
        "Identity providers send the token exactly as pasted after 'Bearer '; a 'Bearer ' prefix, "
        "quotes, spaces or a line break inside it make every request fail with 401.",
        "Paste only the token itself into the identity provider: no 'Bearer ' prefix, no quotes, "
        "no surrounding whitespace or line breaks.",
        "RFC 6750 §2.1 (b64token syntax of the Authorization header)",
        RFC,
    ),
    FindingSpec(
        "auth.token_expired",
        FAIL,
        "Token has expired",
        "The token is a JWT whose 'exp' lies in the past; the server will reject it.",
        "Generate a new token in the application's SCIM settings and update it in the identity "
        "provider; prefer a long-lived provisioning token if the vendor offers one.",
        "RFC 7519 §4.1.4 (exp)",
        RFC,
    ),
    FindingSpec(
        "auth.token_not_yet_valid",
        FAIL,
        "Token is not yet valid",
        "The token is a JWT whose 'nbf' lies in the future: a clock is wrong, or the token was "
        "issued for later.",
        "Check the clocks (NTP) of the token issuer and of this machine, or issue a new token.",
        "RFC 7519 §4.1.5 (nbf)",
        RFC,
    ),
    FindingSpec(
        "auth.rejected",
        FAIL,
        "Token rejected (401)",
        "The server does not accept this token, so the identity provider cannot provision.",
        "Generate a new SCIM token in the application and paste it into the identity provider; "
        "check it belongs to this tenant and has not been revoked.",
        "RFC 7644 §2 (authentication); RFC 6750 §3.1 (invalid_token)",
        RFC,
    ),
    FindingSpec(
        "auth.forbidden",
        FAIL,
        "Token accepted but access forbidden (403)",
        "The token is known but not allowed to use the SCIM API: SCIM not enabled or not in the "
        "plan, a token of the wrong type, or an IP allowlist that blocks this network.",
        "Enable SCIM provisioning in the application (and check the plan includes it); use a "
        "SCIM provisioning token, not a personal API key; if there is an IP allowlist, add the "
        "identity provider's egress ranges — they differ from your office's addresses.",
        "RFC 7644 §3.12 (403); RFC 6750 §3.1 (insufficient_scope)",
        RFC,
    ),
    FindingSpec(
        "auth.no_token_accepted",
        FAIL,
        "Requests without a token are accepted",
        "Anyone who can reach the endpoint can read (and maybe change) the user directory.",
        "Require a valid bearer token on every SCIM endpoint, and answer 401 without one.",
        "RFC 7644 §2 and §7 (security considerations); Okta SCIM spec test (401 without token)",
        RFC,
    ),
    FindingSpec(
        "auth.bogus_token_accepted",
        FAIL,
        "A random token is accepted",
        "The server does not check the token's value: anyone can provision or read users.",
        "Validate the bearer token's value on every request and answer 401 for unknown tokens.",
        "RFC 6750 §3.1 (invalid_token); RFC 7644 §7",
        RFC,
    ),
    FindingSpec(
        "auth.missing_www_authenticate",
        WARN,
        "401 without a WWW-Authenticate header",
        "HTTP requires the header on 401; without it clients and admins cannot tell what kind of "
        "credentials are expected or why they were refused.",
        'Send `WWW-Authenticate: Bearer realm="..."` (with error="invalid_token" when a '
        "token was sent) on every 401.",
        "RFC 9110 §11.6.1; RFC 6750 §3",
        RFC,
    ),
    # --- negotiation ------------------------------------------------------------------------------
    # --- users ------------------------------------------------------------------------------------
    # --- discovery --------------------------------------------------------------------------------
    # --- errors -----------------------------------------------------------------------------------
    # --- http (cross-cutting) --------------------------------------------------------------------
    FindingSpec(
        "http.timeout",
        FAIL,
        "No complete response in time",
        "Identity providers wait a limited time for each SCIM call, then count it as failed and "
        "retry later; an endpoint this slow makes provisioning stall or fail intermittently.",
        "Find where the time goes (the timings show connect, TLS, first byte): a slow database "
        "query behind the filter, a cold start, or a firewall that drops instead of rejecting. "
        "Raise --timeout only if the server is known to be this slow.",
        "Advice: identity providers time out and retry slow SCIM calls",
        ADVICE,
    ),
    FindingSpec(
        "http.connection_failed",
        FAIL,
        "No usable HTTP response",
        "The request got no complete, valid HTTP answer: the connection was refused or reset, "
        "the TLS handshake failed, the proxy refused the tunnel, or the bytes were not valid "
        "HTTP. The identity provider sees the same and reports a generic connection error.",
        "Follow the message: check the server (or load balancer) logs for the reset, the proxy "
        "for the refused tunnel, the TLS checks for the handshake; a malformed answer usually "
        "comes from a middlebox or a crashed worker.",
        "RFC 9112 (HTTP/1.1 message syntax); advice",
        ADVICE,
    ),
    FindingSpec(
        "http.body_too_large",
        WARN,
        "Response body too large",
        "The answer was larger than --max-body, so it was not read in full and could not be "
        "checked; identity providers page through users and expect bounded pages.",
        "Honour 'count' and page large result sets (startIndex/count), and advertise a "
        "maxResults in ServiceProviderConfig; raise --max-body if such answers are intended.",
        "RFC 7644 §3.4.2.4 (pagination); RFC 7643 §5 (filter.maxResults)",
        RFC,
    ),
    FindingSpec(
        "http.server_error",
        FAIL,
        "Server error (5xx)",
        "The server failed to handle the request; identity providers retry 5xx answers and "
        "eventually mark the operation or the whole integration as failed.",
        "Look in the application's logs for the request at this time; a 502/504 points at the "
        "proxy or load balancer in front of it, a 500 at the application itself.",
        "RFC 9110 §15.6 (5xx); RFC 7644 §3.12",
        RFC,
    ),
    FindingSpec(
        "http.rate_limited",
        WARN,
        "Rate limited (429)",
        "The server refused the request for sending too many; identity providers burst requests "
        "during imports and will see the same, slowing or stalling provisioning.",
        "Raise the limit for the identity provider's client, or send Retry-After so it backs "
        "off for the right time; re-run scim-doctor after the indicated delay.",
        "RFC 6585 §4 (429); RFC 9110 §10.2.3 (Retry-After)",
        RFC,
    ),
    FindingSpec(
        "http.unexpected_status",
        FAIL,
        "Unexpected HTTP status",
        "SCIM fixes the status code of each outcome; an identity provider treats any other code "
        "as a failure, or misreads it (a 200 where 201 is expected, 404 for an empty search).",
        "Return the status RFC 7644 prescribes for this operation (see the message for what was "
        "expected and what came back).",
        "RFC 7644 §3.12 (HTTP status and error response handling)",
        RFC,
    ),
    # --- run -------------------------------------------------------------------------------------
    FindingSpec(
        "run.deadline_exceeded",
        FAIL,
        "Run deadline reached",
        "The whole run has a time budget (--deadline); this check had not finished when it ran "
        "out, so its result is unknown.",
        "Look at the timings of the earlier checks: a slow step usually shows the cause. Raise "
        "--deadline if the server is known to be slow.",
        "Advice: identity providers give up on slow endpoints too",
        ADVICE,
    ),
)

CATALOGUE: dict[str, FindingSpec] = {spec.code: spec for spec in _SPECS}


def make(code: str, message: str, *, remediation: str | None = None) -> Finding:
    """Build a finding from the catalogue: `message` says what was observed, with values.

    `remediation` replaces the catalogue's fix when the observed values make a sharper one.
    """
    spec = CATALOGUE[code]
    return Finding(
        code=spec.code,
        severity=spec.severity,
        message=message,
        remediation=remediation or spec.fix,
        reference=spec.reference,
        reference_kind=spec.reference_kind,
    )
