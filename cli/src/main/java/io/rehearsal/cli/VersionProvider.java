package io.rehearsal.cli;

import picocli.CommandLine.IVersionProvider;

/** Prints the project version from the jar manifest. */
final class VersionProvider implements IVersionProvider {
    @Override
    public String[] getVersion() {
        String v = Main.class.getPackage().getImplementationVersion();
        return new String[] {"rehearsal " + (v == null ? "(development build)" : v),
                "Java " + System.getProperty("java.version")};
    }
}
