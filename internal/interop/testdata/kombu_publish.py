"""Publish contract events the way the Python services do (app/core/events.py, Kombu).

Usage: kombu_publish.py [--int64-header] URL EXCHANGE [EVENT_TYPE ...]

Declares Exchange(EXCHANGE, type="topic") with Kombu's defaults, publishes one event of each
given type (default: all it knows) with producer.publish(..., serializer="json", declare=[ex],
headers={...}) and AMQP headers of every non-string type, and prints one JSON line per event:
{"event_id": ..., "event_type": ...}. --int64-header adds a header whose int does not fit in 32
bits, which py-amqp sends as field type 'L'. Any Kombu error (a PRECONDITION_FAILED on declare, for
one) ends it with a traceback and a non-zero exit.
"""

import argparse
import json
import uuid
import warnings
from datetime import datetime

from kombu import Connection, Exchange

# datetime.utcnow() is what the services call; newer Pythons deprecate it.
warnings.simplefilter("ignore", DeprecationWarning)

TENANT = "acme"

# Non-string header values: int, bool, None (void), float, a nested table and an array.
HEADERS = {
    "x-retries": 3,
    "x-replayed": True,
    "x-nothing": None,
    "x-ratio": 0.5,
    "x-trace": {"span": "abc123", "depth": 2, "sampled": False, "inner": {"k": "v"}},
    "x-tags": ["checkout", 7, 1.5, None, True],
}

DATA = {
    "order.created": {
        "order_id": "ord-1001",
        "customer_id": "cus-42",
        "customer_email": "alice@example.com",
        "customer_name": "Alice Example",
        "amount": 19.99,
        "currency": "USD",
        "items": [{"product_id": "prod-7", "name": "Blue mug", "quantity": 1, "unit_price": 19.99}],
    },
    "product.created": {
        "product_id": "prod-7",
        "sku": "MUG-BLUE",
        "name": "Blue mug",
        "price": 19.99,
        "currency": "USD",
        "inventory_quantity": 12,
    },
    "user.registered": {"user_id": "usr-9", "email": "bob@example.com", "name": "Bob"},
    "tenant.provisioned": {
        "tenant_id": TENANT,
        "name": "Acme Shop",
        "owner_email": "owner@acme.example",
        "plan": "pro",
        "locale": "en-US",
    },
}


def envelope(event_type, data):
    """The envelope as the Python services build it: version 1, naive UTC timestamp."""
    return {
        "event_id": str(uuid.uuid4()),
        "event_type": event_type,
        "event_version": 1,
        "occurred_at": datetime.utcnow().isoformat(),
        "tenant_id": TENANT,
        "producer": "shop-api",
        "data": data,
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--int64-header", action="store_true")
    parser.add_argument("url")
    parser.add_argument("exchange")
    parser.add_argument("types", nargs="*")
    args = parser.parse_args()
    types = args.types or list(DATA)
    headers = dict(HEADERS)
    if args.int64_header:
        headers["x-big"] = 2**40
    ex = Exchange(args.exchange, type="topic")
    with Connection(args.url, connect_timeout=10) as conn:
        producer = conn.Producer()
        for event_type in types:
            body = envelope(event_type, DATA[event_type])
            producer.publish(
                body,
                serializer="json",
                exchange=ex,
                routing_key=event_type,
                declare=[ex],
                headers=headers,
            )
            print(json.dumps({"event_id": body["event_id"], "event_type": event_type}), flush=True)


if __name__ == "__main__":
    main()
