"""Security headers on every response the app sends: pages, API, error pages, static files and
attachment downloads (which bring their own sandbox policy and keep it)."""

from __future__ import annotations

from flask import Flask

# Pages run only the esbuild bundle from this origin: no inline script, no eval. Styles may be
# inline because bpmn-js and form-js set style attributes on the SVG and fields they draw;
# their icons are data: URIs. Nothing may frame a page (clickjacking).
PAGE_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
# JSON, XML, scripts, styles: a browser that opens one directly runs and loads nothing.
OTHER_POLICY = "default-src 'none'; frame-ancestors 'none'"
HSTS = "max-age=31536000"


def init_app(app: Flask, *, https: bool) -> None:
    """``https``: the service is reached over TLS only (SECURE_COOKIES), so HSTS is sent."""

    @app.after_request
    def _security_headers(response):
        headers = response.headers
        if "Content-Security-Policy" not in headers:
            html = response.mimetype == "text/html"
            headers["Content-Security-Policy"] = PAGE_POLICY if html else OTHER_POLICY
        headers["X-Frame-Options"] = "DENY"
        headers["X-Content-Type-Options"] = "nosniff"
        headers["Referrer-Policy"] = "same-origin"
        headers["Cross-Origin-Opener-Policy"] = "same-origin"
        if https:
            headers["Strict-Transport-Security"] = HSTS
        return response
