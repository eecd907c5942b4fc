"""The `lifecycle` check against the real demo server on loopback: every lifecycle code from a
demo fault, a healthy server passing, nothing left behind after a deadline, a cancellation or a
real SIGINT, SIGTERM or SIGHUP in the middle of a step (a repeated SIGTERM included), and a full
run without --allow-writes sending only GET/HEAD.

What is left on the server is read back over HTTPS by the test itself, not from the doctor's own
report.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import httpx
import pytest
from msgspec.structs import replace

from scim_doctor.checks import lifecycle
from scim_doctor.checks.base import Outcome
from scim_doctor.core.findings import CATALOGUE
from scim_doctor.core.model import Severity, Status
from scim_doctor.core.secrets import Secret
from scim_doctor.core.timeouts import within
from scim_doctor.demo.fault_kit import Fault, on_route
from scim_doctor.demo.http_faults import lifecycle as lifecycle_faults
from scim_doctor.demo.http_faults import lifecycle_ops
from scim_doctor.demo.scim_app import Handler, Request, Response
from scim_doctor.demo.server import DemoServer
from scim_doctor.lifecycle.cleanup import is_test_name
from scim_doctor.net.context import Options, ProbeContext
from scim_doctor.net.target import ResolvePin, parse_base_url
from scim_doctor.net.trust import load_trust
from scim_doctor.runs import runner
from tests.conftest import assert_valid_report
from tests.http.helpers import TOKEN, make_ctx

SCRIPT = str(Path(sys.executable).with_name("scim-doctor"))
_PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")
FAULTS = (*lifecycle_faults.FAULTS, *lifecycle_ops.FAULTS)
FAULTS_BY_NAME = {fault.name: fault for fault in FAULTS}
LEAVES_DATA = {"lifecycle_soft_delete", "lifecycle_delete_forbidden"}
"""Faults whose server keeps the test user whatever the doctor does."""
HOLD_LIMIT_S = 30.0
"""How long a `Gate` holds an answer at most: far beyond any --timeout the tests give the
doctor, so the doctor never gets the answer before the test has acted (a loaded machine may
take seconds to wake the test); every test releases the gate as soon as it is done."""


@pytest.fixture(autouse=True)
def _no_proxy_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Loopback servers must be reached directly, whatever the developer's shell exports."""
    for name in _PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


class Gate:
    """A demo fault that lets the server do its work, then holds the answer back until
    released (at most `HOLD_LIMIT_S`): a reliable window to hit the doctor mid-step."""

    def __init__(self) -> None:
        self.reached = threading.Event()
        self.release = threading.Event()

    def fault(self, method: str, pattern: str) -> Fault:
        def middleware(request: Request, call_next: Handler) -> Response:
            response = call_next(request)
            self.reached.set()
            self.release.wait(HOLD_LIMIT_S)
            return response

        return Fault(
            "held_answer",
            "answers late",
            "http",
            (),
            middleware=on_route(method, pattern, middleware),
        )


@pytest.fixture
def gate() -> Iterator[Gate]:
    held = Gate()
    try:
        yield held
    finally:
        held.release.set()


@contextlib.contextmanager
def children_see_ctrl_c() -> Iterator[None]:
    """A child inherits an ignored SIGINT, and Python then leaves Ctrl-C ignored, as it should:
    a suite started in the background (`make test &` from a script, nohup, some CI runners)
    would have a doctor that never sees the test's SIGINT, runs to its end and exits 1 without
    a word on stderr. Children started inside get SIGINT as a terminal gives it."""
    previous = signal.getsignal(signal.SIGINT)
    if previous is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        if previous is signal.SIG_IGN:
            signal.signal(signal.SIGINT, previous)


