#!/usr/bin/env python3
"""Reads a model's promoted snapshot (or the latest) from Kafka with plain Avro and numpy, verifies it, and prints its weights.

    python3 read_snapshot.py --bootstrap-servers localhost:9092 --model-id fashion [--follow promoted|latest] [--out weights.npz] [--json]

By default it reads what the promoter promoted: the newest record on rehearsal.model-promotions names the
version services serve and carries its snapshot, whose weights are chunks on rehearsal.model-releases
(docs/lifecycle.md). --follow latest reads the trainer's newest snapshot on rehearsal.model-updates instead.

Needs Debian's python3-confluent-kafka, python3-avro and python3-numpy. The snapshot's parameters are
an NPZ blob (numpy.load reads it) stored inline or as chunks on rehearsal.model-chunks; every chunk and
the whole blob carry a SHA-256 that is checked here. With --key (or REHEARSAL_SNAPSHOT_KEY) the
HMAC-SHA256 signatures are checked too (the promotion's and the snapshot's), and unsigned ones are refused. Exits non-zero, saying why,
when a snapshot is refused. The trainer's optimizer state (schema v2, for resuming training) is never
fetched. A snapshot of your own network (schema v4, --arch torchscript:FILE) also carries the TorchScript
module by reference: --module-out writes it, checked against the SHA-256 its signed spec names, and
examples/models/predict.py runs it with the weights (torch.jit.load). See docs/subscribing.md and
docs/byo-models.md.
"""
import argparse
import datetime
import hashlib
import hmac
import io
import json
import os
import sys
import time

import numpy as np
from confluent_kafka import Consumer, TopicPartition

import rehearsal_avro


def latest_snapshot(consumer, topic, model_id, timeout_s):
    """Reads the compacted model-updates topic to its end and returns the newest snapshot of model_id."""
    schemas = rehearsal_avro.load_schemas("ModelSnapshot")  # v2 added the trainer's optimizer state, ignored here
    meta = consumer.list_topics(topic, timeout=timeout_s)
    if topic not in meta.topics or meta.topics[topic].error is not None:
        raise SystemExit("topic %s does not exist on this cluster" % topic)
    partitions = [TopicPartition(topic, p, 0) for p in meta.topics[topic].partitions]
    ends = {p.partition: consumer.get_watermark_offsets(p, timeout=timeout_s)[1] for p in partitions}
    consumer.assign([TopicPartition(topic, p.partition, 0) for p in partitions])
    newest = None
    done = {p for p, end in ends.items() if end == 0}
    deadline = time.time() + timeout_s
    while len(done) < len(ends) and time.time() < deadline:
        msg = consumer.poll(0.2)
        # the trainer writes transactionally: the last offset is a commit marker, never delivered, so
        # a partition is done when the consumer's position reaches the end
        for tp in consumer.position([TopicPartition(topic, p) for p in ends if p not in done]):
            if tp.offset >= ends[tp.partition]:
                done.add(tp.partition)
        if msg is None or msg.error():
            continue
        if msg.offset() + 1 >= ends[msg.partition()]:
            done.add(msg.partition())
        if msg.value() is None or msg.key() is None or msg.key().decode() != model_id:
            continue
        snapshot = rehearsal_avro.decode(schemas, msg.value())
        if newest is None or snapshot["version"] > newest["version"]:
            newest = snapshot
    consumer.unassign()
    return newest


def latest_promotion(consumer, topic, model_id, timeout_s):
    """Reads the compacted promotions topic to its end and returns the newest promotion of model_id (by sequence)."""
    schemas = rehearsal_avro.load_schemas("Promotion")
    meta = consumer.list_topics(topic, timeout=timeout_s)
    if topic not in meta.topics or meta.topics[topic].error is not None:
        raise SystemExit("topic %s does not exist: no promoter has run on this cluster (or use --follow latest)" % topic)
    partitions = [TopicPartition(topic, p, 0) for p in meta.topics[topic].partitions]
    ends = {p.partition: consumer.get_watermark_offsets(p, timeout=timeout_s)[1] for p in partitions}
    consumer.assign(partitions)
    newest = None
    done = {p for p, end in ends.items() if end == 0}
    deadline = time.time() + timeout_s
    while len(done) < len(ends) and time.time() < deadline:
        msg = consumer.poll(0.2)
        for tp in consumer.position([TopicPartition(topic, p) for p in ends if p not in done]):
            if tp.offset >= ends[tp.partition]:
                done.add(tp.partition)
        if msg is None or msg.error():
            continue
        if msg.offset() + 1 >= ends[msg.partition()]:
            done.add(msg.partition())
        if msg.value() is None or msg.key() is None or msg.key().decode() != model_id:
            continue
        promotion = rehearsal_avro.decode(schemas, msg.value())
        if newest is None or promotion["sequence"] > newest["sequence"]:
            newest = promotion
    consumer.unassign()
    return newest


