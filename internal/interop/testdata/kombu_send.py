"""Publish given messages the way the Python services do (Kombu), headers and all.

Usage: kombu_send.py URL EXCHANGE < messages.jsonl

Each line of standard input is {"routing_key": ..., "body": {...}, "headers": {...}}; each is
published with producer.publish(body, serializer="json", exchange=Exchange(EXCHANGE,
type="topic"), routing_key=..., declare=[exchange], headers=...), as app/core/events.py does,
with OpenTelemetry's traceparent among the headers when the line has one. It prints one line
"sent <routing_key>" per message. Any Kombu error ends it with a traceback and a non-zero exit.
"""

import json
import sys

from kombu import Connection, Exchange


def main():
    url, exchange = sys.argv[1], sys.argv[2]
    ex = Exchange(exchange, type="topic")
    with Connection(url, connect_timeout=10) as conn:
        producer = conn.Producer()
        for line in sys.stdin:
            if not line.strip():
                continue
            msg = json.loads(line)
            producer.publish(
                msg["body"],
                serializer="json",
                exchange=ex,
                routing_key=msg["routing_key"],
                declare=[ex],
                headers=msg.get("headers") or {},
            )
            print("sent " + msg["routing_key"], flush=True)


if __name__ == "__main__":
    main()
