package io.rehearsal.cli;

import io.rehearsal.models.release.ModelCommands;
import java.util.function.Supplier;

/**
 * The predictor's client for operators' commands, made on the first command (most predictors never send
 * one) and closed with the process.
 */
final class LazyCommands implements Supplier<ModelCommands>, AutoCloseable {
    private final Supplier<ModelCommands> factory;
    private ModelCommands commands;

    LazyCommands(Supplier<ModelCommands> factory) {
        this.factory = factory;
    }

    @Override
    public synchronized ModelCommands get() {
        if (commands == null) {
            commands = factory.get();
        }
        return commands;
    }

    @Override
    public synchronized void close() {
        if (commands != null) {
            commands.close();
        }
    }
}
