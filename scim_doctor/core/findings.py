"""The catalogue of finding codes: what each means, why it matters, how to fix it, and its source.

Codes are a public interface (`scim-doctor explain CODE`, the JSON report, docs/findings.md):
never rename one; retire it by leaving it here with a note. A probe raises a finding with
`make(code, message)`, so severity, remediation and reference always come from this one table.
"""

from __future__ import annotations

from scim_doctor.core.finding_spec import Catalogue, FindingSpec
from scim_doctor.core.model import ReferenceKind, RequirementLevel, Scope, Severity

RFC = ReferenceKind.RFC
IDP = ReferenceKind.IDP
ADVICE = ReferenceKind.ADVICE
FAIL = Severity.FAIL
WARN = Severity.WARN
INFO = Severity.INFO
MUST = RequirementLevel.MUST
SHOULD = RequirementLevel.SHOULD
IDP_LEVEL = RequirementLevel.IDP
ADVICE_LEVEL = RequirementLevel.ADVICE
ENTRA, OKTA, ONELOGIN, JUMPCLOUD, GOOGLE = "entra", "okta", "onelogin", "jumpcloud", "google"
ALL = (ENTRA, OKTA, ONELOGIN, JUMPCLOUD, GOOGLE)
"""Every provider: a code every profile's reachability or token rule names."""
THIS_MACHINE = Scope.THIS_MACHINE
"""A fault on the admin's own path: the run fails, the providers read not_judged_here."""


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
        ADVICE_LEVEL,
    ),
    FindingSpec(
        "url.query_or_fragment",
        WARN,
        "Base URL carries a query string or fragment",
        "Clients build endpoint URLs by appending paths; a query or fragment in the base ends up "
        "in the middle of every URL, or is dropped.",
        "Remove everything from '?' or '#' on. If the query is a tenant switch, ask the vendor "
        "for a path-based tenant URL.",
        "RFC 7644 §1.3 (the Base URI MUST NOT contain a query string) and §3.2; RFC 3986 §3",
        RFC,
        MUST,
    ),
    FindingSpec(
        "url.entra_feature_flag",
        INFO,
        "Base URL carries Entra ID's aadOptscim062020 flag",
        "`?aadOptscim062020` in Entra ID's Tenant URL is on purpose: it switches Entra's SCIM "
        "client to RFC-compliant behaviour (PATCH op names and booleans as RFC 7644 writes them). "
        "Entra keeps it in every request it sends; the server sees it as a query parameter. "
        "Other identity providers have no such flag and need the URL without it.",
        "Keep the flag in Entra ID's Tenant URL; give every other provider the base URL without "
        "it. scim-doctor checked the URL without it.",
        "Microsoft Learn: Known issues and resolutions with SCIM 2.0 protocol compliance of the "
        "Microsoft Entra user provisioning service (the aadOptscim062020 flag)",
        IDP,
        IDP_LEVEL,
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
        IDP_LEVEL,
        providers=(OKTA,),
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
        ADVICE_LEVEL,
    ),
    # --- proxy: this machine's way out --------------------------------------------------------
    FindingSpec(
        "proxy.setting_invalid",
        FAIL,
        "Proxy setting cannot be used",
        "The proxy this machine is told to use (--proxy, a PAC file, HTTPS_PROXY / ALL_PROXY) "
        "is not a usable URL, or the PAC file fails: no connection can be made as configured. "
        "The identity provider does not use this setting.",
        "Fix the setting the message names: a proxy URL is http://HOST:PORT (credentials as "
        "http://USER:PASSWORD@HOST:PORT), a PAC file must define FindProxyForURL; or unset it.",
        "RFC 3986 §3 (URI syntax); advice: curl's proxy environment variables",
        ADVICE,
        ADVICE_LEVEL,
        scope=THIS_MACHINE,
    ),
    FindingSpec(
        "proxy.dns_failed",
        FAIL,
        "Proxy host name does not resolve",
        "The proxy's own name does not resolve on this machine, so nothing can go through it. "
        "Company proxies often resolve only on the company network or VPN. The identity "
        "provider does not use this proxy: the server itself may be fine.",
        "Check the proxy's name in the setting the message names, and connect to the VPN; or "
        "unset the setting if this network needs no proxy.",
        "RFC 9110 §9.3.6 (CONNECT); advice",
        ADVICE,
        ADVICE_LEVEL,
        scope=THIS_MACHINE,
    ),
    FindingSpec(
        "proxy.unreachable",
        FAIL,
        "Proxy cannot be reached",
        "The proxy refused the TCP connection or there is no route to it: every request of "
        "this run would fail before reaching the server. The identity provider does not use "
        "this proxy: the server itself may be fine.",
        "Check the proxy setting the message names: is the proxy running, is the port right, "
        "are you on the network (VPN) where it lives? Fix or unset the setting, or choose "
        "another proxy with --proxy.",
        "RFC 9293 §3.10.7.1 (RST on a closed port); advice",
        ADVICE,
        ADVICE_LEVEL,
        scope=THIS_MACHINE,
    ),
    FindingSpec(
        "proxy.timeout",
        FAIL,
        "Proxy does not answer",
        "The proxy did not accept the connection, or did not answer the CONNECT request, in "
        "time: a firewall drops the packets to it, or it hangs while trying to reach the host. "
        "The identity provider does not use this proxy: the server itself may be fine.",
        "Check that the proxy is reachable from this network; if it accepts connections but "
        "stays silent, ask the network team whether it can reach the host at all.",
        "RFC 9110 §9.3.6 (CONNECT); advice",
        ADVICE,
        ADVICE_LEVEL,
        scope=THIS_MACHINE,
    ),
    FindingSpec(
        "proxy.auth_required",
        FAIL,
        "Proxy requires authentication (407)",
        "The proxy answered 407 Proxy Authentication Required: without credentials it lets "
        "nothing through. Its Proxy-Authenticate header names the schemes it accepts (Basic, "
        "NTLM, Negotiate). The identity provider does not use this proxy: the server itself "
        "may be fine.",
        "Give the proxy's credentials in the proxy URL of the environment, not on the command "
        "line: HTTPS_PROXY with USER:PASSWORD@ before the proxy's host (percent-encode @ : / "
        "%); they go to the proxy only, as Basic, and are never printed. A proxy that accepts "
        "only NTLM or Negotiate needs a local forwarder that speaks it (Px, Cntlm).",
        "RFC 9110 §15.5.8 (407), §11.7.1 (Proxy-Authenticate), RFC 7617 (Basic)",
        RFC,
        ADVICE_LEVEL,
        scope=THIS_MACHINE,
    ),
    FindingSpec(
        "proxy.connect_refused",
        FAIL,
        "Proxy refuses the tunnel to the host",
        "The proxy answered the CONNECT itself with a refusal (403 is its access policy): it "
        "does not let this machine reach the SCIM host. The identity provider does not use "
        "this proxy: the server itself may be fine.",
        "Ask the network team to allow HTTPS to this host and port through the proxy (quote "
        "the proxy's page title and error id from the message), or run from a network without "
        "this proxy; if the host should not go through the proxy, add it to NO_PROXY.",
        "RFC 9110 §9.3.6 (CONNECT), §15.5.4 (403)",
        RFC,
        ADVICE_LEVEL,
        scope=THIS_MACHINE,
    ),
    FindingSpec(
        "proxy.upstream_failed",
        FAIL,
        "Proxy could not reach the host",
        "The proxy accepted the CONNECT but could not reach the host itself (502/503/504, or a "
        "500 when it cannot resolve the name): the server may be down, or the proxy's own "
        "egress or DNS may block it. From behind this proxy the two cannot be told apart.",
        "Read the proxy's error in the message (squid's X-Squid-Error: ERR_DNS_FAIL, "
        "ERR_CONNECT_FAIL ...). Check from another network, or with the server's own monitoring, "
        "whether the server answers; if it does, the proxy's egress blocks it.",
        "RFC 9110 §15.6.3 (502), §15.6.5 (504)",
        RFC,
        ADVICE_LEVEL,
        scope=THIS_MACHINE,
    ),
    FindingSpec(
        "proxy.not_a_proxy",
        FAIL,
        "Proxy does not answer as an HTTP proxy",
        "The proxy's address accepted the connection but answered CONNECT with something that "
        "is not HTTP, or closed it: a wrong port, a SOCKS proxy given as http://, or a TLS "
        "(https://) proxy given as http://.",
        "Check the proxy URL's scheme and port (http:// for an ordinary proxy, socks5:// for a "
        "SOCKS one).",
        "RFC 9110 §9.3.6 (CONNECT); RFC 9112 §4 (status line)",
        RFC,
        ADVICE_LEVEL,
        scope=THIS_MACHINE,
    ),
    FindingSpec(
        "proxy.bypassed",
        FAIL,
        "NO_PROXY sends the host past the proxy, and direct fails",
        "A NO_PROXY / --noproxy entry (or the PAC file's DIRECT) makes this machine connect to "
        "the host directly, which fails here, while the proxy it bypasses does reach the host. "
        "The identity provider does not use this machine's settings: the server itself may be "
        "fine.",
        "Remove the entry the message names from NO_PROXY (or --noproxy) for this host, or run "
        "with --noproxy '' to ignore NO_PROXY for this run.",
        "Advice: curl's NO_PROXY / --noproxy rules",
        ADVICE,
        ADVICE_LEVEL,
        scope=THIS_MACHINE,
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
        ADVICE_LEVEL,
        providers=ALL,
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
        ADVICE_LEVEL,
        providers=ALL,
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
        ADVICE_LEVEL,
        providers=ALL,
    ),
    FindingSpec(
        "dns.resolution_failed",
        FAIL,
        "Name resolution failed",
        "The system resolver failed for a reason of its own, not because the name does not "
        "exist: until it works, this machine cannot tell whether the endpoint is reachable.",
        "Check this machine's resolver configuration: the hosts: line of /etc/nsswitch.conf "
        "(a listed service that is not installed makes glibc fail with EBUSY), /etc/resolv.conf, "
        "VPN and proxy settings; on 'Too many open files' (EMFILE) raise the limit (ulimit -n). "
        "Then retry.",
        "Advice: getaddrinfo(3) error codes",
        ADVICE,
        ADVICE_LEVEL,
        scope=THIS_MACHINE,
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
        ADVICE_LEVEL,
        providers=ALL,
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
        ADVICE_LEVEL,
        providers=ALL,
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
        ADVICE_LEVEL,
        providers=ALL,
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
        ADVICE_LEVEL,
        providers=ALL,
    ),
    FindingSpec(
        "connect.failed",
        FAIL,
        "Connection failed",
        "The TCP connection failed for a reason other than refusal, timeout or routing.",
        "Read the error in the message; check proxies and local firewalls.",
        "Advice: connect(2) error codes",
        ADVICE,
        ADVICE_LEVEL,
        providers=ALL,
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
        ADVICE_LEVEL,
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
        "RFC 7644 §7.2 (TLS is required); Okta and Entra ID accept HTTPS only",
        RFC,
        MUST,
        providers=ALL,
    ),
    FindingSpec(
        "tls.cert_expired",
        FAIL,
        "Certificate has expired",
        "Every client refuses an expired certificate; provisioning stops until it is renewed.",
        "Renew the certificate and deploy it (with its intermediate) on every node behind the "
        "host name.",
        "RFC 5280 §4.1.2.5 (validity) and §6.1.3 (path validation: the validity period MUST "
        "include the current time)",
        RFC,
        MUST,
        providers=ALL,
    ),
    FindingSpec(
        "tls.cert_not_yet_valid",
        FAIL,
        "Certificate is not yet valid",
        "Its validity starts in the future: the server's or this machine's clock is wrong, or a "
        "certificate was deployed too early.",
        "Check the clocks (NTP) of this machine and the server; deploy a certificate that is "
        "valid now.",
        "RFC 5280 §4.1.2.5 (validity) and §6.1.3 (path validation: the validity period MUST "
        "include the current time)",
        RFC,
        MUST,
        providers=ALL,
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
        MUST,
        providers=ALL,
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
        MUST,
        providers=ALL,
    ),
    FindingSpec(
        "tls.intercepted",
        FAIL,
        "TLS inspection on this machine's network hides the server's certificate",
        "A TLS-inspecting proxy (a product this run recognises by its CA) answers for the server "
        "and presents a certificate of its own, which this machine does not trust. The identity "
        "provider calls from the internet, not through this proxy, and sees the server's real "
        "certificate: the server itself may be fine, but nothing past TLS can be checked from "
        "here.",
        "Run scim-doctor with --trust system (the operating system's store, where the company "
        "installs the inspection CA: the report says whether it trusts the chain) or with "
        "--cacert <the inspection product's root CA certificate> (your network team has it), "
        "or run it from a network without TLS inspection (a CI runner, a cloud shell).",
        "RFC 5280 §6 (path validation); field report: britive/python-cli#213",
        ADVICE,
        ADVICE_LEVEL,
        scope=THIS_MACHINE,
    ),
    FindingSpec(
        "tls.intercepted_trusted",
        INFO,
        "TLS inspection on this machine's network, trusted by the store in use",
        "A TLS-inspecting proxy answers for the server with a certificate of its own CA, which "
        "the trust store in use holds (--trust system, or --cacert with the company's CA): the "
        "later checks ran through the proxy, but the certificate judged is the proxy's. The "
        "server's own certificate (expiry, chain, names) was not seen; the identity provider "
        "sees that one.",
        "To judge the server's certificate as the identity provider sees it, run scim-doctor "
        "from a network without TLS inspection (a CI runner, a cloud shell).",
        "Advice: TLS inspection re-signs every site with the company's CA",
        ADVICE,
        ADVICE_LEVEL,
        scope=THIS_MACHINE,
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
        SHOULD,
        providers=ALL,
    ),
    FindingSpec(
        "tls.protocol_too_old",
        FAIL,
        "Server only offers TLS older than 1.2",
        "TLS 1.0 and 1.1 are deprecated; SCIM requires TLS 1.2 support and Entra ID accepts "
        "TLS 1.2 only.",
        "Enable TLS 1.2 (and 1.3) on the server or load balancer.",
        "RFC 7644 §7.2; RFC 8996 (TLS 1.0 and 1.1 deprecated)",
        RFC,
        MUST,
        providers=ALL,
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
        ADVICE_LEVEL,
        providers=ALL,
    ),
    FindingSpec(
        "tls.not_tls",
        FAIL,
        "Port does not speak TLS",
        "The server answered in plain text (usually HTTP) on a port used for HTTPS.",
        "Use the HTTPS port (often 443), or enable TLS on this listener.",
        "RFC 8446 §5 (record layer); RFC 9110 §4.2.2",
        RFC,
        MUST,
        providers=ALL,
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
        ADVICE_LEVEL,
        providers=ALL,
    ),
    FindingSpec(
        "tls.client_cert_required",
        FAIL,
        "The server requires a client certificate",
        "The server (or the gateway in front of it) asks for a client certificate (mutual TLS) "
        "and refuses a client without one: in TLS 1.2 the handshake fails, in TLS 1.3 the "
        "connection is closed with a certificate_required alert on the first read, which looks "
        "like 'connection reset'; nginx's ssl_verify_client on completes the handshake and "
        "answers every request with a 400 page 'No required SSL certificate was sent', which "
        "looks like a broken API. The identity providers' SCIM clients document no setting to "
        "present a client certificate, so every call they make is refused.",
        "Exempt the SCIM path (or the identity provider's published source addresses) from "
        "client-certificate authentication on the gateway, and authenticate the provider with "
        "its bearer token. To check the server itself, run scim-doctor with --cert and --key.",
        "RFC 8446 §4.3.2 (CertificateRequest) and §6.2 (certificate_required alert); RFC 5246 "
        "§7.4.4; nginx ssl_verify_client (error 496, answered as 400); the providers' SCIM "
        "settings offer a bearer token or Basic credentials only",
        IDP,
        IDP_LEVEL,
        providers=ALL,
    ),
    FindingSpec(
        "tls.client_cert_rejected",
        FAIL,
        "The server refused the client certificate given with --cert",
        "The server asked for a client certificate and refused the one this run presented "
        "(its alert says why: unknown CA, expired, bad certificate, access denied; nginx "
        "completes the handshake and answers 400 'The SSL certificate error'). Nothing past "
        "TLS can be checked with it.",
        "Use a certificate issued by one of the CAs the server names (see the message), valid "
        "now, with the client-authentication extended key usage; give its intermediates in the "
        "--cert file after it.",
        "RFC 8446 §4.4.2.4 (receiving a Certificate message) and §6.2 (alerts)",
        ADVICE,
        ADVICE_LEVEL,
        scope=THIS_MACHINE,
    ),
    FindingSpec(
        "tls.client_cert_expired",
        FAIL,
        "The client certificate given with --cert is not valid now",
        "Its validity period does not include the current time: a server that checks client "
        "certificates refuses it.",
        "Renew the client certificate, or check this machine's clock (NTP).",
        "RFC 5280 §4.1.2.5 (validity)",
        ADVICE,
        ADVICE_LEVEL,
        scope=THIS_MACHINE,
    ),
    FindingSpec(
        "tls.client_cert_key_mismatch",
        FAIL,
        "The key given with --key does not belong to --cert",
        "The private key is not the one of the certificate's public key, so the certificate "
        "cannot be presented: the run went on without a client certificate.",
        "Give the key that was generated with the certificate's signing request (compare the "
        "public keys: openssl x509 -noout -pubkey -in cert.pem; openssl pkey -pubout -in "
        "key.pem).",
        "RFC 8446 §4.4.3 (CertificateVerify: the client proves it holds the key)",
        ADVICE,
        ADVICE_LEVEL,
        scope=THIS_MACHINE,
    ),
    FindingSpec(
        "tls.client_cert_accepted",
        INFO,
        "The server requires a client certificate and accepted the one given",
        "This run presented --cert and the server accepted it; without one, the server refuses "
        "the handshake. The identity providers' SCIM clients document no setting to present a "
        "client certificate: their calls succeed only if they reach the server by a path that "
        "does not require one.",
        "Make sure the identity provider's path (its published source addresses, or the SCIM "
        "path) does not require a client certificate, or provision through an agent that can "
        "present one.",
        "RFC 8446 §4.3.2 (CertificateRequest)",
        ADVICE,
        ADVICE_LEVEL,
    ),
    FindingSpec(
        "tls.no_subject_alt_name",
        WARN,
        "Certificate names its host only in the Common Name",
        "The certificate has no subjectAltName extension. Clients that match subjectAltName only "
        "(browsers since Chrome 58, Go since 1.15, RFC 9525) refuse it; Python, curl and some Java "
        "and .NET clients still fall back to the Common Name. Which one each identity provider "
        "uses is not documented, so the connection may break with a client update.",
        "Reissue the certificate with the host name in a subjectAltName dNSName entry (public CAs "
        "do this by default; check the internal CA's template or the CSR's extensions).",
        "RFC 9110 §4.3.4 (a reference identity of type CN-ID is not used by HTTPS clients); "
        "CA/Browser Forum Baseline Requirements (subjectAltName required); Chrome 58 and Go 1.15 "
        "release notes",
        ADVICE,
        ADVICE_LEVEL,
    ),
    FindingSpec(
        "tls.node_differs",
        FAIL,
        "A node behind the host name fails the TLS handshake the others complete",
        "The host name has several addresses (DNS round robin or a load balancer's nodes) and "
        "not all of them serve the same working TLS: one has an expired or different "
        "certificate, speaks only TLS older than 1.2, or fails the handshake. Each client "
        "connection picks one address, so a share of the identity provider's calls fail, "
        "intermittently.",
        "Deploy the same certificate and TLS settings on every node (the message names the "
        "address that differs), or take that node out of DNS or the pool.",
        "RFC 5280 §6.1.3 (path validation); field experience with DNS round robin and load "
        "balancers",
        ADVICE,
        ADVICE_LEVEL,
        providers=ALL,
    ),
    FindingSpec(
        "tls.node_cert_differs",
        INFO,
        "Nodes behind the host name serve different valid certificates",
        "The host name has several addresses and they do not all serve the same certificate, "
        "though each verifies: typically a renewal rolled out to some nodes only, or nodes "
        "renewed on their own schedules. Nothing fails today; the node whose certificate "
        "expires first decides when a share of the calls start failing (reported as "
        "tls.cert_expires_soon when it is close), and a fix deployed to one node may be missing "
        "on another.",
        "Deploy one certificate to every node from one place (the load balancer, a shared "
        "secret store, one ACME client), so that they are renewed together.",
        "Field experience with DNS round robin and load-balancer pools; RFC 5280 §4.1.2.5 "
        "(validity)",
        ADVICE,
        ADVICE_LEVEL,
    ),
    FindingSpec(
        "tls.node_protocol_differs",
        INFO,
        "Nodes behind the host name negotiate different TLS versions or ALPN protocols",
        "The host name has several addresses and they do not all complete the handshake alike: "
        "one negotiates TLS 1.2 where the others negotiate TLS 1.3, or another ALPN protocol "
        "(HTTP/2 on some, HTTP/1.1 on others). Each is TLS 1.2 or later, which every identity "
        "provider speaks, so nothing fails today; but the nodes are configured apart, so a "
        "setting tested on one node (protocol versions, cipher suites, HTTP/2) may be missing "
        "on another, and a connection behaves as the node it lands on.",
        "Apply the same TLS settings (protocol versions, cipher suites, ALPN) to every node from "
        "one place: the load balancer's listener or one shared configuration. The message names "
        "the address that differs.",
        "RFC 8446 §4.2.1 (supported_versions); RFC 7301 §3 (ALPN); field experience with "
        "load-balancer pools",
        ADVICE,
        ADVICE_LEVEL,
    ),
    FindingSpec(
        "tls.cert_expires_soon",
        WARN,
        "Certificate expires soon",
        "When it expires, provisioning stops without warning.",
        "Renew the certificate now, and automate renewal (ACME) if you can.",
        "Advice: renew well before notAfter",
        ADVICE,
        ADVICE_LEVEL,
    ),
    FindingSpec(
        "tls.sha1_signature",
        FAIL,
        "A certificate in the chain is signed with SHA-1",
        "SHA-1 signatures can be forged (chosen-prefix collisions, 2020), so current TLS stacks "
        "refuse them: OpenSSL 3 at security level 1 and above (Python's ssl, httpx, curl; this "
        "run's own verification fails on it), Go since 1.18, browsers since 2017, Java for chains "
        "to its bundled roots. No identity provider documents its own rule, but none of the "
        "stacks their clients are known to run on accepts it, and public CAs may not issue it.",
        "Reissue the named certificate (and any intermediate the message names) signed with "
        "SHA-256 or better: for a private CA, set its signing digest (openssl ca -md sha256, the "
        "CA template's hash algorithm) and renew the CA certificate too if it is the one signed "
        "with SHA-1.",
        "CA/Browser Forum Baseline Requirements §7.1.3 (SHA-1 not allowed for subscriber "
        "certificates since 2016); OpenSSL 3 SSL_CTX_set_security_level(3) (SHA-1 signatures "
        "forbidden at level 1); Go 1.18 release notes (crypto/x509 rejects SHA-1 signatures)",
        ADVICE,
        ADVICE_LEVEL,
        providers=ALL,
    ),
    FindingSpec(
        "tls.must_staple_not_stapled",
        WARN,
        "Certificate demands OCSP stapling (must-staple) and the server staples none",
        "The certificate carries the TLS Feature extension with status_request (RFC 7633), a "
        "promise that every handshake comes with a stapled OCSP response; the server sent none. "
        "Clients that enforce the promise refuse the connection (Firefox), the others carry on. "
        "Python, curl, Go, Java and .NET clients do not enforce it by default and no identity "
        "provider documents enforcing it, so provisioning works today and breaks for any client "
        "that starts to.",
        "Turn on OCSP stapling (nginx: ssl_stapling on; ssl_stapling_verify on; with "
        "ssl_trusted_certificate and a resolver, or ssl_stapling_file; Apache: SSLUseStapling on; "
        "HAProxy: an .ocsp file beside the certificate), make sure the server can reach the CA's "
        "OCSP responder, or reissue the certificate without the must-staple extension.",
        "RFC 7633 (the TLS Feature extension: the server is to provide the features listed, "
        "a client may refuse the connection without them; section not re-checked); RFC 6066 §8 "
        "(status_request, CertificateStatus); Firefox security.ssl.enable_ocsp_must_staple",
        RFC,
        ADVICE_LEVEL,
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
        IDP_LEVEL,
        providers=ALL,
    ),
    # --- redirect ---------------------------------------------------------------------------------
    FindingSpec(
        "redirect.http_not_redirected",
        FAIL,
        "Plain HTTP answers the API in clear text",
        "The http:// counterpart of the base URL answers the SCIM path itself instead of "
        "redirecting to https. An identity provider configured with http:// by mistake sends its "
        "bearer token and user data in clear text and gets answers, so nobody notices.",
        "Make the plain-HTTP listener answer every request with a 308 to the same URL over https "
        "(nginx: `return 308 https://$host$request_uri;`), or close the port; never route plain "
        "HTTP to the SCIM application.",
        "RFC 7644 §7.2 (TLS required); RFC 6750 §5.3 (clients MUST use TLS with bearer tokens)",
        RFC,
        MUST,
    ),
    FindingSpec(
        "redirect.method_changing_status",
        WARN,
        "Redirect with a status that turns POST into GET (301/302/303)",
        "After a 301 or 302 many clients (curl by default, browsers, several HTTP libraries) "
        "repeat a POST as a GET, and a 303 always means GET: a create or a PATCH sent to this "
        "URL arrives as a GET without its body. SCIM lists only 307 and 308, which keep the "
        "method and the body.",
        "Use 308 (permanent) or 307 (temporary) for this redirect, e.g. nginx "
        "`return 308 https://$host$request_uri;`, Apache `Redirect 308 / https://HOST/`.",
        "Advice: RFC 9110 §15.4.2-§15.4.4 (301/302/303 may or must become GET) and §15.4.8-"
        "§15.4.9 (307/308 keep the method); RFC 7644 §3.12 lists only 307/308; curl --post301 / "
        "--post302 / --post303 (curl turns POST into GET by default)",
        ADVICE,
        ADVICE_LEVEL,
    ),
    FindingSpec(
        "redirect.http_port_changes_method",
        INFO,
        "Plain HTTP upgrades to https with a status that turns POST into GET",
        "The base URL is https://, so no identity provider configured with it ever sends this "
        "request. Only one configured with http:// by mistake would: its first POST would "
        "reach the API as a GET without its body (after a 301 or 302) and its token would "
        "cross the network in clear text first. A risk that needs another mistake first.",
        "Redirect plain HTTP with 308 (`return 308 https://$host$request_uri;`), or close the "
        "port; and configure the https:// base URL in every identity provider.",
        "Advice: RFC 9110 §15.4.2-§15.4.3 (301/302 may become GET) and §15.4.9 (308 keeps the "
        "method); RFC 7644 §7 (SCIM requires TLS)",
        ADVICE,
        ADVICE_LEVEL,
    ),
    FindingSpec(
        "redirect.base_url_no_root",
        INFO,
        "The bare base URL is not a SCIM resource (no fault)",
        "The service root answers 2xx, 404, 405 or 501, perhaps after a same-host "
        "trailing-slash redirect (nginx sends one for any `location /x/`): RFC 7644 defines no "
        "resource at the base URL and no identity provider needs one — they call /Users, "
        "/Groups and the discovery endpoints, judged on their own. OneLogin's Enable connects "
        "to the base URL, but what it sends is not documented.",
        "Nothing to fix for SCIM. If OneLogin will not enable the app, have the base URL answer "
        "200 (for example a ServiceProviderConfig or an empty JSON object).",
        "RFC 7644 §3.2 (endpoints are relative to the base URI; none is defined at the root); "
        "OneLogin Developers: SCIM — Step 4 (enabling connects to the base URL)",
        RFC,
        SHOULD,
    ),
    FindingSpec(
        "redirect.base_url_answer",
        WARN,
        "The bare base URL does not answer as a SCIM service root",
        'Of the identity providers, only OneLogin requests the base URL itself: its "Enable" '
        "makes an initial connection to it (what it sends is not documented). Every other "
        "provider appends /Users, /Groups, ... and never sees this answer; RFC 7644 defines no "
        "resource at the service root.",
        "If OneLogin is in use and refuses to enable the app, make the base URL answer 200 "
        "without a sign-in page, another host or a server error in the way (a trailing-slash "
        "rewrite or a 404/501 for the bare path is reported apart, as "
        "redirect.base_url_no_root, and is no fault).",
        "OneLogin Developers: SCIM — Step 4. Test Your SCIM Implementation (enabling makes an "
        "initial connection to the SCIM base URL); RFC 7644 §3.2 (endpoints are relative to "
        "the base URI)",
        IDP,
        IDP_LEVEL,
    ),
    FindingSpec(
        "redirect.http_redirects_elsewhere",
        INFO,
        "Plain HTTP redirects somewhere other than the https base URL",
        "The http:// counterpart of the base URL redirects to another host, or drops the path. "
        "A client configured with http:// by mistake ends up at another URL (and drops its "
        "Authorization header if the host changes) instead of at the SCIM API.",
        "Redirect plain HTTP to the same host and path over https "
        "(`return 308 https://$host$request_uri;`), or close the port.",
        "Advice: RFC 9110 §15.4 (redirection); clients drop Authorization across origins",
        ADVICE,
        ADVICE_LEVEL,
    ),
    FindingSpec(
        "redirect.downgrade",
        FAIL,
        "Redirect from https to plain http",
        "A hop of the redirect chain leaves TLS: clients that follow it send the request and its "
        "data in clear text (some keep the Authorization header on the same host), careful "
        "clients refuse it, and provisioning fails or leaks.",
        "Find what builds the http:// Location: usually the application behind a TLS-"
        "terminating proxy that ignores X-Forwarded-Proto (nginx `proxy_set_header "
        "X-Forwarded-Proto $scheme;`, Django SECURE_PROXY_SSL_HEADER, Spring "
        "server.forward-headers-strategy). Make it redirect to https, or not at all.",
        "RFC 7644 §7.2 (TLS required); RFC 6750 §5.3; RFC 9110 §15.4",
        RFC,
        MUST,
        providers=ALL,
    ),
    FindingSpec(
        "redirect.cross_host",
        FAIL,
        "Base URL redirects to another host",
        "The base URL sends clients to another host or port. Clients drop the Authorization "
        "header when a redirect changes origin (httpx, curl without --location-trusted, the "
        "Fetch standard), and identity providers that do not follow redirects see a 3xx: either "
        "way no call reaches the API with the token. Failed rather than warned: no compliant "
        "client gets through, and the fix is a one-line change in the identity provider.",
        "Configure the URL the chain ends at as the base URL (see the message).",
        "Advice: RFC 9110 §15.4; RFC 7644 §3.12 (308: use the new URI as the permanent "
        "reference); curl --location-trusted; httpx and Fetch strip Authorization across origins",
        ADVICE,
        ADVICE_LEVEL,
        providers=ALL,
    ),
    FindingSpec(
        "redirect.loop",
        FAIL,
        "Redirect loop",
        "The chain revisits a URL or is still redirecting after 10 requests; every client gives "
        "up without reaching the API.",
        "Usually two layers disagree: a proxy adding and the application removing a trailing "
        "slash, or an application behind a TLS-terminating proxy that redirects to https forever "
        "because it sees http. Make exactly one layer own each redirect.",
        "RFC 9110 §15.4 (a client SHOULD detect and intervene in cyclical redirections)",
        RFC,
        SHOULD,
        providers=ALL,
    ),
    FindingSpec(
        "redirect.to_login_page",
        FAIL,
        "Redirected to a sign-in page",
        "The SCIM URL sends API clients to an interactive login (an SSO gateway or the web "
        "application's own login): the identity provider gets HTML instead of SCIM JSON and "
        "reports a parse error or a meaningless success.",
        "Exclude the SCIM path from the web sign-in layer (reverse-proxy auth, Cloudflare Access "
        "or IAP policy, application middleware) so that the bearer token alone protects it.",
        "Advice: SCIM paths answered with a login page (label-studio#3487)",
        ADVICE,
        ADVICE_LEVEL,
        providers=(OKTA,),
    ),
    FindingSpec(
        "redirect.trailing_slash",
        WARN,
        "URL redirects to add a trailing slash",
        "The URL answers only after a redirect to the same path with '/' appended (directory "
        "handling in nginx or Apache, Django APPEND_SLASH). Identity providers that do not follow "
        "redirects fail, and those that do lose POST bodies after a 301 or 302.",
        "Serve the URL without the slash directly (nginx `location = /scim/v2`, APPEND_SLASH "
        "off for the SCIM routes) and keep configuring the base URL without the slash.",
        "Advice: RFC 7644 §3.2 endpoint URLs have no trailing slash; IdPs append '/Users' "
        "themselves",
        ADVICE,
        ADVICE_LEVEL,
    ),
    FindingSpec(
        "redirect.path_moved",
        WARN,
        "Base URL redirects to another path",
        "The base URL redirects to another path on the same host. It works only for clients "
        "that follow redirects (and keep POST bodies, which needs 307/308), and every call pays "
        "an extra round trip.",
        "Configure the URL the chain ends at as the base URL (see the message).",
        "RFC 7644 §3.12 (308: the client SHOULD use the new URI as the permanent reference)",
        RFC,
        SHOULD,
        providers=ALL,
    ),
    # --- auth ------------------------------------------------------------------------------------
    FindingSpec(
        "auth.endpoint_not_found",
        FAIL,
        "/Users not found (404)",
        "GET /Users is the first call identity providers make (Okta's and Google's probe, Entra "
        "ID's test connection); a 404 there means no SCIM API is served at this base URL, "
        "usually a wrong path (/scim instead of /scim/v2, a missing tenant segment), so every "
        "provisioning call fails the same way.",
        "Copy the SCIM base URL exactly as the application documents it (tenant and version "
        "segments included) and re-run scim-doctor with it; if the URL is right, check that SCIM "
        "is enabled, since some applications only add the route then.",
        "RFC 7644 §3.2 (endpoints under the base URI); field reports github/docs#3165, "
        "snipe-it#11913",
        RFC,
        SHOULD,
        providers=ALL,
    ),
    FindingSpec(
        "auth.base_path_elsewhere",
        INFO,
        "A SCIM API answers under another base path on the same host",
        "/Users was not found under the base URL given, but one of the usual base paths on the "
        "same scheme, host and port (with or without /v2, /scim/v2, /api/scim/v2, the path "
        "minus its last segment) answers /ServiceProviderConfig as a SCIM server does.",
        "Use the base URL the message names in the identity provider and re-run scim-doctor "
        "with it.",
        "RFC 7644 §3.2 (endpoints under the base URI) and §4 (/ServiceProviderConfig); field "
        "reports github/docs#3165, snipe-it#11913",
        ADVICE,
        ADVICE_LEVEL,
    ),
    FindingSpec(
        "auth.node_differs",
        FAIL,
        "A node behind the host name answers the token differently",
        "The host name has several addresses, and GET /Users?count=1 with the token gets another "
        "status from one of them than from the first: a stale or misconfigured node, or one "
        "without the API. Each client connection picks one address, so a share of the identity "
        "provider's calls fail, intermittently.",
        "Deploy the same version and configuration on every node (the message names the address "
        "that differs), or take that node out of DNS or the pool.",
        "Field experience with DNS round robin and load balancers (one stale node fails a "
        "share of the calls)",
        ADVICE,
        ADVICE_LEVEL,
        providers=ALL,
    ),
    FindingSpec(
        "auth.sso_login_page",
        FAIL,
        "SCIM path answered by a sign-in page",
        "The request reached a single-sign-on front end or the web application's login instead "
        "of the SCIM API: the identity provider gets HTML or a redirect where it expects SCIM "
        "JSON, and reports a parse or authentication error.",
        "Exempt the SCIM path from the SSO / web-login layer (reverse proxy, identity-aware "
        "proxy, application middleware) so it is authenticated by the bearer token alone and "
        "answers 401, not a login page, without one.",
        "RFC 7644 §3.8 (servers MUST return JSON-structured responses), §3.1 and §8.1 (SCIM "
        "JSON responses); field report label-studio#3487",
        RFC,
        MUST,
        providers=ALL,
    ),
    FindingSpec(
        "auth.invalid_credentials_not_401",
        WARN,
        "Missing or invalid credentials not answered with 401",
        "A request without valid credentials should get 401 with a challenge; a 403, a "
        "redirect to a login page, a 404 or a 400 makes identity providers and admins misread "
        'the cause ("forbidden" or "not found" for what is a missing token), and fails '
        "Okta's SCIM spec test.",
        "Answer every request that lacks a valid bearer token with 401 and "
        "`WWW-Authenticate: Bearer ...`; keep 403 for valid tokens without permission, and keep "
        "browser login redirects away from the SCIM path.",
        "RFC 9110 §15.5.2 (401) and §15.5.4 (403); RFC 6750 §3.1; Okta SCIM 2.0 Spec Test "
        "(Okta-SCIM-20-SPEC-Test.json)",
        RFC,
        SHOULD,
        providers=(OKTA,),
    ),
    FindingSpec(
        "auth.401_not_scim_error",
        WARN,
        "401 without a SCIM Error body",
        "Every SCIM error, 401 included, is a SCIM Error with the Error URN in `schemas` and "
        "`status` as a JSON string; Okta's spec test sends `Authorization: non-token` and checks "
        'for `"status": "401"`, and identity providers show the `detail` to admins, which a '
        "framework's default 401 page does not have.",
        "Answer authentication failures from the SCIM layer, not a proxy or framework default: "
        '`{"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": "401", '
        '"detail": "..."}` as application/scim+json.',
        "RFC 7644 §3.12; Okta SCIM 2.0 Spec Test (Okta-SCIM-20-SPEC-Test.json)",
        RFC,
        MUST,
        providers=(OKTA,),
    ),
    FindingSpec(
        "auth.token_malformed_accepted",
        WARN,
        "Token looks mis-pasted, but was accepted",
        "This server tolerates the stray characters (it trims or ignores them), so the request "
        "passed; the identity provider's copy may be pasted differently, and a stricter server "
        "or proxy in front would refuse it.",
        "Store and paste the token clean: no 'Bearer ' prefix, quotes, spaces or line breaks.",
        "RFC 6750 §2.1 (b64token syntax of the Authorization header)",
        RFC,
        ADVICE_LEVEL,
    ),
    FindingSpec(
        "auth.token_dates_ignored",
        WARN,
        "JWT outside its validity window was accepted",
        "By this machine's clock the token's exp has passed or its nbf lies ahead, yet the "
        "server accepted it: either the server does not check the validity dates (an expired "
        "or leaked token keeps working), or this machine's clock is wrong.",
        "Check this machine's clock (NTP); if it is right, make the server validate exp and nbf "
        "and issue a fresh token.",
        "RFC 7519 §4.1.4 (exp) and §4.1.5 (nbf)",
        RFC,
        MUST,
    ),
    FindingSpec(
        "auth.token_trailing_newline",
        INFO,
        "The token as read ended with a line break",
        "A line break is what `echo token > file` or a copied terminal line leaves behind; "
        "scim-doctor removed it and checked the token without it. The identity provider's "
        "token field, where the same value may have been pasted, sends whatever it holds: a "
        "line break there makes every request fail with 401.",
        "Make sure the token field in the identity provider holds the token alone, with no "
        "line break or space after it.",
        "RFC 6750 §2.1 (b64token: no whitespace in a bearer token)",
        RFC,
        ADVICE_LEVEL,
    ),
    FindingSpec(
        "auth.token_malformed",
        FAIL,
        "Token looks mis-pasted",
        "Identity providers send the token exactly as pasted after 'Bearer '; a 'Bearer ' prefix, "
        "quotes, spaces or a line break inside it make every request fail with 401.",
        "Paste only the token itself into the identity provider: no 'Bearer ' prefix, no quotes, "
        "no surrounding whitespace or line breaks.",
        "RFC 6750 §2.1 (b64token syntax of the Authorization header); RFC 9110 §2.2 (a sender "
        "MUST NOT generate protocol elements that do not match the grammar)",
        RFC,
        MUST,
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
        MUST,
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
        MUST,
    ),
    FindingSpec(
        "auth.rejected",
        FAIL,
        "The server refuses the token (401)",
        "The server does not accept this token, so the identity provider cannot provision.",
        "Generate a new SCIM token in the application and paste it into the identity provider; "
        "check it belongs to this tenant and has not been revoked.",
        "RFC 7644 §2 (authentication); RFC 6750 §3.1 (invalid_token)",
        RFC,
        ADVICE_LEVEL,
        providers=ALL,
    ),
    FindingSpec(
        "auth.forbidden",
        FAIL,
        "Access forbidden with this token (403)",
        "The token is known but not allowed to use the SCIM API: SCIM not enabled or not in the "
        "plan, a token of the wrong type, or an IP allowlist that blocks this network.",
        "Enable SCIM provisioning in the application (and check the plan includes it); use a "
        "SCIM provisioning token, not a personal API key; if there is an IP allowlist, add the "
        "identity provider's egress ranges — they differ from your office's addresses.",
        "RFC 7644 §3.12 (403); RFC 6750 §3.1 (insufficient_scope)",
        RFC,
        ADVICE_LEVEL,
        providers=ALL,
    ),
    FindingSpec(
        "auth.ip_not_allowed",
        FAIL,
        "An IP allow-list refuses this machine's address",
        "The server, or a firewall or WAF in front of it, admits clients by source address and "
        "turned this machine down before the token was looked at. What it does with the identity "
        "provider's calls depends on whether the provider's own egress ranges are on the list, "
        "and no test from this machine can show that, either way. A list that admits the admin's "
        "network but not the provider's ranges is the most reported cause of failed SCIM "
        "connections.",
        "Compare the allow-list with the ranges your identity provider publishes and add them: "
        "Entra ID calls from the Azure service tag AzureActiveDirectory (Azure IP Ranges and "
        "Service Tags); Okta from the IP ranges of your org's cell (Okta's ip_ranges.json); for "
        "OneLogin, JumpCloud and Google ask their support. Then run the provider's own test "
        "connection, the only test made from its addresses. To check the server with "
        "scim-doctor, run it from an address the list admits.",
        "Microsoft Learn: Tutorial: Develop and plan provisioning for a SCIM endpoint in "
        "Microsoft Entra ID — IP Ranges (the AzureActiveDirectory service tag); Okta Help: Allow "
        "access to Okta IP addresses; field reports azure-docs#53940, #56588, #124438",
        IDP,
        ADVICE_LEVEL,
        scope=THIS_MACHINE,
    ),
    FindingSpec(
        "auth.waf_blocked",
        FAIL,
        "A WAF or bot protection blocked the requests, with and without the token",
        "A WAF, CDN or bot protection in front of the server answered with its block page before "
        "the API saw the request, and it blocked the requests without the token as well, so it "
        "decided on something of this client (address, reputation, country, client fingerprint) "
        "or of the request (path, query). From here it cannot be told which: the identity "
        "provider calls from other addresses with another client and may or may not be blocked.",
        "Look the reference id in the message up in the WAF's event log to see which rule "
        "fired. If it is a bot, reputation, rate or geo rule, exempt the SCIM path (or the "
        "identity provider's published ranges) from it: provisioning is automated traffic by "
        "design. If it is a rule on the request, fix the rule. Then run scim-doctor again from "
        "an address the WAF lets through (a cloud shell is closer to the provider's network).",
        "RFC 9110 §15.5.4 (403); AWS re:Post: identify the AWS WAF rule that blocks a request "
        "(403 Forbidden); Cloudflare: Ray ID and Security Events",
        ADVICE,
        ADVICE_LEVEL,
        scope=THIS_MACHINE,
    ),
    FindingSpec(
        "auth.waf_blocks_token",
        FAIL,
        "A WAF rule blocks the requests that carry the token",
        "The WAF in front of the server lets the requests without the token through to the API "
        "(which answers 401) and blocks the one with the token: a rule matches something in the "
        "Authorization header (the token's length or characters read as an attack pattern). "
        "Every identity provider sends the same token in the same header and is blocked too.",
        "Find the rule in the WAF's event log by the reference id in the message and exclude "
        "the Authorization header of the SCIM path from it (or the SCIM path from that rule "
        "group). A new token may dodge one rule by chance but leaves the rule in place.",
        "RFC 6750 §2.1 (the bearer token travels in the Authorization header); AWS re:Post: "
        "identify the AWS WAF rule that blocks a request (403 Forbidden)",
        ADVICE,
        ADVICE_LEVEL,
        providers=ALL,
    ),
    FindingSpec(
        "auth.header_too_large",
        FAIL,
        "The token makes the request header too large for the front end",
        "A proxy or load balancer in front of the API refused the request with the token as too "
        "large (431, or 400 'Request Header Or Cookie Too Large') while the same request without "
        "the token got through: the Authorization header the token makes is longer than the "
        "front end accepts for one header line, commonly 8 KiB (nginx's default "
        "large_client_header_buffers 4 8k). Every identity provider sends the same token and is "
        "refused the same way; the token itself was never checked.",
        "Raise the front end's limit above the header's size (nginx: large_client_header_buffers "
        "4 16k; Apache: LimitRequestFieldSize 16380; IIS / http.sys: MaxFieldLength and "
        "MaxRequestBytes; Node.js: --max-http-header-size), or use a shorter token (an opaque "
        "token, or a JWT without the long group claims).",
        "RFC 6585 §5 (431 Request Header Fields Too Large); RFC 9110 §5.4 (field limits); nginx "
        "docs: large_client_header_buffers (default 4 8k)",
        RFC,
        ADVICE_LEVEL,
        providers=ALL,
    ),
    FindingSpec(
        "auth.clock_skew",
        WARN,
        "The server's clock and this machine's differ by more than 5 minutes",
        "The Date the server (or its front end) puts on its answers is more than five minutes "
        "from this machine's clock. Whatever compares a time from one side with the other's "
        "clock goes wrong: a JWT's exp and nbf (RFC 7519 allows a leeway of a few minutes), "
        "certificate validity, and this run's own date checks, made with this machine's clock. "
        "Which clock is wrong cannot be told from here, so this names no provider.",
        "Check this machine's clock first against a time source (timedatectl on Linux, "
        "w32tm /query /status on Windows, sntp on macOS); if it is right, the server's clock is "
        "wrong: turn on NTP (chrony, systemd-timesyncd, Windows Time) on the server and on the "
        "proxy, load balancer or CDN node that answers for it.",
        "RFC 9110 §6.6.1 (Date: the best available approximation of when the answer was "
        "made); RFC 7519 §4.1.4 and §4.1.5 (exp, nbf: a small leeway for clock skew); RFC 5280 "
        "§4.1.2.5 (validity)",
        RFC,
        ADVICE_LEVEL,
    ),
    FindingSpec(
        "auth.no_token_accepted",
        FAIL,
        "Requests without a token are accepted",
        "Anyone who can reach the endpoint can read (and maybe change) the user directory.",
        "Require a valid bearer token on every SCIM endpoint, and answer 401 without one.",
        "RFC 7644 §2 and §7 (security considerations); Okta SCIM spec test (401 without token)",
        RFC,
        IDP_LEVEL,
        providers=(OKTA,),
    ),
    FindingSpec(
        "auth.bogus_token_accepted",
        FAIL,
        "A random token is accepted",
        "The server does not check the token's value: anyone can provision or read users.",
        "Validate the bearer token's value on every request and answer 401 for unknown tokens.",
        "RFC 6750 §3.1 (invalid_token); RFC 7644 §7",
        RFC,
        SHOULD,
        providers=(OKTA,),
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
        MUST,
    ),
    # --- negotiation ------------------------------------------------------------------------------
    FindingSpec(
        "negotiation.scim_json_rejected",
        FAIL,
        "Accept: application/scim+json is refused",
        "SCIM's own media type is the one identity providers ask for: Entra ID and Okta send it on "
        "every request, so a server that answers 406 or 415 to it fails every provisioning call, "
        "however well it works from curl or Postman.",
        "Register application/scim+json as a JSON media type the API produces and consumes (e.g. "
        "a [Produces] attribute listing it in ASP.NET, a MediaType in Spring's "
        "produces/consumes, Mime::Type.register in Rails) and answer it exactly like "
        "application/json.",
        "RFC 7644 §3.8 (service providers MUST support Accept: application/scim+json) and §8.1; "
        "field reports: MicrosoftDocs/azure-docs#116775 (415 to Entra ID's requests), #12728 "
        "(Entra ID sends application/scim+json)",
        RFC,
        MUST,
        providers=(ENTRA, OKTA),
    ),
    FindingSpec(
        "negotiation.json_rejected",
        WARN,
        "Accept: application/json is refused",
        "Clients that predate the SCIM media type, scripts and some identity-provider test "
        "buttons ask for application/json; the RFC asks servers to serve it too.",
        "Accept application/json as an equivalent of application/scim+json in the Accept header "
        "(the body is the same JSON).",
        "RFC 7644 §3.8 (service providers SHOULD support Accept: application/json)",
        RFC,
        SHOULD,
    ),
    FindingSpec(
        "negotiation.no_accept_rejected",
        WARN,
        "A request without an Accept header is refused",
        "Without an Accept header a client accepts any media type, and SCIM says the format then "
        "defaults to application/scim+json; a server that refuses such requests fails clients "
        "that send none — Entra ID's Test connection was answered 406 this way.",
        "Serve application/scim+json when the request has no Accept header (and for */*); only "
        "answer 406 when the client asks exclusively for a type you cannot produce.",
        "RFC 7644 §3.8 (the format defaults to application/scim+json); RFC 9110 §12.5.1 (no "
        "Accept means any media type); field report: MicrosoftDocs/azure-docs#94189",
        RFC,
        SHOULD,
    ),
    FindingSpec(
        "negotiation.wrong_content_type",
        WARN,
        "JSON served with a non-JSON Content-Type",
        "Clients decide how to read a body from its Content-Type: JSON labelled text/plain, "
        "text/html or application/octet-stream (or not labelled at all) is refused or mis-read "
        "by strict clients and by proxies that rewrite HTML.",
        "Send Content-Type: application/scim+json (application/json also works) on every SCIM "
        "response, set explicitly on the response rather than left to the framework's default.",
        "RFC 7644 §3.8 and §8.1 (application/scim+json); RFC 9110 §8.3 (Content-Type)",
        RFC,
        SHOULD,
    ),
    FindingSpec(
        "negotiation.json_content_type",
        INFO,
        "application/json served where application/scim+json was asked for",
        "Legal — the RFC only says SHOULD, and identity providers accept application/json — but "
        "the SCIM media type is what the client asked for and what the RFC defaults to.",
        "Label SCIM responses application/scim+json (keep accepting application/json in Accept).",
        "RFC 7644 §3.8 (format defaults to application/scim+json); IANA registration of "
        "application/scim+json (RFC 7644 §8.1)",
        RFC,
        SHOULD,
    ),
    FindingSpec(
        "negotiation.spa_catch_all",
        FAIL,
        "A web app's catch-all answered: the API is not mounted at this base path",
        "The same single-page-app shell answers whatever path is asked (its history-API "
        "fallback), with a sign-in form inside or not: the SCIM API is not behind this base "
        "path, or the front end's route comes before it. Identity providers get HTML with "
        "status 200 and report a parse error.",
        "Find the path the SCIM API really lives at (the vendor's documentation, e.g. /scim/v2 "
        "or /api/scim/v2) and configure that, or route the SCIM path to the API before the "
        "app's fallback (proxy location order, history-API fallback exclusions).",
        "RFC 7644 §3.8 (responses are application/scim+json); field report: onyx-dot-app/onyx "
        "PR #9686 (a reverse proxy sending /scim to the web front end)",
        RFC,
        MUST,
    ),
    FindingSpec(
        "negotiation.login_page",
        FAIL,
        "An interactive sign-in (SSO) page answered instead of the API",
        "The SCIM path sits behind browser sign-in: a login or SAML page of an identity "
        "provider answers every request. A SCIM client authenticates with its bearer token and "
        "cannot sign in; it sees HTML and fails.",
        "Exempt the SCIM base path from the login / SSO layer (SCIM answers 401 in JSON itself), "
        "or correct the base URL.",
        "RFC 7644 §2 (bearer token authentication) and §3.8; field report: "
        "HumanSignal/label-studio#3487 (SCIM path answered with an HTML login page)",
        RFC,
        MUST,
    ),
    FindingSpec(
        "negotiation.server_default_page",
        FAIL,
        "The web server's own default or error page answered",
        "A stock page of the web server (nginx, Apache, IIS, ...) answered: the request never "
        "reached the application, usually a missing proxy route or a wrong base path.",
        "Route the SCIM base path to the application in the web server, or correct the base "
        "URL; make the application answer errors in SCIM JSON.",
        "RFC 7644 §3.8 (responses are application/scim+json), §3.12 (errors are SCIM JSON)",
        RFC,
        MUST,
    ),
    FindingSpec(
        "negotiation.html_response",
        FAIL,
        "An HTML page answered instead of SCIM JSON",
        "Something other than the SCIM API answered: a WAF or CDN block page, or another HTML "
        "page (an app's catch-all, a sign-in page and a server's default page have codes of "
        "their own). Identity providers see a parse error or a generic failure and never say "
        "which.",
        "Follow the page type named in the message: route the SCIM base path to the API before "
        "any SPA fallback; exempt it from interactive login (SCIM authenticates with its bearer "
        "token); allowlist it in the WAF/CDN (quote the page's reference id to the vendor); or "
        "correct the base URL.",
        "RFC 7644 §3.8 (responses are application/scim+json); field report: "
        "HumanSignal/label-studio#3487 (SCIM path answered with an HTML login page)",
        RFC,
        MUST,
    ),
    FindingSpec(
        "negotiation.not_json",
        FAIL,
        "The body is not JSON",
        "The answer is XML, text, or JSON that is malformed or cut off; no identity provider can "
        "read it, and provisioning fails with a parse error.",
        "Return a complete JSON document (a SCIM ListResponse here). XML for a missing Accept "
        "usually comes from a framework's XML formatter taking precedence (Spring with "
        "jackson-dataformat-xml, ASP.NET XML formatters); a cut-off body from a proxy buffer or "
        "a worker that dies while writing.",
        "RFC 7644 §3.8 (JSON structured responses); RFC 8259 (JSON)",
        RFC,
        MUST,
        providers=(ENTRA,),
    ),
    FindingSpec(
        "negotiation.bad_encoding",
        FAIL,
        "The body is not in the character set it claims",
        "The body is declared (or, as JSON, defaults to) UTF-8 but contains bytes that are not "
        "UTF-8 — usually a Latin-1 default in the server; clients fail to parse it, or mangle "
        "every accented name they provision.",
        "Encode responses as UTF-8 (set the framework's response charset, e.g. "
        "server.servlet.encoding.charset / force in Spring, or the servlet container's default) "
        "and declare it: Content-Type: application/scim+json; charset=utf-8.",
        "RFC 7644 §3.8 (UTF-8 is the default encoding); RFC 8259 §8.1 (JSON MUST be UTF-8)",
        RFC,
        MUST,
    ),
    FindingSpec(
        "negotiation.non_utf8_charset",
        WARN,
        "JSON declared in a character set other than UTF-8",
        "JSON exchanged between systems must be UTF-8; clients that ignore the charset parameter "
        "(many do for JSON) mis-read every non-ASCII character.",
        "Encode SCIM responses as UTF-8 and declare charset=utf-8 (or no charset at all).",
        "RFC 8259 §8.1 (JSON text MUST be encoded using UTF-8); RFC 7644 §3.8",
        RFC,
        MUST,
    ),
    # --- users ------------------------------------------------------------------------------------
    FindingSpec(
        "users.deep_duplicate_id",
        FAIL,
        "Two users share an id (--deep)",
        "The id is the identity provider's handle on a user: it stores it and sends every update "
        "and the deprovisioning DELETE to /Users/{id}. Two users with one id means changes meant "
        "for one person reach the other, or one of them can never be managed.",
        "Make id the primary key of users (a UUID or the database key), never reused and never "
        "derived from data that can repeat; find the duplicates by the ids the message names.",
        "RFC 7643 §3.1 (id: unique across the service provider's entire set of resources)",
        RFC,
        MUST,
    ),
    FindingSpec(
        "users.deep_duplicate_user_name",
        FAIL,
        "Two users share a userName (--deep)",
        "userName is the key identity providers match accounts on, compared without regard to "
        "case. Two users whose userNames differ only in case (or not at all) make the "
        "`userName eq` search return two people: the IdP links the wrong one or stops with an "
        "error.",
        "Enforce a case-insensitive unique index on userName, then merge or rename the duplicates "
        "the message points at.",
        "RFC 7643 §4.1.1 (userName: unique across the service provider's Users, caseExact false)",
        RFC,
        MUST,
    ),
    FindingSpec(
        "users.deep_total_changed",
        WARN,
        "totalResults changes from page to page (--deep)",
        "Identity providers compute the number of pages from the first page's totalResults. A "
        "count that moves while nothing changes makes imports stop early or ask for pages that "
        "do not exist.",
        "Compute totalResults from the same query, filter and snapshot as the page itself; if the "
        "directory really was changing during the check, run it again when it is quiet.",
        "RFC 7644 §3.4.2 (totalResults) and §3.4.2.4 (pagination is not stateful: changes between "
        "requests are allowed)",
        RFC,
        ADVICE_LEVEL,
    ),
    FindingSpec(
        "users.deep_total_mismatch",
        WARN,
        "The pages hold a different number of users than totalResults (--deep)",
        "Walking every page returned fewer (or more) users than totalResults announced: users "
        "hidden behind short pages, or counted but not listable, are never imported or "
        "reconciled by the identity provider.",
        "Make totalResults count exactly the users the listing can return, and return count "
        "users per page while more remain (or declare a smaller filter.maxResults).",
        "RFC 7644 §3.4.2 (totalResults: the total number of results) and §3.4.2.4 (pagination)",
        RFC,
        SHOULD,
    ),
    FindingSpec(
        "users.deep_unstable_order",
        WARN,
        "Paging order is not stable (--deep)",
        "Identity providers page with startIndex and count and expect each user exactly once. A "
        "listing whose order changes between requests (no ORDER BY, or ordered by a value that "
        "changes) shows some users twice and others never.",
        "Order the listing by a stable, unique key (the id or the creation sequence) before "
        "applying startIndex and count.",
        "Okta SCIM 2.0 reference (imports page through /Users with startIndex and count); RFC "
        "7644 §3.4.2.4 (pagination is not stateful: changes between requests are allowed)",
        IDP,
        IDP_LEVEL,
    ),
    FindingSpec(
        "users.deep_invalid_users",
        FAIL,
        "Users further down the directory are malformed (--deep)",
        "The deep sweep validated every user, not only the first page: those listed here lack "
        "what every identity provider needs (id, userName, the User schema) or return a "
        "password, and will fail to import or be managed.",
        "Fix the users the message names (ids and the problem for each); they usually share a "
        "cause, such as a migration or an import that skipped a field.",
        "RFC 7643 §3 (schemas), §3.1 (id, meta) and §4.1 (User resource)",
        RFC,
        MUST,
    ),
    FindingSpec(
        "users.deep_nonconformant_users",
        WARN,
        "Users further down the directory deviate from RFC 7643 (--deep)",
        "The deep sweep found users whose representation breaks the schema in ways tolerant "
        "identity providers accept and stricter clients reject.",
        "See the problems and the users the message names; fix them where the users are "
        "serialised.",
        "RFC 7643 §3.1 (meta), §3.3 (extensions) and §4.1 (User attributes)",
        RFC,
        SHOULD,
    ),
    FindingSpec(
        "users.deep_page_failed",
        FAIL,
        "A page of /Users could not be read (--deep)",
        "Okta imports users page by page (startIndex, count=100): a page that errors, times out "
        "or is not a readable ListResponse ends the import there, and every user after it is "
        "missing until the page works. Deep "
        "pages fail most often because the offset query gets slow far into a large table.",
        "Look at the pages the message names (status, error, startIndex): an index that keeps "
        "deep offsets fast, or a larger --timeout if the server is merely slow, usually fixes it.",
        "RFC 7644 §3.4.2.4 (pagination); Okta SCIM 2.0 reference, Retrieve Users (paging)",
        RFC,
        SHOULD,
        providers=(OKTA,),
    ),
    FindingSpec(
        "users.deep_incomplete",
        INFO,
        "The deep sweep did not reach the end of the directory",
        "The sweep stopped early (the run's deadline was near, or the directory was too large "
        "to walk), so the users after that point were not validated: they are untested, not "
        "passed.",
        "Run again with a larger --deadline (and --timeout) to walk the whole directory.",
        "Advice: a check can only vouch for the users it read",
        ADVICE,
        ADVICE_LEVEL,
    ),
    FindingSpec(
        "users.status_error",
        FAIL,
        "/Users answered an error status",
        "Listing users is the first thing identity providers do (Okta's and Entra ID's 'Test "
        "connection', imports, the existence check before every create); an error here stops "
        "provisioning even though the token works.",
        "Check that the token's role or scope may read users, that /Users exists under the base "
        "URL, and the application's log for this request; the message shows the status and the "
        "server's detail.",
        "RFC 7644 §3.4.2 (query resources) and §3.12 (error status codes)",
        RFC,
        SHOULD,
        providers=(OKTA,),
    ),
    FindingSpec(
        "users.not_list_response",
        FAIL,
        "/Users does not answer with a SCIM ListResponse",
        "Identity providers read the answer as a ListResponse (schemas, totalResults, "
        "Resources); a bare array, another envelope or a non-JSON body makes every import and "
        "existence check fail.",
        'Answer GET /Users with {"schemas": ["urn:ietf:params:scim:api:messages:2.0:'
        'ListResponse"], "totalResults": N, "startIndex": 1, "itemsPerPage": n, "Resources": '
        "[...]} as application/scim+json.",
        "RFC 7644 §3.4.2 (ListResponse URN and attributes)",
        RFC,
        MUST,
        providers=(ENTRA, OKTA, GOOGLE),
    ),
    FindingSpec(
        "users.missing_total_results",
        FAIL,
        "ListResponse without totalResults",
        "totalResults is REQUIRED: clients use it to know how many pages to fetch and whether a "
        "search found a user. Without it Okta cannot page and Entra ID cannot tell whether a "
        "user exists.",
        "Always include totalResults: the number of all matching resources (not only those on "
        "the page), 0 when nothing matches.",
        "RFC 7644 §3.4.2 (totalResults REQUIRED)",
        RFC,
        MUST,
        providers=(OKTA, GOOGLE),
    ),
    FindingSpec(
        "users.paging_field_not_integer",
        FAIL,
        "Paging value is not a JSON integer",
        "totalResults, itemsPerPage and startIndex are integers; Okta rejects strings such as "
        '"3" (and floats or booleans) and the import fails.',
        'Serialise the paging values as JSON numbers without quotes or fractions: "totalResults": '
        '3, not "3" or 3.0.',
        "Okta SCIM 2.0 reference, Retrieving users (itemsPerPage, startIndex and totalResults "
        "need to be exchanged as integers, not as strings); RFC 7644 §3.4.2",
        IDP,
        IDP_LEVEL,
        providers=(OKTA,),
    ),
    FindingSpec(
        "users.list_response_inconsistent",
        WARN,
        "ListResponse paging values do not add up",
        "itemsPerPage, startIndex and totalResults describe the page; when they contradict the "
        "Resources actually returned, or are missing on a partial page, clients compute the "
        "next page wrongly and skip or repeat users.",
        "Set itemsPerPage to the number of resources on this page, startIndex to the 1-based "
        "index of the first one and totalResults to the number of all matches; include "
        "startIndex and itemsPerPage whenever a page holds fewer than all results.",
        "RFC 7644 §3.4.2 and §3.4.2.4",
        RFC,
        SHOULD,
    ),
    FindingSpec(
        "users.invalid_resource",
        FAIL,
        "User resource is malformed",
        "Each user needs a server-assigned id (the identity provider stores it for every later "
        "update), a userName (its matching key) and the core User schema URN; a user without "
        "them cannot be linked, updated or deprovisioned.",
        'Return every user with "schemas" containing urn:ietf:params:scim:schemas:core:2.0:User, '
        'a non-empty string "id", a string "userName" and meta.resourceType "User".',
        "RFC 7643 §3 (schemas), §3.1 (id, meta) and §4.1.1 (userName)",
        RFC,
        MUST,
    ),
    FindingSpec(
        "users.resource_nonconformant",
        WARN,
        "User resource deviates from RFC 7643",
        "Parts of the user representation break the schema in ways tolerant identity providers "
        "accept and stricter clients reject: meta.location outside the base URL (an internal "
        "host, or http:// behind a TLS proxy), extensions not declared in schemas, attributes "
        "of the wrong JSON type.",
        "Build meta.location from the public base URL (honour X-Forwarded-Proto and -Host, or "
        "configure it), list every extension URN in schemas, and give each attribute the type "
        "RFC 7643 §4.1 defines.",
        "RFC 7643 §3.1 (meta.location), §3.3 (extensions) and §4.1 (User attributes)",
        RFC,
        SHOULD,
    ),
    FindingSpec(
        "users.password_returned",
        FAIL,
        "User passwords are returned",
        "A password (or its hash) in a response leaks credentials to every client, log and "
        "support ticket that sees user listings; the password attribute is returned 'never'.",
        "Never serialise the password attribute, not even hashed or empty; if real passwords "
        "were returned, treat them as exposed and have them changed.",
        "RFC 7643 §4.1.1 (password SHALL NOT be returnable) and §8.7.1 (returned: never)",
        RFC,
        MUST,
    ),
    FindingSpec(
        "users.pagination_ignored",
        FAIL,
        "count or startIndex is ignored",
        "Identity providers page through users with startIndex and count (Okta: count=100, "
        "startIndex 1, 101, ...); a server that returns more than count, or the same users for "
        "every startIndex, makes imports loop, time out or duplicate users.",
        "Return at most count resources starting at the 1-based startIndex; cap large counts "
        "with a declared filter.maxResults instead of ignoring count.",
        "RFC 7644 §3.4.2.4 (never more results than count)",
        RFC,
        MUST,
        providers=(OKTA,),
    ),
    FindingSpec(
        "users.zero_based_start_index",
        FAIL,
        "startIndex counted from 0 (the first user is never listed)",
        "startIndex is 1-based. A server that uses it as a 0-based offset skips the first user "
        "on startIndex=1 and answers the last page empty, so identity providers never import or "
        "reconcile that user.",
        "Compute the offset as startIndex - 1, and treat values below 1 as 1.",
        "RFC 7644 §3.4.2.4 (startIndex: the 1-based index of the first query result)",
        RFC,
        SHOULD,
        providers=(OKTA,),
    ),
    FindingSpec(
        "users.short_page",
        WARN,
        "Page shorter than count without a declared limit",
        "The server returned fewer users than count although more remain, and "
        "ServiceProviderConfig declares no smaller filter.maxResults. The RFC allows it, but "
        "Okta advances startIndex by count (1, 101, 201, ...), so the users after each short "
        "page are never imported.",
        "Return count resources when that many remain, or declare the real page size as "
        "filter.maxResults in ServiceProviderConfig.",
        "Okta SCIM 2.0 reference, Retrieving users (pages of count=100); RFC 7644 §3.4.2.4; "
        "RFC 7643 §5 (filter.maxResults)",
        IDP,
        IDP_LEVEL,
        providers=(OKTA,),
    ),
    FindingSpec(
        "users.count_zero_ignored",
        WARN,
        "count=0 is not answered with the total only",
        "count=0 asks for totalResults only, the cheap way to count users; returning a page of "
        "users, or refusing the request, shows that count is not handled as the RFC defines.",
        "For count=0 (or a negative count) return totalResults and no Resources.",
        "RFC 7644 §3.4.2.4 (a count of 0 returns only totalResults)",
        RFC,
        SHOULD,
    ),
    FindingSpec(
        "users.filter_unsupported",
        FAIL,
        "userName eq search not supported",
        "Before creating a user, Entra ID and Okta search GET /Users?filter=userName eq "
        '"..."; without eq on userName they cannot tell whether the user exists, and '
        "provisioning fails.",
        'Support at least `userName eq "value"` (Entra ID also sends externalId eq and "and"); '
        "answer filters you do not support with 400 and scimType invalidFilter.",
        "RFC 7644 §3.4.2.2; Okta SCIM 2.0 reference (userName eq is required); Entra ID SCIM "
        "compatibility (eq and and)",
        IDP,
        IDP_LEVEL,
        providers=(ENTRA, OKTA),
    ),
    FindingSpec(
        "users.filter_ignored",
        FAIL,
        "Search returns users that do not match",
        "Identity providers take the result of a userName search as the existing account: a "
        "server that ignores the filter makes them link a new person to someone else's account "
        "(a security problem) or update the wrong user.",
        "Apply the filter and return only matching users; when nothing matches, return "
        "totalResults 0 and no resources.",
        "RFC 7644 §3.4.2.2 (filtering) and §3.4.2 (no match: totalResults 0)",
        RFC,
        MUST,
        providers=(ENTRA, OKTA),
    ),
    FindingSpec(
        "users.filter_misses_user",
        FAIL,
        "userName search does not find an existing user",
        "The search for a userName listed on page 1 came back empty, so the identity provider "
        "will try to create that user again and fail with a conflict, or create a duplicate.",
        "Match the filter value against the stored userName (case-insensitively, without "
        "re-encoding it), and check that the filter parser handles the quotes and characters "
        "in it.",
        "RFC 7644 §3.4.2.2 (filtering)",
        RFC,
        SHOULD,
        providers=(ENTRA, OKTA),
    ),
    FindingSpec(
        "users.filter_case_sensitive",
        WARN,
        "userName search is case-sensitive",
        "userName is not case-exact, so `userName eq` must match whatever the letter case; "
        "identity providers send the name as their directory spells it, and a case-sensitive "
        "match makes them create duplicates or fail with 409.",
        "Compare userName case-insensitively in filters and in the uniqueness check.",
        "RFC 7643 §4.1.1 (userName: caseExact false); RFC 7644 §3.4.2.2 (comparison follows "
        "caseExact)",
        RFC,
        MUST,
    ),
    FindingSpec(
        "users.empty_filter_404",
        WARN,
        "Search without matches answers 404",
        "A search that matches nobody SHALL return 200 with totalResults 0. Okta accepts 404 "
        "here, but Entra ID's 'Test connection' searches a random userName and expects the "
        "empty ListResponse, and Entra ID searches before every create.",
        'Answer searches without matches with 200 and {"schemas": [ListResponse URN], '
        '"totalResults": 0, "Resources": []}.',
        "RFC 7644 §3.4.2 (no match: 200 with totalResults 0); Okta SCIM 2.0 reference (404 "
        "accepted); Entra ID: develop a SCIM endpoint (Test connection)",
        RFC,
        MUST,
        providers=(ENTRA,),
    ),
    FindingSpec(
        "users.empty_directory",
        INFO,
        "No users to check paging and searches with",
        "The directory lists no users, so pagination and userName searches could not be "
        "checked: they are untested, not passed.",
        "Create at least two test users (or provision them from the identity provider) and run "
        "scim-doctor again.",
        "Advice: paging and filters can only be judged against real users",
        ADVICE,
        ADVICE_LEVEL,
    ),
    # --- discovery --------------------------------------------------------------------------------
    FindingSpec(
        "discovery.service_provider_config_missing",
        WARN,
        "/ServiceProviderConfig not found",
        "RFC 7644 §4 defines /ServiceProviderConfig as where clients learn which features the "
        "server supports (PATCH, filter and its maxResults, ETag, bulk, sort). Entra ID and "
        "Okta's standard provisioning never read it, so they are unaffected; SailPoint's SCIM 2.0 "
        "connector requires it and refuses to connect, and generic SCIM clients fall back to "
        "guessing.",
        "Serve GET <base>/ServiceProviderConfig (same token as the other endpoints) with the "
        "RFC 7643 §5 attributes: patch, bulk, filter, changePassword, sort, etag (each with "
        "'supported') and authenticationSchemes; check that no proxy or router drops the path.",
        "RFC 7644 §4; RFC 7643 §5; SailPoint SCIM 2.0 connector: required discovery endpoints",
        RFC,
        SHOULD,
    ),
    FindingSpec(
        "discovery.service_provider_config_invalid",
        WARN,
        "/ServiceProviderConfig is malformed",
        "Clients that read the configuration (SailPoint, SCIM SDKs, Okta Identity Governance) "
        "take a missing or mistyped attribute as 'not supported', or reject the whole document, "
        "and then avoid PATCH, filtering or ETags the server actually offers.",
        "Return one JSON object (not a ListResponse) with 'schemas': "
        "['urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig'] and every required "
        "attribute of RFC 7643 §5: patch, bulk (supported, maxOperations, maxPayloadSize), "
        "filter (supported, maxResults), changePassword, sort, etag — 'supported' as JSON "
        "true/false, the maxima as integers — and authenticationSchemes (type, name, "
        "description).",
        "RFC 7643 §5; RFC 7644 §4",
        RFC,
        SHOULD,
    ),
    FindingSpec(
        "discovery.resource_types_invalid",
        WARN,
        "/ResourceTypes is missing or malformed",
        "/ResourceTypes tells clients which resources exist and at which endpoint; SailPoint's "
        "SCIM 2.0 connector and Okta Identity Governance (entitlements) read it first and stop "
        "when it is absent or not a ListResponse; clients that page by itemsPerPage skip or "
        "re-read entries when it differs from the number of entries returned. Entra ID and "
        "Okta's standard provisioning do not use it.",
        "Answer GET <base>/ResourceTypes with a ListResponse ('schemas': "
        "['urn:ietf:params:scim:api:messages:2.0:ListResponse'], 'totalResults', 'Resources', "
        "and itemsPerPage, when sent, equal to the number of Resources), not a bare JSON array, "
        "listing each resource type with 'name', 'endpoint' and 'schema'.",
        "RFC 7644 §4; RFC 7643 §6; RFC 7644 §3.4.2 (ListResponse)",
        RFC,
        SHOULD,
    ),
    FindingSpec(
        "discovery.schemas_invalid",
        WARN,
        "/Schemas is missing or malformed",
        "/Schemas describes the attributes each resource accepts; clients that map attributes "
        "from it (SailPoint's SCIM 2.0 connector, Okta Identity Governance) cannot build a "
        "User profile without the core User schema; those that page by itemsPerPage skip or "
        "re-read schemas when it differs from the number of schemas returned. Entra ID and "
        "Okta's standard provisioning do not use it.",
        "Answer GET <base>/Schemas with a ListResponse of schema resources (itemsPerPage, when "
        "sent, equal to the number of Resources), each with 'id' (its URN) and 'attributes'; "
        "include urn:ietf:params:scim:schemas:core:2.0:User with at least the attributes the "
        "server supports (userName first).",
        "RFC 7644 §4; RFC 7643 §7; RFC 7644 §3.4.2 (ListResponse)",
        RFC,
        SHOULD,
    ),
    FindingSpec(
        "discovery.by_id_unavailable",
        WARN,
        "A schema or resource type cannot be read by its id",
        "Clients that read one definition at a time (/Schemas/<urn>, /ResourceTypes/User: SCIM "
        "SDKs, SailPoint, Okta Identity Governance) get a 404 page or the whole list where the "
        "definition should be, although the list names it. Entra ID and Okta's standard "
        "provisioning do not read them.",
        "Serve each entry of /Schemas at /Schemas/<its id> and of /ResourceTypes at "
        "/ResourceTypes/<its id> as the single JSON resource (not a ListResponse), behind the "
        "same token; check that no router or proxy answers those paths with its own page.",
        "RFC 7644 §4 (a specific ResourceType or Schema is returned as a single resource; "
        "/Schemas/urn:ietf:params:scim:schemas:core:2.0:User)",
        RFC,
        SHOULD,
    ),
    # --- errors -----------------------------------------------------------------------------------
    FindingSpec(
        "errors.unknown_id_not_404",
        WARN,
        "A user id that does not exist is not answered with 404",
        "Identity providers read users by id (Okta does before each update) and take 404 to "
        "mean the user is gone. A 200 for a random id means the server ignores the id and "
        "returns something else — another user, or a list — which the identity provider then "
        "updates; any other code makes 'not found' look like a failure, so deprovisioning and "
        "re-creation stall.",
        "Look the id up and answer 404 with a SCIM Error when there is no such resource, also "
        "for ids that are not in your id format; never fall back to a list or a default record.",
        "RFC 7644 §3.4.1 and §3.12 (404: the specified resource does not exist)",
        RFC,
        SHOULD,
    ),
    FindingSpec(
        "errors.not_scim_error",
        WARN,
        "Error response is not a SCIM Error",
        "Identity providers show the SCIM Error's 'detail' to the admin, and strict clients "
        "(SCIM SDKs, Okta's SCIM spec tests) parse it; an HTML page or a framework's own JSON "
        "envelope gives them nothing to show, or a parse error instead of the real cause. An "
        "HTML 404 often also means the request never reached the SCIM routes.",
        "Answer every error under the SCIM base with Content-Type application/scim+json and a "
        'body like {"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], '
        '"status": "404", "detail": "..."}; make the framework\'s not-found and '
        "exception handlers produce it for the SCIM routes.",
        "RFC 7644 §3.12; field reports: SimpleIdServer#227 (Okta spec test), wire-server#5434",
        RFC,
        MUST,
    ),
    FindingSpec(
        "errors.status_not_string",
        WARN,
        "Error 'status' is a number, not a string",
        "RFC 7644 §3.12 defines 'status' as the HTTP status code expressed as a JSON string; "
        "strictly typed clients can fail to parse such an error, and Okta's integration review "
        "flags it.",
        'Serialise \'status\' as a string: "status": "404", not "status": 404 (in Java '
        "SDKs a string serializer on the field; see SCIM-SDK#834).",
        "RFC 7644 §3.12; field reports: SCIM-SDK#834, pingidentity/scim2#87",
        RFC,
        MUST,
    ),
    FindingSpec(
        "errors.status_invalid",
        WARN,
        "Error 'status' missing or not the HTTP status",
        "'status' is REQUIRED in a SCIM Error and must repeat the HTTP status code; clients that "
        "read the body rather than the status line get a wrong or no code.",
        "Set 'status' to the response's HTTP status code as a string (\"404\" on a 404).",
        "RFC 7644 §3.12",
        RFC,
        MUST,
    ),
    FindingSpec(
        "errors.invalid_filter_not_rejected",
        FAIL,
        "Invalid filter answered with 200",
        "The server ignores filters it cannot parse and answers as if there were none (or none "
        "matched). Identity providers look users up by filter before creating them: a filter "
        "the server does not understand then returns all users, or none, and the identity "
        "provider links the wrong account or creates a duplicate instead of being told.",
        "Parse the filter and answer 400 with a SCIM Error whose scimType is 'invalidFilter' for "
        "any syntax or operator you do not support.",
        "RFC 7644 §3.4.2.2 (filter grammar) and §3.12 (400 invalidFilter)",
        RFC,
        MUST,
    ),
    FindingSpec(
        "errors.invalid_filter_wrong_status",
        WARN,
        "Invalid filter not answered with 400",
        "An invalid filter must be answered 400 invalidFilter. A 5xx instead is an unhandled "
        "exception: identity providers retry it again and again and finally report an outage; "
        "other codes hide the real cause from the admin.",
        "Catch filter parse errors and answer 400 with a SCIM Error, scimType 'invalidFilter', "
        "and a 'detail' naming what could not be parsed.",
        "RFC 7644 §3.4.2.2 and §3.12 (400 invalidFilter); field report: phasehq/console#1007",
        RFC,
        MUST,
    ),
    FindingSpec(
        "errors.invalid_filter_scim_type",
        WARN,
        "Invalid filter rejected without scimType 'invalidFilter'",
        "The 400 is right, but without scimType 'invalidFilter' clients cannot tell a filter "
        "they must not send again from any other bad request.",
        'Add "scimType": "invalidFilter" to the SCIM Error of a 400 caused by the filter.',
        "RFC 7644 §3.4.2.2 (MUST return 400 with scimType invalidFilter) and §3.12 (scimType "
        "invalidFilter)",
        RFC,
        MUST,
    ),
    # --- lifecycle --------------------------------------------------------------------------------
    FindingSpec(
        "lifecycle.writes_made",
        INFO,
        "Test data was written to the server",
        "The lifecycle check (--allow-writes) created, changed and deleted a test user and a test "
        "group on this server, as an identity provider's own validator does; the message lists "
        "what was created and what was deleted again.",
        "Nothing to fix. Test resources are named scim-doctor-<8 hex digits>; "
        "`scim-doctor cleanup` finds and deletes any left behind.",
        "Advice: the validators of Entra ID, Okta and JumpCloud write test data the same way",
        ADVICE,
        ADVICE_LEVEL,
    ),
    FindingSpec(
        "lifecycle.cleanup_incomplete",
        WARN,
        "Test data left on the server",
        "scim-doctor could not delete everything it created: a test user or group named "
        "scim-doctor-… is still on the server and may be provisioned onward (licences, "
        "downstream apps, audit noise). No identity provider's connection depends on it; when "
        "a DELETE problem reported in the same run is the cause, this finding points at it.",
        "Delete the resources listed (by id) by hand, or run `scim-doctor cleanup URL`, which "
        "finds test resources by their name prefix and deletes them; then fix whatever made the "
        "DELETE fail (see the other findings).",
        "Advice: a diagnostic must leave nothing behind",
        ADVICE,
        ADVICE_LEVEL,
    ),
    FindingSpec(
        "lifecycle.create_failed",
        FAIL,
        "Creating a user failed",
        "POST /Users is how every identity provider provisions a new user; when it fails, no "
        "user assigned to the app is ever created (Entra ID's and Okta's validators stop here).",
        "Read the status and the server's detail in the message: 401/403 usually means the "
        "token may read but not write (grant it write scope), 400 names the attribute the "
        "server rejects, 5xx is a server bug to look up in its log.",
        "RFC 7644 §3.3 (creating resources)",
        RFC,
        SHOULD,
        providers=(ENTRA, OKTA, JUMPCLOUD),
    ),
    FindingSpec(
        "lifecycle.create_not_201",
        WARN,
        "User created, but not answered with 201",
        "RFC 7644 requires 201 Created for a successful POST; Entra ID's SCIM Validator and "
        "Okta's test suite fail the create test on a 200, and strict clients treat anything "
        "else as an error even though the user exists.",
        "Answer a successful POST /Users (and /Groups) with 201 Created, a Location header and "
        "the created resource in the body.",
        "RFC 7644 §3.3 (201 Created)",
        RFC,
        MUST,
    ),
    FindingSpec(
        "lifecycle.create_no_location",
        WARN,
        "Created user has no Location header",
        "RFC 7644 requires the URI of the created resource in the Location header; clients that "
        "follow it (and the SCIM validators) find nothing to read back.",
        "Send `Location: <base URL>/Users/<id>` with the 201, the same URL as meta.location.",
        "RFC 7644 §3.3 (Location header SHALL be returned)",
        RFC,
        MUST,
    ),
    FindingSpec(
        "lifecycle.create_no_id",
        FAIL,
        "Created user comes back without an id",
        "Identity providers store the server-assigned id from the create response and address "
        "every later update and delete to /Users/<id>; without it the user is orphaned: Entra "
        "ID and Okta cannot update or deprovision it.",
        "Return the created resource in the 201 body, with the non-empty string 'id' the "
        "server assigned.",
        "RFC 7643 §3.1 (id MUST be included); RFC 7644 §3.3",
        RFC,
        MUST,
        providers=(ENTRA, OKTA, JUMPCLOUD),
    ),
    FindingSpec(
        "lifecycle.create_no_meta",
        WARN,
        "Created user lacks meta (resourceType, location)",
        "'meta' carries the resource type, location and version clients use to read the "
        "resource back and detect changes; SCIM validators flag a created resource without it.",
        "Return meta with resourceType, created, lastModified, location (and version when ETags "
        "are supported) on every resource.",
        "RFC 7643 §3.1 (meta)",
        RFC,
        SHOULD,
    ),
    FindingSpec(
        "lifecycle.create_no_etag",
        WARN,
        "ETags declared but the created user has no ETag header",
        "ServiceProviderConfig says etag.supported: true, so clients expect an ETag header "
        "with each resource to send If-Match on updates; without it they cannot do the "
        "versioned updates the server advertises.",
        "Send an ETag header (the resource's meta.version) with every response carrying a "
        "single resource, or declare etag.supported: false.",
        "RFC 7644 §3.14 (ETags MUST be specified as an HTTP header)",
        RFC,
        MUST,
    ),
    FindingSpec(
        "lifecycle.duplicate_accepted",
        FAIL,
        "Creating a user with a taken userName succeeded",
        "userName is unique; a second create must be refused with 409 so the identity provider "
        "knows the account exists and links it. Accepting it creates duplicate accounts for one "
        "person (or silently returns the existing one, so the IdP believes it created it).",
        "Enforce userName uniqueness (case-insensitively) and answer a conflicting POST with 409 "
        "and scimType 'uniqueness'.",
        "RFC 7644 §3.3 (409 with scimType uniqueness); RFC 7643 §4.1.1 (userName unique)",
        RFC,
        MUST,
    ),
    FindingSpec(
        "lifecycle.duplicate_not_409",
        FAIL,
        "Duplicate userName not answered with 409",
        "Identity providers recognise 'already exists' by 409: Okta and Entra ID then match "
        "and link the existing account. Any other status makes them report a failed "
        "assignment and retry it (a 5xx forever).",
        "Answer a POST whose userName is taken with 409 Conflict and a SCIM Error with scimType "
        "'uniqueness'.",
        "RFC 7644 §3.3 (MUST return 409 with scimType uniqueness)",
        RFC,
        MUST,
    ),
    FindingSpec(
        "lifecycle.duplicate_no_uniqueness",
        WARN,
        "409 for a duplicate lacks scimType 'uniqueness'",
        "The 409 is right; scimType 'uniqueness' is what tells a client the conflict is a taken "
        "unique attribute and not something else.",
        'Add "scimType": "uniqueness" to the SCIM Error of a 409 caused by a taken userName.',
        "RFC 7644 §3.3 and §3.12 (scimType uniqueness)",
        RFC,
        MUST,
    ),
    FindingSpec(
        "lifecycle.get_failed",
        FAIL,
        "A user just created cannot be read by its id",
        "Identity providers read users by id before updating them (Okta does before each "
        "update); a fresh user that is not found looks deleted, and the IdP recreates it or "
        "stops managing it.",
        "Serve GET /Users/<id> for every id the server hands out, immediately after the create "
        "(read your own writes; no lagging replica behind reads).",
        "RFC 7644 §3.4.1 (retrieving a known resource)",
        RFC,
        SHOULD,
        providers=(ENTRA, OKTA),
    ),
    FindingSpec(
        "lifecycle.filter_not_found",
        FAIL,
        "A user just created is not found by userName filter",
        'Before creating a user, Entra ID and Okta look it up with filter=userName eq "…"; '
        "when the server does not find an existing user they try to create it again and get a "
        "conflict, or create a duplicate.",
        "Match userName eq filters case-insensitively against the stored users, including ones "
        "created moments ago (no stale search index).",
        "RFC 7644 §3.4.2.2 (filtering); Entra ID and Okta provisioning query userName eq",
        RFC,
        SHOULD,
        providers=(ENTRA, OKTA),
    ),
    FindingSpec(
        "lifecycle.put_failed",
        FAIL,
        "Replacing a user with PUT failed",
        "Okta updates user profiles with PUT by default; a PUT that fails or is ignored means "
        "profile changes never reach the application. Only attributes the server declares "
        "writable in /Schemas are changed and judged, each on its own.",
        "Support PUT /Users/<id> with the full representation: apply every attribute the server "
        "declares writable and answer 200 with the updated resource. A 405 comes from the "
        "server, its framework or a proxy in front of it (the message says which, when the "
        "answer shows it).",
        "RFC 7644 §3.5 (implementers MUST support PUT) and §3.5.1 (replacing with PUT)",
        RFC,
        MUST,
        providers=(OKTA,),
    ),
    FindingSpec(
        "lifecycle.patch_method_not_allowed",
        FAIL,
        "PATCH answered 405 Method Not Allowed",
        "Entra ID does every update with PATCH, Okta deactivates users with it; a 405 means no "
        "change and no deprovisioning ever reaches the application. Behind IIS the usual cause "
        "is the WebDAV module, which claims the PATCH verb before the application sees it.",
        "Allow PATCH for the SCIM routes in the application, its framework and every proxy in "
        "front of it (the Allow header, when sent, lists what gets through). The message names "
        "IIS when the Server header does; its WebDAV module is then the usual cause.",
        "RFC 7644 §3.5 (implementers SHOULD support PATCH) and §3.5.2 (modifying with PATCH); "
        "field report: snipe-it#11094",
        RFC,
        SHOULD,
        providers=(ENTRA, OKTA),
    ),
    FindingSpec(
        "lifecycle.patch_rfc_rejected",
        WARN,
        "PATCH in the RFC 7644 form rejected",
        "A PatchOp with lower-case ops, a path and a JSON boolean is the standard form; a server "
        "that rejects it breaks every standards-following client, including Entra ID with the "
        "aadOptscim062020 flag (without the flag Entra ID sends its own dialect, judged on its "
        "own).",
        "Accept PatchOp requests as RFC 7644 §3.5.2 defines them: op add/replace/remove, an "
        "attribute path, values in their schema types (active as true/false).",
        "RFC 7644 §3.5.2 (PATCH operations)",
        RFC,
        SHOULD,
    ),
    FindingSpec(
        "lifecycle.patch_entra_rejected",
        WARN,
        "PATCH in Entra ID's dialect rejected",
        'Entra ID sends "op": "Replace" (capitalised) and booleans as the strings "True"/"False" '
        "unless the tenant URL carries aadOptscim062020; a server that rejects them fails "
        "every update and every disable from Entra ID.",
        'Match op case-insensitively and accept "True"/"False" strings for boolean '
        "attributes; or append ?aadOptscim062020 to the Tenant URL in Entra ID so it sends the "
        "RFC form.",
        "Microsoft Learn: Known issues and resolutions with SCIM 2.0 protocol compliance of the "
        "Microsoft Entra user provisioning service",
        IDP,
        IDP_LEVEL,
    ),
    FindingSpec(
        "lifecycle.patch_okta_rejected",
        FAIL,
        "PATCH without a path (Okta's deactivation) rejected",
        'Okta deactivates a user with one PatchOp, {"op": "replace", "value": {"active": '
        "false}}, with no path — valid RFC 7644; a server that rejects it never deactivates "
        "users unassigned in Okta.",
        "Support replace operations without a path whose value is an object of attributes to "
        "set (RFC 7644 §3.5.2.3).",
        "RFC 7644 §3.5.2.3 (replace without path); Okta SCIM 2.0 reference (Update a specific "
        "user, PATCH)",
        RFC,
        SHOULD,
        providers=(OKTA,),
    ),
    FindingSpec(
        "lifecycle.patch_not_applied",
        FAIL,
        "PATCH answered success but changed nothing",
        "The identity provider believes the change (often a deactivation) was made; the user "
        "stays active and unchanged in the application, silently.",
        "Apply every operation or reject the request with a SCIM Error; never answer 200/204 "
        "for operations that were skipped (match op names case-insensitively, store booleans "
        "as booleans).",
        "RFC 7644 §3.5.2 (the PATCH is atomic: all operations applied, or an error)",
        RFC,
        SHOULD,
        providers=(ENTRA,),
    ),
    FindingSpec(
        "lifecycle.attribute_remove_failed",
        WARN,
        "PATCH remove of an attribute rejected or ignored",
        'A PatchOp {"op": "remove", "path": "<attribute>"} clears an attribute; a server that '
        "refuses it, or answers success and keeps the value, leaves a value the client meant "
        "to clear (a title, a manager) in place.",
        "Support remove with a path: the attribute becomes unassigned (absent or null in later "
        "reads); answer 204 or 200.",
        "RFC 7644 §3.5.2.2 (the attribute SHALL be considered unassigned)",
        RFC,
        MUST,
    ),
    FindingSpec(
        "lifecycle.attributes_not_declared",
        INFO,
        "Mapped attributes the server does not declare were left alone",
        "Identity providers' default mappings send active, name.givenName, name.familyName, "
        "emails and displayName; a server defines the attributes it supports in /Schemas and "
        "may drop the others. The lifecycle changes and judges only declared, writable "
        "attributes; the message lists the rest and whether the server kept them.",
        "Nothing to fix on the server. In the identity provider, map only attributes the "
        "server declares, or declare (and store) the ones it should keep.",
        "RFC 7643 §7 (schemas define the attributes a service provider supports); RFC 7644 §4 "
        "(/Schemas)",
        RFC,
        ADVICE_LEVEL,
    ),
    FindingSpec(
        "lifecycle.group_create_failed",
        WARN,
        "Creating a group failed",
        "Identity providers push group assignments as SCIM Groups; if the server cannot create "
        "one, group provisioning fails (user provisioning may still work).",
        "Support POST /Groups with displayName and members, answered 201 with the group's id; "
        "or turn group provisioning off in the identity provider.",
        "RFC 7644 §3.3; RFC 7643 §4.2 (Group)",
        RFC,
        SHOULD,
    ),
    FindingSpec(
        "lifecycle.group_member_failed",
        FAIL,
        "Adding or removing a group member failed",
        "Okta (and Entra ID with aadOptscim062020) change group membership with PATCH add on "
        'members and remove with path members[value eq "<id>"]; when it fails or is not '
        "applied, people keep or never get the access the group grants. A removal must take "
        "only the member it names.",
        'Support PATCH add on "members" and remove with path members[value eq "<id>"], '
        "removing exactly the members the filter selects; answer 204 or 200.",
        "RFC 7644 §3.5.2.1 and §3.5.2.2 (add and remove members); Okta SCIM 2.0 reference "
        "(Update specific Group membership)",
        RFC,
        SHOULD,
        providers=(OKTA,),
    ),
    FindingSpec(
        "lifecycle.group_member_entra_failed",
        WARN,
        "Group member change in Entra ID's dialect failed",
        'Without aadOptscim062020 Entra ID adds members with "op": "Add" and removes them with '
        '"op": "Remove", path "members" and the member in a value list. A server that rejects '
        "or ignores that form leaves Entra ID's group memberships stale; one that reads it the "
        "RFC's way (remove with no filter) removes every member of the group.",
        'Match op case-insensitively and treat a "Remove" on "members" with a value list as '
        "removing exactly those members; or append ?aadOptscim062020 to the Tenant URL in Entra "
        'ID, which then sends remove with members[value eq "<id>"].',
        "Microsoft Learn: Known issues and resolutions with SCIM 2.0 protocol compliance of the "
        "Microsoft Entra user provisioning service (Requests to remove a group member); "
        "Microsoft Learn SCIM tutorial (Update Group [Add Members], [Remove Members])",
        IDP,
        IDP_LEVEL,
    ),
    FindingSpec(
        "lifecycle.group_members_replace_failed",
        FAIL,
        "Replacing a group's members (Okta's full push) failed",
        'Okta may push a group\'s whole membership as one PATCH, {"op": "replace", "path": '
        '"members", "value": [...]}; a server that rejects it, or adds the members instead of '
        "replacing them, leaves people in the group after Okta removed them.",
        "Support replace on members: the group's members become exactly the list sent (RFC "
        "7644 §3.5.2.3); answer 204 or 200.",
        "Okta SCIM 2.0 reference (Update specific Group membership: full push with replace); "
        "RFC 7644 §3.5.2.3",
        IDP,
        IDP_LEVEL,
        providers=(OKTA,),
    ),
    FindingSpec(
        "lifecycle.unknown_member_server_error",
        FAIL,
        "A member id that does not exist gets a server error",
        "Identity providers add the ids the server gave them; one that was deleted in the "
        "application meanwhile is unknown. A 5xx for it makes Entra ID and Okta retry the "
        "whole group update, and Entra ID quarantines a job whose calls keep failing, so one "
        "stale member stops every membership change of the group.",
        "Check member ids before storing them and answer an unknown one with 400 and a SCIM "
        'Error with scimType "invalidValue" (or accept and ignore it); never let the lookup '
        "throw into a 500.",
        "RFC 7644 §3.12 (400 invalidValue for a value the operation cannot use); RFC 9110 "
        "§15.6 (5xx means the server failed)",
        RFC,
        SHOULD,
        providers=(ENTRA, OKTA),
    ),
    FindingSpec(
        "lifecycle.delete_failed",
        FAIL,
        "Deleting a resource failed",
        "Deprovisioning ends with DELETE (Entra ID deletes users soft-deleted for 30 days, "
        "JumpCloud and Okta delete groups); when it fails, removed people keep their account.",
        "Support DELETE /Users/<id> and /Groups/<id> and answer 204 No Content.",
        "RFC 7644 §3.6 (deleting resources)",
        RFC,
        SHOULD,
        providers=(ENTRA,),
    ),
    FindingSpec(
        "lifecycle.delete_not_204",
        WARN,
        "DELETE not answered with 204",
        "RFC 7644 prescribes 204 No Content for a successful DELETE; strict clients and the "
        "SCIM validators report any other success code.",
        "Answer a successful DELETE with 204 and an empty body.",
        "RFC 7644 §3.6 (SHALL return 204)",
        RFC,
        MUST,
    ),
    FindingSpec(
        "lifecycle.deleted_still_found",
        FAIL,
        "A deleted resource can still be read",
        "After a DELETE the resource must be gone: reads answer 404. A server that only "
        "deactivates keeps the account, and the identity provider's later create of the same "
        "person collides with it. JumpCloud accepts a server that deactivates instead of "
        "deleting, and Okta never deletes users.",
        "Delete the resource (or hide soft-deleted ones from every read, answering 404), and "
        "free its userName.",
        "RFC 7644 §3.6 (MUST return 404 for a deleted resource)",
        RFC,
        MUST,
    ),
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
        ADVICE_LEVEL,
        providers=ALL,
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
        ADVICE_LEVEL,
        providers=ALL,
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
        ADVICE_LEVEL,
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
        ADVICE_LEVEL,
        providers=ALL,
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
        ADVICE_LEVEL,
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
        SHOULD,
        providers=ALL,
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
        ADVICE_LEVEL,
    ),
)

CATALOGUE: Catalogue = Catalogue((spec.code, spec) for spec in _SPECS)

# The two ways a probe builds findings, under the names every probe calls them by.
make = CATALOGUE.make
merge_by_code = CATALOGUE.merge_by_code

__all__ = ["CATALOGUE", "FindingSpec", "make", "merge_by_code"]
