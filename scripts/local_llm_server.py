#!/usr/bin/env python3
"""Run llama.cpp's OpenAI-compatible HTTP server in-process via xllamacpp.

Started by scripts/local-llm with the Python of its cache virtualenv; not meant
to be imported. The process stays alive (the listener runs on xllamacpp's own
threads) until SIGTERM or SIGINT.
"""

import argparse
import os
import signal
import sys
import threading


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", required=True, help="path to the GGUF file")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=18080)
    ap.add_argument("--ctx", type=int, default=4096)
    ap.add_argument("--parallel", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--alias", default="qwen2.5-coder-0.5b")
    ap.add_argument(
        "--slot-dir",
        default="",
        help="directory for llama.cpp's slot files; when given, the server answers "
        "POST /slots/ID?action=save|restore, saves slot 0 there once its first request is "
        "done, and scripts/local-llm restores it at the next start",
    )
    ap.add_argument(
        "--api-key-env",
        default="",
        help="name of an environment variable holding an API key; when it is set "
        "and non-empty the server answers 401 without 'Authorization: Bearer KEY'",
    )
    return ap.parse_args(argv)


def keep_first_prompt(host, port, api_key, stop):
    """Saves slot 0 (slot0.bin) once the first request after the start is done.

    The first request is the one a restarted server is most likely to see again: a program's
    fixed prefix (system prompt, tools), such as the demo's question. The last one (what the
    slot holds at a stop) often shares little of it: the demo's resume offers no tools, and
    the tools come right after the system prompt. Polls GET /slots every 0.1 s until the slot
    has been busy and is idle again; a request that comes at once after the first may win the
    race, and then its prompt is saved instead. Best effort: errors only skip the save.
    """
    import json
    import urllib.request

    base = f"http://{host}:{port}/slots"
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    busy = False
    while not stop.wait(0.1):
        try:
            with urllib.request.urlopen(urllib.request.Request(base, headers=headers), timeout=2) as r:
                slots = json.load(r)
        except Exception:
            continue
        processing = any(s.get("is_processing") for s in slots if s.get("id") == 0)
        if processing:
            busy = True
            continue
        if not busy:
            continue
        save = urllib.request.Request(
            base + "/0?action=save",
            data=json.dumps({"filename": "slot0.bin"}).encode(),
            headers={**headers, "Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(save, timeout=10) as r:
                saved = json.load(r)
            print(
                f"local_llm_server: saved the first request's prompt ({saved.get('n_saved')} tokens)",
                file=sys.stderr,
                flush=True,
            )
        except Exception as e:
            print(f"local_llm_server: slot save skipped: {e}", file=sys.stderr, flush=True)
        return


def main(argv):
    args = parse_args(argv)
    if not os.path.isfile(args.model):
        print(f"local_llm_server: model not found: {args.model}", file=sys.stderr)
        return 2

    import xllamacpp  # imported late so --help works without the venv

    params = xllamacpp.CommonParams()
    params.model.path = args.model
    params.hostname = args.host
    params.port = args.port
    params.n_ctx = args.ctx
    params.n_parallel = args.parallel
    params.use_jinja = True  # needed for tools / tool_choice
    params.cpuparams.n_threads = args.threads
    params.cpuparams_batch.n_threads = args.threads
    params.sampling.seed = args.seed
    params.model_alias = args.alias
    params.webui = False
    params.fit_params = False  # only matters with GPUs; saves ~1 s at start
    if args.slot_dir:
        os.makedirs(args.slot_dir, exist_ok=True)
        params.endpoint_slots = True
        # llama.cpp appends the file name to this string as it is
        params.slot_save_path = os.path.join(args.slot_dir, "")
    key = os.environ.get(args.api_key_env, "") if args.api_key_env else ""
    if key:
        params.api_keys = [key]

    stop = threading.Event()

    def on_signal(signum, _frame):
        print(f"local_llm_server: signal {signum}, exiting", file=sys.stderr, flush=True)
        stop.set()

    print(
        f"local_llm_server: xllamacpp {getattr(xllamacpp, '__version__', '?')} "
        f"llama.cpp build {xllamacpp.BUILD_INFO.get('build_number')} "
        f"({xllamacpp.BUILD_INFO.get('commit')}), loading {args.model}",
        file=sys.stderr,
        flush=True,
    )
    server = xllamacpp.Server(params)  # loads the model and starts listening
    # Install our handlers only now: creating the Server installs llama.cpp's
    # own SIGTERM/SIGINT handlers, which stop the HTTP loop but would leave
    # this process waiting forever.
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    print(
        f"local_llm_server: pid {os.getpid()} listening on {args.host}:{args.port} "
        f"as model '{args.alias}'",
        file=sys.stderr,
        flush=True,
    )

    if args.slot_dir:
        threading.Thread(
            target=keep_first_prompt,
            args=(args.host, args.port, key, stop),
            daemon=True,
        ).start()

    while not stop.wait(3600):
        pass
    del server
    sys.stderr.flush()
    # The native server threads are not joined; leave without running
    # interpreter teardown so shutdown is immediate.
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
