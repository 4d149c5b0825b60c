"""Starts librdkafka's mock Kafka cluster (it speaks the Kafka protocol, in memory) and prints its
bootstrap servers on the first line of stdout. It lives as long as this process: stop it with
SIGTERM, or close its stdin when started with --until-stdin-closes.

    python3 scripts/kafka-mock.py [--brokers 3] [--until-stdin-closes]

Topics are created when first used, with 4 partitions (the mock's default).
"""
import argparse
import signal
import sys
import time

from confluent_kafka import Producer

parser = argparse.ArgumentParser()
parser.add_argument('--brokers', type=int, default=3)
parser.add_argument('--until-stdin-closes', action='store_true')
args = parser.parse_args()

# The mock cluster belongs to this client and ends with it.
client = Producer({
    'test.mock.num.brokers': args.brokers,
    'log_level': 0,
})
metadata = client.list_topics(timeout=10)
print(','.join(f'{b.host}:{b.port}' for b in sorted(metadata.brokers.values(), key=lambda b: b.id)), flush=True)

signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
if args.until_stdin_closes:
    sys.stdin.read()
else:
    while True:
        time.sleep(3600)