def left_on(server: DemoServer, ca: Path) -> list[str]:
    """Names of test resources still on the server, read over HTTPS by the test itself."""
    context = ssl.create_default_context(cafile=str(ca))
    names: list[str] = []
    with httpx.Client(
        verify=context, trust_env=False, headers={"Authorization": f"Bearer {TOKEN}"}
    ) as client:
        for endpoint, attribute in (("Users", "userName"), ("Groups", "displayName")):
            answer = client.get(f"https://127.0.0.1:{server.port}/scim/v2/{endpoint}?count=100")
            assert answer.status_code == 200
            names += [
                resource[attribute]
                for resource in answer.json().get("Resources", [])
                if resource[attribute].startswith("scim-doctor-")
            ]
    return names


def writes_ctx(server: DemoServer, ca: Path, **options: Any) -> ProbeContext:
    pin = ResolvePin(server.hostname, server.port, server.bind)
    ctx = make_ctx(server.base_url, load_trust(ca), resolve=[pin], **options)
    ctx.options = replace(ctx.options, allow_writes=True)
    return ctx


def run_probe(ctx: ProbeContext) -> Outcome:
    async def scenario() -> Outcome:
        try:
            return await lifecycle.run(ctx)
        finally:
            if ctx.http is not None:
                await ctx.http.aclose()

    return asyncio.run(scenario())


def against_demo(
    tmp_path: Path, fault: str | Fault | None = None, gate: Gate | None = None, **options: Any
) -> tuple[Outcome, list[str]]:
    """The check's outcome and the test resources left on the server afterwards."""
    with DemoServer(TOKEN, fault=gate.fault("POST", "/Users") if gate else fault) as server:
        try:
            ca = server.write_ca(tmp_path)
            outcome = run_probe(writes_ctx(server, ca, **options))
            return outcome, left_on(server, ca)
        finally:
            if gate is not None:
                gate.release.set()  # before the server stops, so its thread ends at once


def codes(outcome: Outcome) -> list[str]:
    return [finding.code for finding in outcome.findings]


def message(outcome: Outcome, code: str) -> str:
    return next(f.message for f in outcome.findings if f.code == code)


# --- off by default ----------------------------------------------------------------------------


def test_without_allow_writes_the_check_is_skipped_and_sends_nothing(tmp_path: Path) -> None:
    with DemoServer(TOKEN) as server:
        ca = server.write_ca(tmp_path)
        ctx = writes_ctx(server, ca)
        ctx.options = replace(ctx.options, allow_writes=False)
        outcome = run_probe(ctx)
        received = server.received

    assert outcome.status is Status.SKIP
    assert outcome.skip_reason == "read-only run: writes need --allow-writes"
    assert received == []


def test_without_a_token_the_check_is_skipped_with_the_reason(tmp_path: Path) -> None:
    with DemoServer(TOKEN) as server:
        outcome = run_probe(writes_ctx(server, server.write_ca(tmp_path), token=None))
        received = server.received

    assert outcome.skip_reason == "no token given (--no-token)"
    assert received == []


# --- a correct server --------------------------------------------------------------------------


def test_a_correct_server_passes_every_step_and_keeps_nothing(tmp_path: Path) -> None:
    outcome, left = against_demo(tmp_path)

    assert outcome.status is Status.PASS, outcome.findings
    assert codes(outcome) == ["lifecycle.writes_made"]
    assert left == []
    facts = outcome.facts
    assert facts["patch_dialects"] == {"entra": True, "rfc": True, "okta": True}
    assert facts["group_dialects"] == {"rfc": True, "entra": True, "okta": True}
    assert [c["step"] for c in facts["created"]] == [
        "create_user",
        "create_group",
        "create_member_user",
    ]
    assert facts["not_tried"] == {}
    assert {c["id"] for c in facts["cleaned_up"]} == {c["id"] for c in facts["created"]}
    assert facts["left_behind"] == []
    assert all(step["ok"] for step in facts["steps"].values()), facts["steps"]
    assert facts["steps"]["create_user"]["status"] == 201
    assert facts["steps"]["duplicate_user"]["status"] == 409
    assert facts["steps"]["group_add_member"]["status"] == 204
    assert facts["steps"]["delete_user"]["status"] == 204


