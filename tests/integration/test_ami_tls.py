"""AMI over TLS: the client checks Asterisk's certificate and host name.

The simulator serves AMI over TLS as Asterisk does with ``tlsenable``, with a
certificate made for this test by ``openssl``. A client given that certificate as
its CA logs in and talks; one left with the system's CAs, or told to reach the
same server under another name, never sends its secret.
"""

from __future__ import annotations

import shutil
import ssl
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
import structlog
from pydantic import SecretStr

from callcenter.pbxsim.server import PbxSimulator
from callcenter.settings import PbxSettings
from tests.integration.test_ami_client import _client, running

SECRET = "tls-secret"


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    cert, key = tmp_path / "ami.pem", tmp_path / "ami.key"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
            "-addext", "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest_asyncio.fixture
async def tls_pbx(certificate: tuple[Path, Path]) -> AsyncIterator[PbxSimulator]:
    cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    simulator = PbxSimulator(port=0, users={"callcenter": SECRET}, tls=context)
    await simulator.start()
    yield simulator
    await simulator.stop()


def settings(pbx: PbxSimulator, **tls: object) -> PbxSettings:
    return PbxSettings(
        host=str(tls.pop("host", "127.0.0.1")),
        port=pbx.port,
        secret=SecretStr(SECRET),
        tls=True,
        **tls,  # type: ignore[arg-type]
    )


async def test_a_client_trusting_the_pbxs_certificate_logs_in_over_tls(
    tls_pbx: PbxSimulator, certificate: tuple[Path, Path]
) -> None:
    cert, _ = certificate
    async with running(_client(settings(tls_pbx, tls_ca_file=cert), print)) as client:
        await client.wait_connected(5)
        pong = await client.send_action("Ping")
    assert pong.response.get("Response") == "Success"


async def test_a_plain_client_cannot_talk_to_a_tls_port(tls_pbx: PbxSimulator) -> None:
    plain = PbxSettings(port=tls_pbx.port, secret=SecretStr(SECRET))
    async with running(_client(plain, print)) as client:
        with pytest.raises(TimeoutError):
            await client.wait_connected(1.0)


@pytest.mark.parametrize(
    "where",
    [{}, {"host": "localhost"}],
    ids=["certificate-not-trusted", "certificate-for-another-name"],
)
async def test_a_client_that_cannot_check_the_certificate_never_logs_in(
    tls_pbx: PbxSimulator, certificate: tuple[Path, Path], where: dict[str, object]
) -> None:
    cert, _ = certificate
    given = dict(where)
    if where:
        given["tls_ca_file"] = cert
    with structlog.testing.capture_logs() as logs:
        async with running(_client(settings(tls_pbx, **given), print)) as client:
            with pytest.raises(TimeoutError):
                await client.wait_connected(1.0)
    downs = [entry for entry in logs if entry["event"] == "AMI link down"]
    assert downs and "CERTIFICATE_VERIFY_FAILED" in downs[0]["error"]
    assert SECRET not in repr(logs)
