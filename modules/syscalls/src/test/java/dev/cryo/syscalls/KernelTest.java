package dev.cryo.syscalls;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

import org.junit.jupiter.api.Test;

import dev.cryo.bindings.Linux;

/**
 * {@link Kernel}, the constants other modules name: each one is the bindings' constant of the same name and
 * type, and listed in bindings/jextract.args, so that the bindings' LayoutTest checks its value against gcc.
 */
class KernelTest {
    @Test
    void everyConstantIsTheBindingsOwnAndCheckedAgainstGcc() throws Exception {
        Set<String> listed = Files.readAllLines(Path.of("../../bindings/jextract.args")).stream()
                .filter(l -> l.startsWith("--include-constant ")).map(l -> l.substring("--include-constant ".length()).trim())
                .collect(Collectors.toSet());
        List<String> checked = new ArrayList<>();
        for (Field f : Kernel.class.getDeclaredFields()) {
            if (!Modifier.isStatic(f.getModifiers()) || f.isSynthetic()) {
                continue;
            }
            assertThat(Modifier.isPublic(f.getModifiers()) && Modifier.isFinal(f.getModifiers())).as(f.getName()).isTrue();
            Object binding = Linux.class.getMethod(f.getName()).invoke(null);
            assertThat(f.get(null)).as(f.getName()).isEqualTo(binding);
            assertThat(listed).as("%s in jextract.args", f.getName()).contains(f.getName());
            checked.add(f.getName());
        }
        assertThat(checked).contains("SIGKILL", "__NR_mmap", "O_CLOEXEC", "PTRACE_O_TRACESYSGOOD");
    }
}