def test_the_report_says_plainly_what_was_written_and_removed(tmp_path: Path) -> None:
    outcome, _ = against_demo(tmp_path)

    assert outcome.summary.startswith("WROTE to the server: created User and Group, all cleaned up")
    assert "PATCH dialects accepted: entra, rfc, okta" in outcome.summary
    written = message(outcome, "lifecycle.writes_made")
    for created in outcome.facts["created"]:
        assert f"{created['type']} {created['name']} (id {created['id']}), deleted" in written
    assert "DELETE 204, then GET 404" in written


def test_test_resources_carry_a_recognisable_unique_name(tmp_path: Path) -> None:
    first, _ = against_demo(tmp_path)
    second, _ = against_demo(tmp_path)

    names = [c["name"] for c in first.facts["created"] + second.facts["created"]]
    assert all(is_test_name(name) for name in names), names
    assert re.fullmatch(r"scim-doctor-[0-9a-f]{8}@example\.com", names[0])
    assert len(set(names)) == 6  # a user, a group and the group's second member, twice


def test_the_dialects_are_left_for_the_identity_provider_verdicts(tmp_path: Path) -> None:
    with DemoServer(TOKEN, fault="lifecycle_patch_strict_ops") as server:
        ctx = writes_ctx(server, server.write_ca(tmp_path))
        run_probe(ctx)

    shared = ctx.shared.extra["lifecycle"]
    assert shared["patch_dialects"] == {"entra": False, "rfc": True, "okta": True}
    assert shared["patch_method_not_allowed"] is False
    assert shared["steps"]["patch_entra"] == {"status": 400, "ok": False}
    assert shared["left_behind"] == 0


# --- every lifecycle code, from a demo fault -----------------------------------------------------


def test_every_lifecycle_code_is_expected_by_some_demo_fault() -> None:
    expected = {code for fault in FAULTS for code in fault.expect}
    catalogue = {code for code in CATALOGUE if code.startswith("lifecycle.")}
    assert catalogue - {"lifecycle.writes_made"} <= expected, catalogue - expected


@pytest.mark.parametrize("fault", sorted(FAULTS_BY_NAME))
def test_each_lifecycle_fault_is_named_by_its_codes_with_their_severity(
    tmp_path: Path, fault: str
) -> None:
    outcome, left = against_demo(tmp_path, fault)

    found = {f.code: f.severity for f in outcome.findings}
    expected = FAULTS_BY_NAME[fault].expect
    assert set(found) == {*expected, "lifecycle.writes_made"}, found
    for code in expected:
        assert found[code] is CATALOGUE[code].severity
    assert outcome.summary.startswith("WROTE to the server:")
    if fault not in LEAVES_DATA:
        assert left == [], f"{fault} left {left}"


def test_a_create_answered_403_gives_the_servers_reason_and_still_tries_the_group(
    tmp_path: Path,
) -> None:
    outcome, left = against_demo(tmp_path, "lifecycle_create_forbidden")

    text = message(outcome, "lifecycle.create_failed")
    assert "answered 403 Forbidden: 'This token may read users but not create them'" in text
    assert [c["type"] for c in outcome.facts["created"]] == ["Group"]
    assert "patch_entra" not in outcome.facts["steps"]
    assert left == []


def test_a_created_user_without_an_id_is_still_deleted_through_its_location(
    tmp_path: Path,
) -> None:
    outcome, left = against_demo(tmp_path, "lifecycle_create_empty_body")

    text = message(outcome, "lifecycle.create_no_id")
    assert "answered 201 with an empty body" in text
    assert "went on with the id in the Location header" in text
    assert left == []


def test_the_missing_etag_is_reported_because_the_server_declares_etags(tmp_path: Path) -> None:
    outcome, _ = against_demo(tmp_path, "lifecycle_create_no_etag")

    assert outcome.facts["etag_declared"] is True
    assert "declares etag.supported: true" in message(outcome, "lifecycle.create_no_etag")
    assert "meta.version is 'W/" in message(outcome, "lifecycle.create_no_etag")


