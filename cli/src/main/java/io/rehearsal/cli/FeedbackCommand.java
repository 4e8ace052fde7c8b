package io.rehearsal.cli;

import io.rehearsal.models.predict.FeedbackSender;
import io.rehearsal.schemas.RecordDecodeException;
import io.rehearsal.schemas.Topics;
import io.rehearsal.schemas.avro.Feedback;
import io.rehearsal.schemas.avro.FeedbackKind;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.Callable;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.KafkaException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code rehearsal feedback}: one person's feedback on one sample, written to rehearsal.feedback. */
@Command(name = "feedback", mixinStandardHelpOptions = true,
        description = {"Send human feedback on a sample to rehearsal.feedback: LABEL sets or corrects its label,",
                "CONFIRM says its label is right, REJECT removes it from training. The curator applies it",
                "(a corrected sample is trained on again first); feedback may come before the sample itself.",
                "Example: rehearsal feedback --sample s42 --kind LABEL --label 3 --annotator ana --model-id fashion"})
final class FeedbackCommand implements Callable<Integer> {
    @Mixin
    KafkaOptions kafka;

    @Spec
    CommandSpec spec;

    @Option(names = "--sample", required = true, description = "Id of the sample the feedback is about.")
    String sampleId;

    @Option(names = "--kind", required = true, description = "LABEL, CONFIRM or REJECT.")
    FeedbackKind kind;

    @Option(names = "--label", description = "The correct class id (required for LABEL).")
    Integer label;

    @Option(names = "--annotator", description = "Who gives the feedback.")
    String annotator;

    @Option(names = "--trust", defaultValue = "1.0", description = "Annotator trust in (0, 1]; breaks ties between conflicting feedback (default: ${DEFAULT-VALUE}).")
    float trust;

    @Option(names = "--model-id", defaultValue = "default", description = "Model id of the sample (default: ${DEFAULT-VALUE}).")
    String modelId;

    /** The name before every command said {@code --model-id}; still read, with a warning, for scripts written then. */
    @Option(names = "--model", hidden = true, description = "Deprecated: use --model-id.")
    String deprecatedModel;

    @Option(names = "--predicted-label", description = "The prediction this feedback answers, if any.")
    Integer predictedLabel;

    @Option(names = "--model-version", description = "The model version whose prediction this answers, if any.")
    Long modelVersion;

    @Option(names = "--timeout", defaultValue = "PT30S", description = "Longest wait for the broker to acknowledge (default: ${DEFAULT-VALUE}).")
    Duration timeout;

    @Override
    public Integer call() {
        if (deprecatedModel != null) {
            if (spec.commandLine().getParseResult().hasMatchedOption("--model-id") && !deprecatedModel.equals(modelId)) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--model " + deprecatedModel
                        + " and --model-id " + modelId + " disagree; give only --model-id");
            }
            spec.commandLine().getErr().println("warning: --model is deprecated and will be removed; use --model-id "
                    + "(as every other rehearsal command does)");
            spec.commandLine().getErr().flush();
            modelId = deprecatedModel;
        }
        Feedback feedback = Feedback.newBuilder().setSampleId(sampleId).setModelId(modelId).setKind(kind).setLabel(label)
                .setAnnotator(annotator).setTrust(trust).setPredictedLabel(predictedLabel).setModelVersion(modelVersion)
                .setEventTime(Instant.now()).build();
        try {
            FeedbackSender.validated(feedback);
        } catch (RecordDecodeException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
        Topics topics = kafka.topics();
        String bootstrap = (String) kafka.clientProperties().get(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG);
        try (FeedbackSender sender = FeedbackSender.create(topics, bootstrap, kafka.clientProperties())) {
            RecordMetadata md = sender.send(feedback, timeout);
            spec.commandLine().getOut().printf("%s%s for sample %s (model %s) written to %s-%d@%d%n", kind,
                    label == null ? "" : " " + label, sampleId, modelId, md.topic(), md.partition(), md.offset());
            spec.commandLine().getOut().flush();
            return 0;
        } catch (KafkaException e) {
            spec.commandLine().getErr().println("feedback not sent: " + e.getMessage());
            return 1;
        }
    }
}
