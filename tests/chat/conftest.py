import datetime
import ipaddress
import ssl

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from apps.endpoints.models import Endpoint
from tests import stack

from .fakes import FakeModelServer
from .http_targets import ENVIRONMENT as CHAT_STAND_INS

HYPERPOD_KEY = "sk-hyperpod-test-key-0123456789"


def self_signed(directory, name: str = "localhost") -> tuple[str, str]:
    """A self-signed certificate for localhost/127.0.0.1; returns (cert path, key path)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                    x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / f"{name}-{id(key)}.pem", directory / f"{name}-{id(key)}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_path), str(key_path)


def server_tls(cert: str, key: str) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return self_signed(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def sagemaker_fake():
    with FakeModelServer(kind="sagemaker", served_model="/opt/ml/model") as server:
        yield server


@pytest.fixture(scope="module")
def hyperpod_fake(certs):
    with FakeModelServer(kind="openai", api_key=HYPERPOD_KEY, ssl_context=server_tls(*certs),
                         served_model="hp-served") as server:
        yield server


@pytest.fixture(scope="module")
def local_fake():
    # Like `transformers serve`: no `data: [DONE]` at the end of a stream.
    with FakeModelServer(kind="openai", send_done=False, served_model="/models/tiny") as server:
        yield server


def gateway_env(certs, sagemaker_fake, **extra) -> dict:
    return stack.stack_env(
        SAGEMAKER_RUNTIME_ENDPOINT_URL=sagemaker_fake.url,
        AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_REGION="us-east-1",
        CHAT_UPSTREAM_CA_BUNDLE=certs[0], CHAT_UPSTREAM_READ_TIMEOUT="3", CHAT_RATE_LIMIT_REQUESTS="100000",
        CHAT_MAX_REQUEST_BYTES=str(256 * 1024), **CHAT_STAND_INS, **extra,
    )


@pytest.fixture(scope="module")
def web(django_db_setup, django_db_blocker, certs, sagemaker_fake, hyperpod_fake, local_fake):
    """The real ASGI app (uvicorn) on the test database, wired to the three fake upstreams."""
    with django_db_blocker.unblock():
        env = gateway_env(certs, sagemaker_fake)
    with stack.web_server(env) as url:
        yield url


@pytest.fixture(autouse=True)
def _reset_fakes(request):
    for name in ("sagemaker_fake", "hyperpod_fake", "local_fake"):
        if name in request.fixturenames:
            fake = request.getfixturevalue(name)
            fake.requests.clear()
            fake.cancelled = fake.completed = 0


def make_endpoint(owner, name: str, target: str, *, upstream=None, status="in_service", **fields) -> Endpoint:
    defaults = dict(source="hf", model_uri="org/tiny", engine="vllm", instance_type="ml.g5.xlarge",
                    status=status, served_model_name=getattr(upstream, "served_model", ""))
    if target == "sagemaker":
        defaults["remote_name"] = f"mh-{name}"
        defaults["region"] = "us-east-1"
    elif upstream is not None:
        defaults["invocation_url"] = upstream.url + ("/v1/chat/completions" if target == "hyperpod" else "")
        if target == "hyperpod":
            defaults["api_key"] = HYPERPOD_KEY
    defaults.update(fields)
    return Endpoint.objects.create(owner=owner, name=name, target=target, **defaults)


def last_reply(browser):
    """The playground's last finished assistant message in the first lane, or None while one streams."""
    from selenium.webdriver.common.by import By

    replies = browser.find_elements(By.CSS_SELECTOR, "#pg-log-0 .pg-msg-assistant")
    if replies and not browser.find_elements(By.CSS_SELECTOR, "#pg-log-0 .is-streaming"):
        return replies[-1]
    return None