def test_a_duplicate_create_returning_the_existing_user_fails(tmp_path: Path) -> None:
    outcome, left = against_demo(tmp_path, "lifecycle_duplicate_returns_existing")

    text = message(outcome, "lifecycle.duplicate_accepted")
    assert "answered 200 OK, expected 409 uniqueness" in text
    assert "returned the existing user (same id" in text
    assert left == []


def test_a_duplicate_the_server_stores_as_a_second_user_is_deleted_too(tmp_path: Path) -> None:
    def second_copy(request: Request, call_next: Handler) -> Response:
        response = call_next(request)
        if response.status != 409:
            return response
        copy = request.body.replace(b"@example.com", b".copy@example.com")
        return call_next(replace(request, body=copy))

    fault = Fault("second_copy", "", "http", (), middleware=on_route("POST", "/Users", second_copy))
    outcome, left = against_demo(tmp_path, fault)

    assert "created a second user" in message(outcome, "lifecycle.duplicate_accepted")
    users = [c["step"] for c in outcome.facts["created"] if c["type"] == "User"]
    assert users == ["create_user", "duplicate_user", "create_member_user"]
    assert outcome.facts["left_behind"] == []
    assert left == []


def test_a_patch_blocked_by_iis_webdav_names_the_cause_once(tmp_path: Path) -> None:
    outcome, _ = against_demo(tmp_path, "lifecycle_patch_webdav")

    assert codes(outcome).count("lifecycle.patch_method_not_allowed") == 1
    text = message(outcome, "lifecycle.patch_method_not_allowed")
    assert "/Users/" in text and "/Groups/" in text
    assert "Allow: GET, HEAD, OPTIONS, TRACE, POST" in text
    assert "'Microsoft-IIS/10.0': IIS's WebDAV module is the usual cause" in text
    assert outcome.facts["patch_dialects"] == {"entra": False, "rfc": False, "okta": False}


def test_entras_dialect_ignored_with_200_is_not_applied(tmp_path: Path) -> None:
    outcome, _ = against_demo(tmp_path, "lifecycle_patch_ignores_capitalised_ops")

    text = message(outcome, "lifecycle.patch_not_applied")
    assert "in Entra ID's dialect" in text
    assert "answered 200 OK, but active is true, expected false" in text
    assert outcome.facts["patch_dialects"] == {"entra": False, "rfc": True, "okta": True}


def test_a_server_that_only_deactivates_on_delete_leaves_the_user_listed_by_id(
    tmp_path: Path,
) -> None:
    outcome, left = against_demo(tmp_path, "lifecycle_soft_delete")

    users = [c for c in outcome.facts["created"] if c["type"] == "User"]
    assert "afterwards answered 200 OK" in message(outcome, "lifecycle.deleted_still_found")
    incomplete = message(outcome, "lifecycle.cleanup_incomplete")
    assert all(f"(id {user['id']})" in incomplete for user in users)
    assert {e["id"] for e in outcome.facts["left_behind"]} == {user["id"] for user in users}
    assert "2 LEFT BEHIND" in outcome.summary
    assert sorted(left) == sorted(user["name"] for user in users)


def test_a_soft_delete_is_one_cause_whose_leftover_fix_is_not_the_cleanup_command(
    tmp_path: Path,
) -> None:
    """`scim-doctor cleanup` DELETEs too, which only deactivates here: the fix must say so."""
    outcome, _ = against_demo(tmp_path, "lifecycle_soft_delete")

    incomplete = next(f for f in outcome.findings if f.code == "lifecycle.cleanup_incomplete")
    assert incomplete.severity is Severity.WARN
    assert "cannot remove the test resources either" in incomplete.remediation
    assert "run `scim-doctor cleanup`" not in incomplete.message
    assert codes(outcome).count("lifecycle.deleted_still_found") == 1


