package io.rehearsal.models.train;

import static org.assertj.core.api.Assertions.assertThat;

import io.rehearsal.schemas.Topics;
import io.rehearsal.testkit.KafkaBrokerExtension;
import io.rehearsal.testkit.KafkaBrokers;
import io.rehearsal.testkit.KafkaCluster;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The lease that decides which of several trainers of a model trains, on three brokers: one holder at a
 * time, a standby that gets it when the holder leaves, and the holder's {@code onLost} done before the
 * standby gets it (a graceful handover publishes its last snapshot before the successor fences it).
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
@ExtendWith(KafkaBrokerExtension.class)
@KafkaBrokers(3)
class TrainerLeaseIT {
    private static final Duration SESSION = Duration.ofSeconds(6);

    @Test
    void shouldGiveTheLeaseToOneTrainerAndToTheStandbyOnlyAfterTheHolderStopped(KafkaCluster kafka) throws Exception {
        Topics topics = kafka.newTopics();
        TrainerSettings settings = TrainerAppIT.settings("leased").build();
        AtomicLong lostDone = new AtomicLong();
        try (TrainerLease active = new TrainerLease(settings, topics, kafka.bootstrapServers(), kafka.clientProperties(), SESSION);
             TrainerLease standby = new TrainerLease(settings, topics, kafka.bootstrapServers(), kafka.clientProperties(), SESSION)) {
            // Given a trainer that holds the lease
            active.onLost(() -> {
                sleep(1000); // publishing its last snapshot
                lostDone.set(System.nanoTime());
            }).start();
            assertThat(active.await(Duration.ofSeconds(60))).as("the first trainer takes the lease").isTrue();

            // When a second trainer of the model joins
            standby.start();

            // Then it waits: the lease stays where it is
            assertThat(standby.await(Duration.ofSeconds(8))).as("the standby does not get the lease").isFalse();
            assertThat(active.held()).isTrue();

            // When the holder stops
            long stopped = System.nanoTime();
            active.close();

            // Then the standby holds it, after the holder's onLost returned
            assertThat(standby.await(Duration.ofSeconds(60))).as("the standby takes over").isTrue();
            assertThat(active.held()).isFalse();
            assertThat(lostDone.get()).as("onLost ran").isPositive();
            assertThat(standby.acquiredAtNanos()).as("acquired after onLost returned").isGreaterThan(lostDone.get());
            System.out.printf("lease handover after a stop: %d ms (onLost took 1000 ms of it)%n",
                    (standby.acquiredAtNanos() - stopped) / 1_000_000);
        }
    }

    @Test
    void shouldPassAKilledHoldersLeaseToTheWarmStandbyRatherThanToAProcessThatJustStarted(KafkaCluster kafka) throws Exception {
        Topics topics = kafka.newTopics();
        TrainerSettings settings = TrainerAppIT.settings("raced").build();
        TrainerLease first = new TrainerLease(settings, topics, kafka.bootstrapServers(), kafka.clientProperties(), SESSION);
        try (TrainerLease second = new TrainerLease(settings, topics, kafka.bootstrapServers(), kafka.clientProperties(), SESSION);
             TrainerLease third = new TrainerLease(settings, topics, kafka.bootstrapServers(), kafka.clientProperties(), SESSION);
             TrainerLease fourth = new TrainerLease(settings, topics, kafka.bootstrapServers(), kafka.clientProperties(), SESSION)) {
            // Given a holder and a warm standby waiting beside it
            assertThat(first.start().await(Duration.ofSeconds(60))).as("the first trainer takes the lease").isTrue();
            second.start().warm();

            // When the holder is killed (it stays in the group until its session times out) and its process restarts
            first.closeAsIfKilled();
            third.start();

            // Then the warm standby takes over, not the process that has just started (before the fix: whichever
            // member id sorted first, a coin toss)
            assertThat(second.await(Duration.ofSeconds(60))).as("the warm standby takes over").isTrue();
            assertThat(third.held()).as("the restarted process waits").isFalse();

            // And again, one round on: the restarted process has since warmed up, the new holder is killed and restarts
            third.warm();
            second.closeAsIfKilled();
            fourth.start();
            assertThat(third.await(Duration.ofSeconds(60))).as("the now warm standby takes over").isTrue();
            assertThat(fourth.held()).as("the process that has just started waits").isFalse();
            try (Admin admin = Admin.create(adminConfig(kafka))) {
                assertThat(admin.describeConsumerGroups(List.of(third.group())).all().get().get(third.group()).partitionAssignor())
                        .as("the group's assignor").isEqualTo(LeaseAssignor.NAME);
            }
        } finally {
            first.close();
        }
    }

    @Test
    void shouldKeepOneLeasePerModel(KafkaCluster kafka) throws Exception {
        Topics topics = kafka.newTopics();
        TrainerSettings.Builder builder = TrainerAppIT.settings("unused");
        TrainerSettings a = TrainerSettings.builder("model-a", builder.build().spec())
                .optGroupIdPrefix("g-" + java.util.UUID.randomUUID() + "-").build();
        TrainerSettings b = TrainerSettings.builder("model-b", a.spec()).optGroupIdPrefix(a.groupIdPrefix()).build();
        // two models, each with its own lease group: each trainer holds its own model's lease
        try (TrainerLease la = new TrainerLease(a, topics, kafka.bootstrapServers(), kafka.clientProperties(), SESSION).start();
             TrainerLease lb = new TrainerLease(b, topics, kafka.bootstrapServers(), kafka.clientProperties(), SESSION).start()) {
            assertThat(la.await(Duration.ofSeconds(60))).isTrue();
            assertThat(lb.await(Duration.ofSeconds(60))).isTrue();
            assertThat(la.group()).isNotEqualTo(lb.group());
        }
    }

    private static Map<String, Object> adminConfig(KafkaCluster kafka) {
        Map<String, Object> config = new java.util.HashMap<>(kafka.clientProperties());
        config.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        return config;
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
