package io.rehearsal.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.engine.discovery.DiscoverySelectors;
import org.junit.platform.launcher.Launcher;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;

/**
 * {@link RequiresTool} on a machine without the tool: skipped with the install hint where CI is not set,
 * failed with it where CI is set. The fixtures below run in a launcher of their own, with PATH pointed at
 * a directory that has (or lacks) a {@code kubectl}, so the outcome does not depend on this machine.
 */
class RequiresToolExtensionTest {
    private static final String HINT = "kubectl is not on PATH (install kubectl 1.27 or later";

    @RequiresTool(Tool.KUBECTL)
    static class ClassNeedsKubectl {
        @Test
        void usesKubectl() {
        }
    }

    static class MethodNeedsKubectl {
        @Test
        @RequiresTool(Tool.KUBECTL)
        void usesKubectl() {
        }

        @Test
        void needsNothing() {
        }
    }

    /** What the launcher reported: "skipped NAME: reason", "failed NAME: message", "passed NAME". */
    private static List<String> run(Class<?> fixture, boolean ci, Path path) {
        List<String> events = new ArrayList<>();
        Launcher launcher = LauncherFactory.create();
        launcher.execute(LauncherDiscoveryRequestBuilder.request()
                .selectors(DiscoverySelectors.selectClass(fixture))
                .configurationParameter(RequiresToolExtension.CI_PARAMETER, Boolean.toString(ci))
                .configurationParameter(RequiresToolExtension.PATH_PARAMETER, path.toString())
                .build(), new TestExecutionListener() {
                    @Override
                    public void executionSkipped(TestIdentifier id, String reason) {
                        events.add("skipped " + name(id) + ": " + reason);
                    }

                    @Override
                    public void executionFinished(TestIdentifier id, TestExecutionResult result) {
                        if (id.getSource().isEmpty() || id.getDisplayName().startsWith("JUnit")) {
                            return; // the engine
                        }
                        events.add(switch (result.getStatus()) {
                            case SUCCESSFUL -> "passed " + name(id);
                            default -> "failed " + name(id) + ": " + result.getThrowable().map(Throwable::getMessage).orElse("");
                        });
                    }
                });
        return events;
    }

    private static String name(TestIdentifier id) {
        return id.getDisplayName().replace(RequiresToolExtensionTest.class.getSimpleName() + "$", "");
    }

    @Test
    void shouldSkipAClassWithTheInstallHintWhereCiIsNotSet(@TempDir Path empty) {
        // Given a PATH without kubectl, outside CI
        // When a class that needs kubectl runs
        List<String> events = run(ClassNeedsKubectl.class, false, empty);

        // Then the class is skipped, saying what to install and that CI would fail
        assertThat(events).singleElement().asString()
                .startsWith("skipped ClassNeedsKubectl: " + HINT).contains("where CI is set (.ci/run) this fails instead");
    }

    @Test
    void shouldFailAClassWithTheInstallHintWhereCiIsSet(@TempDir Path empty) {
        List<String> events = run(ClassNeedsKubectl.class, true, empty);

        // Then the class fails before any test runs, with the same hint
        assertThat(events).singleElement().asString()
                .startsWith("failed ClassNeedsKubectl: " + HINT).contains("CI is set, so this fails instead of being skipped");
    }

    @Test
    void shouldSkipOrFailOnlyTheMethodThatNeedsTheTool(@TempDir Path empty) {
        assertThat(run(MethodNeedsKubectl.class, false, empty)).hasSize(3)
                .anySatisfy(e -> assertThat(e).startsWith("skipped usesKubectl(): " + HINT))
                .contains("passed needsNothing()", "passed MethodNeedsKubectl");
        assertThat(run(MethodNeedsKubectl.class, true, empty)).hasSize(3)
                .anySatisfy(e -> assertThat(e).startsWith("failed usesKubectl(): " + HINT))
                .contains("passed needsNothing()", "passed MethodNeedsKubectl");
    }

    @Test
    void shouldRunWhereTheToolIsOnPath(@TempDir Path bin) throws Exception {
        // Given a PATH with an executable kubectl
        Files.writeString(bin.resolve("kubectl"), "#!/bin/sh\n");
        Files.setPosixFilePermissions(bin.resolve("kubectl"), PosixFilePermissions.fromString("rwxr-xr-x"));

        // Then everything runs, in CI or not
        for (boolean ci : new boolean[] {false, true}) {
            assertThat(run(ClassNeedsKubectl.class, ci, bin)).containsExactly("passed usesKubectl()", "passed ClassNeedsKubectl");
            assertThat(run(MethodNeedsKubectl.class, ci, bin)).containsExactlyInAnyOrder(
                    "passed usesKubectl()", "passed needsNothing()", "passed MethodNeedsKubectl");
        }
    }
}