def test_a_refused_delete_is_retried_by_the_clean_up_and_then_listed(tmp_path: Path) -> None:
    with DemoServer(TOKEN, fault="lifecycle_delete_forbidden") as server:
        outcome = run_probe(writes_ctx(server, server.write_ca(tmp_path)))
        deletes = [r.path for r in server.received if r.method == "DELETE"]

    [user] = [c for c in outcome.facts["created"] if c["step"] == "create_user"]
    assert deletes.count(f"/scim/v2/Users/{user['id']}") == 2
    assert "clean-up DELETE answered 403 Forbidden" in message(
        outcome, "lifecycle.cleanup_incomplete"
    )


# --- clean-up whatever happens -------------------------------------------------------------------


def test_a_create_whose_answer_never_came_is_found_by_name_and_deleted(
    tmp_path: Path, gate: Gate
) -> None:
    outcome, left = against_demo(tmp_path, gate=gate, timeout=0.5)

    assert "http.timeout" in codes(outcome)
    assert left == []
    [user] = [c for c in outcome.facts["cleaned_up"] if c["type"] == "User"]
    assert user["how"] == "clean-up: DELETE 204 No Content"


def test_the_deadline_mid_step_still_deletes_everything_and_reports_it(
    tmp_path: Path, gate: Gate
) -> None:
    with DemoServer(TOKEN, fault=gate.fault("POST", "/Groups")) as server:
        ca = server.write_ca(tmp_path)
        options = Options(
            timeout=5.0,
            deadline=1.5,
            cacert=ca,
            resolve=(ResolvePin(server.hostname, server.port, server.bind),),
            only=frozenset({"lifecycle"}),
            allow_writes=True,
        )
        started = time.monotonic()
        report = runner.run(parse_base_url(server.base_url), options, Secret(TOKEN), load_trust(ca))
        elapsed = time.monotonic() - started
        left = left_on(server, ca)
        gate.release.set()

    [check] = [c for c in report.checks if c.id == "lifecycle"]
    assert left == []
    assert {f.code for f in check.findings} == {"run.deadline_exceeded", "lifecycle.writes_made"}
    deadline = next(f.message for f in check.findings if f.code == "run.deadline_exceeded")
    assert "at step create_group when the run reached its 1.5 s deadline" in deadline
    assert check.facts["left_behind"] == []
    assert {c["type"] for c in check.facts["cleaned_up"]} == {"User", "Group"}
    assert check.summary.startswith("WROTE to the server:")
    assert elapsed < 1.5 + 2.0


def test_a_cancelled_run_deletes_everything_then_lets_the_cancellation_through(
    tmp_path: Path, gate: Gate, capsys: pytest.CaptureFixture[str]
) -> None:
    async def cancel_mid_step(ctx: ProbeContext) -> None:
        task = asyncio.ensure_future(lifecycle.run(ctx))
        while not gate.reached.is_set():
            await asyncio.sleep(0.02)
        task.cancel()
        try:
            with pytest.raises(asyncio.CancelledError):
                await task
        finally:
            await ctx.http.aclose()

    with DemoServer(TOKEN, fault=gate.fault("POST", "/Groups")) as server:
        ca = server.write_ca(tmp_path)
        asyncio.run(cancel_mid_step(writes_ctx(server, ca)))
        left = left_on(server, ca)
        gate.release.set()

    assert left == []
    said = capsys.readouterr().err
    assert "interrupted during the lifecycle check (step create_group); deleted User" in said
    assert ", Group scim-doctor-" in said
    assert "LEFT ON THE SERVER" not in said


