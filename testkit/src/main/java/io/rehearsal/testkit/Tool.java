package io.rehearsal.testkit;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * A program or Python module outside the JVM that some tests drive, and how to install it. Tests name
 * what they need with {@link RequiresTool}; {@code .ci/run} installs every {@link #debianPackage()}
 * (CiScriptTest in tests/ keeps the two together).
 */
public enum Tool {
    /** Renders k8s/ with its built-in kustomize (KubernetesManifestsTest). Not from Debian: its kubernetes-client is 1.20. */
    KUBECTL(Kind.PROGRAM, "kubectl", null,
            "install kubectl 1.27 or later from https://kubernetes.io/docs/tasks/tools/; Debian's kubernetes-client is 1.20, too old"),
    /** A foreign producer writing JSON and Avro samples. */
    KCAT(Kind.PROGRAM, "kcat", "kcat", null),
    /** Lints the Prometheus configuration, rules and metric names. */
    PROMTOOL(Kind.PROGRAM, "promtool", "prometheus", null),
    /** A real Prometheus scraping the components and evaluating the rules. */
    PROMETHEUS(Kind.PROGRAM, "prometheus", "prometheus", null),
    /** Python's Avro library, for the Python producer and snapshot reader examples. */
    PYTHON_AVRO(Kind.PYTHON_MODULE, "avro", "python3-avro", null),
    /** numpy, which reads snapshot parameters (NPZ). */
    PYTHON_NUMPY(Kind.PYTHON_MODULE, "numpy", "python3-numpy", null),
    /** librdkafka's Python client, for the Python producer and subscriber examples. */
    PYTHON_CONFLUENT_KAFKA(Kind.PYTHON_MODULE, "confluent_kafka", "python3-confluent-kafka", null),
    /** PyTorch eager, the trainer's peer in {@code rehearsal bench perf}. */
    PYTHON_TORCH(Kind.PYTHON_MODULE, "torch", "python3-torch", null);

    /** How a tool is found. */
    public enum Kind {
        /** An executable file in a directory of PATH. */
        PROGRAM,
        /** A module that {@link Tool#python()} can import. */
        PYTHON_MODULE
    }

    private final Kind kind;
    private final String name;
    private final String debianPackage;
    private final String install;

    Tool(Kind kind, String name, String debianPackage, String install) {
        this.kind = kind;
        this.name = name;
        this.debianPackage = debianPackage;
        this.install = install != null ? install : "Debian: apt-get install " + debianPackage;
    }

    public Kind kind() {
        return kind;
    }

    /** The program's file name, or the module's import name. */
    public String toolName() {
        return name;
    }

    /** The Debian package that provides it, if there is one that {@code .ci/run} installs. */
    public Optional<String> debianPackage() {
        return Optional.ofNullable(debianPackage);
    }

    /** What to do when it is missing. */
    public String installHint() {
        return install;
    }

    /** What is missing, in words: "kcat is not on PATH" or "/usr/bin/python3 cannot import torch". */
    public String missingMessage() {
        return (kind == Kind.PROGRAM ? name + " is not on PATH" : python() + " cannot import " + name) + " (" + install + ")";
    }

    /** Debian's /usr/bin/python3, which has the python3-* packages, preferred over another python3 on PATH. */
    public static String python() {
        return Files.isExecutable(Path.of("/usr/bin/python3")) ? "/usr/bin/python3" : "python3";
    }
}
