package io.rehearsal.cli;

import io.rehearsal.cli.ops.ServerTls;
import io.rehearsal.models.predict.ApiTokens;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import javax.net.ssl.SSLContext;
import picocli.CommandLine.Option;

/**
 * Who may reach the predictor's HTTP API and how (a picocli mixin): TLS from a PKCS12 key store, and bearer
 * tokens with roles from a file (both Kubernetes Secrets in k8s/). Off by default, for the demo and a laptop;
 * on in k8s/. See docs/lifecycle.md, "Who may do what".
 */
public final class ApiSecurityOptions {
    static final String PASSWORD_ENV = "REHEARSAL_TLS_KEYSTORE_PASSWORD";

    @Option(names = "--tls-keystore", description = "PKCS12 key store with the server's key and certificate: serve HTTPS (default: plain HTTP).")
    Path keyStore;

    @Option(names = "--tls-keystore-password-file", description = "File holding the key store's password (else env " + PASSWORD_ENV + ").")
    Path passwordFile;

    @Option(names = "--api-tokens-file", description = "Bearer tokens with their identity, roles (predict, feedback, operate) and trust, one a line: every API call then needs one (default: none, the API is open).")
    Path tokensFile;

    /** The server's TLS context, if a key store is given. */
    public Optional<SSLContext> tls() {
        if (keyStore == null) {
            return Optional.empty();
        }
        return Optional.of(ServerTls.context(keyStore, password()));
    }

    /** Who may call the API, if a tokens file is given. */
    public Optional<ApiTokens> tokens() {
        return Optional.ofNullable(tokensFile).map(ApiTokens::read);
    }

    private char[] password() {
        if (passwordFile != null) {
            try {
                return Files.readString(passwordFile, StandardCharsets.UTF_8).strip().toCharArray();
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read the key store password file " + passwordFile + ": " + e.getMessage(), e);
            }
        }
        String env = System.getenv(PASSWORD_ENV);
        if (env == null) {
            throw new IllegalArgumentException("--tls-keystore needs its password: --tls-keystore-password-file or env " + PASSWORD_ENV);
        }
        return env.toCharArray();
    }
}
