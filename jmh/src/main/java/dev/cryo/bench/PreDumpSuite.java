package dev.cryo.bench;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;

import javax.imageio.ImageIO;

import org.openjdk.jmh.results.Result;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.results.format.ResultFormatType;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;

/**
 * Runs {@link PreDumpBench} (splice vs read pre-dump), writes JMH's JSON, prints a table of the figures and
 * draws them as a PNG chart.
 *
 * <p>usage: PreDumpSuite [--json FILE] [--chart FILE] [--table FILE] [--iterations N] [-p NAME=V1,V2 ...]
 */
public final class PreDumpSuite {
    private PreDumpSuite() {}

    /** One parameter combination's figures. */
    record Row(String mode, int sizeMiB, int permille, double wallMs, double wallErr, double frozenMs, double pagesWritten,
               double pinnedMiB) {}

    public static void main(String[] args) throws Exception {
        Path json = Path.of("target/bench-predump.json");
        Path chart = Path.of("docs/predump-splice-vs-read.png");
        Path table = Path.of("target/bench-predump.md");
        ChainedOptionsBuilder opt = new OptionsBuilder().include(PreDumpBench.class.getName() + ".*")
                .resultFormat(ResultFormatType.JSON).shouldFailOnError(true);
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--json" -> json = Path.of(args[++i]);
                case "--chart" -> chart = Path.of(args[++i]);
                case "--table" -> table = Path.of(args[++i]);
                case "--iterations" -> opt.measurementIterations(Integer.parseInt(args[++i]));
                case "-p" -> {
                    String[] kv = args[++i].split("=", 2);
                    opt.param(kv[0], kv[1].split(","));
                }
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        Files.createDirectories(json.toAbsolutePath().getParent());
        opt.result(json.toString());
        Collection<RunResult> results = new Runner(opt.build()).run();
        List<Row> rows = new ArrayList<>();
        for (RunResult r : results) {
            var p = r.getParams();
            rows.add(new Row(p.getParam("mode"), Integer.parseInt(p.getParam("sizeMiB")), Integer.parseInt(p.getParam("dirtyPermille")),
                    r.getPrimaryResult().getScore(), r.getPrimaryResult().getScoreError(),
                    secondary(r, "frozenMicros") / 1000, secondary(r, "pagesWritten"), secondary(r, "pinnedKiB") / 1024));
        }
        String text = table(rows);
        System.out.print(text);
        Files.writeString(table, text);
        Files.createDirectories(chart.toAbsolutePath().getParent());
        draw(rows, chart);
        System.out.println("JSON: " + json + "   table: " + table + "   chart: " + chart);
    }

    private static double secondary(RunResult r, String name) {
        Result<?> x = r.getSecondaryResults().get(name);
        // EVENTS counters are summed over the iterations: one step per iteration, so divide by their number
        return x == null ? Double.NaN : x.getScore() / Math.max(1, x.getSampleCount());
    }

    static String table(List<Row> rows) {
        StringBuilder b = new StringBuilder();
        b.append("| mode | size | dirty | pre-dump wall (ms) | frozen (ms) | pages written | peak pinned (MiB) |\n");
        b.append("|---|---:|---:|---:|---:|---:|---:|\n");
        for (Row r : rows) {
            b.append(String.format(Locale.ROOT, "| %s | %s | %s | %.1f ± %.1f | %.2f | %.0f | %.1f |%n", r.mode(), size(r.sizeMiB()),
                    ratio(r.permille()), r.wallMs(), Double.isNaN(r.wallErr()) ? 0 : r.wallErr(), r.frozenMs(), r.pagesWritten(), r.pinnedMiB()));
        }
        return b.toString();
    }

    private static String size(int mib) {
        return mib >= 1024 ? mib / 1024 + " GiB" : mib + " MiB";
    }

    private static String ratio(int permille) {
        return permille >= 1000 ? "100%" : permille % 10 == 0 ? permille / 10 + "%" : permille / 10.0 + "%";
    }

