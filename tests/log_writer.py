"""A process that appends decisions to a shared store, for the concurrency tests.

    python -m tests.log_writer DATABASE_URL DECISIONS_PER_THREAD THREADS

Builds its own app (as a gunicorn worker or a second instance would), prints "ready", waits
for a line on stdin so that every writer starts at once, then decides from several threads
and prints the decision ids it was given as one JSON list.
"""

import json
import sys
import threading

from tests.test_api import with_
from tests.conftest import API_KEYS, bearer
from transfer_gate import create_app

DESTINATIONS = ["US", "DE", "CN", "SG", "GB", "IN", "BR", "unknown"]


def main():
    url, per_thread, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    app = create_app({"DATABASE_URL": url, "API_KEYS": API_KEYS})
    print("ready", flush=True)
    sys.stdin.readline()
    ids, failures = [], []

    def work(n):
        client = app.test_client()
        client.environ_base["HTTP_AUTHORIZATION"] = bearer("app")["Authorization"]
        for i in range(per_thread):
            resp = client.post("/v1/decisions", json=with_(destination=DESTINATIONS[(n + i) % len(DESTINATIONS)]))
            if resp.status_code == 200:
                ids.append(resp.get_json()["decision_id"])
            else:
                failures.append(resp.get_json())

    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    app.extensions["transfer_gate"].log.close()
    print(json.dumps({"ids": ids, "failures": failures}), flush=True)


if __name__ == "__main__":
    main()
