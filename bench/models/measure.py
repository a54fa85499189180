#!/usr/bin/env python3
"""Measure local models on the interrupt examples: N seeded runs per model and scenario,
each judged by a stated, mechanical rule (see bench/models/README.md). Run by hand, never
in CI. Python 3 standard library only.

    scripts/local-llm start                                  # 0.5B on 127.0.0.1:18080
    scripts/local-llm start --model qwen2.5-coder-1.5b       # 1.5B on 127.0.0.1:18081
    cargo build -p examples --bins
    bench/models/measure.py run --bins "$CARGO_TARGET_DIR/debug" --out results.jsonl \\
        --models qwen2.5-coder-0.5b,qwen2.5-coder-1.5b --scenarios trivia,approval \\
        --seeds 1-10 --temperature 0.7 --default-run
    bench/models/measure.py table results.jsonl             # the markdown table

A run is one process of the example binary, started with GENKIT_EXAMPLE_SEED and
GENKIT_EXAMPLE_TEMPERATURE set (read by examples::model_choice::steady_config); the
"default" run leaves both unset (temperature 0, seed 42). Each result line holds the full
output, so a verdict can be checked by reading it.
"""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

PORTS = {"qwen2.5-coder-0.5b": 18080, "qwen2.5-coder-1.5b": 18081}
DEBRIS = ("{", "}", "tool_call", "<tool", '"name"', '"arguments"')

# ------------------------------------------------------------------ rules
# Each judge returns (tool_ok, side_effect_twice, final_ok, why) from the run's stdout.


def answered(out):
    """The last `[model] answered (REASON): TEXT` of the output, as (reason, text)."""
    at = out.rfind("[model] answered (")
    if at < 0:
        return None, None
    # the text runs to the token count line show_turn prints after it, a blank line, or the end
    m = re.match(
        r"\[model\] answered \(([^)]*)\): (.*?)(?=\n        \(\d+ tokens in|\n\n|\Z)",
        out[at:], re.S,
    )
    return (m.group(1), m.group(2).strip()) if m else (None, None)


def plain(text):
    """A plain sentence: some text, no JSON or tool-call debris, not cut by the token cap."""
    return bool(text) and text != "(no text)" and not any(d in text for d in DEBRIS)


def judge_trivia(out, rc):
    # The model must call ask_question with a question and >= 2 choices (the binary parses the
    # input as the tool's schema, `Questions`, and prints it; a schema-invalid input fails
    # the run). The answer given is "1", the first choice. After one answer the model must
    # stop (not ask again) with a plain sentence that names the chosen choice.
    asked = re.findall(r"^Question (\d+): (.*)$", out, re.M)
    first_choice = re.search(r"^Question 1: .*\n  1\. (.*)$", out, re.M)
    n_choices = 0
    m = re.search(r"^Question 1: .*\n((?:  \d+\. .*\n)+)", out, re.M)
    if m:
        n_choices = len(m.group(1).strip("\n").split("\n"))
    tool_ok = rc == 0 and "[model] called ask_question" in out and n_choices >= 2
    reason, text = answered(out)
    chosen = first_choice.group(1).strip() if first_choice else None
    final_ok = (
        tool_ok
        and len(asked) == 1
        and reason == "stop"
        and plain(text)
        and chosen is not None
        and chosen.lower() in text.lower()
    )
    why = f"questions={len(asked)} choices={n_choices} chosen={chosen!r} finish={reason}"
    return tool_ok, None, final_ok, why