def test_sigint_mid_lifecycle_leaves_nothing_on_the_server(tmp_path: Path, gate: Gate) -> None:
    with DemoServer(TOKEN, fault=gate.fault("POST", "/Groups")) as server:
        ca = server.write_ca(tmp_path)
        returncode, stdout, stderr = stop_mid_lifecycle(
            server, ca, gate, signal.SIGINT, children_see_ctrl_c()
        )
        left = left_on(server, ca)
        received = server.received

    assert returncode == 130, f"stderr: {stderr!r}; stdout: {stdout[:2000]!r}"
    assert left == []
    assert "interrupted during the lifecycle check (step create_group)" in stderr
    created = [r for r in received if r.method == "POST"]
    deleted = [r.path for r in received if r.method == "DELETE"]
    assert len(created) == 3  # user, duplicate (409), group
    assert any(path.startswith("/scim/v2/Groups/") for path in deleted)
    assert any(path.startswith("/scim/v2/Users/") for path in deleted)
    assert TOKEN not in stderr


def start_doctor(server: DemoServer, ca: Path) -> subprocess.Popen[str]:
    """`scim-doctor check --allow-writes --only lifecycle` against `server`, as a real process."""
    env = {k: v for k, v in os.environ.items() if k.upper() not in _PROXY_VARIABLES}
    argv = [
        SCRIPT, "check", server.base_url, "--cacert", str(ca), "--resolve", server.resolve_pin,
        "--allow-writes", "--only", "lifecycle", "--timeout", "20", "--format", "json",
    ]  # fmt: skip
    return subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**env, "SCIM_TOKEN": TOKEN},
    )


def stop_mid_lifecycle(
    server: DemoServer,
    ca: Path,
    gate: Gate,
    stop: signal.Signals,
    children: contextlib.AbstractContextManager[None],
) -> tuple[int, str, str]:
    """Start the doctor (under `children`'s signal set-up), send `stop` while the lifecycle's
    POST /Groups is held, and return its exit code, stdout and stderr."""
    with children:
        process = start_doctor(server, ca)
    try:
        assert gate.reached.wait(30), "the lifecycle never reached POST /Groups"
        assert process.poll() is None, "the doctor ended while its POST /Groups was held"
        process.send_signal(stop)
        stdout, stderr = process.communicate(timeout=20)
    finally:
        gate.release.set()
        if process.poll() is None:
            process.kill()
            process.communicate()
    return process.returncode, stdout, stderr


@contextlib.contextmanager
def children_ignore_ctrl_c() -> Iterator[None]:
    """What `cmd &` in a script does: the child starts with SIGINT ignored, so asyncio.run
    installs no Ctrl-C handler of its own."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def both(first: Fault, second: Fault) -> Fault:
    """One demo fault made of two held routes."""
    outer, inner = first.middleware, second.middleware
    assert outer is not None and inner is not None

    def middleware(request: Request, call_next: Handler) -> Response:
        return outer(request, lambda passed: inner(passed, call_next))

    return Fault("held_answers", "answers late", "http", (), middleware=middleware)


class StderrLines:
    """The doctor's stderr read on a thread, so a test can wait for a line while it runs."""

    def __init__(self, stream: IO[str]) -> None:
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._reader.start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            with self._changed:
                self.lines.append(line)
                self._changed.notify_all()

    def wait_for(self, text: str, timeout: float) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: any(text in x for x in self.lines), timeout)

    def text(self) -> str:
        self._reader.join(10)
        return "".join(self.lines)


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_sigterm_or_sighup_mid_lifecycle_cleans_up_says_what_it_deleted_and_exits_130(
    tmp_path: Path, gate: Gate, stop: signal.Signals
) -> None:
    """What CI runners, `timeout`, Docker and systemd send (SIGTERM), or a closed terminal
    (SIGHUP), ends the run as Ctrl-C does: the test user is deleted and named on stderr."""
    with DemoServer(TOKEN, fault=gate.fault("POST", "/Groups")) as server:
        ca = server.write_ca(tmp_path)
        returncode, stdout, stderr = stop_mid_lifecycle(
            server, ca, gate, stop, children_see_ctrl_c()
        )
        left = left_on(server, ca)

    assert returncode == 130, f"stderr: {stderr!r}; stdout: {stdout[:2000]!r}"
    assert left == []
    said = re.search(
        r"scim-doctor: interrupted during the lifecycle check \(step create_group\); deleted "
        r"User scim-doctor-[0-9a-f]{8}@example.com \(id [^)]+\), Group scim-doctor-[0-9a-f]{8} ",
        stderr,
    )
    assert said is not None, stderr
    assert f"scim-doctor: interrupted by {stop.name}" in stderr
    assert "Traceback" not in stderr
    assert TOKEN not in stderr + stdout


