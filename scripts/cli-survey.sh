#!/bin/sh
# Runs the fixed cases of tests/e2e against one version of the real CLI
# (the CLI alone, no claudewrap: what it prints is the thing observed),
# offline against tests/e2e/mock_api.py, and writes what it printed
# (exit code, result shape, stream event types, requests, stderr) into
# tests/e2e/cli-observations.md under "## Survey: CLI VERSION",
# replacing that version's earlier survey. A version bump is then a
# reviewed diff of these observations plus one line in lib/cliversion.h
# (and one row in lib/cliversion.c's table when a quirk appears).
#
#   scripts/cli-survey.sh VERSION     (installs it first if needed)
#   CLI_SURVEY_OUT=FILE scripts/cli-survey.sh VERSION   another file
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
[ $# -eq 1 ] || { echo "usage: scripts/cli-survey.sh VERSION" >&2; exit 2; }
"$root/scripts/install-cli.sh" "$1"
cli=$("$root/scripts/cli-path.sh" "$1")
exec python3 - "$root" "$cli" "$1" "${CLI_SURVEY_OUT:-$root/tests/e2e/cli-observations.md}" <<'PYEOF'
import json, os, re, shutil, subprocess, sys, tempfile, time

root, cli, version, out_md = sys.argv[1:5]
e2e = os.path.join(root, "tests", "e2e")

# The answers the e2e cases script (tests/e2e/t_*.sh), one run each.
CASES = [
    ("ok", [{"kind": "ok", "text": "Line one\nLigne deux: héllo ✓ 日本\n"}], []),
    ("empty (no content block)", [{"kind": "empty"}], []),
    ("empty text block, output_tokens 0",
     [{"kind": "ok", "text": "", "output_tokens": 0}], []),
    ("whitespace", [{"kind": "whitespace", "text": "  \n\t \n"}], []),
    ('the words "(no content)"', [{"kind": "ok", "text": "(no content)"}], []),
    ("429", [{"kind": "http", "status": 429}], []),
    ("529", [{"kind": "http", "status": 529}], []),
    ("500", [{"kind": "http", "status": 500}], []),
    ("401", [{"kind": "http", "status": 401}], []),
    ("403", [{"kind": "http", "status": 403}], []),
    ("400 prompt too long", [{"kind": "http", "status": 400, "message":
        "prompt is too long: 250000 tokens > 200000 maximum"}], []),
    ("connection reset", [{"kind": "reset"}], []),
    ("tool call, --max-turns 1", [{"kind": "tool_use", "name": "Bash",
        "input": {"command": "echo hi", "description": "Say hi"}}],
     ["--max-turns", "1"]),
    ("Bash `sleep 30.5`", [{"kind": "tool_use", "name": "Bash",
        "input": {"command": "sleep 30.5", "description": "Wait"}},
        {"kind": "ok", "text": "done"}], []),
]

def start_mock(d):
    port_file = os.path.join(d, "port")
    p = subprocess.Popen([sys.executable, os.path.join(e2e, "mock_api.py"),
                          "--port-file", port_file, "--log",
                          os.path.join(d, "mock.log"), "--script",
                          os.path.join(d, "script.json"),
                          "--max-seconds", "900"])
    for _ in range(200):
        if os.path.exists(port_file) and os.path.getsize(port_file):
            return p, open(port_file).read().strip()
        time.sleep(0.05)
    p.kill()
    sys.exit("cli-survey: the mock did not start")

def run(d, port, answers, args, fmt):
    with open(os.path.join(d, "script.json"), "w") as f:
        json.dump(answers, f)
    home = os.path.join(d, "home")
    shutil.rmtree(home, ignore_errors=True)
    os.makedirs(home)
    log = os.path.join(d, "mock.log")
    mark = sum(1 for _ in open(log))
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": home,
           "LANG": "C.UTF-8", "TZ": "UTC", "ANTHROPIC_API_KEY": "sk-test",
           "ANTHROPIC_BASE_URL": "http://127.0.0.1:" + port,
           "CLAUDE_CODE_MAX_RETRIES": "0", "DISABLE_AUTOUPDATER": "1",
           "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1"}
    argv = [cli, "-p", "hi", "--output-format", fmt] + args
    if fmt == "stream-json":
        argv.append("--verbose")
    t0 = time.monotonic()
    try:
        r = subprocess.run(argv, env=env, cwd=d, capture_output=True,
                           stdin=subprocess.DEVNULL, timeout=90)
        rc, so, se = r.returncode, r.stdout, r.stderr
    except subprocess.TimeoutExpired as e:
        rc, so, se = "killed after 90 s", e.stdout or b"", e.stderr or b""
    secs = time.monotonic() - t0
    reqs = [json.loads(l) for l in list(open(log))[mark:]]
    posts = [q for q in reqs if q.get("method") == "POST"]
    return rc, so.decode("utf-8", "replace"), se.decode("utf-8", "replace"), posts, secs

