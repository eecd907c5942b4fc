"""Client certificates in the fleet file (issue 20, part 1): `cert`, `key`,
`key_passphrase_env`, `key_passphrase_file` as keys of `[defaults]` or a `[[targets]]` table,
the curl-style options of `check`; the passphrase itself is refused, never shown.

Given a scim-doctor.toml, When it is loaded (or `check --config` runs against the demo server
requiring a client certificate), Then the target presents the certificate, or the mistake is
named by file, line and key before any network step.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from scim_doctor.core.errors import InputError
from scim_doctor.demo.server import DemoServer
from scim_doctor.runs.config import load_config
from tests.test_client_certs import TOKEN, encrypted_key

PHRASE = "pp-canary-7Hq2Lx9Vb4"


def _encrypted_pair(server: DemoServer, tmp_path: Path) -> tuple[Path, Path]:
    cert, key = server.write_client_cert(tmp_path)
    key.write_bytes(encrypted_key(key, PHRASE.encode()))
    return cert, key


def _write(tmp_path: Path, text: str) -> Path:
    for name in ("client.pem", "client-key.pem", "phrase"):
        if not (tmp_path / name).exists():
            (tmp_path / name).write_text("placeholder\n")
    path = tmp_path / "scim-doctor.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_client_certificate_keys_reach_the_run_options(tmp_path: Path) -> None:
    config = load_config(
        _write(
            tmp_path,
            '[defaults]\ncert = "client.pem"\nkey = "client-key.pem"\n'
            'key_passphrase_env = "MTLS_PASS"\n\n'
            '[[targets]]\nname = "a"\nurl = "https://a.example.test/scim/v2"\ntoken_env = "T"\n\n'
            '[[targets]]\nname = "b"\nurl = "https://b.example.test/scim/v2"\ntoken_env = "T"\n'
            'cert = "client.pem"\nkey_passphrase_file = "phrase"\n',
        )
    )
    a, b = config.targets
    source = a.options().client_cert
    assert source is not None
    assert (source.cert, source.key) == (tmp_path / "client.pem", tmp_path / "client-key.pem")
    assert source.passphrase_env == "MTLS_PASS"
    own = b.options().client_cert  # the target's keys replace the defaults' as a whole
    assert own is not None and own.key is None and own.passphrase_env is None
    assert own.passphrase_file == tmp_path / "phrase"


@pytest.mark.parametrize("key", ["key_passphrase", "passphrase", "Key_Password"])
def test_a_passphrase_written_into_the_file_is_refused_without_showing_it(
    tmp_path: Path, key: str
) -> None:
    path = _write(
        tmp_path,
        f'[[targets]]\nurl = "https://a.example.test/scim/v2"\ncert = "client.pem"\n'
        f'{key} = "{PHRASE}"\n',
    )
    with pytest.raises(InputError) as caught:
        load_config(path)
    message = str(caught.value)
    assert PHRASE not in message
    assert f"{path}:4: [[targets]] #1: {key}: refused" in message
    assert "key_passphrase_env" in message


def test_a_passphrase_given_as_key_passphrase_env_is_refused_without_showing_it(
    tmp_path: Path,
) -> None:
    path = _write(
        tmp_path,
        '[[targets]]\nurl = "https://a.example.test/scim/v2"\ncert = "client.pem"\n'
        'key_passphrase_env = "open sesame 42!"\n',
    )
    with pytest.raises(InputError) as caught:
        load_config(path)
    assert "open sesame" not in str(caught.value)
    assert "not the passphrase" in str(caught.value)


@pytest.mark.parametrize(
    ("lines", "words"),
    [
        ('key = "client-key.pem"', "key: needs cert"),
        ('cert = "missing.pem"', "missing.pem: no such file"),
        (
            'cert = "client.pem"\nkey_passphrase_env = "P"\nkey_passphrase_file = "phrase"',
            "key_passphrase_file: give the passphrase once",
        ),
    ],
)
def test_a_client_certificate_mistake_names_its_key(tmp_path: Path, lines: str, words: str) -> None:
    path = _write(tmp_path, f'[[targets]]\nurl = "https://a.example.test/scim/v2"\n{lines}\n')
    with pytest.raises(InputError) as caught:
        load_config(path)
    assert words in str(caught.value)


def test_check_config_presents_the_client_certificate_the_file_names(tmp_path: Path) -> None:
    """Given the demo server requiring a client certificate and a config whose target names
    the certificate, its encrypted key and the passphrase's environment variable, When
    `check --config` runs, Then the certificate is accepted, the run passes, and the
    passphrase appears nowhere."""
    with DemoServer(TOKEN, fault="client_cert_required") as server:
        cert, key = _encrypted_pair(server, tmp_path)
        ca = server.write_ca(tmp_path)
        config = tmp_path / "scim-doctor.toml"
        config.write_text(
            f'[[targets]]\nname = "mtls"\nurl = "{server.base_url}"\ntoken_env = "SCIM_TOKEN"\n'
            f'cacert = "{ca.name}"\nresolve = ["{server.resolve_pin}"]\n'
            f'cert = "{cert.name}"\nkey = "{key.name}"\nkey_passphrase_env = "MTLS_PASS"\n'
        )
        argv = [sys.executable, "-m", "scim_doctor", "check", "--config", str(config)]
        done = subprocess.run(
            [*argv, "--format", "json", "--timeout", "3"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env={**os.environ, "SCIM_TOKEN": TOKEN, "MTLS_PASS": PHRASE},
        )
    assert PHRASE not in done.stdout + done.stderr
    report = json.loads(done.stdout)
    (target,) = report["targets"]
    tls = next(c for c in target["checks"] if c["id"] == "tls")
    codes = {f["code"]: f["severity"] for c in target["checks"] for f in c["findings"]}
    assert codes.get("tls.client_cert_accepted") == "info", codes
    assert tls["facts"]["client_cert_presented"] is True
    assert target["summary"]["status"] == "pass"
    assert done.returncode == 0, done.stderr
