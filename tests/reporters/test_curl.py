"""The curl command that replays an exchange: quoting, the token only as $SCIM_TOKEN, and the
run's pins, CA file, proxy and --insecure carried over."""

from __future__ import annotations

import shlex
import subprocess
from typing import Any

import msgspec.structs

from scim_doctor.core.model import CheckResult, Exchange, Report, Status
from scim_doctor.core.secrets import Secret, redact
from scim_doctor.reporters import html, text
from scim_doctor.reporters import json as json_reporter
from scim_doctor.reporters.bundle import reproduce_script
from scim_doctor.reporters.curl import TOKEN_HEADER, curl_command, quote
from tests.reporters import sample_reports

CANARY = "curl-canary-token-5Hq81vZ03kLm"
URL = 'https://scim.example.com/scim/v2/Users?filter=userName eq "a\'b"&count=1'


def exchange(*headers: tuple[str, str], method: str = "GET", url: str = URL) -> Exchange:
    return Exchange(
        method=method,
        url=url,
        request_headers=headers,
        status=401,
        http_version="HTTP/1.1",
        response_headers=(),
        body_excerpt="",
        body_bytes=0,
        body_truncated=False,
    )


WITH_TOKEN = exchange(
    ("Host", "scim.example.com"),
    ("User-Agent", "scim-doctor/0.1.0"),
    ("Accept", "application/scim+json"),
    ("Authorization", "Bearer [REDACTED]"),
)


def words(command: str) -> list[str]:
    """The command as bash splits it, $SCIM_TOKEN left as written (no shell: no expansion)."""
    return shlex.split(command, comments=True)


def test_the_url_and_headers_are_single_quoted_and_split_back_exactly() -> None:
    command = curl_command(WITH_TOKEN, {})
    assert command.startswith(f"curl -sS -i -X GET {quote(URL)} ")
    assert words(command)[:6] == ["curl", "-sS", "-i", "-X", "GET", URL]
    assert "-H 'Accept: application/scim+json'" in command
    assert "Host" not in command and "User-Agent" not in command


def test_the_token_is_the_shell_variable_in_double_quotes_never_a_value() -> None:
    Secret(CANARY)
    planted = exchange(("Authorization", f"Bearer {CANARY}"))
    for item in (WITH_TOKEN, planted):
        command = curl_command(item, {})
        assert TOKEN_HEADER in command
        assert '-H "Authorization: Bearer $SCIM_TOKEN"' in command
        assert CANARY not in command and "[REDACTED]" not in command


def test_a_request_sent_without_a_token_gets_no_authorization_header() -> None:
    command = curl_command(exchange(("Accept", "application/scim+json")), {})
    assert "Authorization" not in command and "SCIM_TOKEN" not in command


def test_the_bash_expansion_gives_the_token_only_where_the_header_is() -> None:
    """Given SCIM_TOKEN in the environment, when bash expands the command, then the token fills
    the Authorization header and nothing else changes."""
    command = curl_command(WITH_TOKEN, {})
    expanded = subprocess.run(  # printf shows the words bash built
        ["/bin/bash", "-c", "printf '%s\\n' " + command.replace("curl ", "", 1)],
        env={"SCIM_TOKEN": "tok en$x"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert expanded[4] == URL
    assert "Authorization: Bearer tok en$x" in expanded


def test_pins_cacert_proxy_and_insecure_are_carried_over_when_the_run_used_them() -> None:
    environment: dict[str, Any] = {
        "resolve": ["scim.example.com:443:203.0.113.10", "scim.example.com:443:2001:db8::1"],
        "cacert": "/home/ada/my ca.pem",
        "proxy": "http://proxy.example.com:3128",
        "insecure": True,
    }
    command = curl_command(WITH_TOKEN, environment)
    split = words(command)
    assert split[split.index("--cacert") + 1] == "/home/ada/my ca.pem"
    assert split[split.index("--proxy") + 1] == "http://proxy.example.com:3128"
    assert "-k" in split
    pins = [split[i + 1] for i, word in enumerate(split) if word == "--resolve"]
    assert pins == ["scim.example.com:443:203.0.113.10", "scim.example.com:443:[2001:db8::1]"]
    plain = curl_command(WITH_TOKEN, {"resolve": [], "cacert": None, "proxy": None})
    for option in ("--resolve", "--cacert", "--proxy", "-k"):
        assert option not in words(plain)


def test_what_cannot_be_replayed_as_is_is_said_in_a_comment() -> None:
    redacted = exchange(url="https://scim.example.com/scim/v2/Users?access_token=%5BREDACTED%5D")
    assert "# the URL's credential is redacted" in curl_command(redacted, {})
    proxy = {"proxy": "http://[REDACTED]@proxy.example.com:3128"}
    assert "the proxy's credentials are redacted" in curl_command(WITH_TOKEN, proxy)
    post = exchange(("Content-Type", "application/scim+json"), method="POST")
    command = curl_command(post, {})
    assert "-X POST" in command and "-H 'Content-Type: application/scim+json'" in command
    assert "# the request body is not recorded" in command
    other = exchange(("Authorization", "[REDACTED]"))
    assert "another Authorization value" in curl_command(other, {})
    assert "#" not in curl_command(WITH_TOKEN, {})


def test_head_uses_curl_head_mode_not_x_head() -> None:
    """curl -X HEAD waits for a body that never comes; -I asks for the headers only."""
    command = curl_command(exchange(method="HEAD"), {})
    assert command.startswith("curl -sS -I ") and "-X" not in command


def _canary_report() -> Report:
    Secret(CANARY)
    planted = exchange(("Authorization", f"Bearer {CANARY}"), url=URL + f"&token={CANARY}")
    check = CheckResult("auth", "Token authentication", Status.FAIL, 1.0, "refused")
    check = msgspec.structs.replace(check, exchanges=(planted, WITH_TOKEN))
    base = sample_reports.failing()
    return msgspec.structs.replace(base, checks=(*base.checks, check))


def test_the_canary_token_is_in_no_output_that_carries_curl_commands() -> None:
    """Given a token planted unredacted in an exchange, then no curl command holds it (before
    any output redaction), and no output does once written (the writer redacts every output)."""
    report = _canary_report()
    outputs = {
        "text": text.render(report, verbose=True),
        "html": html.render(report),
        "json": json_reporter.render(report),
        "reproduce.sh": reproduce_script(report),
    }
    for name, output in outputs.items():
        commands = [line for line in output.splitlines() if "curl -sS" in line]
        assert commands or name == "json", name
        assert all(CANARY not in line for line in commands), name
        assert CANARY not in redact(output), name
    assert CANARY not in outputs["reproduce.sh"]
    assert outputs["text"].count('"Authorization: Bearer $SCIM_TOKEN"') == 3
    assert outputs["reproduce.sh"].count('$SCIM_TOKEN"') == 3


def test_only_exchanges_of_failing_warning_or_broken_checks_get_a_command() -> None:
    healthy = sample_reports.healthy()  # its auth check passed, with an exchange
    assert "$ curl" not in text.render(healthy, verbose=True)
    assert 'class="curl"' not in html.render(healthy)
    assert "nothing to replay" in reproduce_script(healthy)
    assert 'class="curl"' in html.render(sample_reports.failing())


def test_an_environment_read_from_any_json_still_gives_a_command() -> None:
    """Given a report whose environment is not as the runner writes it, the command is made."""
    for odd in ({"resolve": "x"}, {"resolve": ["no-colons"]}, {"resolve": None, "proxy": 3}):
        assert curl_command(WITH_TOKEN, odd).startswith("curl -sS -i -X GET ")
