package io.rehearsal.testkit;

/** Asks Testcontainers whether a Docker engine answers; false when Testcontainers is not on the classpath. */
final class DockerProbe {
    private DockerProbe() {
    }

    static boolean dockerAvailable() {
        try {
            return org.testcontainers.DockerClientFactory.instance().isDockerAvailable();
        } catch (NoClassDefFoundError | RuntimeException e) {
            return false;
        }
    }
}
