package io.rehearsal.cli.report;

import java.awt.BasicStroke;
import java.awt.Color;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.jfree.chart.ChartFactory;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.plot.ValueMarker;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.chart.ui.RectangleAnchor;
import org.jfree.chart.ui.TextAnchor;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

/** PNG line plots: accuracy per task over training steps, with task boundaries marked. */
public final class LearningCurves {
    static {
        System.setProperty("java.awt.headless", "true");
    }

    private LearningCurves() {
    }

    /** One point of a curve. */
    public record Point(double step, double value) {
    }

    /**
     * Writes a PNG.
     *
     * @param curves     series name → points (e.g. "t0 T-shirt/Trouser" → accuracy over steps)
     * @param boundaries step → label of a vertical marker (e.g. where task t1 starts)
     */
    public static void write(Path png, String title, String yLabel, Map<String, List<Point>> curves,
                             Map<Double, String> boundaries, int width, int height) throws IOException {
        XYSeriesCollection data = new XYSeriesCollection();
        curves.forEach((name, points) -> {
            XYSeries series = new XYSeries(name, false, true);
            points.forEach(p -> series.add(p.step(), p.value()));
            data.addSeries(series);
        });
        JFreeChart chart = ChartFactory.createXYLineChart(title, "training step", yLabel, data);
        chart.setBackgroundPaint(Color.WHITE);
        XYPlot plot = chart.getXYPlot();
        plot.setBackgroundPaint(Color.WHITE);
        plot.setDomainGridlinePaint(new Color(0xDDDDDD));
        plot.setRangeGridlinePaint(new Color(0xDDDDDD));
        XYLineAndShapeRenderer renderer = new XYLineAndShapeRenderer(true, false);
        for (int i = 0; i < data.getSeriesCount(); i++) {
            renderer.setSeriesStroke(i, new BasicStroke(2f));
        }
        plot.setRenderer(renderer);
        if (yLabel.toLowerCase().contains("accuracy")) {
            ((NumberAxis) plot.getRangeAxis()).setRange(0.0, 1.0);
        }
        boundaries.forEach((step, label) -> {
            ValueMarker marker = new ValueMarker(step, Color.GRAY, new BasicStroke(1f, BasicStroke.CAP_BUTT,
                    BasicStroke.JOIN_MITER, 1f, new float[] {4f, 4f}, 0f));
            marker.setLabel(label);
            marker.setLabelAnchor(RectangleAnchor.TOP_RIGHT);
            marker.setLabelTextAnchor(TextAnchor.TOP_LEFT);
            plot.addDomainMarker(marker);
        });
        ChartUtils.saveChartAsPNG(png.toFile(), chart, width, height);
    }
}
