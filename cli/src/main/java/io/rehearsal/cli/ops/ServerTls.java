package io.rehearsal.cli.ops;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;

/**
 * The TLS identity of an HTTP server: its key and certificate chain from a PKCS12 key store (what
 * cert-manager writes with {@code keystores.pkcs12}, or {@code keytool} makes), for {@link OpsServer}.
 */
public final class ServerTls {
    private ServerTls() {
    }

    /**
     * @throws IllegalArgumentException saying what is wrong with the key store, in words
     */
    public static SSLContext context(Path keyStore, char[] password) {
        try (InputStream in = Files.newInputStream(keyStore)) {
            KeyStore ks = KeyStore.getInstance("PKCS12");
            ks.load(in, password);
            KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(ks, password);
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(kmf.getKeyManagers(), null, null);
            return ctx;
        } catch (IOException e) {
            if (e.getCause() instanceof java.security.UnrecoverableKeyException) {
                throw new IllegalArgumentException("the key store " + keyStore + " does not open with the password given", e);
            }
            throw new UncheckedIOException("cannot read the TLS key store " + keyStore + ": " + e.getMessage(), e);
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException("the TLS key store " + keyStore + " is not a usable PKCS12 key store: "
                    + e.getMessage(), e);
        }
    }
}
