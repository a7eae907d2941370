#!/usr/bin/env python3
"""Load benchmark of the Bridgefund API over real HTTP, driven by wrk.

Seeds a fresh database at the given scale, starts the release server, checks every operation
for a correct, error-free answer, measures the SQL statements each request sends (from the
server's /metrics), warms up, then drives each operation with wrk at 1, 16 and 64 connections.
Writes bench/RESULTS.md. Run it through bench/run.sh, which builds and installs what it needs.
"""

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BINARY = os.path.join(ROOT, "target", "release", "bridgefund")
LUA = os.path.join(ROOT, "bench", "lua")

OPEN_CALLS = "query { calls(filter: { statuses: [OPEN] }, first: 20) { edges { node { id title { en zh } closesAt acceptingSubmissions budget { amount currency } hostCountries sdgGoals fund { name { en } currency } } } } }"
MANAGER_PAGE = "query($call: ID!) { applications(filter: { callId: $call }, first: 50) { pageInfo { hasNextPage endCursor } edges { node { id reference status title { en zh } requestedAmount { amount currency } score scoreSpread reviewCount needsModeration organization { name { en } country applicantCategory } partners { status budgetShare { amount } organization { name { en } } } call { title { en } } } } } }"
APPLICATION = "query($id: ID!) { application(id: $id) { id reference status title { en zh } summary { en } description { en } hostCountries sdgGoals requestedAmount { amount currency } durationMonths plannedStart submittedAt submittedVersion organization { name { en } country applicantCategory } partners { status budgetShare { amount } organization { name { en } country } } budgetLines { category amount { amount currency } } documents { kind fileName } call { title { en } closesAt fund { name { en } } } decision { outcome amount { amount } conditions rationale } grant { reference amount { amount } disbursed { amount } disbursements { sequence status amount { amount } dueOn } } viewerCanEdit viewerCanSubmit viewerCanWithdraw } }"
RANKING = "query($call: ID!) { callRanking(callId: $call) { rank score scoreSpread reviewCount assignedCount needsModeration recommendations { fund fundWithConditions doNotFund } application { id reference title { en } organization { name { en } } } } }"
SUMMARY = "query($fund: ID!) { fundSummary(fundId: $fund) { budget { amount currency } committed { amount } disbursed { amount } remaining { amount } grants byHostCountry { key committed { amount } disbursed { amount } grants } byApplicantCategory { key committed { amount } disbursed { amount } } bySdg { key committed { amount } disbursed { amount } } } }"
ADMIN_PAGE = "query($after: String) { applications(first: 20, after: $after) { pageInfo { endCursor } edges { node { id reference status } } } }"
SUBMIT_REVIEW = "mutation($id: ID!, $input: ReviewInput!) { submitReview(assignmentId: $id, input: $input) { id status review { score } } }"
MARK_SENT = "mutation($id: ID!, $input: DisbursementSentInput!, $key: String) { markDisbursementSent(disbursementId: $id, input: $input, idempotencyKey: $key) { id status } }"


