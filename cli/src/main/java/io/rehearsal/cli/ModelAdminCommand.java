package io.rehearsal.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import io.rehearsal.models.release.ModelCommands;
import io.rehearsal.models.release.PromotionJson;
import io.rehearsal.models.release.PromotionReader;
import io.rehearsal.models.release.ReleaseState;
import io.rehearsal.schemas.JsonCodec;
import io.rehearsal.schemas.avro.CommandAction;
import io.rehearsal.schemas.avro.Evaluation;
import io.rehearsal.schemas.avro.GroupScore;
import io.rehearsal.schemas.avro.PolicyCheck;
import io.rehearsal.schemas.avro.Promotion;
import io.rehearsal.schemas.avro.PromotionAction;
import java.io.PrintWriter;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.common.KafkaException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code rehearsal model}: what services of a model get, and an operator's say in it. {@code list} and
 * {@code show} read the promotions topic; {@code promote}, {@code pin}, {@code unpin} and {@code rollback} send a
 * command the model's promoter applies and records (with the operator's name and reason), and print its answer.
 * Training goes on underneath: only what services serve changes. See docs/lifecycle.md.
 */
@Command(name = "model", mixinStandardHelpOptions = true,
        description = {"Which version of a model services get: list versions with their evaluation, show a decision,",
                "promote or roll back by hand, pin a version so nothing replaces it until unpinned. Commands are",
                "applied by the model's promoter (rehearsal promoter) and recorded on rehearsal.model-promotions",
                "with the operator's name and reason. See docs/lifecycle.md."},
        subcommands = {ModelAdminCommand.ListVersions.class, ModelAdminCommand.Show.class, ModelAdminCommand.Promote.class,
                ModelAdminCommand.Pin.class, ModelAdminCommand.Unpin.class, ModelAdminCommand.Rollback.class})
