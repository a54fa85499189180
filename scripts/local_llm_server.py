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
        "POST /slots/ID?action=save|restore, which scripts/local-llm uses to keep the "
        "computed prompt across restarts",
    )
    ap.add_argument(
        "--api-key-env",
        default="",
        help="name of an environment variable holding an API key; when it is set "
        "and non-empty the server answers 401 without 'Authorization: Bearer KEY'",
    )
    return ap.parse_args(argv)


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
    if args.api_key_env:
        key = os.environ.get(args.api_key_env, "")
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

    while not stop.wait(3600):
        pass
    del server
    sys.stderr.flush()
    # The native server threads are not joined; leave without running
    # interpreter teardown so shutdown is immediate.
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
