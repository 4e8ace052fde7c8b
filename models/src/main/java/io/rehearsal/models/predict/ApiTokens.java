package io.rehearsal.models.predict;

import io.rehearsal.models.snapshot.SnapshotCodec;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * Who may call the prediction service's HTTP API, and what each may do: bearer tokens, each with an identity,
 * its roles and, for feedback, the trust its annotations carry. Read from a file (a Kubernetes Secret), one
 * token a line:
 *
 * <pre>
 * # token                 identity   roles              [trust]
 * 9f2c...e1               ana        predict,feedback   0.8
 * sha256:4be1...07        ops-bob    operate
 * </pre>
 *
 * A token is either the token itself or {@code sha256:} and the hex SHA-256 of it (so the file need not hold
 * it in the clear). Tokens are compared by their SHA-256 in constant time. Roles: {@code predict}
 * ({@code POST /predict}, {@code GET /model}), {@code feedback} ({@code POST /feedback}), {@code operate}
 * ({@code GET /model/release}, {@code POST /model/promote|pin|unpin|rollback}). Trust is in (0, 1], default 1.
 */
public final class ApiTokens {
    /** What a caller may do. */
    public enum Role {
        PREDICT, FEEDBACK, OPERATE
    }

    /**
     * An authenticated caller.
     *
     * @param identity the name recorded for what it does (the annotator of its feedback, the operator of its commands)
     * @param roles    what it may do
     * @param trust    the trust of its feedback
     */
    public record Caller(String identity, Set<Role> roles, float trust) {
        public Caller {
            Objects.requireNonNull(identity, "identity");
            roles = Set.copyOf(roles);
        }

        public boolean may(Role role) {
            return roles.contains(role);
        }
    }

    private record Entry(byte[] sha256, Caller caller) {
    }

    private final List<Entry> entries;

    private ApiTokens(List<Entry> entries) {
        this.entries = List.copyOf(entries);
    }

    /**
     * Parses a tokens file.
     *
     * @throws IllegalArgumentException naming the line that is wrong
     */
    public static ApiTokens parse(List<String> lines, String source) {
        List<Entry> entries = new ArrayList<>();
        for (int n = 0; n < lines.size(); n++) {
            String line = lines.get(n).strip();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            String[] f = line.split("\\s+");
            String where = source + " line " + (n + 1);
            if (f.length < 3 || f.length > 4) {
                throw new IllegalArgumentException(where + ": expected 'token identity roles [trust]', got " + f.length + " fields");
            }
            byte[] hash = f[0].startsWith("sha256:") ? hex(f[0].substring(7), where) : sha256(f[0]);
            if (!f[0].startsWith("sha256:") && f[0].length() < 16) {
                throw new IllegalArgumentException(where + ": a token must be at least 16 characters");
            }
            Set<Role> roles = EnumSet.noneOf(Role.class);
            for (String r : f[2].split(",")) {
                try {
                    roles.add(Role.valueOf(r.strip().toUpperCase(Locale.ROOT)));
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException(where + ": unknown role '" + r + "' (predict, feedback, operate)");
                }
            }
            float trust = 1f;
            if (f.length == 4) {
                try {
                    trust = Float.parseFloat(f[3]);
                } catch (NumberFormatException e) {
                    trust = Float.NaN;
                }
                if (!(trust > 0 && trust <= 1)) {
                    throw new IllegalArgumentException(where + ": trust must be in (0, 1], got " + f[3]);
                }
            }
            entries.add(new Entry(hash, new Caller(f[1], roles, trust)));
        }
        if (entries.isEmpty()) {
            throw new IllegalArgumentException(source + " holds no token: every request would be refused");
        }
        return new ApiTokens(entries);
    }

    /** Reads a tokens file. */
    public static ApiTokens read(Path file) {
        try {
            return parse(Files.readAllLines(file, StandardCharsets.UTF_8), file.toString());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the API tokens file " + file + ": " + e.getMessage(), e);
        }
    }

    /** The caller a bearer token stands for, if any. */
    public Optional<Caller> authenticate(String token) {
        if (token == null || token.isEmpty()) {
            return Optional.empty();
        }
        byte[] presented = sha256(token);
        Caller found = null;
        for (Entry e : entries) {
            if (MessageDigest.isEqual(e.sha256(), presented)) { // every entry compared: no early exit
                found = e.caller();
            }
        }
        return Optional.ofNullable(found);
    }

    private static byte[] sha256(String token) {
        return HexFormat.of().parseHex(SnapshotCodec.sha256(token.getBytes(StandardCharsets.UTF_8)));
    }

    private static byte[] hex(String s, String where) {
        try {
            byte[] b = HexFormat.of().parseHex(s.toLowerCase(Locale.ROOT));
            if (b.length != 32) {
                throw new IllegalArgumentException(where + ": a sha256: token needs 64 hex digits");
            }
            return b;
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(where + ": a sha256: token needs 64 hex digits", e);
        }
    }
}
