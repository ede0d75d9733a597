#!/usr/bin/env python3
"""A scripted mock of the Anthropic Messages API, for the claudewrap e2e
tests against the real Claude Code CLI.  Python 3 standard library only.

    mock_api.py --port-file F --log F --script F [--max-seconds N] [--dump-dir D]

Binds 127.0.0.1 on a port the kernel chooses and writes it to the port
file atomically (temp file, then rename).  Serves until killed, or exits by
itself after --max-seconds (default 600).  Never connects anywhere.

The script is a JSON file holding a list of answers (or one answer object).
It is re-read on every request, so a test may change it mid-run; when its
content changes, the mock starts again from the first answer of the new
script (any rewrite of the file counts as a change).  Each POST /v1/messages takes the current answer; an answer is used
`times` times (default 1), then the next one; the last one repeats forever.
An answer with `until` (epoch seconds, wall clock) is given to every request
that arrives before that time, and skipped by the first one at or after it:
[{"kind":"http","status":429,"until":T},{"kind":"ok"}] is "429 until T,
then ok".

Answer kinds (fields in brackets are optional):

  ok          text [input_tokens output_tokens cache_creation_input_tokens
              cache_read_input_tokens model stop_reason]
  empty       no content block at all
  whitespace  [text] (default "  \\n\\t \\n")
  tool_use    name input [id] [text]  the model calls a tool
  http        status [error_type message headers retry_after]
  usage_limit [reset (epoch) | reset_in (seconds from now)] [claim]
              429 with the anthropic-ratelimit-unified-* headers
  hang        accept the request and never answer
  stall       send message_start and some text [text], then nothing
  slow        chunks (list of strings) [delay] (seconds between deltas)
  reset       close the connection with a TCP RST, no response
  sse_error   message_start, then an SSE `event: error` [error_type message]
  delay       add to any kind: seconds to wait before answering

The small title request the CLI sometimes sends (no tools, a system prompt
asking for a title) is answered with a fixed title, and 2.0.x's sub-agent
warm-up requests (one user message, "Warmup") with "Ready."; neither
consumes an answer.  Requests without "stream": true (the CLI's non-streaming fallback)
get the same answer as an application/json Message.

Each request appends one JSON line to the log: t, method, path, model,
tools (bool), n_tools, stream (bool), title (bool), warmup (bool), side
(bool: title or warmup), reask (bool: the CLI's own second request after
an answer with no visible text), tool_result (bool: the request carries a
tool's result), main (bool: none of side, reask, tool_result), prompt_sha256 (of the prompt: the last
user text, system reminders aside), index (of the answer in the script),
answer (its kind), status (HTTP status it sends, null for none),
body_bytes (of the request: what a token count grows with) and
n_messages (in the request's conversation).  The line
is written when the request arrives, before the answer (or the hang).
"""

import argparse
import hashlib
import http.server
import json
import os
import select
import socket
import socketserver
import struct
import sys
import threading
import time
import uuid

DEFAULT_WHITESPACE = "  \n\t \n"
ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    502: "api_error",
    503: "api_error",
    504: "api_error",
    529: "overloaded_error",
}
TITLE_TEXT = '{"title": "Mock title"}'


class Script:
    """The answer sequence, shared by all handler threads."""

    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()
        self.raw = None
        self.index = 0
        self.used = 0

    def next_answer(self):
        with self.lock:
            try:
                with open(self.path, "rb") as f:
                    st = os.fstat(f.fileno())
                    raw = f.read()
                answers = json.loads(raw)
            except (OSError, ValueError) as e:
                return -1, {"kind": "http", "status": 500,
                            "message": "mock: bad script: %s" % e}
            if isinstance(answers, dict):
                answers = [answers]
            if not isinstance(answers, list) or not answers:
                return -1, {"kind": "http", "status": 500,
                            "message": "mock: script is not a list"}
            ident = (raw, st.st_mtime_ns, st.st_ino)
            if ident != self.raw:
                self.raw, self.index, self.used = ident, 0, 0
            now = time.time()
            while True:
                last = self.index >= len(answers) - 1
                a = answers[min(self.index, len(answers) - 1)]
                until = a.get("until")
                if until is not None and now >= float(until) and not last:
                    self.index += 1
                    self.used = 0
                    continue
                break
            i = min(self.index, len(answers) - 1)
            if not last and until is None:
                self.used += 1
                if self.used >= int(a.get("times", 1)):
                    self.index += 1
                    self.used = 0
            return i, a


