#!/usr/bin/env python3
"""An idempotent acks=all producer for the replication tests (confluent-kafka-python over librdkafka).

Usage: idempotent_producer.py BOOTSTRAP TOPIC PARTITIONS STOP_FILE [RATE]

Produces "<partition>:<sequence>" values round robin over the partitions, about RATE messages a
second, until STOP_FILE exists; then flushes. Prints one line per acknowledged message,
"ACK <partition> <offset> <value>", and per failed one "ERR <partition> <value> <error>", and at
the end "DONE <acknowledged> <failed>". Stdout is line-buffered so the test can follow it.
"""
import os
import sys
import time

from confluent_kafka import Producer


def main():
    bootstrap, topic, partitions, stop_file = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    rate = float(sys.argv[5]) if len(sys.argv) > 5 else 500.0
    counts = {"ack": 0, "err": 0}

    def delivered(err, msg):
        if err is None:
            counts["ack"] += 1
            print(f"ACK {msg.partition()} {msg.offset()} {msg.value().decode()}", flush=True)
        else:
            counts["err"] += 1
            print(f"ERR {msg.partition()} {msg.value().decode()} {err}", flush=True)

    producer = Producer({
        "bootstrap.servers": bootstrap,
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": 5,
        "message.timeout.ms": 120000,
        "request.timeout.ms": 10000,
        "retry.backoff.ms": 200,
        "topic.metadata.refresh.interval.ms": 1000,
        "metadata.max.age.ms": 3000,
    })
    sequence = [0] * partitions
    started = time.monotonic()
    sent = 0
    while not os.path.exists(stop_file):
        p = sent % partitions
        value = f"{p}:{sequence[p]}"
        sequence[p] += 1
        while True:
            try:
                producer.produce(topic, value=value.encode(), partition=p, on_delivery=delivered)
                break
            except BufferError:
                producer.poll(0.05)
        sent += 1
        producer.poll(0)
        # Pace to the rate (the failover test wants a steady stream, not a burst).
        ahead = sent / rate - (time.monotonic() - started)
        if ahead > 0:
            producer.poll(ahead)
    remaining = producer.flush(150)
    print(f"DONE {counts['ack']} {counts['err']} {remaining}", flush=True)


if __name__ == "__main__":
    main()
