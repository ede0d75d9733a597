#!/usr/bin/env python3
"""A stdio MCP server that refuses to die, for the claudewrap e2e tests.

JSON-RPC 2.0, one message per line on stdin/stdout: answers initialize,
tools/list (one tool, `stub_echo`), tools/call and ping; ignores
notifications.  It ignores SIGTERM, SIGHUP, SIGINT (and SIGPIPE), and keeps
running after stdin reaches EOF, as badly behaved MCP servers do: only
SIGKILL ends it.

Environment:
  STUBBORN_PIDFILE     append this process's pid, one line per start
  STUBBORN_LOG         append one line per event (start, request, signal, eof)
  STUBBORN_MAX_SECONDS exit by itself after this many seconds (default 300),
                       so that a broken test run cannot leak it forever
"""

import json
import os
import signal
import sys
import threading
import time

PROTOCOL = "2025-06-18"


def note(what):
    path = os.environ.get("STUBBORN_LOG")
    if not path:
        return
    try:
        with open(path, "a") as f:
            f.write("%.3f %d %s\n" % (time.time(), os.getpid(), what))
    except OSError:
        pass


def on_signal(sig, _frame):
    note("signal %d ignored" % sig)


def send(msg):
    try:
        sys.stdout.write(json.dumps(msg) + "\n")
        sys.stdout.flush()
    except (OSError, ValueError):
        pass  # the client is gone; stay anyway


def handle(req):
    method = req.get("method")
    rid = req.get("id")
    if rid is None:
        return  # a notification
    if method == "initialize":
        params = req.get("params") or {}
        result = {
            "protocolVersion": params.get("protocolVersion", PROTOCOL),
            "capabilities": {"tools": {"listChanged": False}},
            "serverInfo": {"name": "stubborn", "version": "1.0.0"},
        }
    elif method == "tools/list":
        result = {"tools": [{
            "name": "stub_echo",
            "description": "Echoes its text argument back.",
            "inputSchema": {
                "type": "object",
                "properties": {"text": {"type": "string"}},
                "required": ["text"],
            },
        }]}
    elif method == "tools/call":
        args = (req.get("params") or {}).get("arguments") or {}
        result = {"content": [{"type": "text",
                               "text": "echo: %s" % args.get("text", "")}],
                  "isError": False}
    elif method == "ping":
        result = {}
    else:
        send({"jsonrpc": "2.0", "id": rid, "error": {
            "code": -32601, "message": "method not found: %s" % method}})
        return
    send({"jsonrpc": "2.0", "id": rid, "result": result})


def main():
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(sig, on_signal)
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    pidfile = os.environ.get("STUBBORN_PIDFILE")
    if pidfile:
        with open(pidfile, "a") as f:
            f.write("%d\n" % os.getpid())
    note("start ppid=%d pgid=%d sid=%d" % (os.getppid(), os.getpgid(0),
                                           os.getsid(0)))

    limit = float(os.environ.get("STUBBORN_MAX_SECONDS", "300"))
    timer = threading.Timer(limit, lambda: os._exit(3))
    timer.daemon = True
    timer.start()

    while True:
        try:
            line = sys.stdin.readline()
        except (OSError, ValueError):
            line = ""
        if not line:
            break
        line = line.strip()
        if not line:
            continue
        try:
            req = json.loads(line)
        except ValueError:
            continue
        note("request %s" % req.get("method"))
        if isinstance(req, dict):
            handle(req)
    note("eof")
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
