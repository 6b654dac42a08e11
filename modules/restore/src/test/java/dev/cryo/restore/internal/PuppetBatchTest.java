package dev.cryo.restore.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

import dev.cryo.parasite.Parasite;
import dev.cryo.parasite.Tracer;
import dev.cryo.syscalls.ErrnoException;
import dev.cryo.syscalls.Kernel;
import dev.cryo.syscalls.ProcMaps;

/** A puppet runs many calls for one stop (the batch loop in its trampoline), and a failing one is named. */
class PuppetBatchTest {
    @Test
    void aBatchRunsEveryCallInOrderAndStopsAtTheFirstThatFails() throws Exception {
        try (Keeper keeper = Keeper.start()) {
            Tracer.call("test", () -> {
                try (Puppet p = Puppet.seize(keeper.puppetPid())) {
                    long area = dev.cryo.restore.internal.memory.PuppetSpace.freeArea(List.of(), ProcMaps.of(p.pid()), Puppet.TRAMPOLINE_SIZE);
                    p.placeTrampoline(area);
                    // more calls than one table in the scratch memory holds: the batch goes in several lots
                    List<Parasite.Call> calls = new ArrayList<>();
                    for (int i = 0; i < 3000; i++) {
                        calls.add(new Parasite.Call("getpid", Kernel.__NR_getpid));
                    }
                    long[] r = p.batch(calls);
                    assertThat(r).hasSize(3000).containsOnly(p.nsPid());

                    List<Parasite.Call> failing = List.of(new Parasite.Call("getpid", Kernel.__NR_getpid),
                            new Parasite.Call("close(987654)", Kernel.__NR_close, 987654),
                            new Parasite.Call("getppid", Kernel.__NR_getppid));
                    assertThatThrownBy(() -> p.batch(failing)).isInstanceOf(ErrnoException.class)
                            .hasMessageContaining("close(987654) in pid " + p.pid()).hasMessageContaining("EBADF");
                    // the puppet runs single calls again after a failed batch
                    assertThat(p.syscall("getpid", Kernel.__NR_getpid)).isEqualTo(p.nsPid());

                    // calls with pointer arguments in the batch's own scratch memory, more than one stop's worth
                    try (CallBatch b = new CallBatch(p)) {
                        for (int i = 0; i < 300; i++) {
                            b.add("getpid", Kernel.__NR_getpid);
                        }
                        b.add("chdir(/proc)", Kernel.__NR_chdir, b.putString("/proc"));
                        long[] all = b.run();
                        assertThat(all).hasSize(301);
                        assertThat(java.util.Arrays.copyOf(all, 300)).containsOnly(p.nsPid());
                        assertThat(all[300]).isZero();
                        assertThat(java.nio.file.Files.readSymbolicLink(java.nio.file.Path.of("/proc/" + p.pid() + "/cwd")))
                                .isEqualTo(java.nio.file.Path.of("/proc"));

                        // arguments of more bytes in all (100 KB) than the scratch memory holds: made as they fill it
                        String longWay = "/" + "./".repeat(500) + "dev";
                        for (int i = 0; i < 100; i++) {
                            b.add("chdir(" + i + ")", Kernel.__NR_chdir, b.putString(longWay));
                        }
                        assertThat(b.run()).hasSize(100).containsOnly(0L);
                        assertThat(java.nio.file.Files.readSymbolicLink(java.nio.file.Path.of("/proc/" + p.pid() + "/cwd")))
                                .isEqualTo(java.nio.file.Path.of("/dev"));
                    }
                }
                return null;
            });
        }
    }
}
