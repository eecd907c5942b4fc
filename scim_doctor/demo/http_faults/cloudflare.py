"""Cloudflare's block page and headers, as a blocked request gets them: shared by the faults
that put a WAF in front of the demo API (a missing Accept header, a blocked address)."""

from __future__ import annotations

from scim_doctor.demo.scim_wire import Response


def _page(ray_id: str) -> bytes:
    return f"""<!DOCTYPE html>
<!--[if lt IE 7]> <html class="no-js ie6 oldie" lang="en-US"> <![endif]-->
<html lang="en-US">
<head>
<title>Attention Required! | Cloudflare</title>
<meta charset="UTF-8" />
<link rel="stylesheet" id="cf_styles-css" href="/cdn-cgi/styles/cf.errors.css" />
</head>
<body>
  <div id="cf-wrapper">
    <div id="cf-error-details" class="cf-error-details-wrapper">
      <h1 data-translate="block_headline">Sorry, you have been blocked</h1>
      <h2 class="cf-subheadline">You are unable to access scim.example.com</h2>
      <p>This website is using a security service to protect itself from online attacks. The
      action you just performed triggered the security solution.</p>
      <div class="cf-error-footer">
        <span>Cloudflare Ray ID: <strong class="font-semibold">{ray_id}</strong></span>
        <span>Performance &amp; security by Cloudflare</span>
      </div>
    </div>
  </div>
</body>
</html>
""".encode()


def block(ray_id: str) -> Response:
    """The 403 Cloudflare answers a blocked request with (its edge in Frankfurt)."""
    headers = (
        ("Content-Type", "text/html; charset=UTF-8"),
        ("Server", "cloudflare"),
        ("CF-RAY", f"{ray_id}-FRA"),
        ("Cache-Control", "private, max-age=0, no-store, no-cache, must-revalidate"),
    )
    return Response(403, headers, _page(ray_id))