def test_sigterm_stops_a_background_run_whose_ctrl_c_is_ignored_and_still_cleans_up(
    tmp_path: Path, gate: Gate
) -> None:
    """`scim-doctor check ... &` in a script starts with SIGINT ignored; SIGTERM (which a CI
    runner then sends) must still clean up and exit 130."""
    with DemoServer(TOKEN, fault=gate.fault("POST", "/Groups")) as server:
        ca = server.write_ca(tmp_path)
        returncode, stdout, stderr = stop_mid_lifecycle(
            server, ca, gate, signal.SIGTERM, children_ignore_ctrl_c()
        )
        left = left_on(server, ca)

    assert returncode == 130, f"stderr: {stderr!r}; stdout: {stdout[:2000]!r}"
    assert left == []
    assert "interrupted during the lifecycle check (step create_group); deleted User" in stderr
    assert "scim-doctor: interrupted by SIGTERM" in stderr
    assert "Traceback" not in stderr


def test_a_second_sigterm_during_the_clean_up_is_acknowledged_and_does_not_cut_it_short(
    tmp_path: Path, gate: Gate
) -> None:
    """Machines send more than one signal (systemd SIGTERM then SIGHUP, `timeout` the process
    then its group): the one that comes while the test user's DELETE is under way gets a line
    on stderr, and the clean-up still finishes."""
    deleting = Gate()
    fault = both(gate.fault("POST", "/Groups"), deleting.fault("DELETE", "/Users/*"))
    try:
        with DemoServer(TOKEN, fault=fault) as server:
            ca = server.write_ca(tmp_path)
            with children_see_ctrl_c(), start_doctor(server, ca) as process:
                stderr = StderrLines(process.stderr)  # type: ignore[arg-type]
                assert gate.reached.wait(30), "the lifecycle never reached POST /Groups"
                process.send_signal(signal.SIGTERM)
                assert deleting.reached.wait(30), "the clean-up never sent DELETE /Users/..."
                process.send_signal(signal.SIGTERM)
                acknowledged = stderr.wait_for("SIGTERM again", 10)
                still_running = process.poll() is None
                deleting.release.set()
                gate.release.set()
                returncode = process.wait(20)
                said = stderr.text()
            left = left_on(server, ca)
    finally:
        deleting.release.set()
        gate.release.set()

    assert acknowledged, said
    assert still_running
    assert returncode == 130, said
    assert left == []
    assert (
        "scim-doctor: SIGTERM again: already stopping; a lifecycle clean-up (--allow-writes) that "
        "is running is finished first (SIGKILL would leave its test resources on the server)"
    ) in said
    deleted = said.index("interrupted during the lifecycle check (step create_group); deleted")
    assert said.index("SIGTERM again") < deleted
    assert "deleted User scim-doctor-" in said
    assert "Traceback" not in said


# --- end to end -----------------------------------------------------------------------------------


def check_args(server: DemoServer, ca: Path, *extra: str) -> list[str]:
    return [
        "check",
        server.base_url,
        "--cacert",
        str(ca),
        "--resolve",
        server.resolve_pin,
        "--format",
        "json",
        *extra,
    ]


