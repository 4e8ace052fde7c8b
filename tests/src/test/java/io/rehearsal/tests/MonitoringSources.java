package io.rehearsal.tests;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What ops/ asks Prometheus for: the rules in ops/prometheus/rules.yml, the queries of the Grafana
 * dashboard ops/grafana/rehearsal.json, and the metric names a PromQL expression reads.
 */
final class MonitoringSources {
    static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
    static final ObjectMapper JSON = new ObjectMapper();
    /** Series Prometheus makes itself, never in a scrape. */
    static final Set<String> SYNTHETIC = Set.of("up", "ALERTS", "ALERTS_FOR_STATE", "scrape_duration_seconds",
            "scrape_samples_scraped", "scrape_samples_post_metric_relabeling", "scrape_series_added");

    private static final Set<String> KEYWORDS = Set.of("and", "or", "unless", "bool", "offset", "by", "without", "on",
            "ignoring", "group_left", "group_right", "inf", "nan", "atan2");
    private static final Pattern STRING = Pattern.compile("\"(?:[^\"\\\\]|\\\\.)*\"|'(?:[^'\\\\]|\\\\.)*'");
    private static final Pattern GROUPING =
            Pattern.compile("\\b(by|without|on|ignoring|group_left|group_right)\\s*\\([^)]*\\)");
    private static final Pattern IDENTIFIER = Pattern.compile("(?<![A-Za-z0-9_:.$])[A-Za-z_:][A-Za-z0-9_:]*");
    private static final Pattern LABEL_VALUES = Pattern.compile("label_values\\(\\s*([A-Za-z_:][A-Za-z0-9_:]*)");

    /** One rule of rules.yml. */
    record Rule(String group, String name, boolean alert, String expr, JsonNode node) {
    }

    /** One query of the dashboard, with the title of its panel (or variable). */
    record Query(String panel, String expr) {
    }

    private MonitoringSources() {
    }

    static Path rulesFile() {
        return Tools.repo().resolve("ops/prometheus/rules.yml");
    }

    static Path dashboardFile() {
        return Tools.repo().resolve("ops/grafana/rehearsal.json");
    }

    static List<Rule> rules() {
        List<Rule> out = new ArrayList<>();
        for (JsonNode group : read(YAML, rulesFile()).path("groups")) {
            for (JsonNode rule : group.path("rules")) {
                boolean alert = rule.has("alert");
                out.add(new Rule(group.path("name").asText(), rule.path(alert ? "alert" : "record").asText(), alert,
                        rule.path("expr").asText(), rule));
            }
        }
        return out;
    }

    static Set<String> recordingRuleNames() {
        Set<String> out = new TreeSet<>();
        rules().stream().filter(r -> !r.alert()).forEach(r -> out.add(r.name()));
        return out;
    }

    static JsonNode dashboard() {
        return read(JSON, dashboardFile());
    }

    /** Every panel query, and each query variable's query (its label_values metric). */
    static List<Query> dashboardQueries() {
        JsonNode d = dashboard();
        List<Query> out = new ArrayList<>();
        for (JsonNode panel : panels(d)) {
            for (JsonNode target : panel.path("targets")) {
                out.add(new Query(panel.path("title").asText(), target.path("expr").asText()));
            }
        }
        for (JsonNode variable : d.path("templating").path("list")) {
            if (variable.path("type").asText().equals("query")) {
                JsonNode q = variable.path("query");
                out.add(new Query("variable " + variable.path("name").asText(), q.isTextual() ? q.asText() : q.path("query").asText()));
            }
        }
        return out;
    }

    /** Top-level panels and those inside collapsed rows. */
    static List<JsonNode> panels(JsonNode dashboard) {
        List<JsonNode> out = new ArrayList<>();
        for (JsonNode p : dashboard.path("panels")) {
            out.add(p);
            p.path("panels").forEach(out::add);
        }
        return out;
    }

    /**
     * The metric names (and recording-rule names) an expression reads: identifiers that are not
     * functions, keywords, label names, strings, durations or Grafana variables.
     */
    static Set<String> metricNames(String expr) {
        Set<String> out = new TreeSet<>();
        Matcher lv = LABEL_VALUES.matcher(expr);
        if (lv.find()) {
            out.add(lv.group(1));
            return out;
        }
        String s = STRING.matcher(expr).replaceAll(" ");
        s = s.replaceAll("\\{[^}]*}", " ");
        s = s.replaceAll("\\[[^\\]]*]", " ");
        s = GROUPING.matcher(s).replaceAll(" ");
        Matcher m = IDENTIFIER.matcher(s);
        while (m.find()) {
            String name = m.group();
            int next = m.end();
            while (next < s.length() && Character.isWhitespace(s.charAt(next))) {
                next++;
            }
            boolean call = next < s.length() && s.charAt(next) == '(';
            if (!call && !KEYWORDS.contains(name)) {
                out.add(name);
            }
        }
        return out;
    }

    /** A dashboard query as Prometheus can run it: Grafana's variables replaced by plain values. */
    static String withoutGrafanaVariables(String expr) {
        return expr.replace("$__rate_interval", "1m").replace("$__interval", "15s").replace("$__range", "1h")
                .replace("$model", ".*");
    }

    private static JsonNode read(ObjectMapper mapper, Path file) {
        try {
            return mapper.readTree(file.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
    }
}