    /** Two panels of grouped bars (splice, read) per size and dirty ratio: frozen time and wall time, log scale. */
    static void draw(List<Row> rows, Path out) throws Exception {
        List<String> keys = new ArrayList<>();
        List<int[]> uniq = new ArrayList<>();
        for (int[] g : rows.stream().map(r -> new int[] {r.sizeMiB(), r.permille()}).toList()) {
            String k = g[0] + "/" + g[1];
            if (!keys.contains(k)) {
                keys.add(k);
                uniq.add(g);
            }
        }
        uniq.sort(java.util.Comparator.<int[]>comparingInt(g -> g[0]).thenComparingInt(g -> g[1]));
        int w = 1100;
        int h = 760;
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, w, h);
        g.setColor(Color.BLACK);
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 18));
        g.drawString("cryo pre-dump, splice vs read: one step after a first full copy (JMH single-shot, mean of iterations)", 30, 30);
        panel(g, rows, uniq, "frozen time per step (ms, log scale)", Row::frozenMs, 60, 330, w);
        panel(g, rows, uniq, "wall time per step (ms, log scale)", Row::wallMs, 400, 330, w);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 14));
        g.setColor(SPLICE);
        g.fillRect(w - 260, 40, 16, 16);
        g.setColor(Color.BLACK);
        g.drawString("splice", w - 238, 53);
        g.setColor(READ);
        g.fillRect(w - 160, 40, 16, 16);
        g.setColor(Color.BLACK);
        g.drawString("read", w - 138, 53);
        g.dispose();
        ImageIO.write(img, "png", out.toFile());
    }

    private static final Color SPLICE = new Color(0xd9, 0x5f, 0x02);
    private static final Color READ = new Color(0x1b, 0x9e, 0x77);

    private static void panel(Graphics2D g, List<Row> rows, List<int[]> groups, String title,
                              java.util.function.ToDoubleFunction<Row> value, int top, int height, int width) {
        int left = 80;
        int right = width - 30;
        int bottom = top + height - 60;
        int plotTop = top + 30;
        double max = rows.stream().mapToDouble(value).filter(v -> v > 0 && !Double.isNaN(v)).max().orElse(1);
        double min = rows.stream().mapToDouble(value).filter(v -> v > 0 && !Double.isNaN(v)).min().orElse(0.1);
        double lo = Math.pow(10, Math.floor(Math.log10(min)));
        double hi = Math.pow(10, Math.ceil(Math.log10(max)));
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 15));
        g.setColor(Color.BLACK);
        g.drawString(title, left, top + 18);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        for (double t = lo; t <= hi * 1.0001; t *= 10) {
            int y = y(t, lo, hi, plotTop, bottom);
            g.setColor(new Color(0xdd, 0xdd, 0xdd));
            g.drawLine(left, y, right, y);
            g.setColor(Color.DARK_GRAY);
            g.drawString(t >= 1 ? String.format(Locale.ROOT, "%.0f", t) : String.format(Locale.ROOT, "%.2g", t), 20, y + 4);
        }
        g.setColor(Color.BLACK);
        g.setStroke(new BasicStroke(1));
        g.drawLine(left, bottom, right, bottom);
        double slot = (double) (right - left) / groups.size();
        int bar = (int) Math.min(40, slot / 3);
        for (int i = 0; i < groups.size(); i++) {
            int[] grp = groups.get(i);
            int cx = (int) (left + slot * i + slot / 2);
            for (int m = 0; m < 2; m++) {
                String mode = m == 0 ? "splice" : "read";
                Row r = rows.stream().filter(x -> x.mode().equals(mode) && x.sizeMiB() == grp[0] && x.permille() == grp[1]).findFirst().orElse(null);
                if (r == null || !(value.applyAsDouble(r) > 0)) {
                    continue;
                }
                double v = value.applyAsDouble(r);
                int x = cx - bar - 2 + m * (bar + 4);
                int y = y(Math.max(v, lo), lo, hi, plotTop, bottom);
                g.setColor(m == 0 ? SPLICE : READ);
                g.fillRect(x, y, bar, bottom - y);
                g.setColor(Color.BLACK);
                String label = v >= 100 ? String.format(Locale.ROOT, "%.0f", v) : String.format(Locale.ROOT, "%.1f", v);
                g.drawString(label, x + bar / 2 - g.getFontMetrics().stringWidth(label) / 2, y - 3);
            }
            String name = size(grp[0]) + ", " + ratio(grp[1]) + " dirty";
            g.drawString(name, cx - g.getFontMetrics().stringWidth(name) / 2, bottom + 18);
        }
    }

    private static int y(double v, double lo, double hi, int top, int bottom) {
        double f = (Math.log10(v) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo));
        return (int) Math.round(bottom - f * (bottom - top));
    }
}
