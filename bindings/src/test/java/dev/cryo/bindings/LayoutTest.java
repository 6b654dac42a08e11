package dev.cryo.bindings;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.lang.foreign.AddressLayout;
import java.lang.foreign.Arena;
import java.lang.foreign.GroupLayout;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.PaddingLayout;
import java.lang.foreign.ValueLayout;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Checks the jextract-generated bindings against what gcc makes of {@code cryo.h}: the size,
 * alignment and every (nested) field offset and size of every struct, union and typedef listed in
 * {@code jextract.args}, and the value of every constant listed there. Then exercises the UAPI
 * that Debian's headers lack (PAGEMAP_SCAN, PROCMAP_QUERY) on the running kernel.
 */
class LayoutTest {

    /** Maven runs the tests with the module directory as the working directory. */
    private static final Path MODULE_DIR = Path.of("").toAbsolutePath();
    private static final Path HEADER = MODULE_DIR.resolve("cryo.h");
    private static final Path ARGS = MODULE_DIR.resolve("jextract.args");
    private static final Path GENERATED = MODULE_DIR.resolve("src/main/java/dev/cryo/bindings");

    /** include kind -> names, in the order of jextract.args. */
    private static final Map<String, List<String>> includes = new LinkedHashMap<>();
    /** one entry per line the C program printed: key -> value. */
    private static final Map<String, Long> gcc = new LinkedHashMap<>();

    /** A type to check: its C spelling and its generated class. */
    record CType(String spelling, String className) {}

    /** A checked field: C designator (anonymous members left out) and its Java layout path. */
    record Field(String designator, List<String> path, MemoryLayout layout, long offset) {}

    @BeforeAll
    static void runGcc(@TempDir Path tmp) throws Exception {
        assertThat(HEADER).exists();
        for (String line : Files.readAllLines(ARGS)) {
            String l = line.strip();
            if (!l.startsWith("--include-")) continue;
            String[] kv = l.split("\\s+");
            includes.computeIfAbsent(kv[0].substring("--include-".length()), k -> new ArrayList<>()).add(kv[1]);
        }

        StringBuilder c = new StringBuilder();
        c.append("#include \"cryo.h\"\n#include <stdio.h>\n#include <stddef.h>\n\n");
        // Constants first: field names below may be #undef'd (glibc defines e.g. si_pid as a macro).
        c.append("static void constants(void) {\n");
        for (String name : includes.getOrDefault("constant", List.of())) {
            c.append("    printf(\"C %s %lld\\n\", \"").append(name).append("\", (long long)(").append(name).append("));\n");
        }
        c.append("}\n\n");
        StringBuilder layouts = new StringBuilder("static void layouts(void) {\n");
        Set<String> fieldNames = new TreeSet<>();
        for (CType t : types()) {
            GroupLayout g = layoutOf(t);
            layouts.append("    printf(\"S %s %lld\\n\", \"").append(t.spelling()).append("\", (long long)sizeof(").append(t.spelling()).append("));\n");
            layouts.append("    printf(\"A %s %lld\\n\", \"").append(t.spelling()).append("\", (long long)_Alignof(").append(t.spelling()).append("));\n");
            for (Field f : fields(t)) {
                fieldNames.addAll(f.path().stream().filter(n -> !anonymous(n)).toList());
                String key = t.spelling() + "." + String.join(".", f.path());
                layouts.append("    printf(\"O %s %lld\\n\", \"").append(key).append("\", (long long)offsetof(")
                        .append(t.spelling()).append(", ").append(f.designator()).append("));\n");
                if (!flexible(f)) layouts.append("    printf(\"Z %s %lld\\n\", \"").append(key).append("\", (long long)sizeof(((")
                        .append(t.spelling()).append(" *)0)->").append(f.designator()).append("));\n");
            }
        }
        layouts.append("}\n\n");
        for (String n : fieldNames) {
            c.append("#ifdef ").append(n).append("\n#undef ").append(n).append("\n#endif\n");
        }
        c.append(layouts);
        c.append("int main(void) { constants(); layouts(); return 0; }\n");

        Path src = tmp.resolve("layouts.c");
        Path exe = tmp.resolve("layouts");
        Files.writeString(src, c);
        run(tmp, "gcc", "-std=gnu11", "-Wall", "-Werror", "-I", MODULE_DIR.toString(), "-o", exe.toString(), src.toString());
        for (String line : run(tmp, exe.toString()).split("\n")) {
            int last = line.lastIndexOf(' '); // keys may contain spaces ("S struct stat 144")
            gcc.put(line.substring(0, last), Long.parseLong(line.substring(last + 1)));
        }
    }

