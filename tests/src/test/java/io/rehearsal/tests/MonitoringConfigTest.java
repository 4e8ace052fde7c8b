package io.rehearsal.tests;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.rehearsal.testkit.RequiresTool;
import io.rehearsal.testkit.Tool;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * ops/prometheus and ops/grafana on their own: promtool accepts the configuration and the rules, the
 * rules' unit tests pass, every alert has a runbook section, and the dashboard is well formed. Whether
 * the metrics they read exist is {@link MonitoringIT}'s question. The promtool checks need Debian's
 * {@code prometheus} package (which has promtool): {@link RequiresTool}.
 */
class MonitoringConfigTest {

    @Test
    @RequiresTool(Tool.PROMTOOL)
    void promtoolShouldAcceptThePrometheusConfigurationAndItsRules() throws Exception {
        String config = Tools.run(List.of("promtool", "check", "config", Tools.repo().resolve("ops/prometheus/prometheus.yml").toString()));
        assertThat(config).contains("SUCCESS: 1 rule files found").contains("is valid prometheus config file syntax");
        String rules = Tools.run(List.of("promtool", "check", "rules", MonitoringSources.rulesFile().toString()));
        assertThat(rules).contains("SUCCESS: " + MonitoringSources.rules().size() + " rules found");
    }

    @Test
    @RequiresTool(Tool.PROMTOOL)
    void theAlertsShouldFireOnTheIncidentsTheirUnitTestsDescribe() throws Exception {
        // ops/prometheus/rules_test.yml: synthetic series for each incident, the alerts that must fire
        String out = Tools.run(List.of("promtool", "test", "rules", Tools.repo().resolve("ops/prometheus/rules_test.yml").toString()));
        assertThat(out).contains("SUCCESS");
    }

    @Test
    void everyAlertShouldSayWhatToDoInDocsOperations() throws Exception {
        String operations = Files.readString(Tools.repo().resolve("docs/operations.md"));
        Set<String> headings = new HashSet<>();
        operations.lines().filter(l -> l.startsWith("#")).forEach(l -> headings.add(l.replaceFirst("^#+\\s*", "").trim()));
        for (MonitoringSources.Rule rule : MonitoringSources.rules()) {
            if (!rule.alert()) {
                continue;
            }
            JsonNode annotations = rule.node().path("annotations");
            assertThat(annotations.path("summary").asText()).as("summary of %s", rule.name()).isNotBlank();
            assertThat(annotations.path("description").asText()).as("description of %s", rule.name()).isNotBlank();
            assertThat(rule.node().path("labels").path("severity").asText()).as("severity of %s", rule.name())
                    .isIn("warning", "critical");
            assertThat(annotations.path("runbook").asText()).as("runbook of %s", rule.name())
                    .isEqualTo("docs/operations.md#" + rule.name().toLowerCase(Locale.ROOT));
            assertThat(headings).as("docs/operations.md has a section headed %s", rule.name()).contains(rule.name());
        }
    }

    @Test
    void theDashboardShouldBeProvisioningReady() {
        JsonNode d = MonitoringSources.dashboard();
        // a fixed uid (links and provisioning updates keep working), a Prometheus datasource variable
        assertThat(d.path("uid").asText()).isEqualTo("rehearsal");
        assertThat(d.has("id")).as("no database id: Grafana assigns one on import").isFalse();
        assertThat(d.path("templating").path("list").findValuesAsText("name")).contains("datasource", "model");
        Set<Integer> ids = new HashSet<>();
        List<String> rows = new ArrayList<>();
        for (JsonNode p : MonitoringSources.panels(d)) {
            assertThat(ids.add(p.path("id").asInt())).as("panel id %s is unique", p.path("id")).isTrue();
            JsonNode grid = p.path("gridPos");
            assertThat(grid.path("x").asInt() + grid.path("w").asInt()).as("panel %s fits 24 columns", p.path("title")).isLessThanOrEqualTo(24);
            if (p.path("type").asText().equals("row")) {
                rows.add(p.path("title").asText());
                continue;
            }
            assertThat(p.path("datasource").path("uid").asText()).as("panel %s uses the datasource variable", p.path("title"))
                    .isEqualTo("${datasource}");
            assertThat(p.path("targets")).as("panel %s has queries", p.path("title")).isNotEmpty();
            for (JsonNode t : p.path("targets")) {
                assertThat(t.path("expr").asText()).as("a query of %s", p.path("title")).isNotBlank();
                assertThat(t.path("datasource").path("uid").asText()).isEqualTo("${datasource}");
            }
        }
        assertThat(rows).containsExactly("Stream health", "Learning", "Recall schedule", "Feedback", "Snapshots and freshness",
                "Model lifecycle", "JVM and Kafka clients");
    }

    @Test
    void everyRecordingRuleTheDashboardReadsShouldExist() {
        Set<String> used = new TreeSet<>();
        MonitoringSources.dashboardQueries().forEach(q -> MonitoringSources.metricNames(q.expr()).stream()
                .filter(n -> n.contains(":")).forEach(used::add));
        assertThat(MonitoringSources.recordingRuleNames()).containsAll(used);
    }

    @Test
    void shouldFindTheMetricNamesOfAnExpression() {
        assertThat(MonitoringSources.metricNames("histogram_quantile(0.99, sum by (le, tier) (rate(a_bucket{model=~\"$model\"}[$__rate_interval])))"))
                .containsExactly("a_bucket");
        assertThat(MonitoringSources.metricNames("x:y:z > 900 and on (namespace, model) (b_total offset 5m > 0 or c > 1e3)"))
                .containsExactly("b_total", "c", "x:y:z");
        assertThat(MonitoringSources.metricNames("label_replace(sum by (reason) (rate(d_total[5m])), \"stage\", \"curator\", \"\", \"\") > 1/60"))
                .containsExactly("d_total");
        assertThat(MonitoringSources.metricNames("label_values(rehearsal_trainer_steps_total, model)"))
                .containsExactly("rehearsal_trainer_steps_total");
    }

    @Test
    void theLocalScriptShouldBeExecutable() {
        Path script = Tools.repo().resolve("ops/local/prometheus.sh");
        assertThat(Files.isExecutable(script)).as("%s is executable", script).isTrue();
    }
}
