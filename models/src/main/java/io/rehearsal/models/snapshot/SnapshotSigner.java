package io.rehearsal.models.snapshot;

import io.rehearsal.models.snapshot.SnapshotFormatException.Reason;
import io.rehearsal.schemas.avro.ModelSnapshot;
import io.rehearsal.schemas.avro.ModelSpec;
import io.rehearsal.schemas.avro.ParameterBlob;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Map;
import java.util.TreeMap;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * HMAC-SHA256 over a snapshot's identity and weights, hex-encoded into {@code ModelSnapshot.signature}.
 *
 * <p>The signed text is UTF-8, one {@code field=value} per line, in this order: {@code
 * rehearsal-snapshot-signature-v1}, modelId, version, parentVersion (empty if none), step, createdTime
 * (epoch millis), formatVersion, spec.name, spec.inputShape (comma-separated), spec.numClasses,
 * spec.options (sorted {@code k=v} joined by {@code ;}), parameters.encoding, parameters.sizeBytes,
 * parameters.sha256, and when the snapshot has an optimizer state (schema version 2)
 * optimizerState.encoding, optimizerState.sizeBytes, optimizerState.sha256 (a snapshot without one signs
 * the same text as before, so older signatures still verify), and when it carries an architecture (schema
 * version 4, a user's TorchScript network) architecture.encoding, architecture.sizeBytes, architecture.sha256
 * (the spec's option sha256 names the same module, signed with the spec). The blobs' SHA-256 bind the weights and
 * the optimizer state (and through the chunk hashes every chunk); metrics and provenance are descriptive
 * and not signed. The key is the UTF-8 bytes of the configured secret.
 */
public final class SnapshotSigner {
    private static final String ALGORITHM = "HmacSHA256";
    private final SecretKeySpec key;

    public SnapshotSigner(String secret) {
        byte[] bytes = secret.getBytes(StandardCharsets.UTF_8);
        if (bytes.length < 16) {
            throw new IllegalArgumentException("a snapshot signing key must be at least 16 bytes");
        }
        this.key = new SecretKeySpec(bytes, ALGORITHM);
    }

    /** The hex signature of {@code snapshot} (its own signature field is ignored). */
    public String sign(ModelSnapshot snapshot) {
        return hmac(signedText(snapshot));
    }

    /**
     * The hex HMAC-SHA256 of any text with this key: what other signed records (promotions) are signed
     * with, so that one key protects snapshots and the decisions about them.
     */
    public String hmac(String text) {
        try {
            Mac mac = Mac.getInstance(ALGORITHM);
            mac.init(key);
            return HexFormat.of().formatHex(mac.doFinal(text.getBytes(StandardCharsets.UTF_8)));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HMAC-SHA256 is not available in this JVM", e);
        }
    }

    /** Whether {@code signature} is the hex HMAC-SHA256 of {@code text} with this key (compared in constant time). */
    public boolean matches(String text, String signature) {
        return signature != null && MessageDigest.isEqual(hmac(text).getBytes(StandardCharsets.US_ASCII),
                signature.toLowerCase().getBytes(StandardCharsets.US_ASCII));
    }

    /**
     * @throws SnapshotFormatException if the snapshot is unsigned or its signature does not match
     */
    public void verify(ModelSnapshot snapshot) {
        String signature = snapshot.getSignature();
        if (signature == null) {
            throw new SnapshotFormatException(Reason.UNSIGNED, String.format("snapshot %s version %d is not signed, but this reader "
                    + "requires signed snapshots; configure the trainer with the same signing key",
                    snapshot.getModelId(), snapshot.getVersion()));
        }
        byte[] expected = sign(snapshot).getBytes(StandardCharsets.US_ASCII);
        if (!MessageDigest.isEqual(expected, signature.toLowerCase().getBytes(StandardCharsets.US_ASCII))) {
            throw new SnapshotFormatException(Reason.BAD_SIGNATURE, String.format("snapshot %s version %d has a signature that does not "
                    + "match its contents: it was altered or signed with another key; do not load it",
                    snapshot.getModelId(), snapshot.getVersion()));
        }
    }

    static String signedText(ModelSnapshot s) {
        ModelSpec spec = s.getSpec();
        ParameterBlob p = s.getParameters();
        StringBuilder options = new StringBuilder();
        for (Map.Entry<String, String> e : new TreeMap<>(spec.getOptions()).entrySet()) {
            options.append(options.length() == 0 ? "" : ";").append(e.getKey()).append('=').append(e.getValue());
        }
        StringBuilder shape = new StringBuilder();
        spec.getInputShape().forEach(d -> shape.append(shape.length() == 0 ? "" : ",").append(d));
        ParameterBlob o = s.getOptimizerState();
        String optimizer = o == null ? "" : String.join("\n",
                "optimizerState.encoding=" + o.getEncoding(),
                "optimizerState.sizeBytes=" + o.getSizeBytes(),
                "optimizerState.sha256=" + o.getSha256()) + "\n";
        ParameterBlob a = s.getArchitecture();
        String architecture = a == null ? "" : String.join("\n",
                "architecture.encoding=" + a.getEncoding(),
                "architecture.sizeBytes=" + a.getSizeBytes(),
                "architecture.sha256=" + a.getSha256()) + "\n";
        return String.join("\n",
                "rehearsal-snapshot-signature-v1",
                "modelId=" + s.getModelId(),
                "version=" + s.getVersion(),
                "parentVersion=" + (s.getParentVersion() == null ? "" : s.getParentVersion()),
                "step=" + s.getStep(),
                "createdTime=" + s.getCreatedTime().toEpochMilli(),
                "formatVersion=" + s.getFormatVersion(),
                "spec.name=" + spec.getName(),
                "spec.inputShape=" + shape,
                "spec.numClasses=" + spec.getNumClasses(),
                "spec.options=" + options,
                "parameters.encoding=" + p.getEncoding(),
                "parameters.sizeBytes=" + p.getSizeBytes(),
                "parameters.sha256=" + p.getSha256()) + "\n" + optimizer + architecture;
    }
}