    @Test
    void everyGeneratedClassIsChecked() throws IOException {
        Set<String> generated;
        try (Stream<Path> files = Files.list(GENERATED)) {
            generated = files.map(p -> p.getFileName().toString())
                    .filter(n -> n.endsWith(".java"))
                    .map(n -> n.substring(0, n.length() - ".java".length()))
                    .filter(n -> !n.equals("Linux") && !n.startsWith("Linux$") && !n.startsWith("Linux_"))
                    .collect(Collectors.toCollection(TreeSet::new));
        }
        Set<String> checked = types().stream().map(CType::className).collect(Collectors.toCollection(TreeSet::new));
        assertThat(checked).isEqualTo(generated);
        assertThat(checked).contains("user_regs_struct", "pm_scan_arg", "page_region", "procmap_query",
                "siginfo_t", "kernel_sigaction", "clone_args", "uffd_msg", "stat");
    }

    @Test
    void structLayoutsMatchGcc() throws Exception {
        List<String> mismatches = new ArrayList<>();
        int checks = 0;
        for (CType t : types()) {
            GroupLayout g = layoutOf(t);
            checks += compare(mismatches, "S " + t.spelling(), g.byteSize());
            if (t.spelling().equals("struct rseq")) {
                // aligned(32) in C, which jextract cannot express: cryo.h exports the alignment
                // as CRYO_RSEQ_ALIGN (itself checked against gcc with the other constants).
                checks += compare(mismatches, "A " + t.spelling(), Linux.CRYO_RSEQ_ALIGN());
                assertThat(g.byteAlignment()).isEqualTo(8);
            } else {
                checks += compare(mismatches, "A " + t.spelling(), g.byteAlignment());
            }
            for (Field f : fields(t)) {
                String key = t.spelling() + "." + String.join(".", f.path());
                checks += compare(mismatches, "O " + key, f.offset());
                if (!flexible(f)) checks += compare(mismatches, "Z " + key, f.layout().byteSize());
            }
        }
        assertThat(mismatches).as("layouts differing from gcc (%d checks)", checks).isEmpty();
        assertThat(checks).isGreaterThan(500);
    }

    @Test
    void constantsMatchGcc() throws Exception {
        List<String> mismatches = new ArrayList<>();
        List<String> constants = includes.getOrDefault("constant", List.of());
        assertThat(constants).contains("PAGEMAP_SCAN", "PROCMAP_QUERY", "UFFDIO_API", "UFFDIO_MOVE",
                "PTRACE_SEIZE", "PTRACE_GETREGSET", "__NR_ioctl", "__NR_clone3", "UFFD_FEATURE_WP_ASYNC");
        for (String name : constants) {
            Method m = Linux.class.getMethod(name);
            Object v = m.invoke(null);
            long c = gcc.get("C " + name);
            switch (v) {
                case Integer i -> {
                    if (i != (int) c || c < Integer.MIN_VALUE || c > 0xFFFF_FFFFL)
                        mismatches.add(name + ": java int " + i + ", gcc " + c);
                }
                case Long l -> {
                    if (l != c) mismatches.add(name + ": java long " + l + ", gcc " + c);
                }
                case MemorySegment s -> {
                    if (s.address() != c) mismatches.add(name + ": java address " + s.address() + ", gcc " + c);
                }
                default -> mismatches.add(name + ": unexpected type " + v.getClass());
            }
        }
        assertThat(mismatches).isEmpty();
    }

    @Test
    void ioctlNumbersAreTheDocumentedOnes() {
        // _IOWR(type, nr, size) = 3 << 30 | size << 16 | type << 8 | nr
        assertThat(Linux.PAGEMAP_SCAN()).isEqualTo(iowr('f', 16, 96));
        assertThat(Linux.PROCMAP_QUERY()).isEqualTo(iowr('f', 17, 104));
        assertThat(Linux.UFFDIO_API()).isEqualTo(iowr(0xAA, 0x3F, 24));
        assertThat(Linux.UFFDIO_MOVE()).isEqualTo(iowr(0xAA, 0x05, 40));
        assertThat(pm_scan_arg.sizeof()).isEqualTo(96);
        assertThat(procmap_query.sizeof()).isEqualTo(104);
        assertThat(kernel_sigaction.sizeof()).isEqualTo(32);
        assertThat(siginfo_t.sizeof()).isEqualTo(128);
        assertThat(Linux.UFFD_FEATURE_WP_ASYNC()).isEqualTo(1 << 15);
        assertThat(Linux.CRYO_KERNEL_SIGRTMIN()).isEqualTo(32);
        assertThat(Linux.CRYO_KERNEL_NSIG()).isEqualTo(64);
    }

    // ---------------------------------------------------------------- behaviour on the running kernel

    private static final long PAGE = 4096;

