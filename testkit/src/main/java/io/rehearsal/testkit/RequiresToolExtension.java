package io.rehearsal.testkit;

import java.io.File;
import java.io.IOException;
import java.lang.reflect.AnnotatedElement;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.platform.commons.support.AnnotationSupport;
import org.opentest4j.AssertionFailedError;

/**
 * Runs what {@link RequiresTool} declares: on a developer's machine a missing tool skips the class or method
 * with its install hint; in CI it fails it with the same hint. Each tool is probed once per test JVM.
 *
 * <p>CI is on when the environment variable {@code CI} is set to anything but {@code false} or {@code 0}
 * ({@code .ci/run} exports {@code CI=true}); the JUnit configuration parameter {@value #CI_PARAMETER}
 * ({@code true}/{@code false}, also a system property) overrides it. {@value #PATH_PARAMETER} replaces PATH
 * for the program lookup, to see what a machine without a tool would do.
 */
public final class RequiresToolExtension implements ExecutionCondition, BeforeAllCallback, BeforeEachCallback {
    /** Overrides the CI environment variable: {@code true} or {@code false}. */
    public static final String CI_PARAMETER = "rehearsal.ci";
    /** Overrides PATH for finding programs. */
    public static final String PATH_PARAMETER = "rehearsal.tools.path";
    private static final ExtensionContext.Namespace NAMESPACE = ExtensionContext.Namespace.create(RequiresToolExtension.class);

    @Override
    public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
        List<String> missing = missing(context);
        if (missing.isEmpty()) {
            return ConditionEvaluationResult.enabled("the tools it needs are installed");
        }
        if (ci(context)) {
            // enabled, so that the callbacks below fail it: a condition can only skip
            return ConditionEvaluationResult.enabled("CI is set: " + String.join("; ", missing) + " fails it");
        }
        return ConditionEvaluationResult.disabled(String.join("; ", missing)
                + ". Skipped here; where CI is set (.ci/run) this fails instead");
    }

    @Override
    public void beforeAll(ExtensionContext context) {
        failInCi(context);
    }

    @Override
    public void beforeEach(ExtensionContext context) {
        failInCi(context);
    }

    /** Only reached when the condition let it run: with every tool there, or in CI. */
    private static void failInCi(ExtensionContext context) {
        List<String> missing = missing(context);
        if (!missing.isEmpty()) {
            throw new AssertionFailedError(String.join("; ", missing) + ". CI is set, so this fails instead of being"
                    + " skipped: a check that CI could run must run there (.ci/run installs every tool of "
                    + Tool.class.getName() + ")");
        }
    }

    /** What the annotation on this context's own element (the class, or the method) needs and does not find. */
    private static List<String> missing(ExtensionContext context) {
        Optional<AnnotatedElement> element = context.getElement();
        List<String> missing = new ArrayList<>();
        if (element.isEmpty()) {
            return missing;
        }
        Optional<RequiresTool> required = AnnotationSupport.findAnnotation(element.get(), RequiresTool.class);
        if (required.isEmpty()) {
            return missing;
        }
        String path = context.getConfigurationParameter(PATH_PARAMETER).orElseGet(() -> Optional.ofNullable(System.getenv("PATH")).orElse(""));
        ExtensionContext.Store store = context.getRoot().getStore(NAMESPACE);
        for (Tool tool : required.get().value()) {
            boolean present = store.getOrComputeIfAbsent(tool + "@" + path, k -> present(tool, path), Boolean.class);
            if (!present) {
                missing.add(tool.missingMessage());
            }
        }
        return missing;
    }

    static boolean ci(ExtensionContext context) {
        return context.getConfigurationParameter(CI_PARAMETER).map(Boolean::parseBoolean).orElseGet(() -> {
            String ci = System.getenv("CI");
            return ci != null && !ci.isBlank() && !ci.trim().toLowerCase(Locale.ROOT).matches("false|0");
        });
    }

    private static boolean present(Tool tool, String path) {
        return switch (tool.kind()) {
            case PROGRAM -> onPath(tool.toolName(), path);
            case PYTHON_MODULE -> pythonImports(tool.toolName());
        };
    }

    private static boolean onPath(String program, String path) {
        for (String dir : path.split(File.pathSeparator)) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, program))) {
                return true;
            }
        }
        return false;
    }

    private static boolean pythonImports(String module) {
        try {
            Process p = new ProcessBuilder(Tool.python(), "-c", "import " + module).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            // importing torch takes seconds on a busy machine
            if (!p.waitFor(2, TimeUnit.MINUTES)) {
                p.destroyForcibly();
                return false;
            }
            return p.exitValue() == 0;
        } catch (IOException e) {
            return false; // no python at all
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }
}