def judge_approval(out, rc):
    # Prompt: "Pay Alice 40 euros for the concert tickets."; decision: yes. The model must
    # call send_payment with to ~ "Alice" and amount 40 (the tool's interrupt prints the
    # deserialized Payment, so a schema-invalid input never gets there). Side effect: the
    # number of payments the bank made (printed `Payment R-000N: ...`) must be exactly 1.
    # Final: a plain sentence (finish stop) that mentions 40 and Alice, says the payment was
    # made ("sent", "paid" or the receipt "R-0001") and does not say "declin".
    asks = re.findall(r"^send_payment asks: send (\d+) euros to (.*?) for ", out, re.M)
    tool_ok = (
        rc == 0
        and bool(asks)
        and asks[0][0] == "40"
        and "alice" in asks[0][1].lower()
    )
    payments = re.findall(r"^Payment R-\d+: ", out, re.M)
    reason, text = answered(out)
    final_ok = (
        tool_ok
        and len(payments) == 1
        and "Balance: 460 euros" in out
        and reason == "stop"
        and plain(text)
        and "40" in text
        and "alice" in text.lower()
        and any(w in text.lower() for w in ("sent", "paid", "r-0001"))
        and "declin" not in text.lower()
    )
    why = f"asks={asks} payments={len(payments)} finish={reason}"
    return tool_ok, len(payments) > 1, final_ok, why


def judge_task_complete(out, rc):
    # Task: the warehouse that delivers 30 kettles to Lyon soonest. Right answer: Rotterdam
    # (Milan has 12 kettles, Valencia 4 days, Rotterdam 3 days). Tool: the run ends with `done`
    # called with a schema-valid ShippingPlan (the binary prints "Done. The result ..."; a
    # model that never calls done makes it exit non-zero). Final: warehouse Rotterdam, days 3,
    # and a reason that is plain text. Side effects: none (read-only tools), so n/a.
    done = "Done. The result, read from the input of `done`" in out
    wh = re.search(r"^  warehouse: (.*)$", out, re.M)
    days = re.search(r"^  days:      (.*)$", out, re.M)
    why_ = re.search(r"^  reason:    (.*)$", out, re.M)
    tool_ok = rc == 0 and done
    final_ok = (
        tool_ok
        and wh is not None and wh.group(1).strip().lower() == "rotterdam"
        and days is not None and days.group(1).strip() == "3"
        and why_ is not None and plain(why_.group(1))
    )
    why = f"done={done} warehouse={wh.group(1) if wh else None} days={days.group(1) if days else None}"
    return tool_ok, None, final_ok, why


def judge_multi_interrupt(out, rc):
    # Answer to ask_user: "4"; booking: yes. Tool: book_table paused with a summary naming
    # Chez Nous (its input deserialized as Booking). Side effect: the number of restarts of
    # book_table (each restart books a table) must be at most 1. Final: a plain sentence
    # (finish stop) that names Chez Nous.
    checks = re.findall(r"^\[book_table #[^\]]*\] (.*)$", out, re.M)
    restarts = re.findall(r"^\[restarting book_table ", out, re.M)
    reason, text = answered(out)
    tool_ok = rc == 0 and bool(checks) and "chez nous" in checks[0].lower()
    final_ok = (
        tool_ok and len(restarts) == 1 and reason == "stop" and plain(text)
        and "chez nous" in text.lower()
    )
    why = f"checks={len(checks)} restarts={len(restarts)} finish={reason}"
    return tool_ok, len(restarts) > 1, final_ok, why


def judge_async_review(out, rc):
    # Two processes: `start` (the default complaint: order A-1001, paid 35 euros, arrived
    # broken) and `decide --approve`. Tool: `start` pauses on request_review with order A-1001
    # and amount 35 (printed from the input deserialized as Refund). Side effect: none is
    # performed by the tools (lookup_order reads, request_review is interrupt-only): n/a.
    # Final: after `decide --approve`, a plain sentence (finish stop) that mentions the refund
    # or its approval ("refund" or "approv") and none of "reject", "denied", "declin".
    start, _, decide = out.partition(SPLIT)
    waits = re.findall(r"^Waiting on request_review \(call id [^)]*\): refund (\d+) euros for order (\S+):", start, re.M)
    tool_ok = rc == 0 and bool(waits) and waits[0] == ("35", "A-1001")
    reason, text = answered(decide)
    low = (text or "").lower()
    final_ok = (
        tool_ok and reason == "stop" and plain(text)
        and ("refund" in low or "approv" in low)
        and not any(w in low for w in ("reject", "denied", "declin"))
    )
    return tool_ok, None, final_ok, f"waits={waits} finish={reason}"


SPLIT = "\n===== decide =====\n"