def short(s, n=90):
    s = json.dumps(s, ensure_ascii=False) if not isinstance(s, str) else s
    s = s.replace("|", "\\|").replace("\n", "\\n")
    return s if len(s) <= n else s[:n] + "…"

def survey():
    d = tempfile.mkdtemp(prefix="cw-survey.")
    mock, port = start_mock(d)
    rows = []
    try:
        for name, answers, args in CASES:
            rc, so, se, posts, secs = run(d, port, answers, args, "json")
            try:
                o = json.loads(so.strip().splitlines()[-1])
                if isinstance(o, list):
                    o = o[-1]
            except (ValueError, IndexError):
                o = None
            if isinstance(o, dict):
                shape = "%s is_error=%s" % (o.get("subtype"), json.dumps(o.get("is_error")))
                if "api_error_status" in o:
                    shape += " api_error_status=%s" % json.dumps(o["api_error_status"])
                res = short(o.get("result", "(no result key)"))
                tok = (o.get("usage") or {}).get("output_tokens", "")
                turns = o.get("num_turns", "")
            else:
                shape, res, tok, turns = "not JSON", short(so), "", ""
            rc2, so2, _, _, _ = run(d, port, answers, args, "stream-json")
            types = []
            for l in so2.splitlines():
                try:
                    e = json.loads(l)
                except ValueError:
                    types.append("?")
                    continue
                t = e.get("type", "?")
                if e.get("subtype") and t in ("system", "result"):
                    t += "/" + e["subtype"]
                if not types or types[-1] != t:
                    types.append(t)
            main = sum(1 for q in posts if q.get("main"))
            side = sum(1 for q in posts if q.get("side"))
            other = len(posts) - main - side
            reqs = "%d main" % main
            if other:
                reqs += ", %d re-ask/fallback/tool" % other
            if side:
                reqs += ", %d side" % side
            rows.append((name, rc, shape, res, tok, turns, " ".join(types),
                         reqs, short(se.strip().splitlines()[0] if se.strip() else "", 60),
                         "%.1f" % secs))
    finally:
        mock.kill()
        mock.wait()
        shutil.rmtree(d, ignore_errors=True)
    return rows

rows = survey()
head = "## Survey: CLI %s" % version
lines = [head, "",
         "Written by `scripts/cli-survey.sh %s` on %s: the CLI alone, "
         "`--output-format json` (and stream-json for the event types), "
         "`CLAUDE_CODE_MAX_RETRIES=0`, against `tests/e2e/mock_api.py`. "
         "Requests: main = turns of the conversation asked; re-ask / "
         "fallback / tool = the CLI's own further requests; side = title "
         "and warm-up requests." % (version, time.strftime("%Y-%m-%d")), "",
         "| case | exit | result (json) | `result` | output_tokens | num_turns | stream-json events | requests | stderr | s |",
         "|---|---|---|---|---|---|---|---|---|---|"]
for r in rows:
    lines.append("| " + " | ".join(str(c) for c in r) + " |")
lines.append("")
text = open(out_md, encoding="utf-8").read() if os.path.exists(out_md) else ""
pat = re.compile(r"^" + re.escape(head) + r"\n.*?(?=^## |\Z)", re.M | re.S)
block = "\n".join(lines) + "\n"
text = pat.sub(lambda m: block, text) if pat.search(text) else text.rstrip("\n") + "\n\n" + block
with open(out_md + ".tmp", "w", encoding="utf-8") as f:
    f.write(text)
os.replace(out_md + ".tmp", out_md)
print("cli-survey: %d cases of CLI %s written to %s" % (len(rows), version, out_md))
PYEOF