def sha256_hex(data):
    return hashlib.sha256(data if isinstance(data, bytes) else data.encode("utf-8")).hexdigest()


def promotion_signed_text(p):
    """The text the promoter signs (docs/lifecycle.md, "Signature"): one field=value per line."""
    lines = [
        "rehearsal-promotion-signature-v1",
        "modelId=%s" % p["modelId"],
        "sequence=%d" % p["sequence"],
        "action=%s" % p["action"],
        "candidateVersion=%d" % p["candidateVersion"],
        "promotedVersion=%d" % p["promotedVersion"],
        "promotedSnapshot.sha256=%s" % ("" if p["promotedSnapshot"] is None else sha256_hex(p["promotedSnapshot"])),
        "pinned=%s" % ("true" if p["pinned"] else "false"),
        "latestVersion=%d" % p["latestVersion"],
        "rollbackTargets=%s" % ",".join("%d:%s" % (r["version"], sha256_hex(r["snapshot"])) for r in p["rollbackTargets"]),
        "actor.sha256=%s" % sha256_hex(p["actor"]),
        "reason.sha256=%s" % sha256_hex(p["reason"]),
        "commandId.sha256=%s" % ("" if p["commandId"] is None else sha256_hex(p["commandId"])),
        "time=%d" % epoch_millis(p["time"]),
    ]
    return "".join(line + "\n" for line in lines)


def verify_promotion(p, key):
    """Refuses an unsigned promotion, or one whose HMAC-SHA256 does not match, when a key is given."""
    if p["signature"] is None:
        raise SystemExit("promotion %d is not signed, but a key was given: refusing it" % p["sequence"])
    expected = hmac.new(key.encode("utf-8"), promotion_signed_text(p).encode("utf-8"), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, p["signature"].lower()):
        raise SystemExit("promotion %d has a signature that does not match (altered, or signed with another key): "
                         "refusing it" % p["sequence"])


def parameter_blob(consumer, snapshot, timeout_s):
    """The NPZ bytes of a snapshot: inline, or its chunks read by reference and checked one by one."""
    return read_blob(consumer, snapshot, snapshot["parameters"], "parameters", timeout_s)


def architecture_blob(consumer, snapshot, timeout_s):
    """The TorchScript module of a snapshot of your own network (schema v4), or None for mlp and cnn. Its chunks
    were written once, by the first snapshot that needed them; its SHA-256 is the one the (signed) spec names."""
    spec = snapshot["spec"]
    blob = snapshot.get("architecture")
    if spec["name"] != "torchscript":
        return None
    if blob is None or blob["sha256"] != spec["options"].get("sha256"):
        raise SystemExit("version %d is a torchscript model without the module its spec names: refusing the snapshot"
                         % snapshot["version"])
    return read_blob(consumer, snapshot, blob, "architecture", timeout_s)


