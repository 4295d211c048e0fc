#!/usr/bin/env python3
"""A small HTTP server for the end-to-end tests of the http handler (Python 3 stdlib only).

usage: httpserver.py PORT_FILE LOG_FILE [CERT_FILE KEY_FILE]

Listens on 127.0.0.1 on a free port, writes the port to PORT_FILE once it accepts connections,
and appends one JSON line per request to LOG_FILE: {"t" (when it arrived, seconds since the
epoch), "peer" (the client's port), "method", "path", "query", "headers" (names lower-cased), "body"}. Threaded and HTTP/1.1 (keep-alive), so slow requests do not block
others and the client can reuse its connection. With CERT_FILE and KEY_FILE it speaks HTTPS.

Routes (query parameters in brackets; any route takes delay=MS to wait before answering):
  /echo                      200, the request body sent back (content type kept)
  /status/CODE [retry_after, body]
                             CODE with Retry-After and a body if given
  /flaky/KEY [fail=N, code=C, retry_after=S]
                             the first N (default 1) requests for KEY answer C (default 503)
                             with Retry-After S if given, the next ones 200 {"ok": true}
  /slow [ms=N]               waits N ms (default 5000), then 200
  /big [bytes=N]             200 with N bytes of 'x'
  /count/KEY                 200 {"count": N}: how many requests KEY had so far (not logged)
  /reflect-auth [status, tail, form]
                             the token of "Authorization: Bearer TOKEN" sent back in many
                             encodings, one "name: text" line each (reflect_forms()), with
                             status (default 200); with tail=N, N bytes of '.' then the form
                             named (default raw) then more text, to be cut at output_max
"""
import base64
import json
import os
import re
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, urlsplit

LOCK = threading.Lock()
COUNTS = {}


def reflect_forms(token):
    """The encodings a server may send a secret back in: name -> text."""
    raw = token.encode()
    quoted = quote(token, safe="")
    forms = {
        "raw": token,
        "json": json.dumps(token)[1:-1],
        "json-slash": json.dumps(token)[1:-1].replace("/", "\\/"),
        "json-u": "".join(c if c.isalnum() else "\\u%04x" % ord(c) for c in token),
        "json-U": "".join(c if c.isalnum() else "\\u%04X" % ord(c) for c in token),
        "pct": quoted,
        "pct-lower": re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), quoted),
        "hex": raw.hex(),
        "HEX": raw.hex().upper(),
    }
    # Inside larger base64 blobs, at the three alignments, in both alphabets.
    for pre in (b"", b"x", b"xy"):
        blob = pre + raw + b" and more"
        forms["b64-%d" % len(pre)] = base64.b64encode(blob).decode()
        forms["b64url-%d" % len(pre)] = base64.urlsafe_b64encode(blob).decode()
    forms["b64-json-slash"] = base64.b64encode(b"<<" + raw).decode().replace("/", "\\/")
    return forms


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    log_file = None

    def log_message(self, fmt, *args):  # quiet
        pass

    def _answer(self, code, body=b"", ctype="application/json", extra=None):
        if isinstance(body, str):
            body = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            try:
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass

    def _handle(self):
        url = urlsplit(self.path)
        q = {k: v[-1] for k, v in parse_qs(url.query).items()}
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n > 0 else b""
        parts = url.path.strip("/").split("/")
        if parts[0] == "count":
            with LOCK:
                c = COUNTS.get(parts[1] if len(parts) > 1 else "", 0)
            return self._answer(200, json.dumps({"count": c}))
        rec = {
            "t": time.time(),
            "peer": self.client_address[1],
            "method": self.command,
            "path": url.path,
            "query": q,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body": body.decode("utf-8", "replace"),
        }
        with LOCK:
            with open(self.log_file, "a") as f:
                f.write(json.dumps(rec) + "\n")
            key = parts[1] if len(parts) > 1 else parts[0]
            COUNTS[key] = COUNTS.get(key, 0) + 1
            seen = COUNTS[key]
        if "delay" in q:
            time.sleep(int(q["delay"]) / 1000)
        extra = {}
        if "retry_after" in q:
            extra["Retry-After"] = q["retry_after"]
        if parts[0] == "echo":
            return self._answer(200, body, self.headers.get("Content-Type", "text/plain"))
        if parts[0] == "status" and len(parts) > 1:
            return self._answer(int(parts[1]), q.get("body", ""), "text/plain", extra)
        if parts[0] == "flaky":
            if seen <= int(q.get("fail", "1")):
                return self._answer(int(q.get("code", "503")), "try later", "text/plain", extra)
            return self._answer(200, json.dumps({"ok": True, "attempt": seen}))
        if parts[0] == "slow":
            time.sleep(int(q.get("ms", "5000")) / 1000)
            return self._answer(200, json.dumps({"slow": True}))
        if parts[0] == "reflect-auth":
            token = self.headers.get("Authorization", "").removeprefix("Bearer ")
            forms = reflect_forms(token)
            if "tail" in q:
                text = "." * int(q["tail"]) + forms[q.get("form", "raw")] + "\nthe end\n"
            else:
                text = "".join("%s: %s\n" % kv for kv in forms.items())
            return self._answer(int(q.get("status", "200")), text, "text/plain")
        if parts[0] == "big":
            return self._answer(200, b"x" * int(q.get("bytes", "1000")), "text/plain")
        return self._answer(404, "no such route", "text/plain")

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _handle


def main():
    if len(sys.argv) not in (3, 5):
        sys.exit("usage: httpserver.py PORT_FILE LOG_FILE [CERT_FILE KEY_FILE]")
    Handler.log_file = sys.argv[2]
    open(Handler.log_file, "a").close()
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    if len(sys.argv) == 5:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(sys.argv[3], sys.argv[4])
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    tmp = sys.argv[1] + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(tmp, sys.argv[1])
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
