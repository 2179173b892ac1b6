"""Request and response values passed between the fake's HTTP layer and its service modules."""

import json
import urllib.parse


class Req:
    """One parsed HTTP request. headers is the handler's case-insensitive message object."""

    def __init__(self, method, target, headers, body, default_host):
        split = urllib.parse.urlsplit(target)
        self.method = method
        self.target = target
        self.path = urllib.parse.unquote(split.path)
        self.query = {k: v[0] for k, v in urllib.parse.parse_qs(
            split.query, keep_blank_values=True).items()}
        self.raw_query = split.query
        self.headers = headers
        self.body = body
        self.host = headers.get("Host") or default_host

    def header(self, name, default=""):
        return self.headers.get(name, default)

    def form(self):
        """The urlencoded body as {name: value}; a repeated name is an error (ValueError)."""
        try:
            pairs = urllib.parse.parse_qsl(self.body.decode("utf-8"), keep_blank_values=True,
                                           strict_parsing=bool(self.body))
        except UnicodeDecodeError as exc:
            raise ValueError("body is not UTF-8") from exc
        out = {}
        for k, v in pairs:
            if k in out:
                raise ValueError("parameter %r is duplicated" % k)
            out[k] = v
        return out

    def json(self):
        """The body as JSON (ValueError when it is not)."""
        return json.loads(self.body.decode("utf-8"))


class Resp:
    """status, headers [(name, value)], and body: bytes or an iterator of bytes (streamed).

    drop closes the connection without answering; compressible allows gzip when asked."""

    def __init__(self, status, body=b"", headers=None, drop=False, compressible=False):
        self.status = status
        self.body = body
        self.headers = list(headers or [])
        self.drop = drop
        self.compressible = compressible


# A streamed body may yield CUT: what came before it is sent, then the connection is shut down
# mid-answer, as a service (or a network) failing in the middle of a page would.
CUT = object()


class BodyCut(Exception):
    """Raised by the writer when a streamed body reaches CUT."""


def json_body(obj):
    return json.dumps(obj, separators=(",", ":")).encode("utf-8")


def json_resp(status, obj, headers=None, content_type="application/json; charset=utf-8",
              compressible=False):
    hdrs = [("Content-Type", content_type)] + list(headers or [])
    return Resp(status, json_body(obj), hdrs, compressible=compressible)