def read_blob(consumer, snapshot, blob, what, timeout_s):
    """A blob of a snapshot: inline, or its chunks read by reference and checked one by one."""
    if blob["inline"] is not None:
        data = blob["inline"]
    else:
        schemas = [rehearsal_avro.load_schema("SnapshotChunk")]
        parts = []
        for ref in blob["chunks"]:
            consumer.assign([TopicPartition(ref["topic"], ref["partition"], ref["offset"])])
            msg = None
            deadline = time.time() + timeout_s
            while msg is None and time.time() < deadline:
                m = consumer.poll(0.5)
                if m is not None and not m.error():
                    msg = m
            consumer.unassign()
            if msg is None or msg.offset() != ref["offset"]:
                raise SystemExit("chunk at %s/%d@%d is gone (compacted away?)" % (ref["topic"], ref["partition"], ref["offset"]))
            chunk = rehearsal_avro.decode(schemas, msg.value())
            if hashlib.sha256(chunk["data"]).hexdigest() != ref["sha256"]:
                raise SystemExit("chunk %d of version %d fails its SHA-256: refusing the snapshot"
                                 % (chunk["index"], snapshot["version"]))
            parts.append(chunk["data"])
        data = b"".join(parts)
    if len(data) != blob["sizeBytes"] or hashlib.sha256(data).hexdigest() != blob["sha256"]:
        raise SystemExit("%s of version %d fail their SHA-256: refusing the snapshot" % (what, snapshot["version"]))
    return data


def epoch_millis(value):
    """A timestamp-millis field as epoch milliseconds (python3-avro may decode it to a datetime)."""
    if isinstance(value, datetime.datetime):
        return (value - datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)) // datetime.timedelta(milliseconds=1)
    return int(value)


def signed_text(snapshot):
    """The text the trainer signs (docs/trainer.md, "Signature"): one field=value per line."""
    spec = snapshot["spec"]
    params = snapshot["parameters"]
    parent = snapshot["parentVersion"]
    lines = [
        "rehearsal-snapshot-signature-v1",
        "modelId=%s" % snapshot["modelId"],
        "version=%d" % snapshot["version"],
        "parentVersion=%s" % ("" if parent is None else parent),
        "step=%d" % snapshot["step"],
        "createdTime=%d" % epoch_millis(snapshot["createdTime"]),
        "formatVersion=%d" % snapshot["formatVersion"],
        "spec.name=%s" % spec["name"],
        "spec.inputShape=%s" % ",".join(str(d) for d in spec["inputShape"]),
        "spec.numClasses=%d" % spec["numClasses"],
        "spec.options=%s" % ";".join("%s=%s" % (k, spec["options"][k]) for k in sorted(spec["options"])),
        "parameters.encoding=%s" % params["encoding"],
        "parameters.sizeBytes=%d" % params["sizeBytes"],
        "parameters.sha256=%s" % params["sha256"],
    ]
    state = snapshot.get("optimizerState")  # schema v2: signed too, though only the trainer reads it
    if state is not None:
        lines += [
            "optimizerState.encoding=%s" % state["encoding"],
            "optimizerState.sizeBytes=%d" % state["sizeBytes"],
            "optimizerState.sha256=%s" % state["sha256"],
        ]
    architecture = snapshot.get("architecture")  # schema v4: your own network's TorchScript module
    if architecture is not None:
        lines += [
            "architecture.encoding=%s" % architecture["encoding"],
            "architecture.sizeBytes=%d" % architecture["sizeBytes"],
            "architecture.sha256=%s" % architecture["sha256"],
        ]
    return "".join(line + "\n" for line in lines)