    @Test
    void pagemapScanFindsTheTouchedPage() {
        assumeTrue(kernelAtLeast(6, 7), "PAGEMAP_SCAN needs Linux 6.7");
        try (Arena arena = Arena.ofConfined()) {
            long base = mapFourPagesBetweenGuards();
            try {
                MemorySegment mem = MemorySegment.ofAddress(base).reinterpret(4 * PAGE);
                mem.set(ValueLayout.JAVA_BYTE, PAGE + 17, (byte) 42); // touch page 1 only

                int fd = openProc(arena, "/proc/self/pagemap");
                try {
                    MemorySegment vec = page_region.allocateArray(4, arena);
                    MemorySegment arg = pm_scan_arg.allocate(arena);
                    pm_scan_arg.size(arg, pm_scan_arg.sizeof());
                    pm_scan_arg.flags(arg, 0);
                    pm_scan_arg.start(arg, base);
                    pm_scan_arg.end(arg, base + 4 * PAGE);
                    pm_scan_arg.vec(arg, vec.address());
                    pm_scan_arg.vec_len(arg, 4);
                    pm_scan_arg.max_pages(arg, 0);
                    pm_scan_arg.category_inverted(arg, 0);
                    pm_scan_arg.category_mask(arg, Linux.PAGE_IS_PRESENT());
                    pm_scan_arg.category_anyof_mask(arg, 0);
                    pm_scan_arg.return_mask(arg, Linux.PAGE_IS_PRESENT());

                    long n = syscall(Linux.__NR_ioctl(), fd, Linux.PAGEMAP_SCAN(), arg.address());
                    assertThat(n).as("PAGEMAP_SCAN result").isEqualTo(1);
                    MemorySegment r = page_region.asSlice(vec, 0);
                    assertThat(page_region.start(r)).isEqualTo(base + PAGE);
                    assertThat(page_region.end(r)).isEqualTo(base + 2 * PAGE);
                    assertThat(page_region.categories(r) & Linux.PAGE_IS_PRESENT()).isNotZero();
                    assertThat(pm_scan_arg.walk_end(arg)).isEqualTo(base + 4 * PAGE);
                } finally {
                    syscall(Linux.__NR_close(), fd);
                }
            } finally {
                syscall(Linux.__NR_munmap(), base - PAGE, 6 * PAGE);
            }
        }
    }

    @Test
    void procmapQueryFindsTheMapping() {
        assumeTrue(kernelAtLeast(6, 11), "PROCMAP_QUERY needs Linux 6.11");
        try (Arena arena = Arena.ofConfined()) {
            long base = mapFourPagesBetweenGuards();
            try {
                int fd = openProc(arena, "/proc/self/maps");
                try {
                    MemorySegment q = procmap_query.allocate(arena);
                    procmap_query.size(q, procmap_query.sizeof());
                    procmap_query.query_flags(q, 0);
                    procmap_query.query_addr(q, base + 2 * PAGE + 5);
                    long rc = syscall(Linux.__NR_ioctl(), fd, Linux.PROCMAP_QUERY(), q.address());
                    assertThat(rc).as("PROCMAP_QUERY result").isZero();
                    assertThat(procmap_query.vma_start(q)).isEqualTo(base);
                    assertThat(procmap_query.vma_end(q)).isEqualTo(base + 4 * PAGE);
                    long rw = Linux.PROCMAP_QUERY_VMA_READABLE() | Linux.PROCMAP_QUERY_VMA_WRITABLE();
                    assertThat(procmap_query.vma_flags(q)).isEqualTo(rw);
                    assertThat(procmap_query.vma_page_size(q)).isEqualTo(PAGE);
                    assertThat(procmap_query.inode(q)).isZero();
                } finally {
                    syscall(Linux.__NR_close(), fd);
                }
            } finally {
                syscall(Linux.__NR_munmap(), base - PAGE, 6 * PAGE);
            }
        }
    }

    /** Six pages PROT_NONE, the middle four made read-write, so that they are a VMA of their own. */
    private static long mapFourPagesBetweenGuards() {
        long r = syscall(Linux.__NR_mmap(), 0L, 6 * PAGE, Linux.PROT_NONE(),
                Linux.MAP_PRIVATE() | Linux.MAP_ANONYMOUS(), -1L, 0L);
        assertThat(r).as("mmap").isNotEqualTo(-1L);
        long base = r + PAGE;
        long p = syscall(Linux.__NR_mprotect(), base, 4 * PAGE, Linux.PROT_READ() | Linux.PROT_WRITE());
        assertThat(p).as("mprotect").isZero();
        return base;
    }

    private static int openProc(Arena arena, String path) {
        MemorySegment cpath = arena.allocateFrom(path, StandardCharsets.UTF_8);
        long fd = syscall(Linux.__NR_openat(), (long) Linux.AT_FDCWD(), cpath.address(),
                (long) (Linux.O_RDONLY() | Linux.O_CLOEXEC()));
        assertThat(fd).as("open " + path).isGreaterThanOrEqualTo(0);
        return (int) fd;
    }