JUDGES = {
    "trivia": judge_trivia,
    "approval": judge_approval,
    "task_complete": judge_task_complete,
    "multi_interrupt": judge_multi_interrupt,
    "async_review": judge_async_review,
}

ARGS = {
    "trivia": ["--answer", "1", "--rounds", "1"],
    "approval": ["--decision", "yes"],
    "task_complete": [],
    "multi_interrupt": ["--answer", "4", "--booking", "yes"],
    # async_review runs twice: `start --session S --store DIR`, then these arguments
    "async_review": ["decide", "--approve", "--note", "broken in transit"],
}

# ------------------------------------------------------------------ running


def seeds_of(spec):
    out = []
    for part in spec.split(","):
        if "-" in part:
            a, b = part.split("-")
            out += list(range(int(a), int(b) + 1))
        elif part:
            out.append(int(part))
    return out


def run_one(bins, model, scenario, seed, temperature, timeout):
    env = dict(os.environ)
    env.pop("OPENAI_API_KEY", None)
    env["GENKIT_LLM_URL"] = f"http://127.0.0.1:{PORTS[model]}/v1"
    env["GENKIT_LLM_MODEL"] = model
    env["RUST_BACKTRACE"] = "0"  # an error is one line, not a backtrace
    env.pop("GENKIT_EXAMPLE_SEED", None)
    env.pop("GENKIT_EXAMPLE_TEMPERATURE", None)
    if seed is not None:
        env["GENKIT_EXAMPLE_SEED"] = str(seed)
        env["GENKIT_EXAMPLE_TEMPERATURE"] = str(temperature)
    base = [os.path.join(bins, scenario), "--local", "--model", model]
    store = None
    if scenario == "async_review":
        store = tempfile.mkdtemp(prefix="measure-async-review-")
        where = ["--session", "bench", "--store", store]
        cmds = [base + ["start"] + where, base + ARGS[scenario] + where]
    else:
        cmds = [base + ARGS[scenario]]
    t0 = time.monotonic()
    outs, errs, rc = [], [], 0
    for cmd in cmds:
        try:
            p = subprocess.run(
                cmd, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                timeout=timeout,
            )
            outs.append(p.stdout)
            errs.append(p.stderr)
            rc = p.returncode
        except subprocess.TimeoutExpired as e:
            outs.append(e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or ""))
            errs.append("timeout")
            rc = -1
        if rc != 0:
            break
    secs = time.monotonic() - t0
    if store:
        shutil.rmtree(store, ignore_errors=True)
    out, err, cmd = SPLIT.join(outs), "\n".join(errs), cmds
    tool_ok, twice, final_ok, why = JUDGES[scenario](out, rc)
    return {
        "model": model, "scenario": scenario,
        "seed": "default" if seed is None else seed,
        "temperature": 0.0 if seed is None else temperature,
        "rc": rc, "secs": round(secs, 1), "tool_ok": tool_ok, "twice": twice,
        "pass": bool(final_ok), "why": why, "cmd": cmd, "stdout": out, "stderr": err[:2000],
    }


def cmd_run(a):
    models = a.models.split(",")
    scenarios = a.scenarios.split(",")
    plan = []
    if a.default_run:
        plan += [(None, s, m) for s in scenarios for m in models]
    # interleaved, so that a run cut short still has every model and scenario
    plan += [(seed, s, m) for seed in seeds_of(a.seeds) for s in scenarios for m in models]
    with open(a.out, "a") as f:
        for seed, scenario, model in plan:
            r = run_one(a.bins, model, scenario, seed, a.temperature, a.timeout)
            f.write(json.dumps(r) + "\n")
            f.flush()
            print(
                f"{time.strftime('%H:%M:%S')} {model} {scenario} seed={r['seed']} "
                f"pass={r['pass']} tool={r['tool_ok']} {r['secs']}s {r['why']}",
                flush=True,
            )


