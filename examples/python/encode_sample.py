#!/usr/bin/env python3
"""Writes one rehearsal Sample in Avro single-object encoding to stdout (or a file), from plain Avro.

    python3 encode_sample.py --id s1 --label 3 --features 0,0.25,0.5,1 --shape 2,2 > sample.bin
    kcat -b localhost:9092 -t rehearsal.samples -k s1 -P sample.bin   # or produce_samples.py
"""
import argparse
import datetime
import struct
import sys

import rehearsal_avro


def sample_datum(sample_id, features, shape, label=None, model_id="default", split="TRAIN", task=None,
                 source="python", event_time_ms=None):
    if event_time_ms is None:
        event_time = datetime.datetime.now(tz=datetime.timezone.utc)
    else:
        event_time = datetime.datetime.fromtimestamp(event_time_ms / 1000.0, tz=datetime.timezone.utc)
    return {
        "id": sample_id,
        "modelId": model_id,
        "features": {"shape": list(shape), "dtype": "FLOAT32",
                     "data": struct.pack("<%df" % len(features), *features)},
        "label": label,
        "split": split,
        "task": task,
        "source": source,
        "eventTime": event_time,
    }


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--id", required=True)
    p.add_argument("--model-id", "--model", dest="model", default="default",
                   help="model id (--model is the old name, still accepted)")
    p.add_argument("--label", type=int)
    p.add_argument("--features", required=True, help="comma-separated floats")
    p.add_argument("--shape", help="comma-separated dims (default: [len(features)])")
    p.add_argument("--split", default="TRAIN", choices=["TRAIN", "EVAL"])
    p.add_argument("--task")
    p.add_argument("--event-time-ms", type=int)
    p.add_argument("--out", help="file to write (default: stdout)")
    a = p.parse_args()
    features = [float(x) for x in a.features.split(",")]
    shape = [int(x) for x in a.shape.split(",")] if a.shape else [len(features)]
    datum = sample_datum(a.id, features, shape, a.label, a.model, a.split, a.task, "python", a.event_time_ms)
    payload = rehearsal_avro.encode(rehearsal_avro.load_schema("Sample"), datum)
    if a.out:
        with open(a.out, "wb") as f:
            f.write(payload)
    else:
        sys.stdout.buffer.write(payload)


if __name__ == "__main__":
    main()