def log(message):
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, database_url, workdir, port):
        self.url = f"http://127.0.0.1:{port}"
        env = dict(os.environ)
        env.update({
            "DATABASE_URL": database_url,
            "BRIDGEFUND_LISTEN": f"127.0.0.1:{port}",
            "BRIDGEFUND_DATA_DIR": workdir,
            "BRIDGEFUND_MAIL_DIR": os.path.join(workdir, "mail"),
            "BRIDGEFUND_JWT_SECRET": "bench-secret-bench-secret-bench-secret-0123456789",
            "BRIDGEFUND_LOG": "warn",
            "BRIDGEFUND_GRAPHQL_MAX_COMPLEXITY": "100000",
        })
        self.process = subprocess.Popen([BINARY, "serve"], env=env, stdout=subprocess.DEVNULL)
        for _ in range(200):
            try:
                urllib.request.urlopen(self.url + "/ready", timeout=1).read()
                return
            except Exception:
                time.sleep(0.1)
        raise RuntimeError("the server did not become ready")

    def graphql(self, query, variables=None, token=None):
        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        request = urllib.request.Request(self.url + "/graphql", data=body, headers={"content-type": "application/json"})
        if token:
            request.add_header("authorization", f"Bearer {token}")
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read())

    def statements(self):
        text = urllib.request.urlopen(self.url + "/metrics", timeout=5).read().decode()
        match = re.search(r"^bridgefund_sql_statements_total (\d+)", text, re.M)
        return int(match.group(1))

    def peak_memory_mb(self):
        with open(f"/proc/{self.process.pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()


def login(server, email, password):
    response = server.graphql(
        "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }",
        {"e": email, "p": password},
    )
    if "errors" in response:
        raise RuntimeError(f"login of {email} failed: {response['errors']}")
    return response["data"]["login"]["accessToken"]


def check(response, name):
    if "errors" in response or not response.get("data"):
        raise RuntimeError(f"{name} answered with errors: {json.dumps(response)[:500]}")
    return response["data"]


def request_file(workdir, name, lines):
    """One request per line, `token<TAB>body`, read by bench/lua/requests.lua."""
    path = os.path.join(workdir, f"{name}.requests")
    with open(path, "w") as out:
        for token, body in lines:
            out.write(f"{token}\t{json.dumps(body)}\n")
    return path


def wrk(url, requests_path, connections, duration, cycle):
    threads = min(2, connections)
    env = dict(os.environ, BENCH_REQUESTS=requests_path, BENCH_CYCLE="1" if cycle else "0", BENCH_THREADS=str(threads))
    result = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency", "--timeout", "10s",
         "-s", os.path.join(LUA, "requests.lua"), url + "/graphql"],
        env=env, capture_output=True, text=True, check=True,
    )
    out = result.stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    percentiles = {}
    for p, value, unit in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", out, re.M):
        scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
        percentiles[p] = float(value) * scale
    errors = int(re.search(r"responses with errors: (\d+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors += int(non2xx.group(1)) if non2xx else 0
    sent = {int(t): int(n) for t, n in re.findall(r"^thread (\d+) sent (\d+)$", out, re.M)}
    return {"rps": rps, "p50": percentiles.get("50"), "p99": percentiles.get("99"), "errors": errors,
            "requests": total, "threads": threads, "sent": sent}


def statements_per_request(server, token, body, samples=10):
    """The fewest statements one request was seen to send: the mail worker and the scheduler
    share the counter, so a sample they ran into counts more than the request sent."""
    counts = []
    for _ in range(samples):
        before = server.statements()
        check(server.graphql(body["query"], body["variables"], token), "statement sample")
        counts.append(server.statements() - before)
    return min(counts)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=int, default=10)
    parser.add_argument("--database", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--duration", type=int, default=10, help="seconds per read measurement")
    parser.add_argument("--write-duration", type=int, default=5, help="seconds per write measurement")
    parser.add_argument("--connections", default="1,16,64")
    parser.add_argument("--output", default=os.path.join(ROOT, "bench", "RESULTS.md"))
    args = parser.parse_args()
    connections = [int(c) for c in args.connections.split(",")]

    workdir = tempfile.mkdtemp(prefix="bridgefund-bench-")
    if args.database == "postgres":
        name = "bridgefund_bench"
        admin_url = args.postgres + "/postgres"
        subprocess.run(["psql", admin_url, "-qc", f"DROP DATABASE IF EXISTS {name}"], check=True)
        subprocess.run(["psql", admin_url, "-qc", f"CREATE DATABASE {name}"], check=True)
        # Loopback: TLS to the database would only measure encryption.
        database_url = f"{args.postgres}/{name}?sslmode=disable"
    else:
        database_url = f"sqlite://{workdir}/bench.db?mode=rwc"

    fixtures_path = os.path.join(workdir, "fixtures.json")
    log(f"seeding scale {args.scale} into {args.database}")
    started = time.time()
    subprocess.run([BINARY, "--log", "warn", "--data-dir", workdir, "seed", "--scale", str(args.scale), "--fixtures", fixtures_path],
                   env=dict(os.environ, DATABASE_URL=database_url), check=True, stdout=subprocess.DEVNULL)
    seed_seconds = time.time() - started
    if args.database == "postgres":
        subprocess.run(["psql", database_url, "-qc", "VACUUM ANALYZE"], check=True)
    fixtures = json.load(open(fixtures_path))
    password = fixtures["password"]

    server = Server(database_url, workdir, free_port())
    try:
        results, notes = run_all(server, fixtures, password, workdir, args, connections)
        peak = server.peak_memory_mb()
    finally:
        server.stop()
    explain = ""
    if args.database == "postgres":
        explain = subprocess.run([os.path.join(ROOT, "bench", "explain.sh"), database_url],
                                 capture_output=True, text=True, check=True).stdout
    write_report(args, fixtures, seed_seconds, results, notes, peak, explain)
    shutil.rmtree(workdir, ignore_errors=True)


def run_all(server, fixtures, password, workdir, args, connections):
    fund = fixtures["funds"][0]
    manager = login(server, fund["managers"][0], password)
    applicant = login(server, fixtures["applicant"], password)
    admin = login(server, fixtures["admin"], password)

    reads = [
        ("1. open calls (20 a page, anonymous)", "", {"query": OPEN_CALLS, "variables": {}},
         lambda d: len(d["calls"]["edges"]) > 0),
        # The same page for a signed-in reader: resolved for every request, as an anonymous one
        # would be with the shared public answer turned off (--public-cache-seconds 0).
        ("1b. open calls (20 a page, signed in)", applicant, {"query": OPEN_CALLS, "variables": {}},
         lambda d: len(d["calls"]["edges"]) > 0),
        ("2. manager's page of 50 applications", manager,
         {"query": MANAGER_PAGE, "variables": {"call": fund["rankingCall"]}},
         lambda d: len(d["applications"]["edges"]) == 50),
        ("3. one application in full, as its applicant", applicant,
         {"query": APPLICATION, "variables": {"id": fixtures["application"]}},
         lambda d: d["application"]["reference"].startswith("BF-")),
        (f"4. call ranking ({fund['rankingCallApplications']} applications)", manager,
         {"query": RANKING, "variables": {"call": fund["rankingCall"]}},
         lambda d: len(d["callRanking"]) == fund["rankingCallApplications"]),
        ("5. fund summary with breakdowns", manager,
         {"query": SUMMARY, "variables": {"fund": fund["id"]}},
         lambda d: len(d["fundSummary"]["byHostCountry"]) > 0),
    ]
    # Deep pagination: page 1 and page 200 of the admin's listing, 20 a page.
    cursor = None
    for _ in range(199):
        cursor = check(server.graphql(ADMIN_PAGE, {"after": cursor}, admin), "paging")["applications"]["pageInfo"]["endCursor"]
    reads.append(("deep pagination: page 1 of 20", admin, {"query": ADMIN_PAGE, "variables": {"after": None}},
                  lambda d: len(d["applications"]["edges"]) == 20))
    reads.append(("deep pagination: page 200 of 20", admin, {"query": ADMIN_PAGE, "variables": {"after": cursor}},
                  lambda d: len(d["applications"]["edges"]) == 20))

    results = []
    notes = []
    for name, token, body, valid in reads:
        data = check(server.graphql(body["query"], body["variables"], token), name)
        if not valid(data):
            raise RuntimeError(f"{name} answered, but not with what was expected: {json.dumps(data)[:300]}")
        statements = statements_per_request(server, token, body)
        path = request_file(workdir, "read", [(token, body)])
        log(f"{name}: warming up")
        wrk(server.url, path, 16, 2, cycle=True)
        for c in connections:
            log(f"{name}: {c} connections")
            measured = wrk(server.url, path, c, args.duration, cycle=True)
            results.append({"operation": name, "connections": c, "statements": statements, **measured})

    # Writes: every request takes a fresh assignment or tranche.
    reviewers = [r for r in fixtures["reviewers"] if r["assignments"]][:120]
    review_lines = []
    for reviewer in reviewers:
        token = login(server, reviewer["email"], password)
        for assignment in reviewer["assignments"]:
            review_lines.append((token, {"query": SUBMIT_REVIEW, "variables": {"id": assignment, "input": {
                "scores": [{"key": "relevance", "score": 8, "justification": "Clear need"},
                           {"key": "feasibility", "score": 7, "justification": "Experienced team"},
                           {"key": "value", "score": 4, "justification": "Reasonable costs"}],
                "recommendation": "FUND", "comment": "Benchmark review"}}}))
    payments = []
    for payer in fixtures["payers"]:
        token = login(server, payer["email"], password)
        for disbursement, amount in payer["disbursements"]:
            sent = {"bankReference": f"BENCH-{disbursement[-12:]}", "sentOn": datetime.date.today().isoformat(),
                    "amountSent": {"amount": amount, "currency": payer["currency"]}}
            if payer["currency"] != "USD":
                sent["rateToUsd"] = "0.14"
            payments.append((token, {"query": MARK_SENT, "variables": {"id": disbursement, "input": sent, "key": f"bench-{disbursement}"}}))
    for name, lines in [("6a. submitReview (fresh assignment each)", review_lines),
                        ("6b. markDisbursementSent (fresh tranche each)", payments)]:
        token, body = lines.pop()
        check(server.graphql(body["query"], body["variables"], token), name)
        counts = []
        for _ in range(5):
            token, body = lines.pop()
            before = server.statements()
            check(server.graphql(body["query"], body["variables"], token), name)
            counts.append(server.statements() - before)
        statements = min(counts)
        for c in connections:
            if len(lines) < 2 * c:
                notes.append(f"{name} at {c} connections was not measured: the seeded data ran out of fresh inputs (seed a larger scale).")
                continue
            path = request_file(workdir, "write", lines)
            log(f"{name}: {c} connections ({len(lines)} fresh inputs left)")
            measured = wrk(server.url, path, c, args.write_duration, cycle=False)
            # Thread t sent its first n lines of those numbered t, t + T, t + 2T, ...
            threads = measured.pop("threads")
            used = {t + threads * k for t, n in measured.pop("sent").items() for k in range(n)}
            exhausted = max(used, default=-1) >= len(lines) - threads
            lines[:] = [line for i, line in enumerate(lines) if i not in used]
            if exhausted:
                notes.append(f"{name} at {c} connections ran out of fresh inputs; its errors count the repeats.")
            results.append({"operation": name, "connections": c, "statements": statements, **measured})
    return results, notes


def machine():
    cpu = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = "?"
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.0f} GiB"
    except OSError:
        pass
    return f"{os.cpu_count()} cores ({cpu}), {memory}, {platform.system()} {platform.release()}"


def goals(results, peak):
    """The goals of the performance issue, each checked against the measurements."""
    def row(operation, connections):
        return next((r for r in results if r["operation"].startswith(operation) and r["connections"] == connections), None)

    checks = []
    for op in ["1.", "1b.", "2.", "4.", "5."]:
        counts = {r["statements"] for r in results if r["operation"].startswith(op)}
        worst = max(counts) if counts else float("nan")
        checks.append((f"operation {op[:-1]}: at most 10 statements per request", worst <= 10, f"{worst:g}"))
    # 1b is operation 1 resolved for every request (a signed-in reader gets no shared answer).
    for op, target in [("1.", 3000), ("1b.", 3000), ("2.", 800)]:
        r = row(op, 16)
        checks.append((f"operation {op[:-1]}: at least {target} requests/s at 16 connections", r is not None and r["rps"] >= target,
                       f"{r['rps']:.0f}" if r else "not measured"))
    for r in results:
        if r["connections"] == 16 and not r["operation"].startswith("6"):
            checks.append((f"p99 under 50 ms at 16 connections: {r['operation']}", r["p99"] < 50, f"{r['p99']:.1f} ms"))
    checks.append(("server memory under 150 MB under load", peak < 150, f"{peak:.0f} MB"))
    out = ["## Goals", "", "| Goal | Met | Measured |", "|---|---|---:|"]
    for goal, met, measured in checks:
        out.append(f"| {goal} | {'yes' if met else '**no**'} | {measured} |")
    return out + [""]


def write_report(args, fixtures, seed_seconds, results, notes, peak, explain):
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True).stdout.strip()
    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.splitlines()[0:1]
    lines = [
        "# Benchmark results",
        "",
        f"- Date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC; commit `{commit}`{' (with uncommitted changes)' if dirty else ''}",
        f"- Machine: {machine()}; load generator on the same machine ({wrk_version[0] if wrk_version else 'wrk'})",
        f"- Database: {args.database}; dataset `bridgefund seed --scale {args.scale}` ({json.dumps(fixtures['counts'])}) loaded in {seed_seconds:.0f} s",
        f"- Release build; reads measured {args.duration} s and writes {args.write_duration} s per connection count, after a 2 s warm-up",
        f"- Server peak memory (VmHWM) over the whole run: **{peak:.0f} MB**",
        "",
        "| Operation | Connections | Requests/s | p50 (ms) | p99 (ms) | Statements/request | Errors |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(f"| {r['operation']} | {r['connections']} | {r['rps']:.0f} | {r['p50']:.2f} | {r['p99']:.2f} | {r['statements']:g} | {r['errors']} of {r['requests']} |")
    lines += ["", "Statements per request count every statement the server sends for it, transaction control included (from `/metrics`).", ""]
    lines += goals(results, peak)
    for note in notes:
        lines.append(f"- {note}")
    analysis = os.path.join(ROOT, "bench", "ANALYSIS.md")
    if os.path.exists(analysis):
        lines += ["", open(analysis).read().strip()]
    if explain:
        lines += ["", "## Query plans at this scale (PostgreSQL, `EXPLAIN ANALYZE`)", "", "```", explain.strip(), "```"]
    with open(args.output, "w") as out:
        out.write("\n".join(lines) + "\n")
    log(f"wrote {args.output}")


if __name__ == "__main__":
    main()
