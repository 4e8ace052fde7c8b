package io.rehearsal.models.release;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.rehearsal.schemas.JsonCodec;
import io.rehearsal.schemas.avro.Evaluation;
import io.rehearsal.schemas.avro.GroupScore;
import io.rehearsal.schemas.avro.ModelSnapshot;
import io.rehearsal.schemas.avro.PolicyCheck;
import io.rehearsal.schemas.avro.Promotion;
import io.rehearsal.schemas.avro.Release;
import java.util.Map;
import java.util.TreeMap;

/**
 * A promotion record as JSON for people and scripts ({@code rehearsal model show --json}, {@code rehearsal
 * status --json}, the predictor's {@code GET /model/release}): every field, the embedded snapshots described
 * (version, step, created, SHA-256 of the weights, signed or not) rather than dumped.
 */
public final class PromotionJson {
    private PromotionJson() {
    }

    public static ObjectNode toJson(Promotion p) {
        ObjectNode o = JsonCodec.mapper().createObjectNode();
        o.put("modelId", p.getModelId());
        o.put("sequence", p.getSequence());
        o.put("action", p.getAction().name());
        o.put("candidateVersion", p.getCandidateVersion());
        o.put("promotedVersion", p.getPromotedVersion());
        o.put("pinned", p.getPinned());
        o.put("latestVersion", p.getLatestVersion());
        if (p.getHeldBackSince() == null) {
            o.putNull("heldBackSince");
        } else {
            o.put("heldBackSince", p.getHeldBackSince().toString());
        }
        o.put("candidatesHeldBack", p.getCandidatesHeldBack());
        o.put("actor", p.getActor());
        o.put("reason", p.getReason());
        if (p.getCommandId() == null) {
            o.putNull("commandId");
        } else {
            o.put("commandId", p.getCommandId());
        }
        o.put("time", p.getTime().toString());
        o.put("signed", p.getSignature() != null);
        if (p.getPromotedSnapshot() != null) {
            o.set("promotedSnapshot", describe(ReleasedSnapshots.decode(p.getPromotedSnapshot())));
        } else {
            o.putNull("promotedSnapshot");
        }
        putEvaluation(o, "evaluation", p.getEvaluation());
        putEvaluation(o, "baseline", p.getBaseline());
        ArrayNode checks = o.putArray("checks");
        for (PolicyCheck c : p.getChecks()) {
            checks.addObject().put("scope", c.getScope().name()).put("key", c.getKey()).put("candidate", c.getCandidate())
                    .put("reference", c.getReference()).put("maxDrop", c.getMaxDrop()).put("passed", c.getPassed());
        }
        ObjectNode policy = o.putObject("policy");
        new TreeMap<>(p.getPolicy()).forEach(policy::put);
        ObjectNode best = o.putObject("bestTaskAccuracy");
        new TreeMap<>(p.getBestTaskAccuracy()).forEach(best::put);
        ObjectNode bestClass = o.putObject("bestClassAccuracy");
        new TreeMap<>(p.getBestClassAccuracy()).forEach(bestClass::put);
        ArrayNode targets = o.putArray("rollbackTargets");
        for (Release r : p.getRollbackTargets()) {
            ObjectNode t = describe(ReleasedSnapshots.decode(r.getSnapshot()));
            t.put("promotedTime", r.getPromotedTime().toString());
            targets.add(t);
        }
        return o;
    }

    private static ObjectNode describe(ModelSnapshot s) {
        ObjectNode o = JsonCodec.mapper().createObjectNode();
        o.put("version", s.getVersion());
        o.put("step", s.getStep());
        o.put("createdTime", s.getCreatedTime().toString());
        o.put("sha256", s.getParameters().getSha256());
        o.put("chunks", s.getParameters().getChunks().size());
        o.put("signed", s.getSignature() != null);
        return o;
    }

    private static void putEvaluation(ObjectNode o, String field, Evaluation e) {
        if (e == null) {
            o.putNull(field);
            return;
        }
        ObjectNode n = o.putObject(field);
        n.put("version", e.getVersion());
        n.put("samples", e.getSamples());
        n.put("evalOffset", e.getEvalOffset());
        n.put("accuracy", e.getAccuracy());
        groups(n.putObject("byTask"), e.getByTask());
        groups(n.putObject("byClass"), e.getByClass());
    }

    private static void groups(ObjectNode o, Map<String, GroupScore> groups) {
        new TreeMap<>(groups).forEach((k, g) -> o.putObject(k).put("accuracy", g.getAccuracy()).put("samples", g.getSamples()));
    }
}