def cmd_selfcheck(a):
    """Positive control: each scenario's scripted model (no server) must pass its rule."""
    ok = True
    for scenario in JUDGES:
        base = [os.path.join(a.bins, scenario), "--scripted"]
        store = tempfile.mkdtemp(prefix="measure-selfcheck-")
        where = ["--session", "bench", "--store", store]
        cmds = ([base + ["start"] + where, base + ARGS[scenario] + where]
                if scenario == "async_review" else [base + ARGS[scenario]])
        outs, rc = [], 0
        for cmd in cmds:
            p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True)
            outs.append(p.stdout)
            rc = rc or p.returncode
        shutil.rmtree(store, ignore_errors=True)
        verdict = JUDGES[scenario](SPLIT.join(outs), rc)
        ok &= bool(verdict[2])
        print(f"{scenario}: pass={bool(verdict[2])} {verdict[3]}")
    sys.exit(0 if ok else 1)


def pct(xs, p):
    xs = sorted(xs)
    if not xs:
        return None
    k = max(0, min(len(xs) - 1, round(p / 100 * len(xs) + 0.5) - 1))  # nearest rank
    return xs[k]


def failure(r):
    """Why a run failed its rule, in one word, first cause first."""
    if r["pass"]:
        return None
    if not r["tool_ok"]:
        return "tool"  # wrong or no tool call, invalid input, or the program failed
    if r["twice"]:
        return "twice"
    reason, text = answered(r["stdout"].rpartition(SPLIT)[2])
    if reason is None:
        return "again"  # no final answer: the model kept calling tools
    if reason != "stop":
        return reason  # e.g. "length": cut by the token cap
    if not plain(text):
        return "debris"
    return "content"  # plain, but not consistent with the user's answer


def cmd_table(a):
    rows = [json.loads(line) for path in a.results for line in open(path) if line.strip()]
    for r in rows:  # the verdicts come from the rules in this file, applied to the stored output
        r["tool_ok"], r["twice"], r["pass"], r["why"] = JUDGES[r["scenario"]](r["stdout"], r["rc"])
        r["pass"] = bool(r["pass"])
    groups = {}
    for r in rows:
        groups.setdefault((r["model"], r["scenario"], r["seed"] == "default"), []).append(r)
    print("| model | scenario | config | runs | rule passed | right tool + valid input "
          "| side effect twice | median s | p90 s | failures |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for (model, scenario, default), rs in sorted(groups.items()):
        secs = [r["secs"] for r in rs]
        config = "t=0, seed 42" if default else (
            f"t={rs[0]['temperature']}, seeds {','.join(str(r['seed']) for r in rs)}")
        kinds = {}
        for r in rs:
            k = failure(r)
            if k:
                kinds[k] = kinds.get(k, 0) + 1
        fails = ", ".join(f"{k} {n}" for k, n in sorted(kinds.items(), key=lambda kv: -kv[1]))
        twice = "n/a" if all(r["twice"] is None for r in rs) else sum(bool(r["twice"]) for r in rs)
        print(
            f"| {model} | {scenario} | {config} | {len(rs)} | {sum(r['pass'] for r in rs)} "
            f"| {sum(bool(r['tool_ok']) for r in rs)} | {twice} "
            f"| {statistics.median(secs):.0f} | {pct(secs, 90):.0f} | {fails or '-'} |"
        )


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--bins", required=True, help="directory holding the example binaries")
    r.add_argument("--out", required=True, help="JSON lines file to append results to")
    r.add_argument("--models", default="qwen2.5-coder-0.5b,qwen2.5-coder-1.5b")
    r.add_argument("--scenarios", default="trivia,approval")
    r.add_argument("--seeds", default="1-10", help="e.g. 1-10 or 1,2,5")
    r.add_argument("--temperature", type=float, default=0.7)
    r.add_argument("--default-run", action="store_true", help="also one run with the defaults")
    r.add_argument("--timeout", type=float, default=900)
    t = sub.add_parser("table")
    t.add_argument("results", nargs="+")
    c = sub.add_parser("selfcheck", help="the rules must pass each example's scripted model")
    c.add_argument("--bins", required=True)
    a = ap.parse_args()
    {"run": cmd_run, "table": cmd_table, "selfcheck": cmd_selfcheck}[a.cmd](a)


if __name__ == "__main__":
    main()