def last_user_text(body):
    """The prompt: the last text block (system reminders aside) of the
    last user message that has one (tool results carry none)."""
    for m in reversed(body.get("messages") or []):
        if m.get("role") != "user":
            continue
        c = m.get("content")
        if isinstance(c, str):
            return c
        if isinstance(c, list):
            texts = [b.get("text", "") for b in c
                     if isinstance(b, dict) and b.get("type") == "text"]
            texts = [t for t in texts if not t.startswith("<system-reminder>")]
            if texts:
                return texts[-1]
    return ""


def has_tool_result(body):
    """Whether the last message is a user turn carrying a tool_result."""
    msgs = [m for m in body.get("messages") or []
            if m.get("role") in ("user", "assistant")]
    if not msgs or msgs[-1].get("role") != "user":
        return False
    c = msgs[-1].get("content")
    return isinstance(c, list) and any(
        isinstance(b, dict) and b.get("type") == "tool_result" for b in c)


def is_warmup(body):
    """2.0.x warms up its sub-agents (Bash, Explore, Plan) with a one-message
    conversation whose only text is "Warmup", beside the real request."""
    msgs = body.get("messages") or []
    return len(msgs) == 1 and last_user_text(body).strip() == "Warmup"


def is_reask(body):
    """The CLI's own second request after an answer with no visible text,
    told by the conversation's structure, not by its wording (2.1.197
    sends "[Your previous response had no visible output…]" as a text
    block, 2.1.332 wraps it in a system reminder): no assistant turn
    yet, and the user turn carries a text block after its prompt."""
    msgs = [m for m in body.get("messages") or []
            if m.get("role") in ("user", "assistant")]
    if not msgs or any(m.get("role") == "assistant" for m in msgs):
        return False
    c = msgs[-1].get("content")
    if not isinstance(c, list) or has_tool_result(body):
        return False
    texts = [b.get("text", "") for b in c
             if isinstance(b, dict) and b.get("type") == "text"]
    first = next((i for i, t in enumerate(texts)
                  if not t.startswith("<system-reminder>")), None)
    return first is not None and first < len(texts) - 1


def is_title_request(body):
    if body.get("tools"):
        return False
    system = body.get("system")
    if isinstance(system, list):
        system = " ".join(b.get("text", "") for b in system
                          if isinstance(b, dict))
    return isinstance(system, str) and "title" in system.lower()


