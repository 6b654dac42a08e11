package dev.cryo.zdtm;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * One test program of {@code zdtm/programs}: a C file that includes {@code zdtmlib.h} (or a header that does). Its header may declare
 * the cycles it skips, each with the missing feature that makes it fail there:
 *
 * <pre>
 * // zdtm: skip host,pidns: restore of threads is not built yet
 * </pre>
 *
 * It may also name options its cycles give cryo, as a user of the program would have to:
 *
 * <pre>
 * // zdtm: dump-opts --file-locks
 * // zdtm: restore-opts --ipcns
 * </pre>
 *
 * Programs named {@code broken_*} are broken on purpose: they run only when named, never in the suite.
 */
public record ZdtmTest(String name, Path source, Map<String, String> skips, List<String> dumpOptions, List<String> restoreOptions) {
    private static final Pattern SKIP = Pattern.compile("zdtm: skip ([a-z,-]+): (.+?)\\s*(\\*/)?$");
    private static final Pattern OPTS = Pattern.compile("zdtm: (dump|restore)-opts (.+?)\\s*(\\*/)?$");
    /** A local header a program includes. zdtm programs include zdtmlib.h, directly or through another (threads.h). */
    private static final Pattern INCLUDE = Pattern.compile("#include \"([a-z0-9_]+\\.h)\"");
    private static final String LIB = "zdtmlib.h";

    /** Why this test skips CYCLE, or null when it runs there. */
    public String skipReason(Cycle cycle) {
        return skips.get(cycle.id());
    }

    public static ZdtmTest load(Path source) {
        String file = source.getFileName().toString();
        String name = file.substring(0, file.length() - 2);
        Map<String, String> skips = new LinkedHashMap<>();
        List<String> dump = new ArrayList<>(), restore = new ArrayList<>();
        try (Stream<String> lines = Files.lines(source)) {
            for (String line : (Iterable<String>) lines::iterator) {
                Matcher o = OPTS.matcher(line);
                if (o.find()) {
                    (o.group(1).equals("dump") ? dump : restore).addAll(List.of(o.group(2).split("\\s+")));
                }
                Matcher m = SKIP.matcher(line);
                if (m.find()) {
                    for (String cycle : m.group(1).split(",")) {
                        Cycle.byId(cycle); // a typo in a header is an error, not a silent run
                        skips.put(cycle, m.group(2));
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return new ZdtmTest(name, source, Map.copyOf(skips), List.copyOf(dump), List.copyOf(restore));
    }

    /** The same test with its declared skips ignored (a test named on the command line). */
    public ZdtmTest withoutSkips() {
        return new ZdtmTest(name, source, Map.of(), dumpOptions, restoreOptions);
    }

    /** Every zdtm-shaped program under DIR, by name, without the ones broken on purpose. */
    public static List<ZdtmTest> suite(Path programs) {
        List<ZdtmTest> out = new ArrayList<>();
        try (Stream<Path> files = Files.list(programs)) {
            for (Path p : files.sorted().toList()) {
                String f = p.getFileName().toString();
                if (f.endsWith(".c") && !f.startsWith("broken_") && isZdtmProgram(programs, p)) {
                    out.add(load(p));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }

    /**
     * Whether {@code source} includes zdtmlib.h, itself or through headers of {@code programs} up to
     * {@code depth} levels down. Other programs there (nanny.c, the pd_* pre-dump targets with pdlib.h)
     * are helpers of module tests, not suite tests.
     */
    private static boolean usesLib(Path programs, String source, int depth) throws IOException {
        Matcher m = INCLUDE.matcher(source);
        while (m.find()) {
            String header = m.group(1);
            if (header.equals(LIB)) {
                return true;
            }
            Path h = programs.resolve(header);
            if (depth > 1 && Files.isRegularFile(h) && usesLib(programs, Files.readString(h), depth - 1)) {
                return true;
            }
        }
        return false;
    }

    /** The program NAME, broken or not; an unknown name is an error that lists what exists. */
    public static ZdtmTest named(Path programs, String name) {
        Path p = programs.resolve(name + ".c");
        if (!Files.exists(p) || !isZdtmProgram(programs, p)) {
            throw new IllegalArgumentException("no zdtm test '" + name + "' in " + programs);
        }
        return load(p);
    }

    private static boolean isZdtmProgram(Path programs, Path p) {
        try {
            return usesLib(programs, Files.readString(p), 2);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
