"""Avro single-object encoding for rehearsal's records, with nothing but the `avro` package.

A rehearsal record on Kafka is: the marker C3 01, the 8-byte little-endian CRC-64-AVRO fingerprint of
the writer's schema (its Parsing Canonical Form), then the Avro binary body. Schemas are the released
files under schemas/src/main/resources/io/rehearsal/schemas/released/ (or `*.avsc` you copy).
"""
import io
import json
import os

import avro.io
import avro.schema

MARKER = b"\xc3\x01"
_EMPTY = 0xC15D213AA4D7A795  # the CRC-64-AVRO seed, from the Avro specification
_TABLE = []
for _i in range(256):
    _fp = _i
    for _ in range(8):
        _fp = (_fp >> 1) ^ (_EMPTY & -(_fp & 1))
    _TABLE.append(_fp)

RELEASED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "schemas", "src", "main",
                        "resources", "io", "rehearsal", "schemas", "released")


PRIMITIVES = {"null", "boolean", "int", "long", "float", "double", "bytes", "string"}


def canonical_form(schema):
    """The schema's Parsing Canonical Form (Avro specification), as Java computes it.

    Written out here because python3-avro 1.11's `canonical_form` keeps attributes such as
    logicalType and avro.java.string on primitives, which gives a different fingerprint."""
    doc = json.loads(str(schema)) if not isinstance(schema, (dict, list, str)) else schema

    def full(name, namespace):
        return name if "." in name or not namespace else namespace + "." + name

    def pcf(s, namespace):
        if isinstance(s, str):
            return json.dumps(s if s in PRIMITIVES else full(s, namespace))
        if isinstance(s, list):
            return "[" + ",".join(pcf(b, namespace) for b in s) + "]"
        t = s["type"]
        if t in PRIMITIVES or (isinstance(t, (dict, list))):
            return pcf(t, namespace)
        if t in ("record", "error", "enum", "fixed"):
            name = full(s["name"], s.get("namespace", namespace))
            ns = name.rsplit(".", 1)[0] if "." in name else None
            parts = ['"name":' + json.dumps(name), '"type":' + json.dumps(t)]
            if t in ("record", "error"):
                parts.append('"fields":[' + ",".join(
                    '{"name":' + json.dumps(f["name"]) + ',"type":' + pcf(f["type"], ns) + "}"
                    for f in s["fields"]) + "]")
            elif t == "enum":
                parts.append('"symbols":' + json.dumps(s["symbols"], separators=(",", ":")))
            else:
                parts.append('"size":' + str(int(s["size"])))
            return "{" + ",".join(parts) + "}"
        if t == "array":
            return '{"type":"array","items":' + pcf(s["items"], namespace) + "}"
        if t == "map":
            return '{"type":"map","values":' + pcf(s["values"], namespace) + "}"
        return json.dumps(full(t, namespace))  # a reference to a named type

    return pcf(doc, None)


def fingerprint(schema):
    """CRC-64-AVRO of the schema's Parsing Canonical Form, as an unsigned int."""
    fp = _EMPTY
    for byte in canonical_form(schema).encode("utf-8"):
        fp = (fp >> 8) ^ _TABLE[(fp ^ byte) & 0xFF]
    return fp


def load_schema(name, version=1, directory=RELEASED):
    """A released rehearsal schema, e.g. load_schema("Sample")."""
    with open(os.path.join(directory, "%s.v%d.avsc" % (name, version))) as f:
        return avro.schema.parse(f.read())


def load_schemas(name, directory=RELEASED):
    """Every released version of a rehearsal schema, oldest first (as index.txt lists them): the schemas a
    writer may have used, e.g. for decode(load_schemas("ModelSnapshot"), payload)."""
    with open(os.path.join(directory, "index.txt")) as f:
        files = [line.strip() for line in f if line.strip() and not line.startswith("#")]
    return [load_schema(name, int(fn[len(name) + 2:-5]), directory) for fn in files if fn.startswith(name + ".v")]


def fingerprint_of_json(text):
    return fingerprint(json.loads(text))


def encode(schema, datum):
    """Single-object encoding of a datum (a dict) written with `schema`."""
    out = io.BytesIO()
    out.write(MARKER)
    out.write(fingerprint(schema).to_bytes(8, "little"))
    avro.io.DatumWriter(schema).write(datum, avro.io.BinaryEncoder(out))
    return out.getvalue()


def decode(schemas, payload):
    """Decodes single-object bytes; `schemas` is a list of schemas the writer may have used."""
    if payload[:2] != MARKER:
        raise ValueError("not Avro single-object encoding: starts with %r" % payload[:2])
    fp = int.from_bytes(payload[2:10], "little")
    by_fp = {fingerprint(s): s for s in schemas}
    if fp not in by_fp:
        raise ValueError("unknown schema fingerprint %016x" % fp)
    schema = by_fp[fp]
    return avro.io.DatumReader(schema).read(avro.io.BinaryDecoder(io.BytesIO(payload[10:])))


if __name__ == "__main__":
    for name in ("Sample", "Feedback", "TrainBatch", "ModelSnapshot", "SnapshotChunk", "Prediction", "DeadLetter",
                 "Promotion", "ModelCommand"):
        for version, schema in enumerate(load_schemas(name), 1):
            print("%-14s v%d %016x" % (name, version, fingerprint(schema)))
    print(json.dumps({"marker": MARKER.hex()}))
