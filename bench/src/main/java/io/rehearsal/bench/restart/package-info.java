/**
 * {@code rehearsal bench restart}: how long a curator with a full default buffer takes to serve again after
 * SIGKILL (and after SIGTERM), under each Kafka Streams setting that could shorten it, and where the time goes.
 */
package io.rehearsal.bench.restart;