def verify_signature(snapshot, key):
    """Refuses an unsigned snapshot, or one whose HMAC-SHA256 does not match, when a key is given."""
    if snapshot["signature"] is None:
        raise SystemExit("version %d is not signed, but a key was given: refusing the snapshot" % snapshot["version"])
    expected = hmac.new(key.encode("utf-8"), signed_text(snapshot).encode("utf-8"), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, snapshot["signature"].lower()):
        raise SystemExit("version %d has a signature that does not match (altered, or signed with another key): "
                         "refusing the snapshot" % snapshot["version"])


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bootstrap-servers", default="localhost:9092")
    p.add_argument("--topic-prefix", default="rehearsal")
    p.add_argument("--model-id", "--model", dest="model", default="default",
                   help="model id (--model is the old name, still accepted)")
    p.add_argument("--timeout", type=float, default=30.0)
    p.add_argument("--out", help="also write the verified NPZ blob here")
    p.add_argument("--module-out", help="for your own network (spec torchscript): write its verified TorchScript "
                   "module here (torch.jit.load reads it; examples/models/predict.py runs it with --out's weights)")
    p.add_argument("--json", action="store_true", help="print a JSON summary instead of text")
    p.add_argument("--key", default=os.environ.get("REHEARSAL_SNAPSHOT_KEY"),
                   help="the trainer's signing key: check the HMAC-SHA256 signature (default: env REHEARSAL_SNAPSHOT_KEY)")
    p.add_argument("--follow", choices=["promoted", "latest"], default="promoted",
                   help="the version the promoter promoted (default) or the trainer's latest snapshot")
    a = p.parse_args()
    consumer = Consumer({"bootstrap.servers": a.bootstrap_servers, "group.id": "read-snapshot-%d" % os.getpid(),
                         "enable.auto.commit": False, "isolation.level": "read_committed",
                         "enable.partition.eof": False})
    promotion = None
    try:
        if a.follow == "promoted":
            promotion = latest_promotion(consumer, a.topic_prefix + ".model-promotions", a.model, a.timeout)
            if promotion is None:
                raise SystemExit("no promotion of model %s yet: is `rehearsal promoter --model-id %s` running? "
                                 "(--follow latest reads the trainer's newest snapshot)" % (a.model, a.model))
            if a.key:
                verify_promotion(promotion, a.key)
            if promotion["promotedSnapshot"] is None:
                raise SystemExit("nothing promoted for model %s yet: %s" % (a.model, promotion["reason"]))
            snapshot = rehearsal_avro.decode(rehearsal_avro.load_schemas("ModelSnapshot"), promotion["promotedSnapshot"])
        else:
            snapshot = latest_snapshot(consumer, a.topic_prefix + ".model-updates", a.model, a.timeout)
        if snapshot is None:
            raise SystemExit("no snapshot of model %s yet" % a.model)
        if snapshot["formatVersion"] != 1:
            raise SystemExit("snapshot format %d is newer than this script knows (1)" % snapshot["formatVersion"])
        if a.key:
            verify_signature(snapshot, a.key)
        data = parameter_blob(consumer, snapshot, a.timeout)
        module = architecture_blob(consumer, snapshot, a.timeout) if a.module_out else None
    finally:
        consumer.close()
    weights = np.load(io.BytesIO(data))
    summary = {
        "model": snapshot["modelId"], "version": snapshot["version"], "step": snapshot["step"],
        "spec": snapshot["spec"]["name"], "sha256": snapshot["parameters"]["sha256"],
        "chunks": len(snapshot["parameters"]["chunks"]),
        "architecture": (snapshot.get("architecture") or {}).get("sha256"),
        "signature": "verified" if a.key else ("unchecked" if snapshot["signature"] else "none"),
        "arrays": {name: list(weights[name].shape) for name in weights.files},
        "parameters": int(sum(weights[name].size for name in weights.files)),
        "checksum": float(sum(float(np.sum(weights[name], dtype=np.float64)) for name in weights.files)),
        "follow": a.follow,
    }
    if promotion is not None:
        summary["promotion"] = {"sequence": promotion["sequence"], "action": promotion["action"],
                                "promotedVersion": promotion["promotedVersion"], "pinned": promotion["pinned"],
                                "latestVersion": promotion["latestVersion"], "actor": promotion["actor"],
                                "reason": promotion["reason"],
                                "signature": "verified" if a.key else ("unchecked" if promotion["signature"] else "none")}
    if a.out:
        with open(a.out, "wb") as f:
            f.write(data)
    if a.module_out:
        if module is None:
            raise SystemExit("model %s is a built-in %s network: it has no TorchScript module to write"
                             % (a.model, snapshot["spec"]["name"]))
        with open(a.module_out, "wb") as f:
            f.write(module)
    if a.json:
        print(json.dumps(summary))
    else:
        print("model %(model)s version %(version)d (step %(step)d, %(spec)s): %(parameters)d parameters, "
              "sha256 %(sha256)s verified" % summary)
        if promotion is not None:
            print("  promoted (promotion %(sequence)d, %(action)s, pinned %(pinned)s; newest candidate %(latestVersion)d): "
                  "%(reason)s" % summary["promotion"])
        for name, shape in summary["arrays"].items():
            print("  %-40s %s" % (name, shape))


if __name__ == "__main__":
    sys.exit(main())