def test_a_full_run_without_allow_writes_sends_only_get_and_head(
    run_cli: Any, tmp_path: Path, report_validator: Any
) -> None:
    with DemoServer(TOKEN, http_listener=True) as server:
        ca = server.write_ca(tmp_path)
        port = str(server.http_port)
        result = run_cli(
            *check_args(server, ca, "--http-port", port, "--deep", "--strict"),
            env={"SCIM_TOKEN": TOKEN},
        )
        received = server.received

    report = result.json()
    assert_valid_report(report_validator, report)
    [check] = [c for c in report["checks"] if c["id"] == "lifecycle"]
    assert check["status"] == "skip"
    assert check["skip_reason"] == "read-only run: writes need --allow-writes"
    assert all(c["status"] != "skip" for c in report["checks"] if c["id"] != "lifecycle")
    assert len(received) > 20
    assert {r.method for r in received} <= {"GET", "HEAD"}, {r.method for r in received}


def test_the_cli_with_allow_writes_reports_what_it_wrote(
    run_cli: Any, tmp_path: Path, report_validator: Any
) -> None:
    with DemoServer(TOKEN) as server:
        ca = server.write_ca(tmp_path)
        result = run_cli(*check_args(server, ca, "--allow-writes"), env={"SCIM_TOKEN": TOKEN})
        left = left_on(server, ca)

    report = result.json()
    assert_valid_report(report_validator, report)
    [check] = [c for c in report["checks"] if c["id"] == "lifecycle"]
    assert check["status"] == "pass"
    assert check["summary"].startswith("WROTE to the server:")
    assert [f["code"] for f in check["findings"]] == ["lifecycle.writes_made"]
    assert result.exit_code == 0
    assert left == []
    assert TOKEN not in result.stdout + result.stderr


def test_the_cli_fails_a_server_that_cannot_delete_and_names_the_leftover(
    run_cli: Any, tmp_path: Path, report_validator: Any
) -> None:
    with DemoServer(TOKEN, fault="lifecycle_delete_forbidden") as server:
        ca = server.write_ca(tmp_path)
        result = run_cli(*check_args(server, ca, "--allow-writes"), env={"SCIM_TOKEN": TOKEN})

    report = result.json()
    assert_valid_report(report_validator, report)
    [check] = [c for c in report["checks"] if c["id"] == "lifecycle"]
    assert check["status"] == "fail"
    found = [f["code"] for f in check["findings"]]
    assert found == [
        "lifecycle.delete_failed",
        "lifecycle.cleanup_incomplete",
        "lifecycle.writes_made",
    ]
    leftovers = check["facts"]["left_behind"]
    assert [e["type"] for e in leftovers] == ["User", "User"] and all(e["id"] for e in leftovers)
    assert result.exit_code == 1
    deleting, leftover = check["findings"][:2]
    assert deleting["severity"] == Severity.FAIL.value and deleting["affects"] == ["entra"]
    assert leftover["severity"] == Severity.WARN.value  # a consequence does not fail again
    assert leftover["caused_by"] == "lifecycle.delete_failed"


def test_the_runners_cancellation_at_the_deadline_still_yields_the_report(
    tmp_path: Path, gate: Gate
) -> None:
    """The runner's time limit fires a moment before the request's own deadline-capped timeout."""

    async def cancelled_at_deadline(ctx: ProbeContext) -> Outcome:
        try:
            return await within(lifecycle.run(ctx), ctx.remaining() - 0.03)
        finally:
            await ctx.http.aclose()

    with DemoServer(TOKEN, fault=gate.fault("PUT", "/Users/*")) as server:
        ca = server.write_ca(tmp_path)
        ctx = writes_ctx(server, ca, timeout=5.0, deadline=1.0)
        outcome = asyncio.run(cancelled_at_deadline(ctx))
        left = left_on(server, ca)
        gate.release.set()

    assert left == []
    assert "at step put_user when the run reached" in message(outcome, "run.deadline_exceeded")
    assert outcome.facts["cleanup"]["stopped_by_deadline_at"] == "put_user"
    assert outcome.facts["left_behind"] == []
