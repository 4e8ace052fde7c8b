package io.rehearsal.testkit;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The test class or method drives these tools. Where one is missing it is skipped, saying what to install;
 * where the environment variable {@code CI} is set (as {@code .ci/run} does) it fails instead, because a
 * check that CI could run must not go quiet there.
 *
 * <pre>{@code
 * @RequiresTool(Tool.KUBECTL)
 * class KubernetesManifestsTest { ... }
 * }</pre>
 *
 * @see RequiresToolExtension
 */
@Target({ElementType.TYPE, ElementType.METHOD})
@Retention(RetentionPolicy.RUNTIME)
@Documented
@ExtendWith(RequiresToolExtension.class)
public @interface RequiresTool {
    /** Every tool the annotated class or method needs. */
    Tool[] value();
}
