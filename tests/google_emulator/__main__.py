"""``python -m tests.google_emulator --port PORT [--host 127.0.0.1] [--strict]``"""
import argparse
import signal
import sys

from .server import EmulatorServer


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.google_emulator",
                                 description="Local Google Sheets v4 + Drive v3 API emulator")
    ap.add_argument("--port", type=int, default=0, help="port to listen on (0 picks a free one)")
    ap.add_argument("--host", default="127.0.0.1", help="loopback address to bind (default 127.0.0.1)")
    ap.add_argument("--verbose", action="store_true", help="log every request to stderr")
    ap.add_argument("--strict", action="store_true",
                    help="check every request against Google's discovery documents, also after each reset "
                         "(needs google-api-python-client installed)")
    args = ap.parse_args(argv)
    try:
        server = EmulatorServer(host=args.host, port=args.port, verbose=args.verbose,
                                strict=True if args.strict else None)
    except (ValueError, OSError) as e:
        print(f"emulator: {e}", file=sys.stderr)
        return 2

    def _stop(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    print(f"listening on {server.url}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server._httpd.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
