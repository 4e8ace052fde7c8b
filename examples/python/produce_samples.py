#!/usr/bin/env python3
"""Produces rehearsal Samples from Python in Avro single-object encoding (or JSON with --json).

    python3 produce_samples.py --bootstrap-servers localhost:9092 --count 100 --model-id fashion
    python3 produce_samples.py --count 5 --model-id fashion --unlabeled   # prediction requests

Random 784-float features with labels 0-9: enough to show the wire format; real producers send
their own data. Needs Debian's python3-confluent-kafka and python3-avro.
"""
import argparse
import json
import random

from confluent_kafka import Producer

import encode_sample
import rehearsal_avro


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bootstrap-servers", default="localhost:9092")
    p.add_argument("--topic-prefix", default="rehearsal")
    p.add_argument("--model-id", "--model", dest="model", default="default",
                   help="model id (--model is the old name, still accepted)")
    p.add_argument("--count", type=int, default=10)
    p.add_argument("--size", type=int, default=784)
    p.add_argument("--id-prefix", default="py")
    p.add_argument("--json", action="store_true", help="write the documented JSON form instead of Avro")
    p.add_argument("--unlabeled", action="store_true",
                   help="send prediction requests (no label): a predictor answers them on <prefix>.predictions")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    rng = random.Random(a.seed)
    schema = rehearsal_avro.load_schema("Sample")
    producer = Producer({"bootstrap.servers": a.bootstrap_servers, "acks": "all"})
    topic = a.topic_prefix + ".samples"
    for i in range(a.count):
        sample_id = "%s-%d" % (a.id_prefix, i)
        features = [rng.random() for _ in range(a.size)]
        label = None if a.unlabeled else rng.randrange(10)
        if a.json:
            record = {"id": sample_id, "modelId": a.model, "features": {"shape": [a.size], "float32": features}}
            if label is not None:
                record["label"] = label
            value = json.dumps(record).encode()
        else:
            value = rehearsal_avro.encode(schema, encode_sample.sample_datum(sample_id, features, [a.size], label, a.model))
        producer.produce(topic, key=sample_id.encode(), value=value)
    remaining = producer.flush(30)
    if remaining:
        raise SystemExit("%d samples not acknowledged" % remaining)
    print("produced %d samples to %s" % (a.count, topic))


if __name__ == "__main__":
    main()
