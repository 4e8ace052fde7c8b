/** The {@code rehearsal} command line: one picocli {@link io.rehearsal.cli.Main} with subcommands. */
package io.rehearsal.cli;
