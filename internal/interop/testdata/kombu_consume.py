"""Consume events with Kombu and print each as a JSON line, for the Go side to check.

Usage: kombu_consume.py URL EXCHANGE QUEUE COUNT TIMEOUT_SECONDS

Declares Exchange(EXCHANGE, type="topic") with Kombu's defaults (so Kombu declares first) and a
queue bound with "#", prints READY, then prints one line per message:
{"routing_key", "body" (the raw body as text), "content_type", "content_encoding",
"delivery_mode", "message_id", "correlation_id", "app_id", "headers"}. It exits 0 after COUNT
messages, or 3 when TIMEOUT_SECONDS pass first.
"""

import json
import socket
import sys
import time

from kombu import Connection, Consumer, Exchange, Queue


def main():
    url, exchange_name, queue_name = sys.argv[1], sys.argv[2], sys.argv[3]
    count, timeout = int(sys.argv[4]), float(sys.argv[5])
    ex = Exchange(exchange_name, type="topic")
    queue = Queue(queue_name, exchange=ex, routing_key="#", auto_delete=True)
    received = []

    def on_message(body, message):
        props = message.properties
        print(
            json.dumps(
                {
                    "routing_key": message.delivery_info.get("routing_key"),
                    "body": message.body.decode("utf-8") if isinstance(message.body, bytes) else message.body,
                    "content_type": message.content_type,
                    "content_encoding": message.content_encoding,
                    "delivery_mode": props.get("delivery_mode"),
                    "message_id": props.get("message_id"),
                    "correlation_id": props.get("correlation_id"),
                    "app_id": props.get("app_id"),
                    "headers": message.headers,
                },
                default=str,
            ),
            flush=True,
        )
        message.ack()
        received.append(message)

    deadline = time.monotonic() + timeout
    with Connection(url, connect_timeout=10) as conn:
        with Consumer(conn, queues=[queue], callbacks=[on_message], accept=["application/json"]):
            print("READY", flush=True)
            while len(received) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    print(f"timeout: {len(received)} of {count} messages in {timeout}s", file=sys.stderr)
                    sys.exit(3)
                try:
                    conn.drain_events(timeout=min(left, 1.0))
                except socket.timeout:
                    pass


if __name__ == "__main__":
    main()
