"""PKI and JOSE helpers of the simulated Microsoft cloud: run CA, TLS certificate, token signing."""

import base64
import datetime
import hashlib
import ipaddress
import json
import uuid

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

MAX_JWT_LEN = 16 * 1024          # a client assertion or access token larger than this is refused
PSS_SALT_LEN = 32                # RFC 7518 §3.5: PS256 salt = hash length
CERT_DAYS = 2                    # the run CA only has to outlive one test run


class JoseError(Exception):
    """A token or assertion that cannot be parsed or verified; str() is the reason."""


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text):
    if not isinstance(text, str) or any(c in text for c in "+/= \t\r\n"):
        raise JoseError("not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError) as exc:
        raise JoseError("not base64url") from exc


def _name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _validity(builder):
    now = datetime.datetime.now(datetime.timezone.utc)
    return builder.not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(
        now + datetime.timedelta(days=CERT_DAYS))


def make_ca():
    """A per-run CA; EC keys keep start-up fast (RSA would cost ~100 ms each)."""
    key = ec.generate_private_key(ec.SECP256R1())
    builder = _validity(x509.CertificateBuilder()
                        .subject_name(_name("exod fake cloud CA"))
                        .issuer_name(_name("exod fake cloud CA"))
                        .public_key(key.public_key())
                        .serial_number(x509.random_serial_number()))
    builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
    builder = builder.add_extension(x509.KeyUsage(
        digital_signature=True, content_commitment=False, key_encipherment=False,
        data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
        encipher_only=False, decipher_only=False), critical=True)
    builder = builder.add_extension(
        x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    return key, builder.sign(key, hashes.SHA256())


def make_server_cert(ca_key, ca_cert):
    """TLS certificate for 127.0.0.1 and localhost, signed by the run CA."""
    key = ec.generate_private_key(ec.SECP256R1())
    san = x509.SubjectAlternativeName([
        x509.DNSName("localhost"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
    ])
    builder = _validity(x509.CertificateBuilder()
                        .subject_name(_name("127.0.0.1"))
                        .issuer_name(ca_cert.subject)
                        .public_key(key.public_key())
                        .serial_number(x509.random_serial_number()))
    builder = builder.add_extension(san, critical=False)
    builder = builder.add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
    builder = builder.add_extension(
        x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    builder = builder.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
        ca_key.public_key()), critical=False)
    return key, builder.sign(ca_key, hashes.SHA256())


def cert_pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM)


def key_pem(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def thumbprints(cert):
    """(SHA-1, SHA-256) digests of the DER certificate: what x5t and x5t#S256 carry."""
    der = cert.public_bytes(serialization.Encoding.DER)
    return hashlib.sha1(der).digest(), hashlib.sha256(der).digest()


def parse_jws(token):
    """Split a compact JWS into (header, claims, signing_input, signature) without verifying."""
    if not isinstance(token, str) or len(token) > MAX_JWT_LEN:
        raise JoseError("token missing or too long")
    parts = token.split(".")
    if len(parts) != 3:
        raise JoseError("not a compact JWS")
    try:
        header = json.loads(b64url_decode(parts[0]))
        claims = json.loads(b64url_decode(parts[1]))
    except (ValueError, UnicodeDecodeError) as exc:
        raise JoseError("header or payload is not JSON") from exc
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise JoseError("header or payload is not a JSON object")
    return header, claims, (parts[0] + "." + parts[1]).encode("ascii"), b64url_decode(parts[2])


def verify_rsa(public_key, alg, signing_input, signature):
    """Check an RS256 or PS256 signature; PS256 must use MGF1-SHA256 and a 32-byte salt."""
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise JoseError("key is not RSA")
    if alg == "RS256":
        pad = padding.PKCS1v15()
    elif alg == "PS256":
        pad = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=PSS_SALT_LEN)
    else:
        raise JoseError("unsupported alg %r" % (alg,))
    try:
        public_key.verify(signature, signing_input, pad, hashes.SHA256())
    except InvalidSignature as exc:
        raise JoseError("signature does not verify") from exc


class TokenSigner:
    """The fake STS's RS256 signing key; kid/x5t are the SHA-1 thumbprint as Entra publishes."""

    def __init__(self):
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = b64url(hashlib.sha1(self.key.public_key().public_bytes(
            serialization.Encoding.DER,
            serialization.PublicFormat.SubjectPublicKeyInfo)).digest())

    def sign(self, claims):
        header = {"typ": "JWT", "alg": "RS256", "x5t": self.kid, "kid": self.kid}
        signing_input = (b64url(json.dumps(header, separators=(",", ":")).encode()) + "." +
                         b64url(json.dumps(claims, separators=(",", ":")).encode()))
        sig = self.key.sign(signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
        return signing_input + "." + b64url(sig)

    def verify(self, token):
        """Return the claims of a token this signer issued; raise JoseError otherwise."""
        header, claims, signing_input, signature = parse_jws(token)
        if header.get("alg") != "RS256" or header.get("kid") != self.kid:
            raise JoseError("unknown signing key")
        verify_rsa(self.key.public_key(), "RS256", signing_input, signature)
        return claims

    def jwks(self):
        nums = self.key.public_key().public_numbers()
        n = nums.n.to_bytes((nums.n.bit_length() + 7) // 8, "big")
        e = nums.e.to_bytes((nums.e.bit_length() + 7) // 8, "big")
        return {"keys": [{"kty": "RSA", "use": "sig", "kid": self.kid, "x5t": self.kid,
                          "n": b64url(n), "e": b64url(e)}]}


def new_guid():
    return str(uuid.uuid4())
