package io.rehearsal.cli.report;

import java.util.Arrays;

/**
 * The continual-learning accuracy matrix: {@code a[i][j]} is the accuracy on task {@code j}'s held-out
 * test images after training through task {@code i}. From it come the two standard figures:
 * <ul>
 *   <li><b>final average accuracy</b>: the mean of the last row (all tasks, after the last task);</li>
 *   <li><b>average forgetting</b> (Chaudhry et al., 2018): for each task but the last, the best accuracy it
 *       ever had after being learned minus its final accuracy, averaged.</li>
 * </ul>
 */
public final class AccuracyMatrix {
    private final double[][] a;

    public AccuracyMatrix(int tasks) {
        if (tasks < 1) {
            throw new IllegalArgumentException("need at least one task");
        }
        this.a = new double[tasks][tasks];
        for (double[] row : a) {
            Arrays.fill(row, Double.NaN);
        }
    }

    /** Records the accuracy on {@code task} after training through {@code afterTask}. */
    public void set(int afterTask, int task, double accuracy) {
        a[afterTask][task] = accuracy;
    }

    public double get(int afterTask, int task) {
        return a[afterTask][task];
    }

    public int tasks() {
        return a.length;
    }

    /** Mean accuracy over all tasks after the last one. */
    public double finalAverageAccuracy() {
        return Arrays.stream(a[a.length - 1]).average().orElse(Double.NaN);
    }

    /** Mean over tasks 0..T-2 of (best accuracy after learning it, before the end) minus final accuracy. */
    public double averageForgetting() {
        int last = a.length - 1;
        if (last == 0) {
            return 0.0;
        }
        double sum = 0;
        for (int j = 0; j < last; j++) {
            double best = Double.NEGATIVE_INFINITY;
            for (int i = j; i < last; i++) {
                best = Math.max(best, a[i][j]);
            }
            sum += best - a[last][j];
        }
        return sum / last;
    }

    /** Mean accuracy over the tasks seen so far, after each task (the usual learning curve). */
    public double[] averageAccuracyAfterEachTask() {
        double[] out = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            double sum = 0;
            for (int j = 0; j <= i; j++) {
                sum += a[i][j];
            }
            out[i] = sum / (i + 1);
        }
        return out;
    }

    /** A copy of the matrix. */
    public double[][] values() {
        double[][] copy = new double[a.length][];
        for (int i = 0; i < a.length; i++) {
            copy[i] = a[i].clone();
        }
        return copy;
    }

    /** A markdown table: rows "after task i", columns "task j", percentages. */
    public String toMarkdown(String[] taskNames) {
        StringBuilder sb = new StringBuilder("| after \\ on |");
        for (String name : taskNames) {
            sb.append(' ').append(name).append(" |");
        }
        sb.append(" avg |\n|---|");
        sb.append("---:|".repeat(taskNames.length + 1)).append('\n');
        double[] avg = averageAccuracyAfterEachTask();
        for (int i = 0; i < a.length; i++) {
            sb.append("| ").append(taskNames[i]).append(" |");
            for (int j = 0; j < a.length; j++) {
                sb.append(j <= i || !Double.isNaN(a[i][j]) ? String.format(" %.1f |", 100 * a[i][j]) : " |");
            }
            sb.append(String.format(" %.1f |%n", 100 * avg[i]));
        }
        return sb.toString();
    }
}
