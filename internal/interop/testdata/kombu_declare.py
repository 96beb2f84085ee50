"""Declare Exchange(EXCHANGE, type="topic") as Kombu does, and nothing else.

Usage: kombu_declare.py URL EXCHANGE

Exits non-zero with Kombu's error (PRECONDITION_FAILED, 406) when the exchange exists with other
flags.
"""

import sys

from kombu import Connection, Exchange


def main():
    url, exchange_name = sys.argv[1], sys.argv[2]
    with Connection(url, connect_timeout=10) as conn:
        Exchange(exchange_name, type="topic")(conn.default_channel).declare()
    print("DECLARED", flush=True)


if __name__ == "__main__":
    main()