def planned_status(kind, a):
    """The HTTP status an answer sends (None: no response at all)."""
    if kind == "http":
        return int(a.get("status", 500))
    if kind == "usage_limit":
        return 429
    if kind in ("hang", "reset"):
        return None
    return 200


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "mock-anthropic/1"
    sys_version = ""

    def log_message(self, format, *args):  # noqa: A002 - stdlib signature
        pass

    # -- bookkeeping -------------------------------------------------------

    def record(self, **kw):
        entry = {"t": round(time.time(), 3), "method": self.command,
                 "path": self.path}
        entry.update(kw)
        line = json.dumps(entry, ensure_ascii=False) + "\n"
        with self.server.log_lock:
            with open(self.server.log_path, "a", encoding="utf-8") as f:
                f.write(line)

    def wait_client_gone(self, limit=None):
        """Block until the client closes the connection (or limit s)."""
        end = None if limit is None else time.monotonic() + limit
        sock = self.connection
        while True:
            left = 1.0 if end is None else min(1.0, end - time.monotonic())
            if left <= 0:
                return False
            try:
                r, _, _ = select.select([sock], [], [], left)
                if r and not sock.recv(65536):
                    return True
            except OSError:
                return True

    # -- plain answers -----------------------------------------------------

    def send_json(self, status, obj, headers=None):
        data = json.dumps(obj, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.send_header("request-id", "req_mock_" + uuid.uuid4().hex[:16])
        for k, v in (headers or {}).items():
            self.send_header(k, str(v))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        self.wfile.flush()

    def do_HEAD(self):
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()
        self.record(status=200)

    def do_GET(self):
        self.send_json(404, {"type": "error", "error": {
            "type": "not_found_error", "message": "mock: no such path"}})
        self.record(status=404)

    def do_POST(self):
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        path = self.path.split("?", 1)[0]
        if path == "/v1/messages/count_tokens":
            self.send_json(200, {"input_tokens": 11})
            self.record(status=200)
            return
        if path != "/v1/messages":
            self.send_json(404, {"type": "error", "error": {
                "type": "not_found_error", "message": "mock: no such path"}})
            self.record(status=404)
            return
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = {}
        if self.server.dump_dir:
            n = next(self.server.counter)
            with open(os.path.join(self.server.dump_dir,
                                   "req-%03d.json" % n), "wb") as f:
                f.write(raw)
        stream = bool(body.get("stream"))
        tools = body.get("tools") or []
        title = is_title_request(body)
        warmup = is_warmup(body)
        reask = is_reask(body)
        info = {"model": body.get("model"), "tools": bool(tools),
                "n_tools": len(tools), "stream": stream, "title": title,
                "warmup": warmup, "side": title or warmup, "reask": reask,
                "tool_result": has_tool_result(body),
                "body_bytes": len(raw),
                "n_messages": len(body.get("messages") or []),
                "prompt_sha256": hashlib.sha256(
                    last_user_text(body).encode()).hexdigest()}
        info["main"] = not (title or warmup or reask or info["tool_result"])
        if title:
            idx, ans = None, {"kind": "ok", "text": TITLE_TEXT}
        elif warmup:
            idx, ans = None, {"kind": "ok", "text": "Ready."}
        else:
            idx, ans = self.server.script.next_answer()
        info["index"] = idx
        info["answer"] = ans.get("kind", "ok")
        if ans.get("delay"):
            time.sleep(float(ans["delay"]))
        kind = info["answer"]
        model = ans.get("model") or body.get("model") or "claude-mock"
        # Logged before answering, so that a test sees a request that hangs.
        info["status"] = planned_status(kind, ans)
        self.record(**info)
        try:
            self.answer(kind, ans, model, stream)
        except (BrokenPipeError, ConnectionResetError):
            pass

    # -- the scripted answers ----------------------------------------------

    def answer(self, kind, a, model, stream):
        if kind == "http":
            st = int(a.get("status", 500))
            headers = dict(a.get("headers") or {})
            if "retry_after" in a:
                headers["retry-after"] = str(a["retry_after"])
            self.send_json(st, {"type": "error", "error": {
                "type": a.get("error_type", ERROR_TYPES.get(st, "api_error")),
                "message": a.get("message", "mock error %d" % st)}}, headers)
            return st
        if kind == "usage_limit":
            if "reset" in a:
                reset = int(float(a["reset"]))
            else:
                reset = int(time.time() + float(a.get("reset_in", 3600)))
            headers = {
                "anthropic-ratelimit-unified-status": "rejected",
                "anthropic-ratelimit-unified-reset": str(reset),
                "anthropic-ratelimit-unified-representative-claim":
                    a.get("claim", "five_hour"),
            }
            headers.update(a.get("headers") or {})
            self.send_json(429, {"type": "error", "error": {
                "type": "rate_limit_error",
                "message": a.get("message", "This request would exceed your "
                                 "account's rate limit. Please try again "
                                 "later.")}}, headers)
            return 429
        if kind == "hang":
            self.close_connection = True
            self.wait_client_gone()
            return None
        if kind == "reset":
            self.close_connection = True
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            self.connection.close()
            return None
        blocks = self.blocks(kind, a)
        usage = self.usage(a, blocks)
        stop = a.get("stop_reason") or (
            "tool_use" if kind == "tool_use" else "end_turn")
        if not stream:
            if kind in ("stall", "sse_error"):
                self.close_connection = True
                self.wait_client_gone()
                return None
            self.send_json(200, {
                "id": "msg_mock_" + uuid.uuid4().hex[:12], "type": "message",
                "role": "assistant", "model": model, "content": blocks,
                "stop_reason": stop, "stop_sequence": None, "usage": usage})
            return 200
        return self.stream(kind, a, model, blocks, usage, stop)

    @staticmethod
    def blocks(kind, a):
        if kind == "empty":
            return []
        if kind == "whitespace":
            return [{"type": "text", "text": a.get("text", DEFAULT_WHITESPACE)}]
        if kind == "tool_use":
            out = []
            if a.get("text"):
                out.append({"type": "text", "text": a["text"]})
            out.append({"type": "tool_use",
                        "id": a.get("id", "toolu_mock_" + uuid.uuid4().hex[:12]),
                        "name": a.get("name", "Bash"),
                        "input": a.get("input", {"command": "echo hi"})})
            return out
        if kind == "slow":
            return [{"type": "text", "text": "".join(a.get("chunks", []))}]
        return [{"type": "text", "text": a.get("text", "Hello from the mock.")}]

    @staticmethod
    def usage(a, blocks):
        default_out = max(1, sum(len(b.get("text", "")) for b in blocks) // 4)
        if not blocks:
            default_out = 1
        return {
            "input_tokens": int(a.get("input_tokens", 11)),
            "cache_creation_input_tokens":
                int(a.get("cache_creation_input_tokens", 0)),
            "cache_read_input_tokens": int(a.get("cache_read_input_tokens", 0)),
            "output_tokens": int(a.get("output_tokens", default_out)),
        }

    def sse(self, event, data):
        payload = "event: %s\ndata: %s\n\n" % (
            event, json.dumps(data, ensure_ascii=False))
        self.wfile.write(payload.encode())
        self.wfile.flush()

    def stream(self, kind, a, model, blocks, usage, stop):
        self.close_connection = True
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("cache-control", "no-cache")
        self.send_header("connection", "close")
        self.send_header("request-id", "req_mock_" + uuid.uuid4().hex[:16])
        self.end_headers()
        start_usage = dict(usage, output_tokens=1)
        self.sse("message_start", {"type": "message_start", "message": {
            "id": "msg_mock_" + uuid.uuid4().hex[:12], "type": "message",
            "role": "assistant", "model": model, "content": [],
            "stop_reason": None, "stop_sequence": None, "usage": start_usage}})
        if kind == "sse_error":
            self.sse("error", {"type": "error", "error": {
                "type": a.get("error_type", "overloaded_error"),
                "message": a.get("message", "Overloaded")}})
            return 200
        if kind == "stall":
            self.sse("content_block_start", {
                "type": "content_block_start", "index": 0,
                "content_block": {"type": "text", "text": ""}})
            self.sse("content_block_delta", {
                "type": "content_block_delta", "index": 0,
                "delta": {"type": "text_delta",
                          "text": a.get("text", "Partial answer")}})
            self.wait_client_gone()
            return 200
        for i, b in enumerate(blocks):
            if b["type"] == "text":
                self.sse("content_block_start", {
                    "type": "content_block_start", "index": i,
                    "content_block": {"type": "text", "text": ""}})
                chunks = a.get("chunks") if kind == "slow" else [b["text"]]
                for n, c in enumerate(chunks):
                    if kind == "slow" and n:
                        time.sleep(float(a.get("delay", 0.5)))
                    self.sse("content_block_delta", {
                        "type": "content_block_delta", "index": i,
                        "delta": {"type": "text_delta", "text": c}})
            else:
                self.sse("content_block_start", {
                    "type": "content_block_start", "index": i,
                    "content_block": {"type": "tool_use", "id": b["id"],
                                      "name": b["name"], "input": {}}})
                self.sse("content_block_delta", {
                    "type": "content_block_delta", "index": i,
                    "delta": {"type": "input_json_delta",
                              "partial_json": json.dumps(b["input"])}})
            self.sse("content_block_stop", {"type": "content_block_stop",
                                            "index": i})
        self.sse("message_delta", {
            "type": "message_delta",
            "delta": {"stop_reason": stop, "stop_sequence": None},
            "usage": {"output_tokens": usage["output_tokens"]}})
        self.sse("message_stop", {"type": "message_stop"})
        return 200


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def write_atomic(path, text):
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.rename(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--script", required=True)
    ap.add_argument("--max-seconds", type=float, default=600)
    ap.add_argument("--dump-dir", help="also save each request body here")
    args = ap.parse_args()

    srv = Server(("127.0.0.1", 0), Handler)
    srv.script = Script(args.script)
    srv.log_path = args.log
    srv.log_lock = threading.Lock()
    srv.dump_dir = args.dump_dir
    srv.counter = iter(range(1, 1 << 30))
    open(args.log, "a").close()

    def give_up():
        sys.stderr.write("mock_api: --max-seconds reached, exiting\n")
        os._exit(3)

    t = threading.Timer(args.max_seconds, give_up)
    t.daemon = True
    t.start()
    write_atomic(args.port_file, "%d\n" % srv.server_address[1])
    try:
        srv.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