    /** syscall(2) with every argument passed as a C long, through jextract's variadic invoker. */
    private static long syscall(int nr, long... args) {
        MemoryLayout[] layouts = new MemoryLayout[args.length];
        java.util.Arrays.fill(layouts, Linux.C_LONG);
        Object[] boxed = java.util.Arrays.stream(args).boxed().toArray();
        return Linux.syscall.makeInvoker(layouts).apply(nr, boxed);
    }

    private static boolean kernelAtLeast(int major, int minor) {
        String[] v = System.getProperty("os.version").split("[.-]");
        int ma = Integer.parseInt(v[0]), mi = Integer.parseInt(v[1]);
        return ma > major || (ma == major && mi >= minor);
    }

    private static long iowr(int type, int nr, long size) {
        return (3L << 30) | (size << 16) | ((long) type << 8) | nr;
    }

    // ---------------------------------------------------------------- helpers

    /** Every struct, union and typedef that jextract.args includes. */
    private static List<CType> types() {
        List<CType> out = new ArrayList<>();
        includes.getOrDefault("struct", List.of()).forEach(n -> out.add(new CType("struct " + n, n)));
        includes.getOrDefault("union", List.of()).forEach(n -> out.add(new CType("union " + n, n)));
        includes.getOrDefault("typedef", List.of()).forEach(n -> out.add(new CType(n, n)));
        return out;
    }

    private static GroupLayout layoutOf(CType t) throws ReflectiveOperationException {
        Class<?> cls = Class.forName("dev.cryo.bindings." + t.className());
        return (GroupLayout) cls.getMethod("layout").invoke(null);
    }

    /** A flexible array member (jextract: a sequence of 0 elements); C has no sizeof for it. */
    private static boolean flexible(Field f) {
        return f.layout() instanceof java.lang.foreign.SequenceLayout s && s.elementCount() == 0;
    }

    private static boolean anonymous(String name) {
        return name.startsWith("$anon$");
    }

    /**
     * Every named member, recursively (padding skipped), with its offset from the start of the
     * outermost type. Anonymous members appear in the path only, not in the C designator.
     * jextract rebuilds the members of packed structs (e.g. uffd_msg) without the names of their
     * nested members; there the nested class that jextract generated for the member (whose layout
     * its accessors use) is walked instead, e.g. {@code uffd_msg.arg}.
     */
    private static List<Field> fields(CType t) throws ReflectiveOperationException {
        List<Field> out = new ArrayList<>();
        Class<?> cls = Class.forName("dev.cryo.bindings." + t.className());
        collect((GroupLayout) cls.getMethod("layout").invoke(null), cls, 0, new ArrayList<>(), out);
        return out;
    }

    private static void collect(GroupLayout g, Class<?> cls, long base, List<String> prefix, List<Field> out)
            throws ReflectiveOperationException {
        for (MemoryLayout m : g.memberLayouts()) {
            if (m instanceof PaddingLayout) continue;
            String name = m.name().orElseThrow(() -> new AssertionError("unnamed member in " + cls.getName() + ": " + g));
            List<String> path = new ArrayList<>(prefix);
            path.add(name);
            long offset = base + g.byteOffset(groupElement(name));
            if (!anonymous(name)) {
                String designator = path.stream().filter(n -> !anonymous(n)).collect(Collectors.joining("."));
                out.add(new Field(designator, path, m, offset));
            }
            if (m instanceof GroupLayout inner) {
                boolean named = inner.memberLayouts().stream().allMatch(x -> x instanceof PaddingLayout || x.name().isPresent());
                if (named) {
                    collect(inner, cls, offset, path, out);
                } else {
                    assertThat(anonymous(name)).as("packed anonymous member in " + cls.getName()).isFalse();
                    Class<?> nested = Class.forName(cls.getName() + "$" + name);
                    GroupLayout nl = (GroupLayout) nested.getMethod("layout").invoke(null);
                    assertThat(nl.byteSize()).as(nested.getName() + " size").isEqualTo(inner.byteSize());
                    collect(nl, nested, offset, path, out);
                }
            } else {
                assertThat(m).as(String.join(".", path)).isInstanceOfAny(ValueLayout.class, AddressLayout.class,
                        java.lang.foreign.SequenceLayout.class);
            }
        }
    }

    private static int compare(List<String> mismatches, String key, long java) {
        Long c = gcc.get(key);
        if (c == null) mismatches.add(key + ": not printed by gcc");
        else if (c != java) mismatches.add(key + ": java " + java + ", gcc " + c);
        return 1;
    }

    private static String run(Path dir, String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(String.join(" ", cmd) + "\n" + out).isZero();
        return out;
    }
}
