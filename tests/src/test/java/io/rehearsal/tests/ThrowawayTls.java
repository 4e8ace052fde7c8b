package io.rehearsal.tests;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A throwaway certificate authority and a broker key store signed by it, made with the JDK's
 * {@code keytool} (no BouncyCastle): {@code ca.crt} (PEM, what clients trust, as Strimzi's cluster CA is
 * mounted in k8s/) and {@code broker.p12} (PKCS12: the broker's key and its chain, for {@code localhost}
 * and {@code 127.0.0.1}).
 */
record ThrowawayTls(Path caCertificate, Path brokerKeyStore, String password) {

    static ThrowawayTls create(Path dir) throws IOException, InterruptedException {
        String pw = "throwaway-" + Long.toHexString(System.nanoTime());
        Path ca = dir.resolve("ca.p12");
        Path caCrt = dir.resolve("ca.crt");
        Path broker = dir.resolve("broker.p12");
        Path csr = dir.resolve("broker.csr");
        Path crt = dir.resolve("broker.crt");
        keytool("-genkeypair", "-alias", "ca", "-dname", "CN=rehearsal throwaway CA", "-keyalg", "EC", "-groupname", "secp256r1",
                "-validity", "2", "-ext", "bc:c", "-keystore", ca.toString(), "-storetype", "PKCS12", "-storepass", pw);
        keytool("-exportcert", "-rfc", "-alias", "ca", "-keystore", ca.toString(), "-storepass", pw, "-file", caCrt.toString());
        keytool("-genkeypair", "-alias", "broker", "-dname", "CN=localhost", "-keyalg", "EC", "-groupname", "secp256r1",
                "-validity", "2", "-keystore", broker.toString(), "-storetype", "PKCS12", "-storepass", pw);
        keytool("-certreq", "-alias", "broker", "-keystore", broker.toString(), "-storepass", pw, "-file", csr.toString());
        keytool("-gencert", "-rfc", "-alias", "ca", "-keystore", ca.toString(), "-storepass", pw, "-infile", csr.toString(),
                "-outfile", crt.toString(), "-validity", "2", "-ext", "SAN=dns:localhost,ip:127.0.0.1",
                "-ext", "KU=digitalSignature", "-ext", "EKU=serverAuth");
        keytool("-importcert", "-noprompt", "-alias", "ca", "-file", caCrt.toString(), "-keystore", broker.toString(),
                "-storepass", pw);
        keytool("-importcert", "-alias", "broker", "-file", crt.toString(), "-keystore", broker.toString(), "-storepass", pw);
        return new ThrowawayTls(caCrt, broker, pw);
    }

    private static void keytool(String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "keytool").toString());
        command.addAll(List.of(args));
        Tools.run(command);
    }
}