final class ModelAdminCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        spec.commandLine().usage(spec.commandLine().getOut());
        return 2;
    }

    /** What every subcommand shares: where Kafka is, which model, the key that verifies promotions. */
    static class Common {
        @Mixin
        KafkaOptions kafka;
        @Mixin
        SnapshotKeyOptions key;
        @Spec
        CommandSpec spec;

        @Option(names = "--model-id", defaultValue = "default", description = "The model (default: ${DEFAULT-VALUE}).")
        String modelId;

        @Option(names = "--timeout", defaultValue = "PT30S", description = "Longest wait for the broker or the promoter (default: ${DEFAULT-VALUE}).")
        Duration timeout;

        String bootstrap() {
            return (String) kafka.clientProperties().get(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG);
        }

        PromotionReader.History history() {
            try (PromotionReader reader = PromotionReader.create(kafka.topics(), bootstrap(), kafka.clientProperties(), timeout,
                    key.key())) {
                return reader.history(modelId);
            }
        }

        PrintWriter out() {
            return spec.commandLine().getOut();
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true,
            description = {"The model's release state and the versions decided on, newest first, with their held-out",
                    "accuracy and the decision (as many as the compacted promotions topic still holds)."})
    static final class ListVersions extends Common implements Callable<Integer> {
        @Option(names = "--json", description = "Print JSON: the newest record and the decisions.")
        boolean json;

        @Option(names = "--limit", defaultValue = "20", description = "Decisions listed at most (default: ${DEFAULT-VALUE}).")
        int limit;

        @Override
        public Integer call() {
            PromotionReader.History h = history();
            List<Promotion> newestFirst = new ArrayList<>(h.promotions());
            java.util.Collections.reverse(newestFirst);
            List<Promotion> shown = newestFirst.subList(0, Math.min(limit, newestFirst.size()));
            if (json) {
                var o = JsonCodec.mapper().createObjectNode().put("modelId", modelId);
                ArrayNode decisions = o.putArray("decisions");
                shown.forEach(p -> decisions.add(PromotionJson.toJson(p)));
                out().println(o);
                out().flush();
                return 0;
            }
            if (h.latest().isEmpty()) {
                out().printf("model %s: no promotion yet (is `rehearsal promoter --model-id %s` running?)%n", modelId, modelId);
                out().flush();
                return 0;
            }
            out().println(headline(ReleaseState.of(h.latest().get()), Instant.now()));
            out().printf("%-8s %-17s %-9s %-9s %-8s %-25s %-12s %s%n", "VERSION", "DECISION", "ACCURACY", "PROMOTED",
                    "SAMPLES", "TIME", "BY", "REASON");
            for (Promotion p : shown) {
                Evaluation e = p.getEvaluation();
                out().printf("%-8d %-17s %-9s %-9s %-8s %-25s %-12s %s%n", p.getCandidateVersion(), p.getAction(),
                        e == null ? "-" : pct(e.getAccuracy()), p.getBaseline() == null ? "-" : pct(p.getBaseline().getAccuracy()),
                        e == null ? "-" : Integer.toString(e.getSamples()), p.getTime(), p.getActor(), p.getReason());
            }
            if (h.skipped() > 0) {
                out().printf("(%d records skipped: undecodable, or not signed with the given key)%n", h.skipped());
            }
            out().flush();
            return 0;
        }
    }

    @Command(name = "show", mixinStandardHelpOptions = true,
            description = {"One decision in full: the candidate's and the promoted version's held-out accuracy per task and",
                    "per class, every check of the policy, the rollback targets. The newest, or the one about --version."})
    static final class Show extends Common implements Callable<Integer> {
        @Option(names = "--version", description = "The newest decision about this version (default: the newest decision).")
        Long version;

        @Option(names = "--json", description = "Print the record as JSON.")
        boolean json;

        @Override
        public Integer call() {
            PromotionReader.History h = history();
            Optional<Promotion> found = version == null ? h.latest() : h.promotions().stream()
                    .filter(p -> p.getCandidateVersion() == version).reduce((a, b) -> b);
            if (found.isEmpty()) {
                spec.commandLine().getErr().printf("model %s: no decision %s on the promotions topic%n", modelId,
                        version == null ? "yet" : "about version " + version);
                spec.commandLine().getErr().flush();
                return 1;
            }
            Promotion p = found.get();
            if (json) {
                out().println(PromotionJson.toJson(p).toPrettyString());
                out().flush();
                return 0;
            }
            out().println(headline(ReleaseState.of(p), Instant.now()));
            out().printf("decision %d: %s version %d by %s at %s%n  %s%n", p.getSequence(), p.getAction(), p.getCandidateVersion(),
                    p.getActor(), p.getTime(), p.getReason());
            if (p.getEvaluation() != null) {
                Evaluation c = p.getEvaluation();
                Evaluation b = p.getBaseline();
                out().printf("%nheld-out evaluation (%d samples below offset %d of the train-batches topic)%n", c.getSamples(),
                        c.getEvalOffset());
                out().printf("  %-16s %10s %10s%n", "", "v" + c.getVersion(), b == null ? "-" : "v" + b.getVersion());
                out().printf("  %-16s %10s %10s%n", "overall", pct(c.getAccuracy()), b == null ? "-" : pct(b.getAccuracy()));
                rows("task", c.getByTask(), b == null ? Map.of() : b.getByTask());
                rows("class", c.getByClass(), b == null ? Map.of() : b.getByClass());
            }
            if (!p.getChecks().isEmpty()) {
                out().println("\nchecks");
                for (PolicyCheck check : p.getChecks()) {
                    out().printf("  %-6s %-8s %-10s %s vs %s, at most %s below%n", check.getPassed() ? "pass" : "FAIL",
                            check.getScope(), check.getKey(), fmt(check), fmtRef(check), points(check.getMaxDrop()));
                }
            }
            out().printf("%npolicy %s%nrollback targets %s%n", new TreeMap<>(p.getPolicy()),
                    p.getRollbackTargets().stream().map(r -> r.getVersion()).toList());
            out().flush();
            return 0;
        }

        private void rows(String what, Map<String, GroupScore> candidate, Map<String, GroupScore> baseline) {
            TreeSet<String> keys = new TreeSet<>(candidate.keySet());
            keys.addAll(baseline.keySet());
            for (String k : keys) {
                GroupScore c = candidate.get(k);
                GroupScore b = baseline.get(k);
                out().printf("  %-16s %10s %10s  (%d samples)%n", what + " " + (k.isEmpty() ? "(none)" : k),
                        c == null ? "-" : pct(c.getAccuracy()), b == null ? "-" : pct(b.getAccuracy()),
                        c == null ? b.getSamples() : c.getSamples());
            }
        }

        private static String fmt(PolicyCheck c) {
            return c.getScope() == io.rehearsal.schemas.avro.CheckScope.SAMPLES ? Long.toString((long) c.getCandidate()) : pct(c.getCandidate());
        }

        private static String fmtRef(PolicyCheck c) {
            return c.getScope() == io.rehearsal.schemas.avro.CheckScope.SAMPLES ? Long.toString((long) c.getReference()) : pct(c.getReference());
        }
    }

    /** What promote, pin, unpin and rollback share: the operator, the reason, and waiting for the promoter's answer. */
    abstract static class Act extends Common implements Callable<Integer> {
        @Option(names = "--operator", description = "Who asks (default: env REHEARSAL_OPERATOR, else USER).")
        String operator;

        @Option(names = "--reason", required = true, description = "Why: recorded on the promotions topic with the decision.")
        String reason;

        abstract CommandAction action();

        abstract Long version();

        @Override
        public Integer call() {
            String who = operator != null ? operator
                    : Optional.ofNullable(System.getenv("REHEARSAL_OPERATOR")).orElse(System.getProperty("user.name", "unknown"));
            io.rehearsal.schemas.avro.ModelCommand command;
            try {
                command = ModelCommands.command(modelId, action(), version(), who, reason);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
            }
            try (ModelCommands commands = ModelCommands.create(kafka.topics(), bootstrap(), kafka.clientProperties(), key.key())) {
                Promotion answer = commands.apply(command, timeout);
                PrintWriter w = answer.getAction() == PromotionAction.REJECTED ? spec.commandLine().getErr() : out();
                w.printf("%s: %s (promotion %d by %s)%n", answer.getAction(), answer.getReason(), answer.getSequence(),
                        answer.getActor());
                w.println(headline(ReleaseState.of(answer), Instant.now()));
                w.flush();
                return answer.getAction() == PromotionAction.REJECTED ? 1 : 0;
            } catch (IllegalStateException | KafkaException e) {
                spec.commandLine().getErr().println(action() + " not applied: " + e.getMessage());
                spec.commandLine().getErr().flush();
                return 1;
            }
        }
    }

    @Command(name = "promote", mixinStandardHelpOptions = true,
            description = {"Serve a version now, whatever the policy says (default: the newest candidate). Candidates",
                    "are then held to it. Example: rehearsal model promote --model-id fashion --version 42 --reason \"...\""})
    static final class Promote extends Act {
        @Option(names = "--version", description = "The version (default: the newest candidate).")
        Long version;

        @Override
        CommandAction action() {
            return CommandAction.PROMOTE;
        }

        @Override
        Long version() {
            return version;
        }
    }

    @Command(name = "pin", mixinStandardHelpOptions = true,
            description = {"Hold a version (default: the promoted one) so nothing replaces it until unpinned; candidates",
                    "are still evaluated and recorded as HELD."})
    static final class Pin extends Act {
        @Option(names = "--version", description = "The version to pin (default: the promoted one).")
        Long version;

        @Override
        CommandAction action() {
            return CommandAction.PIN;
        }

        @Override
        Long version() {
            return version;
        }
    }

    @Command(name = "unpin", mixinStandardHelpOptions = true, description = "Let candidates that pass the policy be promoted again.")
    static final class Unpin extends Act {
        @Override
        CommandAction action() {
            return CommandAction.UNPIN;
        }

        @Override
        Long version() {
            return null;
        }
    }

    @Command(name = "rollback", mixinStandardHelpOptions = true,
            description = {"Serve the version promoted before the current one (or --version, one of the rollback",
                    "targets), pinned there until unpinned."})
    static final class Rollback extends Act {
        @Option(names = "--version", description = "A rollback target (default: the version promoted before).")
        Long version;

        @Override
        CommandAction action() {
            return CommandAction.ROLLBACK;
        }

        @Override
        Long version() {
            return version;
        }
    }

    /** One line: what is served, pinned or not, the newest candidate, held back since when. */
    static String headline(ReleaseState s, Instant now) {
        return String.format(Locale.ROOT, "model %s: serving version %s%s; newest candidate %d (%d behind)%s", s.modelId(),
                s.promotedVersion() == 0 ? "none" : Long.toString(s.promotedVersion()), s.pinned() ? " (PINNED)" : "",
                s.latestVersion(), s.versionsBehind(), s.heldBackSince().map(t -> String.format(Locale.ROOT,
                        "; promotion held back for %s (%d candidates)", human(Duration.between(t, now)), s.candidatesHeldBack()))
                        .orElse(""));
    }

    static String human(Duration d) {
        long s = Math.max(0, d.toSeconds());
        return s < 120 ? s + " s" : s < 7200 ? (s / 60) + " min" : (s / 3600) + " h";
    }

    static String pct(double v) {
        return String.format(Locale.ROOT, "%.1f%%", 100 * v);
    }

    static String points(double v) {
        return String.format(Locale.ROOT, "%.1f pts", 100 * v);
    }
}
